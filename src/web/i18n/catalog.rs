//! The message catalogs: `locales/<language>/*.ftl` (Fluent), embedded in the binary, and the
//! lookups the pages use. Every message is a whole sentence; values go into named variables
//! (`{ $client }`), never concatenated around a message.
//!
//! Escaping: [`text`] returns plain text for a template to escape; [`html`] returns markup in
//! which the message's own words and every [`Value`] are escaped and only [`Value::Strong`] adds
//! a tag of ours, so no value a user typed reaches a page unescaped.

use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, langid};

use crate::domain::{Language, Timestamp};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around values: the pages set `lang` and the values are
        // names and numbers; marks would also change every English sentence the tests read.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

fn langid(language: Language) -> LanguageIdentifier {
    match language {
        Language::En => langid!("en"),
        Language::Ko => langid!("ko"),
    }
}

/// A value for a message variable.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// Text, escaped where the message is markup.
    Text(&'a str),
    /// Text shown in bold (`<strong>`, the text escaped); plain text in [`text`].
    Strong(&'a str),
    /// A number (Fluent selects plural forms by it).
    Number(u64),
    /// Markup built by our own code (a link whose words come from the catalog), put into an HTML
    /// message as it is. Never user input.
    Markup(&'a str),
}

/// The message `id` in `language` with `args`, falling back to English; a message missing from
/// every catalog (the completeness test prevents it) reads as its id and is logged.
fn lookup(language: Language, id: &str, args: &HashMap<&str, FluentValue<'_>>) -> String {
    let args = (!args.is_empty()).then_some(args);
    for lang in [language, Language::En] {
        match LOCALES.lookup_single_language(&langid(lang), id, args) {
            Ok(words) => return words,
            Err(e) => tracing::error!(id, language = lang.code(), error = %e, "a message failed"),
        }
    }
    id.to_owned()
}

/// A message as plain text (a template escapes it), with its variables filled.
pub fn text(language: Language, id: &str, args: &[(&str, Value<'_>)]) -> String {
    let args = args
        .iter()
        .map(|(name, v)| {
            let value = match v {
                Value::Text(t) | Value::Strong(t) | Value::Markup(t) => FluentValue::from(*t),
                Value::Number(n) => FluentValue::from(*n),
            };
            (*name, value)
        })
        .collect();
    lookup(language, id, &args)
}

/// Marks where a variable's value goes, so the message's words can be escaped before the values
/// are put in: private-use characters, which no catalog uses and escaping leaves alone.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// A message as HTML: its words escaped, each value escaped, [`Value::Strong`] values in
/// `<strong>`.
pub fn html(language: Language, id: &str, args: &[(&str, Value<'_>)]) -> String {
    let marked = args
        .iter()
        .enumerate()
        .map(|(i, (name, v))| {
            let value = match v {
                Value::Number(n) => FluentValue::from(*n),
                Value::Text(_) | Value::Strong(_) | Value::Markup(_) => {
                    FluentValue::from(format!("{OPEN}{i}{CLOSE}"))
                }
            };
            (*name, value)
        })
        .collect();
    let words = lookup(language, id, &marked);
    let mut out = String::with_capacity(words.len() + 64);
    let mut rest = words.as_str();
    while let Some(open) = rest.find(OPEN) {
        escape(&rest[..open], &mut out);
        let after = &rest[open + OPEN.len_utf8()..];
        let Some(close) = after.find(CLOSE) else {
            escape(after, &mut out);
            return out;
        };
        match after[..close].parse::<usize>().ok().and_then(|i| args.get(i)) {
            Some((_, Value::Strong(v))) => {
                out.push_str("<strong>");
                escape(v, &mut out);
                out.push_str("</strong>");
            }
            Some((_, Value::Text(v))) => escape(v, &mut out),
            Some((_, Value::Markup(v))) => out.push_str(v),
            Some((_, Value::Number(n))) => out.push_str(&n.to_string()),
            None => {}
        }
        rest = &after[close + CLOSE.len_utf8()..];
    }
    escape(rest, &mut out);
    out
}

/// Escapes text for HTML exactly as askama does, so filled messages read as the templates do.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '&' => out.push_str("&#38;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&#60;"),
            '>' => out.push_str("&#62;"),
            c => out.push(c),
        }
    }
}

/// A Unix time as a UTC date and minute, written the language's way (`2026-12-01 14:05 UTC`,
/// `2026년 12월 1일 14:05 UTC`).
pub fn date_time(language: Language, ts: Timestamp) -> String {
    let secs = ts.0;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let (hour, minute) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    match language {
        Language::En => format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC"),
        Language::Ko => format!("{year}년 {month}월 {day}일 {hour:02}:{minute:02} UTC"),
    }
}

/// A list in running text (`a password and a passkey`, `비밀번호 및 패스키`).
pub fn and_list(language: Language, items: &[String]) -> String {
    let mut iter = items.iter();
    let Some(first) = iter.next() else {
        return String::new();
    };
    iter.fold(first.clone(), |acc, next| {
        text(
            language,
            "list-and",
            &[("first", Value::Text(&acc)), ("second", Value::Text(next))],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_strong_values_marked_up() {
        let out = html(
            Language::En,
            "consent-lead",
            &[
                ("client", Value::Strong("A<B")),
                ("username", Value::Strong("bob")),
            ],
        );
        assert_eq!(
            out,
            "<strong>A&#60;B</strong> asks to use your account <strong>bob</strong>."
        );
        let ko = html(
            Language::Ko,
            "consent-lead",
            &[
                ("client", Value::Strong("A<B")),
                ("username", Value::Strong("{ $x }")),
            ],
        );
        assert!(ko.contains("<strong>A&#60;B</strong>"), "{ko}");
        assert!(ko.contains("<strong>{ $x }</strong>"), "{ko}");
    }

    #[test]
    fn dates_are_written_per_language() {
        assert_eq!(date_time(Language::En, Timestamp(0)), "1970-01-01 00:00 UTC");
        assert_eq!(
            date_time(Language::En, Timestamp(1_800_000_000)),
            "2027-01-15 08:00 UTC"
        );
        assert_eq!(
            date_time(Language::En, Timestamp(951_782_400)),
            "2000-02-29 00:00 UTC"
        );
        assert_eq!(
            date_time(Language::Ko, Timestamp(1_800_000_000)),
            "2027년 1월 15일 08:00 UTC"
        );
    }

    #[test]
    fn a_missing_message_reads_as_its_id() {
        assert_eq!(text(Language::Ko, "no-such-message", &[]), "no-such-message");
    }
}
