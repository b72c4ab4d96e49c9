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

/// Signs in at the fake with ID tokens signed by `alg` under `link = "create"`, from the login
/// page's button through consent to Latchkey's own ID token; then again in a new browser.
async fn creates_then_reuses_a_linked_user(alg: Alg) {
    let (mut s, fake) = setup("create", "", dana()).await;
    fake.set(|sc| sc.alg = alg);
    let users_before = Before::of(&s).users;

    let mut page = s.get(&authorize_request()).await;
    if page.status == StatusCode::SEE_OTHER {
        let next = page.location().to_owned();
        page = s.get(&next).await;
    }
    let at = page
        .body
        .find(r#"data-upstream="fake""#)
        .unwrap_or_else(|| panic!("no upstream button on the login page: {}", page.body));
    let (tag_start, tag_end) = (
        page.body[..at].rfind("<a ").expect("an <a>"),
        page.body[at..].find("</a>").expect("</a>") + at,
    );
    let anchor = &page.body[tag_start..tag_end];
    assert!(anchor.contains(r#"class="button upstream""#), "{anchor}");
    assert!(anchor.ends_with(">Sign in with Fake IdP"), "{anchor}");
    let href = anchor
        .split("href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .expect("an href");
    let href = html_unescape(href);
    assert!(href.starts_with("/login/upstream/fake?return_to="), "{href}");

    let out = s.get(&href).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert!(set_cookie(&out, "__Host-latchkey-upstream").is_some());
    let a = fake.approve(out.location());
    let back = s.get(&fake.callback(&a)).await;
    assert_eq!(
        back.status,
        StatusCode::SEE_OTHER,
        "{alg:?}: {} {:?}",
        back.body,
        fake.refusals()
    );
    let session = set_cookie(&back, "__Host-latchkey-session").expect("a session cookie");
    assert!(
        session.contains("Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    assert!(
        !s.cookies().contains_key("__Host-latchkey-upstream"),
        "the browser-binding cookie is cleared"
    );
    let id = id_token_after(&mut s, back).await;

    let dana = user(&s, "dana");
    assert_eq!(id["sub"], dana.subject.as_str(), "{alg:?}");
    let amr: Vec<&str> = id["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        amr.contains(&"fed") && amr.contains(&"upstream:fake"),
        "{alg:?}: amr {amr:?}"
    );
    assert_eq!(dana.name.as_deref(), Some("Dana Scully"));
    assert_eq!(dana.email.as_deref(), Some("dana@example.org"));
    assert!(dana.email_verified);
    assert!(dana.password_hash.is_none(), "an upstream user has no password");
    assert_eq!(Before::of(&s).users, users_before + 1);
    let now = s.app.clock.now();
    assert_eq!(
        links(&s, "dana").await,
        vec![LinkView {
            upstream: "fake".into(),
            upstream_subject: SUB.into(),
            linked_at: now,
            last_used: Some(now),
        }]
    );
    let audit = s.app.store.read(|tx| tx.audit_entries(None, usize::MAX)).unwrap();
    assert!(
        audit.iter().any(|(_, r)| r.action == "login.upstream"
            && r.actor == "dana"
            && r.success
            && r.target.as_deref() == Some("fake")),
        "{audit:?}"
    );

    // A second sign-in, in a new browser a minute later, finds the link.
    s.switch_browser(BTreeMap::new());
    s.advance(60);
    let again = sign_in(&mut s, &fake).await;
    let id2 = id_token_after(&mut s, again).await;
    assert_eq!(id2["sub"], id["sub"], "{alg:?}: the same user");
    assert_eq!(Before::of(&s).users, users_before + 1, "no second user");
    let link = links(&s, "dana").await;
    assert_eq!(link.len(), 1);
    assert_eq!(link[0].linked_at, now);
    assert_eq!(link[0].last_used, Some(Timestamp(now.0 + 60)));
}

#[tokio::test]
async fn an_eddsa_signed_sign_in_from_the_login_page_creates_a_linked_user_and_reuses_it() {
    creates_then_reuses_a_linked_user(Alg::EdDsa).await;
}

#[tokio::test]
async fn an_es256_signed_sign_in_creates_a_linked_user_and_reuses_it() {
    creates_then_reuses_a_linked_user(Alg::Es256).await;
}

#[tokio::test]
async fn an_rs256_signed_sign_in_creates_a_linked_user_and_reuses_it() {
    creates_then_reuses_a_linked_user(Alg::Rs256).await;
}

#[tokio::test]
async fn a_created_user_never_takes_over_a_local_user_with_the_same_username() {
    let mut person = dana();
    person["preferred_username"] = json!("alice");
    let (mut s, fake) = setup("create", "", person).await;
    let alice = user(&s, "alice");
    let back = sign_in(&mut s, &fake).await;
    let id = id_token_after(&mut s, back).await;
    assert_ne!(id["sub"], alice.subject.as_str(), "not alice");
    assert_eq!(id["sub"], user(&s, "alice-2").subject.as_str());
    assert!(links(&s, "alice").await.is_empty());
}

/// The pending upstream sign-ins in the store: each row's size (key and record), in bytes.
fn pending_rows(s: &InProc) -> Vec<usize> {
    s.app
        .store
        .read(|tx| tx.pending_upstream_sizes())
        .expect("the pending sign-ins")
}

/// `GET /login/upstream/fake` with `return_to`, as an anonymous browser.
async fn start_with_return(s: &mut InProc, return_to: &str) -> Reply {
    s.switch_browser(BTreeMap::new());
    s.get(&format!(
        "/login/upstream/fake?{}",
        form(&[("return_to", return_to)])
    ))
    .await
}

#[tokio::test]
async fn a_pending_sign_in_stores_a_small_fixed_size_row_whatever_the_return_to() {
    // Security review #12, item 4: 1,000 anonymous starts with a 30 KB `return_to` grew the data
    // file by 35.5 MB. The return address now travels in the browser's cookie.
    let (mut s, fake) = setup("create", "", dana()).await;
    let short = authorize_request();
    let huge = format!("{short}&x={}", "a".repeat(30_000));
    for return_to in [short.as_str(), huge.as_str()] {
        let reply = start_with_return(&mut s, return_to).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let cookie = set_cookie(&reply, "__Host-latchkey-upstream").expect("a binding cookie");
        assert!(
            cookie.len() < 4000,
            "the cookie fits a browser: {} bytes",
            cookie.len()
        );
    }
    let rows = pending_rows(&s);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|&n| n < 600),
        "rows of fixed, small size: {rows:?}"
    );
    assert_eq!(
        rows[0].abs_diff(rows[1]),
        0,
        "the return_to does not size the row: {rows:?}"
    );

    // The short one still comes back to the authorization request; the long one to the home page.
    s.switch_browser(BTreeMap::new());
    let back = sign_in(&mut s, &fake).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), short);
    let location = start_with_return(&mut s, &huge).await.location().to_owned();
    let a = fake.approve(&location);
    let back = s.get(&fake.callback(&a)).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), "/");
}

