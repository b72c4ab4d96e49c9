//! Reusable OAuth 2.0 flows against a running server: a server with a user and declared clients,
//! PKCE pairs, the login and consent pages driven with plain HTTP (no browser), and token
//! requests read into status, headers and JSON.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

use crate::harness::{Server, assert_success, default_config};

/// The user every flow signs in as.
pub const USERNAME: &str = "alice";
/// Her password (the policy wants at least 12 characters).
pub const PASSWORD: &str = "correct horse battery staple";

/// A confidential web application: authorization code and refresh token grants.
pub const WEB_ID: &str = "webapp";
/// The web application's name, shown on the consent page.
pub const WEB_NAME: &str = "Harbour Web Console";
/// The web application's secret, handed to the server through [`WEB_SECRET_VAR`]. It holds
/// characters that `client_secret_basic` must form-urlencode (RFC 6749 section 2.3.1).
pub const WEB_SECRET: &str = "web:app+secret/0123456789=abcdefghij%klmnop";
pub const WEB_SECRET_VAR: &str = "LATCHKEY_TEST_WEBAPP_SECRET";

/// A public native application (no secret, PKCE): authorization code and refresh token grants.
pub const NATIVE_ID: &str = "native-app";
/// The native application's name, shown on the consent page.
pub const NATIVE_NAME: &str = "Harbour Desktop";

/// A confidential service: the client credentials grant only.
pub const SERVICE_ID: &str = "batch-job";
/// The service's secret, handed to the server through [`SERVICE_SECRET_VAR`].
pub const SERVICE_SECRET: &str = "batch-job-secret-0123456789-abcdefghijklm";
pub const SERVICE_SECRET_VAR: &str = "LATCHKEY_TEST_BATCH_SECRET";
/// The scope the service may ask for.
pub const SERVICE_SCOPE: &str = "reports.read";

/// The loopback redirect URI the browser-based clients registered; any port matches it.
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// The scopes the browser-based clients ask for.
pub const SCOPE: &str = "profile offline_access";

/// How long one HTTP request of a flow may take.
const REQUEST_WITHIN: Duration = Duration::from_secs(20);

/// The `[[client]]` tables of [`oauth_server`].
pub fn clients_config() -> String {
    format!(
        r#"
[[client]]
client_id = "{WEB_ID}"
name = "{WEB_NAME}"
redirect_uris = ["{REDIRECT_URI}"]
scopes = ["profile", "offline_access"]
secret_env = "{WEB_SECRET_VAR}"

[[client]]
client_id = "{NATIVE_ID}"
name = "{NATIVE_NAME}"
public = true
redirect_uris = ["{REDIRECT_URI}"]
scopes = ["profile", "offline_access"]

[[client]]
client_id = "{SERVICE_ID}"
name = "Nightly Reports"
grant_types = ["client_credentials"]
scopes = ["{SERVICE_SCOPE}"]
secret_env = "{SERVICE_SECRET_VAR}"
"#
    )
}

/// A running server with [`clients_config`] and the user [`USERNAME`].
pub fn oauth_server() -> Server {
    let mut server = Server::with_config(|port| default_config(port) + &clients_config());
    server
        .env(WEB_SECRET_VAR, WEB_SECRET)
        .env(SERVICE_SECRET_VAR, SERVICE_SECRET);
    server.start();
    let added = server.cli_stdin(
        &["user", "add", USERNAME, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&added);
    server
}

/// `n` random bytes from the operating system, base64url-encoded without padding.
pub fn random_string(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A PKCE verifier and its S256 challenge (RFC 7636).
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier = random_string(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce { verifier, challenge }
    }
}

/// The redirect URI a flow sends: the registered loopback URI on `port`.
pub fn redirect_uri_on(port: u16) -> String {
    format!("http://127.0.0.1:{port}/callback")
}

/// An authorization request (RFC 6749 section 4.1.1) with PKCE S256.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub pkce: Pkce,
}

impl AuthRequest {
    /// A request by `client_id` for [`SCOPE`], redirecting to `redirect_uri`, with a fresh state
    /// and PKCE pair.
    pub fn new(client_id: &str, redirect_uri: &str) -> AuthRequest {
        AuthRequest {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope: SCOPE.to_owned(),
            state: random_string(16),
            pkce: Pkce::new(),
        }
    }

