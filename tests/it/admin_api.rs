//! The admin API under `/api/v1`, over HTTP against an in-process server with a fixed clock: every
//! operation, who may call it, the RFC 9457 problems it answers, the audit feed it writes, and
//! (against a real server) the CLI's `--json` output, which must have the API's shapes.

use std::collections::BTreeSet;

use latchkey::domain::NewUser;
use latchkey::service::{audit, clients, purge, users};
use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Server, default_config};
use crate::inproc::{ISSUER, InProc, PASSWORD, REDIRECT, Reply, VERIFIER, WEB_SECRET, basic};

/// The secret of `ops`, a declared confidential client allowed client_credentials and `admin`.
const OPS_SECRET: &str = "ops-robot-secret-0123456789-abcdefghijklmnopq";
/// The secret of `console`, a declared confidential client for people: authorization code and
/// password grants, allowed `openid profile admin`.
const CONSOLE_SECRET: &str = "console-secret-0123456789-abcdefghijklmnopqrs";
const CONSOLE_REDIRECT: &str = "https://console.example.com/cb";
/// The password of `root`, an administrator made by [`add_admin`].
const ROOT_PASSWORD: &str = "root password, long enough 0123";
/// Where every request of these tests comes from, so that the audit feed's addresses can be checked.
const PEER: &str = "203.0.113.9:50123";
const PEER_IP: &str = "203.0.113.9";
/// The access token lifetime (the default, 10 minutes), in seconds.
const ACCESS_TOKEN_LIFETIME: u64 = 600;

fn extra_clients() -> String {
    format!(
        r#"
[[client]]
client_id = "ops"
name = "Operations robot"
grant_types = ["client_credentials"]
scopes = ["admin"]
secret_digest = "{ops}"

[[client]]
client_id = "console"
name = "Admin console"
redirect_uris = ["{CONSOLE_REDIRECT}"]
grant_types = ["authorization_code", "password"]
scopes = ["openid", "profile", "admin"]
secret_digest = "{console}"
"#,
        ops = clients::digest_text(OPS_SECRET),
        console = clients::digest_text(CONSOLE_SECRET),
    )
}

/// An in-process server with the `ops` and `console` clients, requests from [`PEER`], and an
/// admin token of `ops`.
struct Admin {
    s: InProc,
    token: String,
}

impl Admin {
    async fn new() -> Admin {
        Admin::with("").await
    }

    /// Like [`Admin::new`], with `extra` (TOML) added to the configuration.
    async fn with(extra: &str) -> Admin {
        let mut s = InProc::new(&format!("{}\n{extra}", extra_clients())).await;
        s.set_peer(PEER.parse().expect("a socket address"));
        let token = ops_token(&mut s).await;
        Admin { s, token }
    }

    /// Calls the API with the `ops` token.
    async fn call(&mut self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let token = self.token.clone();
        self.call_as(Some(&token), method, path, body).await
    }

    /// Calls the API with `token`, or with no Authorization header.
    async fn call_as(
        &mut self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.s.send_json(method, path, body.as_ref(), &headers).await
    }

    /// Calls the API with a raw body of the given content type.
    async fn call_raw(&mut self, method: Method, path: &str, content_type: &str, body: &str) -> Reply {
        let auth = format!("Bearer {}", self.token);
        self.s
            .send_typed(
                method,
                path,
                Some((content_type, body.to_owned())),
                &[("authorization", &auth)],
            )
            .await
    }

    /// A call that must answer `status` with JSON; returns the JSON.
    async fn expect(&mut self, status: u16, method: Method, path: &str, body: Option<Value>) -> Value {
        let what = format!("{method} {path}");
        let reply = self.call(method, path, body).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.body);
        reply.json()
    }

    /// A call that must answer 204 with no body.
    async fn expect_done(&mut self, method: Method, path: &str, body: Option<Value>) {
        let what = format!("{method} {path}");
        let reply = self.call(method, path, body).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{what}: {}", reply.body);
        assert!(reply.body.is_empty(), "{what}: a 204 has no body: {}", reply.body);
    }

    async fn get(&mut self, path: &str) -> Value {
        self.expect(200, Method::GET, path, None).await
    }

    /// Every audit event, paging through the feed `limit` at a time; also returns the raw pages.
    /// The clock moves one second before each page, so that the feed's own `admin.call` entries
    /// land after the cursor.
    async fn audit_feed(&mut self, limit: usize) -> (Vec<Value>, String) {
        let mut events = Vec::new();
        let mut raw = String::new();
        let mut after: Option<String> = None;
        for _ in 0..1000 {
            self.s.advance(1);
            let uri = match &after {
                Some(a) => format!("/api/v1/audit?limit={limit}&after={}", encode(a)),
                None => format!("/api/v1/audit?limit={limit}"),
            };
            let reply = self.call(Method::GET, &uri, None).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            raw.push_str(&reply.body);
            let page = reply.json();
            let items = page["items"].as_array().expect("a page has items").clone();
            assert!(items.len() <= limit, "a page holds at most `limit` events");
            events.extend(items);
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return (events, raw),
            }
        }
        panic!("the audit feed did not end within 1000 pages")
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A client_credentials token of `ops` with the `admin` scope.
async fn ops_token(s: &mut InProc) -> String {
    let reply = s
        .post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials"), ("scope", "admin")],
            &[("authorization", &basic("ops", OPS_SECRET))],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["scope"], "admin");
    body["access_token"].as_str().expect("an access token").to_owned()
}

/// A client_credentials token with the `admin` scope for the client `id`.
async fn client_admin_token(s: &mut InProc, id: &str, secret: &str) -> String {
    let reply = s
        .post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials"), ("scope", "admin")],
            &[("authorization", &basic(id, secret))],
        )
        .await;
    access_token(&reply)
}

/// Creates the administrator `username` (member of `admins`) with [`ROOT_PASSWORD`].
async fn add_admin(s: &InProc, username: &str) {
    let new = NewUser {
        username: username.into(),
        name: Some("Root".into()),
        email: None,
        email_verified: false,
        groups: vec!["admins".into()],
    };
    users::add(&s.app, new, Some(ROOT_PASSWORD.into()))
        .await
        .expect("the administrator is created");
}

/// The password grant at `console`.
async fn password_grant(s: &mut InProc, username: &str, password: &str, scope: &str) -> Reply {
    s.post_with(
        "/oauth/token",
        &[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("scope", scope),
        ],
        &[("authorization", &basic("console", CONSOLE_SECRET))],
    )
    .await
}

/// The authorization code flow at `console` for `scope`, signing in as `username` if asked;
/// returns the token endpoint's reply.
async fn console_code_flow(s: &mut InProc, username: &str, password: &str, scope: &str) -> Reply {
    let uri = InProc::authorize_uri("console", CONSOLE_REDIRECT, &[("scope", scope)]);
    let redirect = s.authorize_as(&uri, username, password).await;
    let code = redirect
        .location_param("code")
        .unwrap_or_else(|| panic!("no code in {}", redirect.location()));
    s.post_with(
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CONSOLE_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
        &[("authorization", &basic("console", CONSOLE_SECRET))],
    )
    .await
}

/// The access token of a successful token reply.
#[track_caller]
fn access_token(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// Asserts that `reply` is an RFC 9457 problem with `status` whose `type` ends in `/kind`;
/// returns the problem.
#[track_caller]
fn assert_problem(reply: &Reply, status: u16, kind: &str) -> Value {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    let content_type = reply.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/problem+json"),
        "a problem is application/problem+json, not `{content_type}`: {}",
        reply.body
    );
    let problem = reply.json();
    assert_eq!(problem["status"], status, "{problem}");
    let kind_uri = problem["type"].as_str().unwrap_or("");
    assert!(
        kind_uri.starts_with("https://") && kind_uri.ends_with(&format!("/{kind}")),
        "the problem type should end in /{kind}: {problem}"
    );
    assert!(
        problem["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{problem}"
    );
    problem
}

/// Asserts that `reply` is a validation problem (400 or 422) whose `errors` name `field`.
#[track_caller]
fn assert_invalid_field(reply: &Reply, field: &str) {
    if let Err(why) = invalid_field(reply, field) {
        panic!("{why}");
    }
}

/// Whether `reply` is a validation problem (400 or 422, `application/problem+json`) whose `errors`
/// name `field` with a message; if not, why not.
fn invalid_field(reply: &Reply, field: &str) -> Result<(), String> {
    let status = reply.status.as_u16();
    let content_type = reply.header("content-type").unwrap_or("");
    let problem: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    let named = problem["errors"].as_array().is_some_and(|errors| {
        errors
            .iter()
            .any(|e| e["field"] == field && e["message"].as_str().is_some_and(|m| !m.is_empty()))
    });
    if (status == 400 || status == 422)
        && content_type.starts_with("application/problem+json")
        && problem["status"] == status
        && named
    {
        Ok(())
    } else {
        Err(format!(
            "invalid `{field}` should be a 400 or 422 problem whose `errors` name it; got {status} {content_type}: {}",
            reply.body
        ))
    }
}

/// Whether the browser's session still signs it in: an authorization request for `web` either
/// goes on without a login form (to the client, or to the consent page), or shows the login form.
async fn signed_in(s: &mut InProc) -> bool {
    let mut reply = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    if reply.status == StatusCode::SEE_OTHER && reply.location().starts_with('/') {
        let next = reply.location().to_owned();
        reply = s.get(&next).await;
    }
    !reply.body.contains("action=\"/login\"")
}

fn usernames(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("a page has items")
        .iter()
        .map(|u| u["username"].as_str().expect("a username").to_owned())
        .collect()
}

fn client_ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .expect("a list of clients")
        .iter()
        .map(|c| c["client_id"].as_str().expect("a client id").to_owned())
        .collect()
}

// Users

#[tokio::test]
async fn users_are_listed_a_page_at_a_time_in_username_order_and_found_by_search() {
    let mut a = Admin::new().await;
    for name in ["mallory", "bob", "Carol", "dave", "erin"] {
        let body = json!({ "username": name, "email": format!("{}@corp.example", name.to_lowercase()) });
        a.expect(201, Method::POST, "/api/v1/users", Some(body)).await;
    }
    let everyone = vec!["alice", "bob", "Carol", "dave", "erin", "mallory"];
    let all = a.get("/api/v1/users").await;
    assert_eq!(usernames(&all), everyone);
    assert_eq!(all["next"], Value::Null, "one page holds everyone");

    let mut seen = Vec::new();
    let mut uri = "/api/v1/users?limit=2".to_owned();
    for _ in 0..10 {
        let page = a.get(&uri).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(usernames(&page));
        match page["next"].as_str() {
            Some(next) => uri = format!("/api/v1/users?limit=2&after={}", encode(next)),
            None => break,
        }
    }
    assert_eq!(seen, everyone, "paging sees every user once, in order");

    let first = a.get("/api/v1/users?limit=5").await;
    assert_eq!(usernames(&first).len(), 5);
    let next = first["next"].as_str().expect("a sixth user is left");
    let rest = a
        .get(&format!("/api/v1/users?limit=5&after={}", encode(next)))
        .await;
    assert_eq!(usernames(&rest), ["mallory"]);
    assert_eq!(rest["next"], Value::Null);

    let by_name = a.get("/api/v1/users?search=LIDDELL").await;
    assert_eq!(
        usernames(&by_name),
        ["alice"],
        "search matches the name, ignoring case"
    );
    let by_email = a.get("/api/v1/users?search=corp.example&limit=3").await;
    assert_eq!(usernames(&by_email), ["bob", "Carol", "dave"]);
    let more = by_email["next"].as_str().expect("more matches");
    let by_email_rest = a
        .get(&format!(
            "/api/v1/users?search=corp.example&limit=3&after={}",
            encode(more)
        ))
        .await;
    assert_eq!(usernames(&by_email_rest), ["erin", "mallory"]);
    let by_username = a.get("/api/v1/users?search=caro").await;
    assert_eq!(usernames(&by_username), ["Carol"]);
    let nobody = a.get("/api/v1/users?search=zzz-nobody").await;
    assert_eq!(usernames(&nobody), Vec::<String>::new());
    assert_eq!(nobody["next"], Value::Null);
}

