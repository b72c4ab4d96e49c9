//! `/docs`: Swagger UI, served from the assets poem-openapi embeds, wired to sign in through
//! Latchkey itself with the built-in public client `latchkey-docs` (authorization code + PKCE).
//! Its Content-Security-Policy allows exactly its own inline scripts (by hash) and nothing
//! external.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use poem::endpoint::BoxEndpoint;
use poem::endpoint::make_sync;
use poem::http::{StatusCode, header};
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response};

use crate::crypto::sha256;

use crate::service::clients::{DOCS_CLIENT_ID, DOCS_RECEIVER_PATH as RECEIVER_PATH};

/// The `script-src` hashes of every inline `<script>` in `html`.
fn script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(open_end) = rest[start..].find('>') else {
            break;
        };
        let body_start = start + open_end + 1;
        let Some(len) = rest[body_start..].find("</script>") else {
            break;
        };
        let body = &rest[body_start..body_start + len];
        out.push(format!("'sha256-{}'", base64_std(&sha256(body.as_bytes()))));
        rest = &rest[body_start + len..];
    }
    out
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn csp(html: &str) -> String {
    format!(
        "default-src 'none'; script-src {}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        script_hashes(html).join(" ")
    )
}

/// Calls an endpoint whose answer is ready at once (poem-openapi's UI endpoints are synchronous).
fn call_now(ep: &impl Endpoint<Output = Response>, path: &str) -> Option<String> {
    let req = Request::builder().uri(path.parse().ok()?).finish();
    let mut fut = pin!(ep.call(req));
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(resp)) => {
            let mut body = pin!(resp.into_body().into_string());
            match body.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(text)) => Some(text),
                _ => None,
            }
        }
        _ => None,
    }
}

fn page(html: String) -> impl Endpoint<Output = Response> {
    let policy = csp(&html);
    make_sync(move |_| {
        Html(html.clone())
            .with_header(header::CONTENT_SECURITY_POLICY, policy.clone())
            .with_header(header::X_FRAME_OPTIONS, "DENY")
            .with_header(header::REFERRER_POLICY, "no-referrer")
            .with_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .with_header(header::CACHE_CONTROL, "no-cache")
            .into_response()
    })
}

/// Edits poem-openapi's Swagger UI page for Latchkey: `initOAuth` fills in the built-in client
/// and turns PKCE on, and the OAuth 2.0 redirect URL is the registered receiver page. (The
/// template derives it from the page's address, which breaks as soon as that address carries a
/// deep link such as `/docs#/Admin%3A%20users/list_users`.) `None` if the template no longer has
/// the lines these edits replace.
fn configure(ui_html: &str) -> Option<String> {
    const CALL_END: &str = "        deepLinking: true,\n    })";
    const REDIRECT: &str = "    oauth2RedirectUrl += \"oauth-receiver.html\";";
    if !ui_html.contains(CALL_END) || !ui_html.contains(REDIRECT) {
        return None;
    }
    let html = ui_html
        .replacen(
            CALL_END,
            &format!(
                "        deepLinking: true,\n    }}).initOAuth({{ clientId: '{DOCS_CLIENT_ID}', \
                 usePkceWithAuthorizationCodeGrant: true, scopes: 'openid admin' }})"
            ),
            1,
        )
        .replacen(
            REDIRECT,
            &format!("    oauth2RedirectUrl = window.location.origin + \"{RECEIVER_PATH}\";"),
            1,
        );
    Some(html)
}

/// The `/docs` pages, made once at start: the UI, and the page that receives the authorization
/// response. The route table says where they are served.
pub struct Pages {
    ui: String,
    receiver: String,
}

impl Pages {
    /// The pages made from poem-openapi's Swagger UI page and its UI endpoint.
    pub fn new(ui_html: String, ui_endpoint: impl Endpoint) -> Pages {
        let ui = configure(&ui_html).unwrap_or_else(|| {
            tracing::warn!("the Swagger UI template changed; the /docs page cannot sign in");
            ui_html
        });
        let receiver = call_now(&ui_endpoint.map_to_response(), "/oauth-receiver.html").unwrap_or_default();
        Pages { ui, receiver }
    }

    /// The UI page.
    pub fn ui(&self) -> BoxEndpoint<'static, Response> {
        page(self.ui.clone()).boxed()
    }

    /// The receiver page at [`RECEIVER_PATH`], or 404 if poem-openapi no longer ships one.
    pub fn receiver(&self) -> BoxEndpoint<'static, Response> {
        if self.receiver.is_empty() {
            make_sync(|_| StatusCode::NOT_FOUND).map_to_response().boxed()
        } else {
            page(self.receiver.clone()).boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_inline_script_gets_a_hash_and_nothing_external_is_allowed() {
        let html = "<script>a()</script><p>x</p><script charset=\"UTF-8\">b()</script>";
        let hashes = script_hashes(html);
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[0], format!("'sha256-{}'", base64_std(&sha256(b"a()"))));
        let policy = csp(html);
        assert!(policy.contains("frame-ancestors 'none'") && !policy.contains("http"));
        assert!(!policy.contains("'unsafe-eval'"));
    }

    #[test]
    fn the_swagger_ui_page_signs_in_with_the_docs_client_and_the_registered_receiver() {
        let ui = poem_openapi::OpenApiService::new((), "t", "1").swagger_ui_html();
        let html = configure(&ui).expect("poem-openapi's Swagger UI template has the lines to edit");
        assert!(html.contains(
            ".initOAuth({ clientId: 'latchkey-docs', usePkceWithAuthorizationCodeGrant: true, \
             scopes: 'openid admin' })"
        ));
        assert!(html.contains("oauth2RedirectUrl = window.location.origin + \"/docs/oauth-receiver.html\";"));
        assert!(!html.contains("oauth2RedirectUrl += \"oauth-receiver.html\""));
        assert_eq!(configure("<html>something else</html>"), None);
    }
}
