//! Who may open the console: a stranger is sent to sign in and back; a signed-in user outside
//! `admins` gets 403 on every console path, GET and POST; a POST without its form token is refused
//! before it acts.

use super::{console, csrf, sign_in};
use crate::inproc::InProc;

/// Console paths, existing or not: every one of them must refuse a non-administrator alike.
const PATHS: &[&str] = &[
    "/admin",
    "/admin/",
    "/admin/users",
    "/admin/users/alice",
    "/admin/groups",
    "/admin/clients",
    "/admin/clients/web",
    "/admin/sessions",
    "/admin/audit",
    "/admin/keys",
    "/admin/keys/rotate",
    "/admin/no-such-page",
];

#[tokio::test]
async fn a_stranger_is_sent_to_sign_in_and_comes_back_to_the_console() {
    let mut ip = InProc::new("").await;
    let first = ip.get("/admin/keys").await;
    assert_eq!(first.status, 303);
    assert_eq!(first.location(), "/login?return_to=%2Fadmin%2Fkeys");
    let posted = ip.post("/admin/keys/rotate", &[]).await;
    assert_eq!(posted.status, 303);
    assert_eq!(posted.location(), "/login?return_to=%2Fadmin");
}

#[tokio::test]
async fn a_user_outside_admins_gets_403_on_every_console_path() {
    let mut ip = InProc::new("").await;
    sign_in(&mut ip, "alice").await;
    for path in PATHS {
        let got = ip.get(path).await;
        assert_eq!(got.status, 403, "GET {path}: {}", got.body);
        assert!(got.body.contains("administrators"), "GET {path}: {}", got.body);
        let posted = ip.post(path, &[("confirm", "yes")]).await;
        assert_eq!(posted.status, 403, "POST {path}: {}", posted.body);
    }
    // Nothing was rotated: the refusal came before the page.
    let keys = latchkey::service::keys::list(&ip.app).await.unwrap();
    assert_eq!(keys.len(), 1);
}

#[tokio::test]
async fn a_post_without_its_form_token_is_refused_and_changes_nothing() {
    let mut ip = console().await;
    let page = ip.get("/admin/keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let missing = ip.post("/admin/keys/rotate", &[]).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    let wrong = ip.post("/admin/keys/rotate", &[("csrf", "forged")]).await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert_eq!(latchkey::service::keys::list(&ip.app).await.unwrap().len(), 1);
    let good = ip.post("/admin/keys/rotate", &[("csrf", &csrf(&page))]).await;
    assert_eq!(good.status, 303, "{}", good.body);
    assert_eq!(latchkey::service::keys::list(&ip.app).await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_administrator_with_a_second_factor_signed_in_without_it_signs_in_again() {
    let mut ip = console().await;
    // root enrols TOTP after signing in with a password only.
    let now = ip.app.clock.now();
    ip.app
        .store
        .write(|tx| {
            let root = tx.user_by_username_key(super::ROOT)?.expect("root exists");
            tx.put_totp(&latchkey::domain::TotpRecord {
                subject: root.subject,
                seed: "sealed-seed".into(),
                created_at: now,
                last_step: 0,
            })
        })
        .expect("the TOTP record is stored");
    let again = ip.get("/admin/users").await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(again.location(), "/login?return_to=%2Fadmin%2Fusers&fresh=1");
}
