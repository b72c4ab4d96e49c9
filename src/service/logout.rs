//! Ending sign-ins: ID token hints, RP-initiated logout, and back-channel logout tokens delivered
//! in the background with retries, so a slow or failing client never delays the user.

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use serde_json::{Value, json};

use super::outbound::{self, Outbound};
use super::{App, ServiceError, audit, blocking, keys, login};
use crate::crypto::{jwt, random};
use crate::domain::{Client, IdTokenAlg, SigningKeyRecord};
use crate::protocol::logout::{self as rules, After, LogoutRefusal};
use crate::protocol::params::Params;

/// The header `typ` of the ID tokens Latchkey signs.
pub const ID_TOKEN_TYP: &str = "JWT";
/// How long a logout token is valid.
const LOGOUT_TOKEN_LIFETIME: u64 = 120;
/// Delivery attempts for one logout token, and the first pause between them (doubled each time).
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: StdDuration = StdDuration::from_secs(1);
/// How long one delivery attempt may take.
pub(crate) const ATTEMPT_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// What a verified `id_token_hint` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub subject: String,
    pub client_id: Option<String>,
    pub sid: Option<String>,
}

/// Verifies an ID token this server issued, as a hint: signature, issuer and the explicit type
/// `JWT` of Latchkey's ID tokens must be right (RFC 8725 section 3.11: an access token, typed
/// `at+jwt`, or a logout token is never an ID token hint); an expired token is still a good hint
/// (OpenID Connect RP-Initiated Logout 1.0, section 2). `None` when the token is not one of our
/// ID tokens.
pub async fn verify_hint(app: &App, token: String) -> Result<Option<Hint>, ServiceError> {
    let store = app.store.clone();
    let issuer = app.config.issuer.clone();
    let now = app.clock.now();
    blocking(move || {
        let published: Vec<SigningKeyRecord> = store
            .read(|tx| tx.signing_keys())?
            .into_iter()
            .filter(|k| k.retire_at.is_none_or(|r| r > now))
            .collect();
        let Ok(claims) = jwt::verify(&token, &published, Some(ID_TOKEN_TYP)) else {
            return Ok(None);
        };
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Ok(None);
        }
        let Some(subject) = claims.get("sub").and_then(Value::as_str) else {
            return Ok(None);
        };
        let client_id = match claims.get("aud") {
            Some(Value::String(a)) => Some(a.clone()),
            Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        Ok(Some(Hint {
            subject: subject.to_owned(),
            client_id,
            sid: claims.get("sid").and_then(Value::as_str).map(str::to_owned),
        }))
    })
    .await
}

/// Ends the browser session behind `cookie` and tells every client that received tokens in it
/// and registered a back-channel logout URI. Returns whether a session ended.
pub async fn end_session(app: &App, cookie: &str) -> Result<bool, ServiceError> {
    let Some(session) = login::end_session(app, cookie).await? else {
        return Ok(false);
    };
    let store = app.store.clone();
    let sid = session.sid.clone();
    let clients = blocking(move || {
        store.read(|tx| {
            let mut ids: Vec<_> = tx.grants_by_sid(&sid)?.into_iter().map(|g| g.client_id).collect();
            ids.sort();
            ids.dedup();
            let mut clients = Vec::new();
            for id in ids {
                if let Some(c) = tx.client(&id)?.filter(|c| c.backchannel_logout_uri.is_some()) {
                    clients.push(c);
                }
            }
            Ok(clients)
        })
    })
    .await?;
    for client in clients {
        let token = logout_token(app, &client, session.subject.as_str(), &session.sid).await?;
        deliver(app, client, token);
    }
    Ok(true)
}

/// A signed logout token (Back-Channel Logout 1.0, section 2.4) for one client.
async fn logout_token(app: &App, client: &Client, subject: &str, sid: &str) -> Result<String, ServiceError> {
    let now = app.clock.now();
    let claims = json!({
        "iss": app.config.issuer,
        "aud": client.client_id.as_str(),
        "iat": now.0,
        "exp": now.0 + LOGOUT_TOKEN_LIFETIME,
        "jti": random::token()?,
        "sub": subject,
        "sid": sid,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    let store = app.store.clone();
    let alg = client.id_token_alg;
    blocking(move || {
        let key = match alg {
            IdTokenAlg::RS256 => store.write(|tx| keys::ensure_rsa(tx, now))?,
            _ => store
                .read(keys::active_key)?
                .ok_or_else(|| ServiceError::Internal("no active signing key".into()))?,
        };
        jwt::sign_as(&key, alg.as_str(), "logout+jwt", &claims)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    })
    .await
}

/// Why one delivery attempt did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undelivered {
    /// The outbound policy refuses the URI or an address its host resolves to; retrying cannot
    /// help.
    Refused(String),
    /// The receiver answered with this HTTP status.
    Status(u16),
    /// The receiver could not be reached.
    Failed(String),
}

/// One delivery attempt: POSTs `token` to `uri` through `http`, after checking the URI again
/// (the configuration may have changed since the client was registered; its host's addresses are
/// checked by the resolver).
pub async fn post_logout_token(http: &Outbound, uri: &str, token: &str) -> Result<(), Undelivered> {
    http.check(uri).map_err(|e| Undelivered::Refused(e.to_string()))?;
    let sent = http
        .client()
        .post(uri)
        .timeout(ATTEMPT_TIMEOUT)
        .form(&[("logout_token", token)])
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(Undelivered::Status(r.status().as_u16())),
        Err(e) => Err(match outbound::refusal_in(&e) {
            Some(refusal) => Undelivered::Refused(refusal.to_string()),
            None => Undelivered::Failed(outbound::describe(&e)),
        }),
    }
}

