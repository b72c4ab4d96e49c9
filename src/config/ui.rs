//! Validating the branding keys of `[ui]`: the product name, the logo and extra stylesheet
//! files (read once here, size-limited, the logo's type told by its magic bytes) and the accent
//! colours (strict `#rgb`/`#rrggbb`, with a warning when one is hard to see on the card).

use std::path::Path;

use toml::Spanned;

use super::raw::RawUi;
use super::validate::Validator;
use super::{Clients, Problem, line_of, resolve};
use crate::domain::{
    Branding, CARD_DARK, CARD_LIGHT, ImageKind, Logo, MAX_LOGO_BYTES, MAX_NAME_CHARS, MAX_STYLESHEET_BYTES,
    MIN_UI_CONTRAST, Rgb,
};

impl Validator<'_> {
    /// `[ui]` `name`, `logo`, `accent`, `accent_dark` and `stylesheet`. The files are read only
    /// for `serve` and `check-config` (an administrative command leaves them out, as it does the
    /// TLS files); `warnings` collects accents with too little contrast on the card.
    pub(super) fn branding(
        &mut self,
        raw: &RawUi,
        base: Option<&Path>,
        warnings: &mut Vec<Problem>,
    ) -> Branding {
        let name = raw.name.as_ref().and_then(|n| {
            let text = n.get_ref().trim();
            if text.is_empty() || text.chars().count() > MAX_NAME_CHARS || text.chars().any(char::is_control)
            {
                self.problem(
                    "ui.name",
                    Some(n),
                    format!("must have 1 to {MAX_NAME_CHARS} characters and no control characters"),
                );
                None
            } else {
                Some(text.to_owned())
            }
        });
        let read = self.clients == Clients::Validate;
        let logo = raw.logo.as_ref().filter(|_| read).and_then(|at| {
            let bytes = self.file("ui.logo", at, base, MAX_LOGO_BYTES)?;
            match ImageKind::sniff(&bytes) {
                Some(kind) => Some(Logo { kind, bytes }),
                None => {
                    self.problem(
                        "ui.logo",
                        Some(at),
                        format!(
                            "`{}` is not a PNG, JPEG, WebP or SVG image (judged by its first bytes)",
                            at.get_ref().escape_debug()
                        ),
                    );
                    None
                }
            }
        });
        let stylesheet = raw.stylesheet.as_ref().filter(|_| read).and_then(|at| {
            let bytes = self.file("ui.stylesheet", at, base, MAX_STYLESHEET_BYTES)?;
            match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => {
                    self.problem("ui.stylesheet", Some(at), "is not UTF-8 text");
                    None
                }
            }
        });
        let accent = self.accent("ui.accent", raw.accent.as_ref(), CARD_LIGHT, "light", warnings);
        // Without `accent_dark`, the one accent serves the dark theme too, and is judged there.
        let accent_dark = match raw.accent_dark.as_ref() {
            Some(at) => self.accent("ui.accent_dark", Some(at), CARD_DARK, "dark", warnings),
            None => {
                if let (Some(colour), Some(at)) = (accent, raw.accent.as_ref()) {
                    self.contrast_warning("ui.accent", at, colour, CARD_DARK, "dark", warnings);
                }
                None
            }
        };
        Branding {
            name,
            logo,
            accent,
            accent_dark,
            stylesheet,
        }
    }

    /// A file named by `key`, at most `limit` bytes.
    fn file(
        &mut self,
        key: &str,
        at: &Spanned<String>,
        base: Option<&Path>,
        limit: usize,
    ) -> Option<Vec<u8>> {
        let path = resolve(base, at.get_ref());
        let shown = path.display().to_string();
        match std::fs::metadata(&path) {
            Ok(m) if !m.is_file() => {
                self.problem(key, Some(at), format!("`{}` is not a file", shown.escape_debug()));
                return None;
            }
            Ok(m) if m.len() > limit as u64 => {
                self.problem(
                    key,
                    Some(at),
                    format!(
                        "`{}` has {} bytes; at most {} KiB are accepted",
                        shown.escape_debug(),
                        m.len(),
                        limit / 1024
                    ),
                );
                return None;
            }
            _ => {}
        }
        match std::fs::read(&path) {
            // The file may have grown since the look at its size.
            Ok(bytes) if bytes.len() > limit => {
                self.problem(key, Some(at), format!("is larger than {} KiB", limit / 1024));
                None
            }
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.problem(
                    key,
                    Some(at),
                    format!("cannot read `{}`: {e}", shown.escape_debug()),
                );
                None
            }
        }
    }

    /// An accent colour: `#rgb` or `#rrggbb`, with a warning when it has less than 3:1 contrast
    /// on the card of its theme.
    fn accent(
        &mut self,
        key: &str,
        at: Option<&Spanned<String>>,
        card: Rgb,
        theme: &str,
        warnings: &mut Vec<Problem>,
    ) -> Option<Rgb> {
        let at = at?;
        match Rgb::parse(at.get_ref()) {
            Some(colour) => {
                self.contrast_warning(key, at, colour, card, theme, warnings);
                Some(colour)
            }
            None => {
                self.problem(
                    key,
                    Some(at),
                    format!(
                        "`{}` is not a colour written #rgb or #rrggbb",
                        at.get_ref().escape_debug()
                    ),
                );
                None
            }
        }
    }

    fn contrast_warning(
        &self,
        key: &str,
        at: &Spanned<String>,
        colour: Rgb,
        card: Rgb,
        theme: &str,
        warnings: &mut Vec<Problem>,
    ) {
        let ratio = colour.contrast(card);
        if ratio < MIN_UI_CONTRAST {
            warnings.push(Problem {
                line: Some(line_of(self.text, at.span().start)),
                key: key.to_owned(),
                message: format!(
                    "{colour} has a contrast of {ratio:.2}:1 on the {theme} theme's card ({card}); \
                     WCAG 2.2 asks at least 3:1 for the brand line, links and focus rings"
                ),
            });
        }
    }
}
