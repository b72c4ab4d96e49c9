//! Spoofing through the real proxies: identity headers a client sends never reach the app with
//! the client's value, and headers of the other forward-auth family (`X-Forwarded-Host` sent to
//! nginx, `X-Original-URL` sent to Caddy or Traefik, which pass them on to Latchkey) never change
//! the decision: a forbidden host disguised as the bypass host stays forbidden.

use reqwest::StatusCode;

use super::scenarios::signed_in;
use super::{ALICE, Kind, Proxy, Reply, Rig};

/// Identity headers a client makes up.
const FORGED: [(&str, &str); 4] = [
    ("Remote-User", "admin"),
    ("Remote-Groups", "admins,staff"),
    ("Remote-Email", "admin@example.test"),
    ("Remote-Name", "The Administrator"),
];

async fn forged_identity_never_reaches_the_app(kind: Kind) {
    let rig = Rig::start();
    let proxy = Proxy::start(kind, &rig);

    // Anonymous, on the bypass host: the app sees empty headers, not the client's.
    let anonymous = rig.visitor();
    let reply = anonymous
        .get(&proxy.url("public.example.test", "/"), &FORGED)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let echo = reply.expect_echo();
    for (name, _) in FORGED {
        assert_eq!(
            echo.one(name),
            "",
            "{name} from the client reached the app: {echo:#?}"
        );
    }

    // Signed in as alice: the app sees alice, once.
    let alice = signed_in(&rig, &proxy, ALICE).await;
    let reply = alice.get(&proxy.url("app.example.test", "/"), &FORGED).await;
    let echo = reply.expect_echo();
    assert_eq!(echo.all("remote-user"), [ALICE], "{echo:#?}");
    assert!(!echo.one("remote-groups").contains("admins"), "{echo:#?}");
    assert_eq!(echo.one("remote-email"), "alice@example.test");
}

#[tokio::test]
async fn a_client_sent_remote_user_never_reaches_the_app_through_nginx() {
    forged_identity_never_reaches_the_app(Kind::Nginx).await;
}

#[tokio::test]
async fn a_client_sent_remote_user_never_reaches_the_app_through_caddy() {
    forged_identity_never_reaches_the_app(Kind::Caddy).await;
}

#[tokio::test]
async fn a_client_sent_remote_user_never_reaches_the_app_through_traefik() {
    forged_identity_never_reaches_the_app(Kind::Traefik).await;
}

/// Asserts that `reply` is the refusal `status` and that the app was not reached.
#[track_caller]
fn assert_unchanged(reply: &Reply, status: StatusCode, rig: &Rig, before: usize, what: &str) {
    assert_eq!(
        reply.status, status,
        "{what}: {:?}\n{}",
        reply.headers, reply.body
    );
    assert_eq!(rig.upstream.requests(), before, "{what}: the app was not reached");
}

/// Sends `disguise(proxy)` headers, which claim the bypass host, to the app's host, anonymous and
/// as bob (outside staff): the first is still sent to sign in for the app's URL, the second is
/// still forbidden.
async fn disguise_does_not_change_the_decision(
    kind: Kind,
    disguise: impl Fn(&Proxy) -> Vec<(&'static str, String)>,
) {
    let rig = Rig::start();
    let proxy = Proxy::start(kind, &rig);
    let headers = disguise(&proxy);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Caddy appends the original query to the `uri` it asks Latchkey at, so a query naming `rd`
    // must not steer the answer either.
    let target = proxy.url(
        "app.example.test",
        "/admin?rd=https%3A%2F%2Fpublic.example.test%2F",
    );

    let anonymous = rig.visitor().get(&target, &headers).await;
    assert_unchanged(&anonymous, StatusCode::FOUND, &rig, 0, "anonymous, disguised");
    assert_eq!(anonymous.sign_in_rd(&rig.issuer()), target, "rd is the real URL");

    let bob = rig.visitor();
    let (reply, _) = bob.sign_in_through(&target, super::BOB, None).await;
    assert_unchanged(&reply, StatusCode::FORBIDDEN, &rig, 0, "bob, undisguised");
    let disguised = bob.get(&target, &headers).await;
    assert_unchanged(&disguised, StatusCode::FORBIDDEN, &rig, 0, "bob, disguised");
}

#[tokio::test]
async fn x_forwarded_host_sent_to_nginx_never_changes_the_decision() {
    disguise_does_not_change_the_decision(Kind::Nginx, |proxy| {
        let public = proxy.url("public.example.test", "/");
        let host = public
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_owned();
        vec![
            ("X-Forwarded-Host", host),
            ("X-Forwarded-Proto", "https".to_owned()),
            ("X-Forwarded-Uri", "/open/readme".to_owned()),
            ("X-Forwarded-Method", "GET".to_owned()),
        ]
    })
    .await;
}

#[tokio::test]
async fn x_original_url_sent_to_caddy_never_changes_the_decision() {
    disguise_does_not_change_the_decision(Kind::Caddy, |proxy| {
        vec![
            ("X-Original-URL", proxy.url("public.example.test", "/")),
            ("X-Original-Method", "GET".to_owned()),
        ]
    })
    .await;
}

#[tokio::test]
async fn x_original_url_sent_to_traefik_never_changes_the_decision() {
    disguise_does_not_change_the_decision(Kind::Traefik, |proxy| {
        vec![
            ("X-Original-URL", proxy.url("public.example.test", "/")),
            ("X-Original-Method", "GET".to_owned()),
        ]
    })
    .await;
}
