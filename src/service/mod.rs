//! Use cases. Each public function opens its own transaction on a blocking thread, loads what it
//! needs, applies the rules, writes, and commits before it returns: an `Ok` means durable.
//!
//! The CLI (directly or through the admin socket) and the web layer call the same functions.

pub mod account;
pub mod admin;
pub mod apps;
pub mod audit;
pub mod authorize;
pub mod bulk;
pub mod clients;
mod conflict;
pub mod console;
mod error;
pub mod forms;
pub mod forward_auth;
pub mod groups;
pub mod hashing;
mod invalid;
pub mod invitations;
pub mod keys;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod outbound;
pub mod passkeys;
pub mod purge;
pub mod recovery;
pub mod setup;
pub mod start;
pub mod throttle;
pub mod token;
pub mod totp;
pub mod upstream;
pub mod users;
pub mod views;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use conflict::Conflict;
pub use error::ServiceError;
pub use invalid::Invalid;
pub use start::StartError;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto;
use crate::store::Store;

pub use crate::domain::ADMIN_GROUP;

/// Everything a use case needs: the store, the validated configuration and the clock.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Clock,
    /// Bounds how many argon2 computations run at once, so a login flood cannot take every
    /// blocking thread.
    hashing: hashing::HashPool,
    /// Throttles password checks (login page, password grant, setup).
    pub password_throttle: Arc<throttle::Throttle>,
    /// Throttles client secret checks.
    pub secret_throttle: Arc<throttle::Throttle>,
    /// Throttles setup-link token checks, per address.
    pub setup_throttle: Arc<throttle::Throttle>,
    /// Throttles bearer tokens that fail at the admin API, per address.
    pub bearer_throttle: Arc<throttle::Throttle>,
    /// Throttles starts of upstream sign-ins (each stores a pending row), per address.
    pub upstream_throttle: Arc<throttle::Throttle>,
    /// The HTTP client for outgoing calls (back-channel logout), under `[outbound]`.
    pub http: outbound::Outbound,
    /// Where audit entries go.
    pub audit: audit::AuditSink,
    /// Gathers the hot paths' writes (codes, sessions, token grants) into shared commits.
    pub writer: crate::store::GroupCommit<ServiceError>,
    /// HTTP clients and discovered metadata of the upstream providers.
    pub upstreams: Arc<upstream::Upstreams>,
    /// How many password-hash verifications ran, dummy ones included.
    verifications: Arc<AtomicU64>,
    /// The hash an unknown user's password is verified against, at the configured cost
    /// ([`crypto::password::dummy_hash`]).
    dummy_hash: Arc<str>,
    /// The key of the CSRF tokens' MAC, loaded at start ([`forms::ensure_key`]).
    pub form_key: Arc<std::sync::OnceLock<[u8; 32]>>,
    /// Throttles second-factor guesses (TOTP and recovery codes), per account and address.
    pub factor_throttle: Arc<throttle::Throttle>,
    /// The WebAuthn relying party of the issuer, built once; `None` when the issuer's host
    /// cannot be an RP ID (an IP address), which turns passkeys off.
    pub passkeys: Option<Arc<webauthn_rs::Webauthn>>,
}

impl App {
    /// The use cases' shared state. It fails, saying why, when a defence cannot be set up: an
    /// outbound HTTP client with its policy, or the dummy password hash.
    pub fn new(store: Store, config: Config, clock: Clock) -> Result<App, StartError> {
        let permits = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let writer = store.group_commit();
        // One core is left to everything else, so that a flood of logins never starves the other
        // requests (and each hashing thread keeps a 19 MiB argon2 buffer).
        let hashing = hashing::HashPool::start(permits.saturating_sub(1).max(1));
        // The dummy hash is made now, at the configured cost, so that the first unknown user costs
        // one verification too; if it cannot be made (the OS RNG failed), the start fails rather
        // than verifying against an empty hash, which would answer at once and tell unknown users
        // apart.
        let dummy_hash = crypto::password::dummy_hash(config.password_policy.argon2)
            .map_err(StartError::DummyHash)?
            .into();
        Ok(App {
            store,
            clock,
            hashing,
            password_throttle: Arc::new(throttle::Throttle::new("password", throttle::Limits::PASSWORDS)),
            secret_throttle: Arc::new(throttle::Throttle::new(
                "secret",
                throttle::Limits::CLIENT_SECRETS,
            )),
            setup_throttle: Arc::new(throttle::Throttle::new("setup", setup::TOKEN_GUESSES)),
            bearer_throttle: Arc::new(throttle::Throttle::new("bearer", throttle::Limits::BEARER_TOKENS)),
            upstream_throttle: Arc::new(throttle::Throttle::new(
                "upstream",
                throttle::Limits::UPSTREAM_STARTS,
            )),
            http: outbound::Outbound::new(&config.outbound, logout::ATTEMPT_TIMEOUT, "back-channel logout")?,
            audit: audit::AuditSink::default(),
            writer,
            verifications: Arc::default(),
            dummy_hash,
            form_key: Arc::default(),
            factor_throttle: Arc::new(throttle::Throttle::new(
                "factor",
                throttle::Limits::SECOND_FACTORS,
            )),
            passkeys: passkeys::relying_party(&config.issuer),
            upstreams: Arc::new(upstream::Upstreams::new(&config.upstreams, &config.outbound)?),
            config: Arc::new(config),
        })
    }

