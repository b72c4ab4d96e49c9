//! An in-process Latchkey: the real routes over an in-memory store with a fixed clock, called
//! without a socket. For rule-by-rule tests that need to control time or run many cases fast.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use latchkey::clock::Clock;
use latchkey::config::{self, Overrides};
use latchkey::domain::{Duration, NewUser, Timestamp};
use latchkey::service::{App, clients, keys, users};
use latchkey::store::Store;
use poem::http::{HeaderMap, Method, StatusCode, header};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Request};
use serde_json::Value;

use crate::flows::html_unescape;

pub const ISSUER: &str = "https://id.example.test";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT: &str = "https://app.example.com/cb";
/// The secret of the `web` client declared by [`InProc::new`].
pub const WEB_SECRET: &str = "web-client-secret-0123456789-abcdefghijklmnop";

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location in {} {}", self.status, self.body))
    }

    /// A query parameter of the Location header.
    pub fn location_param(&self, name: &str) -> Option<String> {
        let query = self.location().split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The value of a hidden form field.
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        html_unescape(&self.body[start..end])
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// The claims of a JWT, without checking anything.
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    let bytes = latchkey::crypto::b64url_decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The in-process server and one browser's cookies.
pub struct InProc {
    pub app: App,
    ep: poem::endpoint::BoxEndpoint<'static, poem::Response>,
    cookies: BTreeMap<String, String>,
    /// The peer address requests come from; `None` leaves poem's default (no socket address).
    peer: Option<SocketAddr>,
}

impl InProc {
    /// A server with a confidential client `web` and a public client `spa`, both allowed
    /// `openid profile email offline_access`, plus anything in `extra` (TOML), and a user `alice`.
    pub async fn new(extra: &str) -> InProc {
        InProc::with_top("", extra).await
    }

    /// Like [`InProc::new`], with `top` (TOML keys of the top level) before the tables.
    pub async fn with_top(top: &str, extra: &str) -> InProc {
        let text = format!(
            r#"
issuer = "{ISSUER}"
{top}
[[client]]
client_id = "web"
name = "Web App"
redirect_uris = ["{REDIRECT}", "https://app.example.com/other"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]
scopes = ["openid", "profile", "email", "groups", "offline_access"]
secret_digest = "{digest}"
post_logout_redirect_uris = ["https://app.example.com/logged-out"]

[[client]]
client_id = "spa"
name = "Single Page App"
public = true
redirect_uris = ["http://127.0.0.1/cb"]
scopes = ["openid", "profile", "email", "offline_access"]
{extra}
"#,
            digest = clients::digest_text(WEB_SECRET)
        );
        let config = config::parse("test", &text, None, &Overrides::default()).expect("test config is valid");
        let app = App::new(
            Store::in_memory().unwrap(),
            config,
            Clock::fixed(Timestamp(1_800_000_000)),
        )
        .expect("the app starts");
        clients::sync_declared(&app).await.unwrap();
        keys::ensure_active(&app).await.unwrap();
        latchkey::service::forms::ensure_key(&app).await.unwrap();
        let new = NewUser {
            username: "alice".into(),
            name: Some("Alice Liddell".into()),
            email: Some("alice@example.com".into()),
            email_verified: true,
            groups: vec!["readers".into()],
        };
        users::add(&app, new, Some(PASSWORD.into())).await.unwrap();
        let ep = latchkey::web::routes(app.clone())
            .into_endpoint()
            .map_to_response()
            .boxed();
        InProc {
            app,
            ep,
            cookies: BTreeMap::new(),
            peer: None,
        }
    }

    /// The browser's cookies, name to value.
    pub fn cookies(&self) -> &BTreeMap<String, String> {
        &self.cookies
    }

    /// Switches to another browser: the cookie jar becomes `jar`, and the old jar is returned so
    /// that a test can switch back to it.
    pub fn switch_browser(&mut self, jar: BTreeMap<String, String>) -> BTreeMap<String, String> {
        std::mem::replace(&mut self.cookies, jar)
    }

    pub fn advance(&self, secs: u64) {
        self.app.clock.advance(Duration::seconds(secs));
    }

    /// Makes every later request come from `peer`, as if over a socket from that address.
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
    }

    pub async fn send(
        &mut self,
        method: Method,
        uri: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = body.map(|b| ("application/x-www-form-urlencoded", b));
        self.send_typed(method, uri, body, headers).await
    }

    /// Sends a JSON body (or none) with `headers`.
    pub async fn send_json(
        &mut self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = body.map(|b| ("application/json", b.to_string()));
        self.send_typed(method, uri, body, headers).await
    }

    /// Sends a request whose body (if any) has the given content type, with the browser's
    /// cookies and `headers`, from the peer set by [`InProc::set_peer`].
    pub async fn send_typed(
        &mut self,
        method: Method,
        uri: &str,
        body: Option<(&str, String)>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(uri.parse().expect("valid test URI"));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        if let Some((content_type, _)) = &body {
            req = req.header(header::CONTENT_TYPE, *content_type);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = match body {
            Some((_, b)) => req.body(b),
            None => req.finish(),
        };
        if let Some(peer) = self.peer {
            req = from_peer(req, peer);
        }
        let resp = self.ep.get_response(req).await;
        for c in resp.headers().get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().into_string().await.unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, uri: &str) -> Reply {
        self.send(Method::GET, uri, None, &[]).await
    }

    pub async fn post(&mut self, uri: &str, pairs: &[(&str, &str)]) -> Reply {
        self.send(Method::POST, uri, Some(form(pairs)), &[]).await
    }

    pub async fn post_with(&mut self, uri: &str, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
        self.send(Method::POST, uri, Some(form(pairs)), headers).await
    }

    /// An authorization request URI for `client` with PKCE, state `xyz` and `extra` pairs.
    pub fn authorize_uri(client: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("scope", "openid profile"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            pairs.retain(|(pk, _)| pk != k);
            pairs.push((k, v));
        }
        format!("/oauth/authorize?{}", form(&pairs))
    }

    /// Signs in as `username` from the login page returned by `page`; returns the next reply.
    pub async fn login_from(&mut self, page: &Reply, username: &str, password: &str) -> Reply {
        let csrf = page.field("csrf");
        let return_to = page.field("return_to");
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("return_to", &return_to),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Runs the whole browser side for `uri` as alice, consenting if asked; returns the final
    /// redirect to the client.
    pub async fn authorize(&mut self, uri: &str) -> Reply {
        self.authorize_as(uri, "alice", PASSWORD).await
    }

    /// Runs the whole browser side for `uri`, signing in as `username` with `password` if asked
    /// and consenting if asked; returns the final redirect to the client.
    pub async fn authorize_as(&mut self, uri: &str, username: &str, password: &str) -> Reply {
        let mut reply = self.get(uri).await;
        for _ in 0..4 {
            if reply.status == StatusCode::SEE_OTHER && !reply.location().starts_with('/') {
                return reply;
            }
            if reply.status == StatusCode::SEE_OTHER {
                let next = reply.location().to_owned();
                reply = self.get(&next).await;
            } else if reply.body.contains("action=\"/login\"") {
                reply = self.login_from(&reply.clone_shallow(), username, password).await;
            } else if reply.body.contains("action=\"/oauth/consent\"") {
                let csrf = reply.field("csrf");
                let request = reply.field("request");
                reply = self
                    .post(
                        "/oauth/consent",
                        &[("csrf", &csrf), ("request", &request), ("decision", "allow")],
                    )
                    .await;
            } else {
                panic!("unexpected page {}: {}", reply.status, reply.body);
            }
        }
        panic!(
            "the authorization flow did not end: {} {}",
            reply.status, reply.body
        )
    }

    /// A code for `web` at [`REDIRECT`] with the standard PKCE pair.
    pub async fn code(&mut self, extra: &[(&str, &str)]) -> String {
        let reply = self.authorize(&Self::authorize_uri("web", REDIRECT, extra)).await;
        reply
            .location_param("code")
            .unwrap_or_else(|| panic!("no code in {}", reply.location()))
    }

    /// Exchanges a `web` code with client_secret_basic.
    pub async fn exchange(&mut self, code: &str) -> Reply {
        self.post_with(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            &[("authorization", &basic("web", WEB_SECRET))],
        )
        .await
    }

    /// A `web` token request with client_secret_basic.
    pub async fn token(&mut self, pairs: &[(&str, &str)]) -> Reply {
        self.post_with(
            "/oauth/token",
            pairs,
            &[("authorization", &basic("web", WEB_SECRET))],
        )
        .await
    }

    /// Introspects a token as `web`.
    pub async fn introspect(&mut self, token: &str) -> Value {
        self.post_with(
            "/oauth/introspect",
            &[("token", token)],
            &[("authorization", &basic("web", WEB_SECRET))],
        )
        .await
        .json()
    }
}

impl Reply {
    fn clone_shallow(&self) -> Reply {
        Reply {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
        }
    }
}

/// `req` as if it had arrived over a socket from `peer`.
fn from_peer(req: Request, peer: SocketAddr) -> Request {
    let (parts, body) = req.into_parts();
    let mut head = poem::http::Request::builder()
        .method(parts.method)
        .uri(parts.uri)
        .version(parts.version)
        .body(())
        .expect("a request head built from a valid request");
    *head.headers_mut() = parts.headers;
    let (head, ()) = head.into_parts();
    let parts = poem::RequestParts::from((
        head,
        poem::web::LocalAddr::default(),
        poem::web::RemoteAddr(poem::Addr::SocketAddr(peer)),
        poem::http::uri::Scheme::HTTP,
    ));
    Request::from_parts(parts, body)
}
