//! Administrative commands as data, each with its own answer type. A command is a struct that
//! implements [`Command`]: its `Output` is what it returns, and [`execute_as`] runs it and records
//! it in the audit feed. The CLI, the admin socket and the admin API all call [`execute_as`] with
//! the same command structs, so none of them handles an answer of the wrong shape.
//!
//! The admin socket carries a command as JSON: [`AdminRequest`] is the wire form (one variant per
//! command, tagged by `op`), and [`AdminRequest::execute_as`] runs whichever command it holds and
//! answers its output as JSON, which the CLI reads back as that command's `Output`.
//!
//! Adding a command: its struct and `impl Command` in one of the files below, and its name in the
//! [`commands!`] list; then the CLI subcommand and the API operation that expose it.

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{App, Conflict, ServiceError, blocking};
use crate::store::TableCounts;

mod clients;
mod groups;
mod links;
mod sessions;
mod system;
mod users;

pub use clients::{ClientAdd, ClientDelete, ClientList, ClientRotateSecret, ClientShow, ClientUpdate};
pub use groups::{GroupShow, GroupsList};
pub use links::{LinkAdd, LinkRemove, LinksList};
pub use sessions::{ConsentRevoke, ConsentsList, SessionsAll, SessionsList, SessionsRevoke};
pub use system::{AuditList, Backup, Dashboard, DashboardView, ExposedPath, HourCount, KeysList, KeysRotate};
pub use users::{
    ProfileChange, UserAdd, UserDelete, UserInvite, UserList, UserPasswd, UserResetFactors, UserSetDisabled,
    UserShow, UserUpdate,
};

/// One administrative command and the type of its answer.
pub trait Command: Serialize + DeserializeOwned + Into<AdminRequest> + Send + 'static {
    /// What the command returns.
    type Output: Serialize + DeserializeOwned + Send;

    /// The command's name for the log and the audit feed; never includes a password.
    const NAME: &'static str;

    /// The audit action for a command that changes something; `None` for reads.
    fn audit_action(&self) -> Option<&'static str> {
        None
    }

    /// What the command acts on, for the audit feed.
    fn target(&self) -> Option<String> {
        None
    }

    /// Runs the command.
    fn run(self, app: &App) -> impl Future<Output = Result<Self::Output, ServiceError>> + Send;
}

/// The answer of a change that returns nothing else: how many things it touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub count: usize,
}

/// Declares the wire form of every command: [`AdminRequest`] with one variant per command struct
/// (of the same name), the conversions into it, and the dispatch that runs whichever it holds.
macro_rules! commands {
    ($($command:ident),* $(,)?) => {
        /// Any one administrative command, as the admin socket carries it (JSON, tagged by `op`).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "op", rename_all = "snake_case")]
        pub enum AdminRequest {
            $($command($command),)*
        }

        impl AdminRequest {
            /// The command's name for the log; never includes a password.
            pub fn describe(&self) -> &'static str {
                match self {
                    $(AdminRequest::$command(_) => <$command as Command>::NAME,)*
                }
            }

            /// Runs the command this holds for `actor`, as [`execute_as`] does, and answers its
            /// output as JSON.
            pub async fn execute_as(self, app: &App, actor: &Actor) -> Result<serde_json::Value, ServiceError> {
                match self {
                    $(AdminRequest::$command(c) => json(execute_as(app, actor, c).await?),)*
                }
            }
        }

        $(
            impl From<$command> for AdminRequest {
                fn from(c: $command) -> AdminRequest {
                    AdminRequest::$command(c)
                }
            }
        )*
    };
}

commands! {
    UserAdd,
    UserList,
    UserShow,
    UserPasswd,
    UserSetDisabled,
    UserDelete,
    ClientAdd,
    ClientList,
    ClientShow,
    ClientDelete,
    ClientRotateSecret,
    KeysList,
    KeysRotate,
    Backup,
    UserUpdate,
    ClientUpdate,
    SessionsList,
    SessionsRevoke,
    ConsentsList,
    ConsentRevoke,
    AuditList,
    LinksList,
    LinkAdd,
    LinkRemove,
    UserInvite,
    UserResetFactors,
    GroupsList,
    GroupShow,
    SessionsAll,
    Dashboard,
}

/// A command's output as JSON, for the admin socket.
fn json<T: Serialize>(output: T) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(output)
        .map_err(|e| ServiceError::Internal(format!("cannot encode an admin answer: {e}")))
}

/// What `latchkey backup` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupReport {
    pub path: PathBuf,
    pub tables: TableCounts,
}

/// Who asked for an administrative command, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// A username, `client:ID`, or `cli` for the command line.
    pub name: String,
    pub ip: Option<std::net::IpAddr>,
}

impl Actor {
    /// The command line (directly or through the admin socket).
    pub fn cli() -> Actor {
        Actor {
            name: "cli".to_owned(),
            ip: None,
        }
    }
}

/// Runs one command for `actor` and records every change, and every refused change, in the audit
/// feed.
pub async fn execute_as<C: Command>(app: &App, actor: &Actor, command: C) -> Result<C::Output, ServiceError> {
    let action = command.audit_action();
    let target = command.target();
    let result = command.run(app).await;
    if let Some(action) = action {
        super::audit::note(
            app,
            &actor.name,
            action,
            target.as_deref(),
            actor.ip,
            result.is_ok(),
        )
        .await;
    }
    result
}

