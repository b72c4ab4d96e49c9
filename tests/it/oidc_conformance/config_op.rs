//! The Config OP conformance module's cases and request objects.

use super::*;

#[tokio::test]
async fn config_op_discovery_document_is_complete_and_exact() {
    let mut s = InProc::new("").await;
    let d = s.get("/.well-known/openid-configuration").await.json();
    assert_eq!(d["issuer"], ISSUER);
    for (k, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("jwks_uri", "/.well-known/jwks.json"),
        ("end_session_endpoint", "/oauth/logout"),
    ] {
        assert_eq!(d[k], format!("{ISSUER}{path}"));
    }
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["EdDSA", "Ed25519", "RS256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["backchannel_logout_supported"], true);
    for k in [
        "scopes_supported",
        "claims_supported",
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
    ] {
        assert!(d[k].as_array().is_some_and(|a| !a.is_empty()), "{k}");
    }
    let scopes = d["scopes_supported"].as_array().unwrap();
    assert!(scopes.iter().any(|v| v == "openid"));
}

#[tokio::test]
async fn request_objects_are_refused() {
    let mut s = InProc::new("").await;
    let r = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("request", "eyJhbGciOiJub25lIn0.e30.")],
        ))
        .await;
    assert_eq!(
        r.location_param("error").as_deref(),
        Some("request_not_supported")
    );
    let r = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("request_uri", "https://rp.example/r")],
        ))
        .await;
    assert_eq!(
        r.location_param("error").as_deref(),
        Some("request_uri_not_supported")
    );
}
