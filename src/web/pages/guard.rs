//! What the account pages ask before they act: a signed-in browser (else the sign-in page, which
//! comes back), and, for a change that weakens the account, a fresh sign-in
//! (`protocol::login::is_fresh`; else the sign-in page again, which makes a new session).

use poem::{Request, Response};

use super::factor::unavailable;
use super::oauth::{see_other, session_cookie_value};
use crate::domain::{Session, User};
use crate::protocol::login::is_fresh;
use crate::service::{App, login};

/// `/login?return_to=...`, plus `&fresh=1` when the sign-in must be made again.
pub(super) fn login_address(return_to: &str, fresh: bool) -> String {
    let back: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    if fresh {
        format!("/login?return_to={back}&fresh=1")
    } else {
        format!("/login?return_to={back}")
    }
}

/// The signed-in session and user of this browser, or the answer that sends it to sign in and
/// come back to `return_to` (an `/account` path).
pub async fn require_session(req: &Request, app: &App, return_to: &str) -> Result<(Session, User), Response> {
    let Some(cookie) = session_cookie_value(app, req) else {
        return Err(see_other(&login_address(return_to, false)));
    };
    match login::current(app, cookie).await {
        Ok(Some(signed_in)) => Ok(signed_in),
        Ok(None) => Err(see_other(&login_address(return_to, false))),
        Err(e) => Err(unavailable(&e)),
    }
}

/// For a change that weakens the account: `None` when `session` signed in recently enough
/// (`protocol::login::is_fresh`), else the answer that sends the browser to sign in again
/// (`/login?return_to=...&fresh=1`, a new session with a new `auth_time`) and come back to
/// `return_to` (an `/account` path).
pub fn require_fresh(app: &App, session: &Session, return_to: &str) -> Option<Response> {
    if is_fresh(session.auth_time, app.clock.now()) {
        None
    } else {
        Some(require_fresh_sign_in(return_to))
    }
}

/// The answer that sends the browser to sign in again and come back to `return_to`, for a use
/// case that said the sign-in is not fresh.
pub fn require_fresh_sign_in(return_to: &str) -> Response {
    see_other(&login_address(return_to, true))
}
