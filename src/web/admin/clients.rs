//! The admin API's clients: list, register, show, update, rotate the secret, delete.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{AdminAuth, AdminScopes, AdminTag, Done, NO_STORE, Problem, answer, bad_request, done, run};
use crate::domain::{GrantType, IdTokenAlg};
use crate::service::admin as cmd;
use crate::service::clients::{ClientUpdate, NewClient};
use crate::service::{App, views};

admin_response!(ClientResponse, 200, "The client.", Json<ClientDoc>);
admin_response!(
    ClientCreatedResponse,
    201,
    "The client was created; a confidential client's secret is shown only now.",
    Json<ClientCreatedDoc>
);
admin_response!(
    SecretResponse,
    200,
    "The new secret, shown only now.",
    Json<ClientCreatedDoc>
);
admin_response!(ClientListResponse, 200, "Every client.", Json<Vec<ClientDoc>>);

/// A grant type, by its RFC 6749 name.
#[derive(poem_openapi::Enum, Debug, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum GrantTypeDoc {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
}

impl From<GrantTypeDoc> for GrantType {
    fn from(g: GrantTypeDoc) -> Self {
        match g {
            GrantTypeDoc::AuthorizationCode => GrantType::AuthorizationCode,
            GrantTypeDoc::RefreshToken => GrantType::RefreshToken,
            GrantTypeDoc::ClientCredentials => GrantType::ClientCredentials,
            GrantTypeDoc::Password => GrantType::Password,
        }
    }
}

impl From<GrantType> for GrantTypeDoc {
    fn from(g: GrantType) -> Self {
        match g {
            GrantType::AuthorizationCode => GrantTypeDoc::AuthorizationCode,
            GrantType::RefreshToken => GrantTypeDoc::RefreshToken,
            GrantType::ClientCredentials => GrantTypeDoc::ClientCredentials,
            GrantType::Password => GrantTypeDoc::Password,
        }
    }
}

/// How a client's ID tokens are signed.
#[derive(poem_openapi::Enum, Debug, Clone, Copy)]
pub enum IdTokenAlgDoc {
    EdDSA,
    Ed25519,
    RS256,
}

impl From<IdTokenAlgDoc> for IdTokenAlg {
    fn from(a: IdTokenAlgDoc) -> Self {
        match a {
            IdTokenAlgDoc::EdDSA => IdTokenAlg::EdDsa,
            IdTokenAlgDoc::Ed25519 => IdTokenAlg::Ed25519,
            IdTokenAlgDoc::RS256 => IdTokenAlg::RS256,
        }
    }
}

impl From<IdTokenAlg> for IdTokenAlgDoc {
    fn from(a: IdTokenAlg) -> Self {
        match a {
            IdTokenAlg::EdDsa => IdTokenAlgDoc::EdDSA,
            IdTokenAlg::Ed25519 => IdTokenAlgDoc::Ed25519,
            IdTokenAlg::RS256 => IdTokenAlgDoc::RS256,
        }
    }
}

/// Where a client's registration lives.
#[derive(poem_openapi::Enum, Debug, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum ClientSourceDoc {
    /// Declared in `identity.toml`.
    Config,
    /// Created with the CLI or the API.
    Store,
}

/// A client, exactly as `latchkey client show --json` prints it.
#[derive(Object, Debug, Clone)]
pub struct ClientDoc {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    pub grant_types: Vec<GrantTypeDoc>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    /// `true`: PKCE in every request; `false`: never required (legacy clients); `null`: the
    /// server's default (PKCE unless an OpenID Connect request carries a `nonce`, or always under
    /// the configuration's `require_pkce = true`). Public clients always need PKCE.
    #[oai(nullable)]
    pub require_pkce: Option<bool>,
    pub source: ClientSourceDoc,
    pub created_at: u64,
    pub id_token_signed_response_alg: IdTokenAlgDoc,
    pub post_logout_redirect_uris: Vec<String>,
    #[oai(nullable)]
    pub backchannel_logout_uri: Option<String>,
    pub refresh_without_offline_access: bool,
    /// Whether `http://localhost` redirect URIs are admitted (development only).
    pub allow_http_localhost: bool,
    /// Resource servers (RFC 8707 resource indicators) the client may ask tokens for.
    pub resources: Vec<String>,
    /// How many factors a sign-in for this client needs: 1, or 2 (a session without a second
    /// factor signs in again with one; ID tokens then say `acr` `2fa`).
    pub require_factors: u8,
    /// The groups whose members may use the client (sorted); empty: everyone. A signed-in user
    /// in none of them is refused at the authorization endpoint, and by the password and refresh
    /// grants.
    pub allowed_groups: Vec<String>,
    /// Where the app launcher (`/apps`) opens the client; `null`: not listed there.
    #[oai(nullable)]
    pub launch_url: Option<String>,
    /// The client's picture on the app launcher: an https URL, or a PNG or SVG `data:` URL.
    #[oai(nullable)]
    pub icon: Option<String>,
}

