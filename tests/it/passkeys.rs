//! Passkey ceremonies in process, with a software authenticator (an ES256 key, `none`
//! attestation, hand-written CBOR): a ceremony works once and expires, a registration started
//! for one user cannot finish for another, a use records the counter and the last use, a
//! counter that goes back (a cloned authenticator) is refused, removal needs a fresh sign-in,
//! and the JSON endpoints need the page's form token.

use std::net::{IpAddr, Ipv4Addr};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use latchkey::crypto::{b64url, b64url_decode, sha256};
use latchkey::domain::{NewUser, Session, Subject, User};
use latchkey::protocol::login::LoginPolicy;
use latchkey::service::passkeys::{self, PasskeyError};
use latchkey::service::users;
use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::inproc::{ISSUER, InProc, PASSWORD};

const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A CBOR head: major type and length (only what these structures need).
fn head(major: u8, len: usize) -> Vec<u8> {
    let m = major << 5;
    match len {
        0..24 => vec![m | len as u8],
        24..256 => vec![m | 24, len as u8],
        _ => vec![m | 25, (len >> 8) as u8, len as u8],
    }
}

fn cbor_text(s: &str) -> Vec<u8> {
    [head(3, s.len()), s.as_bytes().to_vec()].concat()
}

fn cbor_bytes(b: &[u8]) -> Vec<u8> {
    [head(2, b.len()), b.to_vec()].concat()
}

/// A CBOR integer in -24..24.
fn cbor_small(n: i8) -> u8 {
    if n >= 0 { n as u8 } else { 0x20 | (-1 - n) as u8 }
}

/// A software passkey: one ES256 key with a credential id, its user handle and a counter.
pub(crate) struct SoftKey {
    key: EcdsaKeyPair,
    id: Vec<u8>,
    counter: u32,
    user_handle: Vec<u8>,
    rng: SystemRandom,
}

impl SoftKey {
    pub(crate) fn new() -> SoftKey {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("a P-256 key");
        let mut id = vec![0u8; 16];
        getrandom::fill(&mut id).expect("random bytes");
        SoftKey {
            key,
            id,
            counter: 0,
            user_handle: Vec::new(),
            rng: SystemRandom::new(),
        }
    }

    fn rp_id_hash() -> [u8; 32] {
        sha256(url::Url::parse(ISSUER).unwrap().host_str().unwrap().as_bytes())
    }

    fn client_data(kind: &str, challenge: &str) -> Vec<u8> {
        json!({ "type": kind, "challenge": challenge, "origin": ISSUER, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    /// The COSE public key: EC2, ES256, P-256, x, y.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let (x, y) = (&point[1..33], &point[33..65]);
        let mut out = head(5, 5);
        out.extend([cbor_small(1), cbor_small(2), cbor_small(3), cbor_small(-7)]);
        out.extend([cbor_small(-1), cbor_small(1), cbor_small(-2)]);
        out.extend(cbor_bytes(x));
        out.push(cbor_small(-3));
        out.extend(cbor_bytes(y));
        out
    }

    /// Answers a registration's options (as the start endpoint sends them).
    pub(crate) fn register(&mut self, options: &Value) -> Value {
        let pk = &options["publicKey"];
        let challenge = pk["challenge"].as_str().unwrap();
        self.user_handle = b64url_decode(pk["user"]["id"].as_str().unwrap()).unwrap();
        let client_data = Self::client_data("webauthn.create", challenge);
        let mut auth_data = Self::rp_id_hash().to_vec();
        auth_data.push(0x01 | 0x04 | 0x40); // user present, verified, attested credential data
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.id.len() as u16).to_be_bytes());
        auth_data.extend(&self.id);
        auth_data.extend(self.cose_key());
        let mut attestation = head(5, 3);
        attestation.extend(cbor_text("fmt"));
        attestation.extend(cbor_text("none"));
        attestation.extend(cbor_text("attStmt"));
        attestation.extend(head(5, 0));
        attestation.extend(cbor_text("authData"));
        attestation.extend(cbor_bytes(&auth_data));
        json!({
            "id": b64url(&self.id),
            "rawId": b64url(&self.id),
            "type": "public-key",
            "response": {
                "attestationObject": b64url(&attestation),
                "clientDataJSON": b64url(&client_data),
            },
            "extensions": {},
        })
    }

