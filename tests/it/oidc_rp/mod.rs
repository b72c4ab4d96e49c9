//! OpenID Connect from the relying party's side: the `openidconnect` crate discovers a real
//! Latchkey, runs the code flow with PKCE and a nonce while headless Chromium signs in and
//! consents, and strictly verifies what comes back: EdDSA and RS256 ID tokens through the JWKS
//! with `at_hash`, userinfo, refresh, single sign-on, `prompt=none`, RP-initiated logout and
//! back-channel logout tokens.
//!
//! A [`Recorder`] (a tiny loopback HTTP server) stands in for the relying parties' endpoints: the
//! redirect URI, the post-logout redirect URI and the back-channel logout URIs.

mod code_flow;
mod logout;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse, CoreSubjectIdentifierType,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, Audience, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenClaims,
    IdTokenFields, IssuerUrl, JsonWebKey as _, Nonce, NonceVerifier, OAuth2TokenResponse as _,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl,
    ResponseTypes, Scope, StandardErrorResponse, StandardTokenResponse, SubjectIdentifier,
    TokenResponse as _, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha512};
use url::Url;

use crate::browser::Browser;
use crate::flows::{PASSWORD, USERNAME, query_param, random_string};
use crate::harness::{ALLOW_LOOPBACK, Server, assert_success, default_config};

/// A confidential web application: EdDSA ID tokens (the default), refresh with `offline_access`,
/// RP-initiated and back-channel logout.
const WEB_ID: &str = "harbour-web";
const WEB_NAME: &str = "Harbour Web Console";
/// A public application registered for RS256 ID tokens, with back-channel logout.
const REPORTS_ID: &str = "harbour-reports";
const REPORTS_NAME: &str = "Harbour Reports";

/// The user's profile, as `latchkey user add` records it.
const EMAIL: &str = "alice@example.com";
const FULL_NAME: &str = "Alice Liddell";
const GROUPS: [&str; 2] = ["ops", "staff"];

/// The paths the [`Recorder`] serves.
const CALLBACK: &str = "/callback";
const SIGNED_OUT: &str = "/signed-out";
const WEB_BACKCHANNEL: &str = "/backchannel/web";
const REPORTS_BACKCHANNEL: &str = "/backchannel/reports";

/// The `events` member of a back-channel logout token (Back-Channel Logout 1.0, section 2.4).
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long the recorder waits for a request the test expects.
const RECORDED_WITHIN: Duration = Duration::from_secs(30);
/// How often it looks again.
const POLL: Duration = Duration::from_millis(20);

/// The ID token and userinfo claims Latchkey gives beyond OpenID Connect Core's standard set.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LatchkeyClaims {
    /// The session id (Front-Channel and Back-Channel Logout 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// The user's groups, for the `groups` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<String>>,
}

impl AdditionalClaims for LatchkeyClaims {}

type Claims = IdTokenClaims<LatchkeyClaims, CoreGenderClaim>;
type Tokens = StandardTokenResponse<
    IdTokenFields<
        LatchkeyClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// An `openidconnect` client built from discovery: authorization endpoint set, token and userinfo
/// endpoints as discovered, and ID token claims read with [`LatchkeyClaims`].
type RpClient = Client<
    LatchkeyClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// One request a [`Recorder`] received.