impl From<views::ClientView> for ClientDoc {
    fn from(c: views::ClientView) -> Self {
        ClientDoc {
            client_id: c.client_id,
            name: c.name,
            redirect_uris: c.redirect_uris,
            public: c.public,
            grant_types: c.grant_types.into_iter().map(Into::into).collect(),
            scopes: c.scopes,
            first_party: c.first_party,
            require_pkce: c.require_pkce,
            source: match c.source {
                crate::domain::ClientSource::Config => ClientSourceDoc::Config,
                crate::domain::ClientSource::Store => ClientSourceDoc::Store,
            },
            created_at: c.created_at,
            id_token_signed_response_alg: c.id_token_signed_response_alg.into(),
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            backchannel_logout_uri: c.backchannel_logout_uri,
            refresh_without_offline_access: c.refresh_without_offline_access,
            allow_http_localhost: c.allow_http_localhost,
            resources: c.resources,
            require_factors: c.require_factors,
            allowed_groups: c.allowed_groups,
            launch_url: c.launch_url,
            icon: c.icon,
        }
    }
}

/// A client with its new secret (confidential clients), as `latchkey client add --json` prints it.
#[derive(Object, Debug)]
pub struct ClientCreatedDoc {
    #[oai(flatten)]
    pub client: ClientDoc,
    /// The secret, shown only now; `null` for a public client.
    #[oai(nullable)]
    pub client_secret: Option<String>,
}

impl From<views::ClientCreated> for ClientCreatedDoc {
    fn from(c: views::ClientCreated) -> Self {
        ClientCreatedDoc {
            client: c.client.into(),
            client_secret: c.client_secret,
        }
    }
}

/// A client to register.
#[derive(Object, Debug)]
pub struct NewClientDoc {
    /// 1 to 128 characters of A-Z, a-z, 0-9, `.`, `_`, `~` and `-`.
    #[oai(validator(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._~-]+$"))]
    pub client_id: String,
    /// Shown on the consent page: 1 to 200 characters, no control characters (default: the
    /// client id).
    #[oai(
        nullable,
        validator(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]+$")
    )]
    pub name: Option<String>,
    #[oai(default)]
    pub redirect_uris: Vec<String>,
    /// A public client has no secret and always uses PKCE.
    #[oai(default)]
    pub public: bool,
    /// Default: authorization_code and refresh_token.
    #[oai(default)]
    pub grant_types: Vec<GrantTypeDoc>,
    /// The scopes the client may ask for (RFC 6749 section 3.3 scope tokens).
    #[oai(
        default,
        validator(max_length = 128, pattern = r"^[\x21\x23-\x5B\x5D-\x7E]+$")
    )]
    pub scopes: Vec<String>,
    #[oai(default)]
    pub first_party: bool,
    #[oai(nullable)]
    pub require_pkce: Option<bool>,
    #[oai(nullable)]
    pub id_token_signed_response_alg: Option<IdTokenAlgDoc>,
    #[oai(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[oai(nullable)]
    pub backchannel_logout_uri: Option<String>,
    #[oai(default)]
    pub refresh_without_offline_access: bool,
    /// Admit `http://localhost` redirect URIs, matched exactly (development only; RFC 8252 8.3).
    #[oai(default)]
    pub allow_http_localhost: bool,
    /// Resource servers (RFC 8707 resource indicators: absolute https URIs) the client may ask
    /// tokens for.
    #[oai(default, validator(max_items = 32))]
    pub resources: Vec<String>,
    /// How many factors a sign-in for this client needs: 1 (default) or 2.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "2")))]
    pub require_factors: Option<u8>,
    /// The groups whose members may use the client (1 to 64 letters, digits, `.`, `_` or `-`
    /// each); empty or absent: everyone.
    #[oai(default, validator(max_items = 64))]
    pub allowed_groups: Vec<String>,
    /// Where the app launcher (`/apps`) opens the client: an absolute https URL (http only on
    /// localhost, 127.0.0.1 or [::1], with `allow_http_localhost`).
    #[oai(nullable)]
    pub launch_url: Option<String>,
    /// The client's picture on the app launcher: an absolute https URL of an image, or a
    /// `data:image/png;base64,` or `data:image/svg+xml;base64,` URL; at most 16 KiB.
    #[oai(nullable)]
    pub icon: Option<String>,
}

/// Changes to a client; absent fields stay as they are.
#[derive(Object, Debug)]
pub struct ClientPatchDoc {
    /// 1 to 200 characters, no control characters.
    #[oai(
        nullable,
        validator(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]+$")
    )]
    pub name: Option<String>,
    #[oai(nullable)]
    pub redirect_uris: Option<Vec<String>>,
    #[oai(nullable)]
    pub grant_types: Option<Vec<GrantTypeDoc>>,
    /// RFC 6749 section 3.3 scope tokens.
    #[oai(
        nullable,
        validator(max_length = 128, pattern = r"^[\x21\x23-\x5B\x5D-\x7E]+$")
    )]
    pub scopes: Option<Vec<String>>,
    #[oai(nullable)]
    pub first_party: Option<bool>,
    #[oai(nullable)]
    pub require_pkce: Option<bool>,
    #[oai(nullable)]
    pub allow_http_localhost: Option<bool>,
    #[oai(nullable, validator(max_items = 32))]
    pub resources: Option<Vec<String>>,
    /// 1 or 2.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "2")))]
    pub require_factors: Option<u8>,
    /// The groups whose members may use the client; an empty list admits everyone.
    #[oai(nullable, validator(max_items = 64))]
    pub allowed_groups: Option<Vec<String>>,
    /// The app launcher's link to the client; the empty string removes it.
    #[oai(nullable)]
    pub launch_url: Option<String>,
    /// The client's picture on the app launcher; the empty string removes it.
    #[oai(nullable)]
    pub icon: Option<String>,
}

