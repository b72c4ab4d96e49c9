//! [`Reads`] for both redb transaction types, over the raw table access of `raw.rs`.

use super::record;
use super::tables;
use super::{Raw, consent_key, expiry_parts, link_key, pair_prefix, second};
use crate::domain::{
    AuthorizationCode, CeremonyRecord, Client, ClientId, Consent, ForwardAuthSession, Grant, Invitation,
    PasskeyRecord, PendingUpstream, RecoveryCodesRecord, RefreshToken, Session, SigningKeyRecord, Subject,
    Timestamp, TotpRecord, UpstreamLink, User,
};
use crate::store::{AuditRecord, Reads, SetupTokenRecord, StoreError};

/// How many users a search reads from the username index at a time.
const SEARCH_BATCH: usize = 256;

impl<T: Raw> Reads for T {
    fn user(&self, subject: &Subject) -> Result<Option<User>, StoreError> {
        self.get_record(tables::USERS, subject.as_str())
    }

    fn user_by_username_key(&self, key: &str) -> Result<Option<User>, StoreError> {
        match self.raw_get(tables::USERNAMES, key)? {
            Some(subject) => {
                let subject = String::from_utf8(subject)
                    .map_err(|_| StoreError::Corrupt("a username index entry is not UTF-8".into()))?;
                self.get_record(tables::USERS, &subject)
            }
            None => Ok(None),
        }
    }

    fn users_by_username(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        let mut users = Vec::new();
        for (key, _) in self.raw_scan(tables::USERNAMES, after, limit)? {
            if let Some(user) = self.user_by_username_key(&key)? {
                users.push(user);
            }
        }
        Ok(users)
    }

