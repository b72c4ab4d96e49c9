//! Checking an authorization request against the client it names: which failures become an
//! error page (an untrusted client or redirect URI) and which go back to the client.

use super::super::login::Acr;
use super::super::params::Params;
use super::super::pkce;
use super::super::{ErrorCode, OAuthError};
use super::{AuthorizationRequest, MAX_STATE_LEN, PageReason, Policy, Prompt, Rejection};
use crate::domain::{Client, Duration, GrantType, RequestedClaims, ScopeSet};

/// Whether a request needs PKCE, and the setting that says so (named in the error).
fn pkce_needed(client: &Client, policy: &Policy, oidc_with_nonce: bool) -> Option<&'static str> {
    if client.is_public() {
        return Some("a public client must always use PKCE");
    }
    match client.require_pkce {
        Some(true) => Some("the client is registered with require_pkce = true"),
        Some(false) => None,
        None if policy.require_pkce => Some("the server's require_pkce = true applies to this client"),
        None if oidc_with_nonce => None,
        None => Some(
            "a confidential client may leave it out only in an OpenID Connect request (scope openid) \
             with a nonce; otherwise send PKCE, or register the client with require_pkce = false (CLI --no-pkce)",
        ),
    }
}

/// Checks a request against the client it names (`client` is `None` when unknown), by the
/// default [`Policy`].
pub fn validate(params: &Params, client: Option<&Client>) -> Result<AuthorizationRequest, Rejection> {
    validate_with(params, client, &Policy::default())
}