#[tokio::test]
async fn starting_upstream_sign_ins_is_throttled_per_address() {
    let (mut s, _fake) = setup("create", "", dana()).await;
    s.set_peer("203.0.113.7:40000".parse().unwrap());
    let limit = 60;
    for i in 0..limit {
        let reply = start_with_return(&mut s, "/").await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "start {i}: {}", reply.body);
    }
    let refused = start_with_return(&mut s, "/").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(
        refused
            .header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok())
    );
    assert_eq!(set_cookie(&refused, "__Host-latchkey-upstream"), None);
    assert_eq!(pending_rows(&s).len(), limit, "a throttled start stores nothing");
    // Another address of the same IPv6 /64 is the same flood; another address is not.
    s.set_peer("[2001:db8:1:2::1]:40000".parse().unwrap());
    for _ in 0..limit {
        start_with_return(&mut s, "/").await;
    }
    s.set_peer("[2001:db8:1:2::ffff]:40000".parse().unwrap());
    let same_net = start_with_return(&mut s, "/").await;
    assert_eq!(
        same_net.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        same_net.body
    );
    s.set_peer("198.51.100.9:40000".parse().unwrap());
    let elsewhere = start_with_return(&mut s, "/").await;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER, "{}", elsewhere.body);
}

#[tokio::test]
async fn no_sign_in_starts_while_the_most_pending_sign_ins_are_stored() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let cap = latchkey::service::upstream::MAX_PENDING;
    {
        let pending = latchkey::domain::PendingUpstream {
            upstream: "fake".into(),
            browser: "x".into(),
            nonce: None,
            pkce_verifier: "v".into(),
            expires_at: s.app.clock.now().plus(latchkey::domain::Duration::minutes(10)),
        };
        s.app
            .store
            .write(|tx| {
                for i in 0..cap {
                    tx.put_pending_upstream(&format!("filler-{i}"), &pending)?;
                }
                Ok::<_, latchkey::store::StoreError>(())
            })
            .unwrap();
    }
    let reply = start_with_return(&mut s, "/").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.body);
    assert!(
        html_unescape(&reply.body).contains("Too many sign-ins are in progress"),
        "{}",
        reply.body
    );
    assert_eq!(pending_rows(&s).len() as u64, cap, "nothing stored past the cap");
    // Once one goes (used, or purged after expiry), sign-ins start again.
    {
        s.app
            .store
            .write(|tx| tx.delete_pending_upstream("filler-0"))
            .unwrap();
    }
    s.switch_browser(BTreeMap::new());
    let back = sign_in(&mut s, &fake).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
}

