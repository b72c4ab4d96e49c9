//! Tests of the second-factor, ceremony and invitation records through the store's traits.

use super::*;
use crate::domain::{
    CeremonyKind, CeremonyRecord, Invitation, PasskeyRecord, RecoveryCodesRecord, Subject, Timestamp,
    TotpRecord, User, Username,
};
use crate::store::StoreError;

fn subject(s: &str) -> Subject {
    Subject::from_string(s.into())
}

fn user(subject_: &str, name: &str) -> User {
    User {
        subject: subject(subject_),
        username: Username::parse(name).unwrap(),
        name: None,
        email: None,
        email_verified: false,
        groups: vec![],
        disabled: false,
        password_hash: None,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    }
}

fn passkey(subject_: &str, id: &str) -> PasskeyRecord {
    PasskeyRecord {
        subject: subject(subject_),
        credential_id: id.into(),
        name: format!("key {id}"),
        credential: "{}".into(),
        backup_eligible: false,
        backup_state: false,
        created_at: Timestamp(1),
        last_used_at: None,
    }
}

fn ceremony(expires_at: u64) -> CeremonyRecord {
    CeremonyRecord {
        kind: CeremonyKind::SecondFactor,
        subject: Some(subject("s1")),
        state: "{}".into(),
        created_at: Timestamp(1),
        expires_at: Timestamp(expires_at),
    }
}

#[test]
fn a_users_passkeys_come_from_the_index_and_a_credential_id_belongs_to_one_user() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            tx.put_passkey(&passkey("s1", "b"))?;
            tx.put_passkey(&passkey("s1", "a"))?;
            tx.put_passkey(&passkey("s2", "c"))
        })
        .unwrap();
    let ids = |s: &str| {
        store
            .read(|tx| tx.passkeys_of(&subject(s)))
            .unwrap()
            .into_iter()
            .map(|p| p.credential_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("s1"), ["a", "b"]);
    let stolen = store.write(|tx| tx.put_passkey(&passkey("s2", "a")));
    assert!(matches!(stolen, Err(StoreError::Exists(_))), "{stolen:?}");
    assert!(store.write(|tx| tx.delete_passkey("a")).unwrap());
    assert_eq!(ids("s1"), ["b"]);
    assert!(!store.write(|tx| tx.delete_passkey("a")).unwrap());
}

#[test]
fn deleting_a_user_removes_their_factors_and_nobody_elses() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            tx.put_user(&user("s1", "alice"))?;
            tx.put_user(&user("s2", "bob"))?;
            for s in ["s1", "s2"] {
                tx.put_passkey(&passkey(s, &format!("{s}-key")))?;
                tx.put_totp(&TotpRecord {
                    subject: subject(s),
                    seed: "sealed".into(),
                    created_at: Timestamp(1),
                    last_step: 0,
                })?;
                tx.put_recovery_codes(&RecoveryCodesRecord {
                    subject: subject(s),
                    digests: vec!["d".into()],
                    created_at: Timestamp(1),
                })?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert!(store.write(|tx| tx.delete_user(&subject("s1"))).unwrap());
    store
        .read(|tx| {
            assert!(tx.passkeys_of(&subject("s1"))?.is_empty());
            assert!(tx.passkey("s1-key")?.is_none());
            assert!(tx.totp(&subject("s1"))?.is_none());
            assert!(tx.recovery_codes(&subject("s1"))?.is_none());
            assert_eq!(tx.passkeys_of(&subject("s2"))?.len(), 1);
            assert!(tx.totp(&subject("s2"))?.is_some());
            assert!(tx.recovery_codes(&subject("s2"))?.is_some());
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(store.write(|tx| tx.delete_factors(&subject("s2"))).unwrap(), 3);
}

#[test]
fn a_ceremony_is_taken_once_and_expired_ceremonies_and_invitations_are_purged() {
    let store = Store::in_memory().unwrap();
    let invitation = |expires_at| Invitation {
        subject: subject("s1"),
        created_by: "cli".into(),
        created_at: Timestamp(1),
        expires_at: Timestamp(expires_at),
    };
    store
        .write(|tx| {
            tx.put_ceremony("once", &ceremony(100))?;
            tx.put_ceremony("old", &ceremony(10))?;
            tx.put_invitation("old-inv", &invitation(10))?;
            tx.put_invitation("new-inv", &invitation(100))
        })
        .unwrap();
    assert_eq!(
        store.write(|tx| tx.take_ceremony("once")).unwrap(),
        Some(ceremony(100))
    );
    assert_eq!(store.write(|tx| tx.take_ceremony("once")).unwrap(), None);
    assert_eq!(
        store.write(|tx| tx.purge_expired(Timestamp(50), 1000)).unwrap(),
        2
    );
    store
        .read(|tx| {
            assert_eq!(tx.ceremony_count()?, 0);
            let left: Vec<String> = tx.invitations()?.into_iter().map(|(k, _)| k).collect();
            assert_eq!(left, ["new-inv"]);
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[test]
fn a_forward_auth_cookie_record_reads_back_until_the_purge_takes_it() {
    let store = Store::in_memory().unwrap();
    let record = |expires_at| crate::domain::ForwardAuthSession {
        session: "session-digest".into(),
        subject: subject("s1"),
        created_at: Timestamp(1),
        expires_at: Timestamp(expires_at),
    };
    store
        .write(|tx| {
            tx.put_forward_auth_session("live", &record(100))?;
            tx.put_forward_auth_session("old", &record(10))
        })
        .unwrap();
    assert_eq!(
        store.read(|tx| tx.forward_auth_session("live")).unwrap(),
        Some(record(100))
    );
    assert_eq!(
        store.write(|tx| tx.purge_expired(Timestamp(50), 1000)).unwrap(),
        1
    );
    assert_eq!(store.read(|tx| tx.forward_auth_session("old")).unwrap(), None);
    assert!(
        store
            .read(|tx| tx.forward_auth_session("live"))
            .unwrap()
            .is_some()
    );
}
