//! The HTTP layer: the only module that knows poem, poem-openapi and askama. It turns requests
//! into service calls and service results into responses, and it is the one place that maps
//! errors to HTTP.

mod admin;
mod allow;
mod api;
mod cors;
mod csrf;
pub mod docs;
mod errors;
mod forward_auth;
mod i18n;
mod limits;
mod metrics;
mod oauth;
mod pages;
mod proxy;
mod route_table;
pub mod serve;
mod session_cookie;
mod strict;
mod tags;
mod tls;

use std::net::{IpAddr, Ipv4Addr};

use poem::endpoint::BoxEndpoint;
use poem::http::{HeaderValue, header};
use poem::middleware::SetHeader;
use poem::{Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route, RouteMethod};
use poem_openapi::OpenApiService;

use crate::service::App;

pub use route_table::{Cors, Handler, Kind, ROUTES, RouteSpec, Serve, allow_value, find as find_route};

/// Security headers for every HTML page (see ../shared/SECURITY.md, section Browser). Pages use
/// only the embedded stylesheet; there is no script.
pub const PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The CSP of the pages that run the one embedded script (`/static/passkey.js`, the WebAuthn
/// ceremonies): [`PAGE_CSP`] plus scripts and `fetch` to the server's own origin, no inline script.
pub const PAGE_CSP_WITH_SCRIPT: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The CSP of a login page that shows the client's icon from a `data:` URL: [`PAGE_CSP`] with
/// `img-src data:` (nothing is fetched: the picture is inside the page).
pub const PAGE_CSP_DATA_IMAGES: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

/// [`PAGE_CSP_WITH_SCRIPT`] with `img-src data:`, for a login page with the passkey script and a
/// client's `data:` icon.
pub const PAGE_CSP_WITH_SCRIPT_DATA_IMAGES: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

/// The CSP of the app launcher (`/apps`): [`PAGE_CSP`] with images from `data:` URLs and any
/// https origin, because a client's icon (set by an administrator, `domain::ClientIcon`) is a
/// PNG or SVG `data:` URL or an https URL. Only this page loads them, so every other page keeps
/// `img-src 'self'`, and the user's browser fetches an https icon only from the URL the operator
/// registered.
pub const PAGE_CSP_APPS: &str = "default-src 'none'; style-src 'self'; img-src 'self' data: https:; base-uri 'none'; frame-ancestors 'none'";

/// The page headers. The CSP is not among them: [`security_headers`] adds [`PAGE_CSP`] to every
/// response that has none, so that a page running the passkey script can set
/// [`PAGE_CSP_WITH_SCRIPT`] instead.
fn page_headers() -> SetHeader {
    SetHeader::new()
        .overriding("X-Frame-Options", "DENY")
        .overriding("Referrer-Policy", "no-referrer")
        .overriding("X-Content-Type-Options", "nosniff")
        .overriding("Cache-Control", "no-store")
}

/// The page security headers, set on every response that does not carry its own: error
/// responses (404, 405, 413, 431) and anything a route did not wrap in [`page_headers`]. A route
/// that sets a header itself (the `/docs` page its own CSP, say) keeps it.
async fn security_headers<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let mut resp = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    let headers = resp.headers_mut();
    for (name, value) in [
        ("content-security-policy", PAGE_CSP),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    ] {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(resp)
}

/// The OpenAPI service for every JSON endpoint.
pub fn openapi(app: &App) -> OpenApiService<api::Api, ()> {
    OpenApiService::new(api::apis(app), "Latchkey", env!("CARGO_PKG_VERSION"))
        .description("OAuth 2.0 and OpenID Connect identity server")
        .server(app.config.issuer.clone())
}

/// The largest request body accepted anywhere (larger ones get 413).
pub const MAX_BODY: usize = 64 * 1024;

/// The address a request came from, as throttling counts it: the peer, or, when the peer is one
/// of the configured `trusted_proxies`, the client address its forwarding header names (see
/// [`proxy::client_address`]).
pub fn client_ip(req: &Request) -> IpAddr {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match req.data::<App>() {
        Some(app) if !app.config.trusted_proxies.is_empty() => proxy::client_address(
            peer,
            req.headers(),
            &app.config.trusted_proxies,
            app.config.forwarded_header,
        ),
        _ => peer.to_canonical(),
    }
}

/// Refuses bodies over [`MAX_BODY`] with 413 and an RFC 6749-style JSON error (an RFC 9457
/// problem under the admin API), whether the length is declared or not (chunked).
async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let admin_api = route_table::route_of(&req).is_some_and(|r| r.kind == Kind::Api);
    let too_large = || errors::body_too_large(admin_api, MAX_BODY);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > MAX_BODY as u64 => return Ok(too_large()),
        Some(_) => {}
        None => match req.take_body().into_bytes_limit(MAX_BODY).await {
            Ok(bytes) => req.set_body(bytes),
            Err(_) => return Ok(too_large()),
        },
    }
    Ok(next.call(req).await?.into_response())
}

