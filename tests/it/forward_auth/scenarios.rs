//! The scenarios every proxy goes through, each written once and run by `nginx.rs`, `caddy.rs`
//! and `traefik.rs` against its own proxy: sign-in and back, the answers for an anonymous POST
//! and a script, the identity headers at the app, a forbidden group, the bypass rules, the
//! `two_factor` rule, and failing closed when Latchkey is down.

use reqwest::{Method, StatusCode};

use super::{ALICE, BOB, CAROL, DOMAIN, Kind, Proxy, Reply, Rig, Visitor};

/// A rig and `kind` in front of it.
fn setup(kind: Kind) -> (Rig, Proxy) {
    let rig = Rig::start();
    let proxy = Proxy::start(kind, &rig);
    (rig, proxy)
}

/// A visitor signed in as `username` through `proxy` (the app's host), checked to have reached
/// the app.
pub async fn signed_in(rig: &Rig, proxy: &Proxy, username: &str) -> Visitor {
    let visitor = rig.visitor();
    let (reply, _) = visitor
        .sign_in_through(&proxy.url("app.example.test", "/"), username, None)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{username} reached the app: {}",
        reply.body
    );
    reply.expect_echo();
    visitor
}

/// Asserts that `reply` refused, with `status`, without the app answering.
#[track_caller]
fn assert_refused(reply: &Reply, status: StatusCode, rig: &Rig, before: usize) {
    assert_eq!(
        reply.status, status,
        "{}: {:?}\n{}",
        reply.url, reply.headers, reply.body
    );
    assert!(reply.echo().is_none(), "the app did not answer: {}", reply.body);
    assert_eq!(rig.upstream.requests(), before, "no request reached the app");
}

/// The groups of a `Remote-Groups` value.
fn groups(value: &str) -> Vec<&str> {
    let mut groups: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    groups.sort_unstable();
    groups
}

pub async fn anonymous_get_goes_to_sign_in_with_rd_and_comes_back_signed_in(kind: Kind) {
    let (rig, proxy) = setup(kind);
    let visitor = rig.visitor();
    let original = proxy.url("app.example.test", "/some/page?x=1&y=a%20b");
    let first = visitor.get(&original, &[]).await;
    assert_refused(&first, StatusCode::FOUND, &rig, 0);
    assert_eq!(
        first.sign_in_rd(&rig.issuer()),
        original,
        "rd is the original URL"
    );
    let raw = first.header("location").expect("a Location");
    assert!(
        !raw.contains("rd=https://") && raw.contains("rd=https%3A%2F%2F"),
        "rd is percent-encoded: {raw}"
    );

    let mut hops = Vec::new();
    let login = visitor.follow(first, &mut hops).await;
    assert!(
        login.body.contains("action=\"/login\""),
        "the sign-in page: {}",
        login.body
    );
    let reply = visitor
        .follow(visitor.submit_login(&login, ALICE).await, &mut hops)
        .await;
    assert_eq!(
        reply.url.as_str(),
        original,
        "back at the original URL; hops: {hops:#?}"
    );
    assert!(
        hops.iter()
            .any(|h| h.to.path() == "/forward-auth/session" && h.to.host_str() == Some(super::AUTH_HOST)),
        "the domain cookie is set on the way back: {hops:#?}"
    );
    let echo = reply.expect_echo();
    assert_eq!(echo.method, "GET");
    assert_eq!(
        echo.uri, "/some/page?x=1&y=a%20b",
        "the app gets the original target"
    );
    assert_eq!(echo.one("remote-user"), ALICE);
    assert_eq!(
        rig.upstream.requests(),
        1,
        "the app was reached once, after sign-in"
    );
}

pub async fn anonymous_post_is_sent_to_sign_in_with_303(kind: Kind) {
    let (rig, proxy) = setup(kind);
    let url = proxy.url("app.example.test", "/form");
    let reply = rig.visitor().send(Method::POST, &url, &[]).await;
    assert_refused(&reply, StatusCode::SEE_OTHER, &rig, 0);
    assert_eq!(reply.sign_in_rd(&rig.issuer()), url);
}

pub async fn anonymous_script_gets_401_not_a_redirect(kind: Kind) {
    let (rig, proxy) = setup(kind);
    let visitor = rig.visitor();
    let url = proxy.url("app.example.test", "/api/items");
    let xhr = visitor.get(&url, &[("x-requested-with", "XMLHttpRequest")]).await;
    assert_refused(&xhr, StatusCode::UNAUTHORIZED, &rig, 0);
    if kind != Kind::Nginx {
        // nginx's auth_request subrequest always gets 401; the documented configuration tells
        // scripts from browsers by X-Requested-With alone.
        let json = visitor.get(&url, &[("accept", "application/json")]).await;
        assert_refused(&json, StatusCode::UNAUTHORIZED, &rig, 0);
    }
}

