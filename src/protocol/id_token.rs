//! OpenID Connect ID tokens (Core 2, 3.1.3.6) and the claims of users (Core 5.1, 5.4).

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha512};

use super::login::Acr;
use crate::crypto::b64url;
use crate::domain::{Amr, IdTokenAlg, ScopeSet, Timestamp, User};

/// Claims each scope grants (OpenID Connect Core 5.4, plus `groups`).
pub const SCOPE_CLAIMS: [(&str, &[&str]); 3] = [
    ("profile", &["name", "preferred_username", "updated_at"]),
    ("email", &["email", "email_verified"]),
    ("groups", &["groups"]),
];

/// Every claim Latchkey can give, for discovery.
pub const CLAIMS_SUPPORTED: [&str; 18] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "sid",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
    "groups",
];

/// The value of one user claim, if the user has it.
fn claim(user: &User, name: &str) -> Option<Value> {
    match name {
        "name" => Some(Value::String(
            user.name.clone().unwrap_or_else(|| user.username.to_string()),
        )),
        "preferred_username" => Some(Value::String(user.username.to_string())),
        "updated_at" => Some(Value::from(user.updated_at.0)),
        "email" => user.email.clone().map(Value::String),
        "email_verified" => user.email.as_ref().map(|_| Value::Bool(user.email_verified)),
        "groups" => Some(json!(user.groups)),
        _ => None,
    }
}

/// Whether one of the granted `scopes` covers the claim `name` (OpenID Connect Core 5.4).
pub fn scope_covers(scopes: &ScopeSet, name: &str) -> bool {
    SCOPE_CLAIMS
        .iter()
        .any(|(scope, names)| scopes.contains(scope) && names.contains(&name))
}

/// `sub` and the claims that the granted `scopes` cover. A claim asked for by name in
/// `requested` (the `claims` parameter, Core 5.5) is released only when a granted scope covers
/// it too: the parameter selects among what the user consented to, never beyond it.
pub fn user_claims(user: &User, scopes: &ScopeSet, requested: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), Value::String(user.subject.to_string()));
    let by_scope = SCOPE_CLAIMS
        .iter()
        .filter(|(scope, _)| scopes.contains(scope))
        .flat_map(|(_, names)| names.iter().copied());
    let by_name = requested
        .iter()
        .map(String::as_str)
        .filter(|name| scope_covers(scopes, name));
    for name in by_scope.chain(by_name) {
        if let Some(v) = claim(user, name) {
            out.insert(name.to_owned(), v);
        }
    }
    out
}

/// The `at_hash` of an access token: the left half of the hash that goes with the signing
/// algorithm, base64url. For EdDSA (Ed25519) that is SHA-512, as the OpenID token-hash guidance
/// and common verifiers compute it; for RS256 it is SHA-256.
pub fn token_hash(token: &str, alg: IdTokenAlg) -> String {
    match alg {
        IdTokenAlg::EdDsa | IdTokenAlg::Ed25519 => {
            let digest = Sha512::digest(token.as_bytes());
            b64url(&digest[..32])
        }
        IdTokenAlg::RS256 => {
            let digest = Sha256::digest(token.as_bytes());
            b64url(&digest[..16])
        }
    }
}

/// What an ID token says, gathered by the caller.
#[derive(Debug)]
pub struct IdTokenFacts<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub user: &'a User,
    pub scopes: &'a ScopeSet,
    pub requested: &'a [String],
    pub nonce: Option<&'a str>,
    pub auth_time: Timestamp,
    pub sid: Option<&'a str>,
    pub amr: &'a [Amr],
    pub access_token: Option<&'a str>,
    pub alg: IdTokenAlg,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The claims of an ID token.
