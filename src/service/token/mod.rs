//! The token, revocation and introspection endpoints' use cases. Every grant that changes state
//! does so in one write transaction, committed before the answer is returned.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value};

use super::login::{self, LoginError, digest};
use super::{App, ServiceError, blocking, keys};
use crate::crypto::{jwt, random};
use crate::domain::{
    Client, ClientId, Grant, GrantType, IdTokenAlg, RefreshToken, RequestedClaims, ScopeSet,
    SigningKeyRecord, Subject, Timestamp,
};
use crate::protocol::client_auth::{self, ClientCredentials};
use crate::protocol::code::{self, Redemption};
use crate::protocol::refresh::{self, RefreshDecision};
use crate::protocol::token_request::{self, GrantRequest, TokenFields};
use crate::protocol::{ErrorCode, OAuthError, id_token, resource};
use crate::store::{Reads, WriteTx};

/// A successful token response (RFC 6749 section 5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenSuccess {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
    pub scope: String,
    pub id_token: Option<String>,
}

/// How a failure is answered over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 400.
    BadRequest,
    /// 401; `challenge` adds `WWW-Authenticate: Basic` (the client used HTTP Basic).
    Unauthorized { challenge: bool },
    /// 429 with `Retry-After`.
    Throttled { retry_after: u64 },
    /// 503: the store failed; the client may retry.
    Unavailable,
}

/// A failed token, revocation or introspection request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: OAuthError,
    pub kind: FailureKind,
}

impl Failure {
    fn bad(error: OAuthError) -> Failure {
        let kind = if error.code == ErrorCode::InvalidClient {
            FailureKind::Unauthorized { challenge: false }
        } else {
            FailureKind::BadRequest
        };
        Failure { error, kind }
    }
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        tracing::error!(error = %e, "a token request failed inside");
        Failure {
            error: OAuthError::new(ErrorCode::TemporarilyUnavailable, "try again later"),
            kind: FailureKind::Unavailable,
        }
    }
}

/// How the client authenticated, as read from the request.
#[derive(Debug, Clone, Copy)]
pub struct ClientAuthInput<'a> {
    pub authorization: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
}

/// Authenticates the client of a token, revocation or introspection request.
pub async fn authenticate_client(
    app: &App,
    auth: ClientAuthInput<'_>,
    ip: IpAddr,
) -> Result<Client, Failure> {
    let creds =
        client_auth::extract(auth.authorization, auth.client_id, auth.client_secret).map_err(|e| {
            Failure {
                kind: if e.error.code == ErrorCode::InvalidClient {
                    FailureKind::Unauthorized { challenge: e.basic }
                } else {
                    FailureKind::BadRequest
                },
                error: e.error,
            }
        })?;
    let has_secret = !matches!(creds, ClientCredentials::None { .. });
    let id = creds.client_id().to_owned();
    let attempt = if has_secret {
        let started = app
            .secret_throttle
            .begin(&id, ip, app.clock.now())
            .map_err(|r| Failure {
                error: OAuthError::new(
                    ErrorCode::SlowDown,
                    "too many failed client authentications; retry later",
                ),
                kind: FailureKind::Throttled { retry_after: r.0 },
            })?;
        Some(started)
    } else {
        None
    };
    let client = super::authorize::load_client(app, &id).await?;
    let verdict = client_auth::authenticate(&creds, client.as_ref());
    if let Some(attempt) = attempt {
        match verdict {
            Ok(()) => attempt.succeeded(app.clock.now()),
            Err(_) => attempt.failed(app.clock.now()),
        }
    }
    if verdict.is_err() {
        // Anyone can send any client id: the failure proves nothing, so it is folded into one
        // counted entry per address and interval rather than costing a write of its own.
        super::audit::denied(app, "client.auth_failure", "invalid_client", ip);
    }
    verdict.map_err(|error| Failure {
        error,
        kind: FailureKind::Unauthorized {
            challenge: creds.used_basic(),
        },
    })?;
    client.ok_or_else(|| Failure::bad(OAuthError::invalid_client("client authentication failed")))
}

/// Claims of an RFC 9068 access token.
#[derive(Debug, Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    /// One resource as a string, several as an array (RFC 7519 4.1.3).
    aud: Value,
    client_id: &'a str,
    scope: String,
    iat: u64,
    exp: u64,
    jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<u64>,
}

