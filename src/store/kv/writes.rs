//! [`Writes`] for every engine's write transaction, over `RawWrite`. Each method keeps the indexes (usernames, emails,
//! a user's sessions, grants by `sid` and by user, every expiring row by its expiry) exact in the
//! same transaction as the record.

use serde::{Deserialize, Serialize};

use super::record;
use super::tables::{self, Table};
use super::{RawWrite, consent_key, email_key, expiry_key, expiry_parts, link_key, pair, user_link_key};
use crate::domain::{
    AuthorizationCode, CeremonyRecord, Client, ClientId, Consent, ForwardAuthSession, Grant, Invitation,
    PasskeyRecord, PendingUpstream, RecoveryCodesRecord, RefreshToken, Session, SigningKeyRecord, Subject,
    Timestamp, TotpRecord, UpstreamLink, User,
};
use crate::store::{AuditRecord, Existing, Job, Reads, SetupTokenRecord, StoreError, Writes};

/// A revoked access token id, kept until the token would have expired.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeniedJti {
    expires_at: Timestamp,
}

/// What the index upkeep needs of a session or grant record: who and which browser session.
#[derive(Deserialize)]
struct Owner {
    #[serde(default)]
    subject: Option<Subject>,
    #[serde(default)]
    sid: Option<String>,
}

/// What the purge needs of a row of an expiring table: every such record has `expires_at`.
#[derive(Deserialize)]
struct Expiring {
    expires_at: Timestamp,
}

/// The index upkeep every write shares, over the raw writes.
trait Rows: RawWrite + Sized {
    /// Drops the index entry of the session whose old record is `old` (stored under `digest`).
    fn unindex_session(&self, digest: &str, old: &[u8]) -> Result<(), StoreError> {
        if let Some(subject) = record::decode::<Owner>("sessions", old)?.subject {
            self.remove(tables::USER_SESSIONS, &pair(subject.as_str(), digest))?;
        }
        Ok(())
    }

    /// Drops the `sid` and user index entries of the grant whose old record is `old`.
    fn unindex_grant(&self, id: &str, old: &[u8]) -> Result<(), StoreError> {
        let owner = record::decode::<Owner>("grants", old)?;
        if let Some(sid) = owner.sid {
            self.remove(tables::SID_GRANTS, &pair(&sid, id))?;
        }
        if let Some(subject) = owner.subject {
            self.remove(tables::USER_GRANTS, &pair(subject.as_str(), id))?;
        }
        Ok(())
    }

    /// Stores a row of an expiring table and moves its entry in the expiry index when its
    /// `expires_at` changed; returns the bytes it replaced.
    fn put_expiring<T: Serialize>(
        &self,
        table: Table,
        key: &str,
        value: &T,
        expires_at: Timestamp,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let name = table.name();
        let old = self.put(table, key, value)?;
        if let Some(old) = &old {
            let was = record::decode::<Expiring>(name, old)?.expires_at;
            if was == expires_at {
                return Ok(Some(old.clone()));
            }
            self.remove(tables::EXPIRIES, &expiry_key(was, name, key))?;
        }
        self.put_raw(tables::EXPIRIES, &expiry_key(expires_at, name, key), &[])?;
        Ok(old)
    }

    /// Removes a row and its index entries (the expiry index for the expiring tables, the
    /// user and `sid` indexes for sessions and grants); returns the bytes it held.
    fn take_row(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(old) = self.take(table, key)? else {
            return Ok(None);
        };
        let name = table.name();
        if tables::EXPIRING.iter().any(|t| t.name() == name) {
            let was = record::decode::<Expiring>(name, &old)?.expires_at;
            self.remove(tables::EXPIRIES, &expiry_key(was, name, key))?;
        }
        match name {
            "sessions" => self.unindex_session(key, &old)?,
            "grants" => self.unindex_grant(key, &old)?,
            _ => {}
        }
        Ok(Some(old))
    }

    /// Removes a row and its index entries; false when there was none.
    fn remove_row(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        Ok(self.take_row(table, key)?.is_some())
    }
}

impl<T: RawWrite + Sized> Rows for T {}

impl<W: RawWrite> Writes for W {
    fn claim(&self, job: Job) -> Result<bool, StoreError> {
        RawWrite::claim(self, job.name())
    }

