//! "Sign in with an upstream provider", end to end: an in-process Latchkey signs people in through
//! a fake OpenID Connect provider (or a GitHub-like plain OAuth 2.0 one) that each test serves on
//! its own loopback port. It proves that an honest answer signs in with every signing algorithm
//! the provider may use; that every forged, replayed, misdirected, late or missing answer ends on
//! an error page with no session and no new user; and that the link policies decide which local
//! user an upstream identity becomes.
//!
//! The fake's authorization endpoint is never visited: the test reads Latchkey's redirect to it,
//! plays the provider's part (remembering the PKCE challenge and nonce under a new code) and sends
//! the browser back to Latchkey's callback itself.

mod callback;
mod id_token;
mod links;
mod second_factor;
mod sign_in;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use latchkey::clock::Clock;
use latchkey::crypto::{b64url, sha256};
use latchkey::domain::Timestamp;
use latchkey::service::upstream::{self as upstream_links, LinkView};
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::{Data, Json};
use poem::{EndpointExt as _, IntoResponse as _, Request, Response, Route, handler};
use serde_json::{Value, json};

use crate::flows::html_unescape;
use crate::harness::ALLOW_LOOPBACK;
use crate::inproc::{ISSUER, InProc, REDIRECT, Reply, basic, claims, form};

/// The client id Latchkey uses at the fake provider.
const CLIENT_ID: &str = "latchkey";
/// Latchkey's client secret at the fake provider (read from a file named in the configuration).
const CLIENT_SECRET: &str = "upstream-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
/// The subject the fake provider vouches for unless a test says otherwise.
const SUB: &str = "fake-248289761001";

/// The redirect URI Latchkey must register at the fake provider.
fn callback_uri() -> String {
    format!("{ISSUER}/login/upstream/fake/callback")
}

// The fake provider's keys.

/// The fake provider's signing keys: one per algorithm, made once for the whole test binary
/// (RSA key generation takes a moment).
struct Keys {
    ed: Ed25519KeyPair,
    ec: EcdsaKeyPair,
    rsa: RsaKeyPair,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| Keys {
    ed: Ed25519KeyPair::generate().expect("an Ed25519 key"),
    ec: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("a P-256 key"),
    rsa: RsaKeyPair::generate(KeySize::Rsa2048).expect("an RSA key"),
});

/// An ID-token signing algorithm the fake provider publishes a key for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    EdDsa,
    Es256,
    Rs256,
}

impl Alg {
    /// The JOSE `alg` name.
    fn name(self) -> &'static str {
        match self {
            Alg::EdDsa => "EdDSA",
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
        }
    }

    /// The `kid` of the key for this algorithm.
    fn kid(self) -> &'static str {
        match self {
            Alg::EdDsa => "fake-ed25519",
            Alg::Es256 => "fake-p256",
            Alg::Rs256 => "fake-rsa",
        }
    }

    /// The JWS signature of `input` (ES256 as the fixed-width `r || s` of RFC 7518).
    fn sign(self, input: &[u8]) -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            Alg::EdDsa => KEYS.ed.sign(input).as_ref().to_vec(),
            Alg::Es256 => KEYS
                .ec
                .sign(&rng, input)
                .expect("an ECDSA signature")
                .as_ref()
                .to_vec(),
            Alg::Rs256 => {
                let mut sig = vec![0; KEYS.rsa.public_modulus_len()];
                KEYS.rsa
                    .sign(&RSA_PKCS1_SHA256, &rng, input, &mut sig)
                    .expect("an RSA signature");
                sig
            }
        }
    }
}

/// The fake provider's JWK Set: an OKP, an EC and an RSA key, each with its `kid` and `alg`.
fn jwks() -> Value {
    let ec = KEYS.ec.public_key().as_ref();
    assert_eq!(ec.len(), 65, "an uncompressed P-256 point");
    let rsa = KEYS.rsa.public_key();
    json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": b64url(KEYS.ed.public_key().as_ref()),
         "kid": Alg::EdDsa.kid(), "alg": "EdDSA", "use": "sig"},
        {"kty": "EC", "crv": "P-256", "x": b64url(&ec[1..33]), "y": b64url(&ec[33..]),
         "kid": Alg::Es256.kid(), "alg": "ES256", "use": "sig"},
        {"kty": "RSA", "n": b64url(rsa.modulus().big_endian_without_leading_zero()),
         "e": b64url(rsa.exponent().big_endian_without_leading_zero()),
         "kid": Alg::Rs256.kid(), "alg": "RS256", "use": "sig"},
    ]})
}

