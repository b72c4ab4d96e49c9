//! The redirects that answer the client: a code, or an error (RFC 6749 section 4.1.2, RFC 9207).

use super::super::OAuthError;
use super::AuthorizationRequest;

/// The redirect that delivers a code (RFC 6749 section 4.1.2, RFC 9207 `iss`).
pub fn code_response(issuer: &str, req: &AuthorizationRequest, code: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(state) = &req.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    super::super::params::append_query(&req.redirect_uri, &pairs)
}

/// The redirect that delivers an error (RFC 6749 section 4.1.2.1, RFC 9207 `iss`).
pub fn error_response(issuer: &str, redirect_uri: &str, state: Option<&str>, error: &OAuthError) -> String {
    let mut pairs = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description()),
    ];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    super::super::params::append_query(redirect_uri, &pairs)
}