#[derive(Debug, Clone)]
struct Hit {
    method: String,
    url: Url,
    /// Header names in lower case, with their values.
    headers: Vec<(String, String)>,
    body: String,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A loopback HTTP server that records every request and answers 200: the relying parties'
/// redirect URI, post-logout redirect URI and back-channel logout URIs.
struct Recorder {
    port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts listening on a free loopback port.
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
        let port = listener.local_addr().expect("a bound address").port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (recorded, stopping) = (hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let recorded = recorded.clone();
                    std::thread::spawn(move || serve(stream, port, &recorded));
                }
            }
        });
        Recorder {
            port,
            hits,
            stop,
            thread: Some(thread),
        }
    }

    /// The URL of `path` on this recorder.
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits (bounded) for a request that `matches`, and returns it.
    async fn wait_for(&self, what: &str, matches: impl Fn(&Hit) -> bool) -> Hit {
        let deadline = Instant::now() + RECORDED_WITHIN;
        loop {
            let found = self
                .hits
                .lock()
                .expect("the recorder's lock")
                .iter()
                .find(|h| matches(h))
                .cloned();
            if let Some(hit) = found {
                return hit;
            }
            if Instant::now() >= deadline {
                let seen: Vec<String> = self
                    .all()
                    .iter()
                    .map(|h| format!("{} {}", h.method, h.url))
                    .collect();
                panic!("no {what} arrived within {RECORDED_WITHIN:?}; the recorder saw {seen:#?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for the browser to reach the redirect URI with `state`, and returns that URL.
    async fn redirect_with_state(&self, state: &CsrfToken) -> Url {
        let hit = self
            .wait_for("redirect to the callback with our state", |h| {
                h.method == "GET"
                    && h.url.path() == CALLBACK
                    && query_param(&h.url, "state").as_deref() == Some(state.secret().as_str())
            })
            .await;
        hit.url
    }

    fn all(&self) -> Vec<Hit> {
        self.hits.lock().expect("the recorder's lock").clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (head and `Content-Length` body) from `stream`, records it, answers 200.
fn serve(mut stream: TcpStream, port: u16, hits: &Mutex<Vec<Hit>>) {
    const LIMIT: usize = 1024 * 1024;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) if bytes.len() + n <= LIMIT => bytes.extend_from_slice(&buf[..n]),
            Ok(_) => return,
        }
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("").to_owned();
    let target = request_line.next().unwrap_or("/").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(LIMIT);
    while bytes.len() < head_end + length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
    let body = String::from_utf8_lossy(&bytes[head_end..head_end + length]).into_owned();
    if let Ok(url) = Url::parse(&format!("http://127.0.0.1:{port}{target}")) {
        hits.lock().expect("the recorder's lock").push(Hit {
            method,
            url,
            headers,
            body,
        });
    }
    let page = "<!doctype html><title>Relying party</title><main><p>Recorded.</p></main>";
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// A running Latchkey with the two relying parties registered and the user [`USERNAME`], and the
/// recorder standing in for the relying parties.
struct Provider {
    server: Server,
    recorder: Recorder,
    http: reqwest::Client,
    web_secret: String,
}

impl Provider {
    fn start() -> Provider {
        let recorder = Recorder::start();
        let web_secret = random_string(32);
        let digest = latchkey::service::clients::digest_text(&web_secret);
        let (web_backchannel, reports_backchannel) =
            (recorder.url(WEB_BACKCHANNEL), recorder.url(REPORTS_BACKCHANNEL));
        let mut server = Server::with_config(|port| {
            default_config(port)
                + ALLOW_LOOPBACK
                + &format!(
                    r#"
[[client]]
client_id = "{WEB_ID}"
name = "{WEB_NAME}"
redirect_uris = ["http://127.0.0.1{CALLBACK}"]
scopes = ["openid", "profile", "email", "groups", "offline_access"]
secret_digest = "{digest}"
post_logout_redirect_uris = ["http://127.0.0.1{SIGNED_OUT}"]
backchannel_logout_uri = "{web_backchannel}"

[[client]]
client_id = "{REPORTS_ID}"
name = "{REPORTS_NAME}"
public = true
redirect_uris = ["http://127.0.0.1{CALLBACK}"]
scopes = ["openid", "profile", "email"]
id_token_signed_response_alg = "RS256"
backchannel_logout_uri = "{reports_backchannel}"
"#
                )
        });
        server.start();
        let mut add = vec!["user", "add", USERNAME, "--email", EMAIL, "--email-verified"];
        add.extend(["--name", FULL_NAME, "--password-stdin"]);
        for group in GROUPS {
            add.extend(["--group", group]);
        }
        assert_success(&server.cli_stdin(&add, &format!("{PASSWORD}\n")));
        // Following redirects would expose the relying party to SSRF (the crate's advice).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        Provider {
            server,
            recorder,
            http,
            web_secret,
        }
    }

    fn issuer(&self) -> IssuerUrl {
        IssuerUrl::new(self.server.base_url()).expect("an issuer URL")
    }

    /// Discovery with the RP-Initiated Logout metadata; fetches the JWKS afresh each time.
    async fn discover(&self) -> ProviderMetadataWithLogout {
        ProviderMetadataWithLogout::discover_async(self.issuer(), &self.http)
            .await
            .unwrap_or_else(|e| panic!("discovery failed: {e} ({e:?})"))
    }

    /// A relying party for `client_id` built from a fresh discovery, redirecting to the recorder.
    async fn client(&self, client_id: &str) -> RpClient {
        let secret = (client_id == WEB_ID).then(|| ClientSecret::new(self.web_secret.clone()));
        let client: RpClient = Client::from_provider_metadata(
            self.discover().await,
            ClientId::new(client_id.to_owned()),
            secret,
        );
        client.set_redirect_uri(RedirectUrl::new(self.recorder.url(CALLBACK)).expect("a redirect URL"))
    }
}

/// What an authorization request sent, to check its answer against.
struct Pending {
    url: Url,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

/// An authorization request for `scopes` with PKCE (S256), a state and a nonce; with
/// `prompt=none` when `silent`.
fn authorization(client: &RpClient, scopes: &[&str], silent: bool) -> Pending {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    if silent {
        request = request.add_prompt(CoreAuthPrompt::None);
    }
    let (url, state, nonce) = request.url();
    Pending {
        url,
        state,
        nonce,
        verifier,
    }
}

async fn open(browser: &Browser, url: &Url) {
    browser
        .client
        .goto(url.as_str())
        .await
        .unwrap_or_else(|e| panic!("the browser cannot open {url}: {e}"));
}

/// Which Latchkey page the browser shows: `/login` or `/oauth/consent` (the form's action).
async fn page_shown(browser: &Browser) -> String {
    let form = browser
        .wait_for("form[action='/login'], form[action='/oauth/consent']")
        .await;
    form.attr("action")
        .await
        .expect("a form's action")
        .expect("the form has an action")
}

/// Signs in as [`USERNAME`] on the login page the browser shows.
async fn sign_in(browser: &Browser) {
    browser.wait_for("form[action='/login'] input#username").await;
    browser.type_into("input#username", USERNAME).await;
    browser.type_into("input#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
}

/// Allows the request on the consent page, after checking that it names `client_name`.
async fn allow(browser: &Browser, client_name: &str) {
    let button = "form[action='/oauth/consent'] button[name='decision'][value='allow']";
    browser.wait_for(button).await;
    let page = browser.text("main").await;
    assert!(
        page.contains(client_name),
        "the consent page does not name `{client_name}`:\n{page}"
    );
    browser.click(button).await;
}

/// Checks an authorization response that carries a code (state and RFC 9207 `iss` included)
/// and returns the code.
#[track_caller]
fn code_from(landed: &Url, issuer: &str) -> AuthorizationCode {
    assert_eq!(query_param(landed, "error"), None, "an error came back: {landed}");
    assert_eq!(query_param(landed, "iss").as_deref(), Some(issuer), "{landed}");
    AuthorizationCode::new(
        query_param(landed, "code").unwrap_or_else(|| panic!("no code in the redirect {landed}")),
    )
}

/// Asserts that a silent request came back with `login_required` and no code.
#[track_caller]
fn assert_login_required(landed: &Url, issuer: &str) {
    assert_eq!(
        query_param(landed, "error").as_deref(),
        Some("login_required"),
        "prompt=none without a session must answer login_required: {landed}"
    );
    assert_eq!(query_param(landed, "code"), None, "{landed}");
    assert_eq!(query_param(landed, "iss").as_deref(), Some(issuer), "{landed}");
}

/// Redeems a code through the crate, with the PKCE verifier.
async fn redeem(
    client: &RpClient,
    http: &reqwest::Client,
    code: AuthorizationCode,
    verifier: PkceCodeVerifier,
) -> Tokens {
    client
        .exchange_code(code)
        .expect("discovery names a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("the code exchange failed: {e} ({e:?})"))
}

/// Verifies the ID token of `tokens` as a strict relying party: signature through the JWKS with
/// exactly `alg` allowed, issuer, audience, expiry and `nonce` (the crate), then `azp`, a single
/// audience and `at_hash` against the access token. Returns the claims.
#[track_caller]
fn verify_id_token(
    client: &RpClient,
    tokens: &Tokens,
    alg: CoreJwsSigningAlgorithm,
    nonce: impl NonceVerifier,
) -> Claims {
    let id_token = tokens.id_token().expect("an openid request gets an ID token");
    let verifier = client.id_token_verifier().set_allowed_algs([alg.clone()]);
    let claims = id_token
        .claims(&verifier, nonce)
        .unwrap_or_else(|e| panic!("the ID token does not verify: {e} ({e:?})"))
        .clone();
    let signed_with = id_token.signing_alg().expect("a signing algorithm");
    assert_eq!(signed_with, &alg);
    let client_id = client.client_id().as_str();
    assert_eq!(claims.audiences(), &vec![Audience::new(client_id.to_owned())]);
    assert_eq!(claims.authorized_party().map(|p| p.as_str()), Some(client_id));
    let expected = claims
        .access_token_hash()
        .expect("an ID token issued with an access token carries at_hash");
    let key = id_token
        .signing_key(&verifier)
        .expect("the JWKS holds the signing key");
    let actual = AccessTokenHash::from_token(tokens.access_token(), signed_with, key)
        .expect("the crate computes at_hash for this algorithm");
    assert_eq!(&actual, expected, "at_hash does not match the access token");
    claims
}

/// The `sid` claim, which every ID token of a browser sign-in carries.
#[track_caller]
fn sid(claims: &Claims) -> String {
    claims
        .additional_claims()
        .sid
        .clone()
        .expect("an ID token from a browser sign-in carries sid")
}