/// Everything needed to mint an access token.
struct Mint<'a> {
    app: &'a App,
    key: &'a SigningKeyRecord,
    client: &'a Client,
    now: Timestamp,
}

impl Mint<'_> {
    /// Signs an access token. Tokens of a grant carry the grant id in their `jti`
    /// (`grant.random`), so revoking the grant revokes them without a write per token.
    fn access_token(
        &self,
        subject: Option<&Subject>,
        scopes: &ScopeSet,
        aud: &[String],
        auth_time: Option<Timestamp>,
        grant_id: Option<&str>,
    ) -> Result<String, ServiceError> {
        let lifetime = self.app.config.lifetimes.access_token;
        let nonce = random::subject()?;
        let jti = match grant_id {
            Some(g) => format!("{g}.{nonce}"),
            None => nonce,
        };
        let claims = AccessClaims {
            iss: &self.app.config.issuer,
            sub: subject
                .map(Subject::as_str)
                .unwrap_or(self.client.client_id.as_str()),
            aud: match aud {
                [one] => Value::String(one.clone()),
                many => Value::from(many.to_vec()),
            },
            client_id: self.client.client_id.as_str(),
            scope: scopes.to_string(),
            iat: self.now.0,
            exp: self.now.plus(lifetime).0,
            jti,
            auth_time: auth_time.map(|t| t.0),
        };
        jwt::sign(self.key, "at+jwt", &claims).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    fn success(
        &self,
        access_token: String,
        refresh_token: Option<String>,
        scopes: &ScopeSet,
        id_token: Option<String>,
    ) -> TokenSuccess {
        TokenSuccess {
            access_token,
            token_type: "Bearer",
            expires_in: self.app.config.lifetimes.access_token.0,
            refresh_token,
            scope: scopes.to_string(),
            id_token,
        }
    }

    /// Whether this grant gets a refresh token: the client must allow refreshing, and an OpenID
    /// Connect request must include `offline_access` unless the client's registration waives it.
    fn wants_refresh(&self, scopes: &ScopeSet) -> bool {
        self.client.allows_grant(GrantType::RefreshToken)
            && (!scopes.contains("openid")
                || scopes.contains("offline_access")
                || self.client.refresh_without_offline_access)
    }

    /// An ID token for an `openid` grant, signed as the client registered; `None` otherwise.
    fn id_token(
        &self,
        tx: &WriteTx,
        grant: &Grant,
        scopes: &ScopeSet,
        access_token: &str,
        nonce: Option<&str>,
    ) -> Result<Option<String>, ServiceError> {
        let (true, Some(subject), Some(auth_time)) =
            (scopes.contains("openid"), &grant.subject, grant.auth_time)
        else {
            return Ok(None);
        };
        let Some(user) = tx.user(subject)? else {
            return Ok(None);
        };
        let alg = self.client.id_token_alg;
        let rsa;
        let key = match alg {
            IdTokenAlg::EdDsa | IdTokenAlg::Ed25519 => self.key,
            IdTokenAlg::RS256 => {
                rsa = keys::ensure_rsa(tx, self.now)?;
                &rsa
            }
        };
        let facts = id_token::IdTokenFacts {
            issuer: &self.app.config.issuer,
            client_id: self.client.client_id.as_str(),
            user: &user,
            scopes,
            requested: &grant.requested_claims.id_token,
            nonce,
            auth_time,
            sid: grant.sid.as_deref(),
            amr: &grant.amr,
            access_token: Some(access_token),
            alg,
            issued_at: self.now,
            expires_at: self.now.plus(self.app.config.lifetimes.id_token),
        };
        let claims = id_token::claims(&facts);
        jwt::sign_as(key, alg.as_str(), "JWT", &claims)
            .map(Some)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Creates a refresh token for the grant when the client may refresh; stores its digest.
    fn refresh_token(
        &self,
        tx: &WriteTx,
        grant: &mut Grant,
        scopes: &ScopeSet,
    ) -> Result<Option<String>, ServiceError> {
        if !self.wants_refresh(scopes) {
            return Ok(None);
        }
        let token = random::token()?;
        let expires_at = self.now.plus(self.app.config.lifetimes.refresh_token);
        tx.put_refresh_token(
            &digest(&token),
            &RefreshToken {
                grant_id: grant.id.clone(),
                client_id: self.client.client_id.clone(),
                scopes: scopes.clone(),
                issued_at: self.now,
                expires_at,
                rotated_at: None,
            },
        )?;
        grant.expires_at = grant.expires_at.max(expires_at);
        Ok(Some(token))
    }

    fn new_grant(
        &self,
        subject: &Subject,
        scopes: &ScopeSet,
        auth_time: Timestamp,
        sid: Option<String>,
        amr: Vec<String>,
    ) -> Result<Grant, ServiceError> {
        Ok(Grant {
            id: random::subject()?,
            client_id: self.client.client_id.clone(),
            subject: Some(subject.clone()),
            scopes: scopes.clone(),
            auth_time: Some(auth_time),
            sid,
            amr,
            nonce: None,
            requested_claims: RequestedClaims::default(),
            resource: None,
            created_at: self.now,
            expires_at: self.now.plus(self.app.config.lifetimes.access_token),
            revoked_at: None,
        })
    }
}

fn active_key(tx: &impl Reads) -> Result<SigningKeyRecord, ServiceError> {
    keys::active_key(tx)?.ok_or_else(|| ServiceError::Internal("no active signing key".into()))
}

/// Marks a grant revoked: its refresh tokens stop working, and access tokens whose `jti` names it
/// stop introspecting as active.
fn revoke_grant(tx: &WriteTx, grant_id: &str, now: Timestamp) -> Result<(), ServiceError> {
    if let Some(mut grant) = tx.grant(grant_id)?
        && grant.revoked_at.is_none()
    {
        grant.revoked_at = Some(now);
        tx.put_grant(&grant)?;
        tracing::warn!(grant_id, client_id = %grant.client_id, "revoked a grant and every token issued from it");
    }
    Ok(())
}

fn user_is_active(tx: &impl Reads, subject: &Subject) -> Result<bool, ServiceError> {
    Ok(tx.user(subject)?.is_some_and(|u| !u.disabled))
}

/// The resource of a token request that continues a grant (a code or a refresh): the grant's
/// own, which the request may repeat but not change (RFC 8707 section 2.2).
fn same_resource<'a>(
    granted: Option<&'a str>,
    asked: Option<&'a str>,
) -> Result<Option<&'a str>, OAuthError> {
    match (granted, asked) {
        (Some(g), Some(a)) if g != a => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "the resource differs from the one the grant was made for",
        )),
        (Some(g), _) => Ok(Some(g)),
        (None, a) => Ok(a),
    }
}

