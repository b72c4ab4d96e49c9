//! The OpenID Foundation's Basic OP and Config OP conformance modules, and the RP-Initiated
//! Logout plan's cases, reproduced for a statically registered code-flow client (`web`) against
//! an in-process server. Where a module waits (max_age, code reuse after 30 s), the test moves the
//! fixed clock instead of sleeping.

use poem::http::{Method, StatusCode};
use serde_json::Value;

use crate::inproc::{ISSUER, InProc, PASSWORD, REDIRECT, Reply, VERIFIER, WEB_SECRET, basic, claims};

/// Verifies an EdDSA JWT against the server's published JWKS and returns its claims.
async fn verify_with_jwks(s: &mut InProc, jwt: &str) -> Value {
    let jwks = s.get("/.well-known/jwks.json").await.json();
    let header: Value =
        serde_json::from_slice(&latchkey::crypto::b64url_decode(jwt.split('.').next().unwrap()).unwrap())
            .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the kid is published");
    let x: [u8; 32] = latchkey::crypto::b64url_decode(jwk["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig: [u8; 64] = latchkey::crypto::b64url_decode(sig).unwrap().try_into().unwrap();
    key.verify_strict(input.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
        .expect("the signature verifies");
    claims(jwt)
}

/// Runs the code flow for `web` with `extra` parameters and returns the token response.
async fn code_flow(s: &mut InProc, extra: &[(&str, &str)]) -> Value {
    let code = s.code(extra).await;
    let reply = s.exchange(&code).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

fn id_token(tokens: &Value) -> &str {
    tokens["id_token"].as_str().expect("an id_token")
}

async fn userinfo(s: &mut InProc, method: Method, token: &str, in_body: bool) -> Reply {
    let auth = format!("Bearer {token}");
    match (method, in_body) {
        (Method::POST, true) => s.post("/oauth/userinfo", &[("access_token", token)]).await,
        (m, _) => {
            s.send(m, "/oauth/userinfo", None, &[("authorization", &auth)])
                .await
        }
    }
}

#[tokio::test]
async fn oidcc_server() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid"), ("nonce", "n-0S6_WzA2Mj")]).await;
    let c = verify_with_jwks(&mut s, id_token(&tokens)).await;
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["aud"], "web");
    assert_eq!(c["azp"], "web");
    assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
    for k in ["sub", "exp", "iat", "auth_time", "at_hash", "sid", "amr"] {
        assert!(c.get(k).is_some(), "{k} missing from {c}");
    }
    let at = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        c["at_hash"],
        latchkey::protocol::id_token::token_hash(at, Default::default())
    );
    use sha2::Digest as _;
    let expected = latchkey::crypto::b64url(&sha2::Sha512::digest(at.as_bytes())[..32]);
    assert_eq!(
        c["at_hash"], expected,
        "at_hash is the left half of SHA-512 for EdDSA"
    );
    assert_eq!(tokens["token_type"], "Bearer");
}

#[tokio::test]
async fn oidcc_response_type_missing() {
    let mut s = InProc::new("").await;
    s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let uri = InProc::authorize_uri("web", REDIRECT, &[]).replace("response_type=code&", "");
    let reply = s.get(&uri).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location_param("error").as_deref(), Some("invalid_request"));
    assert_eq!(reply.location_param("state").as_deref(), Some("xyz"));
}

#[tokio::test]
async fn oidcc_userinfo_get() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid")]).await;
    let reply = userinfo(
        &mut s,
        Method::GET,
        tokens["access_token"].as_str().unwrap(),
        false,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["sub"], claims(id_token(&tokens))["sub"]);
}

#[tokio::test]
async fn oidcc_userinfo_post_header() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid")]).await;
    let reply = userinfo(
        &mut s,
        Method::POST,
        tokens["access_token"].as_str().unwrap(),
        false,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["sub"], claims(id_token(&tokens))["sub"]);
}

#[tokio::test]
async fn oidcc_userinfo_post_body() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid")]).await;
    let reply = userinfo(
        &mut s,
        Method::POST,
        tokens["access_token"].as_str().unwrap(),
        true,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["sub"], claims(id_token(&tokens))["sub"]);
}

