//! What the JWKS publishes, for relying parties that read it once: the RSA key of RS256 clients
//! from the moment such a client is registered (configuration file, CLI; the admin API in
//! `admin_api.rs`), and Ed25519 keys under both names of their signatures (`EdDSA` and the RFC
//! 9864 `Ed25519`), so that a strict `kid` + `alg` matcher finds the key of either kind of token.

use serde_json::Value;

use crate::harness::{Server, assert_success, default_config, http};
use crate::inproc::{InProc, REDIRECT, VERIFIER, WEB_SECRET, basic};

/// The published JWKS of a running server.
async fn jwks_of(server: &Server) -> Value {
    http()
        .get(format!("{}/.well-known/jwks.json", server.base_url()))
        .send()
        .await
        .expect("GET jwks")
        .json()
        .await
        .expect("the JWKS is JSON")
}

fn has_rsa(jwks: &Value) -> bool {
    jwks["keys"]
        .as_array()
        .expect("a keys array")
        .iter()
        .any(|k| k["kty"] == "RSA" && k["alg"] == "RS256" && k["n"].is_string())
}

#[tokio::test]
async fn a_client_declared_for_rs256_has_its_rsa_key_published_from_the_start() {
    let mut server = Server::with_config(|port| {
        default_config(port)
            + r#"
[[client]]
client_id = "reports"
public = true
redirect_uris = ["http://127.0.0.1/cb"]
scopes = ["openid"]
id_token_signed_response_alg = "RS256"
"#
    });
    server.start();
    assert!(has_rsa(&jwks_of(&server).await), "before any token is issued");
}

#[tokio::test]
async fn a_client_added_for_rs256_with_the_cli_has_its_rsa_key_published_at_once() {
    let mut server = Server::new();
    server.start();
    assert!(
        !has_rsa(&jwks_of(&server).await),
        "no RSA key without an RS256 client"
    );
    assert_success(&server.cli(&[
        "client",
        "add",
        "reports",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--scope",
        "openid",
        "--id-token-alg",
        "RS256",
    ]));
    assert!(has_rsa(&jwks_of(&server).await), "before any token is issued");
}

/// The keys a strict library picks for a JWT header: the same `kid` and the same `alg`.
fn strict_match<'a>(jwks: &'a Value, header: &Value) -> Vec<&'a Value> {
    jwks["keys"]
        .as_array()
        .expect("a keys array")
        .iter()
        .filter(|k| k["kid"] == header["kid"] && k["alg"] == header["alg"])
        .collect()
}

fn b64_json(part: &str) -> Value {
    serde_json::from_slice(&latchkey::crypto::b64url_decode(part).expect("base64url")).expect("JSON")
}

#[tokio::test]
async fn a_strict_kid_and_alg_matcher_verifies_eddsa_and_ed25519_id_tokens_with_the_jwks() {
    // A client registered for `Ed25519` got ID tokens that Authlib could not verify: the header
    // said `Ed25519`, the only JWK `"alg": "EdDSA"`.
    let mut s = InProc::new(&format!(
        r#"
[[client]]
client_id = "fully"
name = "Fully Specified"
redirect_uris = ["{REDIRECT}"]
scopes = ["openid", "profile"]
secret_digest = "{digest}"
id_token_signed_response_alg = "Ed25519"
"#,
        digest = latchkey::service::clients::digest_text(WEB_SECRET)
    ))
    .await;
    let jwks = s.get("/.well-known/jwks.json").await.json();
    for (client, alg) in [("web", "EdDSA"), ("fully", "Ed25519")] {
        let reply = s.authorize(&InProc::authorize_uri(client, REDIRECT, &[])).await;
        let code = reply.location_param("code").expect("a code");
        let tokens = s
            .post_with(
                "/oauth/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
                &[("authorization", &basic(client, WEB_SECRET))],
            )
            .await;
        let id_token = tokens.json()["id_token"]
            .as_str()
            .expect("an ID token")
            .to_owned();
        let mut parts = id_token.split('.');
        let header = b64_json(parts.next().unwrap());
        assert_eq!(header["alg"], alg, "{client}");
        let found = strict_match(&jwks, &header);
        assert_eq!(
            found.len(),
            1,
            "{client}: exactly one key matches {header}: {jwks}"
        );
        let x: [u8; 32] = latchkey::crypto::b64url_decode(found[0]["x"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let key = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
        let (input, sig) = id_token.rsplit_once('.').unwrap();
        let sig: [u8; 64] = latchkey::crypto::b64url_decode(sig).unwrap().try_into().unwrap();
        key.verify_strict(input.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
            .unwrap_or_else(|e| panic!("{client}: the matched key verifies the ID token: {e}"));
    }
}
