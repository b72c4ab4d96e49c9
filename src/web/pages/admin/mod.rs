//! `/admin`: the admin console, server-rendered, for administrators only. One handler takes every
//! `/admin` path: it admits the browser ([`service::console::admit`]: signed in, in `admins`, with
//! the second factor when the user has one; anyone else gets 403 on every path), checks the form
//! token of every POST before any page sees it, and hands the request to the area's page module.
//! The pages run the same typed commands as the CLI and the admin API
//! ([`service::admin::execute_as`]) as the signed-in administrator, so the audit feed names them
//! alike. A destructive action asks for a fresh sign-in first ([`Call::require_fresh`]).

mod audit;
mod clients;
mod dashboard;
mod groups;
mod keys;
mod sessions;
mod users;

use poem::http::{Method, StatusCode, header};
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::oauth::{see_other, session_cookie_value, with_cookie};
use super::{copy, guard, message, render};
use crate::service::admin::{Actor, Command, execute_as};
use crate::service::console::{Admitted, Refusal, admit};
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{client_ip, csrf};

use crate::web::i18n::filters;

/// The class of a console page's `<main>`: the card of every page, wide for tables.
pub const MAIN_CLASS: &str = "card wide";

/// The console's areas, in the order of its navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Users,
    Groups,
    Clients,
    Sessions,
    Audit,
    Keys,
}

impl Section {
    const ALL: [Section; 7] = [
        Section::Dashboard,
        Section::Users,
        Section::Groups,
        Section::Clients,
        Section::Sessions,
        Section::Audit,
        Section::Keys,
    ];

    fn href(self) -> &'static str {
        match self {
            Section::Dashboard => "/admin",
            Section::Users => "/admin/users",
            Section::Groups => "/admin/groups",
            Section::Clients => "/admin/clients",
            Section::Sessions => "/admin/sessions",
            Section::Audit => "/admin/audit",
            Section::Keys => "/admin/keys",
        }
    }

    fn label(self) -> copy::Msg {
        copy::Msg(match self {
            Section::Dashboard => "admin-nav-dashboard",
            Section::Users => "admin-nav-users",
            Section::Groups => "admin-nav-groups",
            Section::Clients => "admin-nav-clients",
            Section::Sessions => "admin-nav-sessions",
            Section::Audit => "admin-nav-audit",
            Section::Keys => "admin-nav-keys",
        })
    }
}

/// What every console page shows around its content: the navigation (with the current area
/// marked), who is signed in, and the form token of its forms.
pub struct Chrome {
    pub section: Section,
    pub csrf: String,
    pub username: String,
}

impl Chrome {
    /// Each navigation link: its address, its label, and whether it is the current area.
    pub fn nav(&self) -> Vec<(&'static str, String, bool)> {
        Section::ALL
            .iter()
            .map(|s| (s.href(), copy::t(s.label()), *s == self.section))
            .collect()
    }
}

/// The fields of a query string or an urlencoded form, in order; a name may repeat (checkboxes).
#[derive(Debug, Default, Clone)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(text: &[u8]) -> Fields {
        Fields(
            url::form_urlencoded::parse(text)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn filled(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The lines of a textarea `name`, trimmed, without blank lines.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// One request to the console, admitted: the page modules read everything from here.
pub struct Call<'a> {
    pub req: &'a Request,
    pub app: &'a App,
    pub admitted: Admitted,
    /// The path below `/admin`, split at `/` and percent-decoded (`/admin/users/bob` is
    /// `["users", "bob"]`).
    pub path: Vec<String>,
    pub query: Fields,
    /// The form of a POST, its token already checked; `None` for GET.
    pub form: Option<Fields>,
    csrf: String,
}

impl Call<'_> {
    /// The actor this administrator's commands run as.
    pub fn actor(&self) -> Actor {
        self.admitted.actor(client_ip(self.req))
    }

    /// Runs one typed administrative command as this administrator, audited as every other
    /// caller's.
    pub async fn run<C: Command>(&self, command: C) -> Result<C::Output, ServiceError> {
        execute_as(self.app, &self.actor(), command).await
    }

    /// The chrome of a page of `section`.
    pub fn chrome(&self, section: Section) -> Chrome {
        Chrome {
            section,
            csrf: self.csrf.clone(),
            username: self.admitted.user.username.to_string(),
        }
    }

    /// Whether this is a POST (whose form token the dispatcher already checked).
    pub fn is_post(&self) -> bool {
        self.form.is_some()
    }

    /// The form of a POST (empty for a GET).
    pub fn form(&self) -> &Fields {
        static EMPTY: Fields = Fields(Vec::new());
        self.form.as_ref().unwrap_or(&EMPTY)
    }

    /// For a destructive action: `None` when this session signed in recently enough, else the
    /// answer that sends the browser to sign in again and come back to `return_to` (an `/admin`
    /// page; a POST cannot be replayed, so the administrator presses the button again).
    pub fn require_fresh(&self, return_to: &str) -> Option<Response> {
        guard::require_fresh(self.app, &self.admitted.session, return_to)
    }

    /// A page, rendered: 200 unless `status` says otherwise, never cached.
    pub fn page(&self, template: &impl askama::Template, status: StatusCode) -> Response {
        no_store(render(template, status))
    }

    /// After a change: back to `to` (a 303, so that reloading does not post again).
    pub fn done(&self, to: &str) -> Response {
        see_other(to)
    }

    /// The page for a command that failed: its reason in the page's language, and its status.
    pub fn failed(&self, e: &ServiceError) -> Response {
        let (failure, title, text) = match e {
            ServiceError::NotFound(_) => (
                PageFailure::NotFound,
                copy::t(copy::Msg("admin-not-found-title")),
                copy::t(copy::Msg("admin-not-found")),
            ),
            ServiceError::Invalid { .. } => (
                PageFailure::Invalid,
                copy::t(copy::Msg("admin-refused-title")),
                copy::service_refusal(e),
            ),
            ServiceError::Conflict { .. } => (
                PageFailure::Conflict,
                copy::t(copy::Msg("admin-refused-title")),
                copy::service_refusal(e),
            ),
            ServiceError::Forbidden(_) => (
                PageFailure::Forbidden,
                copy::t(copy::Msg("admin-refused-title")),
                copy::service_refusal(e),
            ),
            ServiceError::Internal(why) => {
                tracing::error!(error = %why, "an admin console request failed inside");
                (
                    PageFailure::Unavailable,
                    copy::t(copy::TRY_AGAIN_TITLE),
                    copy::t(copy::UNAVAILABLE),
                )
            }
        };
        no_store(message(page_status(failure), &title, &text))
    }

    /// The 404 page of a console path that names nothing.
    pub fn not_found(&self) -> Response {
        self.failed(&ServiceError::NotFound(String::new()))
    }

    /// The confirmation page of a destructive action (GET), whose form posts back with
    /// `confirm=yes`.
    pub fn confirm(&self, section: Section, c: Confirm<'_>) -> Response {
        let page = ConfirmPage {
            chrome: self.chrome(section),
            c,
        };
        self.page(&page, StatusCode::OK)
    }
}

