//! The admin API's signing keys: rotation publishes both keys and old tokens keep working.

use std::collections::BTreeSet;

use poem::http::Method;
use serde_json::{Value, json};

use crate::admin_fixture::*;

#[tokio::test]
async fn rotating_keys_publishes_both_keys_and_old_tokens_still_work() {
    let mut a = Admin::new().await;
    let keys = a.get("/api/v1/keys").await;
    let keys = keys.as_array().expect("a list of keys").clone();
    let active: Vec<&Value> = keys.iter().filter(|k| k["status"] == "active").collect();
    assert_eq!(active.len(), 1, "{keys:?}");
    let old_kid = active[0]["kid"].as_str().unwrap().to_owned();
    let jwks_before = a.s.get("/.well-known/jwks.json").await.json();
    // Each Ed25519 key is listed once per name (`EdDSA`, `Ed25519`): count the kids.
    let published_before = jwks_before["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect::<BTreeSet<_>>()
        .len();

    a.s.advance(60);
    let new = a.expect(200, Method::POST, "/api/v1/keys/rotate", None).await;
    let new_kid = new["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(new["status"], "active");
    assert_eq!(new["created_at"], 1_800_000_060u64);

    let keys = a.get("/api/v1/keys").await;
    let status = |kid: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .map(|k| k["status"].clone())
    };
    assert_eq!(status(&new_kid), Some(json!("active")));
    assert_eq!(status(&old_kid), Some(json!("retiring")));
    let old = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == old_kid.as_str())
        .unwrap();
    assert!(old["retire_at"].as_u64().is_some_and(|t| t > 1_800_000_060));
    assert_eq!(keys[0]["kid"], new_kid.as_str(), "newest first");
    assert!(!keys.to_string().contains("\"d\""), "no private key material");

    let jwks = a.s.get("/.well-known/jwks.json").await.json();
    let kids: BTreeSet<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), published_before + 1, "{jwks}");
    assert!(kids.contains(old_kid.as_str()) && kids.contains(new_kid.as_str()));

    // The admin token was signed by the old key, which is still published.
    a.get("/api/v1/keys").await;
    let fresh = ops_token(&mut a.s).await;
    let header = fresh.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&latchkey::crypto::b64url_decode(header).unwrap()).unwrap();
    assert_eq!(header["kid"], new_kid.as_str(), "new tokens use the new key");
}
