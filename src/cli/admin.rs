//! The administrative subcommands: each becomes its typed command (`service::admin`), which runs
//! through a running server's admin socket, or on the data file when no server holds it, and its
//! answer is printed.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use super::print::{Report, print_output};
use super::{CliError, ClientCommand, Command, KeysCommand, LinkArgs, Output, UserCommand};
use crate::admin_socket;
use crate::clock::Clock;
use crate::config::{self, Config, Overrides};
use crate::domain::NewUser;
use crate::service::App;
use crate::service::admin::{self as cmd, Actor, execute_as};
use crate::service::clients::{ClientUpdate, NewClient};
use crate::service::users::ListUsers;
use crate::store::{Store, StoreError};

/// Runs one administrative subcommand and prints its answer.
pub(super) async fn run(config_path: Option<&Path>, command: Command) -> Result<(), CliError> {
    let c = config_path;
    match command {
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
                admin(c, cmd::UserAdd { user, password }, out).await
            }
            UserCommand::List {
                search,
                limit,
                after,
                out,
            } => {
                let query = ListUsers { search, after, limit };
                admin(c, cmd::UserList { query }, out).await
            }
            UserCommand::Show { user, out } => admin(c, cmd::UserShow { user }, out).await,
            UserCommand::Passwd {
                user,
                password_stdin,
                out,
            } => {
                let password = read_password(password_stdin, true)?;
                admin(c, cmd::UserPasswd { user, password }, out).await
            }
            UserCommand::Disable { user, out } => {
                admin(c, cmd::UserSetDisabled { user, disabled: true }, out).await
            }
            UserCommand::Enable { user, out } => {
                let command = cmd::UserSetDisabled {
                    user,
                    disabled: false,
                };
                admin(c, command, out).await
            }
            UserCommand::Delete { user, out } => admin(c, cmd::UserDelete { user }, out).await,
            UserCommand::Links { user, out } => admin(c, cmd::LinksList { user }, out).await,
            UserCommand::Link(LinkArgs {
                user,
                upstream,
                subject,
                out,
            }) => {
                let command = cmd::LinkAdd {
                    user,
                    upstream,
                    subject,
                };
                admin(c, command, out).await
            }
            UserCommand::Unlink(LinkArgs {
                user,
                upstream,
                subject,
                out,
            }) => {
                let command = cmd::LinkRemove {
                    user,
                    upstream,
                    subject,
                };
                admin(c, command, out).await
            }
            UserCommand::Invite {
                username,
                email,
                email_verified,
                name,
                groups,
                expires_in,
                out,
            } => {
                let user = NewUser {
                    username,
                    name,
                    email,
                    email_verified,
                    groups,
                };
                let command = cmd::UserInvite {
                    user,
                    expires_in_hours: expires_in,
                };
                admin(c, command, out).await
            }
            UserCommand::ResetFactors { user, out } => admin(c, cmd::UserResetFactors { user }, out).await,
        },
        Command::Client(cc) => match cc {
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
                require_factors,
                allowed_groups,
                launch_url,
                icon,
                out,
            } => {
                let client = NewClient {
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
                    require_factors,
                    allowed_groups,
                    launch_url,
                    icon,
                };
                admin(c, cmd::ClientAdd { client }, out).await
            }
            ClientCommand::Update {
                client_id,
                name,
                require_factors,
                allowed_groups,
                all_groups,
                launch_url,
                icon,
                out,
            } => {
                let change = ClientUpdate {
                    name,
                    require_factors,
                    allowed_groups: (all_groups || !allowed_groups.is_empty()).then_some(allowed_groups),
                    launch_url,
                    icon,
                    ..ClientUpdate::default()
                };
                admin(c, cmd::ClientUpdate { client_id, change }, out).await
            }
            ClientCommand::List { out } => admin(c, cmd::ClientList {}, out).await,
            ClientCommand::Show { client_id, out } => admin(c, cmd::ClientShow { client_id }, out).await,
            ClientCommand::Delete { client_id, out } => admin(c, cmd::ClientDelete { client_id }, out).await,
            ClientCommand::RotateSecret { client_id, out } => {
                admin(c, cmd::ClientRotateSecret { client_id }, out).await
            }
            ClientCommand::HashSecret => Err(CliError::Usage("hash-secret runs locally".into())),
        },
        Command::Keys(KeysCommand::List { out }) => admin(c, cmd::KeysList {}, out).await,
        Command::Keys(KeysCommand::Rotate { out }) => admin(c, cmd::KeysRotate {}, out).await,
        Command::Backup { file, out } => {
            let path = absolute(&file)?;
            admin(c, cmd::Backup { path }, out).await
        }
        Command::Serve(_)
        | Command::CheckConfig
        | Command::Access(_)
        | Command::Maintenance(_)
        | Command::Store(_) => Err(CliError::Usage("not an administrative command".into())),
    }
}

/// Loads the configuration for an administrative command, runs `command` and prints its answer.
async fn admin<C>(config_path: Option<&Path>, command: C, out: Output) -> Result<(), CliError>
where
    C: cmd::Command,
    C::Output: Report,
{
    let config = config::load_for_admin(config_path, &Overrides::from_env())?;
    let data_file = std::path::absolute(&config.data)?;
    let output = run_admin(config, command).await?;
    print_output(&output, out, &data_file)
}

/// Runs an administrative command through a running server's socket, or on the data file.
pub async fn run_admin<C: cmd::Command>(config: Config, command: C) -> Result<C::Output, CliError> {
    if config.store != config::StoreConfig::Redb {
        // Every node shares the database, which takes writes from any number of processes: the
        // command works on it directly, with or without a running node.
        let store = crate::service::open_store(crate::service::store_location(&config)).await?;
        let app = App::new(store, config, Clock::System).map_err(crate::service::ServiceError::from)?;
        return Ok(execute_as(&app, &Actor::cli(), command).await?);
    }
    let socket = admin_socket::socket_path(&config.data);
    if let Some(stream) = admin_socket::connect(&socket).await {
        return Ok(admin_socket::call(stream, command).await?);
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
    let app = App::new(store, config, Clock::System).map_err(crate::service::ServiceError::from)?;
    Ok(execute_as(&app, &Actor::cli(), command).await?)
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

pub(super) fn read_stdin_line() -> Result<String, CliError> {
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
