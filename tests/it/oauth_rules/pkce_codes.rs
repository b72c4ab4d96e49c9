//! PKCE and authorization codes: when PKCE is required, code lifetime, binding, and replay.

use super::*;

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
