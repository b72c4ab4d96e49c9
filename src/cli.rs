//! The command line: `serve`, `check-config`, and the user, client, key and backup commands.
//!
//! Administrative commands reach a running server through its admin socket, or open the data
//! file themselves when no server holds it. Either way they run `service::admin::execute`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::admin_socket;
use crate::clock::Clock;
use crate::config::{self, Config, Overrides};
use crate::domain::{GrantType, IdTokenAlg, NewUser};
use crate::service::admin::{Actor, AdminRequest, AdminResponse, execute_as};
use crate::service::clients::{NewClient, digest_text};
use crate::service::upstream::LinkView;
use crate::service::users::ListUsers;
use crate::service::views::{ClientCreated, ClientView, KeyView, UserView};
use crate::service::{App, ServiceError};
use crate::store::{Store, StoreError, files};

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
    /// Write a consistent copy of the data file to FILE, even while the server runs.
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
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
            crate::server::init_logging(cli.log_format);
            crate::server::run(config, args).await
        }
        Command::CheckConfig => {
            let config = config::load(config_path.as_deref(), &Overrides::from_env())?;
            let exposed = files::exposure(&config.data);
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
            println!(
                "{}: ok (issuer {}, listen {}, data {}, {} declared client{})",
                config.origin,
                config.issuer,
                config.listen,
                config.data.display(),
                config.clients.len(),
                if config.clients.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
        Command::Client(ClientCommand::HashSecret) => {
            let secret = read_stdin_line()?;
            if secret.len() < 32 {
                return Err(CliError::Usage(
                    "the secret must have at least 32 characters".into(),
                ));
            }
            println!("{}", digest_text(&secret));
            Ok(())
        }
        other => {
            let (request, out) = admin_request(other)?;
            let config = config::load_for_admin(config_path.as_deref(), &Overrides::from_env())?;
            let data_file = std::path::absolute(&config.data)?;
            let response = run_admin(config, request).await?;
            print_response(&response, out, &data_file)
        }
    }
}

fn admin_request(command: Command) -> Result<(AdminRequest, Output), CliError> {
    use AdminRequest as R;
    Ok(match command {
        Command::User(u) => match u {
            UserCommand::Add {
                username,
                email,
                email_verified,
                name,
                groups,
                password_stdin,
                no_password,
                out,
            } => {
                let password = if no_password {
                    None
                } else {
                    Some(read_password(password_stdin, true)?)
                };
                let user = NewUser {
                    username,
                    name,
                    email,
                    email_verified,
                    groups,
                };
                (R::UserAdd { user, password }, out)
            }
            UserCommand::List {
                search,
                limit,
                after,
                out,
            } => (
                R::UserList {
                    query: ListUsers { search, after, limit },
                },
                out,
            ),
            UserCommand::Show { user, out } => (R::UserShow { user }, out),
            UserCommand::Passwd {
                user,
                password_stdin,
                out,
            } => {
                let password = read_password(password_stdin, true)?;
                (R::UserPasswd { user, password }, out)
            }
            UserCommand::Disable { user, out } => (R::UserSetDisabled { user, disabled: true }, out),
            UserCommand::Enable { user, out } => (
                R::UserSetDisabled {
                    user,
                    disabled: false,
                },
                out,
            ),
            UserCommand::Delete { user, out } => (R::UserDelete { user }, out),
            UserCommand::Links { user, out } => (R::LinksList { user }, out),
            UserCommand::Link(LinkArgs {
                user,
                upstream,
                subject,
                out,
            }) => (
                R::LinkAdd {
                    user,
                    upstream,
                    subject,
                },
                out,
            ),
            UserCommand::Unlink(LinkArgs {
                user,
                upstream,
                subject,
                out,
            }) => (
                R::LinkRemove {
                    user,
                    upstream,
                    subject,
                },
                out,
            ),
        },
        Command::Client(c) => match c {
            ClientCommand::Add {
                client_id,
                redirect_uris,
                public,
                grants,
                scopes,
                name,
                first_party,
                no_pkce,
                require_pkce,
                allow_http_localhost,
                resources,
                id_token_alg,
                post_logout_redirect_uris,
                backchannel_logout_uri,
                refresh_without_offline_access,
                out,
            } => (
                R::ClientAdd {
                    client: NewClient {
                        client_id,
                        name,
                        redirect_uris,
                        public,
                        grant_types: grants,
                        scopes,
                        first_party,
                        require_pkce: match (no_pkce, require_pkce) {
                            (true, _) => Some(false),
                            (false, true) => Some(true),
                            (false, false) => None,
                        },
                        id_token_signed_response_alg: id_token_alg,
                        post_logout_redirect_uris,
                        backchannel_logout_uri,
                        refresh_without_offline_access,
                        allow_http_localhost,
                        resources,
                    },
                },
                out,
            ),
            ClientCommand::List { out } => (R::ClientList, out),
            ClientCommand::Show { client_id, out } => (R::ClientShow { client_id }, out),
            ClientCommand::Delete { client_id, out } => (R::ClientDelete { client_id }, out),
            ClientCommand::RotateSecret { client_id, out } => (R::ClientRotateSecret { client_id }, out),
            ClientCommand::HashSecret => {
                return Err(CliError::Usage("hash-secret runs locally".into()));
            }
        },
        Command::Keys(KeysCommand::List { out }) => (R::KeysList, out),
        Command::Keys(KeysCommand::Rotate { out }) => (R::KeysRotate, out),
        Command::Backup { file, out } => {
            let path = absolute(&file)?;
            (R::Backup { path }, out)
        }
        Command::Serve(_) | Command::CheckConfig => {
            return Err(CliError::Usage("not an administrative command".into()));
        }
    })
}

