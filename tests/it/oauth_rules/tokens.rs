//! Token rules: access and refresh tokens, error formats, client authentication, grants, key rotation, introspection and revocation.

use super::*;

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
