//! `POST /language`: the switcher's form. It sets the language cookie and sends the browser back
//! to the page it came from (a local path only), with that page's `ui_locales` made to agree, since
//! `ui_locales` would otherwise outrank the choice just made.

use poem::http::{StatusCode, header};
use poem::web::{Data, Form};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::COOKIE;
use crate::domain::Language;
use crate::service::App;
use crate::web::csrf;

/// A year: the cookie outlives a session, like any language preference.
const COOKIE_AGE: u64 = 365 * 24 * 3600;
/// The longest return path kept.
const MAX_BACK: usize = 8 * 1024;

#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    back: String,
}

/// `POST /language`: `lang` (a supported code), `back` (a local path) and the form token.
#[handler]
pub fn choose_language(req: &Request, Data(app): Data<&App>, Form(f): Form<LanguageForm>) -> Response {
    if !csrf::verify(req, app, &f.csrf) {
        return crate::web::pages::message(
            crate::web::errors::page_status(crate::web::errors::PageFailure::Forbidden),
            &super::t("form-expired-title"),
            &super::t("form-expired-reload"),
        );
    }
    let Some(language) = Language::from_code(&f.lang) else {
        return crate::web::pages::message(
            crate::web::errors::page_status(crate::web::errors::PageFailure::Invalid),
            &super::t("invalid-request-title"),
            &super::t("language-unknown"),
        );
    };
    let cookie = csrf::set_cookie(
        COOKIE,
        language.code(),
        app.config.is_https(),
        "Lax",
        Some(COOKIE_AGE),
    );
    let back = agreeing(safe_back(&f.back), language);
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, back)
        .header(header::SET_COOKIE, cookie)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
        .into_response()
}

/// A local path on this server, or `/`: never another host (`//evil`, `/\evil`), never a header
/// break.
fn safe_back(back: &str) -> &str {
    let local = back.starts_with('/')
        && !back.starts_with("//")
        && !back.contains('\\')
        && !back.chars().any(char::is_control)
        && back.len() <= MAX_BACK;
    if local { back } else { "/" }
}

/// `back` with its `ui_locales` (and that of a `return_to` inside it) set to `language`.
fn agreeing(back: &str, language: Language) -> String {
    let Some((path, query)) = back.split_once('?') else {
        return back.to_owned();
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .take(128)
        .map(|(k, v)| {
            let v = match k.as_ref() {
                "ui_locales" => language.code().to_owned(),
                "return_to" if v.contains("ui_locales=") => agreeing(safe_back(&v), language),
                _ => v.into_owned(),
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.iter().any(|(_, v)| v.contains("ui_locales")) && !query.contains("ui_locales") {
        return back.to_owned();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_way_back_is_a_local_path() {
        assert_eq!(safe_back("/account"), "/account");
        assert_eq!(safe_back("//evil.example/"), "/");
        assert_eq!(safe_back("/\\evil.example/"), "/");
        assert_eq!(safe_back("https://evil.example/"), "/");
        assert_eq!(safe_back("/a\r\nSet-Cookie: x"), "/");
    }

    #[test]
    fn the_way_back_asks_for_the_chosen_language() {
        assert_eq!(agreeing("/account", Language::Ko), "/account");
        assert_eq!(agreeing("/login?fresh=1", Language::Ko), "/login?fresh=1");
        assert_eq!(
            agreeing("/oauth/authorize?client_id=a&ui_locales=ko", Language::En),
            "/oauth/authorize?client_id=a&ui_locales=en"
        );
        let nested = agreeing(
            "/login?return_to=%2Foauth%2Fauthorize%3Fclient_id%3Da%26ui_locales%3Dko",
            Language::En,
        );
        assert_eq!(
            nested,
            "/login?return_to=%2Foauth%2Fauthorize%3Fclient_id%3Da%26ui_locales%3Den"
        );
    }
}
