//! The forward-auth endpoints in process: each reads only its own header family and only from a
//! trusted proxy; the answers (200 with the identity headers, 403, 302/303/401, 400); the cookie
//! round trip after sign-in; `rd` checks; sign-out ending the forward-auth cookie; no write per
//! allowed check. The real nginx, Caddy and a Traefik fake are in `forward_auth/`.

use std::net::SocketAddr;

use latchkey::service::{audit, users};
use poem::http::{Method, StatusCode};

use crate::inproc::{ISSUER, InProc, PASSWORD, Reply};

const TOP: &str = r#"trusted_proxies = ["127.0.0.1"]"#;
const RULES: &str = r#"
[forward_auth]
cookie_domain = "example.test"
default_policy = "deny"
[[forward_auth.rule]]
domain = "public.example.test"
policy = "bypass"
[[forward_auth.rule]]
domain = "app.example.test"
path = "^/open/"
policy = "bypass"
[[forward_auth.rule]]
domain = "secure.example.test"
policy = "two_factor"
[[forward_auth.rule]]
domain = "*.example.test"
subject = ["group:readers"]
policy = "one_factor"
"#;

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn server() -> InProc {
    let mut s = InProc::with_top(TOP, RULES).await;
    s.set_peer(proxy());
    s
}

fn proxy() -> SocketAddr {
    "127.0.0.1:40000".parse().expect("an address")
}

/// What Traefik or Caddy send for `method https://host{uri}`, plus `extra`.
async fn forward_auth(s: &mut InProc, method: &str, host: &str, uri: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![
        ("x-forwarded-method", method),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", host),
        ("x-forwarded-uri", uri),
        ("x-forwarded-for", "198.51.100.7"),
    ];
    headers.extend_from_slice(extra);
    s.send(Method::GET, "/api/authz/forward-auth", None, &headers)
        .await
}

/// What nginx's `auth_request` sends for `method url`, plus `extra`.
async fn auth_request(s: &mut InProc, method: &str, url: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![
        ("x-original-method", method),
        ("x-original-url", url),
        ("x-forwarded-for", "198.51.100.7"),
    ];
    headers.extend_from_slice(extra);
    s.send(Method::GET, "/api/authz/auth-request", None, &headers)
        .await
}

fn sign_in_for(url: &str) -> String {
    let rd: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    format!("{ISSUER}/login?rd={rd}")
}

fn problem_detail(reply: &Reply) -> String {
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{}",
        reply.body
    );
    reply.json()["detail"].as_str().unwrap_or_default().to_owned()
}

