//! The HTTP layer: the only module that knows poem, poem-openapi and askama. It turns requests
//! into service calls and service results into responses, and it is the one place that maps
//! errors to HTTP.

mod api;
mod csrf;
mod pages;

use poem::middleware::SetHeader;
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

use crate::service::App;

/// Security headers for every HTML page (see ../shared/SECURITY.md, section Browser). Pages use
/// only the embedded stylesheet; there is no script.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

fn page_headers() -> SetHeader {
    SetHeader::new()
        .overriding("Content-Security-Policy", PAGE_CSP)
        .overriding("X-Frame-Options", "DENY")
        .overriding("Referrer-Policy", "no-referrer")
        .overriding("X-Content-Type-Options", "nosniff")
        .overriding("Cache-Control", "no-store")
}

/// The OpenAPI service for every JSON endpoint.
pub fn openapi(app: &App) -> OpenApiService<api::Api, ()> {
    OpenApiService::new(api::apis(app), "Latchkey", env!("CARGO_PKG_VERSION"))
        .description("OAuth 2.0 and OpenID Connect identity server")
        .server(app.config.issuer.clone())
}

/// Every route of the server.
pub fn routes(app: App) -> impl Endpoint {
    let api = openapi(&app);
    let spec = api.spec_endpoint();
    Route::new()
        .nest("/setup", pages::setup::routes().with(page_headers()))
        .at("/static/style.css", poem::get(pages::stylesheet))
        .at("/openapi.json", spec)
        .nest("/", api)
        .data(app)
}
