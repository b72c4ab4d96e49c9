//! Benchmark fixtures for `bench/scale` (the hidden `latchkey maintenance` commands): filling a
//! data file with many users, sessions and refresh grants, and some expired rows, through the
//! store's own [`Writes`] methods, so that every index is kept as the normal paths keep it; and
//! the reads an upstream sign-in makes to link a user by email.

use crate::crypto::{self, random};
use crate::domain::{
    Amr, ClientId, Duration, Grant, RefreshToken, ScopeSet, Session, Subject, Timestamp, User, Username,
};
use crate::store::{Store, StoreError, Writes};

use super::ServiceError;

/// What to load. Every user gets the same password hash, computed once by the caller: hashing
/// a million passwords with argon2 would take hours.
#[derive(Debug, Clone)]
pub struct Plan {
    pub users: u64,
    /// Live grants, each with one refresh token, spread over the users.
    pub grants: u64,
    /// Live sessions, spread over the users.
    pub sessions: u64,
    /// Expired rows of each kind: this many sessions and this many grants with their refresh
    /// tokens, for the purge to find.
    pub expired: u64,
    /// The client the grants are for.
    pub client: ClientId,
    /// The argon2id PHC string every user gets.
    pub password_hash: String,
    /// Rows per write transaction.
    pub batch: u64,
}

impl Plan {
    /// How many rows [`load`] writes in all (a grant and its refresh token count as one).
    pub fn total(&self) -> u64 {
        self.users + self.sessions + self.grants + 2 * self.expired
    }
}

/// How many groups the users are spread over (`team0`, `team1`, ...).
pub const GROUPS: u64 = 10;

/// The username of the `i`-th loaded user: `scale000000`, `scale000001`, ...
pub fn username(i: u64) -> String {
    format!("scale{i:06}")
}

/// The email address of the `i`-th loaded user (unique).
pub fn email(i: u64) -> String {
    format!("scale{i:06}@bench.test")
}

/// The `i`-th user's record. The first is in `admins`, so the admin API can be measured.
fn user(i: u64, subject: Subject, password_hash: &str, now: Timestamp) -> Result<User, ServiceError> {
    let username = Username::parse(&username(i))
        .map_err(|e| ServiceError::Internal(format!("a bulk username is invalid: {e}")))?;
    let mut groups = vec![format!("team{}", i % GROUPS)];
    if i == 0 {
        groups.insert(0, crate::domain::ADMIN_GROUP.to_owned());
    }
    Ok(User {
        subject,
        username,
        name: Some(format!("Scale User {i}")),
        email: Some(email(i)),
        email_verified: true,
        groups,
        disabled: false,
        password_hash: Some(password_hash.to_owned()),
        created_at: now,
        updated_at: now,
    })
}

fn session(subject: Subject, now: Timestamp, expires_at: Timestamp) -> Result<Session, ServiceError> {
    Ok(Session {
        sid: random::subject()?,
        subject,
        auth_time: now,
        amr: vec![Amr::Pwd],
        created_at: now,
        expires_at,
    })
}

/// A digest-shaped key (what the store keeps for a cookie or a refresh token).
fn digest() -> Result<String, ServiceError> {
    Ok(crypto::b64url(&crypto::sha256(random::token()?.as_bytes())))
}