/// Checks a request against the client it names (`client` is `None` when unknown).
pub fn validate_with(
    params: &Params,
    client: Option<&Client>,
    policy: &Policy,
) -> Result<AuthorizationRequest, Rejection> {
    if let Some(name) = params.first_repeated(&["client_id", "redirect_uri"]) {
        return Err(Rejection::Page(PageReason::RepeatedParameter { name }));
    }
    let Some(client_id) = params.get("client_id") else {
        return Err(Rejection::Page(PageReason::MissingClientId));
    };
    let client = match client {
        Some(c) if c.client_id.as_str() == client_id => c,
        _ => {
            return Err(Rejection::Page(PageReason::UnknownClient));
        }
    };
    let (redirect_uri, redirect_uri_sent) = match params.get("redirect_uri") {
        Some(sent) => match client.redirect_uris.iter().find(|r| r.matches(sent)) {
            Some(_) => (sent.to_owned(), true),
            None => {
                return Err(Rejection::Page(PageReason::UnregisteredRedirectUri));
            }
        },
        None => match client.redirect_uris.as_slice() {
            [only] => (only.to_string(), false),
            _ => {
                return Err(Rejection::Page(PageReason::AmbiguousRedirectUri));
            }
        },
    };

    // From here on, errors go back to the client.
    let state = params.get("state").map(str::to_owned);
    let redirect = |error: OAuthError, state: Option<String>| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        state,
        error,
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(redirect(OAuthError::invalid_request("state is too long"), None));
    }
    let fail = |error: OAuthError| Err(redirect(error, state.clone()));

    if let Some(name) = params.first_repeated(&[
        "response_type",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        "prompt",
        "max_age",
        "login_hint",
        "id_token_hint",
        "request",
        "request_uri",
        "claims",
        "response_mode",
        "resource",
        "acr_values",
    ]) {
        return fail(OAuthError::invalid_request(format!(
            "the parameter {name} appears more than once"
        )));
    }
    if params.get("request").is_some() {
        return fail(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return fail(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        None => return fail(OAuthError::invalid_request("response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return fail(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    // Only the query mode is offered (discovery says so); an unknown or unsupported mode must not
    // be ignored, or the client would wait for an answer in the wrong place (RFC 6749 3.1).
    match params.get("response_mode") {
        None | Some("query") => {}
        Some(other) => {
            return fail(OAuthError::invalid_request(format!(
                "response_mode {other} is not supported; only query is"
            )));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return fail(OAuthError::unauthorized_client(
            "this client may not use the authorization code grant",
        ));
    }
    let scopes = match ScopeSet::parse(params.get("scope").unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return fail(OAuthError::invalid_scope(e.0)),
    };
    let allowed = ScopeSet::from_scopes(client.scopes.iter().cloned());
    if let Some(extra) = scopes.iter().find(|s| !allowed.contains(s.as_str())) {
        return fail(OAuthError::invalid_scope(format!(
            "the client may not ask for the scope {extra}"
        )));
    }
    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_STATE_LEN) {
        return fail(OAuthError::invalid_request("nonce is too long"));
    }
    let oidc_with_nonce = scopes.contains("openid") && nonce.is_some();
    let code_challenge = match (params.get("code_challenge"), params.get("code_challenge_method")) {
        (None, None) => match pkce_needed(client, policy, oidc_with_nonce) {
            Some(why) => {
                return fail(OAuthError::invalid_request(format!(
                    "code_challenge is required (PKCE with S256): {why}"
                )));
            }
            None => None,
        },
        (None, Some(_)) => {
            return fail(OAuthError::invalid_request(
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(_), None) | (Some(_), Some("plain")) => {
            return fail(OAuthError::invalid_request(
                "code_challenge_method must be S256; plain is not allowed",
            ));
        }
        (Some(c), Some("S256")) if pkce::well_formed(c) && c.len() == 43 => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return fail(OAuthError::invalid_request(
                "code_challenge is not a base64url SHA-256 value",
            ));
        }
        (Some(_), Some(_)) => {
            return fail(OAuthError::invalid_request("code_challenge_method must be S256"));
        }
    };
    let mut prompt = Prompt::default();
    for value in params
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            other => {
                return fail(OAuthError::invalid_request(format!(
                    "unknown prompt value {other}"
                )));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return fail(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(secs) => Some(Duration::seconds(secs)),
            Err(_) => {
                return fail(OAuthError::invalid_request(
                    "max_age must be a non-negative integer",
                ));
            }
        },
    };
    let requested_claims = match params.get("claims") {
        None => RequestedClaims::default(),
        Some(text) => match parse_claims_request(text) {
            Some(c) => c,
            None => {
                return fail(OAuthError::invalid_request(
                    "claims is not a valid claims request object",
                ));
            }
        },
    };
    let mut acr_values: Vec<Acr> = params
        .get("acr_values")
        .unwrap_or("")
        .split(' ')
        .filter_map(Acr::parse)
        .collect();
    for acr in params.get("claims").map(claims_acr).unwrap_or_default() {
        if !acr_values.contains(&acr) {
            acr_values.push(acr);
        }
    }
    Ok(AuthorizationRequest {
        acr_values,
        resource: params.get("resource").map(str::to_owned),
        requested_claims,
        client_id: client.client_id.clone(),
        redirect_uri,
        redirect_uri_sent,
        scopes,
        state,
        code_challenge,
        nonce,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        id_token_hint: params.get("id_token_hint").map(str::to_owned),
    })
}

/// The `acr` values a `claims` request asks of the ID token (`"acr": {"essential": true,
/// "values": ["2fa"]}`, Core 5.5.1.1), those Latchkey knows. Essential or voluntary, they count
/// as `acr_values` do: Latchkey asks for the second factor rather than fail the request.
fn claims_acr(text: &str) -> Vec<Acr> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let Some(acr) = value.get("id_token").and_then(|t| t.get("acr")) else {
        return Vec::new();
    };
    let one = acr.get("value").into_iter();
    let many = acr.get("values").and_then(|v| v.as_array()).into_iter().flatten();
    one.chain(many)
        .filter_map(|v| v.as_str())
        .filter_map(Acr::parse)
        .collect()
}

/// Reads the `claims` parameter (OpenID Connect Core 5.5): the names asked for in `userinfo` and
/// `id_token`. Values (`essential`, `value`, `values`) are accepted and not enforced.
fn parse_claims_request(text: &str) -> Option<RequestedClaims> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    let names = |member: &str| -> Option<Vec<String>> {
        match object.get(member) {
            None | Some(serde_json::Value::Null) => Some(Vec::new()),
            Some(serde_json::Value::Object(m)) => Some(m.keys().take(64).cloned().collect()),
            Some(_) => None,
        }
    };
    Some(RequestedClaims {
        userinfo: names("userinfo")?,
        id_token: names("id_token")?,
    })
}
