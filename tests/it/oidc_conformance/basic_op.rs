//! The Basic OP conformance module's cases.

use super::*;

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
