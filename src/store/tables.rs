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
/// Clients by client id.
pub const CLIENTS: Table = TableDefinition::new("clients");
/// Signing key pairs by kid.
pub const SIGNING_KEYS: Table = TableDefinition::new("signing_keys");
/// First-administrator setup tokens, by digest.
pub const SETUP_TOKENS: Table = TableDefinition::new("setup_tokens");

/// All tables, for creation at open and for backup.
pub const ALL: [Table; 6] = [META, USERS, USERNAMES, CLIENTS, SIGNING_KEYS, SETUP_TOKENS];

/// The key in [`META`] that holds the schema version as a decimal string.
pub const SCHEMA_VERSION_KEY: &str = "schema_version";
