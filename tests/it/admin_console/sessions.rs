//! `/admin/sessions`: every user's live sessions; ending one signs that browser out, after a
//! fresh sign-in.

use std::collections::BTreeMap;

use latchkey::service::admin::{Actor, SessionsList, execute_as};

use super::{console, post_from, sign_in};

#[tokio::test]
async fn ending_a_session_from_the_console_signs_that_browser_out() {
    let mut ip = console().await;
    let root = ip.switch_browser(BTreeMap::new());
    sign_in(&mut ip, "alice").await;
    assert_eq!(ip.get("/account").await.status, 200);
    let alice = ip.switch_browser(root);

    let page = ip.get("/admin/sessions").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let sessions = execute_as(&ip.app, &Actor::cli(), SessionsList { user: "alice".into() })
        .await
        .unwrap();
    let sid = sessions[0].sid.clone();
    assert!(
        page.body.contains(&format!(r#"data-sid="{sid}""#)),
        "{}",
        page.body
    );
    assert!(page.body.contains(">alice<"), "{}", page.body);
    assert!(page.body.contains("This browser"), "{}", page.body);

    let ended = post_from(
        &mut ip,
        &page,
        "/admin/sessions/revoke",
        &[("user", "alice"), ("sid", &sid)],
    )
    .await;
    assert_eq!(ended.status, 303, "{}", ended.body);
    assert_eq!(ended.location(), "/admin/sessions?revoked=alice");
    let after = ip.get("/admin/sessions?revoked=alice").await;
    assert!(!after.body.contains(&sid), "{}", after.body);

    ip.switch_browser(alice);
    let signed_out = ip.get("/account").await;
    assert_eq!(signed_out.status, 303, "{}", signed_out.body);
    assert!(
        signed_out.location().starts_with("/login"),
        "{}",
        signed_out.location()
    );
}

#[tokio::test]
async fn ending_a_session_after_a_stale_sign_in_asks_for_a_fresh_one_first() {
    let mut ip = console().await;
    let root = ip.switch_browser(BTreeMap::new());
    sign_in(&mut ip, "alice").await;
    let alice = ip.switch_browser(root);
    let page = ip.get("/admin/sessions").await;
    let sid = execute_as(&ip.app, &Actor::cli(), SessionsList { user: "alice".into() })
        .await
        .unwrap()[0]
        .sid
        .clone();
    ip.advance(3600);
    let stale = post_from(
        &mut ip,
        &page,
        "/admin/sessions/revoke",
        &[("user", "alice"), ("sid", &sid)],
    )
    .await;
    assert_eq!(stale.status, 303, "{}", stale.body);
    assert_eq!(stale.location(), "/login?return_to=%2Fadmin%2Fsessions&fresh=1");
    ip.switch_browser(alice);
    assert_eq!(ip.get("/account").await.status, 200, "still signed in");
}