#[tokio::test]
async fn userinfo_refuses_bad_tokens_with_a_bearer_challenge() {
    let mut s = InProc::new("").await;
    for token in ["nonsense", "a.b.c"] {
        let reply = userinfo(&mut s, Method::GET, token, false).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
    }
    let none = s.get("/oauth/userinfo").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let tokens = code_flow(&mut s, &[("scope", "profile")]).await;
    let no_openid = userinfo(
        &mut s,
        Method::GET,
        tokens["access_token"].as_str().unwrap(),
        false,
    )
    .await;
    assert_eq!(no_openid.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid")]).await;
    assert!(claims(id_token(&tokens)).get("nonce").is_none());
}

#[tokio::test]
async fn oidcc_scope_profile() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid profile")]).await;
    let c = claims(id_token(&tokens));
    assert_eq!(c["name"], "Alice Liddell");
    assert_eq!(c["preferred_username"], "alice");
    assert!(c["updated_at"].is_u64());
    let info = userinfo(
        &mut s,
        Method::GET,
        tokens["access_token"].as_str().unwrap(),
        false,
    )
    .await
    .json();
    assert_eq!(info["name"], "Alice Liddell");
    assert!(info.get("email").is_none(), "email needs the email scope");
}

#[tokio::test]
async fn oidcc_scope_email() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid email groups")]).await;
    let c = claims(id_token(&tokens));
    assert_eq!(c["email"], "alice@example.com");
    assert_eq!(c["email_verified"], true);
    assert_eq!(c["groups"], serde_json::json!(["readers"]));
    let info = userinfo(
        &mut s,
        Method::GET,
        tokens["access_token"].as_str().unwrap(),
        false,
    )
    .await
    .json();
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["groups"], serde_json::json!(["readers"]));
}

#[tokio::test]
async fn oidcc_alternate_happy_flow() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid email profile"), ("nonce", "alt")]).await;
    let c = verify_with_jwks(&mut s, id_token(&tokens)).await;
    assert_eq!(c["nonce"], "alt");
    assert_eq!(c["email"], "alice@example.com");
}

#[tokio::test]
async fn oidcc_display_page() {
    let mut s = InProc::new("").await;
    let page = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("display", "page")],
        ))
        .await;
    assert!(page.body.contains("action=\"/login\""));
}

#[tokio::test]
async fn oidcc_display_popup() {
    let mut s = InProc::new("").await;
    let reply = s
        .authorize(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("display", "popup")],
        ))
        .await;
    assert!(reply.location_param("code").is_some());
}

#[tokio::test]
async fn oidcc_prompt_login() {
    let mut s = InProc::new("").await;
    let first = code_flow(&mut s, &[("scope", "openid")]).await;
    s.advance(5);
    let page = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("prompt", "login")],
        ))
        .await;
    assert!(
        page.body.contains("action=\"/login\""),
        "a fresh login is asked for"
    );
    let second = code_flow(&mut s, &[("scope", "openid"), ("prompt", "login")]).await;
    let (a, b) = (claims(id_token(&first)), claims(id_token(&second)));
    assert!(
        b["auth_time"].as_u64() > a["auth_time"].as_u64(),
        "a later auth_time"
    );
}

#[tokio::test]
async fn oidcc_prompt_none_not_logged_in() {
    let mut s = InProc::new("").await;
    let reply = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(reply.location_param("error").as_deref(), Some("login_required"));
    assert_eq!(reply.location_param("state").as_deref(), Some("xyz"));
    assert_eq!(reply.location_param("iss").as_deref(), Some(ISSUER));
}

#[tokio::test]
async fn oidcc_prompt_none_logged_in() {
    let mut s = InProc::new("").await;
    code_flow(&mut s, &[("scope", "openid")]).await;
    let reply = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("prompt", "none")],
        ))
        .await;
    assert!(reply.location_param("code").is_some(), "{}", reply.location());
}

