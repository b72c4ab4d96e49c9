//! The OpenAPI document at `/openapi.json`: a snapshot of the whole document, so that any API
//! change shows up in review, and checks that every operation is tagged and described, that
//! token-style responses declare `Cache-Control`, and that the admin API declares its OAuth 2.0
//! security scheme.
//!
//! The snapshot is `tests/it/snapshots/openapi.json`: the document of an in-process server (whose
//! issuer, and so the document's `servers`, is fixed by its configuration), pretty-printed with
//! sorted keys. After an intended API change, rewrite it with
//!
//! ```sh
//! UPDATE_SNAPSHOTS=1 cargo test --test it openapi
//! ```
//!
//! and review the difference with `git diff` like any other change.

use std::collections::BTreeSet;
use std::path::PathBuf;

use poem::http::StatusCode;
use serde_json::Value;

use crate::inproc::{ISSUER, InProc};

/// The committed snapshot of the document.
fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots/openapi.json")
}

/// The document as served by a fresh in-process server, as text and as JSON.
async fn served() -> (String, Value) {
    let mut s = InProc::new("").await;
    let reply = s.get("/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let content_type = reply.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "the document is JSON, not `{content_type}`"
    );
    let doc = reply.json();
    (reply.body, doc)
}

async fn document() -> Value {
    served().await.1
}

/// The snapshot form: pretty-printed (serde_json sorts object keys), ending in a newline.
fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).expect("a JSON value prints") + "\n"
}

