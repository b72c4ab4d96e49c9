//! Upstream identities and local users: linking at sign-in by the upstream's link policy, and
//! the administration of links.

use serde::{Deserialize, Serialize};

use super::UpstreamError;
use crate::crypto::random;
use crate::domain::{Subject, Timestamp, Upstream, UpstreamIdentity, UpstreamLink, User, Username};
use crate::protocol::upstream::{self as rules, EmailMatch, LinkDecision};
use crate::service::{App, Conflict, Invalid, ServiceError, blocking, users};

/// Finds or makes the local user for `identity` by the upstream's link policy, in one write
/// transaction, and records the link's use.
pub(super) async fn link_user(
    app: &App,
    upstream: &Upstream,
    identity: UpstreamIdentity,
) -> Result<User, UpstreamError> {
    let name = upstream.name.clone();
    let policy = upstream.link;
    let now = app.clock.now();
    let new_subject = Subject::from_string(random::subject().map_err(ServiceError::from)?);
    let store = app.store.clone();
    let outcome = blocking(move || {
        store.write(|tx| {
            let link = tx.upstream_link(&name, &identity.subject)?;
            let linked = match &link {
                Some(l) => tx.user(&l.subject)?,
                None => None,
            };
            let same_email = match (&linked, &identity.email) {
                (None, Some(email)) if identity.email_verified => {
                    let mut matches = Vec::new();
                    for user in tx.users_by_email(email)? {
                        // Any identity already linked to the user is another way in (this one is
                        // not linked, or `linked` would be set), and so is a passkey or an
                        // authenticator app: such a user has credentials of their own.
                        let other_sign_in = !tx.links_of(&user.subject)?.is_empty()
                            || crate::service::login::enrolled(tx, &user.subject)?.has_second_factor();
                        matches.push(EmailMatch { user, other_sign_in });
                    }
                    matches
                }
                _ => Vec::new(),
            };
            let decision = match rules::decide(policy, &identity, linked.as_ref(), &same_email) {
                Ok(d) => d,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let user = match decision {
                LinkDecision::Linked(subject) | LinkDecision::LinkTo(subject) => match tx.user(&subject)? {
                    Some(u) => u,
                    None => return Err(ServiceError::Internal("a linked user vanished".into())),
                },
                LinkDecision::Create => {
                    let username = rules::username_candidates(&identity, &name)
                        .into_iter()
                        .find_map(|c| match tx.user_by_username_key(&c.to_lowercase()) {
                            Ok(None) => Username::parse(&c).ok(),
                            _ => None,
                        })
                        .ok_or_else(|| ServiceError::conflict(Conflict::NoFreeUsername))?;
                    let user = User {
                        subject: new_subject.clone(),
                        username,
                        name: identity.name.clone(),
                        email: identity.email.clone(),
                        email_verified: identity.email.is_some() && identity.email_verified,
                        groups: Vec::new(),
                        disabled: false,
                        password_hash: None,
                        created_at: now,
                        updated_at: now,
                    };
                    tx.put_user(&user)?;
                    user
                }
            };
            let record = UpstreamLink {
                upstream: name.clone(),
                upstream_subject: identity.subject.clone(),
                subject: user.subject.clone(),
                linked_at: link.as_ref().map_or(now, |l| l.linked_at),
                last_used: Some(now),
            };
            tx.put_upstream_link(&record)?;
            Ok(Ok(user))
        })
    })
    .await?;
    Ok(outcome?)
}

/// A linked upstream identity, as the CLI and the admin API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    pub upstream: String,
    pub upstream_subject: String,
    pub linked_at: Timestamp,
    pub last_used: Option<Timestamp>,
}

impl From<&UpstreamLink> for LinkView {
    fn from(l: &UpstreamLink) -> Self {
        LinkView {
            upstream: l.upstream.clone(),
            upstream_subject: l.upstream_subject.clone(),
            linked_at: l.linked_at,
            last_used: l.last_used,
        }
    }
}

fn check_link_names(upstream: &str, subject: &str) -> Result<(), ServiceError> {
    if !Upstream::is_valid_name(upstream) {
        return Err(ServiceError::refused("upstream", Invalid::UpstreamName));
    }
    if !rules::is_valid_subject(subject) {
        return Err(ServiceError::refused(
            "subject",
            Invalid::UpstreamSubject {
                max: rules::MAX_SUBJECT_LEN,
            },
        ));
    }
    Ok(())
}

/// The upstream identities linked to a user.
pub async fn links_of(app: &App, user: String) -> Result<Vec<LinkView>, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        store.read(|tx| {
            let user = users::find_or_404(tx, &user)?;
            Ok(tx.links_of(&user.subject)?.iter().map(LinkView::from).collect())
        })
    })
    .await
}

/// Links an upstream identity to a user in advance (for `existing-only` upstreams, or to move an
/// identity): refused if the identity is linked already.
pub async fn link(
    app: &App,
    user: String,
    upstream: String,
    subject: String,
) -> Result<LinkView, ServiceError> {
    check_link_names(&upstream, &subject)?;
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.write(|tx| {
            let user = users::find_or_404(tx, &user)?;
            if let Some(existing) = tx.upstream_link(&upstream, &subject)? {
                let owner = tx.user(&existing.subject)?.map_or_else(
                    || existing.subject.as_str().to_owned(),
                    |u| u.username.to_string(),
                );
                return Err(ServiceError::conflict(Conflict::UpstreamLinked {
                    upstream: upstream.to_string(),
                    owner,
                }));
            }
            let record = UpstreamLink {
                upstream: upstream.clone(),
                upstream_subject: subject.clone(),
                subject: user.subject,
                linked_at: now,
                last_used: None,
            };
            tx.put_upstream_link(&record)?;
            Ok(LinkView::from(&record))
        })
    })
    .await
}

/// Removes one of a user's links; the identity can no longer sign in as that user.
pub async fn unlink(
    app: &App,
    user: String,
    upstream: String,
    subject: String,
) -> Result<LinkView, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            let user = users::find_or_404(tx, &user)?;
            let link = tx
                .upstream_link(&upstream, &subject)?
                .filter(|l| l.subject == user.subject)
                .ok_or_else(|| {
                    ServiceError::NotFound(format!("link {upstream} / {subject} of `{}`", user.username))
                })?;
            tx.delete_upstream_link(&link)?;
            Ok(LinkView::from(&link))
        })
    })
    .await
}
