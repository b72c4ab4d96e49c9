//! The tags that group the OpenAPI document's public operations (the admin API has its own).

use poem_openapi::Tags;

#[derive(Tags)]
pub enum Tag {
    /// OAuth 2.0 token, revocation and introspection endpoints.
    #[oai(rename = "OAuth 2.0")]
    OAuth,
    /// Metadata that lets clients configure themselves.
    Discovery,
    /// Public keys that verify Latchkey's signatures.
    Keys,
    /// Liveness and readiness probes for orchestrators and load balancers.
    Operations,
}