    fn search_users(&self, needle: &str, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        let mut found = Vec::new();
        let mut cursor = after.map(str::to_owned);
        loop {
            let batch = self.users_by_username(cursor.as_deref(), SEARCH_BATCH)?;
            let Some(last) = batch.last() else {
                return Ok(found);
            };
            cursor = Some(last.username.key());
            for user in batch {
                let hit = user.username.key().contains(needle)
                    || user
                        .email
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(needle))
                    || user
                        .name
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(needle));
                if hit {
                    found.push(user);
                    if found.len() == limit {
                        return Ok(found);
                    }
                }
            }
        }
    }

    fn users_by_email(&self, email: &str) -> Result<Vec<User>, StoreError> {
        let prefix = pair_prefix(&email.to_ascii_lowercase());
        let mut users = Vec::new();
        for (key, _) in self.raw_prefix(tables::EMAILS, &prefix)? {
            let subject = second(&key, &prefix);
            // The address is checked again: an address holding U+001F could share a prefix.
            if let Some(user) = self.get_record::<User>(tables::USERS, &subject)?
                && user
                    .email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            {
                users.push(user);
            }
        }
        Ok(users)
    }

    fn user_count(&self) -> Result<u64, StoreError> {
        self.count(tables::USERS)
    }

    fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        self.get_record(tables::CLIENTS, id.as_str())
    }

    fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.scan_records(tables::CLIENTS, None, usize::MAX)
    }

    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.scan_records(tables::SIGNING_KEYS, None, usize::MAX)
    }

    fn server_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.raw_get(tables::META, &format!("{}{name}", tables::SECRET_KEY_PREFIX))
    }

    fn setup_token(&self, digest: &str) -> Result<Option<SetupTokenRecord>, StoreError> {
        self.get_record(tables::SETUP_TOKENS, digest)
    }

    fn session(&self, digest: &str) -> Result<Option<Session>, StoreError> {
        self.get_record(tables::SESSIONS, digest)
    }

    fn sessions(&self) -> Result<Vec<(String, Session)>, StoreError> {
        self.prefix_records(tables::SESSIONS, "")
    }

    fn session_count(&self) -> Result<u64, StoreError> {
        self.count(tables::SESSIONS)
    }

    fn grant_count(&self) -> Result<u64, StoreError> {
        self.count(tables::GRANTS)
    }

    fn sessions_of(&self, subject: &Subject) -> Result<Vec<(String, Session)>, StoreError> {
        let prefix = pair_prefix(subject.as_str());
        let mut out = Vec::new();
        for (key, _) in self.raw_prefix(tables::USER_SESSIONS, &prefix)? {
            let digest = second(&key, &prefix);
            if let Some(session) = self.session(&digest)? {
                out.push((digest, session));
            }
        }
        Ok(out)
    }

    fn code(&self, digest: &str) -> Result<Option<AuthorizationCode>, StoreError> {
        self.get_record(tables::CODES, digest)
    }

    fn grant(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        self.get_record(tables::GRANTS, id)
    }

    fn grants(&self) -> Result<Vec<Grant>, StoreError> {
        self.scan_records(tables::GRANTS, None, usize::MAX)
    }

    fn grants_by_sid(&self, sid: &str) -> Result<Vec<Grant>, StoreError> {
        let prefix = pair_prefix(sid);
        let mut out = Vec::new();
        for (key, _) in self.raw_prefix(tables::SID_GRANTS, &prefix)? {
            if let Some(grant) = self.grant(&second(&key, &prefix))? {
                out.push(grant);
            }
        }
        Ok(out)
    }

    fn grants_of(&self, subject: &Subject) -> Result<Vec<Grant>, StoreError> {
        let prefix = pair_prefix(subject.as_str());
        let mut out = Vec::new();
        for (key, _) in self.raw_prefix(tables::USER_GRANTS, &prefix)? {
            if let Some(grant) = self.grant(&second(&key, &prefix))? {
                out.push(grant);
            }
        }
        Ok(out)
    }

    fn refresh_token(&self, digest: &str) -> Result<Option<RefreshToken>, StoreError> {
        self.get_record(tables::REFRESH_TOKENS, digest)
    }

    fn is_jti_denied(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self.raw_get(tables::DENIED_JTIS, jti)?.is_some())
    }

    fn audit_entries(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, AuditRecord)>, StoreError> {
        self.raw_scan(tables::AUDIT, after, limit)?
            .into_iter()
            .map(|(k, v)| Ok((k, record::decode("audit", &v)?)))
            .collect()
    }

    fn audit_count(&self) -> Result<u64, StoreError> {
        self.count(tables::AUDIT)
    }

    fn anything_to_purge(&self, now: Timestamp, audit_cutoff: Timestamp) -> Result<bool, StoreError> {
        // An index entry that does not parse is due too, so that the purge removes it.
        let expired = self
            .raw_scan(tables::EXPIRIES, None, 1)?
            .first()
            .is_some_and(|(k, _)| expiry_parts(k).is_none_or(|(at, _, _)| at <= now));
        let bound = format!("{:020}", audit_cutoff.0);
        let old_audit = self
            .raw_scan(tables::AUDIT, None, 1)?
            .first()
            .is_some_and(|(k, _)| *k < bound);
        Ok(expired || old_audit)
    }

    fn consent(&self, subject: &Subject, client: &ClientId) -> Result<Option<Consent>, StoreError> {
        self.get_record(tables::CONSENTS, &consent_key(subject, client))
    }

    fn consents_of(&self, subject: &Subject) -> Result<Vec<Consent>, StoreError> {
        let records = self.prefix_records(tables::CONSENTS, &pair_prefix(subject.as_str()))?;
        Ok(records.into_iter().map(|(_, c)| c).collect())
    }

    fn upstream_link(
        &self,
        upstream: &str,
        upstream_subject: &str,
    ) -> Result<Option<UpstreamLink>, StoreError> {
        self.get_record(tables::UPSTREAM_LINKS, &link_key(upstream, upstream_subject))
    }

    fn links_of(&self, subject: &Subject) -> Result<Vec<UpstreamLink>, StoreError> {
        let records = self.prefix_records(tables::USER_LINKS, &pair_prefix(subject.as_str()))?;
        Ok(records.into_iter().map(|(_, l)| l).collect())
    }

    fn pending_upstream(&self, digest: &str) -> Result<Option<PendingUpstream>, StoreError> {
        self.get_record(tables::UPSTREAM_STATES, digest)
    }

    fn pending_upstream_count(&self) -> Result<u64, StoreError> {
        self.count(tables::UPSTREAM_STATES)
    }

    fn pending_upstream_sizes(&self) -> Result<Vec<usize>, StoreError> {
        Ok(self
            .raw_scan(tables::UPSTREAM_STATES, None, usize::MAX)?
            .into_iter()
            .map(|(k, v)| k.len() + v.len())
            .collect())
    }

    fn passkey(&self, credential_id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        self.get_record(tables::PASSKEYS, credential_id)
    }

    fn passkeys_of(&self, subject: &Subject) -> Result<Vec<PasskeyRecord>, StoreError> {
        let prefix = pair_prefix(subject.as_str());
        let mut out = Vec::new();
        for (key, _) in self.raw_prefix(tables::USER_PASSKEYS, &prefix)? {
            if let Some(passkey) = self.passkey(&second(&key, &prefix))? {
                out.push(passkey);
            }
        }
        Ok(out)
    }

    fn totp(&self, subject: &Subject) -> Result<Option<TotpRecord>, StoreError> {
        self.get_record(tables::TOTP, subject.as_str())
    }

    fn recovery_codes(&self, subject: &Subject) -> Result<Option<RecoveryCodesRecord>, StoreError> {
        self.get_record(tables::RECOVERY_CODES, subject.as_str())
    }

    fn ceremony(&self, digest: &str) -> Result<Option<CeremonyRecord>, StoreError> {
        self.get_record(tables::CEREMONIES, digest)
    }

    fn ceremony_count(&self) -> Result<u64, StoreError> {
        self.count(tables::CEREMONIES)
    }

    fn forward_auth_session(&self, digest: &str) -> Result<Option<ForwardAuthSession>, StoreError> {
        self.get_record(tables::FORWARD_AUTH_SESSIONS, digest)
    }

    fn invitation(&self, digest: &str) -> Result<Option<Invitation>, StoreError> {
        self.get_record(tables::INVITATIONS, digest)
    }

    fn invitations(&self) -> Result<Vec<(String, Invitation)>, StoreError> {
        let rows = self.raw_scan(tables::INVITATIONS, None, usize::MAX)?;
        rows.into_iter()
            .map(|(k, v)| Ok((k, record::decode("invitations", &v)?)))
            .collect()
    }
}