#[tokio::test]
async fn a_return_to_outside_the_authorization_endpoint_becomes_home() {
    let (mut s, fake) = setup("create", "", dana()).await;
    for evil in [
        "https://evil.example/",
        "//evil.example/oauth/authorize?x",
        "/oauth/authorize-not?x",
    ] {
        s.switch_browser(BTreeMap::new());
        let out = s
            .get(&format!("/login/upstream/fake?{}", form(&[("return_to", evil)])))
            .await;
        assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
        let a = fake.approve(out.location());
        let back = s.get(&fake.callback(&a)).await;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{evil}: {}", back.body);
        assert_eq!(back.location(), "/", "{evil}");
    }
}

#[tokio::test]
async fn the_userinfo_endpoint_adds_claims_when_asked_and_must_be_about_the_same_subject() {
    let mut person = dana();
    person.as_object_mut().unwrap().remove("name");
    let (mut s, fake) = setup("create", "userinfo = true", person).await;
    fake.set(|sc| {
        sc.userinfo = Some(json!({"sub": SUB, "name": "Dana K. Scully", "email": "other@example.org"}))
    });
    let back = sign_in(&mut s, &fake).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let created = user(&s, "dana");
    assert_eq!(
        created.name.as_deref(),
        Some("Dana K. Scully"),
        "the name from user info"
    );
    assert_eq!(
        created.email.as_deref(),
        Some("dana@example.org"),
        "the signed ID token wins"
    );

    let (mut s, fake) = setup("create", "userinfo = true", dana()).await;
    fake.set(|sc| sc.userinfo = Some(json!({"sub": "someone-else", "name": "Mallory"})));
    let before = Before::of(&s);
    let reply = sign_in(&mut s, &fake).await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "someone else",
        "user info for another subject",
    );
}

// Refusals: the answer from the provider.

/// Signs in with the fake's token endpoint spoiled by `tamper`, and asserts the refusal.
async fn refused_when(tamper: Tamper, status: StatusCode, because: &str) {
    // Only the deliberate hang gets the shortest timeout: a loaded machine may be slow.
    let extra = if tamper == Tamper::Hang {
        "timeout_seconds = 1"
    } else {
        ""
    };
    let (mut s, fake) = setup("create", extra, dana()).await;
    fake.set(|sc| sc.tamper = tamper);
    let before = Before::of(&s);
    let reply = sign_in(&mut s, &fake).await;
    before.assert_refused(&s, &reply, status, because, &format!("{tamper:?}"));
    assert!(
        fake.refusals().is_empty(),
        "{tamper:?}: Latchkey's token request was fine: {:?}",
        fake.refusals()
    );
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    refused_when(Tamper::WrongNonce, StatusCode::BAD_REQUEST, "nonce").await;
}