    /// Answers a sign-in's options with the next counter value (or `counter`, when given).
    pub(crate) fn sign(&mut self, options: &Value, counter: Option<u32>) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        self.counter = counter.unwrap_or(self.counter + 1);
        let client_data = Self::client_data("webauthn.get", challenge);
        let mut auth_data = Self::rp_id_hash().to_vec();
        auth_data.push(0x01 | 0x04);
        auth_data.extend(self.counter.to_be_bytes());
        let signed = [auth_data.clone(), sha256(&client_data).to_vec()].concat();
        let signature = self.key.sign(&self.rng, &signed).expect("a signature");
        json!({
            "id": b64url(&self.id),
            "rawId": b64url(&self.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64url(&auth_data),
                "clientDataJSON": b64url(&client_data),
                "signature": b64url(signature.as_ref()),
                "userHandle": b64url(&self.user_handle),
            },
            "extensions": {},
        })
    }
}

async fn user(s: &InProc, name: &str) -> User {
    s.app
        .store
        .read(|tx| tx.user_by_username_key(name))
        .unwrap()
        .unwrap_or_else(|| panic!("no user {name}"))
}

async fn add_bob(s: &InProc) -> User {
    let new = NewUser {
        username: "bob".into(),
        name: None,
        email: None,
        email_verified: false,
        groups: vec![],
    };
    users::add(&s.app, new, Some(PASSWORD.into())).await.unwrap();
    user(s, "bob").await
}

/// Registers a software passkey for `who` through the service.
async fn registered(s: &InProc, who: &User) -> SoftKey {
    let mut key = SoftKey::new();
    let started = passkeys::start_registration(&s.app, who).await.unwrap();
    let answer = serde_json::from_value(key.register(&started.options)).unwrap();
    passkeys::finish_registration(&s.app, who, &started.ceremony, "Soft key", &answer, IP)
        .await
        .unwrap();
    key
}

