//! The admin API's clients: listed, created with a secret shown once, updated, given a new
//! secret and deleted; declared clients stay read-only; answers are never cached.

use std::collections::BTreeSet;

use latchkey::service::clients;
use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin_fixture::*;
use crate::inproc::{ISSUER, InProc, REDIRECT, WEB_SECRET, basic};

#[tokio::test]
async fn clients_are_listed_and_shown_without_secrets() {
    let mut a = Admin::new().await;
    let list = a.get("/api/v1/clients").await;
    assert_eq!(
        client_ids(&list),
        ["console", "latchkey-docs", "ops", "spa", "web"]
            .map(String::from)
            .into(),
    );
    for c in list.as_array().unwrap() {
        assert_eq!(c["source"], "config", "{c}");
        assert!(c.get("client_secret").is_none(), "{c}");
    }
    let web = a.get("/api/v1/clients/web").await;
    assert_eq!(web["name"], "Web App");
    assert_eq!(web["public"], false);
    assert_eq!(
        web["redirect_uris"],
        json!([REDIRECT, "https://app.example.com/other"])
    );
    assert_eq!(
        web["grant_types"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(
        web["post_logout_redirect_uris"],
        json!(["https://app.example.com/logged-out"])
    );
    assert_eq!(web["id_token_signed_response_alg"], "EdDSA");
    let spa = a.get("/api/v1/clients/spa").await;
    assert_eq!(spa["public"], true);
    assert_eq!(
        spa["require_pkce"],
        Value::Null,
        "the server's default: public clients always need PKCE"
    );
    let docs = a.get("/api/v1/clients/latchkey-docs").await;
    assert_eq!(
        docs["redirect_uris"],
        json!([format!("{ISSUER}/docs/oauth-receiver.html")])
    );
    for text in [list.to_string(), web.to_string()] {
        assert!(!text.contains(WEB_SECRET) && !text.contains(OPS_SECRET));
        assert!(!text.contains("sha256:"), "never a secret digest: {text}");
        assert!(!text.contains("secret"), "no secret field at all: {text}");
    }
}

#[tokio::test]
async fn a_created_client_gets_a_secret_once_that_works_for_client_credentials() {
    let mut a = Admin::new().await;
    let reply = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "reports",
                "name": "Nightly reports",
                "grant_types": ["client_credentials"],
                "scopes": ["reports:read"],
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.json();
    let secret = created["client_secret"]
        .as_str()
        .expect("a confidential client's secret")
        .to_owned();
    assert!(secret.len() >= 32, "a long random secret: {secret}");
    assert_eq!(created["client_id"], "reports");
    assert_eq!(created["name"], "Nightly reports");
    assert_eq!(created["source"], "store");
    assert_eq!(created["public"], false);
    assert_eq!(created["grant_types"], json!(["client_credentials"]));
    assert_eq!(created["scopes"], json!(["reports:read"]));
    assert_eq!(created["require_pkce"], Value::Null, "the server's default");
    assert_eq!(created["created_at"], 1_800_000_000u64);

    let token =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic("reports", &secret))],
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    assert_eq!(token.json()["scope"], "reports:read");

    let shown = a.get("/api/v1/clients/reports").await;
    let mut without_secret = created.clone();
    without_secret.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(shown, without_secret, "shown as created, minus the secret");
    let list = a.call(Method::GET, "/api/v1/clients", None).await;
    for body in [&list.body, &shown.to_string()] {
        assert!(!body.contains(&secret), "the secret is shown only once");
        assert!(!body.contains("client_secret"), "{body}");
    }
    assert!(client_ids(&list.json()).contains("reports"));

    // Defaults: authorization_code and refresh_token, and a public client has no secret.
    let public = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "mobile",
                "public": true,
                "redirect_uris": ["http://127.0.0.1/cb"],
            })),
        )
        .await;
    assert_eq!(public["client_secret"], Value::Null);
    assert_eq!(public["public"], true);
    assert_eq!(public["name"], "mobile", "the name defaults to the id");
    assert_eq!(
        public["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let again = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "mobile", "public": true, "redirect_uris": ["http://127.0.0.1/cb"] })),
        )
        .await;
    assert_problem(&again, 409, "conflict");
    let declared_id = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "web", "grant_types": ["client_credentials"] })),
        )
        .await;
    assert_problem(&declared_id, 409, "conflict");
}

/// Admin answers hold personal data, and two of them a client secret: no cache may keep them.
#[tokio::test]
async fn admin_answers_are_not_stored_by_caches() {
    let mut a = Admin::new().await;
    let created = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "cached", "grant_types": ["client_credentials"] })),
        )
        .await;
    let rotated = a
        .call(Method::POST, "/api/v1/clients/cached/rotate-secret", None)
        .await;
    let user = a.call(Method::GET, "/api/v1/users/alice", None).await;
    let problem = a.call(Method::GET, "/api/v1/users/nobody", None).await;
    for (what, reply) in [
        ("create client", &created),
        ("rotate secret", &rotated),
        ("get user", &user),
        ("problem", &problem),
    ] {
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{what}: {:?}",
            reply.headers
        );
    }
}

