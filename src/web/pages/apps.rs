//! `GET /apps`: the app launcher, the applications the signed-in user may open (from
//! [`service::apps::launcher`](crate::service::apps::launcher)). A browser that is not signed in
//! is sent to sign in and back. Icons may be `data:` or https images, so this page alone has
//! [`PAGE_CSP_APPS`](crate::web::PAGE_CSP_APPS).

use poem::http::{HeaderValue, StatusCode, header};
use poem::web::Data;
use poem::{Request, Response, handler};

use super::factor::unavailable;
use super::{copy, render, require_session};
use crate::service::App;
use crate::service::apps::{self, AppLink};
use crate::web::PAGE_CSP_APPS;

use crate::web::i18n::filters;

#[derive(askama::Template)]
#[template(path = "apps.html")]
struct AppsPage<'a> {
    title: &'a str,
    /// [`copy::APPS_LEAD`] filled in, as HTML.
    lead: String,
    none: &'a str,
    clients: &'a [AppLink],
    sites: &'a str,
    domains: &'a [AppLink],
    to_account: &'a str,
}

/// `GET /apps`.
#[handler]
pub async fn show(req: &Request, Data(app): Data<&App>) -> Response {
    let (_, user) = match require_session(req, app, "/apps").await {
        Ok(signed_in) => signed_in,
        Err(resp) => return resp,
    };
    let launcher = match apps::launcher(app, &user, crate::web::client_ip(req)).await {
        Ok(l) => l,
        Err(e) => return unavailable(&e),
    };
    let page = AppsPage {
        title: &copy::t(copy::APPS_TITLE),
        lead: copy::html(
            copy::APPS_LEAD,
            &[("username", copy::Value::Strong(user.username.as_str()))],
        ),
        none: &copy::t(copy::APPS_NONE),
        clients: &launcher.clients,
        sites: &copy::t(copy::APPS_SITES),
        domains: &launcher.domains,
        to_account: &copy::t(copy::APPS_TO_ACCOUNT),
    };
    let mut resp = render(&page, StatusCode::OK);
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP_APPS),
    );
    resp
}
