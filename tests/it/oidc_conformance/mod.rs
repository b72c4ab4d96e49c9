//! The OpenID Foundation's Basic OP and Config OP conformance modules, and the RP-Initiated
//! Logout plan's cases, reproduced for a statically registered code-flow client (`web`) against
//! an in-process server. Where a module waits (max_age, code reuse after 30 s), the test moves the
//! fixed clock instead of sleeping.

mod basic_op;
mod config_op;
mod rp_logout;

use poem::http::{Method, StatusCode};
use serde_json::Value;

use crate::inproc::{ISSUER, InProc, PASSWORD, REDIRECT, Reply, VERIFIER, WEB_SECRET, basic, claims};

/// Verifies an EdDSA JWT against the server's published JWKS and returns its claims.
async fn verify_with_jwks(s: &mut InProc, jwt: &str) -> Value {
    let jwks = s.get("/.well-known/jwks.json").await.json();
    let header: Value =
        serde_json::from_slice(&latchkey::crypto::b64url_decode(jwt.split('.').next().unwrap()).unwrap())
            .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the kid is published");
    let x: [u8; 32] = latchkey::crypto::b64url_decode(jwk["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig: [u8; 64] = latchkey::crypto::b64url_decode(sig).unwrap().try_into().unwrap();
    key.verify_strict(input.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
        .expect("the signature verifies");
    claims(jwt)
}

/// Runs the code flow for `web` with `extra` parameters and returns the token response.
async fn code_flow(s: &mut InProc, extra: &[(&str, &str)]) -> Value {
    let code = s.code(extra).await;
    let reply = s.exchange(&code).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

fn id_token(tokens: &Value) -> &str {
    tokens["id_token"].as_str().expect("an id_token")
}

async fn userinfo(s: &mut InProc, method: Method, token: &str, in_body: bool) -> Reply {
    let auth = format!("Bearer {token}");
    match (method, in_body) {
        (Method::POST, true) => s.post("/oauth/userinfo", &[("access_token", token)]).await,
        (m, _) => {
            s.send(m, "/oauth/userinfo", None, &[("authorization", &auth)])
                .await
        }
    }
}
