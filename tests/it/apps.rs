//! The app launcher (`/apps`) and the client fields behind it: `launch_url`, `icon` and
//! `allowed_groups` through the admin API and the CLI, with their validation; the page lists
//! exactly the clients with a launch URL that admit the signed-in user, by name, and sends a
//! stranger to sign in and back.

use base64::Engine as _;
use poem::http::{Method, StatusCode};
use serde_json::json;

use crate::admin_fixture::{Admin, assert_invalid_field};
use crate::harness::{Server, assert_failure, stdout};
use crate::inproc::{InProc, PASSWORD, Reply};

/// A tiny SVG icon as a `data:` URL.
pub fn svg_icon(colour: &str) -> String {
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><rect width='32' height='32' rx='6' \
         fill='{colour}'/><circle cx='16' cy='16' r='8' fill='white'/></svg>"
    );
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

/// Public clients: `zeta` and `grafana` (staff only) with launch URLs, `vault` (ops only) with
/// one, and `nolink` without.
pub fn launcher_clients() -> String {
    let client = |id: &str, name: &str, extra: &str| {
        format!(
            "\n[[client]]\nclient_id = \"{id}\"\nname = \"{name}\"\npublic = true\n\
             redirect_uris = [\"https://{id}.example.com/cb\"]\nscopes = [\"openid\"]\n{extra}\n"
        )
    };
    [
        client("zeta", "Zeta Wiki", "launch_url = \"https://zeta.example.com/\"\n"),
        client(
            "grafana",
            "Grafana",
            &format!(
                "launch_url = \"https://grafana.example.com/\"\nallowed_groups = [\"staff\"]\nicon = \"{}\"\n",
                svg_icon("#e8590c")
            ),
        ),
        client(
            "vault",
            "Vault",
            "launch_url = \"https://vault.example.com/ui/\"\nallowed_groups = [\"ops\"]\n",
        ),
        client("nolink", "No Link", ""),
    ]
    .concat()
}

/// The names of the launcher's entries, in page order.
fn listed(page: &Reply) -> Vec<String> {
    page.body
        .split("<span class=\"name\">")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn the_launcher_lists_exactly_the_allowed_clients_with_a_launch_url_by_name() {
    let mut a = Admin::with(&launcher_clients()).await;
    a.s.code(&[]).await;
    let page = a.s.get("/apps").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(listed(&page), ["Zeta Wiki"], "alice is only in readers");
    assert!(
        page.body.contains("href=\"https://zeta.example.com/\""),
        "{}",
        page.body
    );
    a.expect(
        200,
        Method::PATCH,
        "/api/v1/users/alice",
        Some(json!({ "groups": ["readers", "staff"] })),
    )
    .await;
    let page = a.s.get("/apps").await;
    assert_eq!(listed(&page), ["Grafana", "Zeta Wiki"]);
    assert!(page.body.contains("href=\"https://grafana.example.com/\""));
    assert!(
        page.body.contains(&format!("src=\"{}\"", svg_icon("#e8590c"))),
        "the icon"
    );
    assert!(
        page.body.contains("alt=\"\""),
        "the icon is decorative: the name is the link text"
    );
    assert!(page.body.contains("<strong>alice</strong>"), "{}", page.body);
    assert!(
        page.body.contains("href=\"/account\""),
        "a link back to the account page"
    );
    // Icons are data: or https images, which only this page's CSP admits.
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("img-src 'self' data: https:"), "{csp}");
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let account = a.s.get("/account").await;
    assert!(
        account.body.contains("href=\"/apps\""),
        "the account page links here"
    );
    assert!(
        !account
            .header("content-security-policy")
            .unwrap_or("")
            .contains("data:"),
        "other pages keep img-src 'self'"
    );
}