/// Posts a logout token in the background, retrying with growing pauses.
fn deliver(app: &App, client: Client, token: String) {
    let Some(uri) = client.backchannel_logout_uri.clone() else {
        return;
    };
    let http = app.http.clone();
    tokio::spawn(async move {
        let mut pause = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            match post_logout_token(&http, uri.as_str(), &token).await {
                Ok(()) => {
                    tracing::info!(client_id = %client.client_id, attempt, "delivered a back-channel logout");
                    return;
                }
                Err(Undelivered::Refused(error)) => {
                    tracing::warn!(client_id = %client.client_id, %error, "back-channel logout not sent: the outbound policy refuses its URI");
                    return;
                }
                Err(Undelivered::Status(status)) => {
                    tracing::warn!(client_id = %client.client_id, attempt, status, "back-channel logout refused")
                }
                Err(Undelivered::Failed(error)) => {
                    tracing::warn!(client_id = %client.client_id, attempt, %error, "back-channel logout failed")
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        tracing::warn!(client_id = %client.client_id, "gave up delivering a back-channel logout");
    });
}

/// What an RP-initiated logout request answers; the page only renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// The request is refused with a page (audited and logged).
    Refused(LogoutRefusal),
    /// Ask the user to confirm, naming the client if the request named one.
    Confirm { client_name: Option<String> },
    /// The browser's session (if any) ended; where it goes now.
    SignedOut(After),
}

/// The RP-initiated logout use case (`GET`/`POST /oauth/logout`, OpenID Connect RP-Initiated
/// Logout 1.0 section 2): an `id_token_hint` naming the signed-in user (or sent when nobody is
/// signed in) signs out at once; anything else, another user's ID token included, asks first.
/// `confirmed` is the confirmation form's POST, which signs out whatever the hint.
pub async fn rp_logout(
    app: &App,
    params: &Params,
    cookie: Option<&str>,
    confirmed: bool,
    ip: IpAddr,
) -> Result<LogoutOutcome, ServiceError> {
    // The client id as sent, cut short and debug-escaped: it is client input on its way to a log.
    let sent_id: String = params.get("client_id").unwrap_or("").chars().take(128).collect();
    let refused = |reason: LogoutRefusal| {
        audit::denied(app, "logout.refused", "invalid_request", ip);
        tracing::info!(client_id = ?sent_id, reason = ?reason, "refused a logout request");
        Ok(LogoutOutcome::Refused(reason))
    };
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(token) => match verify_hint(app, token.to_owned()).await? {
            Some(h) => Some(h),
            None => {
                // Not one of Latchkey's ID tokens (an access token, another server's, a forgery):
                // it proves nothing, so the request goes on as one without a hint, which the user
                // must confirm (RP-Initiated Logout 1.0 section 2).
                audit::denied(app, "logout.refused", "invalid_id_token_hint", ip);
                tracing::info!(
                    client_id = ?sent_id,
                    reason = "the id_token_hint is not an ID token issued by this server",
                    "refused a logout request's hint; the user is asked to confirm"
                );
                None
            }
        },
    };
    let hinted = hint.as_ref().and_then(|h| h.client_id.as_deref());
    let client_id = match rules::named_client(params.get("client_id"), hinted) {
        Ok(id) => id,
        Err(reason) => return refused(reason),
    };
    let client = match &client_id {
        Some(id) => match super::authorize::load_client(app, id).await? {
            Some(c) => Some(c),
            None => return refused(LogoutRefusal::UnknownClient),
        },
        None => None,
    };
    let after = match rules::after(params, client.as_ref()) {
        Ok(after) => after,
        Err(reason) => return refused(reason),
    };
    if let After::Unregistered { client_id, .. } = &after {
        tracing::info!(
            client_id = %client_id,
            reason = "post_logout_redirect_uri not registered",
            "a logout request will not redirect"
        );
    }
    if !confirmed {
        let session = match cookie {
            Some(c) => login::current(app, c).await?,
            None => None,
        };
        let hint_subject = hint.as_ref().map(|h| h.subject.as_str());
        let session_subject = session.as_ref().map(|(s, _)| s.subject.as_str());
        if !rules::proven(hint_subject, session_subject) {
            return Ok(LogoutOutcome::Confirm {
                client_name: client.map(|c| c.name),
            });
        }
    }
    if let Some(cookie) = cookie {
        end_session(app, cookie).await?;
    }
    Ok(LogoutOutcome::SignedOut(after))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::domain::OutboundPolicy;

    /// A receiver on a loopback port that answers every request with 200; counts the requests.
    async fn receiver() -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        (port, hits)
    }

    #[tokio::test]
    async fn a_logout_token_is_posted_to_a_loopback_receiver_only_when_loopback_is_allowed() {
        // Security review #12, item 10: the server POSTed to any loopback port. A client
        // registered while loopback was allowed must not be called once it no longer is.
        let (port, hits) = receiver().await;
        let strict = Outbound::new(&OutboundPolicy::default(), ATTEMPT_TIMEOUT, "a test").unwrap();
        for uri in [
            format!("http://127.0.0.1:{port}/bc"),
            format!("http://0x7f000001:{port}/bc"),
            format!("http://localhost:{port}/bc"),
        ] {
            let refused = post_logout_token(&strict, &uri, "t").await;
            assert!(
                matches!(refused, Err(Undelivered::Refused(_))),
                "{uri}: {refused:?}"
            );
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the receiver");
        let allowed = Outbound::new(
            &OutboundPolicy {
                allow_networks: vec!["127.0.0.0/8".parse().unwrap()],
            },
            ATTEMPT_TIMEOUT,
            "a test",
        )
        .unwrap();
        assert_eq!(
            post_logout_token(&allowed, &format!("http://127.0.0.1:{port}/bc"), "t").await,
            Ok(())
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