fn as_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[tokio::test]
async fn a_registration_ceremony_works_once_and_expires() {
    let s = InProc::new("").await;
    let alice = user(&s, "alice").await;
    let mut key = SoftKey::new();
    let started = passkeys::start_registration(&s.app, &alice).await.unwrap();
    assert_eq!(
        started.options["publicKey"]["authenticatorSelection"]["residentKey"], "required",
        "passkey-first sign-in needs a discoverable credential"
    );
    let answer = serde_json::from_value(key.register(&started.options)).unwrap();
    let first = passkeys::finish_registration(&s.app, &alice, &started.ceremony, "Phone", &answer, IP).await;
    assert_eq!(first.map(|p| p.name), Ok("Phone".to_owned()));
    let again = passkeys::finish_registration(&s.app, &alice, &started.ceremony, "Phone", &answer, IP).await;
    assert_eq!(again, Err(PasskeyError::NoCeremony), "a ceremony works once");

    let late = passkeys::start_registration(&s.app, &alice).await.unwrap();
    let answer = serde_json::from_value(SoftKey::new().register(&late.options)).unwrap();
    s.advance(passkeys::CEREMONY_LIFETIME.0 + 1);
    let expired = passkeys::finish_registration(&s.app, &alice, &late.ceremony, "Late", &answer, IP).await;
    assert_eq!(expired, Err(PasskeyError::NoCeremony), "a ceremony expires");
    assert_eq!(passkeys::list(&s.app, &alice.subject).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_registration_started_for_one_user_cannot_finish_for_another() {
    let s = InProc::new("").await;
    let alice = user(&s, "alice").await;
    let bob = add_bob(&s).await;
    let started = passkeys::start_registration(&s.app, &alice).await.unwrap();
    let answer = serde_json::from_value(SoftKey::new().register(&started.options)).unwrap();
    let taken = passkeys::finish_registration(&s.app, &bob, &started.ceremony, "Stolen", &answer, IP).await;
    assert_eq!(taken, Err(PasskeyError::WrongUser));
    assert!(passkeys::list(&s.app, &bob.subject).await.unwrap().is_empty());
    assert!(passkeys::list(&s.app, &alice.subject).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_sign_in_records_the_counter_and_last_use_and_a_counter_that_goes_back_is_refused() {
    let s = InProc::new("").await;
    let alice = user(&s, "alice").await;
    let mut key = registered(&s, &alice).await;
    let id = b64url(&key.id);
    assert_eq!(
        passkeys::list(&s.app, &alice.subject).await.unwrap()[0].last_used_at,
        None
    );

    s.advance(60);
    let started = passkeys::start_sign_in(&s.app, IP).await.unwrap();
    let answer = serde_json::from_value(key.sign(&as_json(&started.options), Some(7))).unwrap();
    let proven = passkeys::finish_sign_in(&s.app, &started.ceremony, &answer, IP)
        .await
        .unwrap();
    assert_eq!(proven.user.subject, alice.subject);
    assert!(proven.verified && !proven.synced, "{proven:?}");
    let stored = s.app.store.read(|tx| tx.passkey(&id)).unwrap().unwrap();
    assert_eq!(stored.last_used_at, Some(s.app.clock.now()));
    let credential: Value = serde_json::from_str(&stored.credential).unwrap();
    assert_eq!(credential["cred"]["counter"], 7, "the counter is stored");

    let started = passkeys::start_sign_in(&s.app, IP).await.unwrap();
    let cloned = serde_json::from_value(key.sign(&as_json(&started.options), Some(7))).unwrap();
    let refused = passkeys::finish_sign_in(&s.app, &started.ceremony, &cloned, IP).await;
    assert_eq!(
        refused,
        Err(PasskeyError::Refused),
        "a counter that does not grow"
    );
}

#[tokio::test]
async fn a_second_factor_ceremony_belongs_to_its_sign_in() {
    let s = InProc::new("").await;
    let alice = user(&s, "alice").await;
    let bob = add_bob(&s).await;
    let mut key = registered(&s, &alice).await;
    let started = passkeys::start_second_factor(&s.app, &alice.subject)
        .await
        .unwrap();
    let answer = serde_json::from_value(key.sign(&as_json(&started.options), None)).unwrap();
    let other = passkeys::finish_second_factor(&s.app, &bob.subject, &started.ceremony, &answer).await;
    assert_eq!(other, Err(PasskeyError::WrongUser));
    assert_eq!(
        passkeys::start_second_factor(&s.app, &bob.subject).await.err(),
        Some(PasskeyError::NotFound),
        "bob has no passkey to ask for"
    );

    let started = passkeys::start_second_factor(&s.app, &alice.subject)
        .await
        .unwrap();
    let answer = serde_json::from_value(key.sign(&as_json(&started.options), None)).unwrap();
    let synced = passkeys::finish_second_factor(&s.app, &alice.subject, &started.ceremony, &answer).await;
    assert_eq!(synced, Ok(false), "a device-bound key is hwk");
}

#[tokio::test]
async fn removing_a_passkey_needs_a_fresh_sign_in_and_the_policy_keeps_a_required_last_factor() {
    let s = InProc::new("").await;
    let alice = user(&s, "alice").await;
    let key = registered(&s, &alice).await;
    let id = b64url(&key.id);
    let session = |auth_time| Session {
        sid: "sid".into(),
        subject: alice.subject.clone(),
        auth_time,
        amr: vec![],
        created_at: auth_time,
        expires_at: auth_time,
    };
    let old = session(s.app.clock.now());
    s.advance(601);
    let policy = LoginPolicy::default();
    let stale = passkeys::remove(&s.app, &old, &alice, &policy, &id, IP).await;
    assert_eq!(stale, Err(PasskeyError::NotFresh));

    let fresh = session(s.app.clock.now());
    let strict = LoginPolicy {
        require_second_factor_for: vec!["readers".into()],
    };
    let last = passkeys::remove(&s.app, &fresh, &alice, &strict, &id, IP).await;
    assert_eq!(last, Err(PasskeyError::LastRequiredFactor));
    let stranger = Subject::from_string("someone-else".into());
    let not_hers = User {
        subject: stranger,
        ..alice.clone()
    };
    let wrong = passkeys::remove(&s.app, &fresh, &not_hers, &policy, &id, IP).await;
    assert_eq!(
        wrong,
        Err(PasskeyError::NotFound),
        "only the owner removes a passkey"
    );
    assert_eq!(
        passkeys::remove(&s.app, &fresh, &alice, &policy, &id, IP).await,
        Ok(())
    );
    assert!(passkeys::list(&s.app, &alice.subject).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_passkey_json_endpoints_need_the_form_token_and_a_passkey_signs_in_over_http() {
    let mut s = InProc::new("").await;
    let alice = user(&s, "alice").await;
    let mut key = registered(&s, &alice).await;

    let page = s.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("autocomplete=\"username webauthn\""),
        "{}",
        page.body
    );
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("script-src 'self'")),
        "the login page may run the passkey script"
    );
    let no_token = s.send_json(Method::POST, "/login/passkey/start", None, &[]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let token = page.field("csrf");
    let headers = [("x-csrf-token", token.as_str())];
    let started = s
        .send_json(Method::POST, "/login/passkey/start", None, &headers)
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let started = started.json();
    let body = json!({
        "ceremony": started["ceremony"],
        "return_to": "/account/passkeys",
        "credential": key.sign(&started["options"], None),
    });
    let done = s
        .send_json(Method::POST, "/login/passkey/finish", Some(&body), &headers)
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["redirect"], "/account/passkeys");

    let listed = s.get("/account/passkeys").await;
    assert_eq!(listed.status, StatusCode::OK, "signed in by the passkey");
    assert!(listed.body.contains("Soft key"), "{}", listed.body);
    assert!(!listed.body.contains("Last used never"), "{}", listed.body);
}

#[tokio::test]
async fn a_passkey_completes_the_second_step_of_a_password_sign_in_over_http() {
    let mut s = InProc::new("").await;
    let alice = user(&s, "alice").await;
    let mut key = registered(&s, &alice).await;

    let page = s.get("/login").await;
    let token = page.field("csrf");
    let nothing = s
        .send_json(
            Method::POST,
            "/login/factor/passkey/start",
            None,
            &[("x-csrf-token", token.as_str())],
        )
        .await;
    assert_eq!(
        nothing.status,
        StatusCode::FORBIDDEN,
        "no first factor, no second step"
    );

    let after = s.login_from(&page, "alice", PASSWORD).await;
    assert_eq!(
        after.location(),
        "/login/factor",
        "alice has a passkey, so a second step"
    );
    let factor = s.get("/login/factor").await;
    assert!(
        factor
            .header("content-security-policy")
            .is_some_and(|csp| csp.contains("script-src 'self'")),
        "the second step may run the passkey script"
    );
    let marker = "data-csrf=\"";
    let at = factor
        .body
        .find(marker)
        .expect("the passkey button carries the form token")
        + marker.len();
    let token = factor.body[at..].split('"').next().unwrap().to_owned();
    let headers = [("x-csrf-token", token.as_str())];
    let started = s
        .send_json(Method::POST, "/login/factor/passkey/start", None, &headers)
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let started = started.json();
    let body = json!({ "ceremony": started["ceremony"], "credential": key.sign(&started["options"], None) });
    let done = s
        .send_json(
            Method::POST,
            "/login/factor/passkey/finish",
            Some(&body),
            &headers,
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["redirect"], "/");

    let sessions = s.app.store.read(|tx| tx.sessions_of(&alice.subject)).unwrap();
    let amr: Vec<String> = sessions[0].1.amr.iter().map(|a| a.as_string()).collect();
    assert_eq!(amr, ["pwd", "hwk", "user", "mfa"]);
    let again = s
        .send_json(
            Method::POST,
            "/login/factor/passkey/finish",
            Some(&body),
            &headers,
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::FORBIDDEN,
        "the sign-in was completed once"
    );
}

#[tokio::test]
async fn anonymous_passkey_sign_in_starts_stop_while_the_most_ceremonies_are_stored() {
    use latchkey::domain::{CeremonyKind, CeremonyRecord, Timestamp};
    let s = InProc::new("").await;
    let filler = CeremonyRecord {
        kind: CeremonyKind::PasskeyAuthentication,
        subject: None,
        state: "{}".into(),
        created_at: Timestamp(0),
        expires_at: Timestamp(u64::MAX),
    };
    s.app
        .store
        .write(|tx| -> Result<(), latchkey::store::StoreError> {
            for i in 0..passkeys::MAX_CEREMONIES - 1 {
                tx.put_ceremony(&format!("filler-{i}"), &filler)?;
            }
            Ok(())
        })
        .unwrap();
    assert!(
        passkeys::start_sign_in(&s.app, IP).await.is_ok(),
        "the last free place is used"
    );
    let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    assert!(
        matches!(
            passkeys::start_sign_in(&s.app, other).await,
            Err(PasskeyError::Throttled(_))
        ),
        "a new address is refused too once the table is full"
    );
    let alice = user(&s, "alice").await;
    assert!(
        passkeys::start_registration(&s.app, &alice).await.is_ok(),
        "a signed-in user's ceremony is not anonymous and is not refused"
    );
}