// The fake provider.

/// How the fake's token endpoint spoils its answer; `Honest` answers as a good provider would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    Honest,
    /// `aud` names another client.
    WrongAudience,
    /// `aud` names Latchkey, but `azp` names another client.
    OtherAuthorizedParty,
    /// `aud` names Latchkey and another client it does not trust.
    ExtraAudience,
    /// `nonce` is not the one Latchkey sent.
    WrongNonce,
    /// `nonce` is left out.
    NoNonce,
    /// `iss` names another issuer.
    WrongIssuer,
    /// `exp` has passed by Latchkey's clock.
    Expired,
    /// `iat` lies an hour ahead of Latchkey's clock.
    IssuedInTheFuture,
    /// `iat` lies an hour behind Latchkey's clock (while `exp` is still ahead).
    IssuedLongAgo,
    /// One byte of the signature is flipped.
    BadSignature,
    /// The header names a key the JWK Set does not have (signed with a key it does have).
    UnknownKid,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with Latchkey's client secret as the MAC key.
    Hs256,
    /// The token response has no `id_token`.
    NoIdToken,
    /// The token endpoint answers `400 invalid_grant`.
    TokenError,
    /// The token endpoint answers only after far longer than Latchkey's timeout.
    Hang,
}

/// What one authorization request left at the fake provider, under its code.
#[derive(Debug, Clone)]
struct Grant {
    challenge: String,
    nonce: Option<String>,
    redirect_uri: String,
}

/// What the fake provider answers; each test sets the parts it cares about.
#[derive(Debug)]
struct Scenario {
    alg: Alg,
    tamper: Tamper,
    /// The claims about the person: in the ID token, and at the user-info endpoint.
    person: Value,
    /// If set, the user-info endpoint answers this instead of `person`.
    userinfo: Option<Value>,
    /// Whether the discovery document promises `iss` on authorization responses (RFC 9207).
    promises_iss: bool,
    /// Codes handed out and not yet redeemed.
    codes: HashMap<String, Grant>,
    /// Access tokens issued, to the claims their user-info request gets.
    access_tokens: HashMap<String, Value>,
    /// How many codes and tokens were made, for unique values.
    issued: u64,
    /// Why the token endpoint refused requests, for assertion messages.
    refusals: Vec<String>,
}

/// The fake provider's state, shared by its handlers and the test.
struct Provider {
    base: String,
    /// Latchkey's clock: the fake's tokens are issued "now" by the server's time.
    clock: Clock,
    scenario: Mutex<Scenario>,
}

impl Provider {
    /// The scenario, locked; never held across an `await`.
    fn scenario(&self) -> std::sync::MutexGuard<'_, Scenario> {
        self.scenario.lock().expect("the scenario lock")
    }
}

