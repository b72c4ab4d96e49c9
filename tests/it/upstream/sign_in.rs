//! Upstream sign-in that succeeds: every signing algorithm, the created and reused user, what a pending sign-in stores and how starts are bounded.

use super::*;

/// Signs in at the fake with ID tokens signed by `alg` under `link = "create"`, from the login
/// page's button through consent to Latchkey's own ID token; then again in a new browser.
async fn creates_then_reuses_a_linked_user(alg: Alg) {
    let (mut s, fake) = setup("create", "", dana()).await;
    fake.set(|sc| sc.alg = alg);
    let users_before = Before::of(&s).users;

    let mut page = s.get(&authorize_request()).await;
    if page.status == StatusCode::SEE_OTHER {
        let next = page.location().to_owned();
        page = s.get(&next).await;
    }
    let at = page
        .body
        .find(r#"data-upstream="fake""#)
        .unwrap_or_else(|| panic!("no upstream button on the login page: {}", page.body));
    let (tag_start, tag_end) = (
        page.body[..at].rfind("<a ").expect("an <a>"),
        page.body[at..].find("</a>").expect("</a>") + at,
    );
    let anchor = &page.body[tag_start..tag_end];
    assert!(anchor.contains(r#"class="button upstream""#), "{anchor}");
    assert!(anchor.ends_with(">Sign in with Fake IdP"), "{anchor}");
    let href = anchor
        .split("href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .expect("an href");
    let href = html_unescape(href);
    assert!(href.starts_with("/login/upstream/fake?return_to="), "{href}");

    let out = s.get(&href).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert!(set_cookie(&out, "__Host-latchkey-upstream").is_some());
    let a = fake.approve(out.location());
    let back = s.get(&fake.callback(&a)).await;
    assert_eq!(
        back.status,
        StatusCode::SEE_OTHER,
        "{alg:?}: {} {:?}",
        back.body,
        fake.refusals()
    );
    let session = set_cookie(&back, "__Host-latchkey-session").expect("a session cookie");
    assert!(
        session.contains("Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    assert!(
        !s.cookies().contains_key("__Host-latchkey-upstream"),
        "the browser-binding cookie is cleared"
    );
    let id = id_token_after(&mut s, back).await;

    let dana = user(&s, "dana");
    assert_eq!(id["sub"], dana.subject.as_str(), "{alg:?}");
    let amr: Vec<&str> = id["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        amr.contains(&"fed") && amr.contains(&"upstream:fake"),
        "{alg:?}: amr {amr:?}"
    );
    assert_eq!(dana.name.as_deref(), Some("Dana Scully"));
    assert_eq!(dana.email.as_deref(), Some("dana@example.org"));
    assert!(dana.email_verified);
    assert!(dana.password_hash.is_none(), "an upstream user has no password");
    assert_eq!(Before::of(&s).users, users_before + 1);
    let now = s.app.clock.now();
    assert_eq!(
        links(&s, "dana").await,
        vec![LinkView {
            upstream: "fake".into(),
            upstream_subject: SUB.into(),
            linked_at: now,
            last_used: Some(now),
        }]
    );
    let audit = s.app.store.read(|tx| tx.audit_entries(None, usize::MAX)).unwrap();
    assert!(
        audit.iter().any(|(_, r)| r.action == "login.upstream"
            && r.actor == "dana"
            && r.success
            && r.target.as_deref() == Some("fake")),
        "{audit:?}"
    );

    // A second sign-in, in a new browser a minute later, finds the link.
    s.switch_browser(BTreeMap::new());
    s.advance(60);
    let again = sign_in(&mut s, &fake).await;
    let id2 = id_token_after(&mut s, again).await;
    assert_eq!(id2["sub"], id["sub"], "{alg:?}: the same user");
    assert_eq!(Before::of(&s).users, users_before + 1, "no second user");
    let link = links(&s, "dana").await;
    assert_eq!(link.len(), 1);
    assert_eq!(link[0].linked_at, now);
    assert_eq!(link[0].last_used, Some(Timestamp(now.0 + 60)));
}

#[tokio::test]
async fn an_eddsa_signed_sign_in_from_the_login_page_creates_a_linked_user_and_reuses_it() {
    creates_then_reuses_a_linked_user(Alg::EdDsa).await;
}

#[tokio::test]
async fn an_es256_signed_sign_in_creates_a_linked_user_and_reuses_it() {
    creates_then_reuses_a_linked_user(Alg::Es256).await;
}

#[tokio::test]
async fn an_rs256_signed_sign_in_creates_a_linked_user_and_reuses_it() {
    creates_then_reuses_a_linked_user(Alg::Rs256).await;
}

#[tokio::test]
async fn a_created_user_never_takes_over_a_local_user_with_the_same_username() {
    let mut person = dana();
    person["preferred_username"] = json!("alice");
    let (mut s, fake) = setup("create", "", person).await;
    let alice = user(&s, "alice");
    let back = sign_in(&mut s, &fake).await;
    let id = id_token_after(&mut s, back).await;
    assert_ne!(id["sub"], alice.subject.as_str(), "not alice");
    assert_eq!(id["sub"], user(&s, "alice-2").subject.as_str());
    assert!(links(&s, "alice").await.is_empty());
}

/// The pending upstream sign-ins in the store: each row's size (key and record), in bytes.
fn pending_rows(s: &InProc) -> Vec<usize> {
    s.app
        .store
        .read(|tx| tx.pending_upstream_sizes())
        .expect("the pending sign-ins")
}

/// `GET /login/upstream/fake` with `return_to`, as an anonymous browser.
async fn start_with_return(s: &mut InProc, return_to: &str) -> Reply {
    s.switch_browser(BTreeMap::new());
    s.get(&format!(
        "/login/upstream/fake?{}",
        form(&[("return_to", return_to)])
    ))
    .await
}

#[tokio::test]
async fn a_pending_sign_in_stores_a_small_fixed_size_row_whatever_the_return_to() {
    // Security review #12, item 4: 1,000 anonymous starts with a 30 KB `return_to` grew the data
    // file by 35.5 MB. The return address now travels in the browser's cookie.
    let (mut s, fake) = setup("create", "", dana()).await;
    let short = authorize_request();
    let huge = format!("{short}&x={}", "a".repeat(30_000));
    for return_to in [short.as_str(), huge.as_str()] {
        let reply = start_with_return(&mut s, return_to).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let cookie = set_cookie(&reply, "__Host-latchkey-upstream").expect("a binding cookie");
        assert!(
            cookie.len() < 4000,
            "the cookie fits a browser: {} bytes",
            cookie.len()
        );
    }
    let rows = pending_rows(&s);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|&n| n < 600),
        "rows of fixed, small size: {rows:?}"
    );
    assert_eq!(
        rows[0].abs_diff(rows[1]),
        0,
        "the return_to does not size the row: {rows:?}"
    );

    // The short one still comes back to the authorization request; the long one to the home page.
    s.switch_browser(BTreeMap::new());
    let back = sign_in(&mut s, &fake).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), short);
    let location = start_with_return(&mut s, &huge).await.location().to_owned();
    let a = fake.approve(&location);
    let back = s.get(&fake.callback(&a)).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), "/");
}

