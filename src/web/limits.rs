//! Bounds on the request head and on the parameters of the OAuth endpoints that read form
//! bodies. hyper already refuses more than 100 header lines and a head larger than its read
//! buffer (about 400 KiB) with 431, and HTTP/2 header lists are capped at 16 KiB by poem; these
//! limits are tighter and apply to both protocols. Bodies are bounded by `limit_body`.

use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

use super::MAX_BODY;
use super::route_table;
use crate::protocol::OAuthError;
use crate::protocol::params::{MAX_PARAMS, MAX_VALUE_LEN, Params, ParamsError};

/// The most header lines a request may carry.
pub const MAX_HEADERS: usize = 64;
/// The most bytes all header names and values together may take.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The longest path and query. The authorization endpoint itself refuses queries past 32 KiB
/// with its own page; this is the backstop for every path.
pub const MAX_URI: usize = 40 * 1024;

fn plain(status: StatusCode, text: &'static str) -> Response {
    text.with_status(status)
        .with_header(header::CACHE_CONTROL, "no-store")
        .into_response()
}

/// Refuses a request head over [`MAX_URI`] (414), [`MAX_HEADERS`] or [`MAX_HEADER_BYTES`] (431).
pub async fn limit_head<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let uri_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI {
        return Ok(plain(StatusCode::URI_TOO_LONG, "The request URI is too long."));
    }
    let headers = req.headers();
    // As they would be written: name, ": ", value, CRLF.
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Ok(plain(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "The request headers are too large.",
        ));
    }
    Ok(next.call(req).await?.into_response())
}

/// Holds the form bodies of the routes marked `form_params` in the route table (the token,
/// revocation, introspection and userinfo endpoints, whose bodies the OpenAPI layer reads) to the
/// same bounds as the authorization endpoint: at most [`MAX_PARAMS`] parameters of at most
/// [`MAX_VALUE_LEN`] bytes each; past them, 400 `invalid_request`.
pub async fn limit_params<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if req.method() != Method::POST || !is_form || !route_table::route_of(&req).is_some_and(|r| r.form_params)
    {
        return Ok(next.call(req).await?.into_response());
    }
    let bytes = match req.take_body().into_bytes_limit(MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return Ok(oauth_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large".into(),
            ));
        }
    };
    if let Err(e) = Params::parse(&String::from_utf8_lossy(&bytes)) {
        let detail = match e {
            ParamsError::TooMany => format!("more than {MAX_PARAMS} parameters"),
            ParamsError::TooLong(name) => format!(
                "the parameter `{}` is longer than {MAX_VALUE_LEN} bytes",
                name.chars().take(64).collect::<String>()
            ),
        };
        return Ok(oauth_error(StatusCode::BAD_REQUEST, detail));
    }
    req.set_body(bytes);
    Ok(next.call(req).await?.into_response())
}

/// An RFC 6749 section 5.2 `invalid_request` (the description cleaned of characters it may not
/// hold), answered by the error policy.
fn oauth_error(status: StatusCode, description: String) -> Response {
    super::errors::oauth_response(status, &OAuthError::invalid_request(description))
}
