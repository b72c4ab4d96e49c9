//! The pages' languages: which one a request gets, the words in it, and the switcher on every
//! page.
//!
//! A middleware on every page route ([`context`]) chooses the language once per request, in this
//! order: the request's `ui_locales` (the query of `/oauth/authorize`, or inside the login page's
//! `return_to`), then the `latchkey-lang` cookie (set by the switcher, `POST /language`), then
//! `Accept-Language`, then `[ui] default_language`. It runs the handler inside a task-local
//! [`PageContext`], which the templates read through the `t` filter (`{{ "sign-in"|t }}`),
//! [`lang`] (`<html lang>`) and [`switcher`]; a handler that learns `ui_locales` later (from a
//! form body) calls [`prefer_ui_locales`]. Outside a page request (a unit test) the words are
//! English and there is no switcher.

pub mod catalog;
mod negotiate;
mod switch;

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use poem::http::{Method, header};
use poem::{Endpoint, IntoResponse, Request, Response};

pub use catalog::Value;
pub use switch::choose_language;

use crate::config::Config;
use crate::domain::Language;
use crate::service::App;
use crate::web::csrf;

/// The language cookie's name.
pub const COOKIE: &str = "latchkey-lang";

tokio::task_local! {
    static PAGE: PageContext;
}

/// What a page request knows while it renders: its language and the switcher's form.
struct PageContext {
    language: Cell<Language>,
    /// Where the switcher sends the browser back to: this page, when it was a `GET`, or what the
    /// handler of a POST said ([`set_back`]).
    back: RefCell<String>,
    /// The form token for the switcher, issued on first use (shared with the page's own forms).
    form: RefCell<Option<csrf::Issued>>,
    /// What issuing a form token needs, taken from the request.
    source: Option<csrf::Source>,
    /// The server's configuration, for the frame's branding (`[ui]` name, logo, theme).
    config: Option<Arc<Config>>,
}

/// The language of the page being rendered (English outside a page request).
pub fn current() -> Language {
    PAGE.try_with(|c| c.language.get()).unwrap_or_default()
}

/// The configuration of the server rendering the current page; `None` outside a page request.
pub fn page_config() -> Option<Arc<Config>> {
    PAGE.try_with(|c| c.config.clone()).ok().flatten()
}

/// The current page's language code, for `<html lang>`.
pub fn lang() -> &'static str {
    current().code()
}

/// Uses the first supported language of a `ui_locales` value the handler found (in a form body)
/// for the rest of this request; a value with none changes nothing.
pub fn prefer_ui_locales(value: Option<&str>) {
    if let Some(language) = value.and_then(negotiate::ui_locales) {
        let _ = PAGE.try_with(|c| c.language.set(language));
    }
}

/// Like [`prefer_ui_locales`], for a local address that carries `ui_locales` in its query (the
/// login form's `return_to`, a pending sign-in's destination).
pub fn prefer_ui_locales_in(path: &str) {
    if let Some(language) = negotiate::ui_locales_in(path) {
        let _ = PAGE.try_with(|c| c.language.set(language));
    }
}

/// Where the switcher of a page answering a POST returns to (a `GET` page's own address is the
/// default; a POST's is `/`).
pub fn set_back(path: String) {
    let _ = PAGE.try_with(|c| *c.back.borrow_mut() = path);
}

/// A message in the current page's language, as plain text.
pub fn t(id: &str) -> String {
    catalog::text(current(), id, &[])
}