/// Signs alice in through `/login?rd=url` and the round trip; returns the round trip's answer.
async fn sign_in_through_rd(s: &mut InProc, url: &str) -> Reply {
    let page = s.get(sign_in_for(url).trim_start_matches(ISSUER)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let next = s.login_from(&page, "alice", PASSWORD).await;
    assert_eq!(next.status, StatusCode::SEE_OTHER, "{}", next.body);
    assert!(
        next.location().starts_with("/forward-auth/session?rd="),
        "{}",
        next.location()
    );
    let location = next.location().to_owned();
    s.get(&location).await
}

#[tokio::test]
async fn an_anonymous_browser_is_sent_to_sign_in_with_the_original_address() {
    let mut s = server().await;
    let url = "https://app.example.test/private/page?x=1";
    let get = forward_auth(
        &mut s,
        "GET",
        "app.example.test",
        "/private/page?x=1",
        &[("accept", BROWSER)],
    )
    .await;
    assert_eq!(get.status, StatusCode::FOUND);
    assert_eq!(get.location(), sign_in_for(url));
    assert_eq!(get.header("cache-control"), Some("no-store"));
    for method in ["HEAD", "OPTIONS"] {
        let r = forward_auth(
            &mut s,
            method,
            "app.example.test",
            "/private/page?x=1",
            &[("accept", BROWSER)],
        )
        .await;
        assert_eq!(r.status, StatusCode::FOUND, "{method}");
    }
    let post = forward_auth(
        &mut s,
        "POST",
        "app.example.test",
        "/private/page?x=1",
        &[("accept", BROWSER)],
    )
    .await;
    assert_eq!(post.status, StatusCode::SEE_OTHER);
    assert_eq!(post.location(), sign_in_for(url));
    // Scripts and anything that does not ask for HTML are told 401, not redirected.
    for extra in [
        vec![("accept", BROWSER), ("x-requested-with", "XMLHttpRequest")],
        vec![("accept", "application/json")],
        vec![],
    ] {
        let r = forward_auth(&mut s, "GET", "app.example.test", "/private", &extra).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{extra:?}");
        assert!(r.header("location").is_none());
        assert_eq!(problem_detail(&r), "sign in first");
    }
    // nginx turns a 3xx from the subrequest into a 500: auth-request answers 401 with Location.
    let nginx = auth_request(&mut s, "GET", url, &[("accept", BROWSER)]).await;
    assert_eq!(nginx.status, StatusCode::UNAUTHORIZED);
    assert_eq!(nginx.location(), sign_in_for(url));
}

#[tokio::test]
async fn bypass_answers_200_with_empty_identity_headers() {
    let mut s = server().await;
    for (host, uri) in [
        ("public.example.test", "/anything"),
        ("app.example.test", "/open/file.css"),
    ] {
        let r = forward_auth(&mut s, "POST", host, uri, &[("remote-user", "mallory")]).await;
        assert_eq!(r.status, StatusCode::OK, "{host}{uri}: {}", r.body);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        for h in ["remote-user", "remote-groups", "remote-email", "remote-name"] {
            assert_eq!(r.header(h), Some(""), "{h} for {host}{uri}");
        }
    }
}

#[tokio::test]
async fn after_sign_in_the_round_trip_sets_the_domain_cookie_and_the_user_passes() {
    let mut s = server().await;
    let url = "https://wiki.example.test/page";
    let back = sign_in_through_rd(&mut s, url).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), url);
    let set: Vec<&str> = back
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let cookie = set
        .iter()
        .find(|c| c.starts_with("__Secure-latchkey-fa="))
        .unwrap_or_else(|| panic!("no forward-auth cookie in {set:?}"));
    for part in [
        "Domain=example.test",
        "Path=/",
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
    ] {
        assert!(
            cookie.split("; ").any(|p| p == part),
            "{part} missing in {cookie}"
        );
    }
    let ok = forward_auth(
        &mut s,
        "GET",
        "wiki.example.test",
        "/page",
        &[("accept", BROWSER)],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.header("remote-user"), Some("alice"));
    assert_eq!(ok.header("remote-groups"), Some("readers"));
    assert_eq!(ok.header("remote-email"), Some("alice@example.com"));
    assert_eq!(ok.header("remote-name"), Some("Alice Liddell"));
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    let nginx = auth_request(&mut s, "GET", "https://wiki.example.test/page", &[]).await;
    assert_eq!(nginx.header("remote-user"), Some("alice"));
    // Signed in already: the sign-in page goes straight on to the round trip.
    let again = s.get(sign_in_for(url).trim_start_matches(ISSUER)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(again.location().starts_with("/forward-auth/session?rd="));
}

#[tokio::test]
async fn a_user_outside_the_rules_is_refused_with_403_and_the_refusal_is_counted() {
    let mut s = server().await;
    sign_in_through_rd(&mut s, "https://wiki.example.test/").await;
    users::update_profile(&s.app, "alice".into(), None, None, None, Some(vec![]))
        .await
        .expect("groups changed");
    let denied = forward_auth(&mut s, "GET", "wiki.example.test", "/", &[("accept", BROWSER)]).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.header("remote-user").is_none());
    // Refusals are folded in memory, one entry per interval with its count, not a row each.
    forward_auth(&mut s, "GET", "wiki.example.test", "/", &[]).await;
    let before = audit::list(&s.app, None, Some(500))
        .await
        .expect("the feed")
        .items
        .len();
    s.advance(120);
    audit::flush_denials(&s.app, audit::Flush::Ended)
        .await
        .expect("flushed");
    let feed = audit::list(&s.app, None, Some(500))
        .await
        .expect("the feed")
        .items;
    assert_eq!(feed.len(), before + 1);
    let folded = feed.last().expect("an entry");
    assert_eq!((folded.action.as_str(), folded.count), ("forward_auth.denied", 2));
}