#[tokio::test]
async fn an_id_token_without_a_nonce_is_refused() {
    refused_when(Tamper::NoNonce, StatusCode::BAD_REQUEST, "nonce").await;
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_refused() {
    refused_when(Tamper::WrongAudience, StatusCode::BAD_REQUEST, "audience").await;
}

#[tokio::test]
async fn an_id_token_authorized_for_another_party_is_refused() {
    refused_when(
        Tamper::OtherAuthorizedParty,
        StatusCode::BAD_REQUEST,
        "authorized party",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_also_for_an_untrusted_audience_is_refused() {
    refused_when(
        Tamper::ExtraAudience,
        StatusCode::BAD_REQUEST,
        "not a trusted audience",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_from_another_issuer_is_refused() {
    refused_when(Tamper::WrongIssuer, StatusCode::BAD_REQUEST, "issuer").await;
}

#[tokio::test]
async fn an_id_token_with_a_bad_signature_is_refused() {
    refused_when(Tamper::BadSignature, StatusCode::BAD_REQUEST, "signature").await;
}

#[tokio::test]
async fn an_id_token_signed_by_an_unknown_key_is_refused() {
    refused_when(Tamper::UnknownKid, StatusCode::BAD_REQUEST, "signature").await;
}

#[tokio::test]
async fn an_unsigned_alg_none_id_token_is_refused() {
    refused_when(
        Tamper::AlgNone,
        StatusCode::BAD_REQUEST,
        "signature verification failed",
    )
    .await;
}

/// Refused, and the page says what to change at the upstream (the review: a token refused for
/// its algorithm names the algorithms that work).
#[tokio::test]
async fn an_hs256_id_token_keyed_with_the_client_secret_is_refused() {
    refused_when(
        Tamper::Hs256,
        StatusCode::BAD_REQUEST,
        "configure the upstream to sign the ID tokens of this client with one of them",
    )
    .await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused_by_the_servers_clock() {
    refused_when(Tamper::Expired, StatusCode::BAD_REQUEST, "expired").await;
}

#[tokio::test]
async fn an_id_token_issued_in_the_future_is_refused() {
    refused_when(
        Tamper::IssuedInTheFuture,
        StatusCode::BAD_REQUEST,
        "in the future",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_issued_long_ago_is_refused() {
    refused_when(Tamper::IssuedLongAgo, StatusCode::BAD_REQUEST, "too long ago").await;
}

#[tokio::test]
async fn a_token_response_without_an_id_token_is_refused() {
    refused_when(Tamper::NoIdToken, StatusCode::BAD_REQUEST, "no ID token").await;
}

#[tokio::test]
async fn a_token_endpoint_error_is_refused() {
    refused_when(Tamper::TokenError, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_token_endpoint_slower_than_the_timeout_is_a_502() {
    refused_when(Tamper::Hang, StatusCode::BAD_GATEWAY, "did not answer in time").await;
}

#[tokio::test]
async fn an_upstream_error_answer_is_a_page_and_uses_up_the_state() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    let denied = s
        .get(&callback_with(&[
            ("error", "access_denied"),
            ("error_description", "the user said no"),
            ("state", &a.state),
        ]))
        .await;
    before.assert_refused(
        &s,
        &denied,
        StatusCode::BAD_REQUEST,
        "access_denied",
        "error=access_denied",
    );
    // The state died with the error: the same state with a good code no longer works.
    let replay = s.get(&fake.callback(&a)).await;
    before.assert_refused(
        &s,
        &replay,
        StatusCode::BAD_REQUEST,
        "unknown or was already used",
        "after an error",
    );
}

#[tokio::test]
async fn an_iss_parameter_naming_another_issuer_is_refused() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    let reply = s
        .get(&callback_with(&[
            ("code", &a.code),
            ("state", &a.state),
            ("iss", "https://evil.example"),
        ]))
        .await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "another issuer",
        "iss mismatch",
    );
}

#[tokio::test]
async fn a_missing_iss_parameter_is_refused_when_the_provider_promises_it() {
    let (mut s, fake) = setup("create", "", dana()).await;
    fake.set(|sc| sc.promises_iss = true);
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    let reply = s
        .get(&callback_with(&[("code", &a.code), ("state", &a.state)]))
        .await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "promises `iss`",
        "missing iss",
    );
}

#[tokio::test]
async fn a_missing_iss_parameter_is_accepted_when_the_provider_does_not_promise_it() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let a = start_and_approve(&mut s, &fake).await;
    let reply = s
        .get(&callback_with(&[("code", &a.code), ("state", &a.state)]))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(set_cookie(&reply, "__Host-latchkey-session").is_some());
}

// Refusals: the state and the browser.

#[tokio::test]
async fn an_unknown_or_missing_state_is_refused() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    let forged = s
        .get(&callback_with(&[
            ("code", &a.code),
            ("state", "a-state-nobody-issued"),
            ("iss", fake.base()),
        ]))
        .await;
    before.assert_refused(&s, &forged, StatusCode::BAD_REQUEST, "unknown", "unknown state");
    let missing = s
        .get(&callback_with(&[("code", &a.code), ("iss", fake.base())]))
        .await;
    before.assert_refused(&s, &missing, StatusCode::BAD_REQUEST, "no state", "missing state");
}

#[tokio::test]
async fn a_replayed_callback_is_refused_after_a_success() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let a = start_and_approve(&mut s, &fake).await;
    let callback = fake.callback(&a);
    let first = s.get(&callback).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let before = Before::of(&s);
    assert_eq!(before.sessions, 1);
    let replay = s.get(&callback).await;
    before.assert_refused(
        &s,
        &replay,
        StatusCode::BAD_REQUEST,
        "already used",
        "replay after success",
    );
}

#[tokio::test]
async fn a_replayed_callback_is_refused_after_a_failure() {
    let (mut s, fake) = setup("create", "", dana()).await;
    fake.set(|sc| sc.tamper = Tamper::WrongNonce);
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    let callback = fake.callback(&a);
    let first = s.get(&callback).await;
    before.assert_refused(&s, &first, StatusCode::BAD_REQUEST, "nonce", "first try");
    // Even with an honest provider and the code still unredeemed, the state is gone.
    fake.set(|sc| {
        sc.tamper = Tamper::Honest;
        sc.codes.insert(a.code.clone(), a.grant.clone());
    });
    let replay = s.get(&callback).await;
    before.assert_refused(
        &s,
        &replay,
        StatusCode::BAD_REQUEST,
        "already used",
        "replay after failure",
    );
}

#[tokio::test]
async fn a_callback_in_a_browser_without_the_binding_cookie_is_refused_and_uses_up_the_state() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    let starter = s.switch_browser(BTreeMap::new());
    let reply = s.get(&fake.callback(&a)).await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "another browser",
        "no cookie",
    );
    s.switch_browser(starter);
    let back_home = s.get(&fake.callback(&a)).await;
    before.assert_refused(
        &s,
        &back_home,
        StatusCode::BAD_REQUEST,
        "already used",
        "the starting browser, after",
    );
}

#[tokio::test]
async fn a_callback_in_another_browser_that_started_its_own_sign_in_is_refused() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let before = Before::of(&s);
    let victim = start_and_approve(&mut s, &fake).await;
    s.switch_browser(BTreeMap::new());
    let _own = start_and_approve(&mut s, &fake).await;
    assert!(s.cookies().contains_key("__Host-latchkey-upstream"));
    let reply = s.get(&fake.callback(&victim)).await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "another browser",
        "another browser's cookie",
    );
}

