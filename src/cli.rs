//! The command line: `serve`, `check-config`, `access explain`, and the user, client, key and
//! backup commands.
//!
//! Administrative commands reach a running server through its admin socket, or open the data
//! file themselves when no server holds it. Either way they run `service::admin::execute_as` with
//! the command's typed struct (see [`admin`]), and [`print`] shows its typed answer.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

use crate::config::{self, Overrides};
use crate::domain::{GrantType, IdTokenAlg};
use crate::server::ServeError;
use crate::service::ServiceError;
use crate::service::clients::digest_text;
use crate::store::{StoreError, files};

mod access;
mod admin;
mod maintenance;
mod print;
mod store_copy;

pub use admin::run_admin;

/// Latchkey: an OAuth 2.0 / OpenID Connect identity server in one binary.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about, long_about = None)]
pub struct Cli {
    /// The configuration file [default: ./identity.toml, or the built-in example if absent].
    #[arg(long, global = true, env = "LATCHKEY_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "LATCHKEY_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(ServeArgs),
    /// Validate the configuration and report every problem.
    CheckConfig,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth 2.0 clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Forward-auth access rules.
    #[command(subcommand)]
    Access(AccessCommand),
    /// Write a consistent copy of the data file to FILE, even while the server runs.
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// Move the store between engines (a redb file and PostgreSQL).
    #[command(subcommand)]
    Store(StoreCommand),
    /// Benchmark tools that work on a stopped server's data file (bench/scale); not for
    /// production use, so hidden from the help.
    #[command(subcommand, hide = true)]
    Maintenance(maintenance::MaintenanceCommand),
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy a whole store into a new one, with every server on it stopped: a redb file
    /// (its path) or a PostgreSQL database (a postgres:// URL), either way. The copy is checked
    /// (row counts and sampled rows) and keeps the issuer's keys, secrets and tokens working.
    Copy {
        /// The store to copy: a redb file's path or a postgres:// URL.
        #[arg(long)]
        from: String,
        /// The new store: a path where no file is yet, or a postgres:// URL whose schema is empty.
        #[arg(long)]
        to: String,
        /// The PostgreSQL schema on either side.
        #[arg(long, default_value = "latchkey")]
        schema: String,
        #[command(flatten)]
        out: Output,
    },
}

