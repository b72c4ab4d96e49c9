//! `GET /metrics`: the Prometheus scrape. Off (404) when `[metrics] enabled = false`; otherwise
//! only for client addresses in `[metrics] networks` (loopback by default), the address as
//! resolved behind `trusted_proxies` so that a proxy on loopback does not open it to the
//! visitors it forwards, and with the configured bearer token when there is one. Recording the
//! HTTP figures is [`record`], a middleware around every route.

use std::time::Instant;

use poem::http::{Method, StatusCode, header};
use poem::web::Data;
use poem::{Endpoint, IntoResponse, Request, Response, handler};

use crate::crypto::constant_time_eq;
use crate::service::App;

/// `GET|HEAD /metrics`.
#[handler]
pub async fn scrape(req: &Request, Data(app): Data<&App>) -> Response {
    let config = &app.config.metrics;
    if !config.enabled || !crate::metrics::enabled() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let ip = super::client_ip(req);
    if !config.networks.iter().any(|n| n.contains(&ip)) {
        return refusal(StatusCode::FORBIDDEN);
    }
    if let Some(token) = &config.token {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        let good = presented.is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
        if !good {
            let mut resp = refusal(StatusCode::UNAUTHORIZED);
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return resp;
        }
    }
    match crate::service::metrics::render(app).await {
        Some(text) => Response::builder()
            .content_type(crate::metrics::CONTENT_TYPE)
            .header(header::CACHE_CONTROL, "no-store")
            .body(text),
        None => refusal(StatusCode::SERVICE_UNAVAILABLE),
    }
}

fn refusal(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

/// The method as a label from a fixed set.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts every request by route pattern (never the raw path: `unknown` for a path no route
/// answers), method and status, and times it. Does nothing when recording is off.
pub async fn record<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    if !crate::metrics::enabled() {
        return Ok(next.call(req).await?.into_response());
    }
    let started = Instant::now();
    let route = super::route_table::route_of(&req).map_or("unknown", |r| r.path);
    let method = method_label(req.method());
    let resp = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    crate::metrics::http_request(
        route,
        method,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    Ok(resp)
}
