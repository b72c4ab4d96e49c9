//! The operator's branding in the frame of every page (`[ui]` name, logo, accent, stylesheet)
//! and the three resources behind it, all served from memory: `/static/logo` (the file read at
//! start, with the type its magic bytes said), `/static/theme.css` (the accent colours as CSS
//! variables, generated from validated `#rrggbb` values, so no inline style is needed and the
//! CSP stays `style-src 'self'`) and `/static/custom.css` (the operator's extra stylesheet). Each
//! answers 404 when its key is not set.

use poem::http::StatusCode;
use poem::web::Data;
use poem::{IntoResponse, Response, handler};

use crate::domain::{Branding, Rgb};
use crate::service::App;

/// What base.html shows of the branding.
pub struct Frame {
    /// The product name: `[ui] name`, or the catalog's `product` in the page's language.
    pub name: String,
    /// Whether there is a logo to show (`/static/logo`).
    pub logo: bool,
    /// Whether `/static/theme.css` is linked.
    pub theme: bool,
    /// Whether `/static/custom.css` is linked.
    pub stylesheet: bool,
}

/// The frame of the page being rendered (Latchkey's own look outside a page request).
pub fn frame() -> Frame {
    let config = crate::web::i18n::page_config();
    let branding = config.as_ref().map(|c| &c.branding);
    Frame {
        name: branding
            .and_then(|b| b.name.clone())
            .unwrap_or_else(|| crate::web::i18n::t("product")),
        logo: branding.is_some_and(|b| b.logo.is_some()),
        theme: branding.is_some_and(Branding::has_theme),
        stylesheet: branding.is_some_and(|b| b.stylesheet.is_some()),
    }
}

/// How long a browser may keep a branding resource: they change only with a restart.
const CACHE: &str = "public, max-age=3600";

/// `GET /static/logo`: the logo with its type. An SVG opened on its own gets a CSP that runs no
/// script and loads nothing (inside an `<img>` it could not run any anyway).
#[handler]
pub fn logo(Data(app): Data<&App>) -> Response {
    let Some(logo) = &app.config.branding.logo else {
        return StatusCode::NOT_FOUND.into_response();
    };
    logo.bytes
        .clone()
        .with_content_type(logo.kind.content_type())
        .with_header("Cache-Control", CACHE)
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        )
        .into_response()
}

/// `GET /static/theme.css`: the accent colours as CSS variables.
#[handler]
pub fn theme(Data(app): Data<&App>) -> Response {
    let branding = &app.config.branding;
    if !branding.has_theme() {
        return StatusCode::NOT_FOUND.into_response();
    }
    css(theme_css(branding))
}

/// `GET /static/custom.css`: the operator's extra stylesheet, as read at start.
#[handler]
pub fn custom(Data(app): Data<&App>) -> Response {
    match &app.config.branding.stylesheet {
        Some(text) => css(text.clone()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn css(text: String) -> Response {
    text.with_content_type("text/css; charset=utf-8")
        .with_header("Cache-Control", CACHE)
        .with_header("X-Content-Type-Options", "nosniff")
        .into_response()
}

/// The theme stylesheet: `accent` for the light theme, `accent_dark` (or else `accent`) for the
/// dark one, each with black or white text, whichever has the better contrast on it.
pub fn theme_css(branding: &Branding) -> String {
    let rule = |accent: Rgb| format!("--accent: {accent}; --accent-text: {};", accent.text_on());
    let mut out = String::from("/* The accent colours of [ui] in identity.toml. */\n");
    if let Some(light) = branding.accent {
        out.push_str(&format!(":root {{ {} }}\n", rule(light)));
    }
    if let Some(dark) = branding.accent_dark.or(branding.accent) {
        out.push_str(&format!(
            "@media (prefers-color-scheme: dark) {{\n  :root {{ {} }}\n}}\n",
            rule(dark)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theme_sets_both_schemes_with_the_readable_text_colour() {
        let b = Branding {
            accent: Some(Rgb(0x0b, 0x6e, 0x4f)),
            accent_dark: Some(Rgb(0x7f, 0xd1, 0xb0)),
            ..Branding::default()
        };
        let css = theme_css(&b);
        assert!(
            css.contains(":root { --accent: #0b6e4f; --accent-text: #ffffff; }"),
            "{css}"
        );
        assert!(
            css.contains("@media (prefers-color-scheme: dark) {\n  :root { --accent: #7fd1b0; --accent-text: #000000; }"),
            "{css}"
        );
        let one = theme_css(&Branding {
            accent: Some(Rgb(0xff, 0xd7, 0x00)),
            ..Branding::default()
        });
        assert_eq!(
            one.matches("--accent: #ffd700; --accent-text: #000000;").count(),
            2,
            "{one}"
        );
    }
}
