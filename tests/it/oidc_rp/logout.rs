//! Single sign-on, RS256, `prompt=none`, RP-initiated logout and verified back-channel logout tokens.

use super::*;

#[tokio::test]
async fn single_sign_on_rs256_prompt_none_and_rp_initiated_logout_end_in_verified_back_channel_logout_tokens()
{
    let provider = Provider::start();
    let base = provider.server.base_url();
    let web = provider.client(WEB_ID).await;
    let browser = Browser::start().await;

    // The first client: sign in with a password and allow.
    let request = authorization(&web, &["openid", "profile"], false);
    open(&browser, &request.url).await;
    assert_eq!(page_shown(&browser).await, "/login");
    sign_in(&browser).await;
    allow(&browser, WEB_NAME).await;
    let landed = provider.recorder.redirect_with_state(&request.state).await;
    let tokens = redeem(&web, &provider.http, code_from(&landed, &base), request.verifier).await;
    assert!(
        tokens.refresh_token().is_none(),
        "openid without offline_access gets no refresh token"
    );
    let web_id_token = tokens.id_token().expect("an ID token").clone();
    let first = verify_id_token(&web, &tokens, CoreJwsSigningAlgorithm::EdDsa, &request.nonce);
    let subject = first.subject().clone();
    let session = sid(&first);

    // Single sign-on into the second client: the same browser goes straight to consent.
    let reports = provider.client(REPORTS_ID).await;
    let request = authorization(&reports, &["openid", "email"], false);
    open(&browser, &request.url).await;
    assert_eq!(
        page_shown(&browser).await,
        "/oauth/consent",
        "a signed-in browser must not be asked for a password again"
    );
    assert!(
        browser
            .client
            .find_all(fantoccini::Locator::Css("input[type='password']"))
            .await
            .expect("a search of the page")
            .is_empty(),
        "the consent page asks for a password"
    );
    allow(&browser, REPORTS_NAME).await;
    let landed = provider.recorder.redirect_with_state(&request.state).await;
    let tokens = redeem(
        &reports,
        &provider.http,
        code_from(&landed, &base),
        request.verifier,
    )
    .await;
    assert!(tokens.refresh_token().is_none());
    // The RSA key appears in the JWKS with the first RS256 token, so discover (fetch the JWKS)
    // again, as a relying party does when it meets an unknown kid.
    let reports = provider.client(REPORTS_ID).await;
    let rs = verify_id_token(
        &reports,
        &tokens,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        &request.nonce,
    );
    assert_eq!(rs.subject(), &subject, "one user, one subject");
    assert_eq!(sid(&rs), session, "single sign-on stays in the same session");
    assert_eq!(rs.auth_time(), first.auth_time(), "no new sign-in happened");
    assert_eq!(rs.email().map(|e| e.as_str()), Some(EMAIL));

    // prompt=none with a session and earlier consent: a code, no page.
    let silent = authorization(&web, &["openid", "profile"], true);
    open(&browser, &silent.url).await;
    let landed = provider.recorder.redirect_with_state(&silent.state).await;
    let tokens = redeem(&web, &provider.http, code_from(&landed, &base), silent.verifier).await;
    let quiet = verify_id_token(&web, &tokens, CoreJwsSigningAlgorithm::EdDsa, &silent.nonce);
    assert_eq!(quiet.subject(), &subject);
    assert_eq!(sid(&quiet), session);
    assert_eq!(quiet.auth_time(), first.auth_time());

    // RP-initiated logout with id_token_hint, post_logout_redirect_uri and state.
    let end_session = provider
        .discover()
        .await
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("discovery names an end_session_endpoint");
    let logout_state = CsrfToken::new_random();
    let logout = openidconnect::LogoutRequest::from(end_session)
        .set_id_token_hint(&web_id_token)
        .set_client_id(ClientId::new(WEB_ID.to_owned()))
        .set_post_logout_redirect_uri(
            PostLogoutRedirectUrl::new(provider.recorder.url(SIGNED_OUT)).expect("a post-logout URL"),
        )
        .set_state(logout_state.clone())
        .http_get_url();
    open(&browser, &logout).await;
    let signed_out = provider
        .recorder
        .wait_for("the post-logout redirect", |h| {
            h.method == "GET" && h.url.path() == SIGNED_OUT
        })
        .await;
    assert_eq!(
        query_param(&signed_out.url, "state").as_deref(),
        Some(logout_state.secret().as_str()),
        "the post-logout redirect carries the state exactly"
    );

    // Single sign-on has ended: prompt=none now needs a sign-in.
    let silent = authorization(&web, &["openid"], true);
    open(&browser, &silent.url).await;
    let landed = provider.recorder.redirect_with_state(&silent.state).await;
    assert_login_required(&landed, &base);
    browser.close().await;

    // Back-channel logout: each client that received tokens in the session gets a signed
    // logout token.
    let jwks: Value = provider
        .http
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .expect("the JWKS answers")
        .json()
        .await
        .expect("the JWKS is JSON");
    let expect = |client_id: &'static str| Expected {
        issuer: base.clone(),
        client_id,
        subject: subject.clone(),
        sid: session.clone(),
    };
    let hit = back_channel(&provider.recorder, WEB_BACKCHANNEL).await;
    verify_logout_token(&hit, &jwks, "EdDSA", &expect(WEB_ID));
    let hit = back_channel(&provider.recorder, REPORTS_BACKCHANNEL).await;
    verify_logout_token(&hit, &jwks, "RS256", &expect(REPORTS_ID));
}