#[tokio::test]
async fn a_sign_in_that_stays_at_the_provider_over_ten_minutes_is_refused() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    s.advance(601);
    let reply = s.get(&fake.callback(&a)).await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "took too long",
        "after 601 s",
    );
}

#[tokio::test]
async fn a_callback_with_a_repeated_parameter_is_refused() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    let reply = s
        .get(&callback_with(&[
            ("code", &a.code),
            ("state", &a.state),
            ("state", &a.state),
        ]))
        .await;
    before.assert_refused(&s, &reply, StatusCode::BAD_REQUEST, "repeated", "state twice");
}

// Refusals: the provider and its name.

#[tokio::test]
async fn an_unreachable_provider_is_a_502_at_the_start() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        l.local_addr().expect("its address").port()
    };
    let mut s = InProc::new(&format!(
        r#"{ALLOW_LOOPBACK}
[[upstream]]
name = "fake"
kind = "oidc"
issuer = "http://127.0.0.1:{closed}"
client_id = "{CLIENT_ID}"
link = "create"
timeout_seconds = 1
"#
    ))
    .await;
    let before = Before::of(&s);
    let reply = s
        .get(&format!(
            "/login/upstream/fake?{}",
            form(&[("return_to", &authorize_request())])
        ))
        .await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_GATEWAY,
        "did not answer in time",
        "closed port",
    );
    assert_eq!(
        set_cookie(&reply, "__Host-latchkey-upstream"),
        None,
        "no sign-in started"
    );
}