/// A fake provider running on a loopback port; stops when dropped.
struct Fake {
    provider: Arc<Provider>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A JSON response with `status`.
fn json_reply(status: StatusCode, body: &Value) -> Response {
    Json(body.clone()).with_status(status).into_response()
}

/// The form fields of a request body.
fn form_fields(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

/// The discovery document: this provider's endpoints and, as the scenario says, the RFC 9207
/// promise to send `iss`.
#[handler]
async fn discovery(Data(p): Data<&Arc<Provider>>) -> Response {
    let b = &p.base;
    let promises_iss = p.scenario().promises_iss;
    json_reply(
        StatusCode::OK,
        &json!({
            "issuer": b,
            "authorization_endpoint": format!("{b}/authorize"),
            "token_endpoint": format!("{b}/token"),
            "userinfo_endpoint": format!("{b}/userinfo"),
            "jwks_uri": format!("{b}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["EdDSA", "ES256", "RS256"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": promises_iss,
        }),
    )
}

/// The JWK Set.
#[handler]
async fn jwks_endpoint() -> Response {
    json_reply(StatusCode::OK, &jwks())
}

/// Redeems a code as both token endpoints do: client authentication (HTTP Basic), grant type,
/// single-use code, redirect URI, PKCE S256. Returns the code's grant and a new access token
/// that the user-info endpoints accept, or the error response's status and body.
fn redeem(p: &Provider, req: &Request, body: &str) -> Result<(Grant, String), (StatusCode, Value)> {
    let fields = form_fields(body);
    let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    let mut s = p.scenario();
    let refuse = |s: &mut Scenario, why: String| {
        s.refusals.push(why);
        Err((StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})))
    };
    let auth = req.header("authorization").unwrap_or_default();
    if auth != basic(CLIENT_ID, CLIENT_SECRET) {
        s.refusals.push(format!("client authentication `{auth}`"));
        return Err((StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"})));
    }
    if field("grant_type") != "authorization_code" {
        return refuse(&mut s, format!("grant_type `{}`", field("grant_type")));
    }
    let Some(grant) = s.codes.remove(field("code")) else {
        return refuse(&mut s, format!("unknown code `{}`", field("code")));
    };
    if field("redirect_uri") != grant.redirect_uri {
        return refuse(&mut s, format!("redirect_uri `{}`", field("redirect_uri")));
    }
    if b64url(&sha256(field("code_verifier").as_bytes())) != grant.challenge {
        return refuse(&mut s, format!("code_verifier `{}`", field("code_verifier")));
    }
    s.issued += 1;
    let token = format!("fake-access-token-{}", s.issued);
    let person = s.userinfo.clone().unwrap_or_else(|| s.person.clone());
    s.access_tokens.insert(token.clone(), person);
    Ok((grant, token))
}

/// The OpenID Connect token endpoint: an access token and an ID token, spoiled as the scenario
/// says.
#[handler]
async fn token_endpoint(req: &Request, body: String, Data(p): Data<&Arc<Provider>>) -> Response {
    let tamper = p.scenario().tamper;
    if tamper == Tamper::Hang {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    }
    let (grant, access_token) = match redeem(p, req, &body) {
        Ok(pair) => pair,
        Err((status, body)) => return json_reply(status, &body),
    };
    if tamper == Tamper::TokenError {
        return json_reply(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_grant", "error_description": "the code has expired"}),
        );
    }
    let mut answer = json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600});
    if tamper != Tamper::NoIdToken {
        answer["id_token"] = Value::String(id_token(p, &grant));
    }
    json_reply(StatusCode::OK, &answer)
}

/// The ID token for a redeemed grant, spoiled as the scenario says.
fn id_token(p: &Provider, grant: &Grant) -> String {
    let s = p.scenario();
    let now = i64::try_from(p.clock.now().0).expect("a sane time");
    let mut header = json!({"alg": s.alg.name(), "kid": s.alg.kid(), "typ": "JWT"});
    let mut c = s.person.clone();
    c["iss"] = json!(p.base);
    c["aud"] = json!(CLIENT_ID);
    c["iat"] = json!(now);
    c["exp"] = json!(now + 300);
    c["auth_time"] = json!(now);
    if let Some(nonce) = &grant.nonce {
        c["nonce"] = json!(nonce);
    }
    match s.tamper {
        Tamper::WrongAudience => c["aud"] = json!("someone-else"),
        Tamper::OtherAuthorizedParty => c["azp"] = json!("someone-else"),
        Tamper::ExtraAudience => {
            c["aud"] = json!([CLIENT_ID, "someone-else"]);
            c["azp"] = json!(CLIENT_ID);
        }
        Tamper::WrongNonce => c["nonce"] = json!("not-the-nonce-latchkey-sent"),
        Tamper::NoNonce => {
            c.as_object_mut().expect("claims").remove("nonce");
        }
        Tamper::WrongIssuer => c["iss"] = json!("https://evil.example"),
        Tamper::Expired => {
            c["iat"] = json!(now - 400);
            c["exp"] = json!(now - 100);
        }
        Tamper::IssuedInTheFuture => {
            c["iat"] = json!(now + 3600);
            c["exp"] = json!(now + 7200);
        }
        Tamper::IssuedLongAgo => {
            c["iat"] = json!(now - 3600);
            c["exp"] = json!(now + 300);
        }
        Tamper::UnknownKid => header["kid"] = json!("a-key-nobody-published"),
        Tamper::AlgNone => header = json!({"alg": "none", "typ": "JWT"}),
        Tamper::Hs256 => header = json!({"alg": "HS256", "typ": "JWT"}),
        _ => {}
    }
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(c.to_string().as_bytes())
    );
    let signature = match s.tamper {
        Tamper::AlgNone => Vec::new(),
        Tamper::Hs256 => {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, CLIENT_SECRET.as_bytes());
            aws_lc_rs::hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
        }
        Tamper::BadSignature => {
            let mut sig = s.alg.sign(input.as_bytes());
            sig[0] ^= 0x01;
            sig
        }
        _ => s.alg.sign(input.as_bytes()),
    };
    format!("{input}.{}", b64url(&signature))
}