/// The endpoint of a page or fixed resource of the route table.
fn endpoint(handler: Handler, docs: &docs::Pages, document: &str) -> BoxEndpoint<'static, Response> {
    use pages::oauth as p;
    match handler {
        Handler::Home => p::home.map_to_response().boxed(),
        Handler::LoginForm => p::login_get.map_to_response().boxed(),
        Handler::LoginSubmit => p::login_post.map_to_response().boxed(),
        Handler::UpstreamStart => pages::upstream::start.map_to_response().boxed(),
        Handler::UpstreamCallback => pages::upstream::callback.map_to_response().boxed(),
        Handler::Logout => p::logout_post.map_to_response().boxed(),
        Handler::Authorize => p::authorize_endpoint.map_to_response().boxed(),
        Handler::Consent => p::consent_post.map_to_response().boxed(),
        Handler::EndSession => p::end_session_endpoint.map_to_response().boxed(),
        Handler::EndSessionConfirm => p::end_session_confirm.map_to_response().boxed(),
        Handler::SetupForm => pages::setup::show.map_to_response().boxed(),
        Handler::SetupSubmit => pages::setup::submit.map_to_response().boxed(),
        Handler::Stylesheet => pages::stylesheet.map_to_response().boxed(),
        Handler::Logo => pages::brand::logo.map_to_response().boxed(),
        Handler::ThemeStylesheet => pages::brand::theme.map_to_response().boxed(),
        Handler::CustomStylesheet => pages::brand::custom.map_to_response().boxed(),
        Handler::PasskeyScript => pages::passkeys::script.map_to_response().boxed(),
        Handler::PasskeysPage => pages::passkeys::show.map_to_response().boxed(),
        Handler::PasskeyRename => pages::passkeys::rename.map_to_response().boxed(),
        Handler::PasskeyRemove => pages::passkeys::remove.map_to_response().boxed(),
        Handler::PasskeyRegisterStart => pages::passkeys::register_start.map_to_response().boxed(),
        Handler::PasskeyRegisterFinish => pages::passkeys::register_finish.map_to_response().boxed(),
        Handler::PasskeySignInStart => pages::passkeys::sign_in_start.map_to_response().boxed(),
        Handler::PasskeySignInFinish => pages::passkeys::sign_in_finish.map_to_response().boxed(),
        Handler::PasskeyFactorStart => pages::passkeys::factor_start.map_to_response().boxed(),
        Handler::PasskeyFactorFinish => pages::passkeys::factor_finish.map_to_response().boxed(),
        Handler::ForwardAuth => forward_auth::forward_auth.map_to_response().boxed(),
        Handler::AuthRequest => forward_auth::auth_request.map_to_response().boxed(),
        Handler::ExtAuthz => forward_auth::ext_authz.map_to_response().boxed(),
        Handler::ForwardAuthSession => pages::forward_auth::round_trip.map_to_response().boxed(),
        Handler::Language => i18n::choose_language.map_to_response().boxed(),
        Handler::Document => {
            let document = document.to_owned();
            poem::endpoint::make_sync(move |_| {
                Response::builder()
                    .content_type("application/json")
                    .body(document.clone())
            })
            .boxed()
        }
        Handler::Docs => docs.ui(),
        Handler::DocsReceiver => docs.receiver(),
        Handler::Metrics => metrics::scrape.map_to_response().boxed(),
        Handler::FactorForm => pages::factor::factor_get.map_to_response().boxed(),
        Handler::FactorSubmit => pages::factor::factor_post.map_to_response().boxed(),
        Handler::FactorEnrolForm => pages::factor::enrol_get.map_to_response().boxed(),
        Handler::FactorEnrolSubmit => pages::factor::enrol_post.map_to_response().boxed(),
        Handler::TotpForm => pages::totp::show.map_to_response().boxed(),
        Handler::TotpSubmit => pages::totp::confirm.map_to_response().boxed(),
        Handler::TotpRemove => pages::totp::remove.map_to_response().boxed(),
        Handler::RecoveryForm => pages::recovery::show.map_to_response().boxed(),
        Handler::RecoverySubmit => pages::recovery::generate.map_to_response().boxed(),
        Handler::Account => pages::account::show.map_to_response().boxed(),
        Handler::Apps => pages::apps::show.map_to_response().boxed(),
        Handler::Console => pages::admin::console.map_to_response().boxed(),
        Handler::AccountProfile => pages::account::profile.map_to_response().boxed(),
        Handler::AccountPassword => pages::account::password.map_to_response().boxed(),
        Handler::AccountSessions => pages::account::end_sessions.map_to_response().boxed(),
        Handler::AccountRevokeApplication => pages::account::revoke_application.map_to_response().boxed(),
        Handler::InviteForm => pages::invite::show.map_to_response().boxed(),
        Handler::InviteSubmit => pages::invite::accept.map_to_response().boxed(),
        Handler::InvitePasskeyStart => pages::invite::passkey_start.map_to_response().boxed(),
        Handler::InvitePasskeyFinish => pages::invite::passkey_finish.map_to_response().boxed(),
    }
}

