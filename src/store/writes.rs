//! The typed writes of a write transaction. Object-safe (`&dyn Writes`); every method keeps the
//! store's indexes exact in the same transaction as the record it changes.

use crate::domain::{
    AuthorizationCode, CeremonyRecord, Client, ClientId, Consent, ForwardAuthSession, Grant, Invitation,
    PasskeyRecord, PendingUpstream, RecoveryCodesRecord, RefreshToken, Session, SigningKeyRecord, Subject,
    Timestamp, TotpRecord, UpstreamLink, User,
};

use super::{AuditRecord, Reads, SetupTokenRecord, StoreError};

/// A job that one node at a time runs against a shared store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Deleting expired rows and old audit entries.
    Purge,
    /// Making a new signing key and retiring old ones.
    KeyRotation,
}

impl Job {
    /// The job's name, which names its lock.
    pub fn name(self) -> &'static str {
        match self {
            Job::Purge => "purge",
            Job::KeyRotation => "key-rotation",
        }
    }
}

/// Writes, which see every earlier write of their transaction.
pub trait Writes: Reads {
    /// Takes the lock of `job` until the transaction ends, so that one node at a time runs it;
    /// false when another node's transaction holds it now (then skip the job this round).
    fn claim(&self, job: Job) -> Result<bool, StoreError>;
    /// Inserts or replaces a user and keeps the username and email indexes in step. Fails with
    /// [`StoreError::Exists`] when another user already has the username.
    fn put_user(&self, user: &User) -> Result<(), StoreError>;
    /// Removes a user, their index entries and their second factors (passkeys, TOTP, recovery
    /// codes); false when there was no such user.
    fn delete_user(&self, subject: &Subject) -> Result<bool, StoreError>;
    /// Stores a server-wide secret (see [`Reads::server_secret`]).
    fn put_server_secret(&self, name: &str, secret: &[u8]) -> Result<(), StoreError>;

    /// Inserts or replaces a client.
    fn put_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Removes a client and every row that names it: its grants (so its access tokens stop),
    /// refresh tokens, authorization codes and consents. A later client with the same id
    /// inherits nothing. False when there was no such client.
    fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError>;
    /// Inserts or replaces a signing key.
    fn put_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// Removes a signing key; false when there was none.
    fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError>;
    /// Stores a setup token under its digest.
    fn put_setup_token(&self, digest: &str, token: &SetupTokenRecord) -> Result<(), StoreError>;
    /// Removes a setup token; false when there was none.
    fn delete_setup_token(&self, digest: &str) -> Result<bool, StoreError>;
    /// Removes every setup token.
    fn clear_setup_tokens(&self) -> Result<(), StoreError>;

    /// Stores a session under the digest of its cookie, and in the index of its user's sessions.
    fn put_session(&self, digest: &str, session: &Session) -> Result<(), StoreError>;
    /// Removes a session and its index entry; false when there was none.
    fn delete_session(&self, digest: &str) -> Result<bool, StoreError>;
    /// Stores an authorization code under its digest.
    fn put_code(&self, digest: &str, code: &AuthorizationCode) -> Result<(), StoreError>;
    /// Inserts or replaces a grant, and its entry in the index of grants by `sid`.
    fn put_grant(&self, grant: &Grant) -> Result<(), StoreError>;
    /// Stores a refresh token under its digest.
    fn put_refresh_token(&self, digest: &str, token: &RefreshToken) -> Result<(), StoreError>;
    /// Denies an access token id until `until`, when the token expires anyway.
    fn deny_jti(&self, jti: &str, until: Timestamp) -> Result<(), StoreError>;
    /// Appends an audit entry under `key`, which sorts by time (`{seconds:020}-{random}`).
    fn put_audit(&self, key: &str, entry: &AuditRecord) -> Result<(), StoreError>;

    /// Remembers a consent.
    fn put_consent(&self, consent: &Consent) -> Result<(), StoreError>;
    /// Forgets a consent; false when there was none.
    fn delete_consent(&self, subject: &Subject, client: &ClientId) -> Result<bool, StoreError>;
    /// Stores a link under both of its keys.
    fn put_upstream_link(&self, link: &UpstreamLink) -> Result<(), StoreError>;
    /// Removes a link under both of its keys; false when there was none.
    fn delete_upstream_link(&self, link: &UpstreamLink) -> Result<bool, StoreError>;
    /// Stores a pending upstream sign-in under the digest of its `state`.
    fn put_pending_upstream(&self, digest: &str, pending: &PendingUpstream) -> Result<(), StoreError>;
    /// Removes a pending upstream sign-in; false when there was none.
    fn delete_pending_upstream(&self, digest: &str) -> Result<bool, StoreError>;

    /// Deletes rows of the expiring kinds (sessions, codes, refresh tokens, grants, denied
    /// `jti`s, setup tokens, pending sign-ins) whose `expires_at` is at or before `now`, with
    /// their index entries, at most `limit` in all; returns how many went.
    fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError>;
    /// Deletes audit entries keyed before the second `cutoff`, at most `limit`, oldest first;
    /// returns how many went.
    fn purge_audit_before(&self, cutoff: Timestamp, limit: usize) -> Result<usize, StoreError>;

    /// Inserts or replaces a passkey, and its entry in the index of its user's passkeys.
    fn put_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError>;
    /// Removes a passkey and its index entry; false when there was none.
    fn delete_passkey(&self, credential_id: &str) -> Result<bool, StoreError>;
    /// Stores a user's confirmed TOTP factor, replacing any earlier one.
    fn put_totp(&self, totp: &TotpRecord) -> Result<(), StoreError>;
    /// Removes a user's TOTP factor; false when there was none.
    fn delete_totp(&self, subject: &Subject) -> Result<bool, StoreError>;
    /// Stores a user's unused recovery codes, replacing any earlier set.
    fn put_recovery_codes(&self, codes: &RecoveryCodesRecord) -> Result<(), StoreError>;
    /// Removes a user's recovery codes; false when there were none.
    fn delete_recovery_codes(&self, subject: &Subject) -> Result<bool, StoreError>;
    /// Removes every second factor of a user (passkeys, TOTP, recovery codes); returns how many
    /// records went.
    fn delete_factors(&self, subject: &Subject) -> Result<usize, StoreError>;
    /// Stores a ceremony in progress under the digest of the browser's value.
    fn put_ceremony(&self, digest: &str, ceremony: &CeremonyRecord) -> Result<(), StoreError>;
    /// Reads and deletes a ceremony in one step, so that it works once. `None` when there was
    /// none; an expired one is deleted and returned, for the caller to refuse by its clock.
    fn take_ceremony(&self, digest: &str) -> Result<Option<CeremonyRecord>, StoreError>;
    /// Stores an invitation under its digest.
    fn put_invitation(&self, digest: &str, invitation: &Invitation) -> Result<(), StoreError>;
    /// Removes an invitation; false when there was none.
    fn delete_invitation(&self, digest: &str) -> Result<bool, StoreError>;
    /// Stores a forward-auth cookie's record under the cookie's digest.
    fn put_forward_auth_session(&self, digest: &str, session: &ForwardAuthSession) -> Result<(), StoreError>;
}
