//! `/admin`: the counts, the sign-ins of the last day by hour (a failed one among them), the
//! keys with their ages, and the warnings Latchkey can give.

use std::collections::BTreeMap;

use latchkey::service::admin::{Actor, Dashboard, execute_as};
use latchkey::service::audit;

use super::console;

#[tokio::test]
async fn the_dashboard_counts_what_is_stored_and_charts_a_failed_sign_in() {
    let mut ip = console().await;
    let root = ip.switch_browser(BTreeMap::new());
    let form = ip.get("/login").await;
    ip.login_from(&form, "alice", "wrong password").await;
    ip.switch_browser(root);

    let page = ip.get("/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(
        page.body.contains(r#"aria-current="page">Dashboard"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"data-count="users">2<"#), "{}", page.body);
    let clients = latchkey::service::clients::list(&ip.app).await.unwrap().len();
    assert!(
        page.body.contains(&format!(r#"data-count="clients">{clients}<"#)),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"data-count="sessions">1<"#), "{}", page.body);
    // The fixed clock reads 08:00 UTC: root's sign-in and alice's failure are in that hour.
    assert!(
        page.body
            .contains(r#"data-hour="08:00" data-succeeded="1" data-failed="1""#),
        "{}",
        page.body
    );
    assert!(page.body.contains("<svg"), "{}", page.body);
    assert!(page.body.contains(r#"role="img" aria-labelledby="chart-title""#));
    assert!(
        page.body.contains("1 sign-in and 1 failed attempt."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script"), "{}", page.body);
    let kid = &latchkey::service::keys::list(&ip.app).await.unwrap()[0].kid;
    assert!(page.body.contains(kid.as_str()), "{}", page.body);
    assert!(page.body.contains("No backup was made"), "{}", page.body);

    audit::record(&ip.app, "cli", "backup", Some("/backups/one.redb"), None, true)
        .await
        .unwrap();
    let backed_up = ip.get("/admin").await;
    assert!(
        !backed_up.body.contains("No backup was made"),
        "{}",
        backed_up.body
    );

    // A backup older than a week no longer counts (read through the command: the browser's
    // session has ended by then).
    ip.advance(8 * 86_400);
    let later = execute_as(&ip.app, &Actor::cli(), Dashboard {}).await.unwrap();
    assert!(later.backup_checked);
    assert_eq!(later.last_backup, None);
    assert!(later.sign_ins.iter().all(|h| h.succeeded == 0 && h.failed == 0));
}
