//! The admin console (`/admin`), in process: who may open it, the form tokens of its forms, and
//! each area's pages. `console()` is a server with an administrator `root` signed in; `alice`
//! (from [`InProc::new`]) is not an administrator.

mod access;
mod audit;
mod clients;
mod dashboard;
mod groups;
mod keys;
mod sessions;
mod users;

use latchkey::domain::NewUser;

use crate::inproc::{InProc, PASSWORD, Reply};

/// The administrator of these tests.
pub const ROOT: &str = "root";

/// A server with `root` (in `admins`) added, and this browser signed in as `root`.
pub async fn console() -> InProc {
    console_with("").await
}

/// Like [`console`], with `extra` TOML in the configuration.
pub async fn console_with(extra: &str) -> InProc {
    let mut ip = InProc::new(extra).await;
    let root = NewUser {
        username: ROOT.into(),
        name: Some("Root Admin".into()),
        email: Some("root@example.com".into()),
        email_verified: true,
        groups: vec!["admins".into()],
    };
    latchkey::service::users::add(&ip.app, root, Some(PASSWORD.into()))
        .await
        .unwrap();
    sign_in(&mut ip, ROOT).await;
    ip
}

/// Signs this browser in as `username` through the sign-in page, returning to `/admin`.
pub async fn sign_in(ip: &mut InProc, username: &str) {
    let page = ip.get("/login?return_to=%2Fadmin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let signed = ip.login_from(&page, username, PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location(), "/admin");
}

/// A console page's form token (every console page has forms).
pub fn csrf(page: &Reply) -> String {
    page.field("csrf")
}

/// Posts `pairs` with the form token of `page`.
pub async fn post_from(ip: &mut InProc, page: &Reply, uri: &str, pairs: &[(&str, &str)]) -> Reply {
    let token = csrf(page);
    let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
    all.extend_from_slice(pairs);
    ip.post(uri, &all).await
}