#[tokio::test]
async fn a_client_name_is_checked_on_update_as_on_creation_whatever_the_path() {
    let a = Admin::new().await;
    let new = clients::NewClient {
        client_id: "shop".into(),
        name: Some("Shop".into()),
        redirect_uris: vec!["https://shop.example.com/cb".into()],
        ..Default::default()
    };
    clients::add(&a.s.app, new).await.expect("created");
    // The service function the CLI and the admin socket call, without the API schema in front.
    for bad in ["", "bell\u{7}", &"x".repeat(201)] {
        let change = clients::ClientUpdate {
            name: Some(bad.to_owned()),
            ..Default::default()
        };
        let refused = clients::update(&a.s.app, "shop".into(), change).await;
        assert!(
            matches!(&refused, Err(latchkey::service::ServiceError::Invalid { field, .. }) if field == "name"),
            "{bad:?}: {refused:?}"
        );
    }
    let shown = clients::get(&a.s.app, "shop".into()).await.expect("shown");
    assert_eq!(shown.name, "Shop");
}

#[tokio::test]
async fn a_client_update_changes_redirect_uris_scopes_and_grants() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "shop",
                "redirect_uris": ["https://shop.example.com/cb"],
                "scopes": ["openid"],
            })),
        )
        .await;
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let updated = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/clients/shop",
            Some(json!({
                "name": "The Shop",
                "redirect_uris": ["https://shop.example.com/new-cb", "https://shop.example.com/cb2"],
                "scopes": ["openid", "profile", "orders"],
                "grant_types": ["client_credentials", "authorization_code"],
                "first_party": true,
            })),
        )
        .await;
    assert_eq!(updated["name"], "The Shop");
    assert_eq!(
        updated["redirect_uris"],
        json!(["https://shop.example.com/new-cb", "https://shop.example.com/cb2"])
    );
    assert_eq!(updated["scopes"], json!(["openid", "profile", "orders"]));
    let grants: BTreeSet<&str> = updated["grant_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert_eq!(
        grants,
        BTreeSet::from(["authorization_code", "client_credentials"])
    );
    assert_eq!(updated["first_party"], true);
    assert_eq!(updated["created_at"], created["created_at"]);
    assert!(updated.get("client_secret").is_none());
    assert_eq!(a.get("/api/v1/clients/shop").await, updated);

    // The change is in force: the new grant works with the unchanged secret, the old
    // redirect URI does not.
    let token =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials"), ("scope", "orders")],
            &[("authorization", &basic("shop", &secret))],
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let old_redirect =
        a.s.get(&InProc::authorize_uri("shop", "https://shop.example.com/cb", &[]))
            .await;
    assert_eq!(old_redirect.status, StatusCode::BAD_REQUEST);
    assert!(old_redirect.header("location").is_none());

    // Only what is sent changes; a rule violation is refused and changes nothing.
    let renamed = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/clients/shop",
            Some(json!({ "name": "Shop" })),
        )
        .await;
    assert_eq!(renamed["scopes"], updated["scopes"]);
    let no_grants = a
        .call(
            Method::PATCH,
            "/api/v1/clients/shop",
            Some(json!({ "grant_types": [] })),
        )
        .await;
    assert_invalid_field(&no_grants, "grant_types");
    let no_uris = a
        .call(
            Method::PATCH,
            "/api/v1/clients/shop",
            Some(json!({ "redirect_uris": [] })),
        )
        .await;
    assert_invalid_field(&no_uris, "redirect_uris");
    assert_eq!(a.get("/api/v1/clients/shop").await, renamed);
}

#[tokio::test]
async fn rotating_a_secret_stops_the_old_one_and_starts_the_new_one() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "batch", "grant_types": ["client_credentials"] })),
        )
        .await;
    let old = created["client_secret"].as_str().unwrap().to_owned();
    let rotated = a
        .expect(200, Method::POST, "/api/v1/clients/batch/rotate-secret", None)
        .await;
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert_eq!(rotated["client_id"], "batch");
    let cc = |secret: &str| basic("batch", secret);
    let with_old =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &cc(&old))],
        )
        .await;
    assert_eq!(with_old.status, StatusCode::UNAUTHORIZED, "{}", with_old.body);
    assert_eq!(with_old.json()["error"], "invalid_client");
    let with_new =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &cc(&new))],
        )
        .await;
    assert_eq!(with_new.status, StatusCode::OK, "{}", with_new.body);
    let shown = a.call(Method::GET, "/api/v1/clients/batch", None).await;
    assert!(!shown.body.contains(&new) && !shown.body.contains(&old));

    a.expect(
        201,
        Method::POST,
        "/api/v1/clients",
        Some(json!({ "client_id": "pub", "public": true, "redirect_uris": ["http://127.0.0.1/cb"] })),
    )
    .await;
    let public = a
        .call(Method::POST, "/api/v1/clients/pub/rotate-secret", None)
        .await;
    assert_problem(&public, 409, "conflict");
    let nobody = a
        .call(Method::POST, "/api/v1/clients/nobody/rotate-secret", None)
        .await;
    assert_problem(&nobody, 404, "not-found");
}