/// The token endpoint (RFC 6749 section 3.2).
pub async fn token(
    app: &App,
    auth: ClientAuthInput<'_>,
    fields: TokenFields,
    ip: IpAddr,
) -> Result<TokenSuccess, Failure> {
    let request = token_request::parse(&fields).map_err(Failure::bad)?;
    let resource = fields.resource.clone().filter(|r| !r.is_empty());
    let client = authenticate_client(app, auth, ip).await?;
    token_request::check_client_may_use(&client, request.grant_type()).map_err(Failure::bad)?;
    let actor = format!("client:{}", client.client_id);
    // A public client proves nothing about who is calling: its failures are folded (see above).
    let public = client.is_public();
    let outcome = match request {
        GrantRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => redeem_code(app, client, code, redirect_uri, code_verifier, resource).await?,
        GrantRequest::RefreshToken { refresh_token, scope } => {
            refresh(app, client, refresh_token, scope, resource).await?
        }
        GrantRequest::ClientCredentials { scope } => client_credentials(app, client, scope, resource).await?,
        GrantRequest::Password {
            username,
            password,
            scope,
        } => password_grant(app, client, username, password, scope, resource, ip).await?,
    };
    match &outcome {
        Ok(t) => {
            super::audit::note(app, &actor, "token.issued", Some(&t.scope), Some(ip), true).await;
        }
        Err(e) => {
            let action = if e.code == ErrorCode::InvalidGrant {
                "token.refused"
            } else {
                "token.error"
            };
            if public {
                super::audit::denied(app, action, e.code.as_str(), ip);
            } else {
                super::audit::note(app, &actor, action, Some(e.code.as_str()), Some(ip), false).await;
            }
        }
    }
    outcome.map_err(Failure::bad)
}