/// Every operation: (method, path, operation object).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("a path item is an object") {
            if [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                out.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

/// Where the first line differs between two texts, for a readable failure.
fn first_difference(expected: &str, actual: &str) -> String {
    for (n, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n  committed: {e}\n  served:    {a}", n + 1);
        }
    }
    format!(
        "the committed snapshot has {} lines, the served document {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

#[tokio::test]
async fn the_document_matches_the_committed_snapshot() {
    let actual = pretty(&document().await);
    let path = snapshot_path();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("the snapshot has a directory"))
            .expect("cannot create the snapshot directory");
        std::fs::write(&path, &actual).expect("cannot write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); create it with UPDATE_SNAPSHOTS=1 cargo test --test it openapi",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "the OpenAPI document changed; if that is intended, run\n\n    \
         UPDATE_SNAPSHOTS=1 cargo test --test it openapi\n\nand review the change to {}.\nFirst difference at {}",
        path.display(),
        first_difference(&expected, &actual)
    );
}

#[tokio::test]
async fn the_document_is_the_same_from_every_server_and_every_request() {
    let (first_text, first) = served().await;
    let (second_text, second) = served().await;
    assert_eq!(first, second, "two servers serve the same document");
    assert_eq!(first_text, second_text, "byte for byte");
    let mut s = InProc::new("").await;
    let again = s.get("/openapi.json").await;
    let again2 = s.get("/openapi.json").await;
    assert_eq!(again.body, again2.body);
    assert_eq!(first["servers"], serde_json::json!([{ "url": ISSUER }]));
    assert!(first["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
}

#[tokio::test]
async fn every_operation_has_a_declared_tag_and_a_summary_or_description() {
    let doc = document().await;
    let declared: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("the document declares its tags")
        .iter()
        .map(|t| {
            assert!(
                t["description"].as_str().is_some_and(|d| !d.trim().is_empty()),
                "every tag is described: {t}"
            );
            t["name"].as_str().expect("a tag has a name")
        })
        .collect();
    let ops = operations(&doc);
    assert!(
        ops.len() >= 30,
        "every endpoint is documented: {} operations",
        ops.len()
    );
    let mut used = BTreeSet::new();
    for (method, path, op) in &ops {
        let tags = op["tags"].as_array().map(Vec::as_slice).unwrap_or_default();
        assert!(!tags.is_empty(), "{method} {path} has no tag");
        for tag in tags {
            let tag = tag.as_str().expect("a tag is a string");
            assert!(
                declared.contains(tag),
                "{method} {path}: tag `{tag}` is not declared"
            );
            used.insert(tag);
        }
        let text = |k: &str| op[k].as_str().is_some_and(|t| !t.trim().is_empty());
        assert!(
            text("summary") || text("description"),
            "{method} {path} has neither summary nor description"
        );
        assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
    }
    assert_eq!(used, declared, "every declared tag is used");
    for path in [
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/oauth/userinfo",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
        "/api/v1/users",
        "/api/v1/clients",
        "/api/v1/keys",
        "/api/v1/audit",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    // The Prometheus scrape is for operators, not an API operation.
    assert!(
        doc["paths"].get("/metrics").is_none(),
        "/metrics is not in the document"
    );
}

/// Whether a response object declares the `Cache-Control` header.
fn declares_cache_control(response: &Value) -> bool {
    response["headers"]
        .as_object()
        .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("cache-control")))
}

#[tokio::test]
async fn every_token_style_response_declares_cache_control() {
    let doc = document().await;
    let mut missing = Vec::new();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        // Token, revocation and introspection answers, errors included (RFC 6749 section 5.1,
        // RFC 7009, RFC 7662); userinfo's claims; the JWKS, which clients cache on purpose; and
        // the admin answers that carry a newly generated client secret.
        let statuses: Vec<&str> = match (method.as_str(), path.as_str()) {
            (_, "/oauth/token" | "/oauth/revoke" | "/oauth/introspect") => {
                responses.keys().map(String::as_str).collect()
            }
            (_, "/oauth/userinfo") | ("GET", "/.well-known/jwks.json") => vec!["200"],
            ("POST", "/api/v1/clients") => vec!["201"],
            ("POST", "/api/v1/clients/{client_id}/rotate-secret") => vec!["200"],
            _ => continue,
        };
        for status in statuses {
            let response = responses
                .get(status)
                .unwrap_or_else(|| panic!("{method} {path} does not declare {status}"));
            if !declares_cache_control(response) {
                missing.push(format!("{method} {path} {status}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "these token-style responses do not declare Cache-Control:\n{}",
        missing.join("\n")
    );
}

#[tokio::test]
async fn the_security_scheme_is_oauth2_with_authorization_code_and_client_credentials_flows() {
    let doc = document().await;
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes are declared");
    let oauth2: Vec<(&String, &Value)> = schemes.iter().filter(|(_, s)| s["type"] == "oauth2").collect();
    assert_eq!(oauth2.len(), 1, "one OAuth 2.0 scheme: {schemes:?}");
    let (_, scheme) = oauth2[0];
    assert!(
        scheme["description"]
            .as_str()
            .is_some_and(|d| d.contains("admin"))
    );
    let flows = scheme["flows"].as_object().expect("the scheme has flows");
    let names: BTreeSet<&str> = flows.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["authorizationCode", "clientCredentials"]));
    let code = &flows["authorizationCode"];
    assert!(
        code["authorizationUrl"]
            .as_str()
            .is_some_and(|u| u.ends_with("/oauth/authorize"))
    );
    assert!(
        code["tokenUrl"]
            .as_str()
            .is_some_and(|u| u.ends_with("/oauth/token"))
    );
    let cc = &flows["clientCredentials"];
    assert!(
        cc["tokenUrl"]
            .as_str()
            .is_some_and(|u| u.ends_with("/oauth/token"))
    );
    assert!(cc.get("authorizationUrl").is_none());
    for flow in [code, cc] {
        let admin = flow["scopes"]["admin"].as_str().unwrap_or("");
        assert!(
            !admin.is_empty(),
            "the `admin` scope is declared and described: {flow}"
        );
    }
}

#[tokio::test]
async fn every_admin_operation_requires_the_admin_scope_and_nothing_else_requires_a_scheme() {
    let doc = document().await;
    let scheme = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes are declared")
        .iter()
        .find(|(_, s)| s["type"] == "oauth2")
        .map(|(name, _)| name.clone())
        .expect("an OAuth 2.0 scheme");
    let mut admin_ops = 0;
    let mut wrong = Vec::new();
    for (method, path, op) in operations(&doc) {
        let requirements = op["security"].as_array().map(Vec::as_slice).unwrap_or_default();
        if path.starts_with("/api/v1/") {
            admin_ops += 1;
            // Every alternative names the scheme with the `admin` scope: none lets a call in
            // without it.
            let all_need_admin = !requirements.is_empty()
                && requirements.iter().all(|r| {
                    r[&scheme]
                        .as_array()
                        .is_some_and(|scopes| scopes.iter().any(|s| s == "admin"))
                });
            if !all_need_admin {
                wrong.push(format!("{method} {path}: {}", op["security"]));
            }
            for status in ["401", "403"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} declares {status}"
                );
            }
        } else {
            assert!(requirements.is_empty(), "{method} {path} needs no bearer token");
        }
    }
    assert_eq!(admin_ops, 27, "every admin operation was checked");
    assert!(
        wrong.is_empty(),
        "these admin operations do not require `{scheme}` with the `admin` scope:\n{}",
        wrong.join("\n")
    );
}