#[tokio::test]
async fn a_user_is_created_shown_by_name_or_subject_updated_and_deleted() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({
                "username": "Grace",
                "name": "Grace Hopper",
                "email": "grace@example.com",
                "email_verified": true,
                "groups": ["navy", "admins", "navy"],
                "password": "a long enough password 42",
            })),
        )
        .await;
    assert_eq!(created["username"], "Grace");
    assert_eq!(created["name"], "Grace Hopper");
    assert_eq!(created["email"], "grace@example.com");
    assert_eq!(created["email_verified"], true);
    assert_eq!(
        created["groups"],
        json!(["admins", "navy"]),
        "groups are sorted and unique"
    );
    assert_eq!(created["disabled"], false);
    assert_eq!(created["has_password"], true);
    let subject = created["subject"].as_str().expect("a subject").to_owned();
    assert!(!subject.is_empty() && subject != "Grace");
    assert!(
        !created.to_string().contains("argon2"),
        "never a password hash: {created}"
    );

    assert_eq!(a.get("/api/v1/users/Grace").await, created);
    assert_eq!(
        a.get("/api/v1/users/grace").await,
        created,
        "usernames ignore case"
    );
    assert_eq!(a.get(&format!("/api/v1/users/{subject}")).await, created);

    let taken = a
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "GRACE" })),
        )
        .await;
    assert_problem(&taken, 409, "conflict");

    a.s.advance(5);
    let updated = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/users/grace",
            Some(json!({ "name": "Rear Admiral Hopper", "groups": ["cobol", "navy"] })),
        )
        .await;
    assert_eq!(updated["name"], "Rear Admiral Hopper");
    assert_eq!(updated["groups"], json!(["cobol", "navy"]));
    assert_eq!(updated["email"], "grace@example.com", "absent fields stay");
    assert_eq!(updated["email_verified"], true);
    assert_eq!(updated["subject"], subject.as_str());
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_eq!(
        updated["updated_at"].as_u64(),
        created["updated_at"].as_u64().map(|t| t + 5)
    );
    let cleared = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/users/grace",
            Some(json!({ "name": "", "email": "", "email_verified": false })),
        )
        .await;
    assert_eq!(cleared["name"], Value::Null, "an empty string clears the name");
    assert_eq!(cleared["email"], Value::Null, "an empty string clears the email");
    assert_eq!(cleared["email_verified"], false);
    assert_eq!(a.get("/api/v1/users/grace").await, cleared);

    let without_password = a
        .expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "nopass" })),
        )
        .await;
    assert_eq!(without_password["has_password"], false);
    assert_eq!(without_password["groups"], json!([]));
    assert_eq!(without_password["name"], Value::Null);

    a.expect_done(Method::DELETE, "/api/v1/users/grace", None).await;
    assert_problem(
        &a.call(Method::GET, "/api/v1/users/grace", None).await,
        404,
        "not-found",
    );
    assert_problem(
        &a.call(Method::GET, &format!("/api/v1/users/{subject}"), None)
            .await,
        404,
        "not-found",
    );
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/users/grace", None).await,
        404,
        "not-found",
    );
    assert_eq!(usernames(&a.get("/api/v1/users").await), ["alice", "nopass"]);
    // The username is free again, for a new person with a new subject.
    let again = a
        .expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "grace" })),
        )
        .await;
    assert_ne!(again["subject"], subject.as_str());
}

#[tokio::test]
async fn a_new_password_set_by_an_administrator_works_at_the_token_endpoint_and_the_old_one_does_not() {
    let mut a = Admin::new().await;
    let new_password = "alice's brand new passphrase";
    assert_eq!(
        password_grant(&mut a.s, "alice", PASSWORD, "openid").await.status,
        StatusCode::OK
    );
    a.expect_done(
        Method::PUT,
        "/api/v1/users/alice/password",
        Some(json!({ "password": new_password })),
    )
    .await;
    let old = password_grant(&mut a.s, "alice", PASSWORD, "openid").await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST, "{}", old.body);
    assert_eq!(old.json()["error"], "invalid_grant");
    let new = password_grant(&mut a.s, "alice", new_password, "openid").await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);

    // The login page takes the new password too.
    let page = a.s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let reply = a.s.login_from(&page, "alice", new_password).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);

    let short = a
        .call(
            Method::PUT,
            "/api/v1/users/alice/password",
            Some(json!({ "password": "short" })),
        )
        .await;
    assert_invalid_field(&short, "password");
    let nobody = a
        .call(
            Method::PUT,
            "/api/v1/users/nobody/password",
            Some(json!({ "password": new_password })),
        )
        .await;
    assert_problem(&nobody, 404, "not-found");
    // A user made without a password gets one.
    a.expect(
        201,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "late" })),
    )
    .await;
    a.expect_done(
        Method::PUT,
        "/api/v1/users/late/password",
        Some(json!({ "password": new_password })),
    )
    .await;
    assert_eq!(a.get("/api/v1/users/late").await["has_password"], true);
    assert_eq!(
        password_grant(&mut a.s, "late", new_password, "openid")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_loses_sessions_and_tokens_for_good() {
    let mut a = Admin::new().await;
    let code = a.s.code(&[("scope", "openid offline_access")]).await;
    let tokens = a.s.exchange(&code).await.json();
    let (access, refresh) = (
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert!(signed_in(&mut a.s).await);
    assert_eq!(a.s.introspect(&access).await["active"], true);

    let disabled = a
        .expect(200, Method::POST, "/api/v1/users/alice/disable", None)
        .await;
    assert_eq!(disabled["disabled"], true);
    assert_eq!(a.get("/api/v1/users/alice").await["disabled"], true);
    assert!(!signed_in(&mut a.s).await, "a disabled user's session ends");
    assert_eq!(
        a.get("/api/v1/users/alice/sessions").await,
        json!([]),
        "and is gone, not just unusable"
    );
    assert_eq!(
        a.s.introspect(&access).await["active"],
        false,
        "the access token stops"
    );
    assert_eq!(
        a.s.introspect(&refresh).await["active"],
        false,
        "the refresh token stops"
    );
    let userinfo =
        a.s.send(
            Method::GET,
            "/oauth/userinfo",
            None,
            &[("authorization", &format!("Bearer {access}"))],
        )
        .await;
    assert_eq!(userinfo.status, StatusCode::UNAUTHORIZED);
    let grant = password_grant(&mut a.s, "alice", PASSWORD, "openid").await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST, "{}", grant.body);
    assert_eq!(grant.json()["error"], "invalid_grant");
    let login = sign_in(&mut a.s, "alice", PASSWORD).await;
    assert_ne!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert!(login.body.contains("action=\"/login\""), "the form again");
    assert!(!signed_in(&mut a.s).await);

    let enabled = a
        .expect(200, Method::POST, "/api/v1/users/alice/enable", None)
        .await;
    assert_eq!(enabled["disabled"], false);
    // Nothing from before comes back.
    assert!(!signed_in(&mut a.s).await, "the old session stays ended");
    assert_eq!(a.s.introspect(&access).await["active"], false);
    let refreshed =
        a.s.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .await;
    assert_eq!(refreshed.status, StatusCode::BAD_REQUEST, "{}", refreshed.body);
    assert_eq!(refreshed.json()["error"], "invalid_grant");
    // A new sign-in works.
    assert_eq!(
        password_grant(&mut a.s, "alice", PASSWORD, "openid").await.status,
        StatusCode::OK
    );
    let login = sign_in(&mut a.s, "alice", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert!(signed_in(&mut a.s).await);
    for op in ["disable", "enable"] {
        let reply = a
            .call(Method::POST, &format!("/api/v1/users/nobody/{op}"), None)
            .await;
        assert_problem(&reply, 404, "not-found");
    }
}

#[tokio::test]
async fn a_deleted_user_loses_sessions_tokens_and_consents() {
    let mut a = Admin::new().await;
    let code = a.s.code(&[("scope", "openid offline_access")]).await;
    let tokens = a.s.exchange(&code).await.json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    a.expect_done(Method::DELETE, "/api/v1/users/alice", None).await;
    assert!(!signed_in(&mut a.s).await);
    assert_eq!(a.s.introspect(&access).await["active"], false);
    assert_eq!(a.s.introspect(&refresh).await["active"], false);
    // Someone new under the same name inherits nothing: no session, no consent.
    let new = a
        .expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "alice", "password": PASSWORD })),
        )
        .await;
    assert_eq!(a.get("/api/v1/users/alice/consents").await, json!([]));
    assert_eq!(a.get("/api/v1/users/alice/sessions").await, json!([]));
    assert!(new["subject"].is_string());
    let reply = a.s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let consent = a.s.login_from(&reply, "alice", PASSWORD).await;
    let consent = if consent.status == StatusCode::SEE_OTHER && consent.location().starts_with('/') {
        let next = consent.location().to_owned();
        a.s.get(&next).await
    } else {
        consent
    };
    assert!(
        consent.body.contains("action=\"/oauth/consent\""),
        "the new alice is asked for consent: {} {}",
        consent.status,
        consent.body
    );
}

/// Signs in as `username` on a fresh login page (for `web`), following a redirect to it.
async fn sign_in(s: &mut InProc, username: &str, password: &str) -> Reply {
    let mut page = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    if page.status == StatusCode::SEE_OTHER && page.location().starts_with('/') {
        let next = page.location().to_owned();
        page = s.get(&next).await;
    }
    s.login_from(&page, username, password).await
}

// Clients

#[tokio::test]
async fn clients_are_listed_and_shown_without_secrets() {
    let mut a = Admin::new().await;
    let list = a.get("/api/v1/clients").await;
    assert_eq!(
        client_ids(&list),
        ["console", "latchkey-docs", "ops", "spa", "web"]
            .map(String::from)
            .into(),
    );
    for c in list.as_array().unwrap() {
        assert_eq!(c["source"], "config", "{c}");
        assert!(c.get("client_secret").is_none(), "{c}");
    }
    let web = a.get("/api/v1/clients/web").await;
    assert_eq!(web["name"], "Web App");
    assert_eq!(web["public"], false);
    assert_eq!(
        web["redirect_uris"],
        json!([REDIRECT, "https://app.example.com/other"])
    );
    assert_eq!(
        web["grant_types"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(
        web["post_logout_redirect_uris"],
        json!(["https://app.example.com/logged-out"])
    );
    assert_eq!(web["id_token_signed_response_alg"], "EdDSA");
    let spa = a.get("/api/v1/clients/spa").await;
    assert_eq!(spa["public"], true);
    assert_eq!(
        spa["require_pkce"],
        Value::Null,
        "the server's default: public clients always need PKCE"
    );
    let docs = a.get("/api/v1/clients/latchkey-docs").await;
    assert_eq!(
        docs["redirect_uris"],
        json!([format!("{ISSUER}/docs/oauth-receiver.html")])
    );
    for text in [list.to_string(), web.to_string()] {
        assert!(!text.contains(WEB_SECRET) && !text.contains(OPS_SECRET));
        assert!(!text.contains("sha256:"), "never a secret digest: {text}");
        assert!(!text.contains("secret"), "no secret field at all: {text}");
    }
}

#[tokio::test]
async fn a_created_client_gets_a_secret_once_that_works_for_client_credentials() {
    let mut a = Admin::new().await;
    let reply = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "reports",
                "name": "Nightly reports",
                "grant_types": ["client_credentials"],
                "scopes": ["reports:read"],
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.json();
    let secret = created["client_secret"]
        .as_str()
        .expect("a confidential client's secret")
        .to_owned();
    assert!(secret.len() >= 32, "a long random secret: {secret}");
    assert_eq!(created["client_id"], "reports");
    assert_eq!(created["name"], "Nightly reports");
    assert_eq!(created["source"], "store");
    assert_eq!(created["public"], false);
    assert_eq!(created["grant_types"], json!(["client_credentials"]));
    assert_eq!(created["scopes"], json!(["reports:read"]));
    assert_eq!(created["require_pkce"], Value::Null, "the server's default");
    assert_eq!(created["created_at"], 1_800_000_000u64);

    let token =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic("reports", &secret))],
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    assert_eq!(token.json()["scope"], "reports:read");

    let shown = a.get("/api/v1/clients/reports").await;
    let mut without_secret = created.clone();
    without_secret.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(shown, without_secret, "shown as created, minus the secret");
    let list = a.call(Method::GET, "/api/v1/clients", None).await;
    for body in [&list.body, &shown.to_string()] {
        assert!(!body.contains(&secret), "the secret is shown only once");
        assert!(!body.contains("client_secret"), "{body}");
    }
    assert!(client_ids(&list.json()).contains("reports"));

    // Defaults: authorization_code and refresh_token, and a public client has no secret.
    let public = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "mobile",
                "public": true,
                "redirect_uris": ["http://127.0.0.1/cb"],
            })),
        )
        .await;
    assert_eq!(public["client_secret"], Value::Null);
    assert_eq!(public["public"], true);
    assert_eq!(public["name"], "mobile", "the name defaults to the id");
    assert_eq!(
        public["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let again = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "mobile", "public": true, "redirect_uris": ["http://127.0.0.1/cb"] })),
        )
        .await;
    assert_problem(&again, 409, "conflict");
    let declared_id = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "web", "grant_types": ["client_credentials"] })),
        )
        .await;
    assert_problem(&declared_id, 409, "conflict");
}