#[tokio::test]
async fn starting_upstream_sign_ins_is_throttled_per_address() {
    let (mut s, _fake) = setup("create", "", dana()).await;
    s.set_peer("203.0.113.7:40000".parse().unwrap());
    let limit = 60;
    for i in 0..limit {
        let reply = start_with_return(&mut s, "/").await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "start {i}: {}", reply.body);
    }
    let refused = start_with_return(&mut s, "/").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(
        refused
            .header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok())
    );
    assert_eq!(set_cookie(&refused, "__Host-latchkey-upstream"), None);
    assert_eq!(pending_rows(&s).len(), limit, "a throttled start stores nothing");
    // Another address of the same IPv6 /64 is the same flood; another address is not.
    s.set_peer("[2001:db8:1:2::1]:40000".parse().unwrap());
    for _ in 0..limit {
        start_with_return(&mut s, "/").await;
    }
    s.set_peer("[2001:db8:1:2::ffff]:40000".parse().unwrap());
    let same_net = start_with_return(&mut s, "/").await;
    assert_eq!(
        same_net.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        same_net.body
    );
    s.set_peer("198.51.100.9:40000".parse().unwrap());
    let elsewhere = start_with_return(&mut s, "/").await;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER, "{}", elsewhere.body);
}

#[tokio::test]
async fn no_sign_in_starts_while_the_most_pending_sign_ins_are_stored() {
    let (mut s, fake) = setup("create", "", dana()).await;
    let cap = latchkey::service::upstream::MAX_PENDING;
    {
        let pending = latchkey::domain::PendingUpstream {
            upstream: "fake".into(),
            browser: "x".into(),
            nonce: None,
            pkce_verifier: "v".into(),
            expires_at: s.app.clock.now().plus(latchkey::domain::Duration::minutes(10)),
        };
        s.app
            .store
            .write(|tx| {
                for i in 0..cap {
                    tx.put_pending_upstream(&format!("filler-{i}"), &pending)?;
                }
                Ok::<_, latchkey::store::StoreError>(())
            })
            .unwrap();
    }
    let reply = start_with_return(&mut s, "/").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.body);
    assert!(
        html_unescape(&reply.body).contains("Too many sign-ins are in progress"),
        "{}",
        reply.body
    );
    assert_eq!(pending_rows(&s).len() as u64, cap, "nothing stored past the cap");
    // Once one goes (used, or purged after expiry), sign-ins start again.
    {
        s.app
            .store
            .write(|tx| tx.delete_pending_upstream("filler-0"))
            .unwrap();
    }
    s.switch_browser(BTreeMap::new());
    let back = sign_in(&mut s, &fake).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
}

#[tokio::test]
async fn a_return_to_outside_the_authorization_endpoint_becomes_home() {
    let (mut s, fake) = setup("create", "", dana()).await;
    for evil in [
        "https://evil.example/",
        "//evil.example/oauth/authorize?x",
        "/oauth/authorize-not?x",
    ] {
        s.switch_browser(BTreeMap::new());
        let out = s
            .get(&format!("/login/upstream/fake?{}", form(&[("return_to", evil)])))
            .await;
        assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
        let a = fake.approve(out.location());
        let back = s.get(&fake.callback(&a)).await;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{evil}: {}", back.body);
        assert_eq!(back.location(), "/", "{evil}");
    }
}
