//! `/admin/users`: search and paging on the server, creating and inviting users, and one user's
//! page: profile and groups, disable and enable, password, second factors, sessions, delete
//! behind a confirmation and a fresh sign-in; every change audited as the administrator.

use std::collections::BTreeMap;

use latchkey::domain::NewUser;
use latchkey::service::users;

use super::{ROOT, console, post_from, sign_in};
use crate::flows::html_unescape;
use crate::inproc::{InProc, PASSWORD};

async fn add(ip: &InProc, username: &str, groups: &[&str]) {
    let new = NewUser {
        username: username.into(),
        name: Some(format!("Person {username}")),
        email: Some(format!("{username}@example.org")),
        email_verified: false,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    };
    users::add(&ip.app, new, None).await.unwrap();
}

/// The audit entries of `action`, newest first.
async fn audited(ip: &InProc, action: &str) -> Vec<latchkey::service::audit::AuditEvent> {
    let feed = latchkey::service::audit::list(&ip.app, None, Some(500))
        .await
        .unwrap();
    feed.items
        .into_iter()
        .rev()
        .filter(|e| e.action == action)
        .collect()
}

/// Signs `username` in with a browser of its own, and switches back to the administrator's;
/// returns the other browser's cookies.
async fn other_browser_signed_in(ip: &mut InProc, username: &str) -> BTreeMap<String, String> {
    let admin = ip.switch_browser(BTreeMap::new());
    sign_in(ip, username).await;
    ip.switch_browser(admin)
}

/// Whether a fresh browser can sign in as `username` with the test password.
async fn can_sign_in(ip: &mut InProc, username: &str) -> bool {
    let admin = ip.switch_browser(BTreeMap::new());
    let page = ip.get("/login?return_to=%2Faccount").await;
    let signed = ip.login_from(&page, username, PASSWORD).await;
    ip.switch_browser(admin);
    signed.status == 303
}