/// What a logout token must say.
struct Expected {
    issuer: String,
    client_id: &'static str,
    subject: SubjectIdentifier,
    sid: String,
}

/// Waits (bounded) for a back-channel logout POST to `path` and returns it.
async fn back_channel(recorder: &Recorder, path: &str) -> Hit {
    recorder
        .wait_for(&format!("back-channel logout POST to {path}"), |h| {
            h.method == "POST" && h.url.path() == path
        })
        .await
}

/// Verifies a back-channel logout request (Back-Channel Logout 1.0, sections 2.4 to 2.6): a form
/// with `logout_token`, a JWT of type `logout+jwt` signed with `alg` by a key of the JWKS, with
/// `iss`, `aud`, `iat`, `exp`, `jti`, `sub`, `sid` and the logout event, and no `nonce`.
#[track_caller]
fn verify_logout_token(hit: &Hit, jwks: &Value, alg: &str, expected: &Expected) {
    let content_type = hit.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/x-www-form-urlencoded"),
        "a logout token is POSTed as a form, not {content_type:?}"
    );
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(hit.body.as_bytes())
        .into_owned()
        .collect();
    let tokens: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.as_str())
        .collect();
    let [token] = tokens[..] else {
        panic!("the POST must carry exactly one logout_token: {:?}", hit.body);
    };
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        panic!("a logout token is a compact JWS of three parts: {token}");
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .unwrap_or_else(|e| panic!("not base64url ({e}): {part}"))
    };
    let header: Map<String, Value> = serde_json::from_slice(&decode(header)).expect("a JSON header");
    let claims: Map<String, Value> = serde_json::from_slice(&decode(payload)).expect("JSON claims");
    let signature = decode(signature);
    let signing_input = &token[..token.rfind('.').expect("a dot")];

    assert_eq!(header.get("typ").and_then(Value::as_str), Some("logout+jwt"));
    assert_eq!(header.get("alg").and_then(Value::as_str), Some(alg));
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .expect("a logout token names its key");
    let key = jwks["keys"]
        .as_array()
        .expect("a JWKS has keys")
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("no key {kid} in the JWKS {jwks}"));
    match alg {
        "EdDSA" => {
            assert_eq!(
                (key["kty"].as_str(), key["crv"].as_str()),
                (Some("OKP"), Some("Ed25519"))
            );
            let x: [u8; 32] = decode(key["x"].as_str().expect("x"))
                .try_into()
                .expect("an Ed25519 public key is 32 bytes");
            let public = VerifyingKey::from_bytes(&x).expect("a valid Ed25519 public key");
            let signature = Signature::from_slice(&signature).expect("a 64-byte signature");
            public
                .verify_strict(signing_input.as_bytes(), &signature)
                .expect("the logout token's EdDSA signature verifies against the JWKS");
        }
        "RS256" => {
            assert_eq!(key["kty"].as_str(), Some("RSA"));
            let jwk: CoreJsonWebKey = serde_json::from_value(key.clone()).expect("an RSA JWK");
            jwk.verify_signature(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                signing_input.as_bytes(),
                &signature,
            )
            .expect("the logout token's RS256 signature verifies against the JWKS");
        }
        other => panic!("no check for {other}"),
    }

    assert_eq!(
        claims.get("iss").and_then(Value::as_str),
        Some(expected.issuer.as_str())
    );
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expected.client_id,
        Some(Value::Array(a)) => a.iter().any(|v| v == expected.client_id),
        _ => false,
    };
    assert!(audience_ok, "aud must name {}: {claims:?}", expected.client_id);
    let iat = claims.get("iat").and_then(Value::as_u64).expect("iat");
    let exp = claims.get("exp").and_then(Value::as_u64).expect("exp");
    assert!(exp > iat, "exp {exp} is not after iat {iat}");
    assert!(
        claims
            .get("jti")
            .and_then(Value::as_str)
            .is_some_and(|j| !j.is_empty()),
        "jti is missing: {claims:?}"
    );
    assert_eq!(
        claims.get("sub").and_then(Value::as_str),
        Some(expected.subject.as_str())
    );
    assert_eq!(
        claims.get("sid").and_then(Value::as_str),
        Some(expected.sid.as_str()),
        "the logout token's sid is the ID token's sid"
    );
    let event = claims
        .get("events")
        .and_then(|e| e.get(BACKCHANNEL_EVENT))
        .unwrap_or_else(|| panic!("events lacks the back-channel logout member: {claims:?}"));
    assert!(event.is_object(), "the event's value is a JSON object: {event}");
    assert!(
        !claims.contains_key("nonce"),
        "a logout token must not carry a nonce"
    );
}
