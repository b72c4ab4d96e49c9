//! The operator's branding (`[ui]` name, logo, accent, accent_dark, stylesheet) in-process: the
//! name in every page's title and brand line, the logo, theme and extra stylesheet linked and
//! served from memory with their types, 404s when unset, the page CSP unchanged, and a client's
//! `data:` icon on its login page (an `https:` one is not shown: the page fetches nothing).

use std::path::Path;

use poem::http::StatusCode;

use crate::inproc::{InProc, REDIRECT};

const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"40\"><rect width=\"40\" height=\"40\" fill=\"#0b6e4f\"/></svg>\n";
/// A 1x1 PNG, base64.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn toml_path(p: &Path) -> String {
    p.display().to_string().replace('\\', "\\\\")
}

/// A server branded "Acme ID" with an SVG logo, both accents and an extra stylesheet (the files in `dir`).
async fn branded(dir: &Path) -> InProc {
    std::fs::write(dir.join("logo.svg"), SVG).unwrap();
    std::fs::write(dir.join("extra.css"), ".brand { letter-spacing: .2em; }\n").unwrap();
    InProc::new(&format!(
        "[ui]\nname = \"Acme ID\"\nlogo = \"{}\"\naccent = \"#0b6e4f\"\naccent_dark = \"#7FD1B0\"\nstylesheet = \"{}\"\n",
        toml_path(&dir.join("logo.svg")),
        toml_path(&dir.join("extra.css")),
    ))
    .await
}

#[tokio::test]
async fn the_product_name_logo_theme_and_stylesheet_are_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = branded(dir.path()).await;
    for path in ["/login", "/", "/setup", "/oauth/authorize?client_id=nobody"] {
        let page = s.get(path).await;
        let b = &page.body;
        assert!(
            b.contains("<title>") && b.contains(" · Acme ID</title>"),
            "{path}: {b}"
        );
        assert!(!b.contains("Latchkey</title>"), "{path}: {b}");
        assert!(
            b.contains("<img class=\"logo\" src=\"/static/logo\" alt=\"Acme ID\">"),
            "{path}: {b}"
        );
        let main = b.find("href=\"/static/style.css\"").unwrap();
        let theme = b
            .find("href=\"/static/theme.css\"")
            .unwrap_or_else(|| panic!("{path}: {b}"));
        let custom = b
            .find("href=\"/static/custom.css\"")
            .unwrap_or_else(|| panic!("{path}: {b}"));
        assert!(
            main < theme && theme < custom,
            "{path}: the extra stylesheet comes last"
        );
        // The CSP stays strict: no inline style, images from Latchkey only.
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("style-src 'self';") && csp.contains("img-src 'self';") && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
        assert!(!b.contains("style="), "{path}: no inline style");
    }
}

