//! Tests of the store through its traits: records round-trip, indexes stay exact through put,
//! delete and purge, and an old data file is upgraded.

use super::raw::{WriteTx, def};
use super::*;
use crate::domain::{
    AuthorizationCode, Client, ClientId, ClientSource, Consent, Grant, RefreshToken, ScopeSet, Session,
    Subject, Timestamp, User, Username,
};
use crate::store::kv::{Raw, RawWrite};

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

fn with_email(mut u: User, email: &str) -> User {
    u.email = Some(email.into());
    u
}

fn session(subject_: &str, sid: &str, expires_at: u64) -> Session {
    Session {
        sid: sid.into(),
        subject: subject(subject_),
        auth_time: Timestamp(1),
        amr: Default::default(),
        created_at: Timestamp(1),
        expires_at: Timestamp(expires_at),
    }
}

fn grant(id: &str, client: &str, subject_: Option<&str>, sid: Option<&str>, expires_at: u64) -> Grant {
    Grant {
        id: id.into(),
        client_id: ClientId::parse(client).unwrap(),
        subject: subject_.map(subject),
        scopes: ScopeSet::parse("openid").unwrap(),
        auth_time: None,
        sid: sid.map(str::to_owned),
        amr: Default::default(),
        nonce: None,
        requested_claims: Default::default(),
        created_at: Timestamp(1),
        expires_at: Timestamp(expires_at),
        revoked_at: None,
        resource: None,
    }
}

fn subjects(users: Vec<User>) -> Vec<String> {
    users.into_iter().map(|u| u.subject.as_str().to_owned()).collect()
}

fn digests(sessions: Vec<(String, Session)>) -> Vec<String> {
    sessions.into_iter().map(|(d, _)| d).collect()
}

fn ids(grants: Vec<Grant>) -> Vec<String> {
    grants.into_iter().map(|g| g.id).collect()
}

/// Rows in an index table, to check that nothing is left behind.
fn rows(store: &Store, table: tables::Table) -> u64 {
    let tx = ReadTx(store.db().unwrap().begin_read().unwrap());
    tx.count(table).unwrap()
}

