//! The rules of ../shared/SECURITY.md (Redirects, Codes and PKCE, Tokens, and the bug classes),
//! each as a named test over HTTP against an in-process server with a fixed clock.

use latchkey::domain::NewUser;
use poem::http::{Method, StatusCode};

use crate::inproc::{ISSUER, InProc, PASSWORD, REDIRECT, VERIFIER, WEB_SECRET, basic, claims};

fn assert_error_page(reply: &crate::inproc::Reply) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply.header("location").is_none(),
        "an error page never redirects"
    );
    assert!(
        reply
            .header("content-type")
            .unwrap_or("")
            .starts_with("text/html")
    );
}

// Redirects

#[tokio::test]
async fn missing_unknown_or_mismatched_client_or_redirect_uri_shows_a_page_and_never_redirects() {
    let mut s = InProc::new("").await;
    for uri in [
        "/oauth/authorize?response_type=code".to_owned(),
        InProc::authorize_uri("nobody", REDIRECT, &[]),
        InProc::authorize_uri("web", "https://evil.example/cb", &[]),
        InProc::authorize_uri("web", "https://APP.example.com/cb", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb/", &[]),
        InProc::authorize_uri("web", "https://app.example.com.evil/cb", &[]),
        InProc::authorize_uri("web", "https://a@b@app.example.com/cb", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb/..;/x", &[]),
        InProc::authorize_uri("web", "https://app.example.com/%2e%2e/cb", &[]),
        InProc::authorize_uri("web", "JaVaScRiPt:alert(1)", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb%09", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb%0a", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb%0d", &[]),
        InProc::authorize_uri("spa", "http://localhost:9000/cb", &[]),
        InProc::authorize_uri("spa", "http://127.0.0.1:9000/cb?x=1", &[]),
    ] {
        let reply = s.get(&uri).await;
        assert_error_page(&reply);
    }
}

#[tokio::test]
async fn loopback_redirect_uris_match_any_port() {
    let mut s = InProc::new("").await;
    let reply = s
        .authorize(&InProc::authorize_uri("spa", "http://127.0.0.1:41234/cb", &[]))
        .await;
    assert!(
        reply.location().starts_with("http://127.0.0.1:41234/cb?code="),
        "{}",
        reply.location()
    );
}

#[tokio::test]
async fn every_authorization_response_carries_iss_errors_included() {
    let mut s = InProc::new("").await;
    let ok = s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert_eq!(ok.location_param("iss").as_deref(), Some(ISSUER));
    let err = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("response_type", "token")],
        ))
        .await;
    assert_eq!(
        err.location_param("error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(err.location_param("iss").as_deref(), Some(ISSUER));
    assert_eq!(err.location_param("state").as_deref(), Some("xyz"));
    let meta = s.get("/.well-known/oauth-authorization-server").await.json();
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["issuer"], ISSUER);
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
}

#[tokio::test]
async fn redirects_after_a_post_use_303() {
    let mut s = InProc::new("").await;
    let login = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let after_login = s.login_from(&login, "alice", PASSWORD).await;
    assert_eq!(after_login.status, StatusCode::SEE_OTHER);
    let consent = s.get(after_login.location()).await;
    let (csrf, request) = (consent.field("csrf"), consent.field("request"));
    let done = s
        .post(
            "/oauth/consent",
            &[("csrf", &csrf), ("request", &request), ("decision", "allow")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let uri = InProc::authorize_uri("web", REDIRECT, &[]);
    let query = uri.split_once('?').unwrap().1.to_owned();
    let post_authorize = s
        .send(poem::http::Method::POST, "/oauth/authorize", Some(query), &[])
        .await;
    assert_eq!(post_authorize.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn authorization_requests_work_by_post_as_by_get_and_ignore_unknown_parameters() {
    let mut s = InProc::new("").await;
    s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let uri = InProc::authorize_uri("web", REDIRECT, &[("unknown_param", "1"), ("another", "x")]);
    let query = uri.split_once('?').unwrap().1.to_owned();
    let reply = s
        .send(poem::http::Method::POST, "/oauth/authorize", Some(query), &[])
        .await;
    assert!(reply.location_param("code").is_some(), "{}", reply.location());
}

#[tokio::test]
async fn state_round_trips_exactly_and_an_overlong_state_is_invalid_request() {
    let mut s = InProc::new("").await;
    let state = format!("{}&=+ %é\u{1f511}", "s".repeat(500));
    let reply = s
        .authorize(&InProc::authorize_uri("web", REDIRECT, &[("state", &state)]))
        .await;
    assert_eq!(reply.location_param("state").as_deref(), Some(state.as_str()));
    let long = "s".repeat(3000);
    let reply = s
        .get(&InProc::authorize_uri("web", REDIRECT, &[("state", &long)]))
        .await;
    assert_eq!(reply.location_param("error").as_deref(), Some("invalid_request"));
}

// Codes and PKCE

#[tokio::test]
async fn pkce_is_required_for_public_and_by_default_all_clients_and_plain_is_refused() {
    let mut s = InProc::new("").await;
    s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    for (client, redirect) in [("web", REDIRECT), ("spa", "http://127.0.0.1/cb")] {
        let uri = format!(
            "/oauth/authorize?response_type=code&client_id={client}&redirect_uri={}&state=s",
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        );
        let reply = s.get(&uri).await;
        assert_eq!(
            reply.location_param("error").as_deref(),
            Some("invalid_request"),
            "{client}"
        );
        let plain = s
            .get(&InProc::authorize_uri(
                client,
                redirect,
                &[("code_challenge_method", "plain"), ("code_challenge", VERIFIER)],
            ))
            .await;
        assert_eq!(
            plain.location_param("error").as_deref(),
            Some("invalid_request"),
            "{client}"
        );
    }
}

#[tokio::test]
async fn a_confidential_client_registered_without_pkce_gets_a_code_without_it() {
    let extra = format!(
        "[[client]]\nclient_id = \"gitea\"\nredirect_uris = [\"https://git.example.com/cb\"]\nscopes = [\"openid\"]\nrequire_pkce = false\nsecret_digest = \"{}\"\n",
        latchkey::service::clients::digest_text(WEB_SECRET)
    );
    let mut s = InProc::new(&extra).await;
    let uri = "/oauth/authorize?response_type=code&client_id=gitea&redirect_uri=https%3A%2F%2Fgit.example.com%2Fcb&scope=openid&state=s";
    let reply = s.authorize(uri).await;
    let code = reply.location_param("code").expect("a code without PKCE");
    let token = s
        .post_with(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://git.example.com/cb"),
            ],
            &[("authorization", &basic("gitea", WEB_SECRET))],
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
}

/// A confidential client `app` at `https://app.example.net/cb`, allowed `openid`, with
/// `require_pkce` as given (a TOML value, or nothing).
fn pkce_client(require_pkce: Option<&str>) -> String {
    format!(
        "[[client]]\nclient_id = \"app\"\nredirect_uris = [\"https://app.example.net/cb\"]\nscopes = [\"openid\", \"profile\"]\n{}secret_digest = \"{}\"\n",
        require_pkce
            .map(|v| format!("require_pkce = {v}\n"))
            .unwrap_or_default(),
        latchkey::service::clients::digest_text(WEB_SECRET)
    )
}

/// Where an authorization request without PKCE ends: `Ok(code)` or `Err(error_description)`.
async fn without_pkce(
    s: &mut InProc,
    client: &str,
    redirect: &str,
    scope: &str,
    nonce: Option<&str>,
) -> Result<String, String> {
    let mut extra = vec![("scope", scope), ("state", "s")];
    if let Some(n) = nonce {
        extra.push(("nonce", n));
    }
    let query = crate::inproc::form(
        &[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
        ]
        .into_iter()
        .chain(extra)
        .collect::<Vec<_>>(),
    );
    let reply = s.authorize(&format!("/oauth/authorize?{query}")).await;
    match reply.location_param("code") {
        Some(code) => Ok(code),
        None => Err(reply.location_param("error_description").unwrap_or_default()),
    }
}

/// The review's PKCE policy, end to end: by default a confidential client's OpenID Connect
/// request with a nonce gets a code without PKCE (OAuth 2.1) and redeems it; without a nonce it
/// is refused, naming the setting; `require_pkce = true` (per client or server-wide) refuses
/// both; a public client always needs PKCE.
#[tokio::test]
async fn pkce_is_optional_only_for_confidential_oidc_requests_with_a_nonce() {
    let mut s = InProc::new(&pkce_client(None)).await;
    let code = without_pkce(&mut s, "app", "https://app.example.net/cb", "openid", Some("n-1"))
        .await
        .expect("a code for an OpenID Connect request with a nonce");
    let token = s
        .post_with(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example.net/cb"),
            ],
            &[("authorization", &basic("app", WEB_SECRET))],
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    assert_eq!(
        crate::inproc::claims(token.json()["id_token"].as_str().unwrap())["nonce"],
        "n-1"
    );
    let refused = without_pkce(&mut s, "app", "https://app.example.net/cb", "openid", None)
        .await
        .expect_err("no nonce, no PKCE");
    assert!(
        refused.contains("nonce") && refused.contains("require_pkce"),
        "{refused}"
    );
    let refused = without_pkce(
        &mut s,
        "app",
        "https://app.example.net/cb",
        "profile",
        Some("n-1"),
    )
    .await
    .expect_err("not OpenID Connect");
    assert!(refused.contains("code_challenge"), "{refused}");
    let refused = without_pkce(&mut s, "spa", "http://127.0.0.1/cb", "openid", Some("n-1"))
        .await
        .expect_err("a public client");
    assert!(refused.contains("public client"), "{refused}");

    let mut strict = InProc::new(&pkce_client(Some("true"))).await;
    for nonce in [Some("n-1"), None] {
        let refused = without_pkce(&mut strict, "app", "https://app.example.net/cb", "openid", nonce)
            .await
            .expect_err("require_pkce = true");
        assert!(refused.contains("require_pkce = true"), "{refused}");
    }
    let mut global = InProc::with_top("require_pkce = true", &pkce_client(None)).await;
    let refused = without_pkce(
        &mut global,
        "app",
        "https://app.example.net/cb",
        "openid",
        Some("n-1"),
    )
    .await
    .expect_err("the server-wide require_pkce = true");
    assert!(refused.contains("require_pkce = true"), "{refused}");
}

#[tokio::test]
async fn a_code_verifier_for_a_code_without_challenge_is_refused() {
    let extra = format!(
        "[[client]]\nclient_id = \"gitea\"\nredirect_uris = [\"https://git.example.com/cb\"]\nscopes = [\"openid\"]\nrequire_pkce = false\nsecret_digest = \"{}\"\n",
        latchkey::service::clients::digest_text(WEB_SECRET)
    );
    let mut s = InProc::new(&extra).await;
    let reply = s
        .authorize("/oauth/authorize?response_type=code&client_id=gitea&redirect_uri=https%3A%2F%2Fgit.example.com%2Fcb&scope=openid")
        .await;
    let code = reply.location_param("code").unwrap();
    let token = s
        .post_with(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://git.example.com/cb"),
                ("code_verifier", VERIFIER),
            ],
            &[("authorization", &basic("gitea", WEB_SECRET))],
        )
        .await;
    assert_eq!(token.status, StatusCode::BAD_REQUEST);
    assert_eq!(token.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn codes_are_long_random_and_expire_after_60_seconds() {
    let mut s = InProc::new("").await;
    let a = s.code(&[]).await;
    let b = s.code(&[]).await;
    assert_ne!(a, b);
    assert!(
        latchkey::crypto::b64url_decode(&a).unwrap().len() >= 16,
        "at least 128 bits"
    );
    s.advance(61);
    let reply = s.exchange(&a).await;
    assert_eq!(reply.json()["error"], "invalid_grant");
    let c = s.code(&[]).await;
    s.advance(59);
    assert_eq!(s.exchange(&c).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_redirect_uri_and_verifier() {
    let mut s = InProc::new("").await;
    let code = s.code(&[]).await;
    let other_client = s
        .post(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", "spa"),
            ],
        )
        .await;
    assert_eq!(other_client.json()["error"], "invalid_grant");
    let other_redirect = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/other"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(other_redirect.json()["error"], "invalid_grant");
    let wrong_verifier = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &VERIFIER.replace('d', "e")),
        ])
        .await;
    assert_eq!(wrong_verifier.json()["error"], "invalid_grant");
    let no_verifier = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(no_verifier.json()["error"], "invalid_grant");
    assert_eq!(
        s.exchange(&code).await.status,
        StatusCode::OK,
        "wrong attempts do not use the code up"
    );
}

#[tokio::test]
async fn reused_code_is_invalid_grant_and_revokes_tokens() {
    let mut s = InProc::new("").await;
    let code = s.code(&[("scope", "openid offline_access")]).await;
    let first = s.exchange(&code).await.json();
    let access = first["access_token"].as_str().unwrap().to_owned();
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(s.introspect(&access).await["active"], true);
    let second = s.exchange(&code).await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.json()["error"], "invalid_grant");
    assert_eq!(s.introspect(&access).await["active"], false);
    let refreshed = s
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(refreshed.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn a_replay_with_wrong_parameters_revokes_nothing() {
    let mut s = InProc::new("").await;
    let code = s.code(&[]).await;
    let access = s.exchange(&code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &"x".repeat(43)),
        ])
        .await;
    assert_eq!(wrong.json()["error"], "invalid_grant");
    let by_other = s
        .post(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", "spa"),
            ],
        )
        .await;
    assert_eq!(by_other.json()["error"], "invalid_grant");
    assert_eq!(s.introspect(&access).await["active"], true);
}

// Tokens

#[tokio::test]
async fn access_tokens_are_rfc9068_jwts_signed_with_eddsa() {
    let mut s = InProc::new("").await;
    let code = s.code(&[]).await;
    let body = s.exchange(&code).await.json();
    let at = body["access_token"].as_str().unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&latchkey::crypto::b64url_decode(at.split('.').next().unwrap()).unwrap())
            .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    let jwks = s.get("/.well-known/jwks.json").await.json();
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    let c = claims(at);
    for k in [
        "iss",
        "sub",
        "aud",
        "client_id",
        "scope",
        "iat",
        "exp",
        "jti",
        "auth_time",
    ] {
        assert!(c.get(k).is_some(), "claim {k} missing in {c}");
    }
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["client_id"], "web");
    assert_eq!(c["scope"], "openid profile");
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 600);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
}