/// Admin answers hold personal data, and two of them a client secret: no cache may keep them.
#[tokio::test]
async fn admin_answers_are_not_stored_by_caches() {
    let mut a = Admin::new().await;
    let created = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "cached", "grant_types": ["client_credentials"] })),
        )
        .await;
    let rotated = a
        .call(Method::POST, "/api/v1/clients/cached/rotate-secret", None)
        .await;
    let user = a.call(Method::GET, "/api/v1/users/alice", None).await;
    let problem = a.call(Method::GET, "/api/v1/users/nobody", None).await;
    for (what, reply) in [
        ("create client", &created),
        ("rotate secret", &rotated),
        ("get user", &user),
        ("problem", &problem),
    ] {
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{what}: {:?}",
            reply.headers
        );
    }
}

#[tokio::test]
async fn a_client_name_is_checked_on_update_as_on_creation_whatever_the_path() {
    let a = Admin::new().await;
    let new = clients::NewClient {
        client_id: "shop".into(),
        name: Some("Shop".into()),
        redirect_uris: vec!["https://shop.example.com/cb".into()],
        ..Default::default()
    };
    clients::add(&a.s.app, new).await.expect("created");
    // The service function the CLI and the admin socket call, without the API schema in front.
    for bad in ["", "bell\u{7}", &"x".repeat(201)] {
        let change = clients::ClientUpdate {
            name: Some(bad.to_owned()),
            ..Default::default()
        };
        let refused = clients::update(&a.s.app, "shop".into(), change).await;
        assert!(
            matches!(&refused, Err(latchkey::service::ServiceError::Invalid { field, .. }) if field == "name"),
            "{bad:?}: {refused:?}"
        );
    }
    let shown = clients::get(&a.s.app, "shop".into()).await.expect("shown");
    assert_eq!(shown.name, "Shop");
}

#[tokio::test]
async fn a_client_update_changes_redirect_uris_scopes_and_grants() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "shop",
                "redirect_uris": ["https://shop.example.com/cb"],
                "scopes": ["openid"],
            })),
        )
        .await;
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let updated = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/clients/shop",
            Some(json!({
                "name": "The Shop",
                "redirect_uris": ["https://shop.example.com/new-cb", "https://shop.example.com/cb2"],
                "scopes": ["openid", "profile", "orders"],
                "grant_types": ["client_credentials", "authorization_code"],
                "first_party": true,
            })),
        )
        .await;
    assert_eq!(updated["name"], "The Shop");
    assert_eq!(
        updated["redirect_uris"],
        json!(["https://shop.example.com/new-cb", "https://shop.example.com/cb2"])
    );
    assert_eq!(updated["scopes"], json!(["openid", "profile", "orders"]));
    let grants: BTreeSet<&str> = updated["grant_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert_eq!(
        grants,
        BTreeSet::from(["authorization_code", "client_credentials"])
    );
    assert_eq!(updated["first_party"], true);
    assert_eq!(updated["created_at"], created["created_at"]);
    assert!(updated.get("client_secret").is_none());
    assert_eq!(a.get("/api/v1/clients/shop").await, updated);

    // The change is in force: the new grant works with the unchanged secret, the old
    // redirect URI does not.
    let token =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials"), ("scope", "orders")],
            &[("authorization", &basic("shop", &secret))],
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let old_redirect =
        a.s.get(&InProc::authorize_uri("shop", "https://shop.example.com/cb", &[]))
            .await;
    assert_eq!(old_redirect.status, StatusCode::BAD_REQUEST);
    assert!(old_redirect.header("location").is_none());

    // Only what is sent changes; a rule violation is refused and changes nothing.
    let renamed = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/clients/shop",
            Some(json!({ "name": "Shop" })),
        )
        .await;
    assert_eq!(renamed["scopes"], updated["scopes"]);
    let no_grants = a
        .call(
            Method::PATCH,
            "/api/v1/clients/shop",
            Some(json!({ "grant_types": [] })),
        )
        .await;
    assert_invalid_field(&no_grants, "grant_types");
    let no_uris = a
        .call(
            Method::PATCH,
            "/api/v1/clients/shop",
            Some(json!({ "redirect_uris": [] })),
        )
        .await;
    assert_invalid_field(&no_uris, "redirect_uris");
    assert_eq!(a.get("/api/v1/clients/shop").await, renamed);
}

#[tokio::test]
async fn rotating_a_secret_stops_the_old_one_and_starts_the_new_one() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "batch", "grant_types": ["client_credentials"] })),
        )
        .await;
    let old = created["client_secret"].as_str().unwrap().to_owned();
    let rotated = a
        .expect(200, Method::POST, "/api/v1/clients/batch/rotate-secret", None)
        .await;
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert_eq!(rotated["client_id"], "batch");
    let cc = |secret: &str| basic("batch", secret);
    let with_old =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &cc(&old))],
        )
        .await;
    assert_eq!(with_old.status, StatusCode::UNAUTHORIZED, "{}", with_old.body);
    assert_eq!(with_old.json()["error"], "invalid_client");
    let with_new =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &cc(&new))],
        )
        .await;
    assert_eq!(with_new.status, StatusCode::OK, "{}", with_new.body);
    let shown = a.call(Method::GET, "/api/v1/clients/batch", None).await;
    assert!(!shown.body.contains(&new) && !shown.body.contains(&old));

    a.expect(
        201,
        Method::POST,
        "/api/v1/clients",
        Some(json!({ "client_id": "pub", "public": true, "redirect_uris": ["http://127.0.0.1/cb"] })),
    )
    .await;
    let public = a
        .call(Method::POST, "/api/v1/clients/pub/rotate-secret", None)
        .await;
    assert_problem(&public, 409, "conflict");
    let nobody = a
        .call(Method::POST, "/api/v1/clients/nobody/rotate-secret", None)
        .await;
    assert_problem(&nobody, 404, "not-found");
}

#[tokio::test]
async fn a_deleted_client_is_gone_and_its_secret_stops_working() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "temp", "grant_types": ["client_credentials"] })),
        )
        .await;
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    a.expect_done(Method::DELETE, "/api/v1/clients/temp", None).await;
    assert_problem(
        &a.call(Method::GET, "/api/v1/clients/temp", None).await,
        404,
        "not-found",
    );
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/clients/temp", None).await,
        404,
        "not-found",
    );
    assert!(!client_ids(&a.get("/api/v1/clients").await).contains("temp"));
    let token =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic("temp", &secret))],
        )
        .await;
    assert_eq!(token.status, StatusCode::UNAUTHORIZED, "{}", token.body);
}

#[tokio::test]
async fn declared_clients_cannot_be_changed_through_the_api() {
    let mut a = Admin::new().await;
    let before = a.get("/api/v1/clients/web").await;
    for (method, path, body) in [
        (
            Method::PATCH,
            "/api/v1/clients/web",
            Some(json!({ "redirect_uris": ["https://evil.example/cb"] })),
        ),
        (
            Method::PATCH,
            "/api/v1/clients/web",
            Some(json!({ "name": "Mine" })),
        ),
        (Method::POST, "/api/v1/clients/web/rotate-secret", None),
        (Method::DELETE, "/api/v1/clients/web", None),
        (Method::DELETE, "/api/v1/clients/ops", None),
        (Method::DELETE, "/api/v1/clients/latchkey-docs", None),
    ] {
        let what = format!("{method} {path}");
        let reply = a.call(method, path, body).await;
        let problem = assert_problem(&reply, 409, "conflict");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("configuration")),
            "{what}: the problem says where to change it: {problem}"
        );
    }
    assert_eq!(a.get("/api/v1/clients/web").await, before);
    let token =
        a.s.token(&[("grant_type", "client_credentials"), ("scope", "profile")])
            .await;
    assert_eq!(token.status, StatusCode::OK, "the declared secret still works");
}

// Sessions and consents

#[tokio::test]
async fn sessions_are_listed_and_revoked_one_at_a_time_or_all_at_once() {
    let mut a = Admin::new().await;
    assert_eq!(a.get("/api/v1/users/alice/sessions").await, json!([]));
    a.s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let first_browser = a.s.switch_browser(Default::default());
    a.s.advance(10);
    a.s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;

    let sessions = a.get("/api/v1/users/alice/sessions").await;
    let list = sessions.as_array().expect("a list of sessions");
    assert_eq!(list.len(), 2, "{sessions}");
    assert_eq!(list[0]["amr"], json!(["pwd"]));
    assert_eq!(list[0]["created_at"], 1_800_000_000u64);
    assert_eq!(list[1]["created_at"], 1_800_000_010u64);
    assert!(list[0]["expires_at"].as_u64() > list[0]["created_at"].as_u64());
    let (first_sid, second_sid) = (
        list[0]["sid"].as_str().unwrap().to_owned(),
        list[1]["sid"].as_str().unwrap().to_owned(),
    );
    assert_ne!(first_sid, second_sid);
    for cookie in a.s.cookies().values().chain(first_browser.values()) {
        assert!(!sessions.to_string().contains(cookie.as_str()), "never a cookie");
    }
    let subject = a.get("/api/v1/users/alice").await["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        a.get(&format!("/api/v1/users/{subject}/sessions")).await,
        sessions,
        "a user is found by subject too"
    );

    a.expect_done(
        Method::DELETE,
        &format!("/api/v1/users/alice/sessions/{first_sid}"),
        None,
    )
    .await;
    let left = a.get("/api/v1/users/alice/sessions").await;
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["sid"], second_sid.as_str());
    assert!(signed_in(&mut a.s).await, "the second browser is still signed in");
    let second_browser = a.s.switch_browser(first_browser);
    assert!(!signed_in(&mut a.s).await, "the first browser's session ended");
    assert_problem(
        &a.call(
            Method::DELETE,
            &format!("/api/v1/users/alice/sessions/{first_sid}"),
            None,
        )
        .await,
        404,
        "not-found",
    );

    a.s.switch_browser(second_browser);
    a.expect_done(Method::DELETE, "/api/v1/users/alice/sessions", None)
        .await;
    assert_eq!(a.get("/api/v1/users/alice/sessions").await, json!([]));
    assert!(!signed_in(&mut a.s).await, "every session ended");
    for (method, path) in [
        (Method::GET, "/api/v1/users/nobody/sessions"),
        (Method::DELETE, "/api/v1/users/nobody/sessions"),
        (Method::DELETE, "/api/v1/users/nobody/sessions/abc"),
    ] {
        assert_problem(&a.call(method, path, None).await, 404, "not-found");
    }
}

#[tokio::test]
async fn a_revoked_consent_is_asked_for_again() {
    let mut a = Admin::new().await;
    assert_eq!(a.get("/api/v1/users/alice/consents").await, json!([]));
    a.s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let consents = a.get("/api/v1/users/alice/consents").await;
    assert_eq!(
        consents,
        json!([{ "client_id": "web", "scopes": ["openid", "profile"], "granted_at": 1_800_000_000u64 }])
    );
    // Remembered: the next request goes straight back to the client.
    let again = a.s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert!(again.location().starts_with(REDIRECT));

    a.expect_done(Method::DELETE, "/api/v1/users/alice/consents/web", None)
        .await;
    assert_eq!(a.get("/api/v1/users/alice/consents").await, json!([]));
    let asked = a.s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(
        asked.body.contains("action=\"/oauth/consent\""),
        "the consent page is shown again: {}",
        asked.body
    );
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/users/alice/consents/web", None)
            .await,
        404,
        "not-found",
    );
    for (method, path) in [
        (Method::GET, "/api/v1/users/nobody/consents"),
        (Method::DELETE, "/api/v1/users/nobody/consents/web"),
        (Method::DELETE, "/api/v1/users/alice/consents/nobody"),
        (Method::DELETE, "/api/v1/users/alice/consents/not%20a%20client"),
    ] {
        assert_problem(&a.call(method, path, None).await, 404, "not-found");
    }
}