/// Options of `serve`.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ServeArgs {
    /// Start even when group or others can read the data file or its directory, with a loud
    /// warning. Without it such a data file is refused: it holds the signing keys.
    #[arg(long, env = "LATCHKEY_ALLOW_READABLE_DATA")]
    pub allow_readable_data: bool,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// Print one JSON document on standard output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is asked for without echo, or read from standard input.
    Add {
        /// The username (unique, compared case-insensitively).
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Mark the email address as verified.
        #[arg(long)]
        email_verified: bool,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// A group to add the user to (repeatable). Members of `admins` may use the admin API.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// Create the user without a password (they cannot sign in with one).
        #[arg(long)]
        no_password: bool,
        #[command(flatten)]
        out: Output,
    },
    /// List users.
    List {
        /// Only users whose username, name or email contains this text.
        #[arg(long)]
        search: Option<String>,
        /// At most this many users (default and maximum 500).
        #[arg(long)]
        limit: Option<usize>,
        /// Start after this cursor (the `next` of a previous page).
        #[arg(long)]
        after: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Show one user, by username or subject.
    Show {
        /// A username or subject. Subjects are random and may begin with '-', which is read as
        /// part of the value here rather than as an option.
        #[arg(allow_hyphen_values = true)]
        user: String,
        #[command(flatten)]
        out: Output,
    },
    /// Set a user's password.
    Passwd {
        /// A username or subject. Subjects are random and may begin with '-', which is read as
        /// part of the value here rather than as an option.
        #[arg(allow_hyphen_values = true)]
        user: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Stop a user from signing in.
    Disable {
        /// A username or subject. Subjects are random and may begin with '-', which is read as
        /// part of the value here rather than as an option.
        #[arg(allow_hyphen_values = true)]
        user: String,
        #[command(flatten)]
        out: Output,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// A username or subject. Subjects are random and may begin with '-', which is read as
        /// part of the value here rather than as an option.
        #[arg(allow_hyphen_values = true)]
        user: String,
        #[command(flatten)]
        out: Output,
    },
    /// Delete a user.
    Delete {
        /// A username or subject. Subjects are random and may begin with '-', which is read as
        /// part of the value here rather than as an option.
        #[arg(allow_hyphen_values = true)]
        user: String,
        #[command(flatten)]
        out: Output,
    },
    /// List the upstream identities ("Sign in with ...") linked to a user.
    Links {
        /// A username or subject.
        #[arg(allow_hyphen_values = true)]
        user: String,
        #[command(flatten)]
        out: Output,
    },
    /// Link an upstream identity to a user, so that it signs in as that user (for
    /// `link = "existing-only"` upstreams, or to move an identity).
    Link(LinkArgs),
    /// Remove a link: that upstream identity no longer signs in as the user.
    Unlink(LinkArgs),
    /// Invite a user: create them without a password and print a one-time link through which
    /// they choose one.
    Invite {
        /// The username (unique, compared case-insensitively).
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Mark the email address as verified.
        #[arg(long)]
        email_verified: bool,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// A group to add the user to (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// How long the link works, in hours (default 72, at most 720).
        #[arg(long)]
        expires_in: Option<u32>,
        #[command(flatten)]
        out: Output,
    },
    /// Remove a user's second factors (passkeys, TOTP, recovery codes), end their sessions and
    /// revoke their tokens, for someone who lost a factor.
    ResetFactors {
        /// A username or subject.
        #[arg(allow_hyphen_values = true)]
        user: String,
        #[command(flatten)]
        out: Output,
    },
}

/// A user and one upstream identity.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// A username or subject.
    #[arg(allow_hyphen_values = true)]
    user: String,
    /// The upstream's `name` in identity.toml.
    #[arg(long)]
    upstream: String,
    /// The identity's subject at the upstream (what its claim mapping's `subject` names).
    #[arg(long, allow_hyphen_values = true)]
    subject: String,
    #[command(flatten)]
    out: Output,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is generated and shown once.
    Add {
        client_id: String,
        /// An exact redirect URI (repeatable): https, or http://127.0.0.1 / http://[::1].
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A public client (no secret; PKCE always required).
        #[arg(long)]
        public: bool,
        /// An allowed grant type (repeatable): authorization_code, refresh_token,
        /// client_credentials, password [default: authorization_code and refresh_token].
        #[arg(long = "grant")]
        grants: Vec<GrantType>,
        /// An allowed scope (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Display name shown on the consent page.
        #[arg(long)]
        name: Option<String>,
        /// Skip the consent page for this client.
        #[arg(long)]
        first_party: bool,
        /// Never require PKCE (confidential clients only, for legacy apps that cannot send it).
        /// By default a confidential client needs PKCE unless its OpenID Connect request carries
        /// a nonce.
        #[arg(long, conflicts_with = "require_pkce")]
        no_pkce: bool,
        /// Require PKCE in every request of this confidential client, nonce or not.
        #[arg(long)]
        require_pkce: bool,
        /// Admit http://localhost redirect URIs (development only; matched exactly). Native apps
        /// should use http://127.0.0.1 on any port instead.
        #[arg(long)]
        allow_http_localhost: bool,
        /// A resource server (RFC 8707 resource indicator, an absolute https URI) the client may
        /// ask tokens for (repeatable).
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// How ID tokens are signed: EdDSA (default), Ed25519 or RS256.
        #[arg(long)]
        id_token_alg: Option<IdTokenAlg>,
        /// Where RP-initiated logout may redirect afterwards (repeatable, exact match).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Where to POST back-channel logout tokens.
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// Issue refresh tokens to OpenID Connect requests even without `offline_access`.
        #[arg(long)]
        refresh_without_offline_access: bool,
        /// How many factors a sign-in for this client needs: 1 (default) or 2 (a session without
        /// a second factor signs in again with one).
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        require_factors: Option<u8>,
        /// A group whose members may use the client (repeatable); without any, everyone may.
        #[arg(long = "allowed-group")]
        allowed_groups: Vec<String>,
        /// Where the app launcher (/apps) opens the client: an https URL (http only on
        /// localhost with --allow-http-localhost).
        #[arg(long)]
        launch_url: Option<String>,
        /// The client's picture on the app launcher: an https URL, or a data:image/png;base64,
        /// or data:image/svg+xml;base64, URL of at most 16 KiB.
        #[arg(long)]
        icon: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Change a client created with the CLI or the API (declared clients change in identity.toml).
    Update {
        client_id: String,
        /// Display name shown on the consent page.
        #[arg(long)]
        name: Option<String>,
        /// How many factors a sign-in for this client needs: 1 or 2.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        require_factors: Option<u8>,
        /// A group whose members may use the client (repeatable): replaces the list.
        #[arg(long = "allowed-group", conflicts_with = "all_groups")]
        allowed_groups: Vec<String>,
        /// Let every user use the client again (empties the allowed groups).
        #[arg(long)]
        all_groups: bool,
        /// Where the app launcher opens the client; "" removes it.
        #[arg(long)]
        launch_url: Option<String>,
        /// The client's picture on the app launcher; "" removes it.
        #[arg(long)]
        icon: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// List clients.
    List {
        #[command(flatten)]
        out: Output,
    },
    /// Show one client.
    Show {
        client_id: String,
        #[command(flatten)]
        out: Output,
    },
    /// Delete a client.
    Delete {
        client_id: String,
        #[command(flatten)]
        out: Output,
    },
    /// Generate a new secret for a confidential client; the old one stops working.
    RotateSecret {
        client_id: String,
        #[command(flatten)]
        out: Output,
    },
    /// Print the `secret_digest` of a secret read from standard input, for identity.toml.
    HashSecret,
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Say which `[[forward_auth.rule]]` a request to URL matches, and why, and what the proxy
    /// is told.
    Explain {
        /// The address the proxy asks about (https://app.example.test/path?query).
        url: String,
        /// The signed-in user (anonymous without it).
        #[arg(long)]
        user: Option<String>,
        /// The request's method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// The client's address (without it, rules with `networks` do not match).
        #[arg(long)]
        ip: Option<std::net::IpAddr>,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys.
    List {
        #[command(flatten)]
        out: Output,
    },
    /// Create a new signing key; the old one stays published until `keys.retire_after`.
    Rotate {
        #[command(flatten)]
        out: Output,
    },
}

/// A failure that ends the command, with the message for standard error.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Serve(#[from] ServeError),
}

/// Parses the command line, runs the command and maps every error to a message and exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // Store work runs on tokio's blocking pool. Its default of 512 threads lets a burst of
    // requests start hundreds of threads, each keeping its stack and allocator caches (a 64-client
    // benchmark measured 157 threads and 245 MB); a few per core keep the disk and CPU just as busy.
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads((4 * cores).max(8))
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<(), CliError> {
    let config_path = cli.config.clone();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => {
            let config = config::load(config_path.as_deref(), &Overrides::from_env())?;
            init_logging(cli.log_format);
            for w in &config.warnings {
                tracing::warn!(origin = %config.origin, "{w}");
            }
            Ok(crate::server::run(config, args.allow_readable_data).await?)
        }
        Command::CheckConfig => {
            let config = config::load(config_path.as_deref(), &Overrides::from_env())?;
            let exposed = match config.store {
                config::StoreConfig::Redb => files::exposure(&config.data),
                config::StoreConfig::Postgres(_) => Vec::new(),
            };
            if !exposed.is_empty() {
                return Err(CliError::Config(config::ConfigError {
                    origin: config.origin.clone(),
                    problems: exposed
                        .iter()
                        .map(|e| config::Problem {
                            line: None,
                            key: "data".into(),
                            message: format!("{e} (`serve` refuses to start)"),
                        })
                        .collect(),
                }));
            }
            for w in &config.warnings {
                eprintln!("{}: warning: {w}", config.origin);
            }
            let forward_auth = match &config.forward_auth {
                Some(fa) => format!(
                    ", forward-auth for {} with {} rule{}",
                    fa.cookie_domains.join(", "),
                    fa.rules.len(),
                    if fa.rules.len() == 1 { "" } else { "s" }
                ),
                None => String::new(),
            };
            let store = match &config.store {
                config::StoreConfig::Redb => format!("data {}", config.data.display()),
                config::StoreConfig::Postgres(p) => format!(
                    "data {} (its admin socket), store PostgreSQL schema `{}`",
                    config.data.display(),
                    p.schema
                ),
            };
            println!(
                "{}: ok (issuer {}, listen {}, {store}, {} declared client{}{forward_auth})",
                config.origin,
                config.issuer,
                config.listen,
                config.clients.len(),
                if config.clients.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
        Command::Client(ClientCommand::HashSecret) => {
            let secret = admin::read_stdin_line()?;
            if secret.len() < 32 {
                return Err(CliError::Usage(
                    "the secret must have at least 32 characters".into(),
                ));
            }
            println!("{}", digest_text(&secret));
            Ok(())
        }
        Command::Access(AccessCommand::Explain {
            url,
            user,
            method,
            ip,
            out,
        }) => access::explain(config_path.as_deref(), &url, user, &method, ip, out).await,
        Command::Maintenance(m) => maintenance::run(config_path.as_deref(), m).await,
        Command::Store(StoreCommand::Copy {
            from,
            to,
            schema,
            out,
        }) => {
            init_logging(cli.log_format);
            tokio::task::spawn_blocking(move || store_copy::run(&from, &to, &schema, out.json))
                .await
                .map_err(|e| CliError::Usage(format!("the copy stopped: {e}")))?
        }
        other => admin::run(config_path.as_deref(), other).await,
    }
}

/// Logs go to standard error, as text or JSON; `LATCHKEY_LOG` sets the filter (default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("LATCHKEY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
