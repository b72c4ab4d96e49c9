//! How the token endpoint answers failures (the error policy of `web::errors`): throttling has
//! its own answer, 429 `temporarily_unavailable` with `Retry-After`.

use poem::http::StatusCode;

use crate::inproc::{InProc, basic};

/// Wrong client secrets at the token endpoint are throttled with 429, `Retry-After` and
/// `temporarily_unavailable` (not `slow_down`, RFC 8628's device-polling error, which was the
/// answer before issue #13).
#[tokio::test]
async fn wrong_client_secrets_are_throttled_with_temporarily_unavailable_and_retry_after() {
    let mut s = InProc::new("").await;
    let mut throttled = None;
    for _ in 0..30 {
        let reply = s
            .post_with(
                "/oauth/token",
                &[("grant_type", "client_credentials")],
                &[("authorization", &basic("web", "not-the-secret"))],
            )
            .await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(reply);
            break;
        }
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        assert_eq!(reply.json()["error"], "invalid_client");
    }
    let reply = throttled.unwrap_or_else(|| panic!("wrong secrets were never throttled"));
    let wait: u64 = reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in seconds: {}", reply.body));
    assert!(wait >= 1);
    assert_eq!(reply.json()["error"], "temporarily_unavailable", "{}", reply.body);
    assert!(reply.json()["error_description"].is_string(), "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
}
