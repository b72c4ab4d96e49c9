//! Upstream callbacks refused for their state, their browser, their age or their shape, and unreachable or unknown providers.

use super::*;

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