#[tokio::test]
async fn a_launcher_with_nothing_to_list_says_so() {
    let mut s = InProc::new("").await;
    s.code(&[]).await;
    let page = s.get("/apps").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(listed(&page).is_empty());
    assert!(
        page.body.contains("There are no applications to open here yet."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_stranger_at_the_launcher_is_sent_to_sign_in_and_back() {
    let mut s = InProc::new(&launcher_clients()).await;
    let away = s.get("/apps").await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert_eq!(away.location(), "/login?return_to=%2Fapps");
    let login = s.get(away.location()).await;
    let back = s.login_from(&login, "alice", PASSWORD).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), "/apps");
    assert_eq!(listed(&s.get("/apps").await), ["Zeta Wiki"]);
}

#[tokio::test]
async fn launch_url_icon_and_allowed_groups_round_trip_through_the_admin_api_and_are_checked() {
    let mut a = Admin::new().await;
    let icon = svg_icon("#1971c2");
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "wiki",
                "name": "Wiki",
                "redirect_uris": ["https://wiki.example.com/cb"],
                "allowed_groups": ["staff", "ops", "staff"],
                "launch_url": "https://wiki.example.com/",
                "icon": icon,
            })),
        )
        .await;
    assert_eq!(created["allowed_groups"], json!(["ops", "staff"]), "{created}");
    assert_eq!(created["launch_url"], "https://wiki.example.com/");
    assert_eq!(created["icon"], icon.as_str());
    let shown = a.get("/api/v1/clients/wiki").await;
    assert_eq!(
        (&shown["allowed_groups"], &shown["launch_url"], &shown["icon"]),
        (
            &created["allowed_groups"],
            &created["launch_url"],
            &created["icon"]
        )
    );
    let web = a.get("/api/v1/clients/web").await;
    assert_eq!(
        (&web["allowed_groups"], &web["launch_url"], &web["icon"]),
        (&json!([]), &json!(null), &json!(null))
    );
    let patched = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/clients/wiki",
            Some(json!({
                "allowed_groups": [],
                "launch_url": "https://wiki.example.com/start",
                "icon": "",
            })),
        )
        .await;
    assert_eq!(patched["allowed_groups"], json!([]), "{patched}");
    assert_eq!(patched["launch_url"], "https://wiki.example.com/start");
    assert_eq!(patched["icon"], json!(null), "the empty string removes the icon");
    let big = format!("data:image/svg+xml;base64,{}", "A".repeat(16 * 1024));
    for (field, bad) in [
        ("launch_url", json!("http://wiki.example.com/")),
        ("launch_url", json!("javascript:alert(1)")),
        ("launch_url", json!("http://localhost:3000/")),
        ("launch_url", json!("https://user@wiki.example.com/")),
        ("icon", json!("data:text/html;base64,PGI+aGk8L2I+")),
        ("icon", json!("http://wiki.example.com/icon.png")),
        ("icon", json!(big)),
        ("allowed_groups", json!(["a b"])),
    ] {
        let refused = a
            .call(Method::PATCH, "/api/v1/clients/wiki", Some(json!({ field: bad })))
            .await;
        assert_invalid_field(&refused, field);
        let body = json!({
            "client_id": "other",
            "redirect_uris": ["https://other.example.com/cb"],
            field: bad,
        });
        let refused = a.call(Method::POST, "/api/v1/clients", Some(body)).await;
        assert_invalid_field(&refused, field);
    }
    // Strict JSON: the wrong type is refused with 400 too.
    for body in [json!({ "launch_url": 7 }), json!({ "allowed_groups": [true] })] {
        let refused = a
            .call(Method::PATCH, "/api/v1/clients/wiki", Some(body.clone()))
            .await;
        assert_eq!(refused.status.as_u16(), 400, "{body}: {}", refused.body);
    }
    let kept = a.get("/api/v1/clients/wiki").await;
    assert_eq!(kept["launch_url"], "https://wiki.example.com/start", "{kept}");
    // http on localhost is admitted with the development opt-in.
    let local = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "devapp",
                "redirect_uris": ["http://localhost:3000/cb"],
                "allow_http_localhost": true,
                "launch_url": "http://localhost:3000/",
            })),
        )
        .await;
    assert_eq!(local["launch_url"], "http://localhost:3000/", "{local}");
}

/// The CLI's side: `client add --allowed-group --launch-url --icon`, the text view,
/// `client update` changing and clearing them, and a bad launch URL refused naming the field.
#[test]
fn client_add_and_update_take_allowed_groups_launch_url_and_icon() {
    let server = Server::new();
    let icon = svg_icon("#2f9e44");
    let added = server.cli_json(&[
        "client",
        "add",
        "wiki",
        "--redirect-uri",
        "https://wiki.example.com/cb",
        "--allowed-group",
        "staff",
        "--allowed-group",
        "ops",
        "--launch-url",
        "https://wiki.example.com/",
        "--icon",
        &icon,
        "--json",
    ]);
    assert_eq!(added["allowed_groups"], json!(["ops", "staff"]), "{added}");
    assert_eq!(added["launch_url"], "https://wiki.example.com/");
    assert_eq!(added["icon"], icon.as_str());
    let shown = stdout(&server.cli(&["client", "show", "wiki"]));
    assert!(shown.contains("allowed_groups: ops staff"), "{shown}");
    assert!(
        shown.contains("launch_url:    https://wiki.example.com/"),
        "{shown}"
    );
    assert!(
        shown.contains("icon:          data:image/svg+xml;base64,..."),
        "{shown}"
    );
    let updated = server.cli_json(&[
        "client",
        "update",
        "wiki",
        "--allowed-group",
        "admins",
        "--launch-url",
        "https://wiki.example.com/home",
        "--icon",
        "",
        "--json",
    ]);
    assert_eq!(updated["allowed_groups"], json!(["admins"]), "{updated}");
    assert_eq!(updated["launch_url"], "https://wiki.example.com/home");
    assert_eq!(updated["icon"], json!(null));
    let opened = server.cli_json(&["client", "update", "wiki", "--all-groups", "--json"]);
    assert_eq!(opened["allowed_groups"], json!([]), "{opened}");
    assert_eq!(opened["launch_url"], "https://wiki.example.com/home", "kept");
    let refused = assert_failure(&server.cli(&[
        "client",
        "update",
        "wiki",
        "--launch-url",
        "http://wiki.example.com/",
    ]));
    assert!(refused.contains("launch_url"), "{refused}");
    let refused = assert_failure(&server.cli(&[
        "client",
        "add",
        "other",
        "--redirect-uri",
        "https://other.example.com/cb",
        "--icon",
        "ftp://other.example.com/i.png",
    ]));
    assert!(refused.contains("icon"), "{refused}");
}

#[tokio::test]
async fn declared_clients_show_their_launcher_fields_and_cannot_be_changed_through_the_api() {
    let mut a = Admin::with(&launcher_clients()).await;
    let grafana = a.get("/api/v1/clients/grafana").await;
    assert_eq!(grafana["allowed_groups"], json!(["staff"]), "{grafana}");
    assert_eq!(grafana["launch_url"], "https://grafana.example.com/");
    assert_eq!(grafana["source"], "config");
    let refused = a
        .call(
            Method::PATCH,
            "/api/v1/clients/grafana",
            Some(json!({ "allowed_groups": [] })),
        )
        .await;
    assert_eq!(refused.status.as_u16(), 409, "{}", refused.body);
}
