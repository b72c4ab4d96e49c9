//! Unit tests of the branding keys of `[ui]`: bad colours, missing, oversized and mistyped files,
//! each named with its key and line, and the contrast warnings.

use std::path::Path;

use super::*;
use crate::domain::{ImageKind, Rgb};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

/// Parses `text` with relative paths resolved against `dir`.
fn parse_in(dir: &Path, text: &str) -> Result<Config, ConfigError> {
    parse("test.toml", text, Some(dir), &Overrides::default())
}

fn problems_in(dir: &Path, text: &str) -> Vec<(String, Option<usize>, String)> {
    parse_in(dir, text)
        .unwrap_err()
        .problems
        .into_iter()
        .map(|p| (p.key, p.line, p.message))
        .collect()
}

#[test]
fn the_branding_keys_are_read_with_their_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("logo.png"), PNG).unwrap();
    std::fs::write(dir.path().join("extra.css"), "h1 { letter-spacing: .1em; }\n").unwrap();
    let c = parse_in(
        dir.path(),
        "[ui]\nname = \"  Acme ID \"\nlogo = \"logo.png\"\naccent = \"#0B6E4F\"\naccent_dark = \"#7fd1b0\"\nstylesheet = \"./extra.css\"\n",
    )
    .unwrap();
    let b = &c.branding;
    assert_eq!(b.name.as_deref(), Some("Acme ID"));
    let logo = b.logo.as_ref().unwrap();
    assert_eq!((logo.kind, logo.bytes.as_slice()), (ImageKind::Png, PNG));
    assert_eq!(b.accent, Some(Rgb(0x0b, 0x6e, 0x4f)));
    assert_eq!(b.accent_dark, Some(Rgb(0x7f, 0xd1, 0xb0)));
    assert!(b.stylesheet.as_deref().unwrap().contains("letter-spacing"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // Nothing set: Latchkey's own look.
    assert_eq!(parse_ok_text("").branding, crate::domain::Branding::default());
}

fn parse_ok_text(text: &str) -> Config {
    parse("test.toml", text, None, &Overrides::default()).unwrap()
}

#[test]
fn a_colour_that_is_not_hex_is_refused_with_its_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems_in(
        dir.path(),
        "[ui]\naccent = \"red\"\naccent_dark = \"#123456; } body { display: none\"\n",
    );
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!((p[0].0.as_str(), p[0].1), ("ui.accent", Some(2)));
    assert!(p[0].2.contains("#rgb or #rrggbb"), "{p:?}");
    assert_eq!((p[1].0.as_str(), p[1].1), ("ui.accent_dark", Some(3)));
}

#[test]
fn a_missing_logo_or_stylesheet_is_refused_with_its_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems_in(
        dir.path(),
        "[ui]\n\nlogo = \"nowhere.png\"\nstylesheet = \"nowhere.css\"\n",
    );
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!((p[0].0.as_str(), p[0].1), ("ui.logo", Some(3)));
    assert!(
        p[0].2.contains("cannot read") && p[0].2.contains("nowhere.png"),
        "{p:?}"
    );
    assert_eq!((p[1].0.as_str(), p[1].1), ("ui.stylesheet", Some(4)));
    // Administrative commands do not read them.
    let c = parse_with(
        "test.toml",
        "[ui]\nlogo = \"nowhere.png\"\n",
        Some(dir.path()),
        &Overrides::default(),
        Clients::Skip,
    )
    .unwrap();
    assert!(c.branding.logo.is_none());
}

#[test]
fn an_oversized_logo_or_stylesheet_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = PNG.to_vec();
    big.resize(256 * 1024 + 1, 0);
    std::fs::write(dir.path().join("big.png"), &big).unwrap();
    std::fs::write(dir.path().join("big.css"), "a{}".repeat(22 * 1024)).unwrap();
    let p = problems_in(dir.path(), "[ui]\nlogo = \"big.png\"\nstylesheet = \"big.css\"\n");
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!((p[0].0.as_str(), p[0].1), ("ui.logo", Some(2)));
    assert!(p[0].2.contains("at most 256 KiB"), "{p:?}");
    assert_eq!((p[1].0.as_str(), p[1].1), ("ui.stylesheet", Some(3)));
    assert!(p[1].2.contains("at most 64 KiB"), "{p:?}");
    // Exactly at the limit is fine.
    big.truncate(256 * 1024);
    std::fs::write(dir.path().join("big.png"), &big).unwrap();
    assert!(parse_in(dir.path(), "[ui]\nlogo = \"big.png\"\n").is_ok());
}

#[test]
fn a_logo_that_is_not_an_image_is_refused_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("logo.png"),
        "<html><script>alert(1)</script></html>",
    )
    .unwrap();
    std::fs::write(dir.path().join("logo.gif"), "GIF89a....").unwrap();
    std::fs::write(dir.path().join("bad.css"), [0xff, 0xfe, 0x00]).unwrap();
    for (file, line) in [("logo.png", 2), ("logo.gif", 2)] {
        let p = problems_in(dir.path(), &format!("[ui]\nlogo = \"{file}\"\n"));
        assert_eq!((p[0].0.as_str(), p[0].1), ("ui.logo", Some(line)), "{file}");
        assert!(p[0].2.contains("not a PNG, JPEG, WebP or SVG"), "{p:?}");
    }
    let p = problems_in(dir.path(), "[ui]\nstylesheet = \"bad.css\"\n");
    assert_eq!((p[0].0.as_str(), p[0].1), ("ui.stylesheet", Some(2)));
    assert!(p[0].2.contains("UTF-8"), "{p:?}");
    let p = problems_in(dir.path(), "[ui]\nlogo = \".\"\n");
    assert!(p[0].2.contains("not a file"), "{p:?}");
}

#[test]
fn a_bad_product_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "   ", "a\\u0007b"] {
        let p = problems_in(dir.path(), &format!("[ui]\nname = \"{bad}\"\n"));
        assert_eq!((p[0].0.as_str(), p[0].1), ("ui.name", Some(2)), "{bad:?}");
    }
    let long = "x".repeat(65);
    let p = problems_in(dir.path(), &format!("[ui]\nname = \"{long}\"\n"));
    assert_eq!(p[0].0, "ui.name");
}

#[test]
fn an_accent_hard_to_see_on_the_card_is_a_warning_with_its_line() {
    // Yellow is hard to see on the light card; one accent serves both themes and is judged on both.
    let c = parse_ok_text("issuer = \"https://id.example\"\n[ui]\naccent = \"#ffd700\"\n");
    let w: Vec<(&str, Option<usize>)> = c.warnings.iter().map(|w| (w.key.as_str(), w.line)).collect();
    assert_eq!(w, [("ui.accent", Some(3))], "{:?}", c.warnings);
    assert!(c.warnings[0].message.contains("3:1") && c.warnings[0].message.contains("light"));
    // A dark blue is fine on the light card but not on the dark one, unless accent_dark says.
    let c = parse_ok_text("[ui]\naccent = \"#1f3a93\"\n");
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].message.contains("dark"), "{:?}", c.warnings);
    let c = parse_ok_text("[ui]\naccent = \"#1f3a93\"\naccent_dark = \"#8fb0ff\"\n");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let c = parse_ok_text("[ui]\naccent = \"#1f3a93\"\naccent_dark = \"#222\"\n");
    assert_eq!(c.warnings[0].key, "ui.accent_dark");
    assert_eq!(c.warnings[0].line, Some(3));
}