    /// Batches audit entries through a writer task from now on (for a long-running server).
    pub fn with_audit_writer(mut self) -> App {
        self.audit = audit::spawn_writer(self.writer.clone());
        self
    }

    /// Hashes a password on the hashing pool, at the configured cost (`[password_policy] argon2`).
    pub async fn hash_password(&self, password: String) -> Result<String, ServiceError> {
        let cost = self.config.password_policy.argon2;
        self.hashing
            .run(move || crypto::password::hash(&password, cost))
            .await?
            .map_err(ServiceError::Internal)
    }

    /// Verifies a password on the hashing pool; `None` as the stored hash verifies against a
    /// dummy hash so that the cost is the same.
    pub async fn verify_password(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, ServiceError> {
        let count = Arc::clone(&self.verifications);
        let dummy = Arc::clone(&self.dummy_hash);
        self.hashing
            .run(move || {
                count.fetch_add(1, Ordering::Relaxed);
                match stored {
                    Some(hash) => crypto::password::verify(&password, &hash),
                    None => {
                        crypto::password::verify(&password, &dummy);
                        false
                    }
                }
            })
            .await
    }

    /// How many password-hash verifications have run since start (for tests of the
    /// one-verification-per-attempt rule).
    pub fn password_verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

/// Runs a few point reads (a client, a session, a consent, the signing key) on the calling task:
/// redb answers them from its page cache in microseconds, less than a hand-off to the blocking
/// pool and back costs. Scans, writes and anything that may wait on the disk for long go through
/// [`blocking`].
pub fn point_read<T>(
    store: &Store,
    work: impl FnOnce(&dyn crate::store::Reads) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    // A PostgreSQL read waits for the network: the worker hands its other tasks to another
    // thread meanwhile (`block_in_place`), or a few slow reads would stall every request.
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if store.is_shared() && multi_thread {
        tokio::task::block_in_place(|| store.read(work))
    } else {
        store.read(work)
    }
}

/// Runs store work on tokio's blocking pool.
pub async fn blocking<T, F>(work: F) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("a blocking task failed: {e}")))?
}

/// Where the configuration puts the store.
pub fn store_location(config: &crate::config::Config) -> crate::store::Location {
    use crate::config::StoreConfig;
    use crate::store::Location;
    match &config.store {
        StoreConfig::Redb => Location::File(config.data.clone()),
        StoreConfig::Postgres(options) => Location::Postgres(options.clone()),
    }
}

/// Opens (creating or upgrading as needed) the store at `location`, on the blocking pool.
pub async fn open_store(location: crate::store::Location) -> Result<Store, ServiceError> {
    blocking(move || Ok(Store::open_at(&location)?)).await
}

/// Whether the store is open and can take a write now.
pub async fn ready(app: &App) -> Result<(), ServiceError> {
    let store = app.store.clone();
    blocking(move || Ok(store.check_writable()?)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An app at the cost `text` configures, over an empty in-memory store.
    fn app_with(text: &str) -> App {
        let config = crate::config::parse("test", text, None, &crate::config::Overrides::default()).unwrap();
        App::new(
            Store::in_memory().unwrap(),
            config,
            Clock::fixed(crate::domain::Timestamp(6_000)),
        )
        .unwrap()
    }

    #[test]
    fn an_app_verifies_unknown_users_against_a_real_argon2id_hash() {
        let app = app_with("");
        assert!(
            app.dummy_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            app.dummy_hash
        );
        assert!(!crypto::password::verify("", &app.dummy_hash));
    }

    #[test]
    fn an_unknown_user_costs_one_hash_at_the_configured_cost() {
        let app = app_with("[password_policy]\nargon2 = { m = 8192, t = 3, p = 1 }\n");
        assert!(
            app.dummy_hash.starts_with("$argon2id$v=19$m=8192,t=3,p=1$"),
            "{}",
            app.dummy_hash
        );
    }
}