#[tokio::test]
async fn upstream_identities_are_linked_listed_and_unlinked_and_an_identity_has_one_user() {
    let mut a = Admin::new().await;
    assert_eq!(a.get("/api/v1/users/alice/links").await, json!([]));
    let body = json!({ "upstream": "corp", "subject": "248289761001" });
    let created = a
        .expect(201, Method::POST, "/api/v1/users/alice/links", Some(body.clone()))
        .await;
    assert_eq!(created["upstream"], "corp");
    assert_eq!(created["upstream_subject"], "248289761001");
    assert_eq!(created["linked_at"], 1_800_000_000u64);
    assert_eq!(created["last_used"], Value::Null);
    assert_eq!(a.get("/api/v1/users/alice/links").await, json!([created]));

    // One identity, one user: linking it again, to anyone, is a conflict.
    add_admin(&a.s, "bob").await;
    for user in ["alice", "bob"] {
        let again = a
            .call(
                Method::POST,
                &format!("/api/v1/users/{user}/links"),
                Some(body.clone()),
            )
            .await;
        assert_problem(&again, 409, "conflict");
    }
    assert_eq!(a.get("/api/v1/users/bob/links").await, json!([]));
    for bad in [
        json!({ "upstream": "Corp", "subject": "x" }),
        json!({ "upstream": "corp", "subject": "" }),
        json!({ "upstream": "corp", "subject": "a\u{7}b" }),
    ] {
        let reply = a
            .call(Method::POST, "/api/v1/users/alice/links", Some(bad.clone()))
            .await;
        assert!(
            invalid_field(&reply, "upstream").is_ok() || invalid_field(&reply, "subject").is_ok(),
            "{bad}: {} {}",
            reply.status,
            reply.body
        );
    }
    assert_problem(
        &a.call(
            Method::POST,
            "/api/v1/users/alice/links",
            Some(json!({ "upstream": "corp" })),
        )
        .await,
        400,
        "bad-request",
    );
    // Only the owner's link can be removed through the owner.
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/users/bob/links/corp/248289761001", None)
            .await,
        404,
        "not-found",
    );
    a.expect_done(
        Method::DELETE,
        "/api/v1/users/alice/links/corp/248289761001",
        None,
    )
    .await;
    assert_eq!(a.get("/api/v1/users/alice/links").await, json!([]));
    assert_problem(
        &a.call(
            Method::DELETE,
            "/api/v1/users/alice/links/corp/248289761001",
            None,
        )
        .await,
        404,
        "not-found",
    );
    assert_problem(
        &a.call(Method::GET, "/api/v1/users/nobody/links", None).await,
        404,
        "not-found",
    );
    let (events, _) = a.audit_feed(500).await;
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "user.link" && e["success"] == true)
    );
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "user.unlink" && e["success"] == true)
    );
}

#[tokio::test]
async fn deleting_a_user_removes_its_links() {
    let mut a = Admin::new().await;
    a.expect(
        201,
        Method::POST,
        "/api/v1/users/alice/links",
        Some(json!({ "upstream": "corp", "subject": "s-1" })),
    )
    .await;
    a.expect_done(Method::DELETE, "/api/v1/users/alice", None).await;
    add_admin(&a.s, "alice").await;
    assert_eq!(a.get("/api/v1/users/alice/links").await, json!([]));
    // The identity is free again.
    a.expect(
        201,
        Method::POST,
        "/api/v1/users/alice/links",
        Some(json!({ "upstream": "corp", "subject": "s-1" })),
    )
    .await;
}

// Keys

#[tokio::test]
async fn rotating_keys_publishes_both_keys_and_old_tokens_still_work() {
    let mut a = Admin::new().await;
    let keys = a.get("/api/v1/keys").await;
    let keys = keys.as_array().expect("a list of keys").clone();
    let active: Vec<&Value> = keys.iter().filter(|k| k["status"] == "active").collect();
    assert_eq!(active.len(), 1, "{keys:?}");
    let old_kid = active[0]["kid"].as_str().unwrap().to_owned();
    let jwks_before = a.s.get("/.well-known/jwks.json").await.json();
    // Each Ed25519 key is listed once per name (`EdDSA`, `Ed25519`): count the kids.
    let published_before = jwks_before["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect::<BTreeSet<_>>()
        .len();

    a.s.advance(60);
    let new = a.expect(200, Method::POST, "/api/v1/keys/rotate", None).await;
    let new_kid = new["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(new["status"], "active");
    assert_eq!(new["created_at"], 1_800_000_060u64);

    let keys = a.get("/api/v1/keys").await;
    let status = |kid: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .map(|k| k["status"].clone())
    };
    assert_eq!(status(&new_kid), Some(json!("active")));
    assert_eq!(status(&old_kid), Some(json!("retiring")));
    let old = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == old_kid.as_str())
        .unwrap();
    assert!(old["retire_at"].as_u64().is_some_and(|t| t > 1_800_000_060));
    assert_eq!(keys[0]["kid"], new_kid.as_str(), "newest first");
    assert!(!keys.to_string().contains("\"d\""), "no private key material");

    let jwks = a.s.get("/.well-known/jwks.json").await.json();
    let kids: BTreeSet<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), published_before + 1, "{jwks}");
    assert!(kids.contains(old_kid.as_str()) && kids.contains(new_kid.as_str()));

    // The admin token was signed by the old key, which is still published.
    a.get("/api/v1/keys").await;
    let fresh = ops_token(&mut a.s).await;
    let header = fresh.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&latchkey::crypto::b64url_decode(header).unwrap()).unwrap();
    assert_eq!(header["kid"], new_kid.as_str(), "new tokens use the new key");
}

// The audit feed

/// A busy stretch: sign-ins that work and fail, tokens issued and refused, admin changes by two
/// administrators, and a refused admin call. Returns the server and every secret it used.
async fn busy_day() -> (Admin, Vec<String>) {
    let mut a = Admin::new().await;
    add_admin(&a.s, "root").await;
    let mut secrets: Vec<String> = [OPS_SECRET, CONSOLE_SECRET, WEB_SECRET, PASSWORD, ROOT_PASSWORD]
        .map(String::from)
        .to_vec();
    secrets.push(a.token.clone());

    // A browser sign-in and a code for `web`, then tokens.
    let code = a.s.code(&[("scope", "openid offline_access")]).await;
    secrets.push(code.clone());
    secrets.extend(a.s.cookies().values().cloned());
    let tokens = a.s.exchange(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let tokens = tokens.json();
    for name in ["access_token", "refresh_token", "id_token"] {
        secrets.push(tokens[name].as_str().unwrap().to_owned());
    }
    // Failures: a wrong password on the page and at the token endpoint, a wrong client secret.
    let wrong_password = "guess-1-wrong-password";
    secrets.push(wrong_password.to_owned());
    let jar = a.s.switch_browser(Default::default());
    let page =
        a.s.get(&InProc::authorize_uri("spa", "http://127.0.0.1/cb", &[]))
            .await;
    let failed = a.s.login_from(&page, "alice", wrong_password).await;
    assert!(failed.body.contains("action=\"/login\""));
    a.s.switch_browser(jar);
    assert_eq!(
        password_grant(&mut a.s, "alice", wrong_password, "openid")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let wrong_secret = "not-the-web-secret-0123456789";
    secrets.push(wrong_secret.to_owned());
    let refused =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic("web", wrong_secret))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Refresh, then revoke.
    let refreshed =
        a.s.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let refreshed = refreshed.json();
    secrets.push(refreshed["access_token"].as_str().unwrap().to_owned());
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());
    let revoked =
        a.s.post_with(
            "/oauth/revoke",
            &[("token", refreshed["refresh_token"].as_str().unwrap())],
            &[("authorization", &basic("web", WEB_SECRET))],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);

    // Admin changes by the `ops` client.
    let new_password = "a password set by ops, 2024";
    secrets.push(new_password.to_owned());
    a.expect(
        201,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "newbie", "password": "newbie's first password" })),
    )
    .await;
    secrets.push("newbie's first password".to_owned());
    a.expect_done(
        Method::PUT,
        "/api/v1/users/newbie/password",
        Some(json!({ "password": new_password })),
    )
    .await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "billing", "grant_types": ["client_credentials"] })),
        )
        .await;
    secrets.push(created["client_secret"].as_str().unwrap().to_owned());
    let rotated = a
        .expect(200, Method::POST, "/api/v1/clients/billing/rotate-secret", None)
        .await;
    secrets.push(rotated["client_secret"].as_str().unwrap().to_owned());
    a.expect(200, Method::POST, "/api/v1/users/newbie/disable", None)
        .await;
    // A refused change: the user does not exist.
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/users/ghost", None).await,
        404,
        "not-found",
    );
    // Changes by the administrator `root`, with a token from the password grant.
    let root = password_grant(&mut a.s, "root", ROOT_PASSWORD, "openid admin").await;
    let root_token = access_token(&root);
    secrets.push(root_token.clone());
    let reply = a
        .call_as(Some(&root_token), Method::DELETE, "/api/v1/users/newbie", None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    // A call without a token.
    let denied = a.call_as(None, Method::GET, "/api/v1/users", None).await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    let bogus = "bogus.admin.token";
    let denied = a
        .call_as(Some(bogus), Method::POST, "/api/v1/keys/rotate", None)
        .await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    // The refusal is counted, and written by the purge task once its interval has ended.
    purge_after_the_fold_interval(&a.s).await;
    (a, secrets)
}

/// Moves the clock past the fold interval and runs one round of the purge task, which writes the
/// folded refusals of the interval that ended.
async fn purge_after_the_fold_interval(s: &InProc) {
    s.advance(audit::FOLD_SECONDS);
    purge::once(&s.app, 10_000).await.expect("the purge round runs");
}

/// The one event with `action` and `target`, or a panic listing the feed.
#[track_caller]
fn event<'a>(events: &'a [Value], action: &str, target: Option<&str>) -> &'a Value {
    let found: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == action && target.is_none_or(|t| e["target"] == t))
        .collect();
    assert!(
        !found.is_empty(),
        "no `{action}` event for {target:?} in the feed:\n{}",
        serde_json::to_string_pretty(events).unwrap()
    );
    found[0]
}