    /// The authorization URL at the server `base`.
    pub fn url(&self, base: &str) -> String {
        let mut url = Url::parse(&format!("{base}/oauth/authorize")).expect("a base URL");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scope)
            .append_pair("state", &self.state)
            .append_pair("code_challenge", &self.pkce.challenge)
            .append_pair("code_challenge_method", "S256");
        url.into()
    }
}

/// What the user answers on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    /// The `value` of the consent page's button for this answer.
    pub fn button_value(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// The value of the first query parameter `name` of `url`.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Undoes HTML escaping of an attribute value: the five named entities and numeric references.
pub fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The unescaped value of the form field `name` in `html` (an `<input>` written as
/// `name="NAME" value="..."`, as Latchkey's templates do).
pub fn form_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html_unescape(&html[start..start + len]))
}

/// A browser made of plain HTTP requests: keeps cookies, follows no redirects.
pub struct Agent {
    base: Url,
    http: reqwest::Client,
}

/// One answer, read whole.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Agent {
    /// An agent with an empty cookie jar for the server at `base`.
    pub fn new(base: &str) -> Agent {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_WITHIN)
            .build()
            .expect("an HTTP client");
        Agent {
            base: Url::parse(base).expect("a base URL"),
            http,
        }
    }

    async fn read(response: reqwest::Result<reqwest::Response>, what: &str) -> Page {
        let response = response.unwrap_or_else(|e| panic!("{what} failed: {e}"));
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().expect("a Location header is text").to_owned());
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("cannot read the answer to {what}: {e}"));
        Page {
            status,
            location,
            body,
        }
    }

    async fn get(&self, url: &str) -> Page {
        let url = self.base.join(url).expect("a URL");
        Agent::read(self.http.get(url.clone()).send().await, &format!("GET {url}")).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let url = self.base.join(path).expect("a URL");
        Agent::read(
            self.http.post(url).form(form).send().await,
            &format!("POST {path}"),
        )
        .await
    }

    /// Goes through the authorization endpoint at `authorize_url` as a user would: signs in as
    /// `username` when asked, answers the consent page with `decision` when asked, and returns
    /// the URL the server finally redirects to (the client's redirect URI, not fetched).
    pub async fn authorize(
        &self,
        authorize_url: &str,
        username: &str,
        password: &str,
        decision: Decision,
    ) -> Url {
        let mut page = self.get(authorize_url).await;
        let mut signed_in = false;
        let mut consented = false;
        // At most: login page, consent page, redirect.
        for _ in 0..4 {
            if page.status == StatusCode::SEE_OTHER {
                let location = page.location.as_deref().expect("a 303 has a Location");
                let target = self.base.join(location).expect("a redirect target");
                if target.path() == "/oauth/authorize" && target.origin() == self.base.origin() {
                    page = self.get(target.as_str()).await;
                    continue;
                }
                return target;
            }
            assert_eq!(
                page.status,
                StatusCode::OK,
                "the authorization flow stopped at an unexpected page:\n{}",
                page.body
            );
            if page.body.contains("action=\"/login\"") && !signed_in {
                signed_in = true;
                let csrf = form_field(&page.body, "csrf").expect("a csrf field on the login page");
                let return_to =
                    form_field(&page.body, "return_to").expect("a return_to field on the login page");
                page = self
                    .post(
                        "/login",
                        &[
                            ("csrf", &csrf),
                            ("return_to", &return_to),
                            ("username", username),
                            ("password", password),
                        ],
                    )
                    .await;
            } else if page.body.contains("action=\"/oauth/consent\"") && !consented {
                consented = true;
                let csrf = form_field(&page.body, "csrf").expect("a csrf field on the consent page");
                let request = form_field(&page.body, "request").expect("a request field on the consent page");
                page = self
                    .post(
                        "/oauth/consent",
                        &[
                            ("csrf", &csrf),
                            ("request", &request),
                            ("decision", decision.button_value()),
                        ],
                    )
                    .await;
            } else {
                panic!(
                    "the authorization flow showed a page it cannot go on from:\n{}",
                    page.body
                );
            }
        }
        panic!("the authorization flow did not end in a redirect to the client");
    }
}

/// A code obtained through the login and consent pages, with what redeeming it needs.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub code: String,
    pub request: AuthRequest,
}