#[tokio::test]
async fn the_listing_pages_on_the_server_and_keeps_the_search_in_its_links() {
    let mut ip = console().await;
    for n in 0..60 {
        add(&ip, &format!("user{n:02}"), &[]).await;
    }
    let first = ip.get("/admin/users").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    assert!(
        first.body.contains(r#"aria-current="page">Users"#),
        "{}",
        first.body
    );
    assert!(first.body.contains(r#"data-user="alice""#));
    assert!(!first.body.contains(r#"data-user="user59""#), "one page only");
    let next = first.body.split(r#"<a href=""#).find_map(|rest| {
        let (link, after) = rest.split_once('"')?;
        after.starts_with(r#" rel="next""#).then(|| html_unescape(link))
    });
    let next = next.expect("a next-page link");
    assert!(next.starts_with("/admin/users?after="), "{next}");
    let second = ip.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(second.body.contains(r#"data-user="user59""#), "{}", second.body);
    assert!(!second.body.contains(r#"data-user="alice""#));
    assert!(second.body.contains("First page"));

    // A search by email substring; its link to the next page keeps it.
    let found = ip.get("/admin/users?q=example.org").await;
    assert!(found.body.contains(r#"data-user="user00""#), "{}", found.body);
    assert!(
        !found.body.contains(r#"data-user="alice""#),
        "alice@example.com does not match"
    );
    assert!(
        found.body.contains("?q=example.org&#38;after=user49"),
        "{}",
        found.body
    );
    let by_name = ip.get("/admin/users?q=liddell").await;
    assert!(by_name.body.contains(r#"data-user="alice""#), "{}", by_name.body);
    assert!(
        by_name.body.contains("One user on this page matches"),
        "{}",
        by_name.body
    );
    assert!(!by_name.body.contains(r#"rel="next""#));
}

#[tokio::test]
async fn creating_a_user_shows_it_and_a_taken_username_is_refused_with_409() {
    let mut ip = console().await;
    let page = ip.get("/admin/users").await;
    let made = post_from(
        &mut ip,
        &page,
        "/admin/users/create",
        &[
            ("username", "bob"),
            ("name", "Bob Builder"),
            ("email", "bob@example.com"),
            ("email_verified", "yes"),
            ("groups", "staff, ops"),
            ("password", PASSWORD),
            ("password_repeat", PASSWORD),
        ],
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(made.location(), "/admin/users/bob?done=created");
    let shown = ip.get("/admin/users/bob?done=created").await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("The user was created."), "{}", shown.body);
    assert!(
        shown.body.contains(r#"href="/admin/groups/staff""#),
        "{}",
        shown.body
    );
    let bob = users::get(&ip.app, "bob".into()).await.unwrap();
    assert_eq!(bob.groups, ["ops", "staff"], "stored sorted");
    assert!(bob.email_verified && bob.has_password);
    assert!(can_sign_in(&mut ip, "bob").await);

    let again = post_from(
        &mut ip,
        &page,
        "/admin/users/create",
        &[("username", "Bob"), ("name", "Another Bob")],
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains(r#"role="alert""#), "{}", again.body);
    assert!(
        again.body.contains(r#"value="Another Bob""#),
        "the form keeps its values"
    );

    let invalid = post_from(
        &mut ip,
        &page,
        "/admin/users/create",
        &[("username", "no spaces allowed")],
    )
    .await;
    assert_eq!(invalid.status, 400, "{}", invalid.body);
    assert!(invalid.body.contains("username"), "{}", invalid.body);

    let entry = &audited(&ip, "user.create").await[..];
    assert!(entry.iter().all(|e| e.actor == ROOT), "{entry:?}");
    assert!(
        entry
            .iter()
            .any(|e| e.success && e.target.as_deref() == Some("bob"))
    );
}

#[tokio::test]
async fn an_invitation_shows_its_link_once_in_a_field_to_copy() {
    let mut ip = console().await;
    let page = ip.get("/admin/users").await;
    let invited = post_from(
        &mut ip,
        &page,
        "/admin/users/invite",
        &[("username", "carol"), ("email", "carol@example.com")],
    )
    .await;
    assert_eq!(invited.status, 200, "{}", invited.body);
    assert_eq!(invited.header("cache-control"), Some("no-store"));
    assert!(
        invited
            .body
            .contains(r#"id="invitation" value="https://id.example.test/"#),
        "{}",
        invited.body
    );
    assert!(invited.body.contains("readonly"));
    assert!(!users::get(&ip.app, "carol".into()).await.unwrap().has_password);
    assert_eq!(audited(&ip, "user.invite").await[0].actor, ROOT);
}

#[tokio::test]
async fn editing_the_profile_changes_the_groups_and_is_audited_as_the_administrator() {
    let mut ip = console().await;
    let page = ip.get("/admin/users/alice").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("value=\"readers\""), "{}", page.body);
    let saved = post_from(
        &mut ip,
        &page,
        "/admin/users/alice/profile",
        &[
            ("name", "Alice L."),
            ("email", "alice@example.com"),
            ("groups", "readers writers"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location(), "/admin/users/alice?done=profile");
    let alice = users::get(&ip.app, "alice".into()).await.unwrap();
    assert_eq!(alice.groups, ["readers", "writers"]);
    assert_eq!(alice.name.as_deref(), Some("Alice L."));
    assert!(!alice.email_verified, "the box was not ticked");
    let entry = &audited(&ip, "user.update").await[0];
    assert_eq!(entry.actor, ROOT);
    assert_eq!(entry.target.as_deref(), Some("alice"));

    let bad = post_from(
        &mut ip,
        &page,
        "/admin/users/alice/profile",
        &[("groups", "no/slashes")],
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains(r#"class="error""#), "{}", bad.body);
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_until_enabled_again() {
    let mut ip = console().await;
    assert!(can_sign_in(&mut ip, "alice").await);
    let page = ip.get("/admin/users/alice").await;
    let disabled = post_from(&mut ip, &page, "/admin/users/alice/disable", &[]).await;
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    assert_eq!(disabled.location(), "/admin/users/alice?done=disabled");
    assert!(!can_sign_in(&mut ip, "alice").await);
    let shown = ip.get("/admin/users/alice?done=disabled").await;
    assert!(
        shown.body.contains("action=\"/admin/users/alice/enable\""),
        "{}",
        shown.body
    );

    let enabled = post_from(&mut ip, &shown, "/admin/users/alice/enable", &[]).await;
    assert_eq!(enabled.status, 303, "{}", enabled.body);
    assert!(can_sign_in(&mut ip, "alice").await);
    assert_eq!(audited(&ip, "user.disable").await[0].actor, ROOT);
    assert_eq!(audited(&ip, "user.enable").await[0].actor, ROOT);
}

#[tokio::test]
async fn resetting_the_password_needs_both_fields_alike_and_the_new_one_works() {
    let mut ip = console().await;
    let page = ip.get("/admin/users/alice").await;
    let new = "a brand new password for alice";
    let differ = post_from(
        &mut ip,
        &page,
        "/admin/users/alice/password",
        &[("password", new), ("password_repeat", "something else")],
    )
    .await;
    assert_eq!(differ.status, 400, "{}", differ.body);
    assert!(differ.body.contains("do not match"), "{}", differ.body);
    let set = post_from(
        &mut ip,
        &page,
        "/admin/users/alice/password",
        &[("password", new), ("password_repeat", new)],
    )
    .await;
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(set.location(), "/admin/users/alice?done=password");
    assert!(!can_sign_in(&mut ip, "alice").await, "the old password is gone");
    assert_eq!(audited(&ip, "user.password").await[0].actor, ROOT);

    let factors = post_from(&mut ip, &page, "/admin/users/alice/factors", &[]).await;
    assert_eq!(factors.status, 303, "{}", factors.body);
    assert_eq!(factors.location(), "/admin/users/alice?done=factors&count=0");
    assert_eq!(audited(&ip, "user.reset_factors").await[0].actor, ROOT);
}

#[tokio::test]
async fn deleting_asks_for_confirmation_and_a_post_without_it_does_nothing() {
    let mut ip = console().await;
    let confirm = ip.get("/admin/users/alice/delete").await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm.body.contains("<strong>alice</strong>"),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains(r#"name="confirm" value="yes""#));

    let unconfirmed = post_from(&mut ip, &confirm, "/admin/users/alice/delete", &[]).await;
    assert_eq!(unconfirmed.status, 303, "{}", unconfirmed.body);
    assert_eq!(unconfirmed.location(), "/admin/users/alice/delete");
    assert!(users::get(&ip.app, "alice".into()).await.is_ok(), "still there");

    let deleted = post_from(
        &mut ip,
        &confirm,
        "/admin/users/alice/delete",
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert_eq!(deleted.location(), "/admin/users?done=deleted&user=alice");
    assert!(users::get(&ip.app, "alice".into()).await.is_err());
    let listed = ip.get("/admin/users?done=deleted&user=alice").await;
    assert!(
        listed.body.contains("<strong>alice</strong> was deleted"),
        "{}",
        listed.body
    );
    assert_eq!(ip.get("/admin/users/alice").await.status, 404);
    assert_eq!(audited(&ip, "user.delete").await[0].actor, ROOT);
}

#[tokio::test]
async fn deleting_and_every_destructive_change_after_a_stale_sign_in_ask_for_a_fresh_one_first() {
    let mut ip = console().await;
    let confirm = ip.get("/admin/users/alice/delete").await;
    ip.advance(3600);
    let stale = post_from(
        &mut ip,
        &confirm,
        "/admin/users/alice/delete",
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(stale.status, 303, "{}", stale.body);
    assert_eq!(
        stale.location(),
        "/login?return_to=%2Fadmin%2Fusers%2Falice%2Fdelete&fresh=1"
    );
    assert!(users::get(&ip.app, "alice".into()).await.is_ok(), "not deleted");
    let page = ip.get("/admin/users/alice").await;
    let new = "a brand new password for alice";
    let destructive: [(&str, &[(&str, &str)]); 5] = [
        ("disable", &[]),
        ("password", &[("password", new), ("password_repeat", new)]),
        ("factors", &[]),
        ("sessions/revoke", &[]),
        ("links/remove", &[("upstream", "corp"), ("subject", "x")]),
    ];
    for (action, fields) in destructive {
        let uri = format!("/admin/users/alice/{action}");
        let stale = post_from(&mut ip, &page, &uri, fields).await;
        assert_eq!(stale.status, 303, "{action}: {}", stale.body);
        assert_eq!(
            stale.location(),
            "/login?return_to=%2Fadmin%2Fusers%2Falice&fresh=1",
            "{action}"
        );
    }
    assert!(!users::get(&ip.app, "alice".into()).await.unwrap().disabled);
    assert!(can_sign_in(&mut ip, "alice").await, "the password is unchanged");
}

#[tokio::test]
async fn ending_a_session_on_the_user_page_signs_that_browser_out() {
    let mut ip = console().await;
    let alices = other_browser_signed_in(&mut ip, "alice").await;
    let page = ip.get("/admin/users/alice").await;
    let sid_at = page.body.find("data-sid=\"").expect("alice's session is listed") + 10;
    let sid = page.body[sid_at..].split('"').next().unwrap().to_owned();
    let ended = post_from(
        &mut ip,
        &page,
        "/admin/users/alice/sessions/revoke",
        &[("sid", &sid)],
    )
    .await;
    assert_eq!(ended.status, 303, "{}", ended.body);
    assert_eq!(ended.location(), "/admin/users/alice?done=sessions&count=1");
    let shown = ip.get(ended.location()).await;
    assert!(shown.body.contains("One session was ended."), "{}", shown.body);
    assert!(!shown.body.contains(&sid));

    let admin = ip.switch_browser(alices);
    let account = ip.get("/account").await;
    assert_eq!(
        account.status, 303,
        "alice's cookie no longer works: {}",
        account.body
    );
    ip.switch_browser(admin);
    assert_eq!(audited(&ip, "sessions.revoke").await[0].actor, ROOT);
}

#[tokio::test]
async fn the_users_pages_speak_korean_to_a_korean_browser() {
    let mut ip = console().await;
    let ko = [("accept-language", "ko-KR,ko;q=0.9")];
    let list = ip.send(poem::http::Method::GET, "/admin/users", None, &ko).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("<html lang=\"ko\""), "{}", list.body);
    assert!(list.body.contains("사용자 만들기"), "{}", list.body);
    assert!(!list.body.contains("Create a user"));
    let alice = ip
        .send(poem::http::Method::GET, "/admin/users/alice", None, &ko)
        .await;
    assert!(alice.body.contains("새 비밀번호 설정"), "{}", alice.body);
    let groups = ip.send(poem::http::Method::GET, "/admin/groups", None, &ko).await;
    assert!(groups.body.contains("1명"), "{}", groups.body);
}

#[tokio::test]
async fn revoking_a_consent_on_the_user_page_forgets_it() {
    let mut ip = console().await;
    let admin = ip.switch_browser(BTreeMap::new());
    ip.code(&[]).await;
    ip.switch_browser(admin);
    let page = ip.get("/admin/users/alice").await;
    assert!(page.body.contains(r#"data-client="web""#), "{}", page.body);
    let revoked = post_from(
        &mut ip,
        &page,
        "/admin/users/alice/consents/revoke",
        &[("client_id", "web")],
    )
    .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert_eq!(revoked.location(), "/admin/users/alice?done=consent");
    let after = ip.get(revoked.location()).await;
    assert!(after.body.contains("The consent was revoked."), "{}", after.body);
    assert!(!after.body.contains(r#"data-client="web""#));
    assert_eq!(audited(&ip, "consent.revoke").await[0].actor, ROOT);
}

#[tokio::test]
async fn removing_an_upstream_link_on_the_user_page_unlinks_it() {
    let mut ip = console().await;
    latchkey::service::upstream::link(&ip.app, "alice".into(), "corp".into(), "248289761001".into())
        .await
        .unwrap();
    let page = ip.get("/admin/users/alice").await;
    assert!(page.body.contains(r#"data-upstream="corp""#), "{}", page.body);
    assert!(
        page.body.contains("<strong>corp</strong> account 248289761001"),
        "{}",
        page.body
    );
    let removed = post_from(
        &mut ip,
        &page,
        "/admin/users/alice/links/remove",
        &[("upstream", "corp"), ("subject", "248289761001")],
    )
    .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(removed.location(), "/admin/users/alice?done=link");
    let after = ip.get(removed.location()).await;
    assert!(
        after.body.contains("The upstream identity was unlinked."),
        "{}",
        after.body
    );
    assert!(!after.body.contains(r#"data-upstream="corp""#));
    assert_eq!(audited(&ip, "user.unlink").await[0].actor, ROOT);
}
