//! Which language a request asks for: OpenID Connect's `ui_locales`, the language cookie and
//! `Accept-Language` (RFC 9110 section 12.5.4), each read with a bound on how much of it is
//! looked at, since all three are client input.

use crate::domain::Language;

/// The most tags looked at in one `ui_locales` or `Accept-Language`.
const MAX_TAGS: usize = 16;
/// The longest tag looked at (a longer one is skipped).
const MAX_TAG_LEN: usize = 64;

/// The first supported language of a space-separated `ui_locales` (OpenID Connect Core
/// 3.1.2.1), if any.
pub fn ui_locales(value: &str) -> Option<Language> {
    value
        .split_ascii_whitespace()
        .take(MAX_TAGS)
        .filter(|tag| tag.len() <= MAX_TAG_LEN)
        .find_map(Language::from_tag)
}

/// The `ui_locales` parameter inside a local address's query (`/oauth/authorize?...`), such as the
/// login page's `return_to`.
pub fn ui_locales_in(path: &str) -> Option<Language> {
    let (_, query) = path.split_once('?')?;
    url::form_urlencoded::parse(query.as_bytes())
        .take(64)
        .find(|(k, _)| k == "ui_locales")
        .and_then(|(_, v)| ui_locales(&v))
}

/// The supported language an `Accept-Language` header prefers most: the highest `q` wins, the
/// earlier tag among equals; `q=0` refuses a language.
pub fn accept_language(value: &str) -> Option<Language> {
    let mut best: Option<(u16, Language)> = None;
    for item in value.split(',').take(MAX_TAGS) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        if tag.len() > MAX_TAG_LEN {
            continue;
        }
        let mut q = 1000;
        for param in parts {
            if let Some(v) = param
                .trim()
                .strip_prefix("q=")
                .or_else(|| param.trim().strip_prefix("Q="))
            {
                q = quality(v).unwrap_or(0);
            }
        }
        if let Some(language) = Language::from_tag(tag)
            && q > 0
            && best.is_none_or(|(b, _)| q > b)
        {
            best = Some((q, language));
        }
    }
    best.map(|(_, language)| language)
}

/// A quality value in thousandths (`0.5` -> 500), or `None` when it is not one.
fn quality(v: &str) -> Option<u16> {
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    for (i, b) in frac.bytes().enumerate() {
        let scale = [100, 10, 1][i];
        thousandths += u16::from(b - b'0') * scale;
    }
    (thousandths <= 1000).then_some(thousandths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_takes_the_first_supported_tag() {
        assert_eq!(ui_locales("fr ko en"), Some(Language::Ko));
        assert_eq!(ui_locales("fr-CA  en-US"), Some(Language::En));
        assert_eq!(ui_locales("fr de"), None);
        let many = "fr ".repeat(100_000) + "ko";
        assert_eq!(ui_locales(&many), None, "only the first tags are looked at");
        assert_eq!(
            ui_locales_in("/oauth/authorize?client_id=a&ui_locales=fr%20ko"),
            Some(Language::Ko)
        );
        assert_eq!(ui_locales_in("/account"), None);
    }

    #[test]
    fn accept_language_honours_quality_values() {
        assert_eq!(accept_language("ko-KR,ko;q=0.9,en;q=0.5"), Some(Language::Ko));
        assert_eq!(accept_language("en;q=0.4, ko;q=0.8"), Some(Language::Ko));
        assert_eq!(accept_language("fr, en-GB;q=0.7, ko;q=0.7"), Some(Language::En));
        assert_eq!(accept_language("ko;q=0, en;q=0.1"), Some(Language::En));
        assert_eq!(accept_language("ko;q=2"), None);
        assert_eq!(accept_language("*"), None);
        assert_eq!(accept_language(""), None);
    }
}
