//! The code flow through `openidconnect` and Chromium: EdDSA ID tokens, userinfo and refresh.

use super::*;

#[tokio::test]
async fn openidconnect_discovers_signs_in_through_chromium_and_verifies_eddsa_id_tokens_userinfo_and_refresh()
{
    let provider = Provider::start();
    let base = provider.server.base_url();

    // Discovery, exactly as a relying party does it.
    let metadata = CoreProviderMetadata::discover_async(provider.issuer(), &provider.http)
        .await
        .unwrap_or_else(|e| panic!("discovery failed: {e} ({e:?})"));
    assert_eq!(metadata.issuer().as_str(), base);
    assert_eq!(
        metadata.authorization_endpoint().as_str(),
        format!("{base}/oauth/authorize")
    );
    assert_eq!(
        metadata.token_endpoint().map(|u| u.as_str()),
        Some(format!("{base}/oauth/token").as_str())
    );
    assert_eq!(
        metadata.userinfo_endpoint().map(|u| u.as_str()),
        Some(format!("{base}/oauth/userinfo").as_str())
    );
    assert_eq!(
        metadata.jwks_uri().as_str(),
        format!("{base}/.well-known/jwks.json")
    );
    assert!(
        metadata
            .response_types_supported()
            .contains(&ResponseTypes::new(vec![CoreResponseType::Code]))
    );
    assert!(
        metadata
            .subject_types_supported()
            .contains(&CoreSubjectIdentifierType::Public)
    );
    let algs = metadata.id_token_signing_alg_values_supported();
    assert!(algs.contains(&CoreJwsSigningAlgorithm::EdDsa), "{algs:?}");
    assert!(
        algs.contains(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        "{algs:?}"
    );
    let scopes = metadata.scopes_supported().expect("scopes_supported");
    assert!(scopes.contains(&Scope::new("openid".to_owned())), "{scopes:?}");
    assert!(
        metadata.jwks().keys().iter().any(|k| k.key_id().is_some()
            && k.key_type() == &openidconnect::core::CoreJsonWebKeyType::OctetKeyPair),
        "the discovered JWKS has no Ed25519 key with a kid"
    );
    let with_logout = provider.discover().await;
    assert_eq!(
        with_logout
            .additional_metadata()
            .end_session_endpoint
            .as_ref()
            .map(|u| u.as_str()),
        Some(format!("{base}/oauth/logout").as_str())
    );

    let web = provider.client(WEB_ID).await;
    let browser = Browser::start().await;

    // A fresh browser has no session: prompt=none answers login_required at the redirect URI.
    let silent = authorization(&web, &["openid"], true);
    open(&browser, &silent.url).await;
    let landed = provider.recorder.redirect_with_state(&silent.state).await;
    assert_login_required(&landed, &base);

    // The code flow with PKCE and a nonce: sign in and allow in Chromium.
    let scopes = ["openid", "profile", "email", "groups", "offline_access"];
    let request = authorization(&web, &scopes, false);
    let sent = request.url.clone();
    assert_eq!(
        query_param(&sent, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&sent, "nonce").as_deref(),
        Some(request.nonce.secret().as_str())
    );
    open(&browser, &request.url).await;
    assert_eq!(page_shown(&browser).await, "/login");
    sign_in(&browser).await;
    allow(&browser, WEB_NAME).await;
    let landed = provider.recorder.redirect_with_state(&request.state).await;
    let code = code_from(&landed, &base);
    let tokens = redeem(&web, &provider.http, code, request.verifier).await;
    browser.close().await;

    assert_eq!(tokens.token_type(), &CoreTokenType::Bearer);
    let granted: Vec<&str> = tokens
        .scopes()
        .map(|s| s.iter().map(|s| s.as_str()).collect())
        .unwrap_or_default();
    for scope in scopes {
        assert!(granted.contains(&scope), "{scope} was not granted: {granted:?}");
    }
    let refresh_token = tokens
        .refresh_token()
        .expect("openid with offline_access gets a refresh token")
        .clone();

    // The ID token: EdDSA through the JWKS, nonce, audience, azp, at_hash.
    let claims = verify_id_token(&web, &tokens, CoreJwsSigningAlgorithm::EdDsa, &request.nonce);
    let at_hash = claims.access_token_hash().expect("at_hash");
    let sha512 = Sha512::digest(tokens.access_token().secret().as_bytes());
    assert_eq!(
        at_hash.as_str(),
        URL_SAFE_NO_PAD.encode(&sha512[..32]),
        "for EdDSA (Ed25519), at_hash is the left half of SHA-512"
    );
    assert_eq!(claims.issuer().as_str(), base);
    assert!(claims.auth_time().is_some(), "auth_time is missing");
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .map(|a| a.iter().map(|m| m.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(amr, ["pwd"], "a password sign-in has amr [\"pwd\"]");
    assert!(!sid(&claims).is_empty());
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some(USERNAME));
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some(FULL_NAME)
    );
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(claims.email_verified(), Some(true));
    assert_eq!(
        claims.additional_claims().groups.as_deref(),
        Some(&GROUPS.map(str::to_owned)[..])
    );

    // Userinfo through the crate, pinned to the ID token's subject.
    let info: UserInfoClaims<LatchkeyClaims, CoreGenderClaim> = web
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .expect("discovery names a userinfo endpoint")
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("the userinfo request failed: {e} ({e:?})"));
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some(USERNAME));
    assert_eq!(
        info.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some(FULL_NAME)
    );
    assert_eq!(info.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(info.email_verified(), Some(true));
    assert_eq!(
        info.additional_claims().groups.as_deref(),
        Some(&GROUPS.map(str::to_owned)[..])
    );

    // Refresh: new tokens, and a new ID token that verifies (Core 12.2: same iss, sub, aud, azp
    // and auth_time; a nonce, if any, is the original one).
    let refreshed = web
        .exchange_refresh_token(&refresh_token)
        .expect("discovery names a token endpoint")
        .request_async(&provider.http)
        .await
        .unwrap_or_else(|e| panic!("the refresh failed: {e} ({e:?})"));
    assert_ne!(refreshed.access_token().secret(), tokens.access_token().secret());
    let rotated = refreshed
        .refresh_token()
        .expect("a refresh with offline_access gets a new refresh token");
    assert_ne!(rotated.secret(), refresh_token.secret(), "refresh tokens rotate");
    let original_nonce = request.nonce.secret().clone();
    let renewed = verify_id_token(
        &web,
        &refreshed,
        CoreJwsSigningAlgorithm::EdDsa,
        move |n: Option<&Nonce>| match n {
            Some(n) if n.secret() != &original_nonce => {
                Err("a refreshed ID token has another nonce".to_owned())
            }
            _ => Ok(()),
        },
    );
    assert_eq!(renewed.issuer(), claims.issuer());
    assert_eq!(renewed.subject(), claims.subject());
    assert_eq!(
        renewed.auth_time(),
        claims.auth_time(),
        "auth_time is the original sign-in"
    );
    assert_eq!(sid(&renewed), sid(&claims));
}