/// The person behind a bearer access token, or 401.
fn bearer_person(p: &Provider, req: &Request) -> Response {
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    match p.scenario().access_tokens.get(token) {
        Some(person) => json_reply(StatusCode::OK, person),
        None => json_reply(StatusCode::UNAUTHORIZED, &json!({"error": "invalid_token"})),
    }
}

/// The OpenID Connect user-info endpoint.
#[handler]
async fn userinfo_endpoint(req: &Request, Data(p): Data<&Arc<Provider>>) -> Response {
    bearer_person(p, req)
}

/// GitHub's token endpoint: no ID token, `token_type` in lower case.
#[handler]
async fn github_token(req: &Request, body: String, Data(p): Data<&Arc<Provider>>) -> Response {
    match redeem(p, req, &body) {
        Ok((_, access_token)) => json_reply(
            StatusCode::OK,
            &json!({"access_token": access_token, "token_type": "bearer", "scope": "read:user"}),
        ),
        Err((status, body)) => json_reply(status, &body),
    }
}

/// GitHub's `/user`: the claims of a plain OAuth 2.0 provider.
#[handler]
async fn github_user(req: &Request, Data(p): Data<&Arc<Provider>>) -> Response {
    bearer_person(p, req)
}

/// What the fake provider read from one authorization request.
#[derive(Debug)]
struct Approval {
    code: String,
    state: String,
    /// What the fake keeps under the code until it is redeemed.
    grant: Grant,
}

impl Fake {
    /// Binds a loopback port; the provider's base URL is known from here on, before it serves.
    async fn bind() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("its address"));
        (listener, base)
    }

    /// Serves the fake provider on `listener`, issuing tokens by `clock`.
    fn serve(listener: tokio::net::TcpListener, base: String, clock: Clock, person: Value) -> Fake {
        let provider = Arc::new(Provider {
            base,
            clock,
            scenario: Mutex::new(Scenario {
                alg: Alg::EdDsa,
                tamper: Tamper::Honest,
                person,
                userinfo: None,
                promises_iss: false,
                codes: HashMap::new(),
                access_tokens: HashMap::new(),
                issued: 0,
                refusals: Vec::new(),
            }),
        });
        let routes = Route::new()
            .at("/.well-known/openid-configuration", poem::get(discovery))
            .at("/jwks", poem::get(jwks_endpoint))
            .at("/token", poem::post(token_endpoint))
            .at("/userinfo", poem::get(userinfo_endpoint))
            .at("/login/oauth/access_token", poem::post(github_token))
            .at("/user", poem::get(github_user))
            .data(Arc::clone(&provider));
        let acceptor = TcpAcceptor::from_tokio(listener).expect("an acceptor");
        let server = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(routes).await;
        });
        Fake { provider, server }
    }

    /// The provider's issuer and base URL, `http://127.0.0.1:{port}`.
    fn base(&self) -> &str {
        &self.provider.base
    }

    /// Changes what the provider answers from now on.
    fn set(&self, f: impl FnOnce(&mut Scenario)) {
        f(&mut self.provider.scenario());
    }

    /// Plays the provider's authorization endpoint for the request Latchkey redirected to:
    /// checks it, and hands out a code bound to its PKCE challenge, nonce and redirect URI.
    fn approve(&self, location: &str) -> Approval {
        let (endpoint, query) = location
            .split_once('?')
            .unwrap_or_else(|| panic!("no query in {location}"));
        let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| {
            q.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("no {k} in {location}"))
        };
        let oidc = endpoint == format!("{}/authorize", self.base());
        assert!(
            oidc || endpoint == format!("{}/login/oauth/authorize", self.base()),
            "Latchkey sent the browser to {location}"
        );
        assert_eq!(get("response_type"), "code");
        assert_eq!(get("client_id"), CLIENT_ID);
        assert_eq!(get("redirect_uri"), callback_uri());
        assert_eq!(get("code_challenge_method"), "S256");
        assert_eq!(get("code_challenge").len(), 43, "a SHA-256 challenge");
        assert!(get("state").len() >= 32, "an unguessable state: {location}");
        let nonce = q.get("nonce").cloned();
        if oidc {
            assert!(
                nonce.as_ref().is_some_and(|n| n.len() >= 32),
                "an unguessable nonce: {location}"
            );
            assert!(get("scope").split(' ').any(|s| s == "openid"), "{location}");
        } else {
            assert_eq!(nonce, None, "no nonce to a plain OAuth 2.0 provider");
        }
        let mut s = self.provider.scenario();
        s.issued += 1;
        let code = format!("fake-code-{}", s.issued);
        let grant = Grant {
            challenge: get("code_challenge"),
            nonce: nonce.clone(),
            redirect_uri: get("redirect_uri"),
        };
        s.codes.insert(code.clone(), grant.clone());
        Approval {
            code,
            state: get("state"),
            grant,
        }
    }

    /// The callback for an approval, with the provider's `iss` as RFC 9207 has it.
    fn callback(&self, a: &Approval) -> String {
        callback_with(&[("code", &a.code), ("state", &a.state), ("iss", self.base())])
    }

    /// Why the token endpoint refused requests so far.
    fn refusals(&self) -> Vec<String> {
        self.provider.scenario().refusals.clone()
    }
}

