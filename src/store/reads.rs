//! The typed reads every transaction offers. The trait is object-safe (`&dyn Reads`), names no
//! storage engine, and each method is one query: a point read, or a scan the store answers from
//! its own indexes.

use crate::domain::{
    AuthorizationCode, CeremonyRecord, Client, ClientId, Consent, ForwardAuthSession, Grant, Invitation,
    PasskeyRecord, PendingUpstream, RecoveryCodesRecord, RefreshToken, Session, SigningKeyRecord, Subject,
    Timestamp, TotpRecord, UpstreamLink, User,
};

use super::{AuditRecord, SetupTokenRecord, StoreError};

/// Reads shared by read and write transactions.
pub trait Reads {
    /// The user with this subject.
    fn user(&self, subject: &Subject) -> Result<Option<User>, StoreError>;
    /// The user whose lower-cased username is `key`.
    fn user_by_username_key(&self, key: &str) -> Result<Option<User>, StoreError>;
    /// Users in username order, starting after the lower-cased username `after`, at most `limit`.
    fn users_by_username(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError>;
    /// Users in username order after the lower-cased username `after` whose username, email or
    /// name contains the lower-cased `needle`, at most `limit`.
    fn search_users(&self, needle: &str, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError>;
    /// The users whose email is `email`, ignoring ASCII case, in subject order (from an index).
    fn users_by_email(&self, email: &str) -> Result<Vec<User>, StoreError>;
    /// How many users there are.
    fn user_count(&self) -> Result<u64, StoreError>;

    /// The client with this id.
    fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    /// Every client, in client id order.
    fn clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Every signing key, in kid order.
    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// A server-wide secret kept in the store (such as the key of the CSRF tokens' MAC), so that
    /// it survives restarts and every node shares it.
    fn server_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// A setup token, by digest.
    fn setup_token(&self, digest: &str) -> Result<Option<SetupTokenRecord>, StoreError>;

    /// A session, by digest of its cookie.
    fn session(&self, digest: &str) -> Result<Option<Session>, StoreError>;
    /// Every session, with its digest, in digest order.
    fn sessions(&self) -> Result<Vec<(String, Session)>, StoreError>;
    /// How many sessions are stored (the expired ones too, until the purge task deletes them).
    fn session_count(&self) -> Result<u64, StoreError>;
    /// A user's sessions, with their digests, in digest order (from an index).
    fn sessions_of(&self, subject: &Subject) -> Result<Vec<(String, Session)>, StoreError>;

    /// An authorization code, by digest.
    fn code(&self, digest: &str) -> Result<Option<AuthorizationCode>, StoreError>;
    /// A grant, by id.
    fn grant(&self, id: &str) -> Result<Option<Grant>, StoreError>;
    /// How many grants are stored (the table's kept length: no scan).
    fn grant_count(&self) -> Result<u64, StoreError>;
    /// Every grant, in id order.
    fn grants(&self) -> Result<Vec<Grant>, StoreError>;
    /// The grants issued in the browser session `sid`, in id order (from an index).
    fn grants_by_sid(&self, sid: &str) -> Result<Vec<Grant>, StoreError>;
    /// The grants issued to a user, in id order (from an index).
    fn grants_of(&self, subject: &Subject) -> Result<Vec<Grant>, StoreError>;
    /// A refresh token, by digest.
    fn refresh_token(&self, digest: &str) -> Result<Option<RefreshToken>, StoreError>;
    /// Whether an access token id was revoked.
    fn is_jti_denied(&self, jti: &str) -> Result<bool, StoreError>;

    /// Audit entries with keys after `after`, oldest first, with their keys.
    fn audit_entries(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, AuditRecord)>, StoreError>;
    /// How many audit entries there are.
    fn audit_count(&self) -> Result<u64, StoreError>;
    /// Whether a purge round has anything to delete: a row that expired at or before `now`
    /// (by the expiry index), or an audit entry older than `audit_cutoff`.
    fn anything_to_purge(&self, now: Timestamp, audit_cutoff: Timestamp) -> Result<bool, StoreError>;

    /// The remembered consent of a user to a client.
    fn consent(&self, subject: &Subject, client: &ClientId) -> Result<Option<Consent>, StoreError>;
    /// A user's consents.
    fn consents_of(&self, subject: &Subject) -> Result<Vec<Consent>, StoreError>;

    /// The link of an upstream identity, if it has one.
    fn upstream_link(
        &self,
        upstream: &str,
        upstream_subject: &str,
    ) -> Result<Option<UpstreamLink>, StoreError>;
    /// The upstream identities linked to a user.
    fn links_of(&self, subject: &Subject) -> Result<Vec<UpstreamLink>, StoreError>;
    /// A pending upstream sign-in, by digest of its `state`.
    fn pending_upstream(&self, digest: &str) -> Result<Option<PendingUpstream>, StoreError>;
    /// How many upstream sign-ins are pending.
    fn pending_upstream_count(&self) -> Result<u64, StoreError>;
    /// The stored size of each pending upstream sign-in (its key and record, in bytes): what an
    /// anonymous start costs the store.
    fn pending_upstream_sizes(&self) -> Result<Vec<usize>, StoreError>;

    /// A passkey, by credential id (base64url).
    fn passkey(&self, credential_id: &str) -> Result<Option<PasskeyRecord>, StoreError>;
    /// A user's passkeys, in credential id order (from an index).
    fn passkeys_of(&self, subject: &Subject) -> Result<Vec<PasskeyRecord>, StoreError>;
    /// A user's confirmed TOTP factor.
    fn totp(&self, subject: &Subject) -> Result<Option<TotpRecord>, StoreError>;
    /// A user's unused recovery codes.
    fn recovery_codes(&self, subject: &Subject) -> Result<Option<RecoveryCodesRecord>, StoreError>;
    /// A ceremony in progress, by digest (see [`Writes::take_ceremony`] to use it).
    fn ceremony(&self, digest: &str) -> Result<Option<CeremonyRecord>, StoreError>;
    /// How many ceremonies are in progress.
    fn ceremony_count(&self) -> Result<u64, StoreError>;
    /// An invitation, by digest.
    fn invitation(&self, digest: &str) -> Result<Option<Invitation>, StoreError>;
    /// Every invitation, with its digest, in digest order.
    fn invitations(&self) -> Result<Vec<(String, Invitation)>, StoreError>;
    /// A forward-auth cookie's record, by digest.
    fn forward_auth_session(&self, digest: &str) -> Result<Option<ForwardAuthSession>, StoreError>;
}
