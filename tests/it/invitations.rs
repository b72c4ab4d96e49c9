//! Invitations: `latchkey user invite --json` and `POST /api/v1/invitations` create a user without
//! a password and a one-time link; the link's page sets the password and signs the invitee in;
//! the link works once, expires, and wrong links are throttled per address. Also
//! `latchkey user reset-factors` on the command line.

use poem::http::{Method, StatusCode};
use serde_json::json;

use crate::admin_fixture::{Admin, assert_problem};
use crate::flows::form_field;
use crate::harness::{Server, assert_success};
use crate::inproc::{ISSUER, InProc, Reply};

const CHOSEN: &str = "the invitee's own password 2026";

/// The path of an invitation link of the in-process server.
fn path_of(url: &str) -> String {
    url.strip_prefix(ISSUER)
        .unwrap_or_else(|| panic!("{url} is not on {ISSUER}"))
        .to_owned()
}

/// Opens the invitation page at `path` and chooses `password`.
async fn accept(s: &mut InProc, path: &str, password: &str) -> Reply {
    let page = s.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.field("csrf");
    s.post(
        path,
        &[
            ("csrf", &csrf),
            ("password", password),
            ("password_repeat", password),
        ],
    )
    .await
}

#[tokio::test]
async fn the_cli_prints_an_invitation_link_that_signs_the_invitee_in_once() {
    let mut server = Server::new();
    server.start();
    let invited = server.cli_json(&[
        "user",
        "invite",
        "bob",
        "--email",
        "bob@example.com",
        "--group",
        "readers",
        "--group",
        "writers",
        "--expires-in",
        "24",
        "--json",
    ]);
    assert_eq!(invited["username"], "bob");
    let url = invited["url"].as_str().expect("a url").to_owned();
    let base = server.base_url();
    assert!(url.starts_with(&format!("{base}/invite/")), "{url}");
    assert!(invited["expires_at"].as_u64().is_some(), "{invited}");
    let shown = server.cli_json(&["user", "show", "bob", "--json"]);
    assert_eq!(shown["has_password"], false);
    assert_eq!(shown["groups"], json!(["readers", "writers"]));
    assert_eq!(shown["email"], "bob@example.com");

    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("<strong>bob</strong>"), "{body}");
    let csrf = form_field(&body, "csrf").expect("a form token");
    let done = http
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", CHOSEN),
            ("password_repeat", CHOSEN),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let body = done.text().await.unwrap();
    assert!(body.contains("href=\"/account/passkeys\""), "{body}");
    let home = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("<strong>bob</strong>"), "signed in as bob: {home}");
    assert_eq!(
        server.cli_json(&["user", "show", "bob", "--json"])["has_password"],
        true
    );

    let twice = http.get(&url).send().await.unwrap();
    assert_eq!(twice.status(), 404, "the link works once");

    // An administrator resets the factors of a user who lost one: the sessions end too.
    let reset = server.cli_json(&["user", "reset-factors", "bob", "--json"]);
    assert_eq!(reset["count"], 0, "{reset}");
    let home = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !home.contains("<strong>bob</strong>"),
        "bob's session ended: {home}"
    );
    let missing = server.cli(&["user", "reset-factors", "nobody"]);
    assert!(!missing.status.success());
    let text = server.cli(&["user", "invite", "carol"]);
    assert_success(&text);
    assert!(String::from_utf8_lossy(&text.stdout).contains("/invite/"));
}

#[tokio::test]
async fn the_api_creates_an_invitation_that_works_once_and_signs_the_invitee_in() {
    let mut a = Admin::new().await;
    let body = json!({"username": "carol", "name": "Carol", "groups": ["readers"]});
    let created = a
        .expect(201, Method::POST, "/api/v1/invitations", Some(body))
        .await;
    assert_eq!(created["username"], "carol");
    let now = a.s.app.clock.now().0;
    assert_eq!(created["expires_at"], now + 72 * 3600, "72 hours by default");
    let user = a.get("/api/v1/users/carol").await;
    assert_eq!(user["has_password"], false);
    assert_eq!(user["name"], "Carol");

    let path = path_of(created["url"].as_str().unwrap());
    let done = accept(&mut a.s, &path, CHOSEN).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("you are signed in"), "{}", done.body);
    let home = a.s.get("/").await;
    assert!(home.body.contains("<strong>carol</strong>"), "{}", home.body);
    assert_eq!(a.get("/api/v1/users/carol").await["has_password"], true);

    let again = a.s.get(&path).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "the link works once");
    assert!(again.body.contains("already used or expired"), "{}", again.body);
    let (events, _) = a.audit_feed(100).await;
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "user.invite" && e["target"] == "carol")
    );
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "invitation.accept" && e["actor"] == "carol")
    );

    // A taken username is a conflict, and the lifetime is bounded.
    let taken = a
        .call(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"username": "carol"})),
        )
        .await;
    assert_problem(&taken, 409, "conflict");
    let long = json!({"username": "dave", "expires_in_hours": 721});
    let refused = a.call(Method::POST, "/api/v1/invitations", Some(long)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
}

#[tokio::test]
async fn an_expired_invitation_is_refused_and_a_weak_password_keeps_the_link() {
    let mut a = Admin::new().await;
    let body = json!({"username": "erin", "expires_in_hours": 1});
    let created = a
        .expect(201, Method::POST, "/api/v1/invitations", Some(body))
        .await;
    let path = path_of(created["url"].as_str().unwrap());
    let weak = accept(&mut a.s, &path, "short").await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST, "{}", weak.body);
    assert!(weak.body.contains("role=\"alert\""), "{}", weak.body);
    assert_eq!(
        a.s.get(&path).await.status,
        StatusCode::OK,
        "the link still works"
    );

    a.s.advance(3601);
    let late = a.s.get(&path).await;
    assert_eq!(late.status, StatusCode::NOT_FOUND, "{}", late.body);
    let page_token = a.s.get("/").await;
    assert!(!page_token.body.contains("erin"));
}

#[tokio::test]
async fn wrong_invitation_links_are_throttled_per_address() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"username": "frank"})),
        )
        .await;
    let path = path_of(created["url"].as_str().unwrap());
    let mut statuses = Vec::new();
    for i in 0..8 {
        let reply = a.s.get(&format!("/invite/not-a-real-token-{i}")).await;
        statuses.push(reply.status.as_u16());
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(reply.header("retry-after").is_some());
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(
        statuses[..statuses.len() - 1].iter().all(|s| *s == 404),
        "{statuses:?}"
    );
    // While throttled, even the real link waits, so guessing gains nothing.
    assert_eq!(a.s.get(&path).await.status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not held back.
    a.s.set_peer("198.51.100.7:40000".parse().unwrap());
    assert_eq!(a.s.get(&path).await.status, StatusCode::OK);
}
