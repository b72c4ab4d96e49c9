//! Why a change conflicts with what is stored, as a typed reason with its values ([`Conflict`]).
//! The pages say a reason in their language (`web::pages::copy::conflict_reason`); its `Display`
//! is the English the admin API's problem `detail` and the CLI show, word for word as before the
//! reasons were typed.

use serde::{Deserialize, Serialize};

use crate::domain::ADMIN_GROUP;
use crate::store::Existing;

/// Why a change was refused because of what is stored. The admin socket carries it as JSON
/// inside [`ServiceError::Conflict`](super::ServiceError::Conflict), tagged by `reason`; a reason
/// this build does not know reads as [`Conflict::Other`].
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Conflict {
    /// Another user has this username (compared case-insensitively).
    #[error("username `{username}` already exists")]
    UsernameTaken { username: String },
    /// A passkey with this credential id belongs to another user.
    #[error("a passkey with this credential id already exists")]
    PasskeyTaken,
    /// A file (a backup's destination) is already there.
    #[error("{path} already exists")]
    PathExists { path: String },
    /// A client with this id is registered already.
    #[error("client `{client_id}` already exists")]
    ClientExists { client_id: String },
    /// The client is declared in the configuration file, so only the file changes it.
    #[error("client `{client_id}` is declared in the configuration file; change it there")]
    ClientDeclared { client_id: String },
    /// A client declared in the configuration file has the id of one made with the CLI or API.
    #[error(
        "client `{client_id}` is declared in the configuration but was created with the CLI or API; delete one of them"
    )]
    ClientDeclaredAndStored { client_id: String },
    /// A public client has no secret to rotate.
    #[error("client `{client_id}` is public and has no secret")]
    ClientPublic { client_id: String },
    /// No username derived from an upstream identity is free.
    #[error("no free username for this account")]
    NoFreeUsername,
    /// The upstream identity is linked to another user.
    #[error("this {upstream} identity is linked to `{owner}` already; unlink it first")]
    UpstreamLinked { upstream: String, owner: String },
    /// The change would leave no enabled member of `admins`, and so no one who can open the
    /// admin console or the admin API.
    #[error(
        "`{username}` is the last enabled member of `{ADMIN_GROUP}`; make another user an administrator first"
    )]
    LastAdministrator { username: String },
    /// A reason not typed (yet): the error's `message` is all that says why.
    #[default]
    #[serde(other)]
    #[error("the change conflicts with what is stored")]
    Other,
}

impl From<Existing> for Conflict {
    fn from(existing: Existing) -> Conflict {
        match existing {
            Existing::Username(username) => Conflict::UsernameTaken { username },
            Existing::Passkey => Conflict::PasskeyTaken,
            Existing::File(path) => Conflict::PathExists {
                path: path.display().to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    /// A store's refusal says the same English as a service's conflict made from it.
    #[test]
    fn the_english_of_a_stored_conflict_is_the_stores() {
        for existing in [
            Existing::Username("alice".into()),
            Existing::Passkey,
            Existing::File("/tmp/backup.redb".into()),
        ] {
            let store = StoreError::Exists(existing.clone()).to_string();
            assert_eq!(Conflict::from(existing).to_string(), store);
        }
    }

    /// A reason survives the admin socket, and a reason from a newer build reads as `Other`.
    #[test]
    fn conflicts_travel_as_json_tagged_by_reason() {
        let reason = Conflict::LastAdministrator {
            username: "root".into(),
        };
        let json = serde_json::to_string(&reason).unwrap();
        assert_eq!(json, r#"{"reason":"last_administrator","username":"root"}"#);
        assert_eq!(serde_json::from_str::<Conflict>(&json).unwrap(), reason);
        let newer: Conflict = serde_json::from_str(r#"{"reason":"not_known_yet","x":1}"#).unwrap();
        assert_eq!(newer, Conflict::Other);
    }
}
