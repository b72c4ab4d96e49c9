//! The browser session cookie: `HttpOnly`, `SameSite=Lax`, and `Secure` with the `__Host-` prefix
//! when the issuer is https. Its value is a random secret; the store keeps only its digest.

use super::csrf::set_cookie;
use crate::service::App;

pub fn name(https: bool) -> &'static str {
    if https {
        "__Host-latchkey-session"
    } else {
        "latchkey-session"
    }
}

/// The `Set-Cookie` value for a new session.
pub fn set(value: &str, app: &App) -> String {
    let https = app.config.is_https();
    set_cookie(
        name(https),
        value,
        https,
        "Lax",
        Some(app.config.lifetimes.session.0),
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear(app: &App) -> String {
    let https = app.config.is_https();
    set_cookie(name(https), "", https, "Lax", Some(0))
}
