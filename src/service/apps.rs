//! The app launcher (`/apps`): the applications a signed-in user may open, for the page to list:
//! the OAuth/OpenID Connect clients that declare a `launch_url` and admit the user (their
//! `allowed_groups`), and the hosts behind the proxy that the forward-auth rules let them open.

use std::net::IpAddr;

use super::{App, ServiceError, blocking};
use crate::domain::{Client, User};

/// One entry of the launcher: what to call it, where to go, and its picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLink {
    pub name: String,
    /// An absolute URL, checked at registration (`domain::LaunchUrl`).
    pub url: String,
    /// An https or `data:image/...` URL, checked at registration (`domain::ClientIcon`).
    pub icon: Option<String>,
}

/// What the launcher shows a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Launcher {
    /// The clients the user may use that declare a `launch_url`, sorted by name.
    pub clients: Vec<AppLink>,
    /// The hosts a forward-auth rule names exactly whose front page the user may open (or may
    /// after adding a second factor), in the order of the rules.
    pub domains: Vec<AppLink>,
}

/// The launcher of `user` (coming from `ip`): every client with a `launch_url` that admits
/// them, by name (case-insensitively, then exactly, so the order is stable), and the protected
/// hosts the forward-auth rules let them open.
pub async fn launcher(app: &App, user: &User, ip: IpAddr) -> Result<Launcher, ServiceError> {
    let scheme = match &app.config.forward_auth {
        Some(rules) if !rules.require_https => "http",
        _ => "https",
    };
    let domains = super::forward_auth::launchable(app, user, ip)
        .into_iter()
        .map(|host| AppLink {
            url: format!("{scheme}://{host}/"),
            name: host,
            icon: None,
        })
        .collect();
    let store = app.store.clone();
    let user = user.clone();
    blocking(move || {
        let clients = store.read(|tx| tx.clients())?;
        Ok(Launcher {
            clients: client_links(&clients, &user),
            domains,
        })
    })
    .await
}

/// The pure part of [`launcher`]: which clients are listed for `user`, in which order.
fn client_links(clients: &[Client], user: &User) -> Vec<AppLink> {
    let mut links: Vec<AppLink> = clients
        .iter()
        .filter(|c| c.admits(user))
        .filter_map(|c| {
            Some(AppLink {
                name: c.name.clone(),
                url: c.launch_url.as_ref()?.to_string(),
                icon: c.icon.as_ref().map(|i| i.as_str().to_owned()),
            })
        })
        .collect();
    links.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then_with(|| a.name.cmp(&b.name))
    });
    links
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientIcon, LaunchUrl, Subject, Timestamp, Username};

    fn client(name: &str, launch: Option<&str>, groups: &[&str]) -> Client {
        let mut c = crate::service::clients::docs_client("https://id.example.com").unwrap();
        c.name = name.to_owned();
        c.launch_url = launch.map(|u| LaunchUrl::parse(u).unwrap());
        c.allowed_groups = groups.iter().map(|g| (*g).to_owned()).collect();
        c
    }

    fn user_in(groups: &[&str]) -> User {
        User {
            subject: Subject::from_string("u".into()),
            username: Username::parse("alice").unwrap(),
            name: None,
            email: None,
            email_verified: false,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            disabled: false,
            password_hash: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn the_launcher_lists_clients_with_a_launch_url_that_admit_the_user_by_name() {
        let mut wiki = client("wiki", Some("https://wiki.example.com/"), &[]);
        wiki.icon = Some(ClientIcon::parse("https://wiki.example.com/icon.png").unwrap());
        let clients = vec![
            client("Zebra", Some("https://zebra.example.com/"), &[]),
            wiki,
            client("Grafana", Some("https://grafana.example.com/"), &["staff"]),
            client("No link", None, &[]),
            client("Vault", Some("https://vault.example.com/"), &["ops"]),
        ];
        let names =
            |u: &User| -> Vec<String> { client_links(&clients, u).into_iter().map(|l| l.name).collect() };
        assert_eq!(names(&user_in(&["staff"])), ["Grafana", "wiki", "Zebra"]);
        assert_eq!(names(&user_in(&[])), ["wiki", "Zebra"]);
        assert_eq!(
            names(&user_in(&["ops", "staff"])),
            ["Grafana", "Vault", "wiki", "Zebra"]
        );
        let wiki = &client_links(&clients, &user_in(&[]))[0];
        assert_eq!(
            (wiki.url.as_str(), wiki.icon.as_deref()),
            (
                "https://wiki.example.com/",
                Some("https://wiki.example.com/icon.png")
            )
        );
        assert!(client_links(&[], &user_in(&[])).is_empty());
    }
}