#[tokio::test]
async fn prompt_none_without_consent_is_consent_required() {
    let mut s = InProc::new("").await;
    code_flow(&mut s, &[("scope", "openid")]).await;
    let reply = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid email"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(reply.location_param("error").as_deref(), Some("consent_required"));
}

#[tokio::test]
async fn oidcc_max_age_1() {
    let mut s = InProc::new("").await;
    let first = code_flow(&mut s, &[("scope", "openid")]).await;
    s.advance(2);
    let page = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("max_age", "1")],
        ))
        .await;
    assert!(
        page.body.contains("action=\"/login\""),
        "the session is older than max_age"
    );
    let second = code_flow(&mut s, &[("scope", "openid"), ("max_age", "1")]).await;
    let (a, b) = (claims(id_token(&first)), claims(id_token(&second)));
    assert!(b["auth_time"].as_u64() > a["auth_time"].as_u64());
}

#[tokio::test]
async fn oidcc_max_age_10000() {
    let mut s = InProc::new("").await;
    let first = code_flow(&mut s, &[("scope", "openid")]).await;
    s.advance(2);
    let reply = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("max_age", "10000")],
        ))
        .await;
    let code = reply.location_param("code").expect("no new login");
    let second = s.exchange(&code).await.json();
    assert_eq!(
        claims(id_token(&first))["auth_time"],
        claims(id_token(&second))["auth_time"]
    );
}

#[tokio::test]
async fn oidcc_ensure_request_with_unknown_parameter_succeeds() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid"), ("extra_unknown", "x")]).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn oidcc_id_token_hint() {
    let mut s = InProc::new("").await;
    let first = code_flow(&mut s, &[("scope", "openid")]).await;
    let hint = id_token(&first).to_owned();
    let reply = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("prompt", "none"), ("id_token_hint", &hint)],
        ))
        .await;
    let code = reply.location_param("code").expect("the same user gets a code");
    let second = s.exchange(&code).await.json();
    assert_eq!(claims(id_token(&second))["sub"], claims(&hint)["sub"]);
    latchkey::service::users::add(
        &s.app,
        latchkey::domain::NewUser {
            username: "bob".into(),
            ..Default::default()
        },
        Some(PASSWORD.into()),
    )
    .await
    .unwrap();
    let page = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("prompt", "login")],
        ))
        .await;
    let after = s.login_from(&page, "bob", PASSWORD).await;
    s.get(after.location()).await;
    let other = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("prompt", "none"), ("id_token_hint", &hint)],
        ))
        .await;
    assert_eq!(
        other.location_param("error").as_deref(),
        Some("login_required"),
        "a different user"
    );
}

#[tokio::test]
async fn oidcc_login_hint() {
    let mut s = InProc::new("").await;
    let page = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("login_hint", "alice")],
        ))
        .await;
    assert!(
        page.body.contains("name=\"username\" value=\"alice\""),
        "the username is prefilled"
    );
}

#[tokio::test]
async fn oidcc_ui_locales() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid"), ("ui_locales", "se")]).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn oidcc_claims_locales() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid"), ("claims_locales", "se")]).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn oidcc_ensure_request_with_acr_values_succeeds() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid"), ("acr_values", "1 2")]).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn oidcc_codereuse() {
    let mut s = InProc::new("").await;
    let code = s.code(&[("scope", "openid")]).await;
    let first = s.exchange(&code).await;
    assert_eq!(first.status, StatusCode::OK);
    let again = s.exchange(&code).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn oidcc_codereuse_30seconds() {
    let mut s = InProc::new("").await;
    let code = s.code(&[("scope", "openid")]).await;
    let first = s.exchange(&code).await.json();
    s.advance(30);
    let again = s.exchange(&code).await;
    assert_eq!(again.json()["error"], "invalid_grant");
    let at = first["access_token"].as_str().unwrap();
    let info = userinfo(&mut s, Method::GET, at, false).await;
    assert_eq!(
        info.status,
        StatusCode::UNAUTHORIZED,
        "tokens from a reused code are revoked"
    );
}

