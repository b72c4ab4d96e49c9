//! OAuth 2.0 and OpenID Connect rules as pure functions: a request, the state loaded for it and
//! the current time go in; a decision or an [`OAuthError`] comes out. Nothing here knows HTTP,
//! storage, the clock or the random number generator.

pub mod access;
pub mod access_token;
pub mod admin_scope;
pub mod allowed_groups;
pub mod authorize;
pub mod client_auth;
pub mod code;
pub mod error;
pub mod forward_auth;
pub mod id_token;
pub mod introspection;
pub mod login;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod refresh;
pub mod resource;
pub mod token_request;
pub mod totp;
pub mod upstream;

pub use error::{ErrorCode, OAuthError};