#[tokio::test]
async fn token_responses_carry_no_store_and_no_cache_errors_included() {
    let mut s = InProc::new("").await;
    let code = s.code(&[]).await;
    let ok = s.exchange(&code).await;
    let err = s.exchange(&code).await;
    for reply in [ok, err] {
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("pragma"), Some("no-cache"));
    }
}

#[tokio::test]
async fn refresh_tokens_are_opaque_rotated_and_reuse_revokes_the_family() {
    let mut s = InProc::new("").await;
    let code = s.code(&[("scope", "openid profile offline_access")]).await;
    let first = s.exchange(&code).await.json();
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(r1.split('.').count(), 1, "refresh tokens are opaque");
    assert!(latchkey::crypto::b64url_decode(&r1).unwrap().len() >= 32);
    let second = s
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r1)])
        .await
        .json();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    let a2 = second["access_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let narrowed = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("scope", "openid"),
        ])
        .await
        .json();
    assert_eq!(narrowed["scope"], "openid");
    let r3 = narrowed["refresh_token"].as_str().unwrap().to_owned();
    let widen = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r3),
            ("scope", "openid email"),
        ])
        .await;
    assert_eq!(widen.json()["error"], "invalid_scope");
    let replay = s
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r1)])
        .await;
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(
        s.token(&[("grant_type", "refresh_token"), ("refresh_token", &r3)])
            .await
            .json()["error"],
        "invalid_grant"
    );
    assert_eq!(s.introspect(&a2).await["active"], false);
}