/// Latchkey's callback path with these query pairs.
fn callback_with(pairs: &[(&str, &str)]) -> String {
    format!("/login/upstream/fake/callback?{}", form(pairs))
}

// Setting up.

/// The person the fake OpenID Connect provider vouches for unless a test says otherwise.
fn dana() -> Value {
    json!({
        "sub": SUB,
        "preferred_username": "dana",
        "name": "Dana Scully",
        "email": "dana@example.org",
        "email_verified": true,
    })
}

/// A Latchkey whose upstream `fake` is a fresh fake provider: `upstream` is the `[[upstream]]`
/// table for the provider at `base` with the client secret in the file `secret`; `person` the
/// claims the provider vouches for.
async fn setup_with(upstream: impl FnOnce(&str, &str) -> String, person: Value) -> (InProc, Fake) {
    let (listener, base) = Fake::bind().await;
    let secret = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(secret.path(), format!("{CLIENT_SECRET}\n")).expect("the secret written");
    let path = secret.path().to_str().expect("a UTF-8 path").to_owned();
    let s = InProc::new(&format!("{ALLOW_LOOPBACK}{}", upstream(&base, &path))).await;
    let fake = Fake::serve(listener, base, s.app.clock.clone(), person);
    (s, fake)
}

/// A Latchkey with an OpenID Connect upstream `fake` with the link policy `link` and any `extra`
/// keys, vouching for `person`.
async fn setup(link: &str, extra: &str, person: Value) -> (InProc, Fake) {
    setup_with(
        |base, secret| {
            format!(
                r#"
[[upstream]]
name = "fake"
display_name = "Fake IdP"
kind = "oidc"
issuer = "{base}"
client_id = "{CLIENT_ID}"
client_secret_file = '{secret}'
link = "{link}"
{extra}
"#
            )
        },
        person,
    )
    .await
}

/// The authorization request of the `web` client that every sign-in here starts from.
fn authorize_request() -> String {
    InProc::authorize_uri("web", REDIRECT, &[("scope", "openid profile email")])
}

/// Starts a sign-in at the fake as the login page's button would, returning to `web`'s
/// authorization request: checks the redirect to the provider and the browser-binding cookie;
/// returns the provider URL.
async fn start(s: &mut InProc) -> String {
    let reply = s
        .get(&format!(
            "/login/upstream/fake?{}",
            form(&[("return_to", &authorize_request())])
        ))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let cookie = set_cookie(&reply, "__Host-latchkey-upstream")
        .unwrap_or_else(|| panic!("no browser-binding cookie: {:?}", reply.headers));
    for attribute in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    reply.location().to_owned()
}

/// Starts a sign-in and has the fake approve it; returns the approval.
async fn start_and_approve(s: &mut InProc, fake: &Fake) -> Approval {
    let location = start(s).await;
    fake.approve(&location)
}

