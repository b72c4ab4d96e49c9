//! The admin API under `/api/v1`: users, clients, sessions, consents, signing keys and the audit
//! feed. Every call needs a bearer access token with the `admin` scope, runs the same
//! `service::admin::execute_as` as the CLI, and is audited. Errors are RFC 9457
//! `application/problem+json` with stable `type` URIs.

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OAuthScopes, Object, OpenApi, SecurityScheme, Tags};

use super::errors::{BEARER_CHALLENGE, Problem};
use crate::domain::{GrantType, IdTokenAlg, NewUser};
use crate::service::admin::{self, Actor, AdminDenied, AdminRequest, AdminResponse, ProfileChange};
use crate::service::clients::{ClientUpdate, NewClient};
use crate::service::upstream::LinkView;
use crate::service::users::ListUsers;
use crate::service::{App, views};

#[derive(Tags)]
pub enum AdminTag {
    /// People who can sign in.
    #[oai(rename = "Admin: users")]
    Users,
    /// Registered OAuth 2.0 clients.
    #[oai(rename = "Admin: clients")]
    Clients,
    /// Browser sessions and remembered consents.
    #[oai(rename = "Admin: sessions and consents")]
    Sessions,
    /// Signing keys and the audit feed.
    #[oai(rename = "Admin: keys and audit")]
    System,
}

#[derive(OAuthScopes)]
#[expect(dead_code, reason = "the variants only name scopes in the OpenAPI document")]
pub enum AdminScopes {
    /// Sign in (OpenID Connect).
    #[oai(rename = "openid")]
    OpenId,
    /// Administer Latchkey: only members of the `admins` group, or clients registered for it.
    #[oai(rename = "admin")]
    Admin,
}

/// An access token with the `admin` scope, from the authorization code flow with PKCE (the docs
/// page uses the built-in public client `latchkey-docs`) or the client credentials flow.
#[derive(SecurityScheme)]
#[oai(
    ty = "oauth2",
    flows(
        authorization_code(
            authorization_url = "/oauth/authorize",
            token_url = "/oauth/token",
            scopes = "AdminScopes"
        ),
        client_credentials(token_url = "/oauth/token", scopes = "AdminScopes"),
    )
)]
pub struct AdminAuth(Bearer);

