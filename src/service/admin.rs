//! Administrative commands as data. The CLI builds an [`AdminRequest`] and either runs it here,
//! on a store it opened, or sends it over the admin socket to a running server, which runs it
//! here too: one code path either way.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::audit::{self, AuditEvent};
use super::authorize::{self, ConsentView};
use super::login::{self, SessionView};
use super::upstream::{self, LinkView};
use super::users::ListUsers;
use super::views::{ClientCreated, ClientView, KeyView, Page, UserView};
use super::{App, ServiceError, blocking, clients, keys, users};
use crate::domain::NewUser;
use crate::store::{Reads, TableCounts};

/// One administrative command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminRequest {
    UserAdd {
        user: NewUser,
        password: Option<String>,
    },
    UserList {
        query: ListUsers,
    },
    UserShow {
        user: String,
    },
    UserPasswd {
        user: String,
        password: String,
    },
    UserSetDisabled {
        user: String,
        disabled: bool,
    },
    UserDelete {
        user: String,
    },
    ClientAdd {
        client: clients::NewClient,
    },
    ClientList,
    ClientShow {
        client_id: String,
    },
    ClientDelete {
        client_id: String,
    },
    ClientRotateSecret {
        client_id: String,
    },
    KeysList,
    KeysRotate,
    Backup {
        path: PathBuf,
    },
    UserUpdate {
        user: String,
        change: ProfileChange,
    },
    ClientUpdate {
        client_id: String,
        change: clients::ClientUpdate,
    },
    SessionsList {
        user: String,
    },
    SessionsRevoke {
        user: String,
        sid: Option<String>,
    },
    ConsentsList {
        user: String,
    },
    ConsentRevoke {
        user: String,
        client_id: String,
    },
    AuditList {
        after: Option<String>,
        limit: Option<usize>,
    },
    LinksList {
        user: String,
    },
    LinkAdd {
        user: String,
        upstream: String,
        subject: String,
    },
    LinkRemove {
        user: String,
        upstream: String,
        subject: String,
    },
}

/// Changes to a user's profile and groups; `None` leaves a field as it is, and `Some(None)`
/// clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChange {
    #[serde(default)]
    pub name: Option<Option<String>>,
    #[serde(default)]
    pub email: Option<Option<String>>,
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

impl AdminRequest {
    /// A description for the log that never includes a password.
    pub fn describe(&self) -> &'static str {
        match self {
            AdminRequest::UserAdd { .. } => "user add",
            AdminRequest::UserList { .. } => "user list",
            AdminRequest::UserShow { .. } => "user show",
            AdminRequest::UserPasswd { .. } => "user passwd",
            AdminRequest::UserSetDisabled { .. } => "user disable/enable",
            AdminRequest::UserDelete { .. } => "user delete",
            AdminRequest::ClientAdd { .. } => "client add",
            AdminRequest::ClientList => "client list",
            AdminRequest::ClientShow { .. } => "client show",
            AdminRequest::ClientDelete { .. } => "client delete",
            AdminRequest::ClientRotateSecret { .. } => "client rotate-secret",
            AdminRequest::KeysList => "keys list",
            AdminRequest::KeysRotate => "keys rotate",
            AdminRequest::Backup { .. } => "backup",
            AdminRequest::UserUpdate { .. } => "user update",
            AdminRequest::ClientUpdate { .. } => "client update",
            AdminRequest::SessionsList { .. } => "sessions list",
            AdminRequest::SessionsRevoke { .. } => "sessions revoke",
            AdminRequest::ConsentsList { .. } => "consents list",
            AdminRequest::ConsentRevoke { .. } => "consent revoke",
            AdminRequest::AuditList { .. } => "audit list",
            AdminRequest::LinksList { .. } => "user links",
            AdminRequest::LinkAdd { .. } => "user link",
            AdminRequest::LinkRemove { .. } => "user unlink",
        }
    }

    /// The audit action for a request that changes something; `None` for reads.
    fn audit_action(&self) -> Option<&'static str> {
        Some(match self {
            AdminRequest::UserAdd { .. } => "user.create",
            AdminRequest::UserPasswd { .. } => "user.password",
            AdminRequest::UserSetDisabled { disabled: true, .. } => "user.disable",
            AdminRequest::UserSetDisabled { disabled: false, .. } => "user.enable",
            AdminRequest::UserDelete { .. } => "user.delete",
            AdminRequest::UserUpdate { .. } => "user.update",
            AdminRequest::ClientAdd { .. } => "client.create",
            AdminRequest::ClientUpdate { .. } => "client.update",
            AdminRequest::ClientDelete { .. } => "client.delete",
            AdminRequest::ClientRotateSecret { .. } => "client.rotate_secret",
            AdminRequest::KeysRotate => "keys.rotate",
            AdminRequest::Backup { .. } => "backup",
            AdminRequest::SessionsRevoke { .. } => "sessions.revoke",
            AdminRequest::ConsentRevoke { .. } => "consent.revoke",
            AdminRequest::LinkAdd { .. } => "user.link",
            AdminRequest::LinkRemove { .. } => "user.unlink",
            _ => return None,
        })
    }

    /// What the request acts on, for the audit feed.
    fn target(&self) -> Option<String> {
        match self {
            AdminRequest::UserAdd { user, .. } => Some(user.username.clone()),
            AdminRequest::UserShow { user }
            | AdminRequest::UserPasswd { user, .. }
            | AdminRequest::UserSetDisabled { user, .. }
            | AdminRequest::UserDelete { user }
            | AdminRequest::UserUpdate { user, .. }
            | AdminRequest::SessionsList { user }
            | AdminRequest::SessionsRevoke { user, .. }
            | AdminRequest::ConsentsList { user }
            | AdminRequest::LinksList { user } => Some(user.clone()),
            AdminRequest::LinkAdd {
                user,
                upstream,
                subject,
            }
            | AdminRequest::LinkRemove {
                user,
                upstream,
                subject,
            } => Some(format!("{user} / {upstream} / {subject}")),
            AdminRequest::ConsentRevoke { user, client_id } => Some(format!("{user} / {client_id}")),
            AdminRequest::ClientAdd { client } => Some(client.client_id.clone()),
            AdminRequest::ClientShow { client_id }
            | AdminRequest::ClientDelete { client_id }
            | AdminRequest::ClientRotateSecret { client_id }
            | AdminRequest::ClientUpdate { client_id, .. } => Some(client_id.clone()),
            AdminRequest::Backup { path } => Some(path.display().to_string()),
            _ => None,
        }
    }
}

