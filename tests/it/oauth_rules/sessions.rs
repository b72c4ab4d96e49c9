//! Browser sessions: fixation, CSRF, consent, login failures and throttling, logout, page headers, purging and body limits.

use super::*;

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
