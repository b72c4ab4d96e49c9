//! Client addresses behind reverse proxies, and the throttling that counts them: forwarding
//! headers are believed only from `trusted_proxies`, the issuer never comes from a request, and
//! wrong setup-link tokens are throttled per address with 429 and `Retry-After`.

use reqwest::StatusCode;

use crate::harness::{Server, default_config, http};

/// More wrong tokens than any address may send before it must wait: each failure past the free
/// ones doubles the wait, so an address that is counted meets a 429 well within this many.
const ATTEMPTS: usize = 30;

/// A fresh server's setup page, opened once with the real link for a CSRF cookie and field.
struct Setup {
    base: String,
    cookie: String,
    csrf: String,
}

impl Setup {
    async fn open(server: &Server) -> Setup {
        let link = server.setup_link().expect("a fresh server prints a setup link");
        let page = http().get(&link).send().await.expect("GET the setup link");
        assert_eq!(page.status(), StatusCode::OK);
        let cookie = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("latchkey-csrf="))
            .and_then(|v| v.split(';').next())
            .expect("a CSRF cookie")
            .to_owned();
        let body = page.text().await.expect("the setup page");
        let csrf = crate::flows::form_field(&body, "csrf").expect("a csrf field");
        Setup {
            base: server.base_url(),
            cookie,
            csrf,
        }
    }

    /// POSTs the setup form with a wrong token and the extra `headers`.
    async fn wrong_token(&self, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = http()
            .post(format!("{}/setup", self.base))
            .header("cookie", &self.cookie)
            .form(&[
                ("token", "wrong-token-wrong-token-wrong-token-wrong-tok"),
                ("csrf", &self.csrf),
                ("username", "root-admin"),
                ("password", crate::flows::PASSWORD),
                ("password_repeat", crate::flows::PASSWORD),
            ]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("POST /setup")
    }
}

/// Sends wrong tokens as `headers(i)` says until one gets 429; returns that answer, or `None`
/// if none did within [`ATTEMPTS`].
async fn until_throttled(
    setup: &Setup,
    headers: impl Fn(usize) -> Vec<(String, String)>,
) -> Option<reqwest::Response> {
    for i in 0..ATTEMPTS {
        let owned = headers(i);
        let pairs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let reply = setup.wrong_token(&pairs).await;
        match reply.status() {
            StatusCode::TOO_MANY_REQUESTS => return Some(reply),
            StatusCode::NOT_FOUND => {}
            other => panic!(
                "a wrong setup token got {other}: {}",
                reply.text().await.unwrap_or_default()
            ),
        }
    }
    None
}

fn spoofed(i: usize) -> Vec<(String, String)> {
    vec![
        ("x-forwarded-for".to_owned(), format!("203.0.113.{}", i % 250 + 1)),
        ("forwarded".to_owned(), format!("for=198.51.100.{}", i % 250 + 1)),
        ("x-real-ip".to_owned(), format!("192.0.2.{}", i % 250 + 1)),
    ]
}

#[tokio::test]
async fn wrong_setup_tokens_are_throttled_with_429_and_retry_after() {
    let server = Server::running();
    let setup = Setup::open(&server).await;
    let throttled = until_throttled(&setup, |_| Vec::new())
        .await
        .expect("wrong setup tokens from one address end in 429");
    let wait: u64 = throttled
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!(wait >= 1);
    crate::cors::assert_security_headers(throttled.headers());
    let page = throttled.text().await.expect("a page");
    assert!(page.contains("Too many attempts"), "{page}");

    // Checking a link by GET is throttled as well: it would tell a guesser the same thing.
    let mut got_429 = false;
    for _ in 0..ATTEMPTS {
        let probe = http()
            .get(format!("{}/setup?token=another-wrong-token", server.base_url()))
            .send()
            .await
            .expect("GET a wrong link");
        match probe.status() {
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(probe.headers().contains_key("retry-after"));
                got_429 = true;
                break;
            }
            status => assert_eq!(status, StatusCode::NOT_FOUND),
        }
    }
    assert!(got_429, "wrong links opened by GET end in 429 too");
}

#[tokio::test]
async fn a_spoofed_forwarding_header_from_an_untrusted_peer_does_not_dodge_throttling() {
    // No trusted_proxies: the peer (127.0.0.1) is the client, whatever the headers say.
    let server = Server::running();
    let setup = Setup::open(&server).await;
    let throttled = until_throttled(&setup, spoofed).await;
    assert!(
        throttled.is_some(),
        "a new X-Forwarded-For, Forwarded and X-Real-IP on every attempt must not make each one a new address"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_address_is_throttled_on_its_own() {
    let mut server = Server::with_config(|port| {
        default_config(port) + "trusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]\n"
    });
    server.start();
    let setup = Setup::open(&server).await;

    // Each attempt from a different client behind the proxy: no address fails often enough.
    let fresh = |i: usize| {
        vec![(
            "x-forwarded-for".to_owned(),
            format!("198.51.100.99, 203.0.113.{}", i % 250 + 1),
        )]
    };
    assert!(
        until_throttled(&setup, fresh).await.is_none(),
        "distinct forwarded clients are counted apart, not as the proxy's one address"
    );

    // One client behind the proxy, even one that spoofs an address to the left.
    let one = |i: usize| {
        vec![(
            "x-forwarded-for".to_owned(),
            format!("10.9.9.{}, 192.0.2.7", i % 250 + 1),
        )]
    };
    assert!(
        until_throttled(&setup, one).await.is_some(),
        "the right-most untrusted address is the client, and it is throttled"
    );
    let other = setup.wrong_token(&[("x-forwarded-for", "192.0.2.8")]).await;
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "another client behind the same proxy is not held back"
    );
}

#[tokio::test]
async fn the_issuer_never_comes_from_request_headers() {
    let mut server = Server::with_config(|port| {
        default_config(port) + "trusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]\n"
    });
    server.start();
    let issuer = server.base_url();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let reply = http()
            .get(format!("{issuer}{path}"))
            .header("host", "evil.example")
            .header("x-forwarded-host", "evil.example")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-for", "203.0.113.5")
            .header("forwarded", "for=203.0.113.5;host=evil.example;proto=https")
            .send()
            .await
            .expect("GET discovery");
        assert_eq!(reply.status(), StatusCode::OK);
        let doc: serde_json::Value = reply.json().await.expect("JSON metadata");
        assert_eq!(doc["issuer"], issuer.as_str(), "{path}");
        for key in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
            let url = doc[key].as_str().expect("an endpoint URL");
            assert!(url.starts_with(&format!("{issuer}/")), "{path} {key}: {url}");
        }
        assert!(!doc.to_string().contains("evil.example"), "{path}: {doc}");
    }
}