#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri() {
    let mut s = InProc::new("").await;
    let reply = s
        .get(&InProc::authorize_uri(
            "web",
            "https://app.example.com/unregistered",
            &[("scope", "openid")],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.header("location").is_none());
}

#[tokio::test]
async fn oidcc_ensure_post_request_succeeds() {
    let mut s = InProc::new("").await;
    s.authorize(&InProc::authorize_uri("web", REDIRECT, &[("scope", "openid")]))
        .await;
    let uri = InProc::authorize_uri("web", REDIRECT, &[("scope", "openid")]);
    let reply = s
        .send(
            Method::POST,
            "/oauth/authorize",
            Some(uri.split_once('?').unwrap().1.to_owned()),
            &[],
        )
        .await;
    assert!(reply.location_param("code").is_some());
}

#[tokio::test]
async fn oidcc_server_client_secret_post() {
    let mut s = InProc::new("").await;
    let code = s.code(&[("scope", "openid")]).await;
    let reply = s
        .post(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", "web"),
                ("client_secret", WEB_SECRET),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.json()["id_token"].is_string());
}

#[tokio::test]
async fn oidcc_claims_essential() {
    let mut s = InProc::new("").await;
    let request = r#"{"userinfo":{"name":{"essential":true}}}"#;
    let tokens = code_flow(&mut s, &[("scope", "openid profile"), ("claims", request)]).await;
    let info = userinfo(
        &mut s,
        Method::GET,
        tokens["access_token"].as_str().unwrap(),
        false,
    )
    .await
    .json();
    assert_eq!(
        info["name"], "Alice Liddell",
        "the essential claim is in userinfo"
    );
    let bad = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("claims", "not json")],
        ))
        .await;
    assert_eq!(bad.location_param("error").as_deref(), Some("invalid_request"));
}

/// The review finding: a client that may only ask for `openid` asked for email and groups through
/// the `claims` parameter, and both the ID token and userinfo carried them. A claim is released
/// only when a granted scope covers it (OpenID Connect Core 5.5 and 3.1.2.4).
#[tokio::test]
async fn claims_parameter_never_releases_a_claim_beyond_the_granted_scopes() {
    let mut s = InProc::new("").await;
    let request =
        r#"{"id_token":{"email":null,"groups":null},"userinfo":{"email":{"essential":true},"name":null}}"#;
    let tokens = code_flow(&mut s, &[("scope", "openid"), ("claims", request)]).await;
    let c = claims(id_token(&tokens));
    for name in ["email", "email_verified", "groups", "name"] {
        assert!(c.get(name).is_none(), "the ID token leaked {name}: {c}");
    }
    let info = userinfo(
        &mut s,
        Method::GET,
        tokens["access_token"].as_str().unwrap(),
        false,
    )
    .await
    .json();
    for name in ["email", "email_verified", "groups", "name"] {
        assert!(info.get(name).is_none(), "userinfo leaked {name}: {info}");
    }
    assert!(info["sub"].is_string());
    // With the email scope granted, the same request releases the email (and still not groups).
    let tokens = code_flow(&mut s, &[("scope", "openid email"), ("claims", request)]).await;
    let c = claims(id_token(&tokens));
    assert_eq!(c["email"], "alice@example.com", "{c}");
    assert!(c.get("groups").is_none(), "{c}");
}

#[tokio::test]
async fn oidcc_refresh_token() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid offline_access"), ("nonce", "n1")]).await;
    let first = claims(id_token(&tokens));
    s.advance(10);
    let refreshed = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await
        .json();
    let c = verify_with_jwks(&mut s, id_token(&refreshed)).await;
    for k in ["iss", "sub", "aud", "azp", "auth_time"] {
        assert_eq!(c[k], first[k], "{k} stays the same on refresh");
    }
    assert!(c["iat"].as_u64() > first["iat"].as_u64());
    let without_offline = code_flow(&mut s, &[("scope", "openid")]).await;
    assert!(
        without_offline.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
}