#[tokio::test]
async fn an_allowed_check_writes_nothing() {
    let mut s = server().await;
    sign_in_through_rd(&mut s, "https://wiki.example.test/").await;
    let before = audit::list(&s.app, None, Some(500))
        .await
        .expect("the feed")
        .items
        .len();
    for _ in 0..20 {
        let ok = forward_auth(&mut s, "GET", "wiki.example.test", "/", &[]).await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    s.advance(120);
    audit::flush_denials(&s.app, audit::Flush::All)
        .await
        .expect("flushed");
    let after = audit::list(&s.app, None, Some(500))
        .await
        .expect("the feed")
        .items
        .len();
    assert_eq!(after, before, "allowed checks are not audited one by one");
}

#[tokio::test]
async fn a_two_factor_rule_sends_a_one_factor_session_to_sign_in_again_with_a_second() {
    let mut s = server().await;
    sign_in_through_rd(&mut s, "https://wiki.example.test/").await;
    let url = "https://secure.example.test/vault";
    let check = forward_auth(
        &mut s,
        "GET",
        "secure.example.test",
        "/vault",
        &[("accept", BROWSER)],
    )
    .await;
    assert_eq!(check.status, StatusCode::FOUND);
    assert_eq!(check.location(), sign_in_for(url));
    // The sign-in page sees the session and goes on to the round trip, which asks for a new
    // sign-in that must have two factors.
    let login = s.get(check.location().trim_start_matches(ISSUER)).await;
    let round_trip = s.get(login.location()).await;
    assert_eq!(round_trip.status, StatusCode::SEE_OTHER);
    let again = round_trip.location().to_owned();
    assert!(
        again.starts_with("/login?return_to=") && again.ends_with("&fresh=1"),
        "{again}"
    );
    assert!(again.contains("factors%3D2"), "{again}");
    let page = s.get(&again).await;
    assert_eq!(page.status, StatusCode::OK);
    // alice has no second factor: signing in now leads to enrolling one, not to the vault.
    let next = s.login_from(&page, "alice", PASSWORD).await;
    assert_eq!(next.status, StatusCode::SEE_OTHER);
    assert!(
        next.location().starts_with("/login/factor"),
        "{}",
        next.location()
    );
    let still = forward_auth(
        &mut s,
        "GET",
        "secure.example.test",
        "/vault",
        &[("accept", BROWSER)],
    )
    .await;
    assert_eq!(still.status, StatusCode::FOUND);
}

#[tokio::test]
async fn signing_out_ends_the_forward_auth_cookie_too() {
    let mut s = server().await;
    sign_in_through_rd(&mut s, "https://wiki.example.test/").await;
    let kept = s.cookies().clone();
    let home = s.get("/").await;
    let csrf = home.field("csrf");
    let out = s.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    let cleared = out
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| {
            c.starts_with("__Secure-latchkey-fa=;")
                && c.contains("Domain=example.test")
                && c.contains("Max-Age=0")
        });
    assert!(cleared, "{:?}", out.headers);
    // A browser that kept the old cookie anyway is no longer signed in at the proxy.
    s.switch_browser(kept);
    let r = forward_auth(&mut s, "GET", "wiki.example.test", "/", &[("accept", BROWSER)]).await;
    assert_eq!(r.status, StatusCode::FOUND);
}