#[tokio::test]
async fn the_audit_feed_pages_through_logins_tokens_and_admin_changes_with_actor_target_and_ip() {
    let (mut a, _) = busy_day().await;
    // Failures that prove nothing (a wrong client secret) are folded in memory until written.
    latchkey::service::audit::flush_denials(&a.s.app, latchkey::service::audit::Flush::All)
        .await
        .unwrap();
    let (events, _) = a.audit_feed(4).await;
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend: {ids:?}");
    let times: Vec<u64> = events.iter().map(|e| e["time"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");

    // The same events as one big page (the feed's own reads since are later).
    a.s.advance(1);
    let whole = a.get("/api/v1/audit?limit=500").await;
    let whole: Vec<Value> = whole["items"].as_array().unwrap().clone();
    assert_eq!(
        &whole[..events.len()],
        &events[..],
        "paging sees every event once"
    );

    let position = |action: &str, target: &str| {
        events
            .iter()
            .position(|e| e["action"] == action && e["target"] == target)
            .unwrap_or_else(|| panic!("no {action} {target}"))
    };
    assert!(
        position("user.create", "newbie") < position("user.password", "newbie")
            && position("user.password", "newbie") < position("user.disable", "newbie")
            && position("user.disable", "newbie") < position("user.delete", "newbie"),
        "events are listed in the order they happened"
    );
    let success = events
        .iter()
        .find(|e| e["action"] == "login.success" && e["actor"] == "alice")
        .expect("alice's sign-in");
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "login.success" && e["actor"] == "root"),
        "root's sign-in by the password grant"
    );
    assert_eq!(success["ip"], PEER_IP);
    assert_eq!(success["success"], true);
    let failure = event(&events, "login.failure", None);
    assert_eq!(failure["actor"], "alice");
    assert_eq!(failure["ip"], PEER_IP);
    assert_eq!(failure["success"], false);
    let failures = events.iter().filter(|e| e["action"] == "login.failure").count();
    assert_eq!(failures, 2, "the page and the password grant");

    let issued = event(&events, "token.issued", Some("offline_access openid"));
    assert_eq!(issued["actor"], "client:web");
    assert_eq!(issued["ip"], PEER_IP);
    assert_eq!(issued["success"], true);
    let ops_issued = event(&events, "token.issued", Some("admin"));
    assert_eq!(ops_issued["actor"], "client:ops");
    let root_issued = event(&events, "token.issued", Some("admin openid"));
    assert_eq!(root_issued["actor"], "client:console");
    let refused_grant = event(&events, "token.refused", Some("invalid_grant"));
    assert_eq!(refused_grant["actor"], "client:console");
    assert_eq!(refused_grant["success"], false);
    let bad_secret = event(&events, "client.auth_failure", Some("invalid_client"));
    assert_eq!(bad_secret["actor"], "anonymous", "anyone can send any client id");
    assert_eq!(bad_secret["ip"], PEER_IP);
    assert!(bad_secret["count"].as_u64().unwrap() >= 1);
    assert_eq!(bad_secret["success"], false);
    event(&events, "token.revoke", None);

    for (action, target) in [
        ("user.create", "newbie"),
        ("user.password", "newbie"),
        ("client.create", "billing"),
        ("client.rotate_secret", "billing"),
        ("user.disable", "newbie"),
    ] {
        let e = event(&events, action, Some(target));
        assert_eq!(e["actor"], "client:ops", "{e}");
        assert_eq!(e["ip"], PEER_IP, "{e}");
        assert_eq!(e["success"], true, "{e}");
    }
    let refused = event(&events, "user.delete", Some("ghost"));
    assert_eq!(refused["success"], false, "a refused change is recorded as such");
    let by_root = event(&events, "user.delete", Some("newbie"));
    assert_eq!(by_root["actor"], "root", "a person acts under their username");
    assert_eq!(by_root["success"], true);
    assert_eq!(by_root["ip"], PEER_IP);

    let calls = events.iter().filter(|e| e["action"] == "admin.call").count();
    assert!(calls >= 8, "every admin call is recorded, reads included");
    let denied: Vec<&Value> = events.iter().filter(|e| e["action"] == "admin.denied").collect();
    // The call that carried a token that is not one; a call with no token at all is refused
    // before it is an admin call.
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(denied.iter().all(|e| e["success"] == false && e["ip"] == PEER_IP));
    assert!(
        denied
            .iter()
            .any(|e| e["target"] == "unauthorized" && e["count"] == 1)
    );
    assert!(
        events
            .iter()
            .filter(|e| e["action"] != "admin.denied")
            .all(|e| e["count"] == 1),
        "only folded refusals stand for more than one occurrence"
    );
}

#[tokio::test]
async fn the_audit_feed_never_contains_a_secret_password_token_or_cookie() {
    let (mut a, secrets) = busy_day().await;
    let (events, raw) = a.audit_feed(7).await;
    assert!(events.len() > 20, "a busy day: {}", events.len());
    for secret in &secrets {
        assert!(secret.len() >= 8, "a secret worth looking for: {secret}");
        assert!(
            !raw.contains(secret.as_str()),
            "the audit feed holds a secret `{secret}`:\n{raw}"
        );
        // Long tokens are also looked for by a distinctive piece.
        if secret.len() > 40 {
            let piece = &secret[secret.len() - 24..];
            assert!(!raw.contains(piece), "the audit feed holds part of `{secret}`");
        }
        let digest = clients::digest_text(secret);
        let digest = digest.trim_start_matches("sha256:");
        assert!(
            !raw.contains(digest),
            "the audit feed holds a digest of `{secret}`"
        );
    }
    assert!(!raw.contains("$argon2"), "never a password hash");
}

#[tokio::test]
async fn audit_pages_are_bounded_and_the_cursor_is_opaque() {
    let mut a = Admin::new().await;
    for _ in 0..5 {
        a.get("/api/v1/clients").await;
    }
    let page = a.get("/api/v1/audit?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next"].is_string());
    for bad in ["limit=0", "limit=501", "limit=-1", "limit=many"] {
        let reply = a.call(Method::GET, &format!("/api/v1/audit?{bad}"), None).await;
        assert_problem(&reply, 400, "bad-request");
    }
    for cursor in ["", "zzzz", "..%2F..", "%F0%9F%94%91", "0"] {
        let reply = a
            .call(Method::GET, &format!("/api/v1/audit?after={cursor}"), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "after={cursor}: {}", reply.body);
    }
    let past_the_end = a.get("/api/v1/audit?after=~").await;
    assert_eq!(past_the_end["items"], json!([]));
    assert_eq!(past_the_end["next"], Value::Null);
}

/// Regression: audit keys were the second followed by random characters, so entries of one second
/// were listed in random order, and a reader paging with `after` could skip an entry written
/// after it had read a page of the same second.
#[tokio::test]
async fn audit_entries_of_one_second_are_listed_in_the_order_they_happened() {
    let mut a = Admin::new().await;
    let names: Vec<String> = (0..12).map(|i| format!("user-{i:02}")).collect();
    // A reader following the feed as it grows, all within one second.
    let mut followed: Vec<String> = Vec::new();
    let mut cursor = String::new();
    for name in &names {
        a.expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": name })),
        )
        .await;
        for _ in 0..100 {
            let page = a
                .get(&format!("/api/v1/audit?limit=2&after={}", encode(&cursor)))
                .await;
            for e in page["items"].as_array().unwrap() {
                cursor = e["id"].as_str().unwrap().to_owned();
                if e["action"] == "user.create" {
                    followed.push(e["target"].as_str().unwrap().to_owned());
                }
            }
            if page["next"].is_null() {
                break;
            }
        }
    }
    assert_eq!(followed, names, "a reader following the feed misses nothing");
    let (events, _) = a.audit_feed(500).await;
    let created: Vec<&str> = events
        .iter()
        .filter(|e| e["action"] == "user.create")
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(created, names, "oldest first, within one second too");
}

/// The number of rows in the audit table, read straight from the store.
fn audit_rows(s: &InProc) -> u64 {
    s.app.store.read(|tx| tx.audit_count()).unwrap()
}

/// Regression (security review, item 3): 3,000 requests with bad bearer tokens added 3,009 rows
/// to the audit table, 429 answers included. Now a refusal costs no write of its own: refusals
/// from one address are counted in one entry per interval, written by the purge task, and a
/// throttled request is not counted at all. Real admin actions in the middle of the flood are
/// still recorded, each as it happens.
#[tokio::test]
async fn a_flood_of_bad_admin_tokens_leaves_one_counted_audit_entry_and_its_429s_none() {
    let mut a = Admin::new().await;
    let flooder: std::net::SocketAddr = "192.0.2.66:40000".parse().unwrap();
    let before = audit_rows(&a.s);
    let (mut refused, mut throttled, mut real) = (0u64, 0u64, Vec::new());
    for n in 0..3000 {
        a.s.set_peer(flooder);
        let bad = format!("bad.admin.token-{n}");
        let reply = a.call_as(Some(&bad), Method::GET, "/api/v1/users", None).await;
        match reply.status.as_u16() {
            401 => refused += 1,
            429 => throttled += 1,
            other => panic!("attempt {n}: {other} {}", reply.body),
        }
        if n % 500 == 250 {
            a.s.set_peer(PEER.parse().unwrap());
            let name = format!("created-during-the-flood-{n}");
            a.expect(
                201,
                Method::POST,
                "/api/v1/users",
                Some(json!({ "username": name })),
            )
            .await;
            real.push(name);
        }
        // Thirty seconds in all, within one fold interval: the throttle's delays pass now and
        // then, so that more than its first 50 refusals are answered 401.
        if n % 100 == 99 {
            a.s.advance(1);
        }
    }
    assert!(
        refused > 50 && throttled > 2000,
        "{refused} refused, {throttled} throttled"
    );
    // Each real action wrote its two entries (`admin.call` and `user.create`); the flood nothing.
    let real_rows = 2 * real.len() as u64;
    assert_eq!(
        audit_rows(&a.s),
        before + real_rows,
        "refusals cost no write of their own"
    );

    purge_after_the_fold_interval(&a.s).await;
    assert_eq!(
        audit_rows(&a.s),
        before + real_rows + 1,
        "one entry for the whole flood"
    );
    let (events, _) = a.audit_feed(500).await;
    let folded: Vec<&Value> = events.iter().filter(|e| e["action"] == "admin.denied").collect();
    assert_eq!(folded.len(), 1, "{folded:?}");
    let e = folded[0];
    assert_eq!(e["ip"], "192.0.2.66", "{e}");
    assert_eq!(e["target"], "unauthorized", "{e}");
    assert_eq!(e["success"], false, "{e}");
    assert_eq!(e["count"], refused, "every 401 is counted, no 429: {e}");
    for name in &real {
        let created = event(&events, "user.create", Some(name));
        assert_eq!(created["ip"], PEER_IP, "{created}");
        assert_eq!(created["success"], true, "{created}");
    }
    // Another round writes nothing more: the interval was written once.
    let rows = audit_rows(&a.s);
    purge_after_the_fold_interval(&a.s).await;
    assert_eq!(audit_rows(&a.s), rows, "no second entry for the same refusals");
}

/// Refusals counted since the last purge round are not lost when the server stops: a graceful
/// stop writes them, one counted entry per address.
#[tokio::test]
async fn refusals_counted_before_a_graceful_stop_are_written_as_the_server_stops() {
    let mut server = Server::running();
    let http = crate::harness::http();
    for n in 0..5 {
        let reply = http
            .get(format!("{}/api/v1/users", server.base_url()))
            .bearer_auth(format!("not-a-token-{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(server.terminate().success());
    let store = latchkey::store::Store::open(&server.data_path()).unwrap();
    let rows = store.read(|tx| tx.audit_entries(None, 1000)).unwrap();
    let denied: Vec<_> = rows.iter().filter(|(_, r)| r.action == "admin.denied").collect();
    // One entry, or two if the calls straddled the start of a minute.
    assert!(matches!(denied.len(), 1 | 2), "{rows:?}");
    assert_eq!(denied.iter().map(|(_, r)| r.count).sum::<u64>(), 5, "{rows:?}");
    assert!(denied.iter().all(|(_, r)| r.ip.as_deref() == Some("127.0.0.1")));
}

/// `[audit] retain`: the purge task deletes entries older than it (default 90 days), oldest
/// first, and keeps the newer ones.
#[tokio::test]
async fn audit_entries_older_than_audit_retain_are_deleted_by_the_purge_task() {
    for (extra, kept) in [("[audit]\nretain = \"1h\"\n", false), ("", true)] {
        let mut a = Admin::with(extra).await;
        a.expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "old-news" })),
        )
        .await;
        a.s.advance(3600 + 60);
        a.token = ops_token(&mut a.s).await;
        a.expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "fresh-news" })),
        )
        .await;
        let purged_at = a.s.app.clock.now().0;
        purge::once(&a.s.app, 10_000).await.expect("the purge round runs");
        let (events, _) = a.audit_feed(500).await;
        event(&events, "user.create", Some("fresh-news"));
        let old = events
            .iter()
            .any(|e| e["action"] == "user.create" && e["target"] == "old-news");
        assert_eq!(old, kept, "config `{extra}`: {events:?}");
        if !kept {
            assert!(
                events
                    .iter()
                    .all(|e| e["time"].as_u64().unwrap() + 3600 >= purged_at),
                "nothing older than `retain` is left: {events:?}"
            );
        }
    }
}

// Who may call

/// A representative set of admin operations, one per kind.
fn operations() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/users", None),
        (Method::POST, "/api/v1/users", Some(json!({ "username": "eve" }))),
        (Method::GET, "/api/v1/users/alice", None),
        (
            Method::PATCH,
            "/api/v1/users/alice",
            Some(json!({ "groups": ["admins"] })),
        ),
        (
            Method::PUT,
            "/api/v1/users/alice/password",
            Some(json!({ "password": "eve's chosen password" })),
        ),
        (Method::POST, "/api/v1/users/alice/disable", None),
        (Method::DELETE, "/api/v1/users/alice", None),
        (Method::GET, "/api/v1/users/alice/sessions", None),
        (Method::DELETE, "/api/v1/users/alice/consents/web", None),
        (Method::GET, "/api/v1/clients", None),
        (
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "evil", "grant_types": ["client_credentials"], "scopes": ["admin"] })),
        ),
        (Method::POST, "/api/v1/clients/web/rotate-secret", None),
        (Method::POST, "/api/v1/keys/rotate", None),
        (Method::GET, "/api/v1/audit", None),
    ]
}

