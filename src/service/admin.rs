//! Administrative commands as data. The CLI builds an [`AdminRequest`] and either runs it here,
//! on a store it opened, or sends it over the admin socket to a running server, which runs it
//! here too: one code path either way.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::users::ListUsers;
use super::views::{ClientCreated, ClientView, KeyView, Page, UserView};
use super::{App, ServiceError, blocking, clients, keys, users};
use crate::domain::NewUser;
use crate::store::TableCounts;

/// One administrative command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminRequest {
    UserAdd { user: NewUser, password: Option<String> },
    UserList { query: ListUsers },
    UserShow { user: String },
    UserPasswd { user: String, password: String },
    UserSetDisabled { user: String, disabled: bool },
    UserDelete { user: String },
    ClientAdd { client: clients::NewClient },
    ClientList,
    ClientShow { client_id: String },
    ClientDelete { client_id: String },
    ClientRotateSecret { client_id: String },
    KeysList,
    KeysRotate,
    Backup { path: PathBuf },
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
}

/// What `latchkey backup` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupReport {
    pub path: PathBuf,
    pub tables: TableCounts,
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