/// What a confirmation page asks: `text` (HTML, from the catalogs), and a form that posts
/// `fields` (plus `confirm=yes`) to `action`, or a link back to `back`.
pub struct Confirm<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub action: &'a str,
    pub fields: &'a [(&'a str, &'a str)],
    pub button: &'a str,
    pub back: &'a str,
}

/// The confirmation page of a destructive action.
#[derive(askama::Template)]
#[template(path = "admin/confirm.html")]
struct ConfirmPage<'a> {
    chrome: Chrome,
    c: Confirm<'a>,
}

/// An address with its query, each value escaped: `href("/admin/users", &[("after", "bob")])`.
pub fn href(path: &str, query: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    let mut first = true;
    for (k, v) in query {
        if v.is_empty() {
            continue;
        }
        out.push(if first { '?' } else { '&' });
        first = false;
        out.extend(url::form_urlencoded::byte_serialize(k.as_bytes()));
        out.push('=');
        out.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
    }
    out
}

/// A path segment, escaped for an address (`/admin/users/{segment}`).
pub fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

/// The current address, as the sign-in's `return_to` (GET pages only; a POST returns to its
/// area).
fn return_address(req: &Request) -> String {
    let path = req.uri().path();
    if req.method() == Method::GET
        && let Some(q) = req.uri().query()
    {
        return format!("{path}?{q}");
    }
    if req.method() == Method::GET {
        path.to_owned()
    } else {
        "/admin".to_owned()
    }
}

/// `/admin` and every path below it, GET and POST.
#[handler]
pub async fn console(req: &Request, Data(app): Data<&App>, body: Body) -> Response {
    let admitted = match admit(app, session_cookie_value(app, req)).await {
        Ok(a) => a,
        Err(Refusal::NotSignedIn) => {
            return see_other(&guard::login_address(&return_address(req), false));
        }
        Err(Refusal::NeedsSecondFactor) => {
            return see_other(&guard::login_address(&return_address(req), true));
        }
        Err(Refusal::NotAdmin) => {
            return no_store(message(
                page_status(PageFailure::Forbidden),
                &copy::t(copy::Msg("admin-forbidden-title")),
                &copy::t(copy::Msg("admin-forbidden")),
            ));
        }
        Err(Refusal::Service(e)) => return super::factor::unavailable(&e),
    };
    let form = if req.method() == Method::POST {
        let bytes = match body.into_bytes().await {
            Ok(b) => b,
            Err(_) => {
                return message(
                    page_status(PageFailure::TooLarge),
                    &copy::t(copy::TRY_AGAIN_TITLE),
                    &copy::t(copy::FORM_EXPIRED_RELOAD),
                );
            }
        };
        let fields = Fields::parse(&bytes);
        if !csrf::verify(req, app, fields.get("csrf").unwrap_or("")) {
            return no_store(message(
                page_status(PageFailure::Forbidden),
                &copy::t(copy::FORM_EXPIRED_TITLE),
                &copy::t(copy::FORM_EXPIRED_RELOAD),
            ));
        }
        Some(fields)
    } else {
        None
    };
    let (token, set_cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return super::factor::unavailable(&ServiceError::Internal(e)),
    };
    let path = req
        .uri()
        .path()
        .strip_prefix("/admin")
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let call = Call {
        req,
        app,
        admitted,
        path,
        query: Fields::parse(req.uri().query().unwrap_or("").as_bytes()),
        form,
        csrf: token,
    };
    let resp = match call.path.first().map(String::as_str) {
        None => dashboard::route(&call).await,
        Some("users") => users::route(&call).await,
        Some("groups") => groups::route(&call).await,
        Some("clients") => clients::route(&call).await,
        Some("sessions") => sessions::route(&call).await,
        Some("audit") => audit::route(&call).await,
        Some("keys") => keys::route(&call).await,
        Some(_) => call.not_found(),
    };
    with_cookie(resp, set_cookie)
}
