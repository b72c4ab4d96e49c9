//! JSON endpoints described by the OpenAPI document: operations and keys.

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::admin::{self, AdminApi};
use super::oauth::OAuthApi;
use super::tags::Tag;
use crate::crypto::keys::{Jwk, JwkSet};
use crate::service::{self, App};

/// Every OpenAPI impl block, combined.
pub type Api = (OAuthApi, KeysApi, OpsApi, AdminApi);

pub fn apis(app: &App) -> Api {
    (
        OAuthApi { app: app.clone() },
        KeysApi { app: app.clone() },
        OpsApi { app: app.clone() },
        admin::apis(app),
    )
}

pub struct OpsApi {
    app: App,
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// The store is open and accepts writes.
    #[oai(status = 200)]
    Ready(PlainText<&'static str>),
    /// The store cannot take writes now.
    #[oai(status = 503)]
    NotReady(PlainText<&'static str>),
}

#[OpenApi]
impl OpsApi {
    /// Liveness: the process answers.
    #[oai(path = "/healthz", method = "get", tag = "Tag::Operations")]
    async fn healthz(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }

    /// Readiness: the data file is open and writable.
    #[oai(path = "/readyz", method = "get", tag = "Tag::Operations")]
    async fn readyz(&self) -> ReadyResponse {
        match service::ready(&self.app).await {
            Ok(()) => ReadyResponse::Ready(PlainText("ready")),
            Err(e) => {
                tracing::error!(error = %e, "readiness check failed");
                ReadyResponse::NotReady(PlainText("not ready"))
            }
        }
    }
}

pub struct KeysApi {
    app: App,
}

/// A public key: Ed25519 (`OKP`, RFC 8037) or RSA (RFC 7518).
#[derive(Object)]
#[oai(rename = "Jwk", skip_serializing_if_is_none)]
struct JwkDoc {
    /// Key type: `OKP` or `RSA`.
    kty: String,
    /// Curve, for `OKP`: `Ed25519`.
    crv: Option<String>,
    /// The Ed25519 public key, base64url.
    x: Option<String>,
    /// The RSA modulus, base64url.
    n: Option<String>,
    /// The RSA exponent, base64url.
    e: Option<String>,
    /// Key id: the RFC 7638 thumbprint.
    kid: String,
    /// Algorithm: `EdDSA`, `Ed25519` or `RS256`. An Ed25519 key is listed twice with the same `kid`, as
    /// `EdDSA` and as `Ed25519` (its RFC 9864 name), so that a token naming either finds it.
    alg: String,
    /// Use: `sig`.
    #[oai(rename = "use")]
    use_: String,
}

/// A JWK Set (RFC 7517).
#[derive(Object)]
#[oai(rename = "JwkSet")]
struct JwkSetDoc {
    keys: Vec<JwkDoc>,
}

impl From<JwkSet> for JwkSetDoc {
    fn from(set: JwkSet) -> Self {
        JwkSetDoc {
            keys: set
                .keys
                .into_iter()
                .map(
                    |Jwk {
                         kty,
                         crv,
                         x,
                         n,
                         e,
                         kid,
                         alg,
                         use_,
                     }| JwkDoc {
                        kty,
                        crv,
                        x,
                        n,
                        e,
                        kid,
                        alg,
                        use_,
                    },
                )
                .collect(),
        }
    }
}

#[derive(ApiResponse)]
enum JwksResponse {
    /// The published public keys: the active key and replaced keys not yet retired.
    #[oai(status = 200)]
    Ok(Json<JwkSetDoc>, #[oai(header = "Cache-Control")] String),
    /// The keys could not be read.
    #[oai(status = 503)]
    Unavailable(PlainText<&'static str>),
}

#[OpenApi]
impl KeysApi {
    /// The JSON Web Key Set with every public key that verifies current tokens.
    #[oai(path = "/.well-known/jwks.json", method = "get", tag = "Tag::Keys")]
    async fn jwks(&self) -> JwksResponse {
        match service::keys::jwks(&self.app).await {
            Ok(set) => JwksResponse::Ok(Json(set.into()), "public, max-age=60".to_owned()),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the signing keys");
                JwksResponse::Unavailable(PlainText("signing keys unavailable"))
            }
        }
    }
}
