//! The forward-auth session behind nginx: the domain cookie the round trip after sign-in sets
//! (`__Secure-latchkey-fa`: the cookie domain, `Path=/`, `Secure`, `HttpOnly`, `SameSite=Lax`),
//! signing out ending it on the server (a copy kept by the browser no longer passes), and `rd`
//! values off the cookie domain refused rather than followed.

use reqwest::StatusCode;

use super::{ALICE, Kind, Proxy, Rig, Visitor};

const COOKIE: &str = "__Secure-latchkey-fa";

/// Signs in as alice through `url` like [`Visitor::sign_in_through`], step by step, and returns
/// the `Set-Cookie` value that gave the browser the forward-auth cookie.
async fn sign_in_keeping_the_cookie(visitor: &Visitor, url: &str) -> String {
    let mut reply = visitor.get(url, &[]).await;
    let mut set = None;
    for _ in 0..12 {
        if reply.status == StatusCode::OK && reply.body.contains("action=\"/login\"") {
            reply = visitor.submit_login(&reply, ALICE).await;
            continue;
        }
        if !reply.status.is_redirection() {
            break;
        }
        if reply.url.path() == "/forward-auth/session" {
            set = reply
                .headers
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().expect("text").to_owned())
                .find(|v| v.starts_with(&format!("{COOKIE}=")));
        }
        let to = reply.location().expect("a Location");
        reply = visitor.get(to.as_str(), &[]).await;
    }
    assert_eq!(reply.url.as_str(), url, "back at {url}: {}", reply.body);
    reply.expect_echo();
    set.unwrap_or_else(|| panic!("the round trip set no {COOKIE}"))
}

/// The attributes of a `Set-Cookie` value, lower-cased, without the name and value.
fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn the_domain_cookie_is_secure_http_only_and_lax_on_the_cookie_domain() {
    let rig = Rig::start();
    let proxy = Proxy::start(Kind::Nginx, &rig);
    let set = sign_in_keeping_the_cookie(&rig.visitor(), &proxy.url("app.example.test", "/")).await;
    let attributes = attributes(&set);
    for wanted in [
        "domain=example.test",
        "path=/",
        "secure",
        "httponly",
        "samesite=lax",
    ] {
        assert!(attributes.iter().any(|a| a == wanted), "{wanted} in {set}");
    }
}

#[tokio::test]
async fn signing_out_ends_the_forward_auth_session_on_the_server() {
    let rig = Rig::start();
    let proxy = Proxy::start(Kind::Nginx, &rig);
    let app = proxy.url("app.example.test", "/");
    let alice = rig.visitor();
    let set = sign_in_keeping_the_cookie(&alice, &app).await;
    let pair = set.split(';').next().expect("name=value").to_owned();

    // A second client holding only a copy of the cookie passes, until alice signs out.
    let copy = rig.visitor();
    let passes = copy.get(&app, &[("cookie", &pair)]).await;
    assert_eq!(
        passes.status,
        StatusCode::OK,
        "the copied cookie passes: {}",
        passes.body
    );

    let home = alice.get(&format!("{}/", rig.issuer()), &[]).await;
    let form = super::form_with(&home, "/logout", &[]);
    let out = alice.post(&format!("{}/logout", rig.issuer()), &form).await;
    let cleared = out
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(&format!("{COOKIE}=")) && v.to_ascii_lowercase().contains("max-age=0"));
    assert!(
        cleared,
        "signing out clears the forward-auth cookie: {:?}",
        out.headers
    );

    let before = rig.upstream.requests();
    let after = copy.get(&app, &[("cookie", &pair)]).await;
    assert_eq!(
        after.status,
        StatusCode::FOUND,
        "the copied cookie no longer passes: {}",
        after.body
    );
    assert_eq!(after.sign_in_rd(&rig.issuer()), app);
    let own = alice.get(&app, &[]).await;
    assert_eq!(own.status, StatusCode::FOUND, "alice is sent to sign in again");
    assert_eq!(
        rig.upstream.requests(),
        before,
        "nothing reached the app after sign-out"
    );
}

#[tokio::test]
async fn an_rd_off_the_cookie_domain_is_refused_not_followed() {
    let rig = Rig::start();
    let visitor = rig.visitor();
    let login = visitor.get(&format!("{}/login", rig.issuer()), &[]).await;
    let signed_in = visitor.submit_login(&login, ALICE).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    for rd in [
        "https://evil.test/",
        "https://example.test.evil.test/",
        "http://app.example.test/",
        "https://alice@app.example.test/",
        "https://app.example.test\\@evil.test/",
        "//evil.test/",
        "/relative",
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(rd.as_bytes()).collect();
        for path in ["/login", "/forward-auth/session"] {
            let reply = visitor
                .get(&format!("{}{path}?rd={encoded}", rig.issuer()), &[])
                .await;
            assert!(
                reply
                    .location()
                    .is_none_or(|to| to.host_str() == Some(super::AUTH_HOST)),
                "{path}?rd={rd} sent the browser off to {:?}",
                reply.location()
            );
            assert!(
                reply.status.is_client_error(),
                "{path}?rd={rd} is refused, not answered {}",
                reply.status
            );
        }
    }
}