/// Runs an administrative request through a running server's socket, or on the data file.
pub async fn run_admin(config: Config, request: AdminRequest) -> Result<AdminResponse, CliError> {
    let socket = admin_socket::socket_path(&config.data);
    if let Some(stream) = admin_socket::connect(&socket).await {
        return Ok(admin_socket::call(stream, &request).await?);
    }
    // Only `serve` may make a data file where none was configured: run elsewhere, a command
    // would otherwise create a fresh ./data/identity.redb there and change a file nobody serves.
    if !config.data_named && !config.data.exists() {
        return Err(CliError::Usage(no_data_file(&config)));
    }
    let store = match Store::open(&config.data) {
        Ok(store) => store,
        Err(StoreError::AlreadyOpen { path }) => {
            return Err(CliError::Usage(format!(
                "the data file {} is held by another process, and no server answers on its admin socket {}",
                path.display(),
                socket.display()
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let app = App::new(store, config, Clock::System).map_err(ServiceError::from)?;
    Ok(execute_as(&app, &Actor::cli(), request).await?)
}

/// Why an administrative command found no data file, where it looked and how to point it at one.
fn no_data_file(config: &Config) -> String {
    let path = std::path::absolute(&config.data).unwrap_or_else(|_| config.data.clone());
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "the current directory".into());
    format!(
        "no data file at {}: no configuration file was found (neither --config nor LATCHKEY_CONFIG was given, and there is no ./{} in {cwd}), so the built-in default's data path, relative to the current directory, was tried. Run the command in the directory of your identity.toml, pass --config PATH/identity.toml, or set LATCHKEY_DATA to the data file. Only `latchkey serve` makes a new data file there.",
        path.display(),
        config::DEFAULT_PATH,
    )
}

fn absolute(path: &Path) -> Result<PathBuf, CliError> {
    Ok(if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()?.join(path)
    })
}

fn read_stdin_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

fn read_password(from_stdin: bool, confirm: bool) -> Result<String, CliError> {
    if from_stdin {
        return read_stdin_line();
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "standard input is not a terminal: pass --password-stdin to read the password from it".into(),
        ));
    }
    let first = rpassword::prompt_password("Password: ")?;
    if confirm {
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            return Err(CliError::Usage("the passwords do not match".into()));
        }
    }
    Ok(first)
}

fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(())
}

/// Prints `response` for a person, or as one JSON document with `--json`. Either way the data
/// file used is named: as a `data_file` field added to a JSON object, otherwise on standard
/// error (a JSON list has no room for it).
fn print_response(response: &AdminResponse, out: Output, data_file: &Path) -> Result<(), CliError> {
    if out.json {
        let value = json_of(response)?;
        return match value {
            serde_json::Value::Object(mut fields) => {
                fields
                    .entry("data_file")
                    .or_insert_with(|| data_file.display().to_string().into());
                print_json(&fields)
            }
            other => {
                eprintln!("data file: {}", data_file.display());
                print_json(&other)
            }
        };
    }
    eprintln!("data file: {}", data_file.display());
    print_text(response)
}

fn json_of(response: &AdminResponse) -> Result<serde_json::Value, CliError> {
    use AdminResponse as A;
    let value =
        |v: Result<serde_json::Value, serde_json::Error>| v.map_err(|e| CliError::Usage(e.to_string()));
    value(match response {
        A::User(v) => serde_json::to_value(v),
        A::Users(v) => serde_json::to_value(v),
        A::Client(v) => serde_json::to_value(v),
        A::ClientCreated(v) => serde_json::to_value(v),
        A::Clients(v) => serde_json::to_value(v),
        A::Key(v) => serde_json::to_value(v),
        A::Keys(v) => serde_json::to_value(v),
        A::Backup(v) => serde_json::to_value(v),
        A::Sessions(v) => serde_json::to_value(v),
        A::Consents(v) => serde_json::to_value(v),
        A::Audit(v) => serde_json::to_value(v),
        A::Links(v) => serde_json::to_value(v),
        A::Link(v) => serde_json::to_value(v),
        A::Done { count } => Ok(serde_json::json!({ "count": count })),
    })
}