/// Asserts that nothing changed: alice is as she was, no `eve` or `evil`.
async fn assert_untouched(a: &mut Admin) {
    let alice = a.get("/api/v1/users/alice").await;
    assert_eq!(alice["groups"], json!(["readers"]));
    assert_eq!(alice["disabled"], false);
    assert_problem(
        &a.call(Method::GET, "/api/v1/users/eve", None).await,
        404,
        "not-found",
    );
    assert_problem(
        &a.call(Method::GET, "/api/v1/clients/evil", None).await,
        404,
        "not-found",
    );
    assert_eq!(
        password_grant(&mut a.s, "alice", PASSWORD, "openid").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn admin_calls_without_a_token_are_401_problems_with_www_authenticate() {
    let mut a = Admin::new().await;
    for (method, path, body) in operations() {
        let what = format!("{method} {path}");
        for auth in [
            None,
            Some("Bearer".to_owned()),
            Some("Bearer ".to_owned()),
            Some("Bearer not-a-jwt".to_owned()),
            Some(basic("ops", OPS_SECRET)),
            Some(format!("Bearer {}x", a.token)),
        ] {
            let headers: Vec<(&str, &str)> = auth.iter().map(|v| ("authorization", v.as_str())).collect();
            let reply = a.s.send_json(method.clone(), path, body.as_ref(), &headers).await;
            let problem = assert_problem(&reply, 401, "unauthorized");
            let challenge = reply.header("www-authenticate").unwrap_or("");
            assert!(
                challenge.starts_with("Bearer"),
                "{what} with {auth:?}: WWW-Authenticate names Bearer, not `{challenge}`"
            );
            assert!(problem["detail"].is_string(), "{problem}");
        }
    }
    assert_untouched(&mut a).await;
}

#[tokio::test]
async fn bad_admin_tokens_from_one_address_are_throttled_with_retry_after() {
    let mut a = Admin::new().await;
    let bad = format!("{}x", a.token);
    for n in 0..50 {
        let reply = a.call_as(Some(&bad), Method::GET, "/api/v1/users", None).await;
        assert!(
            reply.status == StatusCode::UNAUTHORIZED,
            "attempt {n}: {}",
            reply.body
        );
    }
    let throttled = a.call_as(Some(&bad), Method::GET, "/api/v1/users", None).await;
    let problem = assert_problem(&throttled, 429, "too-many-requests");
    let wait: u64 = throttled
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in seconds: {throttled:?}"));
    assert!(wait >= 1, "{problem}");
    assert_eq!(throttled.header("cache-control"), Some("no-store"));
    // While the address waits, even a good token from it waits: nothing is checked.
    let waiting = a.call(Method::GET, "/api/v1/users", None).await;
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS, "{}", waiting.body);
    // Another address is not affected: no lock-out of the real administrator.
    a.s.set_peer("198.51.100.99:40000".parse().expect("a socket address"));
    a.get("/api/v1/users").await;
    // Nor is the first address once the delay has passed.
    a.s.set_peer(PEER.parse().expect("a socket address"));
    a.s.advance(wait);
    a.get("/api/v1/users").await;
}

#[tokio::test]
async fn an_expired_or_revoked_admin_token_is_401() {
    let mut a = Admin::new().await;
    a.get("/api/v1/users").await;
    a.s.advance(ACCESS_TOKEN_LIFETIME - 1);
    a.get("/api/v1/users").await;
    a.s.advance(2);
    for (method, path, body) in operations() {
        let reply = a.call(method, path, body).await;
        assert_problem(&reply, 401, "unauthorized");
        assert!(reply.header("www-authenticate").is_some());
    }
    // A fresh token works; revoked, it stops.
    a.token = ops_token(&mut a.s).await;
    a.get("/api/v1/users").await;
    let revoked =
        a.s.post_with(
            "/oauth/revoke",
            &[("token", &a.token)],
            &[("authorization", &basic("ops", OPS_SECRET))],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_problem(
        &a.call(Method::GET, "/api/v1/users", None).await,
        401,
        "unauthorized",
    );
    a.token = ops_token(&mut a.s).await;
    assert_untouched(&mut a).await;
}

#[tokio::test]
async fn a_token_without_the_admin_scope_is_403() {
    let mut a = Admin::new().await;
    // A client's own token, and alice's token from the code flow, neither with `admin`.
    let client_token = access_token(&a.s.token(&[("grant_type", "client_credentials")]).await);
    let code = a.s.code(&[]).await;
    let user_token = access_token(&a.s.exchange(&code).await);
    let console = console_code_flow(&mut a.s, "alice", PASSWORD, "openid profile").await;
    let console_token = access_token(&console);
    for token in [&client_token, &user_token, &console_token] {
        for (method, path, body) in operations() {
            let reply = a.call_as(Some(token), method, path, body).await;
            let problem = assert_problem(&reply, 403, "forbidden");
            assert!(
                problem["detail"].as_str().is_some_and(|d| d.contains("admin")),
                "{problem}"
            );
        }
    }
    assert_untouched(&mut a).await;
}

#[tokio::test]
async fn a_non_admin_user_cannot_obtain_the_admin_scope() {
    let mut a = Admin::new().await;
    let grant = password_grant(&mut a.s, "alice", PASSWORD, "openid admin").await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST, "{}", grant.body);
    assert_eq!(grant.json()["error"], "invalid_scope");
    let only_admin = password_grant(&mut a.s, "alice", PASSWORD, "admin").await;
    assert_eq!(only_admin.json()["error"], "invalid_scope");

    // The code flow sends her back to the client with access_denied, with no code.
    let uri = InProc::authorize_uri("console", CONSOLE_REDIRECT, &[("scope", "openid admin")]);
    let page = a.s.get(&uri).await;
    let mut reply = a.s.login_from(&page, "alice", PASSWORD).await;
    for _ in 0..3 {
        if reply.status == StatusCode::SEE_OTHER && reply.location().starts_with('/') {
            let next = reply.location().to_owned();
            reply = a.s.get(&next).await;
        }
    }
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(
        reply.location().starts_with(CONSOLE_REDIRECT),
        "{}",
        reply.location()
    );
    assert_eq!(reply.location_param("error").as_deref(), Some("access_denied"));
    assert_eq!(reply.location_param("code"), None);
    // Signed in now, she is refused at once, and the docs client refuses her too.
    let again = a.s.get(&uri).await;
    assert_eq!(again.location_param("error").as_deref(), Some("access_denied"));
    let docs = InProc::authorize_uri(
        "latchkey-docs",
        &format!("{ISSUER}/docs/oauth-receiver.html"),
        &[("scope", "openid admin")],
    );
    let docs = a.s.get(&docs).await;
    assert_eq!(docs.location_param("error").as_deref(), Some("access_denied"));
    // A client not registered for `admin` cannot have it for itself either.
    let web =
        a.s.token(&[("grant_type", "client_credentials"), ("scope", "admin")])
            .await;
    assert_eq!(web.status, StatusCode::BAD_REQUEST, "{}", web.body);
    assert_eq!(web.json()["error"], "invalid_scope");
}

#[tokio::test]
async fn an_administrator_token_from_the_code_flow_or_password_grant_opens_the_api() {
    let mut a = Admin::new().await;
    add_admin(&a.s, "root").await;
    let from_code = access_token(&console_code_flow(&mut a.s, "root", ROOT_PASSWORD, "openid admin").await);
    let from_password = access_token(&password_grant(&mut a.s, "root", ROOT_PASSWORD, "admin").await);
    for token in [&from_code, &from_password] {
        let reply = a
            .call_as(Some(token), Method::GET, "/api/v1/users?search=root", None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(usernames(&reply.json()), ["root"]);
    }
    let reply = a
        .call_as(
            Some(&from_code),
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "made-by-root" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let (events, _) = a.audit_feed(500).await;
    assert_eq!(
        event(&events, "user.create", Some("made-by-root"))["actor"],
        "root"
    );
}

#[tokio::test]
async fn a_user_removed_from_admins_after_getting_a_token_is_403_and_a_disabled_or_deleted_one_401() {
    let mut a = Admin::new().await;
    add_admin(&a.s, "root").await;
    let token = access_token(&password_grant(&mut a.s, "root", ROOT_PASSWORD, "openid admin").await);
    let ok = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_eq!(ok.status, StatusCode::OK);

    a.expect(
        200,
        Method::PATCH,
        "/api/v1/users/root",
        Some(json!({ "groups": ["staff"] })),
    )
    .await;
    for (method, path, body) in operations() {
        let reply = a.call_as(Some(&token), method, path, body).await;
        assert_problem(&reply, 403, "forbidden");
    }
    // Back in the group, the same token works again.
    a.expect(
        200,
        Method::PATCH,
        "/api/v1/users/root",
        Some(json!({ "groups": ["admins"] })),
    )
    .await;
    let ok = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    a.expect(200, Method::POST, "/api/v1/users/root/disable", None)
        .await;
    // Disabling revokes the user's tokens outright, and enabling does not bring them back.
    let disabled = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_problem(&disabled, 401, "unauthorized");
    a.expect(200, Method::POST, "/api/v1/users/root/enable", None)
        .await;
    let enabled = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_problem(&enabled, 401, "unauthorized");
    // A deleted administrator's token is refused too.
    let token = access_token(&password_grant(&mut a.s, "root", ROOT_PASSWORD, "admin").await);
    let ok = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    a.expect_done(Method::DELETE, "/api/v1/users/root", None).await;
    assert_problem(
        &a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await,
        401,
        "unauthorized",
    );
    assert_untouched(&mut a).await;
}

/// Regression: a client's admin token kept working after the client was deleted or lost the
/// `admin` scope, where a person's is checked against the `admins` group at every call.
#[tokio::test]
async fn a_client_deleted_or_stripped_of_admin_after_getting_a_token_is_refused() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "robot", "grant_types": ["client_credentials"], "scopes": ["admin", "reports"] })),
        )
        .await;
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let token = client_admin_token(&mut a.s, "robot", &secret).await;
    let ok = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    a.expect(
        200,
        Method::PATCH,
        "/api/v1/clients/robot",
        Some(json!({ "scopes": ["reports"] })),
    )
    .await;
    let stripped = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_problem(&stripped, 403, "forbidden");
    a.expect(
        200,
        Method::PATCH,
        "/api/v1/clients/robot",
        Some(json!({ "scopes": ["admin"] })),
    )
    .await;
    let token = client_admin_token(&mut a.s, "robot", &secret).await;
    a.expect_done(Method::DELETE, "/api/v1/clients/robot", None).await;
    let deleted = a
        .call_as(Some(&token), Method::POST, "/api/v1/keys/rotate", None)
        .await;
    assert_problem(&deleted, 401, "unauthorized");
}

// Errors

#[tokio::test]
async fn unknown_users_and_clients_are_404_not_found_problems() {
    let mut a = Admin::new().await;
    let user_ops: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/api/v1/users/nobody", None),
        (
            Method::PATCH,
            "/api/v1/users/nobody",
            Some(json!({ "name": "N" })),
        ),
        (Method::DELETE, "/api/v1/users/nobody", None),
        (
            Method::PUT,
            "/api/v1/users/nobody/password",
            Some(json!({ "password": "a long enough password" })),
        ),
        (Method::POST, "/api/v1/users/nobody/disable", None),
        (Method::POST, "/api/v1/users/nobody/enable", None),
        (Method::GET, "/api/v1/users/nobody/sessions", None),
        (Method::DELETE, "/api/v1/users/nobody/sessions", None),
        (Method::GET, "/api/v1/users/nobody/consents", None),
        (Method::GET, "/api/v1/clients/nobody", None),
        (
            Method::PATCH,
            "/api/v1/clients/nobody",
            Some(json!({ "name": "N" })),
        ),
        (Method::DELETE, "/api/v1/clients/nobody", None),
        (Method::POST, "/api/v1/clients/nobody/rotate-secret", None),
        (Method::GET, "/api/v1/clients/NOT%20AN%20ID", None),
    ];
    for (method, path, body) in user_ops {
        let what = format!("{method} {path}");
        let reply = a.call(method, path, body).await;
        let problem = assert_problem(&reply, 404, "not-found");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not found")),
            "{what}: {problem}"
        );
    }
}

