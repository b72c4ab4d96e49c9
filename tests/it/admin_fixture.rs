//! The shared fixture of the admin API tests: an in-process server with the `ops` and `console`
//! clients and an admin token, the calls and assertions every `admin_*` module uses.

use std::collections::BTreeSet;

use latchkey::domain::NewUser;
use latchkey::service::{clients, users};
use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::inproc::{InProc, PASSWORD, REDIRECT, Reply, VERIFIER, basic};

/// The secret of `ops`, a declared confidential client allowed client_credentials and `admin`.
pub const OPS_SECRET: &str = "ops-robot-secret-0123456789-abcdefghijklmnopq";
/// The secret of `console`, a declared confidential client for people: authorization code and
/// password grants, allowed `openid profile admin`.
pub const CONSOLE_SECRET: &str = "console-secret-0123456789-abcdefghijklmnopqrs";
pub const CONSOLE_REDIRECT: &str = "https://console.example.com/cb";
/// The password of `root`, an administrator made by [`add_admin`].
pub const ROOT_PASSWORD: &str = "root password, long enough 0123";
/// Where every request of these tests comes from, so that the audit feed's addresses can be checked.
pub const PEER: &str = "203.0.113.9:50123";
pub const PEER_IP: &str = "203.0.113.9";
/// The access token lifetime (the default, 10 minutes), in seconds.
pub const ACCESS_TOKEN_LIFETIME: u64 = 600;

pub fn extra_clients() -> String {
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
pub struct Admin {
    pub s: InProc,
    pub token: String,
}

impl Admin {
    pub async fn new() -> Admin {
        Admin::with("").await
    }

    /// Like [`Admin::new`], with `extra` (TOML) added to the configuration.
    pub async fn with(extra: &str) -> Admin {
        let mut s = InProc::new(&format!("{}\n{extra}", extra_clients())).await;
        s.set_peer(PEER.parse().expect("a socket address"));
        let token = ops_token(&mut s).await;
        Admin { s, token }
    }

    /// Calls the API with the `ops` token.
    pub async fn call(&mut self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let token = self.token.clone();
        self.call_as(Some(&token), method, path, body).await
    }

    /// Calls the API with `token`, or with no Authorization header.
    pub async fn call_as(
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
    pub async fn call_raw(&mut self, method: Method, path: &str, content_type: &str, body: &str) -> Reply {
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
    pub async fn expect(&mut self, status: u16, method: Method, path: &str, body: Option<Value>) -> Value {
        let what = format!("{method} {path}");
        let reply = self.call(method, path, body).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.body);
        reply.json()
    }

    /// A call that must answer 204 with no body.
    pub async fn expect_done(&mut self, method: Method, path: &str, body: Option<Value>) {
        let what = format!("{method} {path}");
        let reply = self.call(method, path, body).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{what}: {}", reply.body);
        assert!(reply.body.is_empty(), "{what}: a 204 has no body: {}", reply.body);
    }

    pub async fn get(&mut self, path: &str) -> Value {
        self.expect(200, Method::GET, path, None).await
    }

    /// Every audit event, paging through the feed `limit` at a time; also returns the raw pages.
    /// The clock moves one second before each page, so that the feed's own `admin.call` entries
    /// land after the cursor.
    pub async fn audit_feed(&mut self, limit: usize) -> (Vec<Value>, String) {
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

pub fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A client_credentials token of `ops` with the `admin` scope.
pub async fn ops_token(s: &mut InProc) -> String {
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
pub async fn client_admin_token(s: &mut InProc, id: &str, secret: &str) -> String {
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
pub async fn add_admin(s: &InProc, username: &str) {
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
pub async fn password_grant(s: &mut InProc, username: &str, password: &str, scope: &str) -> Reply {
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
pub async fn console_code_flow(s: &mut InProc, username: &str, password: &str, scope: &str) -> Reply {
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
pub fn access_token(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// Asserts that `reply` is an RFC 9457 problem with `status` whose `type` ends in `/kind`;
/// returns the problem.
#[track_caller]
pub fn assert_problem(reply: &Reply, status: u16, kind: &str) -> Value {
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
pub fn assert_invalid_field(reply: &Reply, field: &str) {
    if let Err(why) = invalid_field(reply, field) {
        panic!("{why}");
    }
}

/// Whether `reply` is a validation problem (400 or 422, `application/problem+json`) whose `errors`
/// name `field` with a message; if not, why not.
pub fn invalid_field(reply: &Reply, field: &str) -> Result<(), String> {
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
pub async fn signed_in(s: &mut InProc) -> bool {
    let mut reply = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    if reply.status == StatusCode::SEE_OTHER && reply.location().starts_with('/') {
        let next = reply.location().to_owned();
        reply = s.get(&next).await;
    }
    !reply.body.contains("action=\"/login\"")
}

pub fn usernames(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("a page has items")
        .iter()
        .map(|u| u["username"].as_str().expect("a username").to_owned())
        .collect()
}

pub fn client_ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .expect("a list of clients")
        .iter()
        .map(|c| c["client_id"].as_str().expect("a client id").to_owned())
        .collect()
}

/// The one event with `action` and `target`, or a panic listing the feed.
#[track_caller]
pub fn event<'a>(events: &'a [Value], action: &str, target: Option<&str>) -> &'a Value {
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

/// A representative set of admin operations, one per kind.
pub fn operations() -> Vec<(Method, &'static str, Option<Value>)> {
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
        (
            Method::POST,
            "/api/v1/invitations",
            Some(json!({ "username": "eve" })),
        ),
        (Method::POST, "/api/v1/users/alice/reset-factors", None),
    ]
}

/// Asserts that nothing changed: alice is as she was, no `eve` or `evil`.
pub async fn assert_untouched(a: &mut Admin) {
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
