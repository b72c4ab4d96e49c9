//! The round trip that gives a signed-in browser its forward-auth cookie: the sign-in page, given
//! `rd` (the address the proxy was asked about), comes back here; this sets the domain-scoped
//! cookie (the `__Host-` session cookie cannot carry a Domain) and sends the browser on to `rd`,
//! or first to sign in again when `rd` needs a second factor the session lacks.

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use super::copy;
use super::factor::unavailable;
use super::guard::login_address;
use super::message;
use super::oauth::{see_other, session_cookie_value, with_cookie};
use super::upstream::query_pairs;
use crate::protocol::forward_auth::{Target, from_url};
use crate::service::forward_auth::{RoundTrip, round_trip as start};
use crate::service::{App, login};
use crate::web::client_ip;
use crate::web::errors::{PageFailure, page_status};
use crate::web::forward_auth::set_cookie;

/// The path of the round trip for `rd`; `factors=2` when the sign-in before it must have two.
pub fn path(rd: &str, two_factors: bool) -> String {
    let rd: String = url::form_urlencoded::byte_serialize(rd.as_bytes()).collect();
    if two_factors {
        format!("/forward-auth/session?rd={rd}&factors=2")
    } else {
        format!("/forward-auth/session?rd={rd}")
    }
}

/// Why an `rd` is refused: its sentence.
#[derive(Debug, Clone, Copy)]
pub struct RdRefused(copy::Msg);

impl RdRefused {
    /// The page that says so (400).
    pub fn page(self) -> Response {
        message(
            page_status(PageFailure::Invalid),
            &copy::t(copy::RD_REFUSED_TITLE),
            &copy::t(self.0),
        )
    }
}

/// `rd` checked against the access rules' domains.
pub fn checked_rd(app: &App, rd: Option<&str>) -> Result<Target, RdRefused> {
    let Some(rules) = &app.config.forward_auth else {
        return Err(RdRefused(copy::FORWARD_AUTH_OFF));
    };
    from_url(rd, "rd", rules).map_err(|_| RdRefused(copy::RD_REFUSED))
}

/// `GET /forward-auth/session?rd=...`.
#[handler]
pub async fn round_trip(req: &Request, Data(app): Data<&App>) -> Response {
    let query = query_pairs(req);
    let asked = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let target = match checked_rd(app, asked("rd")) {
        Ok(t) => t,
        Err(refused) => return refused.page(),
    };
    let here = path(&target.url, asked("factors") == Some("2"));
    let Some(cookie) = session_cookie_value(app, req) else {
        return see_other(&login_address(&here, false));
    };
    let (session, user) = match login::current(app, cookie).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return see_other(&login_address(&here, false)),
        Err(e) => return unavailable(&e),
    };
    let Some(rules) = &app.config.forward_auth else {
        return message(
            StatusCode::NOT_FOUND,
            &copy::t(copy::RD_REFUSED_TITLE),
            &copy::t(copy::FORWARD_AUTH_OFF),
        );
    };
    match start(app, rules, &target, client_ip(req), cookie, &session, &user).await {
        Ok(RoundTrip::Cookie { value, expires_at }) => {
            let Some(domain) = rules.cookie_domain_for(&target.host) else {
                return RdRefused(copy::RD_REFUSED).page();
            };
            let max_age = expires_at.0.saturating_sub(app.clock.now().0);
            let cookie = set_cookie(app.config.is_https(), domain, &value, max_age);
            with_cookie(see_other(&target.url), Some(cookie))
        }
        Ok(RoundTrip::SecondFactor) => see_other(&login_address(&path(&target.url, true), true)),
        Err(e) => unavailable(&e),
    }
}
