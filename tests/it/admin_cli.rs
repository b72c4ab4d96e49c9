//! The CLI's `--json` output against a real server: the same shapes as the admin API.

use std::collections::BTreeSet;

use latchkey::service::clients;
use serde_json::{Value, json};

use crate::harness::{Server, default_config};

/// The secret of the `ops` client declared in the real server's configuration.
const REAL_OPS_SECRET: &str = "real-ops-secret-0123456789-abcdefghijklmnopq";

#[tokio::test]
async fn cli_json_output_has_the_same_shapes_as_the_api() {
    let mut server = Server::with_config(|port| {
        format!(
            "{}\n[[client]]\nclient_id = \"ops\"\ngrant_types = [\"client_credentials\"]\nscopes = [\"admin\"]\nsecret_digest = \"{}\"\n",
            default_config(port),
            clients::digest_text(REAL_OPS_SECRET)
        )
    });
    server.start();
    let base = server.base_url();
    let http = crate::harness::http();
    let token = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("ops", Some(REAL_OPS_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .expect("the token endpoint answers");
    assert_eq!(token.status(), 200);
    let token: Value = token.json().await.expect("a JSON token response");
    let token = token["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(&token)
    };
    let call = |req: reqwest::RequestBuilder, status: u16| async move {
        let resp = req.send().await.expect("the API answers");
        assert_eq!(resp.status().as_u16(), status);
        resp.json::<Value>().await.expect("a JSON answer")
    };
    let created_user = call(
        api(reqwest::Method::POST, "/users").json(&json!({
            "username": "Shapes",
            "name": "Shape Shifter",
            "email": "shapes@example.com",
            "email_verified": true,
            "groups": ["staff", "admins"],
            "password": "a long enough password 42",
        })),
        201,
    )
    .await;
    let client = call(
        api(reqwest::Method::POST, "/clients").json(&json!({
            "client_id": "shapes-app",
            "name": "Shapes App",
            "redirect_uris": ["https://shapes.example.com/cb"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "scopes": ["openid", "profile"],
            "id_token_signed_response_alg": "RS256",
            "post_logout_redirect_uris": ["https://shapes.example.com/bye"],
            "backchannel_logout_uri": "https://shapes.example.com/logout",
            "refresh_without_offline_access": true,
        })),
        201,
    )
    .await;
    assert!(client["client_secret"].is_string());

    // The CLI's JSON is the API's, plus the `data_file` it used wherever the answer is an object.
    let data_file = server.data_path().display().to_string();
    let cli = |args: &[&str]| {
        let mut value = server.cli_json(args);
        if let Some(fields) = value.as_object_mut() {
            assert_eq!(fields.remove("data_file"), Some(Value::from(data_file.as_str())));
        }
        value
    };
    let api_user = call(api(reqwest::Method::GET, "/users/Shapes"), 200).await;
    assert_eq!(api_user, created_user);
    assert_eq!(cli(&["user", "show", "Shapes", "--json"]), api_user);
    let subject = api_user["subject"].as_str().unwrap();
    assert_eq!(cli(&["user", "show", subject, "--json"]), api_user);
    let api_client = call(api(reqwest::Method::GET, "/clients/shapes-app"), 200).await;
    assert_eq!(cli(&["client", "show", "shapes-app", "--json"]), api_client);
    assert_eq!(
        cli(&["client", "show", "ops", "--json"]),
        call(api(reqwest::Method::GET, "/clients/ops"), 200).await,
        "a declared client too"
    );
    assert_eq!(
        cli(&["user", "list", "--json"]),
        call(api(reqwest::Method::GET, "/users"), 200).await
    );
    assert_eq!(
        cli(&["user", "list", "--limit", "1", "--json"]),
        call(api(reqwest::Method::GET, "/users?limit=1"), 200).await
    );
    assert_eq!(
        cli(&["client", "list", "--json"]),
        call(api(reqwest::Method::GET, "/clients"), 200).await
    );
    assert_eq!(
        cli(&["keys", "list", "--json"]),
        call(api(reqwest::Method::GET, "/keys"), 200).await
    );
    // What the CLI creates, the API shows as the CLI printed it.
    let cli_client = cli(&[
        "client",
        "add",
        "cli-made",
        "--grant",
        "client_credentials",
        "--json",
    ]);
    let mut shown = call(api(reqwest::Method::GET, "/clients/cli-made"), 200).await;
    shown
        .as_object_mut()
        .unwrap()
        .insert("client_secret".into(), cli_client["client_secret"].clone());
    assert_eq!(cli_client, shown);
    let rotated = call(api(reqwest::Method::POST, "/clients/cli-made/rotate-secret"), 200).await;
    let cli_rotated = cli(&["client", "rotate-secret", "cli-made", "--json"]);
    let keys_of = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys_of(&rotated), keys_of(&cli_rotated));
}