#[tokio::test]
async fn an_unknown_upstream_name_is_a_404() {
    let (mut s, _fake) = setup("create", "", dana()).await;
    let before = Before::of(&s);
    let start = s.get("/login/upstream/nobody?return_to=/").await;
    before.assert_refused(&s, &start, StatusCode::NOT_FOUND, "no sign-in provider", "start");
    let callback = s.get("/login/upstream/nobody/callback?code=c&state=s").await;
    before.assert_refused(
        &s,
        &callback,
        StatusCode::NOT_FOUND,
        "no sign-in provider",
        "callback",
    );
}

// Link policies.

#[tokio::test]
async fn existing_only_refuses_until_an_administrator_links_the_identity_then_signs_in_as_alice() {
    let (mut s, fake) = setup("existing-only", "", dana()).await;
    let before = Before::of(&s);
    let refused = sign_in(&mut s, &fake).await;
    before.assert_refused(
        &s,
        &refused,
        StatusCode::FORBIDDEN,
        "not linked",
        "not linked yet",
    );

    let view = upstream_links::link(&s.app, "alice".into(), "fake".into(), SUB.into())
        .await
        .expect("the link");
    assert_eq!(view.last_used, None);
    s.switch_browser(BTreeMap::new());
    let back = sign_in(&mut s, &fake).await;
    let id = id_token_after(&mut s, back).await;
    assert_eq!(id["sub"], user(&s, "alice").subject.as_str());
    assert_eq!(Before::of(&s).users, before.users, "no user created");
    let alice = links(&s, "alice").await;
    assert_eq!(alice.len(), 1);
    assert_eq!(alice[0].last_used, Some(s.app.clock.now()));
}

#[tokio::test]
async fn unlinking_an_identity_stops_it_signing_in() {
    let (mut s, fake) = setup("existing-only", "", dana()).await;
    upstream_links::link(&s.app, "alice".into(), "fake".into(), SUB.into())
        .await
        .expect("the link");
    let ok = sign_in(&mut s, &fake).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    upstream_links::unlink(&s.app, "alice".into(), "fake".into(), SUB.into())
        .await
        .expect("the unlink");
    assert!(links(&s, "alice").await.is_empty());
    s.switch_browser(BTreeMap::new());
    let before = Before::of(&s);
    let refused = sign_in(&mut s, &fake).await;
    before.assert_refused(&s, &refused, StatusCode::FORBIDDEN, "not linked", "after unlink");
}

/// Adds a user `erin` (email `erin@example.com`, verified) with no password, in `groups`: one
/// whom `link-by-email` may link, unless she is an administrator.
async fn add_erin(s: &InProc, groups: &[&str]) {
    let new = latchkey::domain::NewUser {
        username: "erin".into(),
        name: Some("Erin".into()),
        email: Some("erin@example.com".into()),
        email_verified: true,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    };
    latchkey::service::users::add(&s.app, new, None)
        .await
        .expect("erin added");
}