/// What a command returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AdminResponse {
    User(UserView),
    Users(Page<UserView>),
    Client(ClientView),
    ClientCreated(ClientCreated),
    Clients(Vec<ClientView>),
    Key(KeyView),
    Keys(Vec<KeyView>),
    Backup(BackupReport),
    Sessions(Vec<SessionView>),
    Consents(Vec<ConsentView>),
    Audit(Page<AuditEvent>),
    Links(Vec<LinkView>),
    Link(LinkView),
    /// A change that returns nothing, with how many things it touched.
    Done {
        count: usize,
    },
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
pub async fn execute_as(
    app: &App,
    actor: &Actor,
    request: AdminRequest,
) -> Result<AdminResponse, ServiceError> {
    let action = request.audit_action();
    let target = request.target();
    let result = execute(app, request).await;
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

/// Runs one command.
pub async fn execute(app: &App, request: AdminRequest) -> Result<AdminResponse, ServiceError> {
    use AdminRequest as R;
    use AdminResponse as A;
    Ok(match request {
        R::UserAdd { user, password } => A::User(users::add(app, user, password).await?),
        R::UserList { query } => A::Users(users::list(app, query).await?),
        R::UserShow { user } => A::User(users::get(app, user).await?),
        R::UserPasswd { user, password } => A::User(users::set_password(app, user, password).await?),
        R::UserSetDisabled { user, disabled } => A::User(users::set_disabled(app, user, disabled).await?),
        R::UserDelete { user } => A::User(users::delete(app, user).await?),
        R::ClientAdd { client } => A::ClientCreated(clients::add(app, client).await?),
        R::ClientList => A::Clients(clients::list(app).await?),
        R::ClientShow { client_id } => A::Client(clients::get(app, client_id).await?),
        R::ClientDelete { client_id } => A::Client(clients::delete(app, client_id).await?),
        R::ClientRotateSecret { client_id } => {
            A::ClientCreated(clients::rotate_secret(app, client_id).await?)
        }
        R::KeysList => A::Keys(keys::list(app).await?),
        R::KeysRotate => A::Key(keys::rotate(app).await?),
        R::Backup { path } => A::Backup(backup(app, path).await?),
        R::UserUpdate { user, change } => A::User(
            users::update_profile(
                app,
                user,
                change.name,
                change.email,
                change.email_verified,
                change.groups,
            )
            .await?,
        ),
        R::ClientUpdate { client_id, change } => A::Client(clients::update(app, client_id, change).await?),
        R::SessionsList { user } => A::Sessions(login::sessions_of(app, user).await?),
        R::SessionsRevoke { user, sid } => A::Done {
            count: login::revoke_sessions(app, user, sid).await?,
        },
        R::ConsentsList { user } => A::Consents(authorize::consents_of(app, user).await?),
        R::ConsentRevoke { user, client_id } => {
            authorize::revoke_consent(app, user, client_id).await?;
            A::Done { count: 1 }
        }
        R::AuditList { after, limit } => A::Audit(audit::list(app, after, limit).await?),
        R::LinksList { user } => A::Links(upstream::links_of(app, user).await?),
        R::LinkAdd {
            user,
            upstream: name,
            subject,
        } => A::Link(upstream::link(app, user, name, subject).await?),
        R::LinkRemove {
            user,
            upstream: name,
            subject,
        } => A::Link(upstream::unlink(app, user, name, subject).await?),
    })
}

/// Writes a consistent copy of the data file to `path` (which must not exist) and checks it.
pub async fn backup(app: &App, path: PathBuf) -> Result<BackupReport, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        if path.exists() {
            return Err(ServiceError::Conflict(format!(
                "{} already exists",
                path.display()
            )));
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

/// The scope that opens the admin API.
pub const ADMIN_SCOPE: &str = "admin";

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
        let tx = store.read()?;
        let Some(live) = super::token::live_access_token(&tx, &issuer, &token, now)? else {
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
            Some(u) if !u.disabled && u.groups.iter().any(|g| g == super::ADMIN_GROUP) => {
                Ok(Ok(u.username.to_string()))
            }
            Some(_) => Ok(Err(AdminDenied::Forbidden("the user is not an administrator"))),
            None => Ok(Err(AdminDenied::Unauthenticated)),
        }
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
