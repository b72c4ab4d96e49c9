//! Discovery: authorization server metadata (RFC 8414) and OpenID Connect Discovery 1.0.

use poem_openapi::Object;

/// Authorization server metadata (RFC 8414).
#[derive(Object, Debug)]
#[oai(rename = "AuthorizationServerMetadata")]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
}

pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The scopes Latchkey itself gives meaning to.
pub const KNOWN_SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

pub fn server_metadata(issuer: &str) -> ServerMetadata {
    let auth_methods = strings(&["client_secret_basic", "client_secret_post", "none"]);
    ServerMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: format!("{issuer}/oauth/authorize"),
        token_endpoint: format!("{issuer}/oauth/token"),
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        revocation_endpoint: format!("{issuer}/oauth/revoke"),
        introspection_endpoint: format!("{issuer}/oauth/introspect"),
        scopes_supported: strings(&KNOWN_SCOPES),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: strings(&[
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
        ]),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: auth_methods.clone(),
        introspection_endpoint_auth_methods_supported: strings(&[
            "client_secret_basic",
            "client_secret_post",
        ]),
        code_challenge_methods_supported: strings(&["S256"]),
        authorization_response_iss_parameter_supported: true,
    }
}

/// OpenID Connect Discovery 1.0 provider metadata.
#[derive(Object, Debug)]
#[oai(rename = "OpenIdConfiguration")]
pub struct OpenIdConfiguration {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    /// The `acr` values Latchkey issues and honours in `acr_values`: `1fa` (one factor) and
    /// `2fa` (two).
    pub acr_values_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub userinfo_signing_alg_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub prompt_values_supported: Vec<String>,
    pub display_values_supported: Vec<String>,
    pub claim_types_supported: Vec<String>,
    pub claims_parameter_supported: bool,
    /// The languages of the pages (`ui_locales`, OpenID Connect Core 3.1.2.1).
    pub ui_locales_supported: Vec<String>,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub require_request_uri_registration: bool,
    pub authorization_response_iss_parameter_supported: bool,
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    pub frontchannel_logout_supported: bool,
}

pub fn openid_configuration(issuer: &str) -> OpenIdConfiguration {
    let m = server_metadata(issuer);
    OpenIdConfiguration {
        issuer: m.issuer,
        authorization_endpoint: m.authorization_endpoint,
        token_endpoint: m.token_endpoint,
        userinfo_endpoint: format!("{issuer}/oauth/userinfo"),
        jwks_uri: m.jwks_uri,
        end_session_endpoint: format!("{issuer}/oauth/logout"),
        revocation_endpoint: m.revocation_endpoint,
        introspection_endpoint: m.introspection_endpoint,
        scopes_supported: m.scopes_supported,
        claims_supported: strings(&crate::protocol::id_token::CLAIMS_SUPPORTED),
        acr_values_supported: crate::protocol::login::Acr::ALL
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        response_types_supported: m.response_types_supported,
        response_modes_supported: m.response_modes_supported,
        grant_types_supported: m.grant_types_supported,
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&["EdDSA", "Ed25519", "RS256"]),
        userinfo_signing_alg_values_supported: strings(&["none"]),
        token_endpoint_auth_methods_supported: m.token_endpoint_auth_methods_supported,
        revocation_endpoint_auth_methods_supported: m.revocation_endpoint_auth_methods_supported,
        introspection_endpoint_auth_methods_supported: m.introspection_endpoint_auth_methods_supported,
        code_challenge_methods_supported: m.code_challenge_methods_supported,
        prompt_values_supported: strings(&["none", "login", "consent", "select_account"]),
        display_values_supported: strings(&["page", "popup", "touch", "wap"]),
        claim_types_supported: strings(&["normal"]),
        claims_parameter_supported: true,
        ui_locales_supported: crate::domain::Language::ALL
            .iter()
            .map(|l| l.code().to_owned())
            .collect(),
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        require_request_uri_registration: false,
        authorization_response_iss_parameter_supported: true,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        frontchannel_logout_supported: false,
    }
}