#[tokio::test]
async fn link_by_email_links_a_passwordless_user_when_the_provider_verified_her_email() {
    let mut person = dana();
    person["email"] = json!("Erin@Example.com");
    let (mut s, fake) = setup("link-by-email", "", person).await;
    add_erin(&s, &["readers"]).await;
    let before = Before::of(&s);
    let back = sign_in(&mut s, &fake).await;
    let id = id_token_after(&mut s, back).await;
    assert_eq!(id["sub"], user(&s, "erin").subject.as_str());
    assert_eq!(Before::of(&s).users, before.users, "no user created");
    let erin = links(&s, "erin").await;
    assert_eq!(erin.len(), 1);
    assert_eq!(erin[0].upstream_subject, SUB);
}

#[tokio::test]
async fn link_by_email_never_links_an_administrator_or_a_user_with_a_password() {
    // Security review #12, item 9: the upstream's word about an email was enough to sign in as
    // an administrator. Alice has a password; erin has none but is in `admins`.
    for (case, email) in [
        ("a password", "alice@example.com"),
        ("admins", "erin@example.com"),
    ] {
        let mut person = dana();
        person["email"] = json!(email);
        let (mut s, fake) = setup("link-by-email", "", person).await;
        add_erin(&s, &["admins"]).await;
        let before = Before::of(&s);
        let reply = sign_in(&mut s, &fake).await;
        before.assert_refused(
            &s,
            &reply,
            StatusCode::FORBIDDEN,
            "must be linked to your account by an administrator",
            case,
        );
        assert!(links(&s, "alice").await.is_empty(), "{case}");
        assert!(links(&s, "erin").await.is_empty(), "{case}");

        // An administrator's explicit link still lets the identity in.
        let username = if email.starts_with("alice") {
            "alice"
        } else {
            "erin"
        };
        upstream_links::link(&s.app, username.into(), "fake".into(), SUB.into())
            .await
            .expect("the link");
        s.switch_browser(BTreeMap::new());
        let back = sign_in(&mut s, &fake).await;
        let id = id_token_after(&mut s, back).await;
        assert_eq!(id["sub"], user(&s, username).subject.as_str(), "{case}");
    }
}

#[tokio::test]
async fn link_by_email_never_links_a_user_already_linked_to_another_identity() {
    let mut person = dana();
    person["email"] = json!("erin@example.com");
    let (mut s, fake) = setup("link-by-email", "", person).await;
    add_erin(&s, &[]).await;
    upstream_links::link(&s.app, "erin".into(), "fake".into(), "another-subject".into())
        .await
        .expect("the link");
    let before = Before::of(&s);
    let reply = sign_in(&mut s, &fake).await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::FORBIDDEN,
        "must be linked to your account by an administrator",
        "linked elsewhere",
    );
    assert_eq!(links(&s, "erin").await.len(), 1);
}

#[tokio::test]
async fn link_by_email_refuses_an_email_the_provider_did_not_verify() {
    for (case, verified) in [("false", Some(json!(false))), ("missing", None)] {
        let mut person = dana();
        person["email"] = json!("alice@example.com");
        match verified {
            Some(v) => person["email_verified"] = v,
            None => {
                person.as_object_mut().unwrap().remove("email_verified");
            }
        }
        let (mut s, fake) = setup("link-by-email", "", person).await;
        let before = Before::of(&s);
        let reply = sign_in(&mut s, &fake).await;
        before.assert_refused(
            &s,
            &reply,
            StatusCode::FORBIDDEN,
            "did not confirm your email",
            case,
        );
        assert!(links(&s, "alice").await.is_empty(), "{case}");
    }
}

#[tokio::test]
async fn an_id_token_with_email_verified_as_the_string_true_links_by_email() {
    let mut person = dana();
    person["email"] = json!("erin@example.com");
    person["email_verified"] = json!("true");
    let (mut s, fake) = setup("link-by-email", "", person).await;
    add_erin(&s, &[]).await;
    let reply = sign_in(&mut s, &fake).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let linked = links(&s, "erin").await;
    assert_eq!(
        linked.len(),
        1,
        "some providers send booleans as strings: {linked:?}"
    );
}

