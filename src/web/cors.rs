//! CORS for the endpoints a browser-based client calls directly: token, revocation,
//! introspection, userinfo and everything under `/.well-known/`. Any origin may call them,
//! without credentials (cookies are never involved: these endpoints authenticate by client
//! credentials or bearer token). Every other path, the authorization endpoint, the HTML pages
//! and the admin API above all, gets no CORS header at all, so browsers keep other origins out.

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

use super::route_table::{self, Cors, RouteSpec};

/// The methods a CORS-enabled path answers (a [`Cors::AnyOrigin`] row of the route table, whose
/// methods are written without HEAD, which is safelisted), or `None` for a path without CORS.
fn allowed_methods(route: Option<&RouteSpec>) -> Option<String> {
    let route = route.filter(|r| r.cors == Cors::AnyOrigin)?;
    let methods = route.methods()?;
    Some(methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", "))
}

/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE: &str = "600";
/// The request headers a cross-origin call may always send beyond the CORS-safelisted ones; a
/// preflight that asks for others gets them too, when it asks well (see [`allowed_headers`]).
const ALLOWED_HEADERS: &str = "Authorization, Content-Type";
/// The most header names one preflight may ask for, and the longest list, in bytes.
const MAX_REQUESTED_HEADERS: usize = 32;
const MAX_REQUESTED_BYTES: usize = 1024;

/// The `Access-Control-Allow-Headers` answer to a preflight's `Access-Control-Request-Headers`:
/// the names it asks for, when every one is an RFC 9110 field name (a token) and the list is
/// bounded, since these endpoints never allow credentials and so nothing a page adds to a
/// request can carry the user's authority (Swagger UI, for one, always sends
/// `X-Requested-With`). Otherwise the fixed list, and the browser refuses the call.
fn allowed_headers(requested: Option<&HeaderValue>) -> HeaderValue {
    let fixed = HeaderValue::from_static(ALLOWED_HEADERS);
    let Some(text) = requested.and_then(|v| v.to_str().ok()) else {
        return fixed;
    };
    if text.len() > MAX_REQUESTED_BYTES {
        return fixed;
    }
    let names: Vec<&str> = text.split(',').map(|n| n.trim_matches([' ', '\t'])).collect();
    let token = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if names.len() > MAX_REQUESTED_HEADERS || !names.iter().all(|n| token(n)) {
        return fixed;
    }
    let mut list: Vec<String> = ALLOWED_HEADERS.split(", ").map(str::to_owned).collect();
    for name in names {
        if !list.iter().any(|l| l.eq_ignore_ascii_case(name)) {
            list.push(name.to_owned());
        }
    }
    HeaderValue::from_str(&list.join(", ")).unwrap_or(fixed)
}
/// The response headers a cross-origin caller may read beyond the safelisted ones.
const EXPOSED_HEADERS: &str = "WWW-Authenticate, Retry-After";

/// Answers preflights and marks responses of the CORS-enabled paths as readable from any
/// origin. Requests without `Origin` and other paths pass through untouched.
pub async fn cors<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let methods = match req.headers().contains_key(header::ORIGIN) {
        true => allowed_methods(route_table::route_of(&req)),
        false => None,
    };
    let Some(methods) = methods else {
        return Ok(next.call(req).await?.into_response());
    };
    if req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        let headers = allowed_headers(req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS));
        return Ok(Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
            .header(header::ACCESS_CONTROL_ALLOW_METHODS, methods.as_str())
            .header(header::ACCESS_CONTROL_ALLOW_HEADERS, headers)
            .header(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE)
            .header(header::VARY, "Access-Control-Request-Headers")
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
    fn a_preflight_gets_the_headers_it_asks_for_when_each_is_a_field_name_and_the_list_is_short() {
        let answer = |asked: &str| {
            let v = HeaderValue::from_str(asked).unwrap();
            allowed_headers(Some(&v)).to_str().unwrap().to_owned()
        };
        assert_eq!(
            answer("x-requested-with, content-type"),
            "Authorization, Content-Type, x-requested-with"
        );
        assert_eq!(
            answer("X-Custom,\tX-Other"),
            "Authorization, Content-Type, X-Custom, X-Other"
        );
        for bad in ["x-requested-with, bad header", "a(b)", "x,,y", "", "x-a:b"] {
            assert_eq!(answer(bad), ALLOWED_HEADERS, "{bad:?}");
        }
        let many = (0..33).map(|i| format!("x-{i}")).collect::<Vec<_>>().join(", ");
        assert_eq!(answer(&many), ALLOWED_HEADERS);
        let long = format!("x-{}", "a".repeat(1100));
        assert_eq!(answer(&long), ALLOWED_HEADERS);
        assert_eq!(allowed_headers(None).to_str().unwrap(), ALLOWED_HEADERS);
    }

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
            assert!(allowed_methods(route_table::find(path)).is_some(), "{path}");
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
            assert!(allowed_methods(route_table::find(path)).is_none(), "{path}");
        }
    }
}