#[tokio::test]
async fn oidcc_ensure_request_with_valid_pkce_succeeds() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid")]).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn config_op_discovery_document_is_complete_and_exact() {
    let mut s = InProc::new("").await;
    let d = s.get("/.well-known/openid-configuration").await.json();
    assert_eq!(d["issuer"], ISSUER);
    for (k, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("jwks_uri", "/.well-known/jwks.json"),
        ("end_session_endpoint", "/oauth/logout"),
    ] {
        assert_eq!(d[k], format!("{ISSUER}{path}"));
    }
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["EdDSA", "Ed25519", "RS256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["backchannel_logout_supported"], true);
    for k in [
        "scopes_supported",
        "claims_supported",
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
    ] {
        assert!(d[k].as_array().is_some_and(|a| !a.is_empty()), "{k}");
    }
    let scopes = d["scopes_supported"].as_array().unwrap();
    assert!(scopes.iter().any(|v| v == "openid"));
}

#[tokio::test]
async fn request_objects_are_refused() {
    let mut s = InProc::new("").await;
    let r = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("request", "eyJhbGciOiJub25lIn0.e30.")],
        ))
        .await;
    assert_eq!(
        r.location_param("error").as_deref(),
        Some("request_not_supported")
    );
    let r = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("request_uri", "https://rp.example/r")],
        ))
        .await;
    assert_eq!(
        r.location_param("error").as_deref(),
        Some("request_uri_not_supported")
    );
}

// RP-Initiated Logout 1.0 plan.

const LOGGED_OUT: &str = "https://app.example.com/logged-out";

async fn signed_in_with_hint(s: &mut InProc) -> String {
    let tokens = code_flow(s, &[("scope", "openid")]).await;
    id_token(&tokens).to_owned()
}

async fn still_signed_in(s: &mut InProc) -> bool {
    let reply = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("prompt", "none")],
        ))
        .await;
    reply.location_param("code").is_some()
}

fn logout_uri(pairs: &[(&str, &str)]) -> String {
    format!("/oauth/logout?{}", crate::inproc::form(pairs))
}

#[tokio::test]
async fn rp_logout_with_a_valid_hint_redirects_with_state_and_ends_single_sign_on() {
    let mut s = InProc::new("").await;
    let hint = signed_in_with_hint(&mut s).await;
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "bye"),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), format!("{LOGGED_OUT}?state=bye"));
    assert!(!still_signed_in(&mut s).await);
}

/// Streamlit sends its login redirect URI as `post_logout_redirect_uri`. With a valid hint the
/// user is signed out all the same, and the page names the URI to register; nothing redirects.
#[tokio::test]
async fn rp_logout_unregistered_post_logout_redirect_uri_signs_out_without_redirecting() {
    let mut s = InProc::new("").await;
    let hint = signed_in_with_hint(&mut s).await;
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", "https://evil.example/out"),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.header("location").is_none());
    assert!(reply.body.contains("https://evil.example/out"), "{}", reply.body);
    assert!(reply.body.contains("post-logout redirect URI"), "{}", reply.body);
    assert!(!still_signed_in(&mut s).await);
}

/// The review finding: any server-signed JWT signed out whoever was signed in. An access token
/// (`typ` `at+jwt`) is no ID token hint at all.
#[tokio::test]
async fn rp_logout_an_access_token_is_not_an_id_token_hint() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid")]).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &access),
            ("client_id", "web"),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.header("location").is_none());
    assert!(
        reply.body.contains("action=\"/oauth/logout/confirm\""),
        "the user is asked: {}",
        reply.body
    );
    assert!(still_signed_in(&mut s).await);
    // Nor does it work as a hint at the authorization endpoint.
    let r = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("id_token_hint", &access)],
        ))
        .await;
    assert_eq!(r.location_param("error").as_deref(), Some("invalid_request"));
}

