//! Token requests (RFC 6749 sections 4.1.3, 4.3.2, 4.4.2 and 6) as a typed enum, so that a request
//! missing what its grant needs cannot be represented.

use super::{ErrorCode, OAuthError};
use crate::domain::{Client, GrantType, ScopeSet};

/// The form fields a token request may carry (all optional on the wire).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFields {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// An RFC 8707 resource indicator: the resource server the access token is for.
    pub resource: Option<String>,
}

/// A token request whose grant has what it needs.
#[derive(Clone, PartialEq, Eq)]
pub enum GrantRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<ScopeSet>,
    },
    ClientCredentials {
        scope: Option<ScopeSet>,
    },
    Password {
        username: String,
        password: String,
        scope: Option<ScopeSet>,
    },
}

impl std::fmt::Debug for GrantRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.grant_type().as_str())
    }
}

impl GrantRequest {
    pub fn grant_type(&self) -> GrantType {
        match self {
            GrantRequest::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            GrantRequest::RefreshToken { .. } => GrantType::RefreshToken,
            GrantRequest::ClientCredentials { .. } => GrantType::ClientCredentials,
            GrantRequest::Password { .. } => GrantType::Password,
        }
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn required(v: &Option<String>, name: &str) -> Result<String, OAuthError> {
    non_empty(v)
        .map(str::to_owned)
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
}

fn scope(v: &Option<String>) -> Result<Option<ScopeSet>, OAuthError> {
    non_empty(v)
        .map(|s| ScopeSet::parse(s).map_err(|e| OAuthError::invalid_scope(e.0)))
        .transpose()
}

/// Reads the grant from the fields.
pub fn parse(f: &TokenFields) -> Result<GrantRequest, OAuthError> {
    match non_empty(&f.grant_type) {
        None => Err(OAuthError::invalid_request("grant_type is missing")),
        Some("authorization_code") => Ok(GrantRequest::AuthorizationCode {
            code: required(&f.code, "code")?,
            redirect_uri: non_empty(&f.redirect_uri).map(str::to_owned),
            code_verifier: non_empty(&f.code_verifier).map(str::to_owned),
        }),
        Some("refresh_token") => Ok(GrantRequest::RefreshToken {
            refresh_token: required(&f.refresh_token, "refresh_token")?,
            scope: scope(&f.scope)?,
        }),
        Some("client_credentials") => Ok(GrantRequest::ClientCredentials {
            scope: scope(&f.scope)?,
        }),
        Some("password") => Ok(GrantRequest::Password {
            username: required(&f.username, "username")?,
            password: f.password.clone().unwrap_or_default(),
            scope: scope(&f.scope)?,
        }),
        Some(other) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {other} is not supported"),
        )),
    }
}

/// Checks that the client may use this grant at all.
pub fn check_client_may_use(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    if grant == GrantType::ClientCredentials && client.is_public() {
        return Err(OAuthError::unauthorized_client(
            "client_credentials is only for confidential clients",
        ));
    }
    if !client.allows_grant(grant) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the {grant} grant"
        )));
    }
    Ok(())
}

/// The scopes for a grant that asks the client's own scopes: the requested ones, which must all
/// be allowed, or every allowed scope when none is requested.
pub fn direct_scopes(client: &Client, requested: Option<&ScopeSet>) -> Result<ScopeSet, OAuthError> {
    let allowed = ScopeSet::from_scopes(client.scopes.iter().cloned());
    match requested {
        None => Ok(allowed),
        Some(r) if r.is_subset(&allowed) => Ok(r.clone()),
        Some(_) => Err(OAuthError::invalid_scope(
            "the client may not ask for these scopes",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(grant: &str) -> TokenFields {
        TokenFields {
            grant_type: Some(grant.into()),
            ..TokenFields::default()
        }
    }

    #[test]
    fn each_grant_needs_its_own_fields() {
        assert_eq!(
            parse(&fields("authorization_code")).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            parse(&fields("refresh_token")).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            parse(&fields("password")).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        assert!(parse(&fields("client_credentials")).is_ok());
        assert_eq!(
            parse(&fields("implicit")).unwrap_err().code,
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            parse(&TokenFields::default()).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn public_clients_cannot_use_client_credentials_and_grants_must_be_allowed() {
        let public = crate::protocol::authorize::tests::client(true);
        assert_eq!(
            check_client_may_use(&public, GrantType::ClientCredentials)
                .unwrap_err()
                .code,
            ErrorCode::UnauthorizedClient
        );
        assert_eq!(
            check_client_may_use(&public, GrantType::Password)
                .unwrap_err()
                .code,
            ErrorCode::UnauthorizedClient
        );
        assert!(check_client_may_use(&public, GrantType::AuthorizationCode).is_ok());
    }

    #[test]
    fn direct_grants_are_limited_to_the_clients_scopes() {
        let c = crate::protocol::authorize::tests::client(false);
        assert_eq!(direct_scopes(&c, None).unwrap().to_string(), "openid profile");
        let too_much = ScopeSet::parse("admin").unwrap();
        assert_eq!(
            direct_scopes(&c, Some(&too_much)).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }
}