#[tokio::test]
async fn an_id_token_whose_email_verified_is_not_a_boolean_is_refused() {
    let mut person = dana();
    person["email"] = json!("alice@example.com");
    person["email_verified"] = json!("yes");
    let (mut s, fake) = setup("link-by-email", "", person).await;
    let before = Before::of(&s);
    let reply = sign_in(&mut s, &fake).await;
    // The openidconnect crate reads the standard claims strictly, so the ID token is unreadable.
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "could not be trusted",
        "a string",
    );
    assert!(links(&s, "alice").await.is_empty());
}

#[tokio::test]
async fn an_upstream_sign_in_replaces_the_browsers_previous_session() {
    let (mut s, fake) = setup("create", "", dana()).await;
    s.authorize(&authorize_request()).await;
    let old = s
        .cookies()
        .get("__Host-latchkey-session")
        .cloned()
        .expect("alice's session");
    assert_eq!(Before::of(&s).sessions, 1);
    let back = sign_in(&mut s, &fake).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let new = s
        .cookies()
        .get("__Host-latchkey-session")
        .cloned()
        .expect("a new session");
    assert_ne!(new, old);
    let sessions = s.app.store.read(|tx| tx.sessions()).unwrap();
    assert_eq!(sessions.len(), 1, "alice's session ended: {sessions:?}");
    assert_eq!(sessions[0].1.subject, user(&s, "dana").subject);
}

#[tokio::test]
async fn an_answer_meant_for_another_upstream_is_refused() {
    let (mut s, fake) = setup(
        "create",
        &format!(
            "[[upstream]]\nname = \"other\"\nkind = \"oidc\"\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nlink = \"create\"\n",
            "http://127.0.0.1:9"
        ),
        dana(),
    )
    .await;
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    let reply = s
        .get(&format!(
            "/login/upstream/other/callback?{}",
            form(&[("code", &a.code), ("state", &a.state)])
        ))
        .await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "another provider",
        "fake's state at other",
    );
    let home = s.get(&fake.callback(&a)).await;
    before.assert_refused(&s, &home, StatusCode::BAD_REQUEST, "already used", "back at fake");
}

// A plain OAuth 2.0 provider.

#[tokio::test]
async fn a_plain_oauth2_provider_maps_githubs_claims_to_a_new_user_with_an_unverified_email() {
    let octocat =
        json!({"id": 583231, "login": "octocat", "name": "The Octocat", "email": "octo@example.com"});
    let (mut s, fake) = setup_with(
        |base, secret| {
            format!(
                r#"
[[upstream]]
name = "fake"
display_name = "GitHub"
kind = "oauth2"
authorization_url = "{base}/login/oauth/authorize"
token_url = "{base}/login/oauth/access_token"
userinfo_url = "{base}/user"
client_id = "{CLIENT_ID}"
client_secret_file = '{secret}'
scopes = ["read:user", "user:email"]
link = "create"
[upstream.claims]
subject = "id"
username = "login"
"#
            )
        },
        octocat,
    )
    .await;
    let users_before = Before::of(&s).users;
    let location = start(&mut s).await;
    assert!(location.contains("scope=read%3Auser+user%3Aemail"), "{location}");
    let a = fake.approve(&location);
    let back = s
        .get(&callback_with(&[("code", &a.code), ("state", &a.state)]))
        .await;
    assert_eq!(
        back.status,
        StatusCode::SEE_OTHER,
        "{} {:?}",
        back.body,
        fake.refusals()
    );
    let id = id_token_after(&mut s, back).await;

    let octo = user(&s, "octocat");
    assert_eq!(id["sub"], octo.subject.as_str());
    assert_eq!(id["email"], "octo@example.com");
    assert_eq!(id["email_verified"], false);
    assert_eq!(octo.name.as_deref(), Some("The Octocat"));
    assert_eq!(octo.email.as_deref(), Some("octo@example.com"));
    assert!(
        !octo.email_verified,
        "GitHub's /user does not say the email is verified"
    );
    assert_eq!(Before::of(&s).users, users_before + 1);
    let link = links(&s, "octocat").await;
    assert_eq!(link.len(), 1);
    assert_eq!(link[0].upstream_subject, "583231");
}