/// A whole sign-in at the fake: start, approve, callback; returns the callback's reply.
async fn sign_in(s: &mut InProc, fake: &Fake) -> Reply {
    let a = start_and_approve(s, fake).await;
    s.get(&fake.callback(&a)).await
}

/// The `Set-Cookie` value for cookie `name` in a reply, if it sets one with a value.
fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| {
            c.split(';')
                .next()
                .and_then(|pair| pair.split_once('='))
                .is_some_and(|(k, v)| k == name && !v.is_empty())
        })
        .map(str::to_owned)
}

/// Follows a successful callback through the authorization endpoint (consenting if asked) to
/// `web`'s redirect, exchanges the code, and returns the claims of Latchkey's ID token.
async fn id_token_after(s: &mut InProc, callback: Reply) -> Value {
    assert_eq!(callback.status, StatusCode::SEE_OTHER, "{}", callback.body);
    assert!(
        callback.location().starts_with("/oauth/authorize?"),
        "the callback returns to the authorization request: {}",
        callback.location()
    );
    let mut reply = callback;
    for _ in 0..4 {
        if reply.status == StatusCode::SEE_OTHER && !reply.location().starts_with('/') {
            assert!(reply.location().starts_with(REDIRECT), "{}", reply.location());
            let code = reply
                .location_param("code")
                .unwrap_or_else(|| panic!("no code in {}", reply.location()));
            let tokens = s.exchange(&code).await;
            assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
            return claims(tokens.json()["id_token"].as_str().expect("an ID token"));
        }
        if reply.status == StatusCode::SEE_OTHER {
            let next = reply.location().to_owned();
            reply = s.get(&next).await;
        } else if reply.body.contains("action=\"/oauth/consent\"") {
            let (csrf, request) = (reply.field("csrf"), reply.field("request"));
            reply = s
                .post(
                    "/oauth/consent",
                    &[("csrf", &csrf), ("request", &request), ("decision", "allow")],
                )
                .await;
        } else {
            panic!(
                "unexpected page after an upstream sign-in: {} {}",
                reply.status, reply.body
            );
        }
    }
    panic!("the authorization did not end: {} {}", reply.status, reply.body)
}

/// What the store held before a sign-in attempt, to show a refused attempt changed nothing.
#[derive(Debug, Clone, Copy)]
struct Before {
    users: u64,
    sessions: usize,
}

impl Before {
    fn of(s: &InProc) -> Before {
        s.app
            .store
            .read(|tx| {
                Ok::<_, latchkey::store::StoreError>(Before {
                    users: tx.user_count()?,
                    sessions: tx.sessions()?.len(),
                })
            })
            .expect("the user and session counts")
    }

    /// Asserts `reply` is an error page with `status` whose text mentions `because`, that no
    /// session cookie was set, and that no user or session was created. `case` names the attempt.
    fn assert_refused(self, s: &InProc, reply: &Reply, status: StatusCode, because: &str, case: &str) {
        let text = html_unescape(&reply.body);
        assert_eq!(reply.status, status, "{case}: {text}");
        assert!(
            reply.header("location").is_none(),
            "{case}: an error page, not a redirect"
        );
        assert!(
            reply
                .header("content-type")
                .unwrap_or_default()
                .starts_with("text/html"),
            "{case}: an HTML page"
        );
        assert!(
            text.to_lowercase().contains(&because.to_lowercase()),
            "{case}: the page should say {because:?}: {text}"
        );
        assert_eq!(
            set_cookie(reply, "__Host-latchkey-session"),
            None,
            "{case}: no session cookie"
        );
        let after = Before::of(s);
        assert_eq!(after.users, self.users, "{case}: no user created");
        assert_eq!(after.sessions, self.sessions, "{case}: no session created");
    }
}

/// A user by username.
fn user(s: &InProc, username: &str) -> latchkey::domain::User {
    s.app
        .store
        .read(|tx| tx.user_by_username_key(username))
        .expect("a user lookup")
        .unwrap_or_else(|| panic!("no user {username}"))
}

/// The upstream links of a user.
async fn links(s: &InProc, username: &str) -> Vec<LinkView> {
    upstream_links::links_of(&s.app, username.into())
        .await
        .expect("the links")
}

// The happy path.
