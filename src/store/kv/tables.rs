//! Every table of the store, in one place. Keys are UTF-8 strings; values are versioned records
//! (see `record.rs`). Each engine makes one table of its own per entry of [`ALL`], by name.

/// A table of the store, by name: the same name in every engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table(&'static str);

impl Table {
    const fn new(name: &'static str) -> Table {
        Table(name)
    }

    /// The table's name.
    pub fn name(self) -> &'static str {
        self.0
    }
}

/// Store-wide facts such as the schema version.
pub const META: Table = Table::new("meta");
/// Users by subject.
pub const USERS: Table = Table::new("users");
/// Lower-cased username to subject: the unique, case-insensitive username index.
pub const USERNAMES: Table = Table::new("usernames");
/// ASCII-lower-cased email + U+001F + subject, with an empty value: the users of an address.
pub const EMAILS: Table = Table::new("emails");
/// Clients by client id.
pub const CLIENTS: Table = Table::new("clients");
/// Signing key pairs by kid.
pub const SIGNING_KEYS: Table = Table::new("signing_keys");
/// First-administrator setup tokens, by digest.
pub const SETUP_TOKENS: Table = Table::new("setup_tokens");

/// Browser sessions, by digest of the cookie value.
pub const SESSIONS: Table = Table::new("sessions");
/// Subject + U+001F + session digest, with an empty value: a user's sessions.
pub const USER_SESSIONS: Table = Table::new("user_sessions");
/// Authorization codes, by digest.
pub const CODES: Table = Table::new("codes");
/// Grants (token families), by id.
pub const GRANTS: Table = Table::new("grants");
/// `sid` + U+001F + grant id, with an empty value: the grants of a browser session.
pub const SID_GRANTS: Table = Table::new("sid_grants");
/// Subject + U+001F + grant id, with an empty value: the grants issued to a user.
pub const USER_GRANTS: Table = Table::new("user_grants");
/// Refresh tokens, by digest.
pub const REFRESH_TOKENS: Table = Table::new("refresh_tokens");
/// Revoked access-token ids, kept until the token would have expired anyway.
pub const DENIED_JTIS: Table = Table::new("denied_jtis");
/// Remembered consents, by `subject` + U+001F + `client_id`.
pub const CONSENTS: Table = Table::new("consents");

/// Upstream identities linked to local users, by `upstream` + U+001F + upstream subject.
pub const UPSTREAM_LINKS: Table = Table::new("upstream_links");
/// The same links by `subject` + U+001F + `upstream` + U+001F + upstream subject, to list and
/// remove a user's links.
pub const USER_LINKS: Table = Table::new("user_links");
/// Sign-ins sent to an upstream and not yet back, by digest of their `state`.
pub const UPSTREAM_STATES: Table = Table::new("upstream_states");

/// Passkeys by credential id.
pub const PASSKEYS: Table = Table::new("passkeys");
/// Subject + U+001F + credential id, with an empty value: a user's passkeys.
pub const USER_PASSKEYS: Table = Table::new("user_passkeys");
/// Confirmed TOTP factors by subject.
pub const TOTP: Table = Table::new("totp");
/// Unused recovery codes by subject.
pub const RECOVERY_CODES: Table = Table::new("recovery_codes");
/// Ceremonies in progress (WebAuthn challenges, sign-ins waiting for a second factor, TOTP
/// enrolments), by digest of the value the browser holds.
pub const CEREMONIES: Table = Table::new("ceremonies");
/// One-time invitations, by digest.
pub const INVITATIONS: Table = Table::new("invitations");
/// Domain-scoped forward-auth cookies, by digest; each names the session it stands for.
pub const FORWARD_AUTH_SESSIONS: Table = Table::new("forward_auth_sessions");

/// `{expires_at:020}` + U+001F + table name + U+001F + key, with an empty value: every row of
/// an expiring table by the second it expires, so the purge reads only what is due.
pub const EXPIRIES: Table = Table::new("expiries");

/// The audit feed, by a key that sorts by time (`{seconds:020}-{random}`).
pub const AUDIT: Table = Table::new("audit");

/// All tables, for creation at open and for backup.
pub const ALL: [Table; 28] = [
    META,
    USERS,
    USERNAMES,
    EMAILS,
    CLIENTS,
    SIGNING_KEYS,
    SETUP_TOKENS,
    SESSIONS,
    USER_SESSIONS,
    CODES,
    GRANTS,
    SID_GRANTS,
    USER_GRANTS,
    REFRESH_TOKENS,
    DENIED_JTIS,
    CONSENTS,
    UPSTREAM_LINKS,
    USER_LINKS,
    UPSTREAM_STATES,
    PASSKEYS,
    USER_PASSKEYS,
    TOTP,
    RECOVERY_CODES,
    CEREMONIES,
    INVITATIONS,
    FORWARD_AUTH_SESSIONS,
    EXPIRIES,
    AUDIT,
];

/// The tables whose rows carry `expires_at` and are deleted by the purge once it has passed;
/// each row has an entry in [`EXPIRIES`].
pub const EXPIRING: [Table; 10] = [
    SESSIONS,
    CODES,
    REFRESH_TOKENS,
    GRANTS,
    DENIED_JTIS,
    SETUP_TOKENS,
    UPSTREAM_STATES,
    CEREMONIES,
    INVITATIONS,
    FORWARD_AUTH_SESSIONS,
];

/// The key in [`META`] that holds the schema version as a decimal string.
pub const SCHEMA_VERSION_KEY: &str = "schema_version";

/// The prefix of the keys in [`META`] that hold server-wide secrets (`secret:csrf`, ...).
pub const SECRET_KEY_PREFIX: &str = "secret:";