/// A message with variables in the current page's language, as plain text.
pub fn text(id: &str, args: &[(&str, Value<'_>)]) -> String {
    catalog::text(current(), id, args)
}

/// A message with variables in the current page's language, as HTML (see [`catalog::html`]).
pub fn html(id: &str, args: &[(&str, Value<'_>)]) -> String {
    catalog::html(current(), id, args)
}

/// A time written the current page's way.
pub fn date_time(ts: crate::domain::Timestamp) -> String {
    catalog::date_time(current(), ts)
}

/// A list in running text, the current page's way.
pub fn and_list(items: &[String]) -> String {
    catalog::and_list(current(), items)
}

/// The form token of this page request, issued once and shared by all its forms, when there is a
/// page context; the `Set-Cookie` comes with the first call.
pub(crate) fn shared_form_token() -> Option<Result<(String, Option<String>), String>> {
    PAGE.try_with(|c| {
        let mut form = c.form.borrow_mut();
        if let Some(issued) = form.as_mut() {
            return Ok((issued.token.clone(), issued.cookie.take()));
        }
        let source = c.source.as_ref().ok_or("no form key")?;
        let mut issued = csrf::issue_from(source).map_err(|e| e.to_string())?;
        let cookie = issued.cookie.take();
        let token = issued.token.clone();
        *form = Some(issued);
        Ok((token, cookie))
    })
    .ok()
}

/// The language switcher of the current page: its form token, return path and choices.
pub struct Switcher {
    pub csrf: String,
    pub back: String,
    /// Each language's code, its name in itself, and whether it is the page's.
    pub choices: Vec<(&'static str, &'static str, bool)>,
}

/// The switcher for base.html; `None` outside a page request or without a form key.
pub fn switcher() -> Option<Switcher> {
    let (csrf, _) = shared_form_token()?.ok()?;
    let back = PAGE.try_with(|c| c.back.borrow().clone()).ok()?;
    let now = current();
    let choices = Language::ALL
        .into_iter()
        .map(|l| (l.code(), endonym(l), l == now))
        .collect();
    Some(Switcher { csrf, back, choices })
}

/// A language's name in itself, as a switcher lists it.
fn endonym(language: Language) -> &'static str {
    match language {
        Language::En => "English",
        Language::Ko => "한국어",
    }
}

/// The language a request asks for, in the documented order.
fn choose(req: &Request, default: Language) -> Language {
    let query = req.uri().query().unwrap_or("");
    let from_query = url::form_urlencoded::parse(query.as_bytes())
        .take(64)
        .find_map(|(k, v)| match k.as_ref() {
            "ui_locales" => negotiate::ui_locales(&v),
            "return_to" => negotiate::ui_locales_in(&v),
            _ => None,
        });
    if let Some(language) = from_query {
        return language;
    }
    let cookie = csrf::read_cookie(req, COOKIE).and_then(Language::from_code);
    let accept = || {
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(negotiate::accept_language)
    };
    cookie.or_else(accept).unwrap_or(default)
}

/// The middleware of every page route: chooses the language, runs the handler inside the page
/// context, and sets the form cookie if only the switcher asked for a token.
pub async fn context<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let app = req.data::<App>();
    let default = app.map_or(Language::En, |a| a.config.default_language);
    let language = choose(&req, default);
    let back = if req.method() == Method::GET {
        req.uri()
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned())
    } else {
        "/".to_owned()
    };
    let source = app.and_then(|a| csrf::source(&req, a).ok());
    let page = PageContext {
        language: Cell::new(language),
        back: RefCell::new(back),
        form: RefCell::new(None),
        source,
        config: app.map(|a| a.config.clone()),
    };
    PAGE.scope(page, async move {
        let mut resp = match next.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let left = PAGE
            .try_with(|c| c.form.borrow_mut().as_mut().and_then(|i| i.cookie.take()))
            .ok()
            .flatten();
        if let Some(cookie) = left
            && let Ok(v) = cookie.parse()
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        Ok(resp)
    })
    .await
}

/// The `t` filter of the templates: `{{ "message-id"|t }}`. Import it as `filters` next to a
/// template struct (`use crate::web::i18n::filters;`).
pub mod filters {
    /// The message with this id in the page's language (plain text; the template escapes it).
    #[askama::filter_fn]
    pub fn t(id: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::t(&id.to_string()))
    }
}