pub fn claims(f: &IdTokenFacts<'_>) -> Map<String, Value> {
    let mut c = user_claims(f.user, f.scopes, f.requested);
    c.insert("iss".into(), Value::String(f.issuer.to_owned()));
    c.insert("aud".into(), Value::String(f.client_id.to_owned()));
    c.insert("azp".into(), Value::String(f.client_id.to_owned()));
    c.insert("iat".into(), Value::from(f.issued_at.0));
    c.insert("exp".into(), Value::from(f.expires_at.0));
    c.insert("auth_time".into(), Value::from(f.auth_time.0));
    if let Some(n) = f.nonce {
        c.insert("nonce".into(), Value::String(n.to_owned()));
    }
    if let Some(sid) = f.sid {
        c.insert("sid".into(), Value::String(sid.to_owned()));
    }
    if !f.amr.is_empty() {
        c.insert("amr".into(), json!(f.amr));
        // The class the same methods reach (`1fa`, or `2fa` with `mfa`), as discovery lists them.
        c.insert("acr".into(), Value::String(Acr::of(f.amr).as_str().to_owned()));
    }
    // `at_hash` is optional in the code flow (Core 3.1.3.6). For the RFC 9864 name `Ed25519` no
    // rule says which hash goes with it, and verifiers disagree (Authlib derives `sha25519` from
    // the name, finds none and refuses the token), so those ID tokens carry none.
    if let Some(at) = f.access_token
        && f.alg != IdTokenAlg::Ed25519
    {
        c.insert("at_hash".into(), Value::String(token_hash(at, f.alg)));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Subject, Username};

    fn user() -> User {
        User {
            subject: Subject::from_string("sub-1".into()),
            username: Username::parse("alice").unwrap(),
            name: Some("Alice A".into()),
            email: Some("alice@example.com".into()),
            email_verified: true,
            groups: vec!["admins".into()],
            disabled: false,
            password_hash: Some("secret-hash".into()),
            created_at: Timestamp(1),
            updated_at: Timestamp(2),
        }
    }

    #[test]
    fn claims_follow_the_granted_scopes_and_sub_is_always_there() {
        let u = user();
        let none = user_claims(&u, &ScopeSet::parse("openid").unwrap(), &[]);
        assert_eq!(none.keys().collect::<Vec<_>>(), vec!["sub"]);
        let all = user_claims(&u, &ScopeSet::parse("openid profile email groups").unwrap(), &[]);
        assert_eq!(all["name"], "Alice A");
        assert_eq!(all["preferred_username"], "alice");
        assert_eq!(all["email_verified"], true);
        assert_eq!(all["groups"], json!(["admins"]));
        let beyond = user_claims(
            &u,
            &ScopeSet::parse("openid").unwrap(),
            &["email".into(), "groups".into()],
        );
        assert_eq!(
            beyond.keys().collect::<Vec<_>>(),
            vec!["sub"],
            "asked by name, not granted"
        );
        let within = user_claims(&u, &ScopeSet::parse("openid email").unwrap(), &["email".into()]);
        assert_eq!(within["email"], "alice@example.com");
        assert!(!serde_json::to_string(&all).unwrap().contains("secret-hash"));
    }

    #[test]
    fn at_hash_uses_sha512_for_eddsa_and_sha256_for_rs256() {
        // OpenID Connect Core A.3: the access token "jHkWEdUXMU1BwAsC4vtUsZwnNe..." (RS256 example).
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNeuVuVDqRtxCQ7HrptK";
        assert_eq!(token_hash(token, IdTokenAlg::RS256).len(), 22);
        let ed = token_hash(token, IdTokenAlg::EdDsa);
        assert_eq!(ed.len(), 43);
        assert_eq!(ed, b64url(&Sha512::digest(token.as_bytes())[..32]));
        assert_eq!(token_hash(token, IdTokenAlg::Ed25519), ed);
    }

    /// Authlib refused every `Ed25519` ID token: it derives the at_hash function from the
    /// algorithm's name. Those tokens carry no at_hash (optional in the code flow); the others do.
    #[test]
    fn ed25519_named_id_tokens_carry_no_at_hash_and_the_others_do() {
        let u = user();
        let scopes = ScopeSet::parse("openid").unwrap();
        let facts = |alg| IdTokenFacts {
            issuer: "https://id.example.test",
            client_id: "app",
            user: &u,
            scopes: &scopes,
            requested: &[],
            nonce: None,
            auth_time: Timestamp(1),
            sid: None,
            amr: &[],
            access_token: Some("an-access-token"),
            alg,
            issued_at: Timestamp(1),
            expires_at: Timestamp(2),
        };
        assert!(claims(&facts(IdTokenAlg::Ed25519)).get("at_hash").is_none());
        assert!(claims(&facts(IdTokenAlg::EdDsa)).get("at_hash").is_some());
        assert!(claims(&facts(IdTokenAlg::RS256)).get("at_hash").is_some());
    }
}
