//! The operator's branding of the pages (`[ui]` `name`, `logo`, `accent`, `accent_dark`,
//! `stylesheet`): the values as validated, the image types a logo may have (told by its magic
//! bytes, never by its file name), and the WCAG 2 contrast arithmetic that picks the text colour
//! on an accent and judges an accent against the card.

use std::fmt;

/// The largest logo file accepted: 256 KiB.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// The largest extra stylesheet accepted: 64 KiB.
pub const MAX_STYLESHEET_BYTES: usize = 64 * 1024;
/// The longest product name: 64 characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The card's background in the light theme (`--card` in static/style.css).
pub const CARD_LIGHT: Rgb = Rgb(0xff, 0xff, 0xff);
/// The card's background in the dark theme (`--card` in static/style.css).
pub const CARD_DARK: Rgb = Rgb(0x1b, 0x1f, 0x27);
/// The contrast WCAG 2.2 asks of user-interface components and large text (SC 1.4.11).
pub const MIN_UI_CONTRAST: f64 = 3.0;

/// Everything `[ui]` says about the look of the pages; the default is Latchkey's own look.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    /// The product name in every page's title and brand line; `None`: the catalog's `product`.
    pub name: Option<String>,
    /// The logo shown on every page, served at `/static/logo`.
    pub logo: Option<Logo>,
    /// The accent colour of the light theme (and of the dark one without `accent_dark`).
    pub accent: Option<Rgb>,
    /// The accent colour of the dark theme.
    pub accent_dark: Option<Rgb>,
    /// An extra stylesheet, served at `/static/custom.css` after the main one.
    pub stylesheet: Option<String>,
}

impl Branding {
    /// Whether anything changes the theme's colours (and so `/static/theme.css` is linked).
    pub fn has_theme(&self) -> bool {
        self.accent.is_some() || self.accent_dark.is_some()
    }
}

/// A logo file's bytes and its type.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    pub kind: ImageKind,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Logo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Logo({:?}, {} bytes)", self.kind, self.bytes.len())
    }
}

/// The image types a logo may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Webp,
    Svg,
}

impl ImageKind {
    /// The type the bytes say they are, from their first bytes; `None` for anything else.
    /// An SVG is text: an optional byte-order mark, XML declaration, comments or doctype, then
    /// an `<svg` element within the first 4 KiB.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(ImageKind::Png);
        }
        if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            return Some(ImageKind::Jpeg);
        }
        if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            return Some(ImageKind::Webp);
        }
        let head = bytes.get(..bytes.len().min(4096)).unwrap_or(bytes);
        let text = std::str::from_utf8(head).ok()?;
        let text = text.trim_start_matches('\u{feff}').trim_start();
        let looks_like_xml =
            text.starts_with("<?xml") || text.starts_with("<!--") || text.starts_with("<!DOCTYPE");
        if text.starts_with("<svg") || (looks_like_xml && text.contains("<svg")) {
            return Some(ImageKind::Svg);
        }
        None
    }

    /// The `Content-Type` the logo is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Webp => "image/webp",
            ImageKind::Svg => "image/svg+xml",
        }
    }
}

/// A colour as red, green and blue, each 0 to 255.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// Black, a text colour on an accent.
pub const BLACK: Rgb = Rgb(0, 0, 0);
/// White, a text colour on an accent.
pub const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);

impl Rgb {
    /// Parses `#rgb` or `#rrggbb` (hex digits in either case) and nothing else: no names, no
    /// `rgb()`, no alpha, no spaces; anything else could carry more CSS than a colour.
    pub fn parse(text: &str) -> Option<Rgb> {
        let hex = text.strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| hex.get(i..=i).and_then(|d| u8::from_str_radix(d, 16).ok());
        let pair = |i: usize| hex.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok());
        match hex.len() {
            3 => Some(Rgb(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
            6 => Some(Rgb(pair(0)?, pair(2)?, pair(4)?)),
            _ => None,
        }
    }

    /// The WCAG 2 relative luminance, 0 (black) to 1 (white).
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// The WCAG 2 contrast ratio between two colours, 1 to 21.
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a >= b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// Black or white, whichever has the better contrast on this colour (for button text).
    pub fn text_on(self) -> Rgb {
        if self.contrast(BLACK) >= self.contrast(WHITE) {
            BLACK
        } else {
            WHITE
        }
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_only_hex_triples_and_sextuples() {
        assert_eq!(Rgb::parse("#fff"), Some(WHITE));
        assert_eq!(Rgb::parse("#2F5bD3"), Some(Rgb(0x2f, 0x5b, 0xd3)));
        for bad in [
            "fff",
            "#ffff",
            "#ggg",
            "red",
            "#fff;}",
            "#ff ff ff",
            "",
            "#",
            "rgb(1,2,3)",
            "#ffffff00",
        ] {
            assert_eq!(Rgb::parse(bad), None, "{bad}");
        }
        assert_eq!(Rgb(0x2f, 0x5b, 0xd3).to_string(), "#2f5bd3");
    }

    #[test]
    fn the_text_colour_on_an_accent_is_the_one_with_the_better_contrast() {
        assert!((BLACK.contrast(WHITE) - 21.0).abs() < 1e-9);
        assert_eq!(Rgb(0x2f, 0x5b, 0xd3).text_on(), WHITE);
        assert_eq!(Rgb(0xff, 0xd7, 0x00).text_on(), BLACK);
        assert_eq!(Rgb(0x6d, 0x8f, 0xf0).text_on(), BLACK);
        // Yellow on the white card is hard to see; the default blue is not.
        assert!(Rgb(0xff, 0xd7, 0x00).contrast(CARD_LIGHT) < MIN_UI_CONTRAST);
        assert!(Rgb(0x2f, 0x5b, 0xd3).contrast(CARD_LIGHT) >= MIN_UI_CONTRAST);
    }

    #[test]
    fn a_logo_type_comes_from_its_magic_bytes() {
        assert_eq!(ImageKind::sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageKind::Png));
        assert_eq!(ImageKind::sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some(ImageKind::Jpeg));
        assert_eq!(ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageKind::Webp));
        assert_eq!(
            ImageKind::sniff(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Some(ImageKind::Svg)
        );
        assert_eq!(ImageKind::sniff(b"<svg/>"), Some(ImageKind::Svg));
        assert_eq!(ImageKind::sniff(b"<html><svg/></html>"), None);
        assert_eq!(ImageKind::sniff(b"GIF89a"), None);
        assert_eq!(ImageKind::sniff(b""), None);
    }
}
