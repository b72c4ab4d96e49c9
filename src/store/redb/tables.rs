//! Every table in the data file, in one place. Keys are UTF-8 strings; values are versioned
//! records (see `record.rs`).

use redb::TableDefinition;

/// The table type every table shares, which lets backup copy them all the same way.
pub type Table = TableDefinition<'static, &'static str, &'static [u8]>;

/// Store-wide facts such as the schema version.
pub const META: Table = TableDefinition::new("meta");
/// Users by subject.
pub const USERS: Table = TableDefinition::new("users");
/// Lower-cased username to subject: the unique, case-insensitive username index.
pub const USERNAMES: Table = TableDefinition::new("usernames");
/// ASCII-lower-cased email + U+001F + subject, with an empty value: the users of an address.
pub const EMAILS: Table = TableDefinition::new("emails");
/// Clients by client id.
pub const CLIENTS: Table = TableDefinition::new("clients");
/// Signing key pairs by kid.
pub const SIGNING_KEYS: Table = TableDefinition::new("signing_keys");
/// First-administrator setup tokens, by digest.
pub const SETUP_TOKENS: Table = TableDefinition::new("setup_tokens");

/// Browser sessions, by digest of the cookie value.
pub const SESSIONS: Table = TableDefinition::new("sessions");
/// Subject + U+001F + session digest, with an empty value: a user's sessions.
pub const USER_SESSIONS: Table = TableDefinition::new("user_sessions");
/// Authorization codes, by digest.
pub const CODES: Table = TableDefinition::new("codes");
/// Grants (token families), by id.
pub const GRANTS: Table = TableDefinition::new("grants");
/// `sid` + U+001F + grant id, with an empty value: the grants of a browser session.
pub const SID_GRANTS: Table = TableDefinition::new("sid_grants");
/// Subject + U+001F + grant id, with an empty value: the grants issued to a user.
pub const USER_GRANTS: Table = TableDefinition::new("user_grants");
/// Refresh tokens, by digest.
pub const REFRESH_TOKENS: Table = TableDefinition::new("refresh_tokens");
/// Revoked access-token ids, kept until the token would have expired anyway.
pub const DENIED_JTIS: Table = TableDefinition::new("denied_jtis");
/// Remembered consents, by `subject` + U+001F + `client_id`.
pub const CONSENTS: Table = TableDefinition::new("consents");

/// Upstream identities linked to local users, by `upstream` + U+001F + upstream subject.
pub const UPSTREAM_LINKS: Table = TableDefinition::new("upstream_links");
/// The same links by `subject` + U+001F + `upstream` + U+001F + upstream subject, to list and
/// remove a user's links.
pub const USER_LINKS: Table = TableDefinition::new("user_links");
/// Sign-ins sent to an upstream and not yet back, by digest of their `state`.
pub const UPSTREAM_STATES: Table = TableDefinition::new("upstream_states");

/// Passkeys by credential id.
pub const PASSKEYS: Table = TableDefinition::new("passkeys");
/// Subject + U+001F + credential id, with an empty value: a user's passkeys.
pub const USER_PASSKEYS: Table = TableDefinition::new("user_passkeys");
/// Confirmed TOTP factors by subject.
pub const TOTP: Table = TableDefinition::new("totp");
/// Unused recovery codes by subject.
pub const RECOVERY_CODES: Table = TableDefinition::new("recovery_codes");
/// Ceremonies in progress (WebAuthn challenges, sign-ins waiting for a second factor, TOTP
/// enrolments), by digest of the value the browser holds.
pub const CEREMONIES: Table = TableDefinition::new("ceremonies");
/// One-time invitations, by digest.
pub const INVITATIONS: Table = TableDefinition::new("invitations");
/// Domain-scoped forward-auth cookies, by digest; each names the session it stands for.
pub const FORWARD_AUTH_SESSIONS: Table = TableDefinition::new("forward_auth_sessions");

/// `{expires_at:020}` + U+001F + table name + U+001F + key, with an empty value: every row of
/// an expiring table by the second it expires, so the purge reads only what is due.
pub const EXPIRIES: Table = TableDefinition::new("expiries");

/// The audit feed, by a key that sorts by time (`{seconds:020}-{random}`).
pub const AUDIT: Table = TableDefinition::new("audit");

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