#[tokio::test]
async fn invalid_input_is_400_or_422_with_field_level_errors() {
    let mut a = Admin::new().await;
    let mut wrong = Vec::new();
    let users: Vec<(Value, &str)> = vec![
        (json!({ "username": "has space" }), "username"),
        (json!({ "username": "slash/y" }), "username"),
        (json!({ "username": "ok", "email": "not-an-email" }), "email"),
        (json!({ "username": "ok", "email": "a@b c.com" }), "email"),
        (json!({ "username": "ok", "groups": ["bad group"] }), "groups"),
        (json!({ "username": "ok", "groups": [""] }), "groups"),
        (json!({ "username": "ok", "name": "x".repeat(201) }), "name"),
        (json!({ "username": "ok", "name": "line\nbreak" }), "name"),
        (json!({ "username": "ok", "password": "short" }), "password"),
    ];
    for (body, field) in users {
        let reply = a.call(Method::POST, "/api/v1/users", Some(body.clone())).await;
        wrong.extend(invalid_field(&reply, field).err());
    }
    let patches: Vec<(Value, &str)> = vec![
        (json!({ "email": "nope" }), "email"),
        (json!({ "groups": ["ok", "not ok"] }), "groups"),
        (json!({ "name": "\u{7}bell" }), "name"),
    ];
    for (body, field) in patches {
        let reply = a.call(Method::PATCH, "/api/v1/users/alice", Some(body)).await;
        wrong.extend(invalid_field(&reply, field).err());
    }
    let clients: Vec<(Value, &str)> = vec![
        (
            json!({ "client_id": "c1", "redirect_uris": ["http://app.example.com/cb"] }),
            "redirect_uris",
        ),
        (
            json!({ "client_id": "c1", "redirect_uris": ["javascript:alert(1)"] }),
            "redirect_uris",
        ),
        (
            json!({ "client_id": "c1", "redirect_uris": ["https://app.example.com/cb#frag"] }),
            "redirect_uris",
        ),
        (
            json!({ "client_id": "c1", "redirect_uris": ["not a uri"] }),
            "redirect_uris",
        ),
        (json!({ "client_id": "c1" }), "redirect_uris"),
        (
            json!({ "client_id": "has space", "grant_types": ["client_credentials"] }),
            "client_id",
        ),
        (
            json!({ "client_id": "c1", "grant_types": ["client_credentials"], "scopes": ["bad scope"] }),
            "scopes",
        ),
        (
            json!({ "client_id": "c1", "public": true, "grant_types": ["client_credentials"] }),
            "grant_types",
        ),
        (
            json!({ "client_id": "c1", "grant_types": ["client_credentials"], "name": "" }),
            "name",
        ),
        (
            json!({ "client_id": "c1", "grant_types": ["client_credentials"], "backchannel_logout_uri": "ftp://x" }),
            "backchannel_logout_uri",
        ),
    ];
    // Security review #12, item 10: internal addresses are refused unless `[outbound]` allows them.
    let internal = [
        "http://127.0.0.1:6379/",
        "https://169.254.169.254/latest/meta-data/",
        "https://0x7f000001/",
        "https://10.0.0.5/bc",
        "https://[fd00::1]/bc",
    ]
    .map(|uri| {
        (
            json!({ "client_id": "c1", "grant_types": ["client_credentials"], "backchannel_logout_uri": uri }),
            "backchannel_logout_uri",
        )
    });
    let clients: Vec<_> = clients.into_iter().chain(internal).collect();
    for (body, field) in clients {
        let reply = a.call(Method::POST, "/api/v1/clients", Some(body.clone())).await;
        wrong.extend(invalid_field(&reply, field).err());
    }
    assert_problem(
        &a.call(Method::GET, "/api/v1/clients/c1", None).await,
        404,
        "not-found",
    );
    a.expect(
        201,
        Method::POST,
        "/api/v1/clients",
        Some(json!({ "client_id": "c2", "redirect_uris": ["https://c2.example.com/cb"] })),
    )
    .await;
    let bad_patch = a
        .call(
            Method::PATCH,
            "/api/v1/clients/c2",
            Some(json!({ "redirect_uris": ["http://evil.example/cb"] })),
        )
        .await;
    wrong.extend(invalid_field(&bad_patch, "redirect_uris").err());
    let bad_scope = a
        .call(
            Method::PATCH,
            "/api/v1/clients/c2",
            Some(json!({ "scopes": ["a\"b"] })),
        )
        .await;
    wrong.extend(invalid_field(&bad_scope, "scopes").err());
    assert_eq!(
        a.get("/api/v1/clients/c2").await["redirect_uris"],
        json!(["https://c2.example.com/cb"]),
        "a refused change changes nothing"
    );
    assert!(
        wrong.is_empty(),
        "{} invalid inputs without field-level errors:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Regression (security review, item 12): unknown paths (404), wrong methods (405) and bad path
/// parameters (400) under `/api/v1` answered `text/plain`. Every error there is a problem now,
/// and a 405 still names the allowed methods.
#[tokio::test]
async fn every_api_error_is_a_problem_unknown_paths_wrong_methods_and_bad_path_parameters_included() {
    let mut a = Admin::new().await;
    let token = a.token.clone();
    for auth in [Some(token.as_str()), None] {
        for (method, path, status, kind) in [
            (Method::GET, "/api/v1/nope", 404, "not-found"),
            (Method::GET, "/api/v1", 404, "not-found"),
            (Method::GET, "/api/v1/", 404, "not-found"),
            (Method::GET, "/api/v2/users", 404, "not-found"),
            (Method::POST, "/api/v1/users/alice/sessions/x/y", 404, "not-found"),
            (Method::DELETE, "/api/v1/users", 405, "method-not-allowed"),
            (Method::PUT, "/api/v1/audit", 405, "method-not-allowed"),
            (Method::GET, "/api/v1/users/%FF", 400, "bad-request"),
            (Method::GET, "/api/v1/clients/%C3%28", 400, "bad-request"),
        ] {
            let reply = a.call_as(auth, method.clone(), path, None).await;
            let problem = assert_problem(&reply, status, kind);
            assert!(problem["detail"].is_string(), "{method} {path}: {problem}");
            assert_eq!(reply.header("cache-control"), Some("no-store"), "{method} {path}");
            if status == 405 {
                let allow = reply.header("allow").unwrap_or_default();
                assert!(allow.contains("GET"), "{method} {path}: Allow `{allow}`");
            }
        }
    }
    let long = format!("/api/v1/users/{}", "a".repeat(41 * 1024));
    assert_problem(&a.call(Method::GET, &long, None).await, 414, "uri-too-long");
    // Outside the API nothing changes: pages keep their own error format.
    let page = a.s.get("/nope").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.header("content-type").unwrap_or("").contains("problem"));
}

/// Regression (security review, item 12): PATCH ignored unknown fields (a typo such as `nmae`
/// changed nothing and answered 200). Create and update bodies with an undeclared field are
/// refused with 400, naming each, and change nothing.
#[tokio::test]
async fn unknown_fields_in_create_and_update_bodies_are_400_problems_naming_each() {
    let mut a = Admin::new().await;
    let cases: Vec<(Method, &str, Value, Vec<&str>)> = vec![
        (
            Method::POST,
            "/api/v1/users",
            json!({ "username": "typo", "nmae": "Typo", "admin": true }),
            vec!["nmae", "admin"],
        ),
        (
            Method::PATCH,
            "/api/v1/users/alice",
            json!({ "nmae": "Not Alice", "disabled": true }),
            vec!["nmae", "disabled"],
        ),
        (
            Method::PUT,
            "/api/v1/users/alice/password",
            json!({ "password": "a new password, long enough", "old": "x" }),
            vec!["old"],
        ),
        (
            Method::POST,
            "/api/v1/clients",
            json!({ "client_id": "typo", "grant_types": ["client_credentials"], "client_secret": "mine" }),
            vec!["client_secret"],
        ),
        (
            Method::PATCH,
            "/api/v1/clients/web",
            json!({ "redirect_uri": ["https://evil.example/cb"] }),
            vec!["redirect_uri"],
        ),
        (
            Method::POST,
            "/api/v1/users/alice/links",
            json!({ "upstream": "github", "subject": "1", "user": "root" }),
            vec!["user"],
        ),
    ];
    for (method, path, body, unknown) in cases {
        let what = format!("{method} {path}");
        let reply = a.call(method, path, Some(body)).await;
        let problem = assert_problem(&reply, 400, "bad-request");
        for field in unknown {
            assert_invalid_field(&reply, field);
            assert!(
                problem["detail"].as_str().unwrap().contains(field),
                "{what}: {problem}"
            );
        }
    }
    a.expect(404, Method::GET, "/api/v1/users/typo", None).await;
    a.expect(404, Method::GET, "/api/v1/clients/typo", None).await;
    let alice = a.get("/api/v1/users/alice").await;
    assert_eq!(alice["name"], "Alice Liddell");
    assert_eq!(alice["disabled"], false);
    // The document says so, so that clients generated from it never send such a field.
    let doc = a.s.get("/openapi.json").await.json();
    for schema in [
        "NewUserDoc",
        "UserPatchDoc",
        "PasswordDoc",
        "NewClientDoc",
        "ClientPatchDoc",
        "NewLinkDoc",
    ] {
        assert_eq!(
            doc["components"]["schemas"][schema]["additionalProperties"], false,
            "{schema}"
        );
    }
}

/// Regression (security review, item 12): a JSON body with a key twice was accepted, the last one
/// winning, so that two readers of one body (a proxy and Latchkey) could disagree on it. A
/// repeated key anywhere in a body is refused with 400 naming it.
#[tokio::test]
async fn json_bodies_with_a_repeated_key_anywhere_are_400_problems() {
    let mut a = Admin::new().await;
    for (method, path, body, key) in [
        (
            Method::POST,
            "/api/v1/users",
            r#"{"username": "twice", "username": "admin2"}"#,
            "username",
        ),
        (
            Method::PATCH,
            "/api/v1/users/alice",
            r#"{"groups": ["readers"], "groups": ["admins"]}"#,
            "groups",
        ),
        (
            Method::POST,
            "/api/v1/clients",
            r#"{"client_id": "nested", "grant_types": ["client_credentials"], "scopes": [], "x": [{"a": 1, "a": 2}]}"#,
            "a",
        ),
    ] {
        let reply = a.call_raw(method.clone(), path, "application/json", body).await;
        assert_problem(&reply, 400, "bad-request");
        assert_invalid_field(&reply, key);
        let reply = a
            .call_raw(method, path, "application/merge-patch+json", body)
            .await;
        assert_problem(&reply, 400, "bad-request");
    }
    a.expect(404, Method::GET, "/api/v1/users/twice", None).await;
    a.expect(404, Method::GET, "/api/v1/users/admin2", None).await;
    a.expect(404, Method::GET, "/api/v1/clients/nested", None).await;
    let alice = a.get("/api/v1/users/alice").await;
    assert_eq!(alice["groups"], json!(["readers"]));
}

#[tokio::test]
async fn malformed_json_and_bad_parameters_are_400_problems() {
    let mut a = Admin::new().await;
    let bodies = [
        ("application/json", "{"),
        ("application/json", ""),
        ("application/json", "null"),
        ("application/json", "[]"),
        ("application/json", "{\"username\": [5]}"),
        ("application/json", "{\"username\": {}}"),
        ("application/json", "{\"name\": \"no username\"}"),
        (
            "application/json",
            "{\"username\": \"x\", \"groups\": \"admins\"}",
        ),
        ("application/json", "{\"username\": \"\"}"),
        ("application/json", "\u{feff}{\"username\": \"bom\"}"),
        ("application/x-www-form-urlencoded", "username=formy"),
        ("text/plain", "{\"username\": \"texty\"}"),
    ];
    for (content_type, body) in bodies {
        let reply = a
            .call_raw(Method::POST, "/api/v1/users", content_type, body)
            .await;
        assert_problem(&reply, 400, "bad-request");
    }
    let no_body = a.call(Method::POST, "/api/v1/users", None).await;
    assert_problem(&no_body, 400, "bad-request");
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/clients",
            "{\"client_id\": \"x\", \"grant_types\": [\"implicit\"]}",
        ),
        (
            Method::POST,
            "/api/v1/clients",
            "{\"client_id\": \"x\", \"public\": \"yes\"}",
        ),
        (
            Method::POST,
            "/api/v1/clients",
            "{\"client_id\": \"x\", \"id_token_signed_response_alg\": \"none\"}",
        ),
        (
            Method::PATCH,
            "/api/v1/clients/web",
            "{\"redirect_uris\": \"https://x\"}",
        ),
        (
            Method::PATCH,
            "/api/v1/users/alice",
            "{\"email_verified\": \"yes\"}",
        ),
        (Method::PUT, "/api/v1/users/alice/password", "{}"),
        (
            Method::PUT,
            "/api/v1/users/alice/password",
            "{\"password\": null}",
        ),
    ] {
        let reply = a.call_raw(method, path, "application/json", body).await;
        assert_problem(&reply, 400, "bad-request");
    }
    for query in ["limit=0", "limit=501", "limit=x", "limit=-5", "limit=1.5"] {
        let reply = a.call(Method::GET, &format!("/api/v1/users?{query}"), None).await;
        assert_problem(&reply, 400, "bad-request");
    }
    assert_untouched(&mut a).await;
    assert_eq!(usernames(&a.get("/api/v1/users").await), ["alice"]);
}