/// Obtains a code for `client_id` at the server `base` by signing in as [`USERNAME`] and
/// allowing. Checks the redirect carries the request's state and the issuer.
pub async fn authorization_code(base: &str, client_id: &str) -> Authorized {
    let request = AuthRequest::new(client_id, &redirect_uri_on(crate::harness::free_port()));
    let landed = Agent::new(base)
        .authorize(&request.url(base), USERNAME, PASSWORD, Decision::Allow)
        .await;
    assert!(
        landed.as_str().starts_with(&request.redirect_uri),
        "the flow ended at {landed}, not at the redirect URI {}",
        request.redirect_uri
    );
    assert_eq!(
        query_param(&landed, "state").as_deref(),
        Some(request.state.as_str())
    );
    assert_eq!(query_param(&landed, "iss").as_deref(), Some(base));
    let code =
        query_param(&landed, "code").unwrap_or_else(|| panic!("the redirect {landed} carries no code"));
    Authorized { code, request }
}

/// How a client authenticates at the token, revocation and introspection endpoints.
#[derive(Debug, Clone, Copy)]
pub enum ClientAuth<'a> {
    /// `client_secret_basic`, id and secret form-urlencoded before Basic encoding.
    Basic { id: &'a str, secret: &'a str },
    /// `client_secret_post`.
    Post { id: &'a str, secret: &'a str },
    /// A public client: `client_id` alone.
    Public { id: &'a str },
}

/// The `Authorization` value of `client_secret_basic` (RFC 6749 section 2.3.1).
pub fn basic_authorization(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

/// An answer of the token, revocation or introspection endpoint.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON, or `Value::Null` when it is empty.
    pub body: Value,
}

impl Reply {
    /// The `error` code of an error body.
    pub fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }

    /// A string member of the body that must be there.
    #[track_caller]
    pub fn string(&self, name: &str) -> String {
        self.body[name]
            .as_str()
            .unwrap_or_else(|| panic!("the answer has no string `{name}`: {}", self.body))
            .to_owned()
    }
}

/// POSTs `form` (plus the client's credentials) to `path` at `base` with `http`.
pub async fn post_form(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    auth: ClientAuth<'_>,
    form: &[(&str, &str)],
) -> Reply {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut request = http.post(format!("{base}{path}"));
    match auth {
        ClientAuth::Basic { id, secret } => {
            request = request.header("Authorization", basic_authorization(id, secret));
        }
        ClientAuth::Post { id, secret } => {
            fields.push(("client_id", id));
            fields.push(("client_secret", secret));
        }
        ClientAuth::Public { id } => fields.push(("client_id", id)),
    }
    let response = request
        .form(&fields)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path} failed: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("cannot read the answer to POST {path}: {e}"));
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "POST {path} answered {status} with a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Redeems the code of `authorized` at the token endpoint.
pub async fn redeem(
    http: &reqwest::Client,
    base: &str,
    auth: ClientAuth<'_>,
    authorized: &Authorized,
) -> Reply {
    post_form(
        http,
        base,
        "/oauth/token",
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &authorized.code),
            ("redirect_uri", &authorized.request.redirect_uri),
            ("code_verifier", &authorized.request.pkce.verifier),
        ],
    )
    .await
}

/// Presents `refresh_token` at the token endpoint.
pub async fn refresh(http: &reqwest::Client, base: &str, auth: ClientAuth<'_>, refresh_token: &str) -> Reply {
    post_form(
        http,
        base,
        "/oauth/token",
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
    )
    .await
}

/// Asks the introspection endpoint about `token`.
pub async fn introspect(http: &reqwest::Client, base: &str, auth: ClientAuth<'_>, token: &str) -> Reply {
    post_form(http, base, "/oauth/introspect", auth, &[("token", token)]).await
}

/// Asserts a successful token response (RFC 6749 section 5.1) with a refresh token.
#[track_caller]
pub fn assert_token_pair(reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the token request failed: {}",
        reply.body
    );
    assert_eq!(
        reply.headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "a token response must not be stored"
    );
    assert!(!reply.string("access_token").is_empty(), "an empty access token");
    assert!(
        !reply.string("refresh_token").is_empty(),
        "an empty refresh token"
    );
    assert!(
        reply.string("token_type").eq_ignore_ascii_case("bearer"),
        "token_type is not Bearer: {}",
        reply.body
    );
    assert!(
        reply.body["expires_in"].as_u64().is_some_and(|s| s > 0),
        "expires_in is not a positive number: {}",
        reply.body
    );
}