/// Builds a response enum for one operation: its success, and every problem it may answer. Every
/// answer carries `Cache-Control: no-store` (some carry a new client secret).
macro_rules! admin_response {
    ($name:ident, $status:literal, $doc:literal $(, $body:ty)?) => {
        #[derive(ApiResponse)]
        #[oai(bad_request_handler = "bad_request")]
        pub enum $name {
            #[doc = $doc]
            #[oai(status = $status)]
            Ok($($body,)? #[oai(header = "Cache-Control")] String),
            /// The request is malformed.
            #[oai(status = 400, content_type = "application/problem+json")]
            BadRequest(Json<Problem>, #[oai(header = "Cache-Control")] String),
            /// No live bearer token.
            #[oai(status = 401, content_type = "application/problem+json")]
            Unauthorized(
                Json<Problem>,
                #[oai(header = "Cache-Control")] String,
                #[oai(header = "WWW-Authenticate")] String,
            ),
            /// The token lacks the `admin` scope, or its user is not an administrator.
            #[oai(status = 403, content_type = "application/problem+json")]
            Forbidden(Json<Problem>, #[oai(header = "Cache-Control")] String),
            /// The user, client, session or consent does not exist.
            #[oai(status = 404, content_type = "application/problem+json")]
            NotFound(Json<Problem>, #[oai(header = "Cache-Control")] String),
            /// The change conflicts with what exists.
            #[oai(status = 409, content_type = "application/problem+json")]
            Conflict(Json<Problem>, #[oai(header = "Cache-Control")] String),
            /// A field is invalid; `errors` says which.
            #[oai(status = 422, content_type = "application/problem+json")]
            Unprocessable(Json<Problem>, #[oai(header = "Cache-Control")] String),
            /// Too many invalid tokens from this address; retry after the given seconds.
            #[oai(status = 429, content_type = "application/problem+json")]
            TooManyRequests(
                Json<Problem>,
                #[oai(header = "Cache-Control")] String,
                #[oai(header = "Retry-After")] String,
            ),
            /// The server cannot complete the request now.
            #[oai(status = 503, content_type = "application/problem+json")]
            Unavailable(Json<Problem>, #[oai(header = "Cache-Control")] String),
        }

        impl $name {
            /// The success answer.
            #[allow(dead_code, reason = "not every operation builds its answer through this")]
            fn ok($(body: $body)?) -> Self {
                $name::Ok($({ let b: $body = body; b },)? NO_STORE.to_owned())
            }
        }

        impl From<Problem> for $name {
            fn from(p: Problem) -> Self {
                let cc = NO_STORE.to_owned();
                match p.status {
                    400 => $name::BadRequest(Json(p), cc),
                    401 => $name::Unauthorized(Json(p), cc, BEARER_CHALLENGE.to_owned()),
                    403 => $name::Forbidden(Json(p), cc),
                    404 => $name::NotFound(Json(p), cc),
                    409 => $name::Conflict(Json(p), cc),
                    422 => $name::Unprocessable(Json(p), cc),
                    429 => {
                        let wait = p.retry_after_header();
                        $name::TooManyRequests(Json(p), cc, wait)
                    }
                    _ => $name::Unavailable(Json(p), cc),
                }
            }
        }
    };
}

const NO_STORE: &str = "no-store";

fn bad_request<T: From<Problem>>(err: poem::Error) -> T {
    T::from(Problem::from_bad_request(err))
}

admin_response!(UserResponse, 200, "The user.", Json<UserDoc>);
admin_response!(UserCreated, 201, "The user was created.", Json<UserDoc>);
admin_response!(
    UserPageResponse,
    200,
    "A page of users in username order.",
    Json<UserPage>
);
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
admin_response!(
    SessionListResponse,
    200,
    "The user's live sessions.",
    Json<Vec<SessionDoc>>
);
admin_response!(
    ConsentListResponse,
    200,
    "The user's remembered consents.",
    Json<Vec<ConsentDoc>>
);
admin_response!(
    KeyListResponse,
    200,
    "Every signing key, newest first.",
    Json<Vec<KeyDoc>>
);
admin_response!(KeyResponse, 200, "The new active key.", Json<KeyDoc>);
admin_response!(
    AuditResponse,
    200,
    "A page of the audit feed, oldest first.",
    Json<AuditPage>
);
admin_response!(
    LinkListResponse,
    200,
    "The upstream identities linked to the user.",
    Json<Vec<LinkDoc>>
);
admin_response!(LinkCreated, 201, "The identity is linked.", Json<LinkDoc>);
admin_response!(Done, 204, "Done.");

/// A user, exactly as `latchkey user show --json` prints it.
#[derive(Object, Debug, Clone)]
pub struct UserDoc {
    /// The stable, opaque subject identifier (`sub`).
    pub subject: String,
    pub username: String,
    #[oai(nullable)]
    pub name: Option<String>,
    #[oai(nullable)]
    pub email: Option<String>,
    pub email_verified: bool,
    pub groups: Vec<String>,
    pub disabled: bool,
    pub has_password: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

impl From<views::UserView> for UserDoc {
    fn from(v: views::UserView) -> Self {
        UserDoc {
            subject: v.subject,
            username: v.username,
            name: v.name,
            email: v.email,
            email_verified: v.email_verified,
            groups: v.groups,
            disabled: v.disabled,
            has_password: v.has_password,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// A page of users; pass `next` as `after` for the following page.
#[derive(Object, Debug)]
pub struct UserPage {
    pub items: Vec<UserDoc>,
    #[oai(nullable)]
    pub next: Option<String>,
}

/// A new user.
#[derive(Object, Debug)]
pub struct NewUserDoc {
    #[oai(validator(min_length = 1, max_length = 64))]
    pub username: String,
    /// Up to 200 characters, no control characters.
    #[oai(nullable, validator(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$"))]
    pub name: Option<String>,
    #[oai(nullable)]
    pub email: Option<String>,
    #[oai(default)]
    pub email_verified: bool,
    #[oai(default)]
    pub groups: Vec<String>,
    /// An initial password; without one the user cannot sign in with a password.
    #[oai(nullable, validator(max_length = 4096))]
    pub password: Option<String>,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Object, Debug)]
pub struct UserPatchDoc {
    /// Up to 200 characters, no control characters; empty clears it.
    #[oai(nullable, validator(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$"))]
    pub name: Option<String>,
    #[oai(nullable)]
    pub email: Option<String>,
    #[oai(nullable)]
    pub email_verified: Option<bool>,
    #[oai(nullable)]
    pub groups: Option<Vec<String>>,
}

/// A new password.
#[derive(Object, Debug)]
pub struct PasswordDoc {
    #[oai(validator(max_length = 4096))]
    pub password: String,
}

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
}

/// A browser session (never its cookie).
#[derive(Object, Debug)]
pub struct SessionDoc {
    pub sid: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    pub created_at: u64,
    pub expires_at: u64,
}

/// An upstream identity ("Sign in with ...") linked to a user.
#[derive(Object, Debug)]
pub struct LinkDoc {
    /// The upstream's `name` in identity.toml.
    pub upstream: String,
    /// The identity's subject at the upstream.
    pub upstream_subject: String,
    pub linked_at: u64,
    /// When the identity last signed in; null if never.
    #[oai(nullable)]
    pub last_used: Option<u64>,
}

impl From<LinkView> for LinkDoc {
    fn from(l: LinkView) -> Self {
        LinkDoc {
            upstream: l.upstream,
            upstream_subject: l.upstream_subject,
            linked_at: l.linked_at.0,
            last_used: l.last_used.map(|t| t.0),
        }
    }
}

/// An upstream identity to link to a user.
#[derive(Object, Debug)]
pub struct NewLinkDoc {
    /// The upstream's `name` in identity.toml.
    #[oai(validator(pattern = r"^[a-z0-9-]{1,32}$"))]
    pub upstream: String,
    /// The identity's subject at the upstream (what the upstream's claim mapping names
    /// `subject`).
    #[oai(validator(min_length = 1, max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]+$"))]
    pub subject: String,
}

/// A remembered consent.
#[derive(Object, Debug)]
pub struct ConsentDoc {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub granted_at: u64,
}

/// A signing key's public facts.
#[derive(Object, Debug)]
pub struct KeyDoc {
    pub kid: String,
    pub alg: String,
    /// `active`, `retiring` (still published) or `retired`.
    pub status: String,
    pub created_at: u64,
    #[oai(nullable)]
    pub retire_at: Option<u64>,
}

impl From<views::KeyView> for KeyDoc {
    fn from(k: views::KeyView) -> Self {
        KeyDoc {
            kid: k.kid,
            alg: k.alg,
            status: match k.status {
                views::KeyStatus::Active => "active",
                views::KeyStatus::Retiring => "retiring",
                views::KeyStatus::Retired => "retired",
            }
            .to_owned(),
            created_at: k.created_at,
            retire_at: k.retire_at,
        }
    }
}

/// One audit event: who did what, when and from where.
#[derive(Object, Debug)]
pub struct AuditEventDoc {
    /// Sortable id; also the paging cursor.
    pub id: String,
    pub time: u64,
    pub actor: String,
    pub action: String,
    #[oai(nullable)]
    pub target: Option<String>,
    #[oai(nullable)]
    pub ip: Option<String>,
    pub success: bool,
    /// How many occurrences the event stands for: refused calls from one address are folded
    /// into one event per minute, with their number here; otherwise 1.
    pub count: u64,
}

/// A page of audit events; pass `next` as `after` for the following page.
#[derive(Object, Debug)]
pub struct AuditPage {
    pub items: Vec<AuditEventDoc>,
    #[oai(nullable)]
    pub next: Option<String>,
}

pub struct AdminApi {
    pub app: App,
}

/// Checks the token, runs the request as its holder, and hands back the response or a problem.
async fn run(
    app: &App,
    req: &Request,
    auth: &AdminAuth,
    request: AdminRequest,
) -> Result<AdminResponse, Problem> {
    let ip = super::client_ip(req);
    let actor = match admin::authenticate(app, auth.0.token.clone(), ip).await {
        Ok(name) => name,
        Err(denied) => {
            // A refusal costs no audit write of its own: 429s are not recorded at all, and the
            // others are folded into one counted entry per address and reason per interval.
            let reason = match &denied {
                AdminDenied::Unauthenticated => Some("unauthorized"),
                AdminDenied::Forbidden(_) => Some("forbidden"),
                AdminDenied::Throttled(_) | AdminDenied::Unavailable(_) => None,
            };
            if let Some(reason) = reason {
                crate::service::audit::denied(app, "admin.denied", reason, ip);
            }
            return Err(Problem::from_denied(denied));
        }
    };
    let actor = Actor {
        name: actor,
        ip: Some(ip),
    };
    crate::service::audit::note(
        app,
        &actor.name,
        "admin.call",
        Some(request.describe()),
        Some(ip),
        true,
    )
    .await;
    admin::execute_as(app, &actor, request)
        .await
        .map_err(Problem::from_service)
}

fn unexpected(r: AdminResponse) -> Problem {
    tracing::error!(response = ?std::mem::discriminant(&r), "an admin call returned an unexpected shape");
    Problem::new(503, "unavailable", "Unavailable", "unexpected response")
}

fn some_or_clear(v: Option<String>) -> Option<Option<String>> {
    v.map(|s| Some(s).filter(|s| !s.is_empty()))
}

#[OpenApi(prefix_path = "/api/v1")]
impl AdminApi {
    /// Lists users in username order, optionally filtered by a search text (username, name or
    /// email), a page at a time.
    #[oai(path = "/users", method = "get", tag = "AdminTag::Users")]
    async fn list_users(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        /// Case-insensitive text in the username, name or email.
        search: Query<Option<String>>,
        /// The `next` cursor of the previous page.
        after: Query<Option<String>>,
        /// Page size, 1 to 500 (default 500).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
    ) -> UserPageResponse {
        let query = ListUsers {
            search: search.0,
            after: after.0,
            limit: limit.0.map(|l| l as usize),
        };
        match run(&self.app, req, &auth, AdminRequest::UserList { query }).await {
            Ok(AdminResponse::Users(p)) => UserPageResponse::ok(Json(UserPage {
                items: p.items.into_iter().map(Into::into).collect(),
                next: p.next,
            })),
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// Creates a user.
    #[oai(path = "/users", method = "post", tag = "AdminTag::Users")]
    async fn create_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        body: Json<NewUserDoc>,
    ) -> UserCreated {
        let b = body.0;
        let user = NewUser {
            username: b.username,
            name: b.name,
            email: b.email,
            email_verified: b.email_verified,
            groups: b.groups,
        };
        match run(
            &self.app,
            req,
            &auth,
            AdminRequest::UserAdd {
                user,
                password: b.password,
            },
        )
        .await
        {
            Ok(AdminResponse::User(u)) => UserCreated::ok(Json(u.into())),
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// Shows a user, by subject or username.
    #[oai(path = "/users/:user", method = "get", tag = "AdminTag::Users")]
    async fn get_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> UserResponse {
        user_result(run(&self.app, req, &auth, AdminRequest::UserShow { user: user.0 }).await)
    }

    /// Updates a user's profile and groups. An empty string clears the name or email.
    #[oai(path = "/users/:user", method = "patch", tag = "AdminTag::Users")]
    async fn update_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
        body: Json<UserPatchDoc>,
    ) -> UserResponse {
        let b = body.0;
        let change = ProfileChange {
            name: some_or_clear(b.name),
            email: some_or_clear(b.email),
            email_verified: b.email_verified,
            groups: b.groups,
        };
        user_result(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::UserUpdate { user: user.0, change },
            )
            .await,
        )
    }

    /// Sets a user's password.
    #[oai(path = "/users/:user/password", method = "put", tag = "AdminTag::Users")]
    async fn set_password(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
        body: Json<PasswordDoc>,
    ) -> Done {
        done(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::UserPasswd {
                    user: user.0,
                    password: body.0.password,
                },
            )
            .await,
        )
    }

    /// Disables a user: they can no longer sign in, and their tokens stop working.
    #[oai(path = "/users/:user/disable", method = "post", tag = "AdminTag::Users")]
    async fn disable_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> UserResponse {
        user_result(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::UserSetDisabled {
                    user: user.0,
                    disabled: true,
                },
            )
            .await,
        )
    }

    /// Enables a disabled user.
    #[oai(path = "/users/:user/enable", method = "post", tag = "AdminTag::Users")]
    async fn enable_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> UserResponse {
        user_result(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::UserSetDisabled {
                    user: user.0,
                    disabled: false,
                },
            )
            .await,
        )
    }

    /// Deletes a user.
    #[oai(path = "/users/:user", method = "delete", tag = "AdminTag::Users")]
    async fn delete_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> Done {
        done(run(&self.app, req, &auth, AdminRequest::UserDelete { user: user.0 }).await)
    }

    /// Lists a user's live browser sessions.
    #[oai(path = "/users/:user/sessions", method = "get", tag = "AdminTag::Sessions")]
    async fn list_sessions(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> SessionListResponse {
        match run(&self.app, req, &auth, AdminRequest::SessionsList { user: user.0 }).await {
            Ok(AdminResponse::Sessions(list)) => SessionListResponse::ok(Json(
                list.into_iter()
                    .map(|s| SessionDoc {
                        sid: s.sid,
                        auth_time: s.auth_time,
                        amr: s.amr,
                        created_at: s.created_at,
                        expires_at: s.expires_at,
                    })
                    .collect(),
            )),
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// Ends every session of a user.
    #[oai(path = "/users/:user/sessions", method = "delete", tag = "AdminTag::Sessions")]
    async fn revoke_sessions(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> Done {
        done(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::SessionsRevoke {
                    user: user.0,
                    sid: None,
                },
            )
            .await,
        )
    }

    /// Ends one session of a user.
    #[oai(
        path = "/users/:user/sessions/:sid",
        method = "delete",
        tag = "AdminTag::Sessions"
    )]
    async fn revoke_session(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
        sid: Path<String>,
    ) -> Done {
        done(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::SessionsRevoke {
                    user: user.0,
                    sid: Some(sid.0),
                },
            )
            .await,
        )
    }

    /// Lists the consents a user gave.
    #[oai(path = "/users/:user/consents", method = "get", tag = "AdminTag::Sessions")]
    async fn list_consents(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> ConsentListResponse {
        match run(&self.app, req, &auth, AdminRequest::ConsentsList { user: user.0 }).await {
            Ok(AdminResponse::Consents(list)) => ConsentListResponse::ok(Json(
                list.into_iter()
                    .map(|c| ConsentDoc {
                        client_id: c.client_id,
                        scopes: c.scopes,
                        granted_at: c.granted_at,
                    })
                    .collect(),
            )),
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// Forgets a user's consent to a client.
    #[oai(
        path = "/users/:user/consents/:client_id",
        method = "delete",
        tag = "AdminTag::Sessions"
    )]
    async fn revoke_consent(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
        client_id: Path<String>,
    ) -> Done {
        done(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::ConsentRevoke {
                    user: user.0,
                    client_id: client_id.0,
                },
            )
            .await,
        )
    }

    /// Lists the upstream identities linked to a user.
    #[oai(path = "/users/:user/links", method = "get", tag = "AdminTag::Users")]
    async fn list_links(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> LinkListResponse {
        match run(&self.app, req, &auth, AdminRequest::LinksList { user: user.0 }).await {
            Ok(AdminResponse::Links(list)) => {
                LinkListResponse::ok(Json(list.into_iter().map(Into::into).collect()))
            }
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// Links an upstream identity to a user, so that it signs in as that user; refused (409) if
    /// the identity is linked already.
    #[oai(path = "/users/:user/links", method = "post", tag = "AdminTag::Users")]
    async fn create_link(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
        body: Json<NewLinkDoc>,
    ) -> LinkCreated {
        let request = AdminRequest::LinkAdd {
            user: user.0,
            upstream: body.0.upstream,
            subject: body.0.subject,
        };
        match run(&self.app, req, &auth, request).await {
            Ok(AdminResponse::Link(l)) => LinkCreated::ok(Json(l.into())),
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// Removes a link: the upstream identity no longer signs in as the user.
    #[oai(
        path = "/users/:user/links/:upstream/:subject",
        method = "delete",
        tag = "AdminTag::Users"
    )]
    async fn delete_link(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
        upstream: Path<String>,
        subject: Path<String>,
    ) -> Done {
        let request = AdminRequest::LinkRemove {
            user: user.0,
            upstream: upstream.0,
            subject: subject.0,
        };
        done(run(&self.app, req, &auth, request).await)
    }

    /// Lists every client.
    #[oai(path = "/clients", method = "get", tag = "AdminTag::Clients")]
    async fn list_clients(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
    ) -> ClientListResponse {
        match run(&self.app, req, &auth, AdminRequest::ClientList).await {
            Ok(AdminResponse::Clients(list)) => {
                ClientListResponse::ok(Json(list.into_iter().map(Into::into).collect()))
            }
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
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
        };
        match run(&self.app, req, &auth, AdminRequest::ClientAdd { client }).await {
            Ok(AdminResponse::ClientCreated(c)) => ClientCreatedResponse::ok(Json(c.into())),
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// Shows a client.
    #[oai(path = "/clients/:client_id", method = "get", tag = "AdminTag::Clients")]
    async fn get_client(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        client_id: Path<String>,
    ) -> ClientResponse {
        client_result(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::ClientShow {
                    client_id: client_id.0,
                },
            )
            .await,
        )
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
        };
        client_result(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::ClientUpdate {
                    client_id: client_id.0,
                    change,
                },
            )
            .await,
        )
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
        match run(
            &self.app,
            req,
            &auth,
            AdminRequest::ClientRotateSecret {
                client_id: client_id.0,
            },
        )
        .await
        {
            Ok(AdminResponse::ClientCreated(c)) => SecretResponse::ok(Json(c.into())),
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// Deletes a client.
    #[oai(path = "/clients/:client_id", method = "delete", tag = "AdminTag::Clients")]
    async fn delete_client(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        client_id: Path<String>,
    ) -> Done {
        done(
            run(
                &self.app,
                req,
                &auth,
                AdminRequest::ClientDelete {
                    client_id: client_id.0,
                },
            )
            .await,
        )
    }

    /// Lists the signing keys, newest first.
    #[oai(path = "/keys", method = "get", tag = "AdminTag::System")]
    async fn list_keys(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
    ) -> KeyListResponse {
        match run(&self.app, req, &auth, AdminRequest::KeysList).await {
            Ok(AdminResponse::Keys(list)) => {
                KeyListResponse::ok(Json(list.into_iter().map(Into::into).collect()))
            }
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// Rotates the signing keys; the old public keys stay published until `keys.retire_after`.
    #[oai(path = "/keys/rotate", method = "post", tag = "AdminTag::System")]
    async fn rotate_keys(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
    ) -> KeyResponse {
        match run(&self.app, req, &auth, AdminRequest::KeysRotate).await {
            Ok(AdminResponse::Key(k)) => KeyResponse::ok(Json(k.into())),
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }

    /// The audit feed, oldest first: sign-ins and failures, tokens issued and revoked, and
    /// administrative changes.
    #[oai(path = "/audit", method = "get", tag = "AdminTag::System")]
    async fn audit(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        /// The `next` cursor of the previous page.
        after: Query<Option<String>>,
        /// Page size, 1 to 500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
    ) -> AuditResponse {
        let request = AdminRequest::AuditList {
            after: after.0,
            limit: limit.0.map(|l| l as usize),
        };
        match run(&self.app, req, &auth, request).await {
            Ok(AdminResponse::Audit(p)) => AuditResponse::ok(Json(AuditPage {
                items: p
                    .items
                    .into_iter()
                    .map(|e| AuditEventDoc {
                        id: e.id,
                        time: e.time,
                        actor: e.actor,
                        action: e.action,
                        target: e.target,
                        ip: e.ip,
                        success: e.success,
                        count: e.count,
                    })
                    .collect(),
                next: p.next,
            })),
            Ok(other) => unexpected(other).into(),
            Err(p) => p.into(),
        }
    }
}

fn user_result(r: Result<AdminResponse, Problem>) -> UserResponse {
    match r {
        Ok(AdminResponse::User(u)) => UserResponse::ok(Json(u.into())),
        Ok(other) => unexpected(other).into(),
        Err(p) => p.into(),
    }
}

fn client_result(r: Result<AdminResponse, Problem>) -> ClientResponse {
    match r {
        Ok(AdminResponse::Client(c)) => ClientResponse::ok(Json(c.into())),
        Ok(other) => unexpected(other).into(),
        Err(p) => p.into(),
    }
}

fn done(r: Result<AdminResponse, Problem>) -> Done {
    match r {
        Ok(_) => Done::ok(),
        Err(p) => p.into(),
    }
}