#[test]
fn usernames_are_unique_regardless_of_case() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            tx.put_user(&user("s1", "Alice"))?;
            assert!(matches!(
                tx.put_user(&user("s2", "aLiCe")),
                Err(StoreError::Exists(_))
            ));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    store
        .read(|read| {
            assert_eq!(
                read.user_by_username_key("alice")?.unwrap().subject.as_str(),
                "s1"
            );
            assert_eq!(read.user_count()?, 1);
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[test]
fn renaming_a_user_moves_the_index_entry() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            tx.put_user(&user("s1", "alice"))?;
            tx.put_user(&user("s1", "alicia"))?;
            assert!(tx.user_by_username_key("alice")?.is_none());
            assert!(tx.user_by_username_key("alicia")?.is_some());
            assert!(tx.delete_user(&subject("s1"))?);
            assert!(tx.user_by_username_key("alicia")?.is_none());
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[test]
fn an_error_discards_every_write_of_the_transaction() {
    let store = Store::in_memory().unwrap();
    let result = store.write(|tx| {
        tx.put_user(&user("s1", "alice"))?;
        Err::<(), _>(StoreError::Corrupt("stop".into()))
    });
    assert!(result.is_err());
    assert_eq!(store.read(|tx| tx.user_count()).unwrap(), 0);
}

#[test]
fn users_are_found_by_email_whatever_its_case_and_the_index_follows_changes() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            tx.put_user(&with_email(user("s1", "alice"), "Alice@Example.com"))?;
            tx.put_user(&with_email(user("s2", "alicia"), "alice@example.COM"))?;
            tx.put_user(&with_email(user("s3", "bob"), "bob@example.com"))?;
            tx.put_user(&user("s4", "carol"))
        })
        .unwrap();
    let found = store.read(|tx| tx.users_by_email("ALICE@example.com")).unwrap();
    assert_eq!(subjects(found), ["s1", "s2"]);
    store
        .write(|tx| {
            tx.put_user(&with_email(user("s1", "alice"), "alice@elsewhere.example"))?;
            tx.delete_user(&subject("s2"))?;
            tx.put_user(&user("s3", "bob"))
        })
        .unwrap();
    store
        .read(|tx| {
            assert!(tx.users_by_email("alice@example.com")?.is_empty());
            assert!(tx.users_by_email("bob@example.com")?.is_empty());
            assert_eq!(subjects(tx.users_by_email("alice@elsewhere.example")?), ["s1"]);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(rows(&store, tables::EMAILS), 1, "one address left, one entry");
}

#[test]
fn a_users_sessions_come_from_the_index_and_leave_it_when_deleted_or_purged() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            tx.put_session("d1", &session("s1", "sid1", 100))?;
            tx.put_session("d2", &session("s1", "sid2", 10))?;
            tx.put_session("d3", &session("s2", "sid3", 100))?;
            // A record stored again under the same digest for another user moves its entry.
            tx.put_session("d4", &session("s2", "sid4", 100))?;
            tx.put_session("d4", &session("s1", "sid4", 100))
        })
        .unwrap();
    store
        .read(|tx| {
            assert_eq!(digests(tx.sessions_of(&subject("s1"))?), ["d1", "d2", "d4"]);
            assert_eq!(digests(tx.sessions_of(&subject("s2"))?), ["d3"]);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let purged = store.write(|tx| tx.purge_expired(Timestamp(50), 1000)).unwrap();
    assert_eq!(purged, 1);
    assert!(store.write(|tx| tx.delete_session("d4")).unwrap());
    assert_eq!(
        digests(store.read(|tx| tx.sessions_of(&subject("s1"))).unwrap()),
        ["d1"]
    );
    assert_eq!(
        rows(&store, tables::USER_SESSIONS),
        2,
        "only the live sessions are indexed"
    );
}

#[test]
fn grants_are_found_by_sid_and_the_index_stays_exact_through_purge_and_client_deletion() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            tx.put_grant(&grant("g1", "app", Some("s1"), Some("sidA"), 100))?;
            tx.put_grant(&grant("g2", "other", Some("s1"), Some("sidA"), 10))?;
            tx.put_grant(&grant("g3", "app", Some("s2"), Some("sidB"), 100))?;
            tx.put_grant(&grant("g4", "app", None, None, 100))?;
            let mut revoked = grant("g1", "app", Some("s1"), Some("sidA"), 100);
            revoked.revoked_at = Some(Timestamp(2));
            tx.put_grant(&revoked)
        })
        .unwrap();
    store
        .read(|tx| {
            assert_eq!(ids(tx.grants_by_sid("sidA")?), ["g1", "g2"]);
            assert_eq!(ids(tx.grants_of(&subject("s1"))?), ["g1", "g2"]);
            assert!(tx.grant("g1")?.unwrap().revoked_at.is_some());
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(
        store.write(|tx| tx.purge_expired(Timestamp(50), 1000)).unwrap(),
        1
    );
    assert_eq!(ids(store.read(|tx| tx.grants_by_sid("sidA")).unwrap()), ["g1"]);
    store
        .write(|tx| tx.delete_client(&ClientId::parse("app").unwrap()))
        .unwrap();
    assert!(store.read(|tx| tx.grants_by_sid("sidA")).unwrap().is_empty());
    assert_eq!(rows(&store, tables::SID_GRANTS), 0);
}

#[test]
fn the_purge_reads_the_expiry_index_and_deletes_only_rows_that_are_due() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            tx.put_session("d1", &session("s1", "sid1", 10))?;
            tx.put_session("d2", &session("s1", "sid2", 10))?;
            // Stored again with a later expiry: its entry moves, so it is not due at 10.
            tx.put_session("d2", &session("s1", "sid2", 100))?;
            tx.put_grant(&grant("g1", "app", Some("s1"), Some("sid1"), 10))?;
            tx.put_grant(&grant("g2", "app", Some("s1"), Some("sid2"), 100))?;
            tx.deny_jti("j1", Timestamp(10))?;
            tx.put_session("d3", &session("s2", "sid3", 10))?;
            tx.delete_session("d3")
        })
        .unwrap();
    assert_eq!(rows(&store, tables::EXPIRIES), 5, "one entry per live row");
    assert_eq!(store.write(|tx| tx.purge_expired(Timestamp(9), 1000)).unwrap(), 0);
    // A limit smaller than what is due leaves the rest for the next round.
    assert_eq!(store.write(|tx| tx.purge_expired(Timestamp(10), 2)).unwrap(), 2);
    assert_eq!(
        store.write(|tx| tx.purge_expired(Timestamp(10), 1000)).unwrap(),
        1
    );
    store
        .read(|tx| {
            assert_eq!(digests(tx.sessions_of(&subject("s1"))?), ["d2"]);
            assert_eq!(ids(tx.grants_of(&subject("s1"))?), ["g2"]);
            assert!(!tx.is_jti_denied("j1")?);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(rows(&store, tables::EXPIRIES), 2);
    assert_eq!(
        store.write(|tx| tx.purge_expired(Timestamp(100), 1000)).unwrap(),
        2
    );
    assert_eq!(rows(&store, tables::EXPIRIES), 0);
    assert_eq!(rows(&store, tables::USER_GRANTS), 0);
}

#[test]
fn a_users_grants_come_from_an_index_that_follows_the_grant() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            tx.put_grant(&grant("g1", "app", Some("s1"), None, 100))?;
            tx.put_grant(&grant("g2", "app", Some("s2"), None, 100))?;
            // Stored again for another user: the entry moves.
            tx.put_grant(&grant("g2", "app", Some("s1"), None, 100))?;
            tx.put_grant(&grant("g3", "other", Some("s2"), None, 100))?;
            tx.put_grant(&grant("g4", "app", None, None, 100))
        })
        .unwrap();
    store
        .read(|tx| {
            assert_eq!(ids(tx.grants_of(&subject("s1"))?), ["g1", "g2"]);
            assert_eq!(ids(tx.grants_of(&subject("s2"))?), ["g3"]);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    store
        .write(|tx| tx.delete_client(&ClientId::parse("app").unwrap()))
        .unwrap();
    assert!(store.read(|tx| tx.grants_of(&subject("s1"))).unwrap().is_empty());
    assert_eq!(rows(&store, tables::USER_GRANTS), 1);
    assert_eq!(rows(&store, tables::EXPIRIES), 1);
}

#[test]
fn search_finds_users_by_username_email_or_name_in_username_order() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            for i in 0..600 {
                let mut u = user(&format!("s{i:03}"), &format!("user{i:03}"));
                if i % 100 == 7 {
                    u.name = Some(format!("Needle {i}"));
                }
                tx.put_user(&u)?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let found = store.read(|tx| tx.search_users("needle", None, 3)).unwrap();
    assert_eq!(subjects(found), ["s007", "s107", "s207"]);
    let rest = store
        .read(|tx| tx.search_users("needle", Some("user207"), 10))
        .unwrap();
    assert_eq!(subjects(rest), ["s307", "s407", "s507"]);
}

#[test]
fn deleting_a_client_removes_its_grants_tokens_codes_and_consents_and_nothing_else() {
    let store = Store::in_memory().unwrap();
    store
        .write(|tx| {
            for id in ["gone", "kept"] {
                let client_id = ClientId::parse(id).unwrap();
                tx.put_grant(&grant(&format!("g-{id}"), id, Some("s1"), None, 100))?;
                tx.put_refresh_token(
                    &format!("r-{id}"),
                    &RefreshToken {
                        grant_id: format!("g-{id}"),
                        client_id: client_id.clone(),
                        scopes: ScopeSet::parse("openid").unwrap(),
                        issued_at: Timestamp(1),
                        expires_at: Timestamp(100),
                        rotated_at: None,
                    },
                )?;
                tx.put_code(
                    &format!("c-{id}"),
                    &AuthorizationCode {
                        client_id: client_id.clone(),
                        redirect_uri: "https://a.example/cb".into(),
                        redirect_uri_sent: true,
                        subject: subject("s1"),
                        scopes: ScopeSet::parse("openid").unwrap(),
                        code_challenge: None,
                        nonce: None,
                        auth_time: Timestamp(1),
                        sid: None,
                        amr: Default::default(),
                        expires_at: Timestamp(100),
                        redeemed_grant: None,
                        requested_claims: Default::default(),
                        resource: None,
                    },
                )?;
                tx.put_consent(&Consent {
                    subject: subject("s1"),
                    client_id,
                    scopes: ScopeSet::parse("openid").unwrap(),
                    granted_at: Timestamp(1),
                })?;
            }
            tx.delete_client(&ClientId::parse("gone").unwrap())
        })
        .unwrap();
    for table in [
        tables::GRANTS,
        tables::REFRESH_TOKENS,
        tables::CODES,
        tables::CONSENTS,
    ] {
        assert_eq!(
            rows(&store, table),
            1,
            "{} keeps only the other client's row",
            table.name()
        );
    }
    store
        .read(|read| {
            assert!(read.grant("g-kept")?.is_some());
            assert!(read.refresh_token("r-kept")?.is_some());
            assert!(read.code("c-kept")?.is_some());
            assert_eq!(read.consents_of(&subject("s1"))?.len(), 1);
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[test]
fn clients_round_trip_through_the_record_format() {
    let store = Store::in_memory().unwrap();
    let client = Client {
        client_id: ClientId::parse("app").unwrap(),
        name: "App".into(),
        redirect_uris: vec![],
        secret: None,
        grant_types: vec![],
        scopes: vec![],
        first_party: false,
        require_pkce: Some(true),
        source: ClientSource::Store,
        created_at: Timestamp(5),
        id_token_alg: Default::default(),
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        refresh_without_offline_access: false,
        allow_http_localhost: false,
        resources: vec![],
        require_factors: Default::default(),
        allowed_groups: vec!["staff".into()],
        launch_url: Some(crate::domain::LaunchUrl::parse("https://app.example.com/").unwrap()),
        icon: Some(crate::domain::ClientIcon::parse("https://app.example.com/icon.png").unwrap()),
    };
    store.write(|tx| tx.put_client(&client)).unwrap();
    assert_eq!(store.read(|tx| tx.clients()).unwrap(), vec![client.clone()]);
    // A record written before `allowed_groups`, `launch_url` and `icon` existed still reads, as a
    // client open to everyone and missing from the app launcher.
    let mut old = serde_json::to_value(&client).unwrap();
    for field in ["allowed_groups", "launch_url", "icon"] {
        old.as_object_mut().unwrap().remove(field);
    }
    let read: Client = serde_json::from_value(old).unwrap();
    assert_eq!(
        (read.allowed_groups, read.launch_url, read.icon),
        (vec![], None, None)
    );
}

/// Writes a data file as schema version 1 left it: records, the username index, and none of the
/// indexes version 2 added.
fn write_version_1_file(path: &std::path::Path) {
    let db = Database::builder().create(path).unwrap();
    let tx = WriteTx(db.begin_write().unwrap());
    for table in [
        tables::META,
        tables::USERS,
        tables::USERNAMES,
        tables::SESSIONS,
        tables::GRANTS,
    ] {
        tx.0.open_table(def(table)).unwrap();
    }
    tx.put_raw(tables::META, tables::SCHEMA_VERSION_KEY, b"1")
        .unwrap();
    for u in [
        with_email(user("s1", "alice"), "Alice@Example.com"),
        user("s2", "bob"),
    ] {
        tx.put_raw(
            tables::USERNAMES,
            &u.username.key(),
            u.subject.as_str().as_bytes(),
        )
        .unwrap();
        tx.put(tables::USERS, u.subject.as_str(), &u).unwrap();
    }
    tx.put(tables::SESSIONS, "d1", &session("s1", "sid1", 100))
        .unwrap();
    tx.put(tables::SESSIONS, "d2", &session("s2", "sid2", 100))
        .unwrap();
    let g = grant("g1", "app", Some("s1"), Some("sid1"), 100);
    tx.put(tables::GRANTS, &g.id, &g).unwrap();
    tx.commit().unwrap();
}

#[test]
fn a_version_1_file_gets_its_indexes_on_open_including_version_3s() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latchkey.redb");
    write_version_1_file(&path);
    let store = Store::open(&path).unwrap();
    store
        .read(|tx| {
            assert_eq!(subjects(tx.users_by_email("alice@example.com")?), ["s1"]);
            assert_eq!(digests(tx.sessions_of(&subject("s1"))?), ["d1"]);
            assert_eq!(digests(tx.sessions_of(&subject("s2"))?), ["d2"]);
            assert_eq!(ids(tx.grants_by_sid("sid1")?), ["g1"]);
            assert_eq!(ids(tx.grants_of(&subject("s1"))?), ["g1"]);
            assert_eq!(tx.user_by_username_key("bob")?.unwrap().subject.as_str(), "s2");
            Ok::<_, StoreError>(())
        })
        .unwrap();
    // Version 3's expiry index holds the old rows: the purge finds both sessions and the grant.
    assert_eq!(
        store.write(|tx| tx.purge_expired(Timestamp(100), 1000)).unwrap(),
        3
    );
    drop(store);
    let reopened = Store::open(&path).unwrap();
    let version = ReadTx(reopened.db().unwrap().begin_read().unwrap())
        .raw_get(tables::META, tables::SCHEMA_VERSION_KEY)
        .unwrap();
    assert_eq!(
        version.as_deref(),
        Some(schema::SCHEMA_VERSION.to_string().as_bytes())
    );
}