#[tokio::test]
async fn a_deleted_client_is_gone_and_its_secret_stops_working() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "temp", "grant_types": ["client_credentials"] })),
        )
        .await;
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    a.expect_done(Method::DELETE, "/api/v1/clients/temp", None).await;
    assert_problem(
        &a.call(Method::GET, "/api/v1/clients/temp", None).await,
        404,
        "not-found",
    );
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/clients/temp", None).await,
        404,
        "not-found",
    );
    assert!(!client_ids(&a.get("/api/v1/clients").await).contains("temp"));
    let token =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic("temp", &secret))],
        )
        .await;
    assert_eq!(token.status, StatusCode::UNAUTHORIZED, "{}", token.body);
}

#[tokio::test]
async fn declared_clients_cannot_be_changed_through_the_api() {
    let mut a = Admin::new().await;
    let before = a.get("/api/v1/clients/web").await;
    for (method, path, body) in [
        (
            Method::PATCH,
            "/api/v1/clients/web",
            Some(json!({ "redirect_uris": ["https://evil.example/cb"] })),
        ),
        (
            Method::PATCH,
            "/api/v1/clients/web",
            Some(json!({ "name": "Mine" })),
        ),
        (Method::POST, "/api/v1/clients/web/rotate-secret", None),
        (Method::DELETE, "/api/v1/clients/web", None),
        (Method::DELETE, "/api/v1/clients/ops", None),
        (Method::DELETE, "/api/v1/clients/latchkey-docs", None),
    ] {
        let what = format!("{method} {path}");
        let reply = a.call(method, path, body).await;
        let problem = assert_problem(&reply, 409, "conflict");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("configuration")),
            "{what}: the problem says where to change it: {problem}"
        );
    }
    assert_eq!(a.get("/api/v1/clients/web").await, before);
    let token =
        a.s.token(&[("grant_type", "client_credentials"), ("scope", "profile")])
            .await;
    assert_eq!(token.status, StatusCode::OK, "the declared secret still works");
}

/// A FastAPI developer's first redirect URI, `http://localhost:8000/callback`, is refused with
/// an error naming the opt-in and `http://127.0.0.1`; with `allow_http_localhost` it registers
/// and is matched exactly, like any other URI.
#[tokio::test]
async fn http_localhost_redirect_uris_need_the_clients_explicit_opt_in() {
    let mut a = Admin::new().await;
    let refused = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "fastapi", "redirect_uris": ["http://localhost:8000/callback"] })),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("allow_http_localhost"), "{}", refused.body);
    assert!(refused.body.contains("http://127.0.0.1"), "{}", refused.body);
    let created = a
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "fastapi",
                "redirect_uris": ["http://localhost:8000/callback"],
                "allow_http_localhost": true,
                "scopes": ["openid"],
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["allow_http_localhost"], true);
    // Switching the opt-in off while such a URI is registered is refused.
    let off = a
        .call(
            Method::PATCH,
            "/api/v1/clients/fastapi",
            Some(json!({ "allow_http_localhost": false })),
        )
        .await;
    assert_eq!(off.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", off.body);
    assert!(off.body.contains("allow_http_localhost"), "{}", off.body);
}

#[tokio::test]
async fn a_client_registered_for_rs256_through_the_api_has_its_rsa_key_published_at_once() {
    let mut a = Admin::new().await;
    let has_rsa = |jwks: &Value| {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kty"] == "RSA" && k["alg"] == "RS256")
    };
    let before = a.s.get("/.well-known/jwks.json").await.json();
    assert!(!has_rsa(&before), "no RSA key without an RS256 client: {before}");
    a.expect(
        201,
        Method::POST,
        "/api/v1/clients",
        Some(json!({
            "client_id": "reports",
            "public": true,
            "redirect_uris": ["http://127.0.0.1/cb"],
            "scopes": ["openid"],
            "id_token_signed_response_alg": "RS256",
        })),
    )
    .await;
    let after = a.s.get("/.well-known/jwks.json").await.json();
    assert!(has_rsa(&after), "published before any token is issued: {after}");
}