#[tokio::test]
async fn each_endpoint_reads_only_its_own_header_family() {
    let mut s = server().await;
    sign_in_through_rd(&mut s, "https://wiki.example.test/").await;
    // forward-auth never reads X-Original-URL, auth-request never X-Forwarded-Host/-Uri.
    let only_original = s
        .send(
            Method::GET,
            "/api/authz/forward-auth",
            None,
            &[
                ("x-original-url", "https://public.example.test/"),
                ("x-original-method", "GET"),
                ("x-forwarded-for", "198.51.100.7"),
            ],
        )
        .await;
    assert_eq!(only_original.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem_detail(&only_original),
        "the X-Forwarded-Method header is missing"
    );
    let only_forwarded = s
        .send(
            Method::GET,
            "/api/authz/auth-request",
            None,
            &[
                ("x-forwarded-method", "GET"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "public.example.test"),
                ("x-forwarded-uri", "/"),
                ("x-forwarded-for", "198.51.100.7"),
            ],
        )
        .await;
    assert_eq!(only_forwarded.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem_detail(&only_forwarded),
        "the X-Original-Method header is missing"
    );
    // A disguise in the other family changes nothing: the forbidden host stays forbidden.
    let mut other = server().await;
    let disguised = forward_auth(
        &mut other,
        "GET",
        "intranet.example.test",
        "/",
        &[
            ("x-original-url", "https://public.example.test/"),
            ("accept", BROWSER),
        ],
    )
    .await;
    assert_eq!(disguised.status, StatusCode::FOUND);
    let disguised = auth_request(
        &mut other,
        "GET",
        "https://intranet.example.test/",
        &[
            ("x-forwarded-host", "public.example.test"),
            ("x-forwarded-uri", "/open/x"),
        ],
    )
    .await;
    assert_eq!(disguised.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_forwarded_headers_are_400_and_never_a_redirect() {
    let mut s = server().await;
    let cases: [(&[(&str, &str)], &str); 8] = [
        (
            &[
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "a.example.test"),
                ("x-forwarded-uri", "/"),
            ],
            "the X-Forwarded-Method header is missing",
        ),
        (
            &[
                ("x-forwarded-method", "GET"),
                ("x-forwarded-host", "a.example.test"),
                ("x-forwarded-uri", "/"),
            ],
            "the X-Forwarded-Proto header is missing",
        ),
        (
            &[
                ("x-forwarded-method", "GET"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-uri", "/"),
            ],
            "the X-Forwarded-Host header is missing",
        ),
        (
            &[
                ("x-forwarded-method", "GET"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "a.example.test"),
            ],
            "the X-Forwarded-Uri header is missing",
        ),
        (
            &[
                ("x-forwarded-method", "GET"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "evil.test@a.example.test"),
                ("x-forwarded-uri", "/"),
            ],
            "the X-Forwarded-Host header is malformed",
        ),
        (
            &[
                ("x-forwarded-method", "GET"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "evil.test"),
                ("x-forwarded-uri", "/"),
            ],
            "the host is not on a domain this server protects",
        ),
        (
            &[
                ("x-forwarded-method", "GET"),
                ("x-forwarded-proto", "http"),
                ("x-forwarded-host", "a.example.test"),
                ("x-forwarded-uri", "/"),
            ],
            "the address is plain http and https is required",
        ),
        (
            &[
                ("x-forwarded-method", "GET"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "a.example.test"),
                ("x-forwarded-uri", "//evil.test/"),
            ],
            "the X-Forwarded-Uri header is malformed",
        ),
    ];
    for (headers, detail) in cases {
        let mut headers = headers.to_vec();
        headers.push(("x-forwarded-for", "198.51.100.7"));
        headers.push(("accept", BROWSER));
        let r = s
            .send(Method::GET, "/api/authz/forward-auth", None, &headers)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{headers:?}");
        assert!(r.header("location").is_none());
        assert_eq!(problem_detail(&r), detail);
    }
    let no_client = s
        .send(
            Method::GET,
            "/api/authz/forward-auth",
            None,
            &[
                ("x-forwarded-method", "GET"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "a.example.test"),
                ("x-forwarded-uri", "/"),
            ],
        )
        .await;
    assert_eq!(
        problem_detail(&no_client),
        "the X-Forwarded-For header is missing"
    );
    let twice = s
        .send(
            Method::GET,
            "/api/authz/auth-request",
            None,
            &[
                ("x-original-method", "GET"),
                ("x-original-url", "https://public.example.test/"),
                ("x-original-url", "https://a.example.test/"),
                ("x-forwarded-for", "198.51.100.7"),
            ],
        )
        .await;
    assert_eq!(problem_detail(&twice), "the X-Original-URL header is malformed");
}

#[tokio::test]
async fn a_peer_outside_trusted_proxies_is_refused_before_any_header_is_read() {
    let mut s = server().await;
    s.set_peer("192.0.2.50:5000".parse().expect("an address"));
    let r = forward_auth(&mut s, "GET", "public.example.test", "/", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem_detail(&r),
        "this endpoint answers only the proxies in trusted_proxies"
    );
    // And without [forward_auth] the endpoints are not there.
    let mut bare = InProc::with_top(TOP, "").await;
    bare.set_peer(proxy());
    let r = forward_auth(&mut bare, "GET", "public.example.test", "/", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ext_authz_reads_the_method_host_and_path_of_the_check_request() {
    let mut s = server().await;
    let headers = [
        ("host", "public.example.test"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "198.51.100.7"),
    ];
    let open = s
        .send(Method::PUT, "/api/authz/ext-authz/some/path?x=1", None, &headers)
        .await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    assert_eq!(open.header("remote-user"), Some(""));
    let private = [
        ("host", "app.example.test"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "198.51.100.7"),
        ("accept", BROWSER),
    ];
    let post = s
        .send(Method::POST, "/api/authz/ext-authz/private?x=1", None, &private)
        .await;
    assert_eq!(post.status, StatusCode::SEE_OTHER);
    assert_eq!(
        post.location(),
        sign_in_for("https://app.example.test/private?x=1")
    );
    let bypass_path = s
        .send(Method::GET, "/api/authz/ext-authz/open/x", None, &private)
        .await;
    assert_eq!(bypass_path.status, StatusCode::OK);
}

#[tokio::test]
async fn rd_must_be_https_on_a_protected_domain_so_there_is_no_open_redirect() {
    let mut s = server().await;
    for rd in [
        "https://evil.test/",
        "https://evil.test\\@app.example.test/",
        "https://user@app.example.test/",
        "http://app.example.test/",
        "//app.example.test/",
        "/account",
        "https://app.example.test/\r\nx",
        "javascript:alert(1)",
    ] {
        let q: String = url::form_urlencoded::byte_serialize(rd.as_bytes()).collect();
        for path in [format!("/login?rd={q}"), format!("/forward-auth/session?rd={q}")] {
            let r = s.get(&path).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
            assert!(r.header("location").is_none(), "{path}");
            assert!(r.body.contains("Cannot return there"), "{path}");
        }
    }
    // A round trip for a good address, not signed in, goes to sign in and comes back there.
    let r = s
        .get("/forward-auth/session?rd=https%3A%2F%2Fapp.example.test%2Fx")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location()
            .starts_with("/login?return_to=%2Fforward-auth%2Fsession"),
        "{}",
        r.location()
    );
}

#[tokio::test]
async fn the_launcher_lists_the_protected_hosts_the_rules_let_the_user_open() {
    let mut s = server().await;
    sign_in_through_rd(&mut s, "https://wiki.example.test/").await;
    let page = s.get("/apps").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Rule order; wildcards name no host; secure needs a second factor alice can add.
    let hosts: Vec<&str> = ["public.example.test", "app.example.test", "secure.example.test"]
        .into_iter()
        .filter(|h| page.body.contains(&format!("href=\"https://{h}/\"")))
        .collect();
    assert_eq!(
        hosts,
        ["public.example.test", "app.example.test", "secure.example.test"]
    );
    assert!(page.body.contains("Sites behind the proxy"));
    // Out of the readers group, app.example.test's front page is no longer hers.
    users::update_profile(&s.app, "alice".into(), None, None, None, Some(vec![]))
        .await
        .expect("groups changed");
    let page = s.get("/apps").await;
    assert!(!page.body.contains("href=\"https://app.example.test/\""));
    assert!(page.body.contains("href=\"https://public.example.test/\""));
}
