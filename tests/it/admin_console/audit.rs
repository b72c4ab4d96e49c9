//! `/admin/audit`: the feed filtered by actor, action, outcome and dates, a page at a time.

use std::collections::BTreeMap;

use latchkey::service::audit;

use super::console;
use crate::inproc::InProc;

/// How many entries a page of the console shows.
fn rows(page: &crate::inproc::Reply) -> usize {
    page.body.matches("<tr data-action=").count()
}

/// A failed sign-in by alice from another browser.
async fn alice_fails(ip: &mut InProc) {
    let root = ip.switch_browser(BTreeMap::new());
    let form = ip.get("/login").await;
    let failed = ip.login_from(&form, "alice", "wrong password").await;
    assert_ne!(failed.status, 303, "{}", failed.body);
    ip.switch_browser(root);
}

#[tokio::test]
async fn the_feed_filters_by_actor_action_outcome_and_dates() {
    let mut ip = console().await;
    alice_fails(&mut ip).await;
    audit::record(&ip.app, "root", "client.create", Some("ci"), None, true)
        .await
        .unwrap();

    let alice = ip.get("/admin/audit?actor=alice&outcome=failure").await;
    assert_eq!(alice.status, 200, "{}", alice.body);
    assert!(
        alice.body.contains(r#"data-action="login.failure""#),
        "{}",
        alice.body
    );
    assert!(
        !alice.body.contains(r#"data-action="client.create""#),
        "{}",
        alice.body
    );
    assert!(
        !alice.body.contains(r#"data-action="login.success""#),
        "{}",
        alice.body
    );

    let clients = ip.get("/admin/audit?action=client.").await;
    assert_eq!(rows(&clients), 1, "{}", clients.body);
    assert!(clients.body.contains(r#"data-action="client.create""#));

    let successes = ip.get("/admin/audit?outcome=success").await;
    assert!(
        successes.body.contains(r#"data-action="login.success""#),
        "{}",
        successes.body
    );
    assert!(
        !successes.body.contains(r#"data-action="login.failure""#),
        "{}",
        successes.body
    );

    // The fixed clock reads 2027-01-15.
    let today = ip.get("/admin/audit?from=2027-01-15&to=2027-01-15").await;
    assert!(rows(&today) >= 3, "{}", today.body);
    let before = ip.get("/admin/audit?to=2027-01-14").await;
    assert_eq!(rows(&before), 0, "{}", before.body);
    let later = ip.get("/admin/audit?from=2027-01-16").await;
    assert_eq!(rows(&later), 0, "{}", later.body);
    let bad = ip.get("/admin/audit?from=15%2F01%2F2027").await;
    assert_eq!(bad.status, 200);
    assert!(bad.body.contains("was not understood"), "{}", bad.body);
}

#[tokio::test]
async fn the_feed_is_paged_on_the_server_and_the_next_page_keeps_the_filter() {
    let mut ip = console().await;
    for n in 0..150 {
        audit::record(&ip.app, "bot", "token.issued", Some(&format!("t{n}")), None, true)
            .await
            .unwrap();
    }
    let first = ip.get("/admin/audit?actor=bot").await;
    assert_eq!(rows(&first), 100, "{}", first.body);
    let marker = r#"<a href=""#;
    let next = first
        .body
        .split(marker)
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("after="))
        .expect("a next page")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(next.contains("actor=bot"), "{next}");
    let second = ip.get(&next).await;
    assert_eq!(rows(&second), 50, "{}", second.body);
    assert!(second.body.contains(">t149<"), "{}", second.body);
    assert!(!second.body.contains(">t0<"), "{}", second.body);
    assert!(!second.body.contains("rel=\"next\""), "{}", second.body);
}

#[tokio::test]
async fn a_filtered_page_reads_a_bounded_part_of_the_feed_and_says_where_to_go_on() {
    let ip = console().await;
    for _ in 0..audit::SCAN_BUDGET + 10 {
        audit::record(&ip.app, "bot", "token.issued", None, None, true)
            .await
            .unwrap();
    }
    audit::record(&ip.app, "carol", "login.failure", None, None, false)
        .await
        .unwrap();
    let filter = audit::AuditFilter {
        actor: Some("carol".into()),
        ..Default::default()
    };
    let first = audit::search(&ip.app, filter.clone(), None, Some(10))
        .await
        .unwrap();
    assert!(first.items.is_empty(), "{:?}", first.items);
    let next = first.next.expect("a cursor to read on");
    let second = audit::search(&ip.app, filter, Some(next), Some(10))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].actor, "carol");
    assert_eq!(second.next, None);
}