#[tokio::test]
async fn hostile_inputs_never_make_the_api_answer_500() {
    let mut a = Admin::new().await;
    let huge = "x".repeat(60_000);
    let unicode = "ålïçé-\u{202e}evil-\u{200b}-🔑-ß-İ";
    let strings = [
        huge.clone(),
        unicode.to_owned(),
        "../../etc/passwd".to_owned(),
        "..\\..\\windows".to_owned(),
        "nul\u{0}byte".to_owned(),
        "%00".to_owned(),
        "'; DROP TABLE users; --".to_owned(),
        "<script>alert(1)</script>".to_owned(),
        "a".repeat(64),
        "a".repeat(65),
        "Alice\u{301}".to_owned(),
        " alice ".to_owned(),
    ];
    let mut replies = Vec::new();
    for s in &strings {
        let shorter: String = s.chars().take(2000).collect();
        replies.push((
            "create user",
            a.call(
                Method::POST,
                "/api/v1/users",
                Some(json!({ "username": shorter, "name": s, "email": s, "groups": [s] })),
            )
            .await,
        ));
        replies.push((
            "create user with password",
            a.call(
                Method::POST,
                "/api/v1/users",
                Some(json!({ "username": "hostile", "password": s })),
            )
            .await,
        ));
        replies.push((
            "patch user",
            a.call(
                Method::PATCH,
                "/api/v1/users/alice",
                Some(json!({ "name": s, "email": s, "groups": [s] })),
            )
            .await,
        ));
        replies.push((
            "create client",
            a.call(
                Method::POST,
                "/api/v1/clients",
                Some(json!({
                    "client_id": shorter,
                    "name": s,
                    "redirect_uris": [s, format!("https://x.example/{s}")],
                    "scopes": [s],
                    "post_logout_redirect_uris": [s],
                    "backchannel_logout_uri": s,
                })),
            )
            .await,
        ));
        let id = encode(&shorter);
        for (method, path) in [
            (Method::GET, format!("/api/v1/users/{id}")),
            (Method::DELETE, format!("/api/v1/users/{id}")),
            (Method::GET, format!("/api/v1/users/{id}/sessions")),
            (Method::DELETE, format!("/api/v1/users/alice/sessions/{id}")),
            (Method::DELETE, format!("/api/v1/users/alice/consents/{id}")),
            (Method::GET, format!("/api/v1/clients/{id}")),
            (Method::POST, format!("/api/v1/clients/{id}/rotate-secret")),
            (Method::GET, format!("/api/v1/users?search={id}&after={id}")),
            (Method::GET, format!("/api/v1/audit?after={id}")),
        ] {
            replies.push(("path or query", a.call(method, &path, None).await));
        }
    }
    for raw in [
        "/api/v1/users/..%2F..%2Fadmin",
        "/api/v1/users/%2e%2e",
        "/api/v1/users/%ff%fe",
        "/api/v1/users/%C0%AE%C0%AE",
        "/api/v1/clients/%E2%80%AE",
        "/api/v1/users?search=%ff",
        "/api/v1/users?limit=99999999999999999999",
        "/api/v1/audit?limit=4294967297",
    ] {
        // Only the status is checked here: poem refuses path parameters that are not UTF-8
        // before the API's own error handling sees them.
        let reply = a.call(Method::GET, raw, None).await;
        assert!(
            reply.status.as_u16() < 500,
            "{raw} answered {}: {}",
            reply.status,
            reply.body
        );
    }
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    for body in [
        deep.as_str(),
        "{\"username\": \"\\ud800\"}",
        "{\"username\": 1e999}",
    ] {
        replies.push((
            "odd JSON",
            a.call_raw(Method::POST, "/api/v1/users", "application/json", body)
                .await,
        ));
    }
    for (what, reply) in &replies {
        assert!(
            reply.status.as_u16() < 500,
            "{what} answered {}: {}",
            reply.status,
            reply.body.chars().take(500).collect::<String>()
        );
        if reply.status.as_u16() >= 400
            && reply.status != StatusCode::NOT_FOUND
            && reply.status != StatusCode::PAYLOAD_TOO_LARGE
        {
            let content_type = reply.header("content-type").unwrap_or("");
            assert!(
                content_type.starts_with("application/problem+json"),
                "{what} answered {} as `{content_type}`: {}",
                reply.status,
                reply.body.chars().take(500).collect::<String>()
            );
        }
    }
    // The server still works, and alice is whole.
    let alice = a.get("/api/v1/users/alice").await;
    assert_eq!(alice["username"], "alice");
    assert_eq!(
        password_grant(&mut a.s, "alice", PASSWORD, "openid").await.status,
        StatusCode::OK
    );
}

// The CLI's --json output

/// The secret of the `ops` client declared in the real server's configuration.
const REAL_OPS_SECRET: &str = "real-ops-secret-0123456789-abcdefghijklmnopq";

#[tokio::test]
async fn cli_json_output_has_the_same_shapes_as_the_api() {
    let mut server = Server::with_config(|port| {
        format!(
            "{}\n[[client]]\nclient_id = \"ops\"\ngrant_types = [\"client_credentials\"]\nscopes = [\"admin\"]\nsecret_digest = \"{}\"\n",
            default_config(port),
            clients::digest_text(REAL_OPS_SECRET)
        )
    });
    server.start();
    let base = server.base_url();
    let http = crate::harness::http();
    let token = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("ops", Some(REAL_OPS_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .expect("the token endpoint answers");
    assert_eq!(token.status(), 200);
    let token: Value = token.json().await.expect("a JSON token response");
    let token = token["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(&token)
    };
    let call = |req: reqwest::RequestBuilder, status: u16| async move {
        let resp = req.send().await.expect("the API answers");
        assert_eq!(resp.status().as_u16(), status);
        resp.json::<Value>().await.expect("a JSON answer")
    };
    let created_user = call(
        api(reqwest::Method::POST, "/users").json(&json!({
            "username": "Shapes",
            "name": "Shape Shifter",
            "email": "shapes@example.com",
            "email_verified": true,
            "groups": ["staff", "admins"],
            "password": "a long enough password 42",
        })),
        201,
    )
    .await;
    let client = call(
        api(reqwest::Method::POST, "/clients").json(&json!({
            "client_id": "shapes-app",
            "name": "Shapes App",
            "redirect_uris": ["https://shapes.example.com/cb"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "scopes": ["openid", "profile"],
            "id_token_signed_response_alg": "RS256",
            "post_logout_redirect_uris": ["https://shapes.example.com/bye"],
            "backchannel_logout_uri": "https://shapes.example.com/logout",
            "refresh_without_offline_access": true,
        })),
        201,
    )
    .await;
    assert!(client["client_secret"].is_string());

    // The CLI's JSON is the API's, plus the `data_file` it used wherever the answer is an object.
    let data_file = server.data_path().display().to_string();
    let cli = |args: &[&str]| {
        let mut value = server.cli_json(args);
        if let Some(fields) = value.as_object_mut() {
            assert_eq!(fields.remove("data_file"), Some(Value::from(data_file.as_str())));
        }
        value
    };
    let api_user = call(api(reqwest::Method::GET, "/users/Shapes"), 200).await;
    assert_eq!(api_user, created_user);
    assert_eq!(cli(&["user", "show", "Shapes", "--json"]), api_user);
    let subject = api_user["subject"].as_str().unwrap();
    assert_eq!(cli(&["user", "show", subject, "--json"]), api_user);
    let api_client = call(api(reqwest::Method::GET, "/clients/shapes-app"), 200).await;
    assert_eq!(cli(&["client", "show", "shapes-app", "--json"]), api_client);
    assert_eq!(
        cli(&["client", "show", "ops", "--json"]),
        call(api(reqwest::Method::GET, "/clients/ops"), 200).await,
        "a declared client too"
    );
    assert_eq!(
        cli(&["user", "list", "--json"]),
        call(api(reqwest::Method::GET, "/users"), 200).await
    );
    assert_eq!(
        cli(&["user", "list", "--limit", "1", "--json"]),
        call(api(reqwest::Method::GET, "/users?limit=1"), 200).await
    );
    assert_eq!(
        cli(&["client", "list", "--json"]),
        call(api(reqwest::Method::GET, "/clients"), 200).await
    );
    assert_eq!(
        cli(&["keys", "list", "--json"]),
        call(api(reqwest::Method::GET, "/keys"), 200).await
    );
    // What the CLI creates, the API shows as the CLI printed it.
    let cli_client = cli(&[
        "client",
        "add",
        "cli-made",
        "--grant",
        "client_credentials",
        "--json",
    ]);
    let mut shown = call(api(reqwest::Method::GET, "/clients/cli-made"), 200).await;
    shown
        .as_object_mut()
        .unwrap()
        .insert("client_secret".into(), cli_client["client_secret"].clone());
    assert_eq!(cli_client, shown);
    let rotated = call(api(reqwest::Method::POST, "/clients/cli-made/rotate-secret"), 200).await;
    let cli_rotated = cli(&["client", "rotate-secret", "cli-made", "--json"]);
    let keys_of = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys_of(&rotated), keys_of(&cli_rotated));
}

/// A FastAPI developer's first redirect URI, `http://localhost:8000/callback`, is refused with
/// an error naming the opt-in and `http://127.0.0.1`; with `allow_http_localhost` it registers
/// and is matched exactly, like any other URI.
#[tokio::test]
async fn http_localhost_redirect_uris_need_the_clients_explicit_opt_in() {
    let mut a = Admin::new().await;
    let refused = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "fastapi", "redirect_uris": ["http://localhost:8000/callback"] })),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("allow_http_localhost"), "{}", refused.body);
    assert!(refused.body.contains("http://127.0.0.1"), "{}", refused.body);
    let created = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "fastapi",
                "redirect_uris": ["http://localhost:8000/callback"],
                "allow_http_localhost": true,
                "scopes": ["openid"],
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["allow_http_localhost"], true);
    // Switching the opt-in off while such a URI is registered is refused.
    let off = a
        .call(
            Method::PATCH,
            "/api/v1/clients/fastapi",
            Some(json!({ "allow_http_localhost": false })),
        )
        .await;
    assert_eq!(off.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", off.body);
    assert!(off.body.contains("allow_http_localhost"), "{}", off.body);
}

#[tokio::test]
async fn a_client_registered_for_rs256_through_the_api_has_its_rsa_key_published_at_once() {
    let mut a = Admin::new().await;
    let has_rsa = |jwks: &Value| {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kty"] == "RSA" && k["alg"] == "RS256")
    };
    let before = a.s.get("/.well-known/jwks.json").await.json();
    assert!(!has_rsa(&before), "no RSA key without an RS256 client: {before}");
    a.expect(
        201,
        Method::POST,
        "/api/v1/clients",
        Some(json!({
            "client_id": "reports",
            "public": true,
            "redirect_uris": ["http://127.0.0.1/cb"],
            "scopes": ["openid"],
            "id_token_signed_response_alg": "RS256",
        })),
    )
    .await;
    let after = a.s.get("/.well-known/jwks.json").await.json();
    assert!(has_rsa(&after), "published before any token is issued: {after}");
}