type Outcome = Result<Result<TokenSuccess, OAuthError>, ServiceError>;

async fn redeem_code(
    app: &App,
    client: Client,
    code: String,
    redirect_uri: Option<String>,
    verifier: Option<String>,
    resource: Option<String>,
) -> Outcome {
    let app2 = app.clone();
    app.writer
        .run(move |tx| {
            let app = &app2;
            let now = app.clock.now();
            let key = digest(&code);
            let Some(mut record) = tx.code(&key)? else {
                return Ok(Err(OAuthError::invalid_grant("the code is invalid or expired")));
            };
            match code::check(
                &record,
                client.client_id.as_str(),
                redirect_uri.as_deref(),
                verifier.as_deref(),
                now,
            ) {
                Redemption::Invalid(e) => Ok(Err(e)),
                Redemption::Replay { grant_id } => {
                    revoke_grant(tx, &grant_id, now)?;
                    Ok(Err(OAuthError::invalid_grant(
                        "the code was already used; its tokens are revoked",
                    )))
                }
                Redemption::Valid => {
                    if !user_is_active(tx, &record.subject)? {
                        return Ok(Err(OAuthError::invalid_grant("the user is no longer active")));
                    }
                    let requested = match same_resource(record.resource.as_deref(), resource.as_deref()) {
                        Ok(r) => r,
                        Err(e) => return Ok(Err(e)),
                    };
                    let aud = match resource::audience(&app.config.issuer, &client, &record.scopes, requested)
                    {
                        Ok(aud) => aud,
                        Err(e) => return Ok(Err(e)),
                    };
                    let signing = active_key(tx)?;
                    let mint = Mint {
                        app,
                        key: &signing,
                        client: &client,
                        now,
                    };
                    let mut grant = mint.new_grant(
                        &record.subject,
                        &record.scopes,
                        record.auth_time,
                        record.sid.clone(),
                        record.amr.clone(),
                    )?;
                    grant.nonce = record.nonce.clone();
                    grant.requested_claims = record.requested_claims.clone();
                    grant.resource = requested.map(str::to_owned);
                    let access = mint.access_token(
                        Some(&record.subject),
                        &record.scopes,
                        &aud,
                        Some(record.auth_time),
                        Some(&grant.id),
                    )?;
                    let refresh = mint.refresh_token(tx, &mut grant, &record.scopes)?;
                    let id_token =
                        mint.id_token(tx, &grant, &record.scopes, &access, record.nonce.as_deref())?;
                    record.redeemed_grant = Some(grant.id.clone());
                    tx.put_code(&key, &record)?;
                    tx.put_grant(&grant)?;
                    tracing::info!(client_id = %client.client_id, grant_id = %grant.id, "redeemed a code");
                    Ok(Ok(mint.success(access, refresh, &record.scopes, id_token)))
                }
            }
        })
        .await
}