#[tokio::test]
async fn the_logo_theme_and_stylesheet_are_served_with_their_types() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = branded(dir.path()).await;
    let logo = s.get("/static/logo").await;
    assert_eq!(logo.status, StatusCode::OK);
    assert_eq!(logo.header("content-type"), Some("image/svg+xml"));
    assert_eq!(logo.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(logo.header("cache-control"), Some("public, max-age=3600"));
    assert!(
        logo.header("content-security-policy")
            .is_some_and(|c| c.contains("sandbox")),
        "an SVG opened on its own runs nothing: {:?}",
        logo.header("content-security-policy")
    );
    assert_eq!(logo.body, SVG);

    let theme = s.get("/static/theme.css").await;
    assert_eq!(theme.status, StatusCode::OK);
    assert_eq!(theme.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(theme.header("x-content-type-options"), Some("nosniff"));
    assert!(
        theme
            .body
            .contains(":root { --accent: #0b6e4f; --accent-text: #ffffff; }"),
        "{}",
        theme.body
    );
    assert!(
        theme.body.contains("@media (prefers-color-scheme: dark)")
            && theme.body.contains("--accent: #7fd1b0; --accent-text: #000000;"),
        "{}",
        theme.body
    );

    let custom = s.get("/static/custom.css").await;
    assert_eq!(custom.status, StatusCode::OK);
    assert_eq!(custom.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(custom.body, ".brand { letter-spacing: .2em; }\n");
}

#[tokio::test]
async fn a_png_logo_is_served_as_a_png() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let png = base64::engine::general_purpose::STANDARD.decode(PNG_B64).unwrap();
    // The file's name says nothing: its first bytes say PNG.
    let path = dir.path().join("logo.bin");
    std::fs::write(&path, &png).unwrap();
    let mut s = InProc::new(&format!("[ui]\nlogo = \"{}\"\n", toml_path(&path))).await;
    let logo = s.get("/static/logo").await;
    assert_eq!(logo.status, StatusCode::OK);
    assert_eq!(logo.header("content-type"), Some("image/png"));
    // Without a name, the alt text is the catalog's product name.
    let page = s.get("/login").await;
    assert!(page.body.contains("alt=\"Latchkey\""), "{}", page.body);
}

#[tokio::test]
async fn without_branding_the_pages_look_like_latchkey_and_the_resources_are_404() {
    let mut s = InProc::new("").await;
    let page = s.get("/login").await;
    assert!(page.body.contains(" · Latchkey</title>"), "{}", page.body);
    assert!(
        page.body
            .contains("<p class=\"brand\" aria-hidden=\"true\">Latchkey</p>"),
        "{}",
        page.body
    );
    for link in ["/static/theme.css", "/static/custom.css", "/static/logo"] {
        assert!(!page.body.contains(link), "{link} is linked: {}", page.body);
        assert_eq!(s.get(link).await.status, StatusCode::NOT_FOUND, "{link}");
    }
}

#[tokio::test]
async fn a_clients_data_icon_is_on_its_login_page_and_an_https_icon_is_not() {
    let data = format!("data:image/png;base64,{PNG_B64}");
    let mut s = InProc::new(&format!(
        "icon = \"{data}\"\n\n[[client]]\nclient_id = \"far\"\nname = \"Far Away\"\npublic = true\nredirect_uris = [\"{REDIRECT}\"]\nscopes = [\"openid\", \"profile\"]\nicon = \"https://cdn.example.com/far.png\"\n"
    ))
    .await;
    let page = s
        .get(&InProc::authorize_uri("spa", "http://127.0.0.1/cb", &[]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(&format!(
            "<img class=\"client-icon\" src=\"{data}\" alt=\"Single Page App\""
        )),
        "{}",
        page.body
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("img-src 'self' data:;"), "{csp}");
    assert!(!csp.contains("https:"), "{csp}");

    let far = s.get(&InProc::authorize_uri("far", REDIRECT, &[])).await;
    assert_eq!(far.status, StatusCode::OK, "{}", far.body);
    assert!(!far.body.contains("client-icon"), "{}", far.body);
    assert!(!far.body.contains("cdn.example.com"), "{}", far.body);
    let csp = far.header("content-security-policy").unwrap();
    assert!(csp.contains("img-src 'self';"), "{csp}");
    // A login page of its own (no client) shows no icon either.
    assert!(!s.get("/login").await.body.contains("client-icon"));
}

#[test]
fn check_config_warns_of_a_hard_to_see_accent_and_names_a_bad_logo_with_its_line() {
    use crate::harness::{Server, assert_failure, assert_success, default_config, stderr, stdout};
    let server = Server::with_config(|port| {
        default_config(port) + "\n[ui]\naccent = \"#ffd700\"\naccent_dark = \"#ffd700\"\n"
    });
    let ok = server.cli(&["check-config"]);
    assert_success(&ok);
    assert!(stdout(&ok).contains(": ok"), "{}", stdout(&ok));
    let warned = stderr(&ok);
    assert!(
        warned.contains("warning: line 6: `ui.accent`: #ffd700 has a contrast of") && warned.contains("3:1"),
        "{warned}"
    );
    assert!(
        !warned.contains("`ui.accent_dark`"),
        "yellow reads on the dark card: {warned}"
    );

    let bad = Server::with_config(|port| default_config(port) + "\n[ui]\nlogo = \"identity.toml\"\n");
    let message = assert_failure(&bad.cli(&["check-config"]));
    assert!(
        message.contains("line 6: `ui.logo`: `") && message.contains("is not a PNG, JPEG, WebP or SVG image"),
        "{message}"
    );
}