/// The client operations.
pub struct ClientsApi {
    pub app: App,
}

#[OpenApi(prefix_path = "/api/v1")]
impl ClientsApi {
    /// Lists every client.
    #[oai(path = "/clients", method = "get", tag = "AdminTag::Clients")]
    async fn list_clients(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
    ) -> ClientListResponse {
        answer(run(&self.app, req, &auth, cmd::ClientList {}).await, |list| {
            ClientListResponse::ok(Json(list.into_iter().map(Into::into).collect()))
        })
    }

    /// Registers a client. A confidential client's secret is generated and shown only in this
    /// response.
    #[oai(path = "/clients", method = "post", tag = "AdminTag::Clients")]
    async fn create_client(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        body: Json<NewClientDoc>,
    ) -> ClientCreatedResponse {
        let b = body.0;
        let client = NewClient {
            client_id: b.client_id,
            name: b.name,
            redirect_uris: b.redirect_uris,
            public: b.public,
            grant_types: b.grant_types.into_iter().map(Into::into).collect(),
            scopes: b.scopes,
            first_party: b.first_party,
            require_pkce: b.require_pkce,
            id_token_signed_response_alg: b.id_token_signed_response_alg.map(Into::into),
            post_logout_redirect_uris: b.post_logout_redirect_uris,
            backchannel_logout_uri: b.backchannel_logout_uri,
            refresh_without_offline_access: b.refresh_without_offline_access,
            allow_http_localhost: b.allow_http_localhost,
            resources: b.resources,
            require_factors: b.require_factors,
            allowed_groups: b.allowed_groups,
            launch_url: b.launch_url,
            icon: b.icon,
        };
        answer(run(&self.app, req, &auth, cmd::ClientAdd { client }).await, |c| {
            ClientCreatedResponse::ok(Json(c.into()))
        })
    }

    /// Shows a client.
    #[oai(path = "/clients/:client_id", method = "get", tag = "AdminTag::Clients")]
    async fn get_client(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        client_id: Path<String>,
    ) -> ClientResponse {
        let command = cmd::ClientShow {
            client_id: client_id.0,
        };
        client_answer(run(&self.app, req, &auth, command).await)
    }

    /// Updates a client's redirect URIs, scopes, grants and other settings. Clients declared in
    /// `identity.toml` are changed there instead.
    #[oai(path = "/clients/:client_id", method = "patch", tag = "AdminTag::Clients")]
    async fn update_client(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        client_id: Path<String>,
        body: Json<ClientPatchDoc>,
    ) -> ClientResponse {
        let b = body.0;
        let change = ClientUpdate {
            name: b.name,
            redirect_uris: b.redirect_uris,
            grant_types: b.grant_types.map(|g| g.into_iter().map(Into::into).collect()),
            scopes: b.scopes,
            first_party: b.first_party,
            require_pkce: b.require_pkce,
            allow_http_localhost: b.allow_http_localhost,
            resources: b.resources,
            require_factors: b.require_factors,
            allowed_groups: b.allowed_groups,
            launch_url: b.launch_url,
            icon: b.icon,
            ..ClientUpdate::default()
        };
        let command = cmd::ClientUpdate {
            client_id: client_id.0,
            change,
        };
        client_answer(run(&self.app, req, &auth, command).await)
    }

    /// Generates a new secret for a confidential client; the old one stops working at once.
    #[oai(
        path = "/clients/:client_id/rotate-secret",
        method = "post",
        tag = "AdminTag::Clients"
    )]
    async fn rotate_secret(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        client_id: Path<String>,
    ) -> SecretResponse {
        let command = cmd::ClientRotateSecret {
            client_id: client_id.0,
        };
        answer(run(&self.app, req, &auth, command).await, |c| {
            SecretResponse::ok(Json(c.into()))
        })
    }

    /// Deletes a client.
    #[oai(path = "/clients/:client_id", method = "delete", tag = "AdminTag::Clients")]
    async fn delete_client(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        client_id: Path<String>,
    ) -> Done {
        let command = cmd::ClientDelete {
            client_id: client_id.0,
        };
        done(run(&self.app, req, &auth, command).await)
    }
}

fn client_answer(r: Result<views::ClientView, Problem>) -> ClientResponse {
    answer(r, |c| ClientResponse::ok(Json(c.into())))
}
