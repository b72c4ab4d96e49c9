//! What the app launcher (`/apps`) shows of a client: where to open it (`launch_url`) and its
//! picture (`icon`), both checked when they are registered, and the group rule that decides who
//! may use a client at all (`allowed_groups`).

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{InvalidRedirectUri, RedirectUri};

/// Why a launch URL or an icon cannot be registered. The text is the English the admin API, the
/// CLI and the configuration check show; the pages say it in their language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidLink {
    /// A launch URL that breaks a redirect URI's rule.
    #[error("launch URL `{}` {}", .0.uri, .0.reason)]
    LaunchUrl(InvalidRedirectUri),
    /// An icon over [`MAX_ICON_LEN`] characters.
    #[error("an icon is at most {MAX_ICON_LEN} characters (16 KiB); this one has {len}")]
    IconTooLong { len: usize },
    /// A `data:` icon whose data is not base64.
    #[error("the icon's data: URL does not hold valid base64")]
    IconNotBase64,
    /// A `data:image/png` icon whose data is not a PNG.
    #[error("the icon says image/png but its data is not a PNG")]
    IconNotPng,
    /// An https icon URL that breaks a redirect URI's rule.
    #[error("icon URL `{}` {}", .0.uri, .0.reason)]
    IconUrl(InvalidRedirectUri),
    /// An icon that is neither an https URL nor a PNG or SVG `data:` URL.
    #[error("an icon is an https:// URL or a data:image/png;base64, or data:image/svg+xml;base64, URL")]
    IconScheme,
}

/// Where the app launcher sends a user to open a client: an absolute `https` URL, or `http` on
/// `localhost`, `127.0.0.1` or `[::1]` for a client with the development opt-in
/// (`allow_http_localhost`, checked by [`crate::domain::Client::rule_violations`]). The same
/// rules as a redirect URI otherwise: no user information, fragment, wildcard, whitespace,
/// control characters or dot segments, at most 2048 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LaunchUrl(String);

impl LaunchUrl {
    pub fn parse(raw: &str) -> Result<LaunchUrl, InvalidLink> {
        let uri = RedirectUri::parse_for(raw, true).map_err(InvalidLink::LaunchUrl)?;
        Ok(LaunchUrl(uri.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this URL is plain `http` (on a loopback host), which needs the client's
    /// development opt-in.
    pub fn is_plain_http(&self) -> bool {
        self.0.starts_with("http://")
    }
}

impl TryFrom<String> for LaunchUrl {
    type Error = InvalidLink;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        LaunchUrl::parse(&s)
    }
}

impl From<LaunchUrl> for String {
    fn from(l: LaunchUrl) -> String {
        l.0
    }
}

impl fmt::Display for LaunchUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest icon accepted, as the whole URL: 16 KiB.
pub const MAX_ICON_LEN: usize = 16 * 1024;

/// The `data:` URL prefixes an icon may have: a PNG or an SVG image, base64-encoded.
const DATA_PREFIXES: [&str; 2] = ["data:image/png;base64,", "data:image/svg+xml;base64,"];

/// A client's picture on the app launcher: a `data:image/png;base64,` or
/// `data:image/svg+xml;base64,` URL (the image travels with the page, nothing is fetched), or
/// an absolute `https` URL of an image, which the user's browser fetches from there (the
/// launcher's CSP admits `img-src https:` for it). At most [`MAX_ICON_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientIcon(String);

impl ClientIcon {
    pub fn parse(raw: &str) -> Result<ClientIcon, InvalidLink> {
        if raw.len() > MAX_ICON_LEN {
            return Err(InvalidLink::IconTooLong { len: raw.len() });
        }
        if let Some(data) = DATA_PREFIXES.iter().find_map(|p| raw.strip_prefix(p)) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| InvalidLink::IconNotBase64)?;
            if raw.starts_with(DATA_PREFIXES[0]) && !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                return Err(InvalidLink::IconNotPng);
            }
            return Ok(ClientIcon(raw.to_owned()));
        }
        if raw.starts_with("https://") {
            return match RedirectUri::parse(raw) {
                Ok(_) => Ok(ClientIcon(raw.to_owned())),
                Err(e) => Err(InvalidLink::IconUrl(e)),
            };
        }
        Err(InvalidLink::IconScheme)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the picture travels inside its URL (`data:`), so showing it fetches nothing.
    pub fn is_data(&self) -> bool {
        self.0.starts_with("data:")
    }
}

impl TryFrom<String> for ClientIcon {
    type Error = InvalidLink;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ClientIcon::parse(&s)
    }
}

impl From<ClientIcon> for String {
    fn from(i: ClientIcon) -> String {
        i.0
    }
}

/// Whether `group` is a group name: 1 to 64 letters, digits, `.`, `_` or `-` (the rule for a
/// user's groups and a client's `allowed_groups` alike).
pub fn valid_group(group: &str) -> bool {
    !group.is_empty()
        && group.len() <= 64
        && group
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_urls_are_https_or_loopback_http_without_the_dangerous_shapes() {
        for ok in [
            "https://grafana.example.com/",
            "https://app.example.com:8443/start?x=1",
            "http://localhost:3000/",
            "http://127.0.0.1:8080/",
        ] {
            assert!(LaunchUrl::parse(ok).is_ok(), "{ok}");
        }
        assert!(
            LaunchUrl::parse("http://localhost:3000/")
                .unwrap()
                .is_plain_http()
        );
        assert!(!LaunchUrl::parse("https://a.example/").unwrap().is_plain_http());
        for bad in [
            "javascript:alert(1)",
            "http://grafana.example.com/",
            "https://user@grafana.example.com/",
            "https://grafana.example.com/#x",
            "ftp://grafana.example.com/",
            "/relative",
            "",
        ] {
            let e = LaunchUrl::parse(bad).unwrap_err();
            assert!(e.to_string().contains("launch URL"), "{bad}: {e}");
        }
    }

    #[test]
    fn icons_are_png_or_svg_data_urls_up_to_16_kib_or_https_urls() {
        let png = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nrest")
        );
        assert!(ClientIcon::parse(&png).is_ok());
        let svg = format!(
            "data:image/svg+xml;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
        );
        assert!(ClientIcon::parse(&svg).is_ok());
        assert!(ClientIcon::parse("https://cdn.example.com/icon.png").is_ok());
        let not_png = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"GIF89a")
        );
        let big = format!("data:image/svg+xml;base64,{}", "A".repeat(MAX_ICON_LEN));
        for bad in [
            not_png.as_str(),
            big.as_str(),
            "data:image/png;base64,!!!",
            "data:text/html;base64,PGI+aGk8L2I+",
            "data:image/svg+xml,<svg/>",
            "http://cdn.example.com/icon.png",
            "https://user@cdn.example.com/icon.png",
            "javascript:alert(1)",
            "",
        ] {
            assert!(ClientIcon::parse(bad).is_err(), "{}", &bad[..bad.len().min(60)]);
        }
    }

    #[test]
    fn group_names_are_short_words() {
        assert!(valid_group("staff"));
        assert!(valid_group("team.ops-2_a"));
        for bad in ["", "a b", "a/b", &"x".repeat(65)] {
            assert!(!valid_group(bad), "{bad}");
        }
    }
}
