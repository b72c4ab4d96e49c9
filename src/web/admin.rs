//! The admin API under `/api/v1`: users, clients, sessions, consents, signing keys and the audit
//! feed. Every call needs a bearer access token with the `admin` scope, runs the same typed
//! command through `service::admin::execute_as` as the CLI, and is audited. Errors are RFC 9457
//! `application/problem+json` with stable `type` URIs. This file holds what every operation
//! shares (the security scheme, problems, the response enums' shape, [`run`]); the operations
//! are in one file per resource.

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OAuthScopes, SecurityScheme, Tags};

use super::errors::Problem;
use crate::service::App;
use crate::service::admin::{self, Actor, AdminDenied, Command};

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
                    401 => $name::Unauthorized(Json(p), cc, crate::web::errors::BEARER_CHALLENGE.to_owned()),
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

mod clients;
mod links;
mod sessions;
mod system;
mod users;

fn bad_request<T: From<Problem>>(err: poem::Error) -> T {
    T::from(Problem::from_bad_request(err))
}

admin_response!(Done, 204, "Done.");

/// Every admin API operation, by resource, in the order the OpenAPI document lists them.
pub type AdminApi = (
    users::UsersApi,
    users::InvitationsApi,
    sessions::SessionsApi,
    links::LinksApi,
    clients::ClientsApi,
    system::SystemApi,
);

/// The admin API over `app`.
pub fn apis(app: &App) -> AdminApi {
    (
        users::UsersApi { app: app.clone() },
        users::InvitationsApi { app: app.clone() },
        sessions::SessionsApi { app: app.clone() },
        links::LinksApi { app: app.clone() },
        clients::ClientsApi { app: app.clone() },
        system::SystemApi { app: app.clone() },
    )
}

/// Checks the token, runs the command as its holder, and hands back its answer or a problem.
async fn run<C: Command>(
    app: &App,
    req: &Request,
    auth: &AdminAuth,
    command: C,
) -> Result<C::Output, Problem> {
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
    crate::service::audit::note(app, &actor.name, "admin.call", Some(C::NAME), Some(ip), true).await;
    admin::execute_as(app, &actor, command)
        .await
        .map_err(Problem::from_service)
}

/// The operation's answer: `ok` of the command's output, or the problem.
fn answer<T, R: From<Problem>>(result: Result<T, Problem>, ok: impl FnOnce(T) -> R) -> R {
    match result {
        Ok(output) => ok(output),
        Err(p) => p.into(),
    }
}

/// A 204 answer for a command whose output the API does not show.
fn done<T>(result: Result<T, Problem>) -> Done {
    answer(result, |_| Done::ok())
}
