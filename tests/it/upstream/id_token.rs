//! Upstream answers refused for what their ID token, token response or `iss` says, and claims added from the userinfo endpoint.

use super::*;

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
