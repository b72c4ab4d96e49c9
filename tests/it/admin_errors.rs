//! The admin API's errors: every one an RFC 9457 problem (404, 400 and 422 with field-level
//! errors, unknown fields, repeated keys, malformed JSON), and hostile input never a 500.

use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin_fixture::*;
use crate::inproc::PASSWORD;

#[tokio::test]
async fn unknown_users_and_clients_are_404_not_found_problems() {
    let mut a = Admin::new().await;
    let user_ops: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/api/v1/users/nobody", None),
        (
            Method::PATCH,
            "/api/v1/users/nobody",
            Some(json!({ "name": "N" })),
        ),
        (Method::DELETE, "/api/v1/users/nobody", None),
        (
            Method::PUT,
            "/api/v1/users/nobody/password",
            Some(json!({ "password": "a long enough password" })),
        ),
        (Method::POST, "/api/v1/users/nobody/disable", None),
        (Method::POST, "/api/v1/users/nobody/enable", None),
        (Method::GET, "/api/v1/users/nobody/sessions", None),
        (Method::DELETE, "/api/v1/users/nobody/sessions", None),
        (Method::GET, "/api/v1/users/nobody/consents", None),
        (Method::GET, "/api/v1/clients/nobody", None),
        (
            Method::PATCH,
            "/api/v1/clients/nobody",
            Some(json!({ "name": "N" })),
        ),
        (Method::DELETE, "/api/v1/clients/nobody", None),
        (Method::POST, "/api/v1/clients/nobody/rotate-secret", None),
        (Method::GET, "/api/v1/clients/NOT%20AN%20ID", None),
    ];
    for (method, path, body) in user_ops {
        let what = format!("{method} {path}");
        let reply = a.call(method, path, body).await;
        let problem = assert_problem(&reply, 404, "not-found");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not found")),
            "{what}: {problem}"
        );
    }
}

