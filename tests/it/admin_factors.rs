//! The admin API's factor reset: `POST /api/v1/users/{user}/reset-factors` removes a user's
//! passkeys, TOTP and recovery codes, ends their sessions and revokes their tokens, audited.

use latchkey::domain::{PasskeyRecord, RecoveryCodesRecord, Subject, TotpRecord};
use latchkey::protocol::login::Enrolled;
use latchkey::service::login;
use poem::http::{Method, StatusCode};

use crate::admin_fixture::{Admin, PEER_IP, assert_problem, event, signed_in};
use crate::inproc::{InProc, PASSWORD};

/// Gives alice a passkey, a TOTP factor and recovery codes, straight in the store.
fn enrol_alice(s: &InProc, subject: &Subject) {
    let now = s.app.clock.now();
    s.app
        .store
        .write(|tx| {
            tx.put_passkey(&PasskeyRecord {
                subject: subject.clone(),
                credential_id: "cred-1".into(),
                name: "Phone".into(),
                credential: "{}".into(),
                backup_eligible: true,
                backup_state: true,
                created_at: now,
                last_used_at: None,
            })?;
            tx.put_totp(&TotpRecord {
                subject: subject.clone(),
                seed: "sealed".into(),
                created_at: now,
                last_step: 0,
            })?;
            tx.put_recovery_codes(&RecoveryCodesRecord {
                subject: subject.clone(),
                digests: vec!["d1".into(), "d2".into()],
                created_at: now,
            })
        })
        .unwrap();
}

fn enrolled(s: &InProc, subject: &Subject) -> Enrolled {
    s.app.store.read(|tx| login::enrolled(tx, subject)).unwrap()
}

#[tokio::test]
async fn resetting_factors_removes_them_ends_sessions_revokes_tokens_and_is_audited() {
    let mut a = Admin::new().await;
    let alice = a.get("/api/v1/users/alice").await;
    let subject = Subject::from_string(alice["subject"].as_str().unwrap().to_owned());
    // alice has a browser session and tokens, and then enrols her second factors.
    let code = a.s.code(&[("scope", "openid offline_access")]).await;
    let tokens = a.s.exchange(&code).await.json();
    assert!(signed_in(&mut a.s).await);
    enrol_alice(&a.s, &subject);
    assert_eq!(enrolled(&a.s, &subject).passkeys, 1);

    a.expect_done(Method::POST, "/api/v1/users/alice/reset-factors", None)
        .await;
    assert_eq!(
        enrolled(&a.s, &subject),
        Enrolled {
            passkeys: 0,
            totp: false,
            recovery_codes: 0
        }
    );
    assert!(!signed_in(&mut a.s).await, "her sessions ended");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let again =
        a.s.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(a.s.introspect(access).await["active"], false);
    // The password still works: only the second factors went.
    let page = a.s.get("/login").await;
    let reply = a.s.login_from(&page, "alice", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);

    let (events, _) = a.audit_feed(50).await;
    let e = event(&events, "user.reset_factors", Some("alice"));
    assert_eq!(e["actor"], "client:ops");
    assert_eq!(e["ip"], PEER_IP);
    assert_eq!(e["success"], true);

    let missing = a
        .call(Method::POST, "/api/v1/users/nobody/reset-factors", None)
        .await;
    assert_problem(&missing, 404, "not-found");
}