/// Every route of the server, from the route table ([`ROUTES`]).
pub fn routes(app: App) -> impl Endpoint {
    let api = openapi(&app);
    // The document as served, read by the `Allow` table and the admin API's body rules too.
    let written = api.spec();
    let document = strict::document(&written);
    let allow = allow::AllowTable::new(&document);
    let rules = strict::ApiRules::new(&document);
    let ui = api.swagger_ui_html().replacen(&written, &document, 1);
    let docs = docs::Pages::new(ui, api.swagger_ui());
    let api = std::sync::Arc::new(api.into_endpoint());
    let mut route = Route::new();
    for spec in &ROUTES {
        route = match spec.serve {
            Serve::OpenApi(_) | Serve::OpenApiTree => route.nest_no_strip(spec.path, api.clone()),
            Serve::Handlers(handlers) => {
                let mut methods = RouteMethod::new();
                for (method, handler) in handlers {
                    methods = methods.method(method.clone(), endpoint(*handler, &docs, &document));
                }
                match spec.kind {
                    Kind::Page => route.at(
                        spec.poem_path(),
                        methods.with(page_headers()).around(i18n::context),
                    ),
                    Kind::Static | Kind::OAuth | Kind::Api => route.at(spec.poem_path(), methods),
                }
            }
        };
    }
    route
        .with(allow)
        .around(limits::limit_params)
        .around(limit_body)
        .around(cors::cors)
        .around(limits::limit_head)
        .with(rules)
        .around(security_headers)
        .around(metrics::record)
        .around(route_table::match_route)
        .data(app)
}