#[tokio::test]
async fn invalid_input_is_400_or_422_with_field_level_errors() {
    let mut a = Admin::new().await;
    let mut wrong = Vec::new();
    let users: Vec<(Value, &str)> = vec![
        (json!({ "username": "has space" }), "username"),
        (json!({ "username": "slash/y" }), "username"),
        (json!({ "username": "ok", "email": "not-an-email" }), "email"),
        (json!({ "username": "ok", "email": "a@b c.com" }), "email"),
        (json!({ "username": "ok", "groups": ["bad group"] }), "groups"),
        (json!({ "username": "ok", "groups": [""] }), "groups"),
        (json!({ "username": "ok", "name": "x".repeat(201) }), "name"),
        (json!({ "username": "ok", "name": "line\nbreak" }), "name"),
        (json!({ "username": "ok", "password": "short" }), "password"),
    ];
    for (body, field) in users {
        let reply = a.call(Method::POST, "/api/v1/users", Some(body.clone())).await;
        wrong.extend(invalid_field(&reply, field).err());
    }
    let patches: Vec<(Value, &str)> = vec![
        (json!({ "email": "nope" }), "email"),
        (json!({ "groups": ["ok", "not ok"] }), "groups"),
        (json!({ "name": "\u{7}bell" }), "name"),
    ];
    for (body, field) in patches {
        let reply = a.call(Method::PATCH, "/api/v1/users/alice", Some(body)).await;
        wrong.extend(invalid_field(&reply, field).err());
    }
    let clients: Vec<(Value, &str)> = vec![
        (
            json!({ "client_id": "c1", "redirect_uris": ["http://app.example.com/cb"] }),
            "redirect_uris",
        ),
        (
            json!({ "client_id": "c1", "redirect_uris": ["javascript:alert(1)"] }),
            "redirect_uris",
        ),
        (
            json!({ "client_id": "c1", "redirect_uris": ["https://app.example.com/cb#frag"] }),
            "redirect_uris",
        ),
        (
            json!({ "client_id": "c1", "redirect_uris": ["not a uri"] }),
            "redirect_uris",
        ),
        (json!({ "client_id": "c1" }), "redirect_uris"),
        (
            json!({ "client_id": "has space", "grant_types": ["client_credentials"] }),
            "client_id",
        ),
        (
            json!({ "client_id": "c1", "grant_types": ["client_credentials"], "scopes": ["bad scope"] }),
            "scopes",
        ),
        (
            json!({ "client_id": "c1", "public": true, "grant_types": ["client_credentials"] }),
            "grant_types",
        ),
        (
            json!({ "client_id": "c1", "grant_types": ["client_credentials"], "name": "" }),
            "name",
        ),
        (
            json!({ "client_id": "c1", "grant_types": ["client_credentials"], "backchannel_logout_uri": "ftp://x" }),
            "backchannel_logout_uri",
        ),
    ];
    // Security review #12, item 10: internal addresses are refused unless `[outbound]` allows them.
    let internal = [
        "http://127.0.0.1:6379/",
        "https://169.254.169.254/latest/meta-data/",
        "https://0x7f000001/",
        "https://10.0.0.5/bc",
        "https://[fd00::1]/bc",
    ]
    .map(|uri| {
        (
            json!({ "client_id": "c1", "grant_types": ["client_credentials"], "backchannel_logout_uri": uri }),
            "backchannel_logout_uri",
        )
    });
    let clients: Vec<_> = clients.into_iter().chain(internal).collect();
    for (body, field) in clients {
        let reply = a.call(Method::POST, "/api/v1/clients", Some(body.clone())).await;
        wrong.extend(invalid_field(&reply, field).err());
    }
    assert_problem(
        &a.call(Method::GET, "/api/v1/clients/c1", None).await,
        404,
        "not-found",
    );
    a.expect(
        201,
        Method::POST,
        "/api/v1/clients",
        Some(json!({ "client_id": "c2", "redirect_uris": ["https://c2.example.com/cb"] })),
    )
    .await;
    let bad_patch = a
        .call(
            Method::PATCH,
            "/api/v1/clients/c2",
            Some(json!({ "redirect_uris": ["http://evil.example/cb"] })),
        )
        .await;
    wrong.extend(invalid_field(&bad_patch, "redirect_uris").err());
    let bad_scope = a
        .call(
            Method::PATCH,
            "/api/v1/clients/c2",
            Some(json!({ "scopes": ["a\"b"] })),
        )
        .await;
    wrong.extend(invalid_field(&bad_scope, "scopes").err());
    assert_eq!(
        a.get("/api/v1/clients/c2").await["redirect_uris"],
        json!(["https://c2.example.com/cb"]),
        "a refused change changes nothing"
    );
    assert!(
        wrong.is_empty(),
        "{} invalid inputs without field-level errors:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Regression (security review, item 12): unknown paths (404), wrong methods (405) and bad path
/// parameters (400) under `/api/v1` answered `text/plain`. Every error there is a problem now,
/// and a 405 still names the allowed methods.
#[tokio::test]
async fn every_api_error_is_a_problem_unknown_paths_wrong_methods_and_bad_path_parameters_included() {
    let mut a = Admin::new().await;
    let token = a.token.clone();
    for auth in [Some(token.as_str()), None] {
        for (method, path, status, kind) in [
            (Method::GET, "/api/v1/nope", 404, "not-found"),
            (Method::GET, "/api/v1", 404, "not-found"),
            (Method::GET, "/api/v1/", 404, "not-found"),
            (Method::GET, "/api/v2/users", 404, "not-found"),
            (Method::POST, "/api/v1/users/alice/sessions/x/y", 404, "not-found"),
            (Method::DELETE, "/api/v1/users", 405, "method-not-allowed"),
            (Method::PUT, "/api/v1/audit", 405, "method-not-allowed"),
            (Method::GET, "/api/v1/users/%FF", 400, "bad-request"),
            (Method::GET, "/api/v1/clients/%C3%28", 400, "bad-request"),
        ] {
            let reply = a.call_as(auth, method.clone(), path, None).await;
            let problem = assert_problem(&reply, status, kind);
            assert!(problem["detail"].is_string(), "{method} {path}: {problem}");
            assert_eq!(reply.header("cache-control"), Some("no-store"), "{method} {path}");
            if status == 405 {
                let allow = reply.header("allow").unwrap_or_default();
                assert!(allow.contains("GET"), "{method} {path}: Allow `{allow}`");
            }
        }
    }
    let long = format!("/api/v1/users/{}", "a".repeat(41 * 1024));
    assert_problem(&a.call(Method::GET, &long, None).await, 414, "uri-too-long");
    // Outside the API nothing changes: pages keep their own error format.
    let page = a.s.get("/nope").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.header("content-type").unwrap_or("").contains("problem"));
}

/// Regression (security review, item 12): PATCH ignored unknown fields (a typo such as `nmae`
/// changed nothing and answered 200). Create and update bodies with an undeclared field are
/// refused with 400, naming each, and change nothing.
#[tokio::test]
async fn unknown_fields_in_create_and_update_bodies_are_400_problems_naming_each() {
    let mut a = Admin::new().await;
    let cases: Vec<(Method, &str, Value, Vec<&str>)> = vec![
        (
            Method::POST,
            "/api/v1/users",
            json!({ "username": "typo", "nmae": "Typo", "admin": true }),
            vec!["nmae", "admin"],
        ),
        (
            Method::PATCH,
            "/api/v1/users/alice",
            json!({ "nmae": "Not Alice", "disabled": true }),
            vec!["nmae", "disabled"],
        ),
        (
            Method::PUT,
            "/api/v1/users/alice/password",
            json!({ "password": "a new password, long enough", "old": "x" }),
            vec!["old"],
        ),
        (
            Method::POST,
            "/api/v1/clients",
            json!({ "client_id": "typo", "grant_types": ["client_credentials"], "client_secret": "mine" }),
            vec!["client_secret"],
        ),
        (
            Method::PATCH,
            "/api/v1/clients/web",
            json!({ "redirect_uri": ["https://evil.example/cb"] }),
            vec!["redirect_uri"],
        ),
        (
            Method::POST,
            "/api/v1/users/alice/links",
            json!({ "upstream": "github", "subject": "1", "user": "root" }),
            vec!["user"],
        ),
    ];
    for (method, path, body, unknown) in cases {
        let what = format!("{method} {path}");
        let reply = a.call(method, path, Some(body)).await;
        let problem = assert_problem(&reply, 400, "bad-request");
        for field in unknown {
            assert_invalid_field(&reply, field);
            assert!(
                problem["detail"].as_str().unwrap().contains(field),
                "{what}: {problem}"
            );
        }
    }
    a.expect(404, Method::GET, "/api/v1/users/typo", None).await;
    a.expect(404, Method::GET, "/api/v1/clients/typo", None).await;
    let alice = a.get("/api/v1/users/alice").await;
    assert_eq!(alice["name"], "Alice Liddell");
    assert_eq!(alice["disabled"], false);
    // The document says so, so that clients generated from it never send such a field.
    let doc = a.s.get("/openapi.json").await.json();
    for schema in [
        "NewUserDoc",
        "UserPatchDoc",
        "PasswordDoc",
        "NewClientDoc",
        "ClientPatchDoc",
        "NewLinkDoc",
    ] {
        assert_eq!(
            doc["components"]["schemas"][schema]["additionalProperties"], false,
            "{schema}"
        );
    }
}

/// Regression (security review, item 12): a JSON body with a key twice was accepted, the last one
/// winning, so that two readers of one body (a proxy and Latchkey) could disagree on it. A
/// repeated key anywhere in a body is refused with 400 naming it.
#[tokio::test]
async fn json_bodies_with_a_repeated_key_anywhere_are_400_problems() {
    let mut a = Admin::new().await;
    for (method, path, body, key) in [
        (
            Method::POST,
            "/api/v1/users",
            r#"{"username": "twice", "username": "admin2"}"#,
            "username",
        ),
        (
            Method::PATCH,
            "/api/v1/users/alice",
            r#"{"groups": ["readers"], "groups": ["admins"]}"#,
            "groups",
        ),
        (
            Method::POST,
            "/api/v1/clients",
            r#"{"client_id": "nested", "grant_types": ["client_credentials"], "scopes": [], "x": [{"a": 1, "a": 2}]}"#,
            "a",
        ),
    ] {
        let reply = a.call_raw(method.clone(), path, "application/json", body).await;
        assert_problem(&reply, 400, "bad-request");
        assert_invalid_field(&reply, key);
        let reply = a
            .call_raw(method, path, "application/merge-patch+json", body)
            .await;
        assert_problem(&reply, 400, "bad-request");
    }
    a.expect(404, Method::GET, "/api/v1/users/twice", None).await;
    a.expect(404, Method::GET, "/api/v1/users/admin2", None).await;
    a.expect(404, Method::GET, "/api/v1/clients/nested", None).await;
    let alice = a.get("/api/v1/users/alice").await;
    assert_eq!(alice["groups"], json!(["readers"]));
}

#[tokio::test]
async fn malformed_json_and_bad_parameters_are_400_problems() {
    let mut a = Admin::new().await;
    let bodies = [
        ("application/json", "{"),
        ("application/json", ""),
        ("application/json", "null"),
        ("application/json", "[]"),
        ("application/json", "{\"username\": [5]}"),
        ("application/json", "{\"username\": {}}"),
        ("application/json", "{\"name\": \"no username\"}"),
        (
            "application/json",
            "{\"username\": \"x\", \"groups\": \"admins\"}",
        ),
        ("application/json", "{\"username\": \"\"}"),
        ("application/json", "\u{feff}{\"username\": \"bom\"}"),
        ("application/x-www-form-urlencoded", "username=formy"),
        ("text/plain", "{\"username\": \"texty\"}"),
    ];
    for (content_type, body) in bodies {
        let reply = a
            .call_raw(Method::POST, "/api/v1/users", content_type, body)
            .await;
        assert_problem(&reply, 400, "bad-request");
    }
    let no_body = a.call(Method::POST, "/api/v1/users", None).await;
    assert_problem(&no_body, 400, "bad-request");
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/clients",
            "{\"client_id\": \"x\", \"grant_types\": [\"implicit\"]}",
        ),
        (
            Method::POST,
            "/api/v1/clients",
            "{\"client_id\": \"x\", \"public\": \"yes\"}",
        ),
        (
            Method::POST,
            "/api/v1/clients",
            "{\"client_id\": \"x\", \"id_token_signed_response_alg\": \"none\"}",
        ),
        (
            Method::PATCH,
            "/api/v1/clients/web",
            "{\"redirect_uris\": \"https://x\"}",
        ),
        (
            Method::PATCH,
            "/api/v1/users/alice",
            "{\"email_verified\": \"yes\"}",
        ),
        (Method::PUT, "/api/v1/users/alice/password", "{}"),
        (
            Method::PUT,
            "/api/v1/users/alice/password",
            "{\"password\": null}",
        ),
    ] {
        let reply = a.call_raw(method, path, "application/json", body).await;
        assert_problem(&reply, 400, "bad-request");
    }
    for query in ["limit=0", "limit=501", "limit=x", "limit=-5", "limit=1.5"] {
        let reply = a.call(Method::GET, &format!("/api/v1/users?{query}"), None).await;
        assert_problem(&reply, 400, "bad-request");
    }
    assert_untouched(&mut a).await;
    assert_eq!(usernames(&a.get("/api/v1/users").await), ["alice"]);
}