async fn refresh(
    app: &App,
    client: Client,
    token: String,
    scope: Option<ScopeSet>,
    resource: Option<String>,
) -> Outcome {
    let app2 = app.clone();
    app.writer.run(move |tx| {
        let app = &app2;
        let now = app.clock.now();
        let key = digest(&token);
        let Some(mut old) = tx.refresh_token(&key)? else {
            return Ok(Err(OAuthError::invalid_grant("the refresh token is invalid or expired")));
        };
        let grant = tx.grant(&old.grant_id)?;
        match refresh::check(&old, grant.as_ref(), client.client_id.as_str(), scope.as_ref(), now) {
            RefreshDecision::Invalid(e) => Ok(Err(e)),
            RefreshDecision::Replay => {
                revoke_grant(tx, &old.grant_id, now)?;
                Ok(Err(OAuthError::invalid_grant("the refresh token was already used; the grant is revoked")))
            }
            RefreshDecision::Rotate { scopes } => {
                let Some(mut grant) = grant else {
                    return Ok(Err(OAuthError::invalid_grant("the grant no longer exists")));
                };
                if let Some(subject) = &grant.subject
                    && !user_is_active(tx, subject)?
                {
                    revoke_grant(tx, &grant.id, now)?;
                    return Ok(Err(OAuthError::invalid_grant("the user is no longer active")));
                }
                let requested = match same_resource(grant.resource.as_deref(), resource.as_deref()) {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                let aud = match resource::audience(&app.config.issuer, &client, &scopes, requested) {
                    Ok(aud) => aud,
                    Err(e) => return Ok(Err(e)),
                };
                let signing = active_key(tx)?;
                let mint = Mint { app, key: &signing, client: &client, now };
                old.rotated_at = Some(now);
                tx.put_refresh_token(&key, &old)?;
                let access =
                    mint.access_token(grant.subject.as_ref(), &scopes, &aud, grant.auth_time, Some(&grant.id))?;
                let new_refresh = mint.refresh_token(tx, &mut grant, &old.scopes)?;
                let id_token = mint.id_token(tx, &grant, &scopes, &access, None)?;
                grant.expires_at = grant.expires_at.max(now.plus(app.config.lifetimes.access_token));
                tx.put_grant(&grant)?;
                tracing::info!(client_id = %client.client_id, grant_id = %grant.id, "rotated a refresh token");
                Ok(Ok(mint.success(access, new_refresh, &scopes, id_token)))
            }
        }
    })
    .await
}

async fn client_credentials(
    app: &App,
    client: Client,
    scope: Option<ScopeSet>,
    resource: Option<String>,
) -> Outcome {
    let scopes = match token_request::direct_scopes(&client, scope.as_ref()) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let aud = match resource::audience(&app.config.issuer, &client, &scopes, resource.as_deref()) {
        Ok(aud) => aud,
        Err(e) => return Ok(Err(e)),
    };
    // A point read and one signature: done here, without a trip to the blocking pool.
    let signing = super::point_read(&app.store, active_key)?;
    let mint = Mint {
        app,
        key: &signing,
        client: &client,
        now: app.clock.now(),
    };
    let access = mint.access_token(None, &scopes, &aud, None, None)?;
    tracing::info!(client_id = %client.client_id, "issued a client_credentials token");
    Ok(Ok(mint.success(access, None, &scopes, None)))
}

async fn password_grant(
    app: &App,
    client: Client,
    username: String,
    password: String,
    scope: Option<ScopeSet>,
    resource: Option<String>,
    ip: IpAddr,
) -> Result<Result<TokenSuccess, OAuthError>, Failure> {
    let scopes = match token_request::direct_scopes(&client, scope.as_ref()) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let user = match login::check_password(app, &username, &password, ip).await {
        Ok(u) => u,
        Err(LoginError::Failed) => {
            return Ok(Err(OAuthError::invalid_grant("invalid username or password")));
        }
        Err(LoginError::Throttled(r)) => {
            return Err(Failure {
                error: OAuthError::new(ErrorCode::SlowDown, "too many failed sign-ins; retry later"),
                kind: FailureKind::Throttled { retry_after: r.0 },
            });
        }
        Err(LoginError::Unavailable(e)) => return Err(e.into()),
    };
    let scopes = if scope.is_none() && !super::authorize::user_may_have(&user, &scopes) {
        // No scope asked for: the client's defaults, less what this user may not have.
        ScopeSet::from_scopes(
            scopes
                .iter()
                .filter(|s| s.as_str() != super::admin::ADMIN_SCOPE)
                .cloned(),
        )
    } else {
        scopes
    };
    if !super::authorize::user_may_have(&user, &scopes) {
        return Ok(Err(OAuthError::invalid_scope(
            "only administrators may be granted the admin scope",
        )));
    }
    let aud = match resource::audience(&app.config.issuer, &client, &scopes, resource.as_deref()) {
        Ok(aud) => aud,
        Err(e) => return Ok(Err(e)),
    };
    let app2 = app.clone();
    Ok(app.writer.run(move |tx| {
        let app = &app2;
        let now = app.clock.now();
        let signing = active_key(tx)?;
        let mint = Mint { app, key: &signing, client: &client, now };
        let mut grant = mint.new_grant(&user.subject, &scopes, now, None, vec!["pwd".to_owned()])?;
        grant.resource = resource;
        let access = mint.access_token(Some(&user.subject), &scopes, &aud, Some(now), Some(&grant.id))?;
        let refresh = mint.refresh_token(tx, &mut grant, &scopes)?;
        let id_token = mint.id_token(tx, &grant, &scopes, &access, None)?;
        tx.put_grant(&grant)?;
        tracing::info!(client_id = %client.client_id, subject = %user.subject, "issued tokens for the password grant");
        Ok(Ok(mint.success(access, refresh, &scopes, id_token)))
    })
    .await?)
}

/// The claims of a live access token issued by this server: signature, issuer, expiry, revoked
/// `jti` and revoked grant are all checked. `None` for anything else.
pub fn live_access_token(
    tx: &impl Reads,
    issuer: &str,
    token: &str,
    now: Timestamp,
) -> Result<Option<Map<String, Value>>, ServiceError> {
    let published: Vec<SigningKeyRecord> = tx
        .signing_keys()?
        .into_iter()
        .filter(|k| k.retire_at.is_none_or(|r| r > now))
        .collect();
    let Ok(claims) = jwt::verify(token, &published, Some("at+jwt")) else {
        return Ok(None);
    };
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    let iss = claims.get("iss").and_then(Value::as_str);
    let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
        return Ok(None);
    };
    if iss != Some(issuer) || exp <= now.0 || tx.is_jti_denied(jti)? {
        return Ok(None);
    }
    if let Some((grant_id, _)) = jti.split_once('.') {
        let live = tx.grant(grant_id)?.is_some_and(|g| g.revoked_at.is_none());
        if !live {
            return Ok(None);
        }
    }
    // A token without a grant (client_credentials) dies with its client: it must name a client
    // that exists and was registered before the token was issued, so that a later client with a
    // deleted client's id inherits none of its tokens.
    let iat = claims.get("iat").and_then(Value::as_u64).unwrap_or(0);
    let client = claims
        .get("client_id")
        .and_then(Value::as_str)
        .and_then(|id| ClientId::parse(id).ok());
    let issued_to_this_client = match client {
        Some(id) => tx.client(&id)?.is_some_and(|c| c.created_at.0 <= iat),
        None => false,
    };
    if !issued_to_this_client {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// Token revocation (RFC 7009): the client's own access or refresh token; anything else is
/// ignored, and the answer is the same.
pub async fn revoke(app: &App, client: Client, token: String, hint: Option<String>) -> Result<(), Failure> {
    // Only an authenticated client's revocation is audited: a public client's proves nothing
    // about the caller, and anyone could send one per request.
    if !client.is_public() {
        let actor = format!("client:{}", client.client_id);
        super::audit::note(app, &actor, "token.revoke", None, None, true).await;
    }
    let app2 = app.clone();
    blocking(move || {
        let app = &app2;
        let now = app.clock.now();
        let tx = app.store.write()?;
        let refresh_first = hint.as_deref() == Some("refresh_token");
        let try_refresh = |tx: &WriteTx| -> Result<bool, ServiceError> {
            match tx.refresh_token(&digest(&token))? {
                Some(rt) if rt.client_id == client.client_id => {
                    revoke_grant(tx, &rt.grant_id, now)?;
                    Ok(true)
                }
                Some(_) => Ok(true),
                None => Ok(false),
            }
        };
        let try_access = |tx: &WriteTx| -> Result<bool, ServiceError> {
            match live_access_token(tx, &app.config.issuer, &token, now)? {
                Some(claims) => {
                    if claims.get("client_id").and_then(Value::as_str) == Some(client.client_id.as_str())
                        && let (Some(jti), Some(exp)) = (
                            claims.get("jti").and_then(Value::as_str),
                            claims.get("exp").and_then(Value::as_u64),
                        )
                    {
                        tx.deny_jti(jti, Timestamp(exp))?;
                        tracing::info!(client_id = %client.client_id, "revoked an access token");
                    }
                    Ok(true)
                }
                None => Ok(false),
            }
        };
        type Attempt<'a> = &'a dyn Fn(&WriteTx) -> Result<bool, ServiceError>;
        let order: [Attempt; 2] = if refresh_first {
            [&try_refresh, &try_access]
        } else {
            [&try_access, &try_refresh]
        };
        for attempt in order {
            if attempt(&tx)? {
                break;
            }
        }
        tx.commit()?;
        Ok(())
    })
    .await
    .map_err(Failure::from)
}

/// Token introspection (RFC 7662) for the authenticated client: `active: false` for expired,
/// revoked, unknown or other clients' tokens.
pub async fn introspect(app: &App, client: Client, token: String) -> Result<Map<String, Value>, Failure> {
    // Point reads and one signature check: done here, without a trip to the blocking pool.
    super::point_read(&app.store, |tx| {
        let now = app.clock.now();
        let inactive = || {
            let mut m = Map::new();
            m.insert("active".into(), Value::Bool(false));
            m
        };
        if let Some(mut claims) = live_access_token(tx, &app.config.issuer, &token, now)? {
            if claims.get("client_id").and_then(Value::as_str) != Some(client.client_id.as_str()) {
                return Ok(inactive());
            }
            claims.insert("active".into(), Value::Bool(true));
            claims.insert("token_type".into(), Value::String("Bearer".into()));
            if let Some(user) = claims
                .get("sub")
                .and_then(Value::as_str)
                .and_then(|s| tx.user(&Subject::from_string(s.to_owned())).ok().flatten())
            {
                claims.insert("username".into(), Value::String(user.username.to_string()));
            }
            return Ok(claims);
        }
        if let Some(rt) = tx.refresh_token(&digest(&token))? {
            let grant = tx.grant(&rt.grant_id)?;
            let live = rt.client_id == client.client_id
                && rt.rotated_at.is_none()
                && rt.expires_at > now
                && grant.as_ref().is_some_and(|g| g.revoked_at.is_none());
            if let (true, Some(grant)) = (live, grant) {
                let mut m = Map::new();
                m.insert("active".into(), Value::Bool(true));
                m.insert("token_type".into(), Value::String("refresh_token".into()));
                m.insert("client_id".into(), Value::String(rt.client_id.to_string()));
                m.insert("scope".into(), Value::String(rt.scopes.to_string()));
                m.insert("iss".into(), Value::String(app.config.issuer.clone()));
                m.insert("iat".into(), Value::from(rt.issued_at.0));
                m.insert("exp".into(), Value::from(rt.expires_at.0));
                if let Some(sub) = grant.subject {
                    m.insert("sub".into(), Value::String(sub.to_string()));
                }
                return Ok(m);
            }
        }
        Ok(inactive())
    })
    .map_err(Failure::from)
}

/// Why userinfo refused a request (RFC 6750 section 3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserinfoError {
    /// The token is missing, malformed, expired, revoked or not ours (401).
    InvalidToken,
    /// The token was not granted `openid` (403).
    InsufficientScope,
    /// The store failed.
    Unavailable(ServiceError),
}

/// The claims of the user behind an access token: `sub` always, then what the token's scopes
/// and the `claims` request parameter's `userinfo` member ask for.
pub async fn userinfo(app: &App, token: String) -> Result<Map<String, Value>, UserinfoError> {
    let app2 = app.clone();
    let result = blocking(move || {
        let app = &app2;
        let now = app.clock.now();
        let tx = app.store.read()?;
        let Some(claims) = live_access_token(&tx, &app.config.issuer, &token, now)? else {
            return Ok(Err(UserinfoError::InvalidToken));
        };
        // A token for another resource server is not for this endpoint (RFC 8707, RFC 9068 4).
        if !resource::names(
            claims.get("aud"),
            &resource::userinfo_resource(&app.config.issuer),
        ) {
            return Ok(Err(UserinfoError::InvalidToken));
        }
        let scopes =
            ScopeSet::parse(claims.get("scope").and_then(Value::as_str).unwrap_or("")).unwrap_or_default();
        if !scopes.contains("openid") {
            return Ok(Err(UserinfoError::InsufficientScope));
        }
        let Some(sub) = claims.get("sub").and_then(Value::as_str) else {
            return Ok(Err(UserinfoError::InvalidToken));
        };
        let Some(user) = tx
            .user(&Subject::from_string(sub.to_owned()))?
            .filter(|u| !u.disabled)
        else {
            return Ok(Err(UserinfoError::InvalidToken));
        };
        let requested = claims
            .get("jti")
            .and_then(Value::as_str)
            .and_then(|j| j.split_once('.'))
            .map(|(grant_id, _)| tx.grant(grant_id))
            .transpose()?
            .flatten()
            .map(|g| g.requested_claims.userinfo)
            .unwrap_or_default();
        Ok(Ok(id_token::user_claims(&user, &scopes, &requested)))
    })
    .await;
    match result {
        Ok(inner) => inner,
        Err(e) => Err(UserinfoError::Unavailable(e)),
    }
}
