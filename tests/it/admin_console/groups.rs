//! `/admin/groups`: the groups in use with their member counts, and one group's members (paged),
//! the clients limited to it and the forward-auth rules that name it.

use latchkey::domain::NewUser;
use latchkey::service::users;

use super::console_with;

const EXTRA: &str = r#"
[[client]]
client_id = "staffapp"
name = "Staff Portal"
public = true
redirect_uris = ["http://127.0.0.1/cb"]
scopes = ["openid"]
allowed_groups = ["staff", "ops"]

[forward_auth]
cookie_domain = "example.test"
[[forward_auth.rule]]
domain = "public.example.test"
policy = "bypass"
[[forward_auth.rule]]
domain = "*.example.test"
subject = ["group:staff", "user:alice"]
policy = "two_factor"
"#;

#[tokio::test]
async fn the_groups_page_counts_members_and_a_group_names_its_clients_and_rules() {
    let mut ip = console_with(EXTRA).await;
    for n in 0..55 {
        let new = NewUser {
            username: format!("staff{n:02}"),
            name: None,
            email: None,
            email_verified: false,
            groups: vec!["staff".into()],
        };
        users::add(&ip.app, new, None).await.unwrap();
    }
    let list = ip.get("/admin/groups").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains(r#"aria-current="page">Groups"#),
        "{}",
        list.body
    );
    assert!(list.body.contains(r#"data-group="admins""#), "{}", list.body);
    assert!(list.body.contains("One member"), "{}", list.body);
    assert!(list.body.contains("55 members"), "{}", list.body);
    assert!(
        list.body.contains(r#"href="/admin/groups/readers""#),
        "{}",
        list.body
    );

    let staff = ip.get("/admin/groups/staff").await;
    assert_eq!(staff.status, 200, "{}", staff.body);
    assert!(
        staff.body.contains(r#"href="/admin/users/staff00""#),
        "{}",
        staff.body
    );
    assert!(!staff.body.contains(r#"data-user="staff54""#), "one page only");
    assert!(staff.body.contains(r#"data-client="staffapp""#), "{}", staff.body);
    assert!(staff.body.contains("Staff Portal"));
    assert!(
        staff
            .body
            .contains("Rule 2 for <strong>*.example.test</strong>: signed in with two factors."),
        "{}",
        staff.body
    );
    assert!(!staff.body.contains("Rule 1 "), "the bypass rule names nobody");
    let next = "/admin/groups/staff?after=staff49";
    assert!(staff.body.contains(next), "{}", staff.body);
    let second = ip.get(next).await;
    assert!(second.body.contains(r#"data-user="staff54""#), "{}", second.body);
    assert!(!second.body.contains(r#"data-user="staff00""#));

    // A group only a client names is shown, with no members; a group nothing names is not.
    let ops = ip.get("/admin/groups/ops").await;
    assert_eq!(ops.status, 200, "{}", ops.body);
    assert!(ops.body.contains("No user is in this group."), "{}", ops.body);
    assert_eq!(ip.get("/admin/groups/nobody").await.status, 404);
}

#[tokio::test]
async fn a_group_larger_than_one_scan_of_the_user_index_is_counted_and_paged_whole() {
    let mut ip = super::console().await;
    for n in 0..520 {
        let new = NewUser {
            username: format!("m{n:03}"),
            name: None,
            email: None,
            email_verified: false,
            groups: if n % 2 == 0 { vec!["even".into()] } else { vec![] },
        };
        users::add(&ip.app, new, None).await.unwrap();
    }
    let groups = latchkey::service::groups::list(&ip.app).await.unwrap();
    let even = groups.iter().find(|g| g.name == "even").expect("listed");
    assert_eq!(even.members, 260);
    // Every member exactly once across the pages, past the scan's page of 500 users.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = latchkey::service::groups::show(&ip.app, "even".into(), after.clone(), Some(100))
            .await
            .unwrap();
        seen.extend(page.members.items.iter().map(|u| u.username.clone()));
        match page.members.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let want: Vec<String> = (0..520).step_by(2).map(|n| format!("m{n:03}")).collect();
    assert_eq!(seen, want);
    assert!(ip.get("/admin/groups").await.body.contains("260 members"));
}
