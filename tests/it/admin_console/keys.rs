//! `/admin/keys`: the keys with their ages; rotation asks for a fresh sign-in, is audited as the
//! administrator, and shows the old key's retirement date.

use super::{ROOT, console, post_from};

#[tokio::test]
async fn the_keys_page_lists_the_key_and_rotation_names_the_old_keys_retirement() {
    let mut ip = console().await;
    let page = ip.get("/admin/keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let before = latchkey::service::keys::list(&ip.app).await.unwrap();
    assert!(page.body.contains(&before[0].kid), "{}", page.body);
    assert!(page.body.contains("Signs new tokens"), "{}", page.body);
    assert!(
        page.body.contains(r#"aria-current="page">Signing keys"#),
        "{}",
        page.body
    );

    let rotated = post_from(&mut ip, &page, "/admin/keys/rotate", &[]).await;
    assert_eq!(rotated.status, 303, "{}", rotated.body);
    assert_eq!(rotated.location(), "/admin/keys?rotated=1");
    let after = ip.get("/admin/keys?rotated=1").await;
    assert!(after.body.contains("The old key"), "{}", after.body);
    assert!(after.body.contains(&before[0].kid), "{}", after.body);
    assert!(
        after.body.contains("Published until it retires"),
        "{}",
        after.body
    );

    let feed = latchkey::service::audit::list(&ip.app, None, None).await.unwrap();
    let entry = feed
        .items
        .iter()
        .find(|e| e.action == "keys.rotate")
        .expect("audited");
    assert_eq!(entry.actor, ROOT);
    assert!(entry.success);
}

#[tokio::test]
async fn rotation_after_a_stale_sign_in_asks_for_a_fresh_one_first() {
    let mut ip = console().await;
    let page = ip.get("/admin/keys").await;
    ip.advance(60 * 60);
    let stale = post_from(&mut ip, &page, "/admin/keys/rotate", &[]).await;
    assert_eq!(stale.status, 303, "{}", stale.body);
    assert_eq!(stale.location(), "/login?return_to=%2Fadmin%2Fkeys&fresh=1");
    assert_eq!(latchkey::service::keys::list(&ip.app).await.unwrap().len(), 1);
}