/// Another user's genuine ID token proves nothing about this browser's session: the user is
/// asked first, and nobody is signed out until they confirm.
#[tokio::test]
async fn rp_logout_another_users_id_token_asks_for_confirmation() {
    let mut s = InProc::new("").await;
    latchkey::service::users::add(
        &s.app,
        latchkey::domain::NewUser {
            username: "bob".into(),
            name: None,
            email: None,
            email_verified: false,
            groups: vec![],
        },
        Some(PASSWORD.into()),
    )
    .await
    .unwrap();
    signed_in_with_hint(&mut s).await;
    let alice = s.switch_browser(Default::default());
    let bob = s
        .authorize_as(
            &InProc::authorize_uri("web", REDIRECT, &[("scope", "openid")]),
            "bob",
            PASSWORD,
        )
        .await;
    let code = bob.location_param("code").unwrap();
    let bob_hint = s.exchange(&code).await.json()["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.switch_browser(alice);
    assert!(still_signed_in(&mut s).await);
    let page = s
        .get(&logout_uri(&[
            ("id_token_hint", &bob_hint),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.header("location").is_none());
    assert!(
        page.body.contains("action=\"/oauth/logout/confirm\""),
        "{}",
        page.body
    );
    assert!(
        still_signed_in(&mut s).await,
        "alice stays signed in until she confirms"
    );
}

#[tokio::test]
async fn rp_logout_modified_id_token_hint_is_refused() {
    let mut s = InProc::new("").await;
    let hint = signed_in_with_hint(&mut s).await;
    let mut parts: Vec<String> = hint.split('.').map(str::to_owned).collect();
    let mut c = claims(&hint);
    c["sub"] = Value::String("someone-else".into());
    parts[1] = latchkey::crypto::b64url(c.to_string().as_bytes());
    let forged = parts.join(".");
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &forged),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.header("location").is_none());
    assert!(still_signed_in(&mut s).await);
}

#[tokio::test]
async fn rp_logout_without_a_hint_asks_for_confirmation_first() {
    let mut s = InProc::new("").await;
    signed_in_with_hint(&mut s).await;
    let page = s
        .get(&logout_uri(&[
            ("client_id", "web"),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "s1"),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("action=\"/oauth/logout/confirm\""),
        "{}",
        page.body
    );
    assert!(
        still_signed_in(&mut s).await,
        "nothing happens before confirmation"
    );
    let (csrf, request) = (page.field("csrf"), page.field("request"));
    let done = s
        .post("/oauth/logout/confirm", &[("csrf", &csrf), ("request", &request)])
        .await;
    assert_eq!(done.location(), format!("{LOGGED_OUT}?state=s1"));
    assert!(!still_signed_in(&mut s).await);
}

#[tokio::test]
async fn rp_logout_query_added_to_the_redirect_uri_is_not_followed() {
    let mut s = InProc::new("").await;
    let hint = signed_in_with_hint(&mut s).await;
    let with_query = format!("{LOGGED_OUT}?foo=bar");
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", &with_query),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("location").is_none());
}

#[tokio::test]
async fn rp_logout_with_no_parameters_confirms_then_shows_signed_out() {
    let mut s = InProc::new("").await;
    signed_in_with_hint(&mut s).await;
    let page = s.get("/oauth/logout").await;
    assert!(page.body.contains("action=\"/oauth/logout/confirm\""));
    let (csrf, request) = (page.field("csrf"), page.field("request"));
    let done = s
        .post("/oauth/logout/confirm", &[("csrf", &csrf), ("request", &request)])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("Signed out"));
    assert!(!still_signed_in(&mut s).await);
}

#[tokio::test]
async fn rp_logout_with_only_state_does_not_redirect() {
    let mut s = InProc::new("").await;
    signed_in_with_hint(&mut s).await;
    let page = s.get(&logout_uri(&[("state", "only")])).await;
    let (csrf, request) = (page.field("csrf"), page.field("request"));
    let done = s
        .post("/oauth/logout/confirm", &[("csrf", &csrf), ("request", &request)])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.header("location").is_none());
}

#[tokio::test]
async fn a_forged_logout_confirmation_is_refused() {
    let mut s = InProc::new("").await;
    signed_in_with_hint(&mut s).await;
    let done = s
        .post("/oauth/logout/confirm", &[("csrf", "x"), ("request", "")])
        .await;
    assert_eq!(done.status, StatusCode::FORBIDDEN);
    assert!(still_signed_in(&mut s).await);
    let _ = basic("web", WEB_SECRET);
}