/// Writes a consistent copy of the data file to `path` (which must not exist) and checks it.
pub async fn backup(app: &App, path: PathBuf) -> Result<BackupReport, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        if path.exists() {
            return Err(ServiceError::conflict(Conflict::PathExists {
                path: path.display().to_string(),
            }));
        }
        let tables = store.backup_to(&path)?;
        Ok(BackupReport { path, tables })
    })
    .await
}

/// Why a bearer token may not use the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminDenied {
    /// No live access token (401).
    Unauthenticated,
    /// A live token, but without the `admin` scope, or its user is not an administrator (403).
    Forbidden(&'static str),
    /// Too many bad tokens from this address: wait this many seconds (429).
    Throttled(super::throttle::RetryAfter),
    /// The store failed.
    Unavailable(ServiceError),
}

/// The scope that opens the admin API; defined in `domain`, where `authorize` and `token` can
/// name it without using this module.
pub use crate::domain::ADMIN_SCOPE;

/// Checks an admin API bearer token: live, granted `admin`, and — for a user's token — a user who
/// is still enabled and still in the administrators group; for a client's own token, a client that
/// still exists and is still allowed `admin`. Tokens that are not live count as guesses from `ip`
/// and are throttled like passwords.
pub async fn authenticate(app: &App, token: String, ip: IpAddr) -> Result<String, AdminDenied> {
    let attempt = app
        .bearer_throttle
        .begin(BEARER_ACCOUNT, ip, app.clock.now())
        .map_err(AdminDenied::Throttled)?;
    let store = app.store.clone();
    let issuer = app.config.issuer.clone();
    let now = app.clock.now();
    let verdict = blocking(move || {
        store.read(|tx| {
            let Some(live) = super::token::live_access_token(tx, &issuer, &token, now)? else {
                return Ok(Err(AdminDenied::Unauthenticated));
            };
            let claims = live.claims;
            if !claims
                .aud
                .names(&crate::protocol::resource::admin_resource(&issuer))
            {
                return Ok(Err(AdminDenied::Forbidden(
                    "the token is not for the admin API: its aud does not name it",
                )));
            }
            if !claims.has_scope(ADMIN_SCOPE) {
                return Ok(Err(AdminDenied::Forbidden(
                    "the token was not granted the admin scope",
                )));
            }
            let (sub, client_id) = (claims.sub, claims.client_id);
            if sub == client_id {
                // A client acting for itself: it must still exist and still be allowed `admin`, as a
                // person must still be in the administrators group.
                let client = match crate::domain::ClientId::parse(&client_id) {
                    Ok(id) => tx.client(&id)?,
                    Err(_) => None,
                };
                return Ok(match client {
                    Some(c) if c.scopes.iter().any(|s| s.as_str() == ADMIN_SCOPE) => {
                        Ok(format!("client:{client_id}"))
                    }
                    Some(_) => Err(AdminDenied::Forbidden(
                        "the client is no longer allowed the admin scope",
                    )),
                    None => Err(AdminDenied::Unauthenticated),
                });
            }
            match tx.user(&crate::domain::Subject::from_string(sub))? {
                Some(u) if u.administers() => Ok(Ok(u.username.to_string())),
                Some(_) => Ok(Err(AdminDenied::Forbidden("the user is not an administrator"))),
                None => Ok(Err(AdminDenied::Unauthenticated)),
            }
        })
    })
    .await;
    match verdict {
        Ok(Err(AdminDenied::Unauthenticated)) => {
            attempt.failed(app.clock.now());
            Err(AdminDenied::Unauthenticated)
        }
        Ok(v) => {
            // A live token, whether or not it may administer: not a guess.
            attempt.succeeded(app.clock.now());
            v
        }
        Err(e) => Err(AdminDenied::Unavailable(e)),
    }
}

/// The throttle's account name for admin API bearer tokens: a token names no account.
const BEARER_ACCOUNT: &str = "admin-api";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command without fields, and one with, survives the admin socket's JSON both ways.
    #[test]
    fn commands_cross_the_socket_as_json_tagged_by_op() {
        let requests: Vec<AdminRequest> = vec![
            ClientList {}.into(),
            KeysList {}.into(),
            KeysRotate {}.into(),
            SessionsRevoke {
                user: "alice".into(),
                sid: None,
            }
            .into(),
            AuditList {
                after: Some("00000000001800000000-".into()),
                limit: Some(10),
                filter: crate::service::audit::AuditFilter {
                    actor: Some("alice".into()),
                    success: Some(false),
                    from: Some(1_800_000_000),
                    ..Default::default()
                },
            }
            .into(),
            SessionsAll::default().into(),
            Dashboard {}.into(),
        ];
        for request in requests {
            let text = serde_json::to_string(&request).unwrap();
            assert!(text.contains("\"op\":"), "{text}");
            let back: AdminRequest = serde_json::from_str(&text).unwrap();
            assert_eq!(back, request, "{text}");
        }
        assert_eq!(
            serde_json::to_string(&AdminRequest::from(KeysList {})).unwrap(),
            r#"{"op":"keys_list"}"#
        );
        // An audit request of before the filters still reads.
        let old: AdminRequest =
            serde_json::from_str(r#"{"op":"audit_list","after":null,"limit":5}"#).unwrap();
        assert_eq!(
            old,
            AdminRequest::from(AuditList {
                after: None,
                limit: Some(5),
                filter: Default::default(),
            })
        );
    }
}