fn print_text(response: &AdminResponse) -> Result<(), CliError> {
    use AdminResponse as A;
    let mut o = std::io::stdout().lock();
    match response {
        A::User(u) => write_user(&mut o, u)?,
        A::Users(page) => {
            for u in &page.items {
                let flags = if u.disabled { " (disabled)" } else { "" };
                writeln!(
                    o,
                    "{:<24} {:<24} {}{}",
                    u.username,
                    u.subject,
                    u.email.as_deref().unwrap_or("-"),
                    flags
                )?;
            }
            if let Some(next) = &page.next {
                writeln!(o, "(more: --after {next})")?;
            }
        }
        A::Client(c) => write_client(&mut o, c)?,
        A::ClientCreated(ClientCreated {
            client,
            client_secret,
        }) => {
            write_client(&mut o, client)?;
            if let Some(secret) = client_secret {
                writeln!(o, "client_secret: {secret}")?;
                writeln!(o, "(shown only now: store it safely)")?;
            }
        }
        A::Clients(list) => {
            for c in list {
                let kind = if c.public { "public" } else { "confidential" };
                writeln!(o, "{:<24} {:<13} {:?} {}", c.client_id, kind, c.source, c.name)?;
            }
        }
        A::Key(k) => write_key(&mut o, k)?,
        A::Keys(list) => {
            for k in list {
                write_key(&mut o, k)?;
            }
        }
        A::Backup(b) => {
            writeln!(o, "wrote a checked backup to {}", b.path.display())?;
            for (table, rows) in &b.tables.0 {
                writeln!(o, "  {table}: {rows} rows")?;
            }
        }
        A::Sessions(list) => {
            for sess in list {
                writeln!(
                    o,
                    "{} auth_time={} expires_at={}",
                    sess.sid, sess.auth_time, sess.expires_at
                )?;
            }
        }
        A::Consents(list) => {
            for c in list {
                writeln!(o, "{:<24} {}", c.client_id, c.scopes.join(" "))?;
            }
        }
        A::Audit(page) => {
            for e in &page.items {
                let outcome = if e.success { "ok" } else { "refused" };
                let target = e.target.as_deref().unwrap_or("-");
                writeln!(
                    o,
                    "{} {:<24} {:<20} {} {}",
                    e.time, e.action, e.actor, target, outcome
                )?;
            }
        }
        A::Links(list) => {
            for l in list {
                write_link(&mut o, l)?;
            }
        }
        A::Link(l) => write_link(&mut o, l)?,
        A::Done { count } => writeln!(o, "done ({count})")?,
    }
    Ok(())
}

fn write_user(o: &mut impl Write, u: &UserView) -> std::io::Result<()> {
    writeln!(o, "username:       {}", u.username)?;
    writeln!(o, "subject:        {}", u.subject)?;
    writeln!(o, "name:           {}", u.name.as_deref().unwrap_or("-"))?;
    writeln!(o, "email:          {}", u.email.as_deref().unwrap_or("-"))?;
    writeln!(o, "email_verified: {}", u.email_verified)?;
    writeln!(o, "groups:         {}", u.groups.join(", "))?;
    writeln!(o, "disabled:       {}", u.disabled)?;
    writeln!(o, "has_password:   {}", u.has_password)
}

fn write_client(o: &mut impl Write, c: &ClientView) -> std::io::Result<()> {
    writeln!(o, "client_id:     {}", c.client_id)?;
    writeln!(o, "name:          {}", c.name)?;
    writeln!(
        o,
        "type:          {}",
        if c.public { "public" } else { "confidential" }
    )?;
    writeln!(o, "redirect_uris: {}", c.redirect_uris.join(" "))?;
    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
    writeln!(o, "grant_types:   {}", grants.join(" "))?;
    writeln!(o, "scopes:        {}", c.scopes.join(" "))?;
    writeln!(o, "first_party:   {}", c.first_party)?;
    let pkce = match c.require_pkce {
        Some(true) => "always",
        Some(false) => "never (legacy)",
        None => "server default",
    };
    writeln!(o, "require_pkce:  {pkce}")?;
    if c.allow_http_localhost {
        writeln!(o, "allow_http_localhost: true")?;
    }
    if !c.resources.is_empty() {
        writeln!(o, "resources:     {}", c.resources.join(" "))?;
    }
    writeln!(o, "source:        {:?}", c.source)
}

fn write_link(o: &mut impl Write, l: &LinkView) -> std::io::Result<()> {
    let used = l
        .last_used
        .map(|t| t.0.to_string())
        .unwrap_or_else(|| "never".into());
    writeln!(
        o,
        "{:<16} {:<40} linked_at={} last_used={used}",
        l.upstream, l.upstream_subject, l.linked_at.0
    )
}

fn write_key(o: &mut impl Write, k: &KeyView) -> std::io::Result<()> {
    let retire = k.retire_at.map(|t| format!(" retire_at={t}")).unwrap_or_default();
    writeln!(
        o,
        "{} {} {:?} created_at={}{}",
        k.kid, k.alg, k.status, k.created_at, retire
    )
}
