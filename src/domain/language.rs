//! The languages the pages are written in: a closed set, so a language tag from a request or the
//! configuration is either one of these or ignored.

/// A language the pages are translated into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// English, the language every message is written in first.
    #[default]
    En,
    /// Korean.
    Ko,
}

impl Language {
    /// Every supported language, in the order discovery lists them (`ui_locales_supported`).
    pub const ALL: [Language; 2] = [Language::En, Language::Ko];

    /// The BCP 47 tag (`en`, `ko`), as in `<html lang>`, the catalog's folder and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ko => "ko",
        }
    }

    /// The language exactly named by `code` (`en`, `ko`), as the configuration and the cookie
    /// hold it.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language a BCP 47 tag asks for, by its primary subtag and ignoring case: `ko-KR` and
    /// `KO` are Korean, `en-GB` English; `fr` or `*` is none.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        Language::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }
}

#[cfg(test)]
mod tests {
    use super::Language;

    #[test]
    fn tags_match_by_primary_subtag_ignoring_case() {
        assert_eq!(Language::from_tag("ko-KR"), Some(Language::Ko));
        assert_eq!(Language::from_tag("EN-gb"), Some(Language::En));
        assert_eq!(Language::from_tag("fr"), None);
        assert_eq!(Language::from_tag("*"), None);
        assert_eq!(Language::from_tag(""), None);
        assert_eq!(Language::from_code("ko-KR"), None);
    }
}
