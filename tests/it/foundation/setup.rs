//! The first-start setup link.

use super::*;

/// Asserts the security headers every HTML page carries.
#[track_caller]
fn assert_page_headers(headers: &HeaderMap) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
            .to_owned()
    };
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-content-type-options"), "nosniff");
}

/// The value of the hidden form field `name` in `html`.
#[track_caller]
fn hidden_field(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name} in:\n{html}"));
    let start = html[..at].rfind('<').expect("the field is in a tag");
    let end = at + html[at..].find('>').expect("the tag ends");
    let tag = &html[start..end];
    assert!(
        tag.starts_with("<input") && tag.contains("type=\"hidden\""),
        "{tag} is not a hidden input"
    );
    let value = tag.split("value=\"").nth(1).expect("the field has a value");
    value[..value.find('"').expect("the value ends")].to_owned()
}

/// The setup page a fresh server links to: the link, its token, the CSRF cookie and field.
struct SetupForm {
    link: String,
    token: String,
    cookie: String,
    csrf: String,
}

async fn open_setup_page(server: &Server) -> SetupForm {
    let link = server.setup_link().expect("a fresh server prints a setup link");
    let prefix = format!("{}/setup?token=", server.base_url());
    let token = link
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{link} is not under {prefix}"))
        .to_owned();

    let page = crate::harness::http()
        .get(&link)
        .send()
        .await
        .expect("GET the setup link");
    assert_eq!(page.status(), StatusCode::OK);
    assert_page_headers(page.headers());
    let set_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("latchkey-csrf="))
        .expect("a latchkey-csrf cookie")
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("a name=value pair")
        .to_owned();
    let body = page.text().await.expect("a page body");
    let csrf = hidden_field(&body, "csrf");
    let value = cookie.strip_prefix("latchkey-csrf=").expect("the csrf cookie");
    let (nonce, mac) = value.split_once('.').expect("a minted cookie: nonce.mac");
    assert_eq!((nonce.len(), mac.len()), (43, 43), "{value}");
    assert_eq!(csrf.len(), 43, "the field is a MAC of the nonce and the session");
    assert!(!value.contains(&csrf), "the field does not repeat the cookie");
    assert_eq!(hidden_field(&body, "token"), token);
    SetupForm {
        link,
        token,
        cookie,
        csrf,
    }
}

fn setup_fields<'a>(form: &'a SetupForm, csrf: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("token", &form.token),
        ("csrf", csrf),
        ("username", "root-admin"),
        ("password", PASSWORD),
        ("password_repeat", PASSWORD),
    ]
}

#[tokio::test]
async fn the_setup_link_creates_one_administrator_and_then_stops_working() {
    let server = Server::running();
    let form = open_setup_page(&server).await;
    let http = crate::harness::http();
    let setup_url = format!("{}/setup", server.base_url());

    let created = http
        .post(&setup_url)
        .header("cookie", &form.cookie)
        .form(&setup_fields(&form, &form.csrf))
        .send()
        .await
        .expect("POST /setup");
    assert_eq!(created.status(), StatusCode::OK);
    assert_page_headers(created.headers());
    let admin = server.cli_json(&["user", "show", "root-admin", "--json"]);
    assert_eq!(admin["groups"], json!(["admins"]));
    assert_eq!(admin["has_password"], true);

    let again = http.get(&form.link).send().await.expect("GET the used link");
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_page_headers(again.headers());
    let replay = http
        .post(&setup_url)
        .header("cookie", &form.cookie)
        .form(&setup_fields(&form, &form.csrf))
        .send()
        .await
        .expect("POST /setup again");
    assert_eq!(replay.status(), StatusCode::NOT_FOUND);
    assert_eq!(usernames(&server.cli_json(&["user", "list", "--json"])).len(), 1);
}

#[tokio::test]
async fn a_setup_post_without_a_matching_csrf_cookie_is_refused_and_creates_nothing() {
    let server = Server::running();
    let form = open_setup_page(&server).await;
    let http = crate::harness::http();
    let setup_url = format!("{}/setup", server.base_url());

    let no_cookie = http
        .post(&setup_url)
        .form(&setup_fields(&form, &form.csrf))
        .send()
        .await
        .expect("POST /setup");
    assert_eq!(no_cookie.status(), StatusCode::FORBIDDEN);
    assert_page_headers(no_cookie.headers());
    let other = "x".repeat(43);
    let mismatched = http
        .post(&setup_url)
        .header("cookie", &form.cookie)
        .form(&setup_fields(&form, &other))
        .send()
        .await
        .expect("POST /setup");
    assert_eq!(mismatched.status(), StatusCode::FORBIDDEN);

    assert!(usernames(&server.cli_json(&["user", "list", "--json"])).is_empty());
    let still = http.get(&form.link).send().await.expect("GET the link again");
    assert_eq!(
        still.status(),
        StatusCode::OK,
        "a refused post does not use up the link"
    );
}