pub async fn staff_member_reaches_the_app_with_her_identity_headers(kind: Kind) {
    let (rig, proxy) = setup(kind);
    let visitor = signed_in(&rig, &proxy, ALICE).await;
    let reply = visitor.get(&proxy.url("wiki.example.test", "/page/1"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let echo = reply.expect_echo();
    assert_eq!(echo.one("remote-user"), ALICE);
    assert_eq!(groups(echo.one("remote-groups")), ["readers", "staff"]);
    assert_eq!(echo.one("remote-email"), format!("{ALICE}@{DOMAIN}"));
    assert_eq!(echo.one("remote-name"), "Alice Example");
    assert_eq!(echo.uri, "/page/1");
}

pub async fn user_outside_staff_is_forbidden(kind: Kind) {
    let (rig, proxy) = setup(kind);
    let visitor = rig.visitor();
    let (reply, hops) = visitor
        .sign_in_through(&proxy.url("app.example.test", "/"), BOB, None)
        .await;
    assert_eq!(
        reply.url.host_str(),
        Some("app.example.test"),
        "back at the app: {hops:#?}"
    );
    assert_refused(&reply, StatusCode::FORBIDDEN, &rig, 0);
    let again = visitor.get(&proxy.url("wiki.example.test", "/"), &[]).await;
    assert_refused(&again, StatusCode::FORBIDDEN, &rig, 0);
}

pub async fn bypass_domain_and_bypass_path_are_open_with_an_empty_remote_user(kind: Kind) {
    let (rig, proxy) = setup(kind);
    let visitor = rig.visitor();
    for url in [
        proxy.url("public.example.test", "/"),
        proxy.url("public.example.test", "/any/thing?q=1"),
        proxy.url("app.example.test", "/open/readme"),
    ] {
        let reply = visitor.get(&url, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{url} is open: {}", reply.body);
        let echo = reply.expect_echo();
        for header in ["remote-user", "remote-groups", "remote-email", "remote-name"] {
            assert_eq!(
                echo.one(header),
                "",
                "{header} at {url} is empty for an anonymous visitor"
            );
        }
    }
    let before = rig.upstream.requests();
    let closed = visitor.get(&proxy.url("app.example.test", "/opened"), &[]).await;
    assert_refused(&closed, StatusCode::FOUND, &rig, before);
}

pub async fn two_factor_rule_demands_the_second_factor(kind: Kind) {
    let (rig, proxy) = setup(kind);
    let secure = proxy.url("secure.example.test", "/vault");

    // One factor is not enough: alice's session is sent to sign in again.
    let alice = signed_in(&rig, &proxy, ALICE).await;
    let before = rig.upstream.requests();
    let refused = alice.get(&secure, &[]).await;
    assert_refused(&refused, StatusCode::FOUND, &rig, before);
    assert_eq!(refused.sign_in_rd(&rig.issuer()), secure);

    // Carol has TOTP: the sign-in asks for it, and then the rule lets her in.
    let seed = rig.enrol_totp(CAROL).await;
    let carol = rig.visitor();
    let (reply, hops) = carol.sign_in_through(&secure, CAROL, Some(&seed)).await;
    assert!(
        hops.iter().any(|h| h.to.path() == "/login/factor"),
        "the second factor was asked for: {hops:#?}"
    );
    assert_eq!(reply.url.as_str(), secure);
    assert_eq!(reply.expect_echo().one("remote-user"), CAROL);
}

pub async fn proxy_refuses_when_latchkey_is_down(kind: Kind) {
    let (mut rig, proxy) = setup(kind);
    let alice = signed_in(&rig, &proxy, ALICE).await;
    let anonymous = rig.visitor();
    rig.latchkey.kill9();
    let before = rig.upstream.requests();
    // What each proxy answers when its auth call fails (the README says so too).
    let expected = match kind {
        Kind::Nginx | Kind::Traefik => StatusCode::INTERNAL_SERVER_ERROR,
        Kind::Caddy => StatusCode::BAD_GATEWAY,
    };
    for (who, visitor) in [("a signed-in user", &alice), ("an anonymous visitor", &anonymous)] {
        for url in [
            proxy.url("app.example.test", "/"),
            proxy.url("public.example.test", "/"),
        ] {
            let reply = visitor.get(&url, &[]).await;
            assert_eq!(
                reply.status, expected,
                "{who} at {url} is refused: {}",
                reply.body
            );
            assert!(reply.echo().is_none());
        }
    }
    assert_eq!(rig.upstream.requests(), before, "nothing reached the app");
}

/// One `#[tokio::test]` per scenario above, for the proxy `$kind`.
macro_rules! every_scenario {
    ($kind:expr) => {
        every_scenario!(@each $kind;
            anonymous_get_goes_to_sign_in_with_rd_and_comes_back_signed_in,
            anonymous_post_is_sent_to_sign_in_with_303,
            anonymous_script_gets_401_not_a_redirect,
            staff_member_reaches_the_app_with_her_identity_headers,
            user_outside_staff_is_forbidden,
            bypass_domain_and_bypass_path_are_open_with_an_empty_remote_user,
            two_factor_rule_demands_the_second_factor,
            proxy_refuses_when_latchkey_is_down
        );
    };
    (@each $kind:expr; $($name:ident),+) => {
        $(
            #[tokio::test]
            async fn $name() {
                crate::forward_auth::scenarios::$name($kind).await;
            }
        )+
    };
}
pub(crate) use every_scenario;
