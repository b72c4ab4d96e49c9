//! The authorization endpoint (RFC 6749 section 4.1.1, RFC 7636, OpenID Connect Core 3.1.2):
//! checking a request, and deciding what happens next for a browser that may or may not be
//! signed in.

mod decide;
#[cfg(test)]
mod groups_tests;
mod response;
#[cfg(test)]
mod step_up_tests;
#[cfg(test)]
pub(crate) mod tests;
mod validate;

pub use decide::{Loaded, Next, SessionFacts, decide, next_step, resume_after_login};
pub use response::{code_response, error_response};
pub use validate::{validate, validate_with};

use super::OAuthError;
use super::login::Acr;
use crate::domain::{Client, ClientId, Duration, RequestedClaims, RequiredFactors, ScopeSet};

/// The longest `state` or `nonce` accepted; longer ones get `invalid_request`.
pub const MAX_STATE_LEN: usize = 2048;

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    Page(PageReason),
    /// Send the error back to the client's redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

/// Why a request gets an error page rather than an error redirect: its client or redirect URI
/// cannot be trusted. `web` words each reason for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageReason {
    /// `client_id` or `redirect_uri` appears more than once.
    RepeatedParameter { name: &'static str },
    /// The request names no client.
    MissingClientId,
    /// No client is registered under the `client_id`.
    UnknownClient,
    /// The `redirect_uri` is not one the client registered.
    UnregisteredRedirectUri,
    /// No `redirect_uri` was sent, and the client registered more than one.
    AmbiguousRedirectUri,
    /// A consent form arrived without a session (it ended while the form was open).
    SessionEnded,
}

/// The `prompt` values (OpenID Connect Core 3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: ClientId,
    /// The redirect URI to answer at: the one sent, or the only registered one.
    pub redirect_uri: String,
    /// Whether `redirect_uri` was in the request, in which case the token request must repeat it.
    pub redirect_uri_sent: bool,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<Duration>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
    pub requested_claims: RequestedClaims,
    /// The RFC 8707 `resource` asked for, checked against the client by [`super::resource`].
    pub resource: Option<String>,
    /// The authentication context classes asked for (`acr_values`, and the `acr` of a `claims`
    /// request), those Latchkey knows; the others are ignored (OpenID Connect Core 3.1.2.1).
    pub acr_values: Vec<Acr>,
}

impl AuthorizationRequest {
    /// Whether this is an OpenID Connect request.
    pub fn is_oidc(&self) -> bool {
        self.scopes.contains("openid")
    }
}

/// Whether a sign-in for this request must have two factors: the client requires them
/// (`require_factors = 2`), or the request asks for `acr` `2fa`. Latchkey's classes are ordered,
/// so a request that lists both `1fa` and `2fa` is satisfied by the weaker one and wants nothing
/// more.
pub fn two_factors_wanted(req: &AuthorizationRequest, client: &Client) -> bool {
    client.require_factors == RequiredFactors::Two
        || (!req.acr_values.is_empty() && !req.acr_values.contains(&Acr::OneFactor))
}

/// The server-wide rules a request is checked by, from the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// The default for confidential clients registered without `require_pkce`: `true` requires
    /// PKCE in every request; `false` (the OAuth 2.1 rule) lets an OpenID Connect request that
    /// carries a `nonce` go without it.
    pub require_pkce: bool,
}