fn grant_and_token(
    plan: &Plan,
    subject: Subject,
    scopes: &ScopeSet,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(Grant, RefreshToken), ServiceError> {
    let grant = Grant {
        id: random::subject()?,
        client_id: plan.client.clone(),
        subject: Some(subject),
        scopes: scopes.clone(),
        auth_time: Some(now),
        sid: None,
        amr: vec![Amr::Pwd],
        nonce: None,
        requested_claims: Default::default(),
        resource: None,
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    let token = RefreshToken {
        grant_id: grant.id.clone(),
        client_id: plan.client.clone(),
        scopes: scopes.clone(),
        issued_at: now,
        expires_at,
        rotated_at: None,
    };
    Ok((grant, token))
}

/// One row of the load, by its place in the sequence: the users first, then the sessions, the
/// grants and the expired rows.
fn write_row(
    tx: &dyn Writes,
    plan: &Plan,
    subjects: &[Subject],
    row: u64,
    scopes: &ScopeSet,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let of = |i: u64| -> Result<Subject, ServiceError> {
        usize::try_from(i % plan.users.max(1))
            .ok()
            .and_then(|i| subjects.get(i).cloned())
            .ok_or_else(|| ServiceError::Internal("a bulk row names no user".into()))
    };
    let live = now.plus(Duration::days(30));
    let gone = Timestamp(now.0.saturating_sub(3600));
    let mut r = row;
    if r < plan.users {
        return Ok(tx.put_user(&user(r, of(r)?, &plan.password_hash, now)?)?);
    }
    r -= plan.users;
    if r < plan.sessions {
        return Ok(tx.put_session(&digest()?, &session(of(r)?, now, now.plus(Duration::days(1)))?)?);
    }
    r -= plan.sessions;
    if r < plan.grants {
        let (grant, token) = grant_and_token(plan, of(r)?, scopes, now, live)?;
        tx.put_grant(&grant)?;
        return Ok(tx.put_refresh_token(&digest()?, &token)?);
    }
    r -= plan.grants;
    if r < plan.expired {
        return Ok(tx.put_session(&digest()?, &session(of(r)?, gone, gone)?)?);
    }
    let (grant, token) = grant_and_token(plan, of(r - plan.expired)?, scopes, gone, gone)?;
    tx.put_grant(&grant)?;
    Ok(tx.put_refresh_token(&digest()?, &token)?)
}

/// Writes the plan's rows in transactions of `plan.batch` rows, calling `progress(done, total)`
/// after each commit. Refuses a store that already has users, so two loads never mix.
pub fn load(
    store: &Store,
    plan: &Plan,
    now: Timestamp,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), ServiceError> {
    if store.read(|tx| tx.user_count())? > 0 {
        return Err(ServiceError::Internal(
            "the data file already has users; bulk-load fills an empty one".into(),
        ));
    }
    let subjects = (0..plan.users)
        .map(|_| random::subject().map(Subject::from_string))
        .collect::<Result<Vec<_>, _>>()?;
    let scopes = ScopeSet::parse("openid offline_access")
        .map_err(|e| ServiceError::Internal(format!("the bulk scopes are invalid: {e}")))?;
    let total = plan.total();
    let mut done = 0;
    while done < total {
        let end = (done + plan.batch.max(1)).min(total);
        store.write(|tx| {
            for row in done..end {
                write_row(tx, plan, &subjects, row, &scopes, now)?;
            }
            Ok::<_, ServiceError>(())
        })?;
        done = end;
        progress(done, total);
    }
    Ok(())
}

/// The reads an upstream sign-in makes to link a user by a verified email
/// (`service::upstream::links`): the users with that address, and for each whether it has
/// another way in (a linked identity or a second factor). Returns how many users matched.
pub fn email_link_reads(store: &Store, address: &str) -> Result<usize, StoreError> {
    store.read(|tx| {
        let mut found = 0;
        for user in tx.users_by_email(address)? {
            let _other_sign_in = !tx.links_of(&user.subject)?.is_empty()
                || super::login::enrolled(tx, &user.subject)?.has_second_factor();
            found += 1;
        }
        Ok(found)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_load_keeps_every_index_and_the_purge_finds_its_expired_rows() {
        let store = Store::in_memory().unwrap();
        let plan = Plan {
            users: 25,
            grants: 30,
            sessions: 20,
            expired: 5,
            client: ClientId::parse("bench").unwrap(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            batch: 7,
        };
        let mut seen = Vec::new();
        load(&store, &plan, Timestamp(1_000_000), &mut |done, total| {
            seen.push((done, total))
        })
        .unwrap();
        assert_eq!(seen.last(), Some(&(85, 85)));
        assert_eq!(seen.len(), 13, "one progress call per transaction of 7 rows");
        store
            .read(|tx| {
                assert_eq!(tx.user_count()?, 25);
                assert_eq!(tx.session_count()?, 25);
                let user = tx.user_by_username_key("scale000003")?.unwrap();
                assert_eq!(user.groups, ["team3"]);
                assert_eq!(
                    tx.users_by_email("SCALE000003@bench.test")?,
                    std::slice::from_ref(&user)
                );
                // User 3 has live session 3 and expired session 3; live grants 3 and 28 and
                // expired grant 3.
                assert_eq!(tx.sessions_of(&user.subject)?.len(), 2);
                assert_eq!(tx.grants_of(&user.subject)?.len(), 3);
                let admin = tx.user_by_username_key("scale000000")?.unwrap();
                assert_eq!(admin.groups, ["admins", "team0"]);
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(email_link_reads(&store, "scale000024@bench.test").unwrap(), 1);
        assert_eq!(email_link_reads(&store, "nobody@bench.test").unwrap(), 0);
        // The expired sessions, grants and refresh tokens: 5 of each.
        let purged = store
            .write(|tx| tx.purge_expired(Timestamp(1_000_000), 1000))
            .unwrap();
        assert_eq!(purged, 15);
        assert!(load(&store, &plan, Timestamp(1_000_000), &mut |_, _| {}).is_err());
    }
}