#[tokio::test]
async fn errors_are_rfc6749_json_and_bad_client_auth_is_401_with_a_challenge() {
    let mut s = InProc::new("").await;
    let wrong = s
        .post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic("web", "wrong"))],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.header("www-authenticate").unwrap().starts_with("Basic"));
    assert_eq!(wrong.json()["error"], "invalid_client");
    for header in ["Basic !!!", "Bearer abc", "Basic", "Digest x"] {
        let malformed = s
            .post_with(
                "/oauth/token",
                &[("grant_type", "client_credentials")],
                &[("authorization", header)],
            )
            .await;
        assert_eq!(malformed.status, StatusCode::UNAUTHORIZED, "{header}");
        assert_eq!(malformed.json()["error"], "invalid_client", "{header}");
    }
    let both = s
        .post_with(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "web"),
                ("client_secret", WEB_SECRET),
            ],
            &[("authorization", &basic("web", WEB_SECRET))],
        )
        .await;
    assert_eq!(both.json()["error"], "invalid_request");
    let unknown_grant = s.token(&[("grant_type", "urn:x")]).await;
    assert_eq!(unknown_grant.json()["error"], "unsupported_grant_type");
    let repeated = s
        .send(
            poem::http::Method::POST,
            "/oauth/token",
            Some("grant_type=client_credentials&grant_type=client_credentials".into()),
            &[("authorization", &basic("web", WEB_SECRET))],
        )
        .await;
    assert_eq!(repeated.status, StatusCode::BAD_REQUEST);
    assert_eq!(repeated.json()["error"], "invalid_request");
    let description = wrong.json()["error_description"].as_str().unwrap().to_owned();
    assert!(
        description
            .chars()
            .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\')
    );
}