#[tokio::test]
async fn hostile_inputs_never_make_the_api_answer_500() {
    let mut a = Admin::new().await;
    let huge = "x".repeat(60_000);
    let unicode = "ålïçé-\u{202e}evil-\u{200b}-🔑-ß-İ";
    let strings = [
        huge.clone(),
        unicode.to_owned(),
        "../../etc/passwd".to_owned(),
        "..\\..\\windows".to_owned(),
        "nul\u{0}byte".to_owned(),
        "%00".to_owned(),
        "'; DROP TABLE users; --".to_owned(),
        "<script>alert(1)</script>".to_owned(),
        "a".repeat(64),
        "a".repeat(65),
        "Alice\u{301}".to_owned(),
        " alice ".to_owned(),
    ];
    let mut replies = Vec::new();
    for s in &strings {
        let shorter: String = s.chars().take(2000).collect();
        replies.push((
            "create user",
            a.call(
                Method::POST,
                "/api/v1/users",
                Some(json!({ "username": shorter, "name": s, "email": s, "groups": [s] })),
            )
            .await,
        ));
        replies.push((
            "create user with password",
            a.call(
                Method::POST,
                "/api/v1/users",
                Some(json!({ "username": "hostile", "password": s })),
            )
            .await,
        ));
        replies.push((
            "patch user",
            a.call(
                Method::PATCH,
                "/api/v1/users/alice",
                Some(json!({ "name": s, "email": s, "groups": [s] })),
            )
            .await,
        ));
        replies.push((
            "create client",
            a.call(
                Method::POST,
                "/api/v1/clients",
                Some(json!({
                    "client_id": shorter,
                    "name": s,
                    "redirect_uris": [s, format!("https://x.example/{s}")],
                    "scopes": [s],
                    "post_logout_redirect_uris": [s],
                    "backchannel_logout_uri": s,
                })),
            )
            .await,
        ));
        let id = encode(&shorter);
        for (method, path) in [
            (Method::GET, format!("/api/v1/users/{id}")),
            (Method::DELETE, format!("/api/v1/users/{id}")),
            (Method::GET, format!("/api/v1/users/{id}/sessions")),
            (Method::DELETE, format!("/api/v1/users/alice/sessions/{id}")),
            (Method::DELETE, format!("/api/v1/users/alice/consents/{id}")),
            (Method::GET, format!("/api/v1/clients/{id}")),
            (Method::POST, format!("/api/v1/clients/{id}/rotate-secret")),
            (Method::GET, format!("/api/v1/users?search={id}&after={id}")),
            (Method::GET, format!("/api/v1/audit?after={id}")),
        ] {
            replies.push(("path or query", a.call(method, &path, None).await));
        }
    }
    for raw in [
        "/api/v1/users/..%2F..%2Fadmin",
        "/api/v1/users/%2e%2e",
        "/api/v1/users/%ff%fe",
        "/api/v1/users/%C0%AE%C0%AE",
        "/api/v1/clients/%E2%80%AE",
        "/api/v1/users?search=%ff",
        "/api/v1/users?limit=99999999999999999999",
        "/api/v1/audit?limit=4294967297",
    ] {
        // Only the status is checked here: poem refuses path parameters that are not UTF-8
        // before the API's own error handling sees them.
        let reply = a.call(Method::GET, raw, None).await;
        assert!(
            reply.status.as_u16() < 500,
            "{raw} answered {}: {}",
            reply.status,
            reply.body
        );
    }
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    for body in [
        deep.as_str(),
        "{\"username\": \"\\ud800\"}",
        "{\"username\": 1e999}",
    ] {
        replies.push((
            "odd JSON",
            a.call_raw(Method::POST, "/api/v1/users", "application/json", body)
                .await,
        ));
    }
    for (what, reply) in &replies {
        assert!(
            reply.status.as_u16() < 500,
            "{what} answered {}: {}",
            reply.status,
            reply.body.chars().take(500).collect::<String>()
        );
        if reply.status.as_u16() >= 400
            && reply.status != StatusCode::NOT_FOUND
            && reply.status != StatusCode::PAYLOAD_TOO_LARGE
        {
            let content_type = reply.header("content-type").unwrap_or("");
            assert!(
                content_type.starts_with("application/problem+json"),
                "{what} answered {} as `{content_type}`: {}",
                reply.status,
                reply.body.chars().take(500).collect::<String>()
            );
        }
    }
    // The server still works, and alice is whole.
    let alice = a.get("/api/v1/users/alice").await;
    assert_eq!(alice["username"], "alice");
    assert_eq!(
        password_grant(&mut a.s, "alice", PASSWORD, "openid").await.status,
        StatusCode::OK
    );
}
