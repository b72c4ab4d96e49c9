//! Signing in through an upstream provider: the redirect out (state, nonce, PKCE), the callback
//! (state, `iss`, code exchange, ID token validation, user info), linking the upstream identity to
//! a local user, and the administration of those links.
//!
//! Discovery, PKCE, the code exchange and ID-token validation are the `openidconnect` crate's (and
//! the `oauth2` crate's for plain OAuth 2.0 upstreams); the rules for mapping and linking are in
//! [`crate::protocol::upstream`].

mod callback;
mod links;
mod provider;
mod start;

pub use callback::finish;
pub use links::{LinkView, link, links_of, unlink};
pub use provider::{IssParameter, Upstreams};
pub use start::begin;

use serde::Deserialize;

use super::outbound::Outbound;
use super::{App, ServiceError};
use crate::domain::{Duration, Upstream};
use crate::protocol::upstream::UpstreamRefusal;

/// How long a sign-in may stay at the upstream before its `state` expires.
pub const PENDING_LIFETIME: Duration = Duration::minutes(10);
/// The most pending sign-ins kept at once (expired ones until the purge takes them included):
/// with the per-address throttle, a bound on what anonymous starts can make the server store.
pub const MAX_PENDING: u64 = 10_000;
/// The longest return address carried through an upstream sign-in (in the browser cookie, as
/// base64url, within a cookie's 4 KiB); a longer one becomes `/`.
pub const MAX_RETURN_TO: usize = 2560;
/// The throttle's one "account": starts are counted per address only.
const THROTTLE_ACCOUNT: &str = "upstream-sign-in";
/// How long discovered provider metadata (and its JWKS) is reused.
const METADATA_TTL: Duration = Duration::minutes(5);
/// How far an ID token's `iat` may lie in the future (clock skew) or in the past.
const IAT_FUTURE_SKEW: i64 = 60;
const IAT_MAX_AGE: i64 = 10 * 60;

/// Why an upstream sign-in failed. Every variant ends on an error page; none creates a session
/// or a user.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("there is no sign-in provider called `{0}`")]
    NotFound(String),
    /// The `state` is missing, unknown, used, expired, for another provider or another browser.
    #[error("{0}")]
    State(StateProblem),
    /// The upstream answered the authorization request with an error.
    #[error("the provider refused the sign-in: {0}")]
    Provider(String),
    /// The upstream's answer failed validation (issuer, ID token, token response).
    #[error("the provider's answer could not be trusted: {0}")]
    Invalid(String),
    /// The user info is about another subject than the ID token (OpenID Connect Core 5.3.2).
    #[error("the provider's answer could not be trusted: its user info is for another subject")]
    UserinfoMismatch,
    /// The upstream could not be reached in time, or answered with an HTTP error.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// The identity is fine, but the link policy does not let it in.
    #[error("{0}")]
    Refused(#[from] UpstreamRefusal),
    /// Too many sign-ins started from this address: wait this many seconds.
    #[error("too many sign-ins were started from your address; try again in {0} seconds")]
    Throttled(u64),
    /// Too many sign-ins are pending at once.
    #[error("too many sign-ins are in progress; try again in a few minutes")]
    Busy,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What is wrong with the `state` of a callback (`web` words each for the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateProblem {
    #[error("the answer has no state")]
    Missing,
    #[error("the state is unknown or was already used")]
    Unknown,
    #[error("the state is for another provider")]
    OtherProvider,
    #[error("the sign-in expired")]
    Expired,
    #[error("the sign-in was started in another browser")]
    OtherBrowser,
}

/// Where to send the browser, and the browser-binding cookie value to set: a random token (whose
/// digest the pending record keeps) and, after a `.`, the return address in base64url.
#[derive(Debug)]
pub struct Started {
    pub location: String,
    pub browser: String,
}

/// The query parameters of the callback.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A finished upstream sign-in.
#[derive(Debug)]
pub enum SignedIn {
    /// A session started: its cookie value, and where the browser goes (from the binding
    /// cookie, to be checked again).
    Done { cookie: String, return_to: String },
    /// The account needs its second step: the `latchkey_pending` cookie value; the browser goes
    /// to `/login/factor`, which returns to the stored address when the sign-in completes.
    SecondStep { pending: String },
}

fn redirect_uri(app: &App, upstream: &Upstream) -> String {
    format!("{}/login/upstream/{}/callback", app.config.issuer, upstream.name)
}

fn upstream<'a>(app: &'a App, name: &str) -> Result<&'a Upstream, UpstreamError> {
    app.config
        .upstream(name)
        .ok_or_else(|| UpstreamError::NotFound(name.chars().take(64).collect()))
}

fn http<'a>(app: &'a App, upstream: &Upstream) -> Result<&'a Outbound, UpstreamError> {
    app.upstreams.http.get(&upstream.name).ok_or_else(|| {
        UpstreamError::Service(ServiceError::Internal("no HTTP client for an upstream".into()))
    })
}