#[tokio::test]
async fn client_secrets_are_accepted_in_basic_form_urlencoded_and_in_the_body() {
    let mut s = InProc::new("").await;
    let basic_ok = s.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!(basic_ok.status, StatusCode::OK, "{}", basic_ok.body);
    let post_ok = s
        .post(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "web"),
                ("client_secret", WEB_SECRET),
            ],
        )
        .await;
    assert_eq!(post_ok.status, StatusCode::OK);
    assert!(post_ok.json().get("refresh_token").is_none_or(|v| v.is_null()));
}

#[tokio::test]
async fn client_credentials_is_for_confidential_clients_and_limited_to_their_scopes() {
    let mut s = InProc::new("").await;
    let public = s
        .post(
            "/oauth/token",
            &[("grant_type", "client_credentials"), ("client_id", "spa")],
        )
        .await;
    assert_eq!(public.json()["error"], "unauthorized_client");
    let too_wide = s
        .token(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .await;
    assert_eq!(too_wide.json()["error"], "invalid_scope");
    let ok = s
        .token(&[("grant_type", "client_credentials"), ("scope", "profile")])
        .await
        .json();
    assert_eq!(ok["scope"], "profile");
    assert_eq!(claims(ok["access_token"].as_str().unwrap())["sub"], "web");
}

#[tokio::test]
async fn the_password_grant_is_off_unless_the_client_enables_it() {
    let extra = format!(
        "[[client]]\nclient_id = \"legacy\"\ngrant_types = [\"password\", \"refresh_token\"]\nscopes = [\"profile\"]\nsecret_digest = \"{}\"\n",
        latchkey::service::clients::digest_text(WEB_SECRET)
    );
    let mut s = InProc::new(&extra).await;
    let refused = s
        .token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .await;
    assert_eq!(refused.json()["error"], "unauthorized_client");
    let legacy = basic("legacy", WEB_SECRET);
    let ok = s
        .post_with(
            "/oauth/token",
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
            &[("authorization", &legacy)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.json()["refresh_token"].is_string());
    let bad = s
        .post_with(
            "/oauth/token",
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "nope"),
            ],
            &[("authorization", &legacy)],
        )
        .await;
    assert_eq!(bad.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn replaced_signing_keys_stay_published_until_their_tokens_expire() {
    let mut s = InProc::new("").await;
    let code = s.code(&[]).await;
    let at = s.exchange(&code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    latchkey::service::keys::rotate(&s.app).await.unwrap();
    // Each Ed25519 key is listed once per name (`EdDSA`, `Ed25519`): count the kids.
    let kids = |jwks: &serde_json::Value| {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    let jwks = s.get("/.well-known/jwks.json").await.json();
    assert_eq!(kids(&jwks), 2);
    assert_eq!(
        s.introspect(&at).await["active"],
        true,
        "a token signed by the old key still verifies"
    );
    s.advance(2 * 86_400 + 1);
    let jwks = s.get("/.well-known/jwks.json").await.json();
    assert_eq!(kids(&jwks), 1, "retired after keys.retire_after");
}

#[tokio::test]
async fn alg_none_and_foreign_tokens_never_introspect_as_active() {
    let mut s = InProc::new("").await;
    let code = s.code(&[]).await;
    let at = s.exchange(&code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = at.split('.').collect();
    let none_header = latchkey::crypto::b64url(br#"{"alg":"none","typ":"at+jwt"}"#);
    for forged in [
        format!("{none_header}.{}.", parts[1]),
        format!("{none_header}.{}", parts[1]),
        format!("{}.{}.AAAA", parts[0], parts[1]),
    ] {
        assert_eq!(s.introspect(&forged).await["active"], false);
    }
    let spa_token = s
        .post_with("/oauth/introspect", &[("token", &at), ("client_id", "spa")], &[])
        .await;
    assert_eq!(
        spa_token.json()["error"],
        "unauthorized_client",
        "public clients may not introspect"
    );
}

#[tokio::test]
async fn revocation_answers_200_for_unknown_tokens_and_revokes_only_the_clients_own() {
    let mut s = InProc::new("").await;
    let code = s.code(&[]).await;
    let at = s.exchange(&code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = s
        .post_with(
            "/oauth/revoke",
            &[("token", "nonsense")],
            &[("authorization", &basic("web", WEB_SECRET))],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::OK);
    let foreign = s
        .post("/oauth/revoke", &[("token", &at), ("client_id", "spa")])
        .await;
    assert_eq!(foreign.status, StatusCode::OK);
    assert_eq!(
        s.introspect(&at).await["active"],
        true,
        "another client cannot revoke it"
    );
    let own = s
        .post_with(
            "/oauth/revoke",
            &[("token", &at)],
            &[("authorization", &basic("web", WEB_SECRET))],
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(s.introspect(&at).await["active"], false);
}

// Browser and bug classes

#[tokio::test]
async fn a_new_session_id_is_issued_at_login_against_session_fixation() {
    let mut s = InProc::new("").await;
    s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let first = s.get("/").await;
    assert!(first.body.contains("alice"));
    let page = s
        .get(&InProc::authorize_uri("web", REDIRECT, &[("prompt", "login")]))
        .await;
    let relogin = s.login_from(&page, "alice", PASSWORD).await;
    let cookie = relogin.header("set-cookie").unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(
        cookie.starts_with("__Host-latchkey-session=") && cookie.contains("Secure"),
        "https issuer: {cookie}"
    );
}

#[tokio::test]
async fn a_cross_site_post_to_consent_without_the_csrf_token_is_refused() {
    let mut s = InProc::new("").await;
    let login = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let after = s.login_from(&login, "alice", PASSWORD).await;
    let consent = s.get(after.location()).await;
    let request = consent.field("request");
    let forged = s
        .post(
            "/oauth/consent",
            &[("csrf", "forged"), ("request", &request), ("decision", "allow")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.header("location").is_none());
}

#[tokio::test]
async fn consent_deny_redirects_access_denied_and_allow_is_remembered_until_more_is_asked() {
    let mut s = InProc::new("").await;
    let login = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let after = s.login_from(&login, "alice", PASSWORD).await;
    let consent = s.get(after.location()).await;
    assert!(
        consent.body.contains("Web App"),
        "the consent page names the client"
    );
    let (csrf, request) = (consent.field("csrf"), consent.field("request"));
    let denied = s
        .post(
            "/oauth/consent",
            &[("csrf", &csrf), ("request", &request), ("decision", "deny")],
        )
        .await;
    assert_eq!(denied.location_param("error").as_deref(), Some("access_denied"));
    assert_eq!(denied.location_param("iss").as_deref(), Some(ISSUER));
    s.post(
        "/oauth/consent",
        &[("csrf", &csrf), ("request", &request), ("decision", "allow")],
    )
    .await;
    let again = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert!(again.location_param("code").is_some(), "consent is remembered");
    let more = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid profile email")],
        ))
        .await;
    assert!(
        more.body.contains("action=\"/oauth/consent\""),
        "asked again for more scopes"
    );
    let forced = s
        .get(&InProc::authorize_uri("web", REDIRECT, &[("prompt", "consent")]))
        .await;
    assert!(
        forced.body.contains("action=\"/oauth/consent\""),
        "prompt=consent always asks"
    );
}

#[tokio::test]
async fn first_party_clients_skip_consent() {
    let extra = "[[client]]\nclient_id = \"own\"\npublic = true\nfirst_party = true\nredirect_uris = [\"http://127.0.0.1/own\"]\nscopes = [\"openid\"]\n";
    let mut s = InProc::new(extra).await;
    let login = s
        .get(&InProc::authorize_uri(
            "own",
            "http://127.0.0.1/own",
            &[("scope", "openid")],
        ))
        .await;
    let after = s.login_from(&login, "alice", PASSWORD).await;
    let next = s.get(after.location()).await;
    assert!(
        next.location_param("code").is_some(),
        "no consent page: {}",
        next.body
    );
}

#[tokio::test]
async fn login_failures_look_the_same_and_each_costs_exactly_one_hash_verification() {
    let mut s = InProc::new("").await;
    let bob = NewUser {
        username: "bob".into(),
        name: None,
        email: None,
        email_verified: false,
        groups: vec![],
    };
    latchkey::service::users::add(&s.app, bob, Some(PASSWORD.into()))
        .await
        .unwrap();
    latchkey::service::users::set_disabled(&s.app, "bob".into(), true)
        .await
        .unwrap();
    let page = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let mut answers = Vec::new();
    for (user, pass) in [
        ("nobody", "whatever-password"),
        ("alice", "wrong-password!!"),
        ("bob", PASSWORD),
        ("alice", ""),
    ] {
        let before = s.app.password_verifications();
        let reply = s.login_from(&page, user, pass).await;
        assert_eq!(
            s.app.password_verifications() - before,
            1,
            "{user}/{pass:?}: exactly one argon2 verification (a dummy one for an unknown user)"
        );
        assert_eq!(reply.status, StatusCode::OK);
        let csrf = reply.field("csrf");
        let mut headers: Vec<String> = reply
            .headers
            .iter()
            .filter(|(k, _)| *k != "content-length")
            .map(|(k, v)| {
                let v = v.to_str().unwrap_or("?");
                // A cookie's value is random; its name and attributes must match.
                let v = match (k.as_str(), v.split_once('=')) {
                    ("set-cookie", Some((name, rest))) => {
                        format!("{name}=VALUE{}", rest.find(';').map_or("", |i| &rest[i..]))
                    }
                    _ => v.replace(&csrf, "CSRF"),
                };
                format!("{k}: {v}")
            })
            .collect();
        headers.sort();
        let body = reply.body.replace(user, "USER").replace(&csrf, "CSRF");
        answers.push((headers, body));
    }
    for other in &answers[1..] {
        assert_eq!(&answers[0], other);
    }
    assert!(answers[0].1.contains("The username or password is not correct."));
}

#[tokio::test]
async fn throttling_covers_the_login_page_and_the_password_grant_together() {
    let extra = format!(
        "[[client]]\nclient_id = \"legacy\"\ngrant_types = [\"password\"]\nscopes = [\"profile\"]\nsecret_digest = \"{}\"\n",
        latchkey::service::clients::digest_text(WEB_SECRET)
    );
    let mut s = InProc::new(&extra).await;
    let page = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    for _ in 0..5 {
        s.login_from(&page, "alice", "wrong-password!!").await;
    }
    let grant = s
        .post_with(
            "/oauth/token",
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
            &[("authorization", &basic("legacy", WEB_SECRET))],
        )
        .await;
    assert_eq!(grant.status, StatusCode::TOO_MANY_REQUESTS, "{}", grant.body);
    assert!(grant.header("retry-after").is_some());
    // Throttling has its own answer: RFC 8628 keeps `slow_down` for a device polling too fast.
    assert_eq!(grant.json()["error"], "temporarily_unavailable", "{}", grant.body);
    assert!(grant.json()["error_description"].is_string(), "{}", grant.body);
    assert_eq!(grant.header("cache-control"), Some("no-store"));
    s.advance(2);
    let later = s.login_from(&page, "alice", PASSWORD).await;
    assert_eq!(
        later.status,
        StatusCode::SEE_OTHER,
        "no hard lock-out once the delay passed"
    );
}

#[tokio::test]
async fn logout_ends_the_session_and_requires_csrf() {
    let mut s = InProc::new("").await;
    s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let home = s.get("/").await;
    let csrf = home.field("csrf");
    let forged = s.post("/logout", &[("csrf", "nope")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let out = s.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::OK);
    let again = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert!(
        again.body.contains("action=\"/login\""),
        "signed out: the login page again"
    );
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_the_authorize_endpoint_has_no_cors() {
    let mut s = InProc::new("").await;
    let page = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    assert!(!csp.contains("http"), "no external sources: {csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn expired_rows_are_purged() {
    let mut s = InProc::new("").await;
    let _code = s.code(&[]).await;
    s.advance(3600);
    let store = s.app.store.clone();
    let now = s.app.clock.now();
    let removed = store.write(|tx| tx.purge_expired(now, 1000)).unwrap();
    assert!(removed >= 1, "the expired code is gone");
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let mut s = InProc::new("").await;
    let big = "a".repeat(70 * 1024);
    let reply = s
        .send(
            poem::http::Method::POST,
            "/oauth/token",
            Some(format!("grant_type=x&pad={big}")),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The same opt-in in `identity.toml`: without it the file names the key; with it the exact URI
/// gets a code and another port of localhost does not (no loopback port rule for a host name).
#[tokio::test]
async fn a_declared_client_may_opt_in_to_http_localhost_and_is_matched_exactly() {
    let client = |opt_in: &str| {
        format!(
            "[[client]]\nclient_id = \"dev\"\nredirect_uris = [\"http://localhost:8000/callback\"]\nscopes = [\"openid\"]\n{opt_in}secret_digest = \"{}\"\n",
            latchkey::service::clients::digest_text(WEB_SECRET)
        )
    };
    let text = format!("issuer = \"https://id.example.test\"\n{}", client(""));
    let err = latchkey::config::parse("t.toml", &text, None, &Default::default()).unwrap_err();
    assert!(err.to_string().contains("allow_http_localhost"), "{err}");
    let mut s = InProc::new(&client("allow_http_localhost = true\n")).await;
    let ok = s
        .authorize(&InProc::authorize_uri(
            "dev",
            "http://localhost:8000/callback",
            &[("scope", "openid")],
        ))
        .await;
    assert!(
        ok.location().starts_with("http://localhost:8000/callback?code="),
        "{}",
        ok.location()
    );
    let other_port = s
        .get(&InProc::authorize_uri(
            "dev",
            "http://localhost:8001/callback",
            &[("scope", "openid")],
        ))
        .await;
    assert_eq!(other_port.status, StatusCode::BAD_REQUEST);
    assert!(other_port.header("location").is_none());
}

/// The review finding: the consent form's POST issued a code for a request whose `prompt=login`,
/// `max_age` or `id_token_hint` the GET would have sent back to the login page. One decision
/// serves both now: each such POST goes back to the authorization endpoint, with no code.
#[tokio::test]
async fn the_consent_post_enforces_prompt_login_max_age_and_the_id_token_hint() {
    let mut s = InProc::new("").await;
    let login = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let after = s.login_from(&login, "alice", PASSWORD).await;
    let consent = s.get(after.location()).await;
    let csrf = consent.field("csrf");
    let request = consent.field("request");
    let forged = |extra: &str| format!("{request}&{extra}");
    s.advance(120);
    for extra in [
        "prompt=login".to_owned(),
        "max_age=60".to_owned(),
        format!("id_token_hint={}", "x.y.z"),
    ] {
        let reply = s
            .post(
                "/oauth/consent",
                &[
                    ("csrf", &csrf),
                    ("request", &forged(&extra)),
                    ("decision", "allow"),
                ],
            )
            .await;
        assert!(
            reply.location_param("code").is_none(),
            "{extra}: {}",
            reply.location()
        );
        assert!(
            reply.location().starts_with("/oauth/authorize?") || reply.location_param("error").is_some(),
            "{extra}: {}",
            reply.location()
        );
    }
    // The untouched form still works, and a younger max_age is satisfied.
    let ok = s
        .post(
            "/oauth/consent",
            &[
                ("csrf", &csrf),
                ("request", &forged("max_age=600")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert!(ok.location_param("code").is_some(), "{}", ok.location());
}

/// The review's cookie tossing: over plain http a sibling host can plant a `latchkey-csrf`
/// cookie of its choosing. A planted value never verifies, whether the form repeats it (the old
/// double submit) or not; only a cookie Latchkey minted, with the form token issued for it and
/// this browser's session, does.
#[tokio::test]
async fn a_planted_csrf_cookie_does_not_validate_a_form() {
    let mut s = InProc::new("").await;
    let login = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let csrf_name = s
        .cookies()
        .keys()
        .find(|k| k.contains("csrf"))
        .expect("the login page set a csrf cookie")
        .clone();
    let return_to = login.field("return_to");
    let planted = "A".repeat(43);
    for (cookie, field) in [
        (planted.clone(), planted.clone()),
        (format!("{planted}.{planted}"), planted.clone()),
    ] {
        let mut jar = s.cookies().clone();
        jar.insert(csrf_name.clone(), cookie);
        let real = s.switch_browser(jar);
        let reply = s
            .post(
                "/login",
                &[
                    ("csrf", &field),
                    ("return_to", &return_to),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        s.switch_browser(real);
    }
    // A genuine pair (here this browser's own, as an attacker would take from theirs) posted
    // from another origin: refused, because the browser says where the POST comes from.
    let cross = s
        .post_with(
            "/login",
            &[
                ("csrf", &login.field("csrf")),
                ("return_to", &return_to),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
            &[("origin", "https://evil.id.example.test")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN, "{}", cross.body);
    let ok = s.login_from(&login, "alice", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "the minted pair still works");
    // The login form's token was bound to the browser without a session; the consent form after
    // sign-in carries a token bound to the new session, and the old one no longer counts.
    let consent = s.get(ok.location()).await;
    let stale = s
        .post(
            "/oauth/consent",
            &[
                ("csrf", &login.field("csrf")),
                ("request", &consent.field("request")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    let fresh = s
        .post(
            "/oauth/consent",
            &[
                ("csrf", &consent.field("csrf")),
                ("request", &consent.field("request")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert!(fresh.location_param("code").is_some(), "{}", fresh.location());
}

/// A confidential client `rs` that may ask for the resource `https://api.example.com`, and for
/// `admin` by client_credentials.
fn resource_client() -> String {
    format!(
        "[[client]]\nclient_id = \"rs\"\nredirect_uris = [\"https://rs.example.com/cb\"]\ngrant_types = [\"authorization_code\", \"refresh_token\", \"client_credentials\"]\nscopes = [\"openid\", \"admin\", \"offline_access\"]\nresources = [\"https://api.example.com\"]\nsecret_digest = \"{}\"\n",
        latchkey::service::clients::digest_text(WEB_SECRET)
    )
}

async fn rs_token(s: &mut InProc, pairs: &[(&str, &str)]) -> crate::inproc::Reply {
    s.post_with(
        "/oauth/token",
        pairs,
        &[("authorization", &basic("rs", WEB_SECRET))],
    )
    .await
}

/// The review finding: an access token's `aud` was the client id, the same as the ID token's, so
/// a resource server checking `aud` took an ID token for an access token; and the admin API and
/// userinfo took tokens for any audience. Now `aud` names resources (RFC 8707, RFC 9068 3), each
/// endpoint checks that it is named, and a resource must be registered.
#[tokio::test]
async fn access_tokens_name_resources_and_each_endpoint_checks_its_own() {
    let mut s = InProc::new(&resource_client()).await;
    // The default audience: Latchkey itself (and its admin API with `admin`), never the client id.
    let code = s.code(&[("scope", "openid")]).await;
    let tokens = s.exchange(&code).await.json();
    let access = crate::inproc::claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], ISSUER);
    assert_ne!(
        access["aud"],
        crate::inproc::claims(tokens["id_token"].as_str().unwrap())["aud"]
    );
    let admin = rs_token(
        &mut s,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await
    .json();
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        crate::inproc::claims(&admin_token)["aud"],
        serde_json::json!([ISSUER, format!("{ISSUER}/api/v1")])
    );
    let ok = s
        .send(
            Method::GET,
            "/api/v1/clients",
            None,
            &[("authorization", &format!("Bearer {admin_token}"))],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    // A token for another resource server, with the admin scope: the admin API refuses it.
    let elsewhere = rs_token(
        &mut s,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "admin"),
            ("resource", "https://api.example.com"),
        ],
    )
    .await
    .json();
    let elsewhere = elsewhere["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        crate::inproc::claims(&elsewhere)["aud"],
        "https://api.example.com"
    );
    let refused = s
        .send(
            Method::GET,
            "/api/v1/clients",
            None,
            &[("authorization", &format!("Bearer {elsewhere}"))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // Userinfo refuses a token for another resource, even with `openid`.
    let code = {
        let reply = s
            .authorize(&InProc::authorize_uri(
                "rs",
                "https://rs.example.com/cb",
                &[("scope", "openid"), ("resource", "https://api.example.com")],
            ))
            .await;
        reply
            .location_param("code")
            .unwrap_or_else(|| panic!("{}", reply.location()))
    };
    let api = rs_token(
        &mut s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://rs.example.com/cb"),
            ("code_verifier", crate::inproc::VERIFIER),
        ],
    )
    .await
    .json();
    let api_token = api["access_token"].as_str().unwrap();
    assert_eq!(crate::inproc::claims(api_token)["aud"], "https://api.example.com");
    let info = s
        .send(
            Method::GET,
            "/oauth/userinfo",
            None,
            &[("authorization", &format!("Bearer {api_token}"))],
        )
        .await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED, "{}", info.body);
}

#[tokio::test]
async fn an_unregistered_or_changed_resource_is_invalid_target() {
    let mut s = InProc::new(&resource_client()).await;
    let bad = rs_token(
        &mut s,
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://evil.example.com"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"], "invalid_target", "{}", bad.body);
    let at_authorize = s
        .authorize(&InProc::authorize_uri(
            "rs",
            "https://rs.example.com/cb",
            &[("scope", "openid"), ("resource", "https://evil.example.com")],
        ))
        .await;
    assert_eq!(
        at_authorize.location_param("error").as_deref(),
        Some("invalid_target")
    );
    // A code asked for one resource cannot be redeemed for another.
    let reply = s
        .authorize(&InProc::authorize_uri(
            "rs",
            "https://rs.example.com/cb",
            &[
                ("scope", "openid offline_access"),
                ("resource", "https://api.example.com"),
            ],
        ))
        .await;
    let code = reply.location_param("code").unwrap();
    let changed = rs_token(
        &mut s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://rs.example.com/cb"),
            ("code_verifier", crate::inproc::VERIFIER),
            ("resource", ISSUER),
        ],
    )
    .await;
    assert_eq!(changed.json()["error"], "invalid_target", "{}", changed.body);
}

/// The review's item 3 through the other doors: anonymous token requests (any client id, no
/// secret), public clients' bogus codes and revocations, and failed upstream callbacks cost no
/// audit write each; they fold into a few counted entries per address and interval.
#[tokio::test]
async fn anonymous_failures_at_the_oauth_endpoints_fold_instead_of_writing_a_row_each() {
    let mut s = InProc::new("").await;
    let rows = |s: &InProc| {
        s.app
            .store
            .read(|tx| tx.audit_entries(None, usize::MAX))
            .unwrap()
            .len()
    };
    let before = rows(&s);
    for n in 0..100 {
        let id = format!("nobody-{n}");
        let reply = s
            .post(
                "/oauth/token",
                &[("grant_type", "client_credentials"), ("client_id", &id)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        let reply = s
            .post(
                "/oauth/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", "spa"),
                    ("code", &format!("bogus-{n}")),
                    ("redirect_uri", "http://127.0.0.1/cb"),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
        assert_eq!(reply.json()["error"], "invalid_grant");
        let reply = s
            .post("/oauth/revoke", &[("client_id", "spa"), ("token", "x")])
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(
        rows(&s),
        before,
        "300 anonymous failures wrote no row of their own"
    );
    let written = latchkey::service::audit::flush_denials(&s.app, latchkey::service::audit::Flush::All)
        .await
        .unwrap();
    assert!(
        (1..=4).contains(&written),
        "folded into a few counted entries: {written}"
    );
    let entries = s.app.store.read(|tx| tx.audit_entries(None, usize::MAX)).unwrap();
    let counted: u64 = entries
        .iter()
        .filter(|(_, r)| r.action == "client.auth_failure" || r.action == "token.refused")
        .map(|(_, r)| r.count)
        .sum();
    assert_eq!(counted, 200, "{entries:?}");
}