    fn put_user(&self, user: &User) -> Result<(), StoreError> {
        let key = user.username.key();
        if let Some(owner) = self.raw_get(tables::USERNAMES, &key)?
            && owner != user.subject.as_str().as_bytes()
        {
            return Err(StoreError::Exists(Existing::Username(user.username.to_string())));
        }
        if let Some(old) = self.user(&user.subject)? {
            if old.username.key() != key {
                self.remove(tables::USERNAMES, &old.username.key())?;
            }
            if let Some(email) = &old.email {
                self.remove(tables::EMAILS, &email_key(email, &old.subject))?;
            }
        }
        self.put_raw(tables::USERNAMES, &key, user.subject.as_str().as_bytes())?;
        if let Some(email) = &user.email {
            self.put_raw(tables::EMAILS, &email_key(email, &user.subject), &[])?;
        }
        self.put(tables::USERS, user.subject.as_str(), user)?;
        Ok(())
    }

    fn delete_user(&self, subject: &Subject) -> Result<bool, StoreError> {
        match self.user(subject)? {
            Some(user) => {
                self.remove(tables::USERNAMES, &user.username.key())?;
                if let Some(email) = &user.email {
                    self.remove(tables::EMAILS, &email_key(email, subject))?;
                }
                self.delete_factors(subject)?;
                self.remove(tables::USERS, subject.as_str())
            }
            None => Ok(false),
        }
    }

    fn put_server_secret(&self, name: &str, secret: &[u8]) -> Result<(), StoreError> {
        self.put_raw(
            tables::META,
            &format!("{}{name}", tables::SECRET_KEY_PREFIX),
            secret,
        )
    }

    fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.put(tables::CLIENTS, client.client_id.as_str(), client)?;
        Ok(())
    }

    fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        #[derive(Deserialize)]
        struct OfClient {
            client_id: ClientId,
        }
        for (table, name) in [
            (tables::GRANTS, "grants"),
            (tables::REFRESH_TOKENS, "refresh_tokens"),
            (tables::CODES, "codes"),
            (tables::CONSENTS, "consents"),
        ] {
            let mut doomed = Vec::new();
            for (k, v) in self.raw_scan(table, None, usize::MAX)? {
                if record::decode::<OfClient>(name, &v)?.client_id == *id {
                    doomed.push(k);
                }
            }
            for k in &doomed {
                self.remove_row(table, k)?;
            }
        }
        self.remove(tables::CLIENTS, id.as_str())
    }

    fn put_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        self.put(tables::SIGNING_KEYS, &key.kid, key)?;
        Ok(())
    }

    fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        self.remove(tables::SIGNING_KEYS, kid)
    }

    fn put_setup_token(&self, digest: &str, token: &SetupTokenRecord) -> Result<(), StoreError> {
        self.put_expiring(tables::SETUP_TOKENS, digest, token, token.expires_at)?;
        Ok(())
    }

    fn delete_setup_token(&self, digest: &str) -> Result<bool, StoreError> {
        self.remove_row(tables::SETUP_TOKENS, digest)
    }

    fn clear_setup_tokens(&self) -> Result<(), StoreError> {
        for (key, _) in self.raw_scan(tables::SETUP_TOKENS, None, usize::MAX)? {
            self.remove_row(tables::SETUP_TOKENS, &key)?;
        }
        Ok(())
    }

    fn put_session(&self, digest: &str, session: &Session) -> Result<(), StoreError> {
        // The replaced record (if any) comes back from the insert, so a new session costs no
        // extra lookup, and a rewritten one keeps its entry untouched.
        let old = match self.put_expiring(tables::SESSIONS, digest, session, session.expires_at)? {
            Some(old) => record::decode::<Owner>("sessions", &old)?.subject,
            None => None,
        };
        if old.as_ref() == Some(&session.subject) {
            return Ok(());
        }
        if let Some(subject) = old {
            self.remove(tables::USER_SESSIONS, &pair(subject.as_str(), digest))?;
        }
        self.put_raw(
            tables::USER_SESSIONS,
            &pair(session.subject.as_str(), digest),
            &[],
        )
    }

    fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
        self.remove_row(tables::SESSIONS, digest)
    }

    fn put_code(&self, digest: &str, code: &AuthorizationCode) -> Result<(), StoreError> {
        self.put_expiring(tables::CODES, digest, code, code.expires_at)?;
        Ok(())
    }

    fn put_grant(&self, grant: &Grant) -> Result<(), StoreError> {
        // As for sessions: a new grant costs no extra lookup, and a rewritten one (revoked,
        // refreshed) keeps its entries untouched.
        let old = match self.put_expiring(tables::GRANTS, &grant.id, grant, grant.expires_at)? {
            Some(old) => record::decode::<Owner>("grants", &old)?,
            None => Owner {
                subject: None,
                sid: None,
            },
        };
        if old.sid != grant.sid {
            if let Some(sid) = &old.sid {
                self.remove(tables::SID_GRANTS, &pair(sid, &grant.id))?;
            }
            if let Some(sid) = &grant.sid {
                self.put_raw(tables::SID_GRANTS, &pair(sid, &grant.id), &[])?;
            }
        }
        if old.subject != grant.subject {
            if let Some(subject) = &old.subject {
                self.remove(tables::USER_GRANTS, &pair(subject.as_str(), &grant.id))?;
            }
            if let Some(subject) = &grant.subject {
                self.put_raw(tables::USER_GRANTS, &pair(subject.as_str(), &grant.id), &[])?;
            }
        }
        Ok(())
    }

    fn put_refresh_token(&self, digest: &str, token: &RefreshToken) -> Result<(), StoreError> {
        self.put_expiring(tables::REFRESH_TOKENS, digest, token, token.expires_at)?;
        Ok(())
    }

    fn deny_jti(&self, jti: &str, until: Timestamp) -> Result<(), StoreError> {
        self.put_expiring(tables::DENIED_JTIS, jti, &DeniedJti { expires_at: until }, until)?;
        Ok(())
    }

    fn put_audit(&self, key: &str, entry: &AuditRecord) -> Result<(), StoreError> {
        let key = self.audit_key(key)?;
        self.put(tables::AUDIT, &key, entry)?;
        Ok(())
    }

    fn put_consent(&self, consent: &Consent) -> Result<(), StoreError> {
        self.put(
            tables::CONSENTS,
            &consent_key(&consent.subject, &consent.client_id),
            consent,
        )?;
        Ok(())
    }

    fn delete_consent(&self, subject: &Subject, client: &ClientId) -> Result<bool, StoreError> {
        self.remove(tables::CONSENTS, &consent_key(subject, client))
    }

    fn put_upstream_link(&self, link: &UpstreamLink) -> Result<(), StoreError> {
        self.put(
            tables::UPSTREAM_LINKS,
            &link_key(&link.upstream, &link.upstream_subject),
            link,
        )?;
        self.put(tables::USER_LINKS, &user_link_key(link), link)?;
        Ok(())
    }

    fn delete_upstream_link(&self, link: &UpstreamLink) -> Result<bool, StoreError> {
        let removed = self.remove(
            tables::UPSTREAM_LINKS,
            &link_key(&link.upstream, &link.upstream_subject),
        )?;
        self.remove(tables::USER_LINKS, &user_link_key(link))?;
        Ok(removed)
    }

    fn put_pending_upstream(&self, digest: &str, pending: &PendingUpstream) -> Result<(), StoreError> {
        self.put_expiring(tables::UPSTREAM_STATES, digest, pending, pending.expires_at)?;
        Ok(())
    }

    fn delete_pending_upstream(&self, digest: &str) -> Result<bool, StoreError> {
        self.remove_row(tables::UPSTREAM_STATES, digest)
    }

    fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        // The expiry index sorts by second: every entry due at or before `now` sorts before the
        // first key of the next second, so the purge reads only what it deletes.
        let due = format!("{:020}\u{1f}", now.0.saturating_add(1));
        let entries: Vec<String> = self
            .raw_scan(tables::EXPIRIES, None, limit)?
            .into_iter()
            .map(|(k, _)| k)
            .take_while(|k| *k < due)
            .collect();
        let mut removed = 0;
        for entry in &entries {
            let table = expiry_parts(entry).and_then(|(_, name, key)| {
                tables::EXPIRING
                    .into_iter()
                    .find(|t| t.name() == name)
                    .map(|t| (t, key))
            });
            if let Some((table, key)) = table {
                // The row's own `expires_at` decides, so an entry left behind never deletes a
                // live row.
                let due = match self.raw_get(table, key)? {
                    Some(bytes) => record::decode::<Expiring>(table.name(), &bytes)?.expires_at <= now,
                    None => false,
                };
                if due && self.remove_row(table, key)? {
                    removed += 1;
                }
            }
            self.remove(tables::EXPIRIES, entry)?;
        }
        Ok(removed)
    }

    fn purge_audit_before(&self, cutoff: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let bound = format!("{:020}", cutoff.0);
        let doomed: Vec<String> = self
            .raw_scan(tables::AUDIT, None, limit)?
            .into_iter()
            .map(|(k, _)| k)
            .take_while(|k| *k < bound)
            .collect();
        for k in &doomed {
            self.remove(tables::AUDIT, k)?;
        }
        Ok(doomed.len())
    }

    fn put_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError> {
        let index = pair(passkey.subject.as_str(), &passkey.credential_id);
        if let Some(old) = self.passkey(&passkey.credential_id)?
            && old.subject != passkey.subject
        {
            return Err(StoreError::Exists(Existing::Passkey));
        }
        self.put_raw(tables::USER_PASSKEYS, &index, &[])?;
        self.put(tables::PASSKEYS, &passkey.credential_id, passkey)?;
        Ok(())
    }

    fn delete_passkey(&self, credential_id: &str) -> Result<bool, StoreError> {
        let Some(old) = self.passkey(credential_id)? else {
            return Ok(false);
        };
        self.remove(tables::USER_PASSKEYS, &pair(old.subject.as_str(), credential_id))?;
        self.remove(tables::PASSKEYS, credential_id)
    }

    fn put_totp(&self, totp: &TotpRecord) -> Result<(), StoreError> {
        self.put(tables::TOTP, totp.subject.as_str(), totp)?;
        Ok(())
    }

    fn delete_totp(&self, subject: &Subject) -> Result<bool, StoreError> {
        self.remove(tables::TOTP, subject.as_str())
    }

    fn put_recovery_codes(&self, codes: &RecoveryCodesRecord) -> Result<(), StoreError> {
        self.put(tables::RECOVERY_CODES, codes.subject.as_str(), codes)?;
        Ok(())
    }

    fn delete_recovery_codes(&self, subject: &Subject) -> Result<bool, StoreError> {
        self.remove(tables::RECOVERY_CODES, subject.as_str())
    }

    fn delete_factors(&self, subject: &Subject) -> Result<usize, StoreError> {
        let mut removed = 0;
        for passkey in self.passkeys_of(subject)? {
            removed += usize::from(self.delete_passkey(&passkey.credential_id)?);
        }
        removed += usize::from(self.delete_totp(subject)?);
        removed += usize::from(self.delete_recovery_codes(subject)?);
        Ok(removed)
    }

    fn put_forward_auth_session(&self, digest: &str, session: &ForwardAuthSession) -> Result<(), StoreError> {
        self.put_expiring(tables::FORWARD_AUTH_SESSIONS, digest, session, session.expires_at)?;
        Ok(())
    }

    fn put_ceremony(&self, digest: &str, ceremony: &CeremonyRecord) -> Result<(), StoreError> {
        self.put_expiring(tables::CEREMONIES, digest, ceremony, ceremony.expires_at)?;
        Ok(())
    }

    fn take_ceremony(&self, digest: &str) -> Result<Option<CeremonyRecord>, StoreError> {
        match self.take_row(tables::CEREMONIES, digest)? {
            Some(bytes) => record::decode("ceremonies", &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn put_invitation(&self, digest: &str, invitation: &Invitation) -> Result<(), StoreError> {
        self.put_expiring(tables::INVITATIONS, digest, invitation, invitation.expires_at)?;
        Ok(())
    }

    fn delete_invitation(&self, digest: &str) -> Result<bool, StoreError> {
        self.remove_row(tables::INVITATIONS, digest)
    }
}
