//! The admin API's upstream links: linked, listed and unlinked, and removed with their user.

use poem::http::Method;
use serde_json::{Value, json};

use crate::admin_fixture::*;

#[tokio::test]
async fn upstream_identities_are_linked_listed_and_unlinked_and_an_identity_has_one_user() {
    let mut a = Admin::new().await;
    assert_eq!(a.get("/api/v1/users/alice/links").await, json!([]));
    let body = json!({ "upstream": "corp", "subject": "248289761001" });
    let created = a
        .expect(201, Method::POST, "/api/v1/users/alice/links", Some(body.clone()))
        .await;
    assert_eq!(created["upstream"], "corp");
    assert_eq!(created["upstream_subject"], "248289761001");
    assert_eq!(created["linked_at"], 1_800_000_000u64);
    assert_eq!(created["last_used"], Value::Null);
    assert_eq!(a.get("/api/v1/users/alice/links").await, json!([created]));

    // One identity, one user: linking it again, to anyone, is a conflict.
    add_admin(&a.s, "bob").await;
    for user in ["alice", "bob"] {
        let again = a
            .call(
                Method::POST,
                &format!("/api/v1/users/{user}/links"),
                Some(body.clone()),
            )
            .await;
        assert_problem(&again, 409, "conflict");
    }
    assert_eq!(a.get("/api/v1/users/bob/links").await, json!([]));
    for bad in [
        json!({ "upstream": "Corp", "subject": "x" }),
        json!({ "upstream": "corp", "subject": "" }),
        json!({ "upstream": "corp", "subject": "a\u{7}b" }),
    ] {
        let reply = a
            .call(Method::POST, "/api/v1/users/alice/links", Some(bad.clone()))
            .await;
        assert!(
            invalid_field(&reply, "upstream").is_ok() || invalid_field(&reply, "subject").is_ok(),
            "{bad}: {} {}",
            reply.status,
            reply.body
        );
    }
    assert_problem(
        &a.call(
            Method::POST,
            "/api/v1/users/alice/links",
            Some(json!({ "upstream": "corp" })),
        )
        .await,
        400,
        "bad-request",
    );
    // Only the owner's link can be removed through the owner.
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/users/bob/links/corp/248289761001", None)
            .await,
        404,
        "not-found",
    );
    a.expect_done(
        Method::DELETE,
        "/api/v1/users/alice/links/corp/248289761001",
        None,
    )
    .await;
    assert_eq!(a.get("/api/v1/users/alice/links").await, json!([]));
    assert_problem(
        &a.call(
            Method::DELETE,
            "/api/v1/users/alice/links/corp/248289761001",
            None,
        )
        .await,
        404,
        "not-found",
    );
    assert_problem(
        &a.call(Method::GET, "/api/v1/users/nobody/links", None).await,
        404,
        "not-found",
    );
    let (events, _) = a.audit_feed(500).await;
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "user.link" && e["success"] == true)
    );
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "user.unlink" && e["success"] == true)
    );
}

#[tokio::test]
async fn deleting_a_user_removes_its_links() {
    let mut a = Admin::new().await;
    a.expect(
        201,
        Method::POST,
        "/api/v1/users/alice/links",
        Some(json!({ "upstream": "corp", "subject": "s-1" })),
    )
    .await;
    a.expect_done(Method::DELETE, "/api/v1/users/alice", None).await;
    add_admin(&a.s, "alice").await;
    assert_eq!(a.get("/api/v1/users/alice/links").await, json!([]));
    // The identity is free again.
    a.expect(
        201,
        Method::POST,
        "/api/v1/users/alice/links",
        Some(json!({ "upstream": "corp", "subject": "s-1" })),
    )
    .await;
}
