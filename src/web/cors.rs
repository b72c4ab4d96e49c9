//! CORS for the endpoints a browser-based client calls directly: token, revocation,
//! introspection, userinfo and everything under `/.well-known/`. Any origin may call them,
//! without credentials (cookies are never involved: these endpoints authenticate by client
//! credentials or bearer token). Every other path, the authorization endpoint, the HTML pages
//! and the admin API above all, gets no CORS header at all, so browsers keep other origins out.

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

/// The methods each CORS-enabled path answers, or `None` for a path without CORS.
fn allowed_methods(path: &str) -> Option<&'static str> {
    match path {
        "/oauth/token" | "/oauth/revoke" | "/oauth/introspect" => Some("POST"),
        "/oauth/userinfo" => Some("GET, POST"),
        p if p.starts_with("/.well-known/") => Some("GET"),
        _ => None,
    }
}

/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE: &str = "600";
/// The request headers a cross-origin call may send beyond the CORS-safelisted ones.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type";
/// The response headers a cross-origin caller may read beyond the safelisted ones.
const EXPOSED_HEADERS: &str = "WWW-Authenticate, Retry-After";

/// Answers preflights and marks responses of the CORS-enabled paths as readable from any
/// origin. Requests without `Origin` and other paths pass through untouched.
pub async fn cors<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let methods = match allowed_methods(req.uri().path()) {
        Some(m) if req.headers().contains_key(header::ORIGIN) => m,
        _ => return Ok(next.call(req).await?.into_response()),
    };
    if req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        return Ok(Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
            .header(header::ACCESS_CONTROL_ALLOW_METHODS, methods)
            .header(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS)
            .header(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE)
            .finish());
    }
    let mut resp = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    let headers = resp.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_endpoints_browser_clients_call_have_cors() {
        for path in [
            "/oauth/token",
            "/oauth/revoke",
            "/oauth/introspect",
            "/oauth/userinfo",
            "/.well-known/jwks.json",
            "/.well-known/openid-configuration",
        ] {
            assert!(allowed_methods(path).is_some(), "{path}");
        }
        for path in [
            "/oauth/authorize",
            "/oauth/consent",
            "/oauth/logout",
            "/login",
            "/setup",
            "/",
            "/api/users",
            "/openapi.json",
            "/oauth/token/x",
            "/.well-known",
        ] {
            assert!(allowed_methods(path).is_none(), "{path}");
        }
    }
}
