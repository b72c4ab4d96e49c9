//! The admin API's sessions and consents: list a user's sessions or consents, end sessions,
//! forget a consent.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{AdminAuth, AdminScopes, AdminTag, Done, NO_STORE, Problem, answer, bad_request, done, run};
use crate::service::App;
use crate::service::admin as cmd;

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

/// A browser session (never its cookie).
#[derive(Object, Debug)]
pub struct SessionDoc {
    pub sid: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    pub created_at: u64,
    pub expires_at: u64,
}

/// A remembered consent.
#[derive(Object, Debug)]
pub struct ConsentDoc {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub granted_at: u64,
}

/// The session and consent operations.
pub struct SessionsApi {
    pub app: App,
}

#[OpenApi(prefix_path = "/api/v1")]
impl SessionsApi {
    /// Lists a user's live browser sessions.
    #[oai(path = "/users/:user/sessions", method = "get", tag = "AdminTag::Sessions")]
    async fn list_sessions(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> SessionListResponse {
        answer(
            run(&self.app, req, &auth, cmd::SessionsList { user: user.0 }).await,
            |list| {
                SessionListResponse::ok(Json(
                    list.into_iter()
                        .map(|s| SessionDoc {
                            sid: s.sid,
                            auth_time: s.auth_time,
                            amr: s.amr,
                            created_at: s.created_at,
                            expires_at: s.expires_at,
                        })
                        .collect(),
                ))
            },
        )
    }

    /// Ends every session of a user.
    #[oai(path = "/users/:user/sessions", method = "delete", tag = "AdminTag::Sessions")]
    async fn revoke_sessions(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> Done {
        let command = cmd::SessionsRevoke {
            user: user.0,
            sid: None,
        };
        done(run(&self.app, req, &auth, command).await)
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
        let command = cmd::SessionsRevoke {
            user: user.0,
            sid: Some(sid.0),
        };
        done(run(&self.app, req, &auth, command).await)
    }

    /// Lists the consents a user gave.
    #[oai(path = "/users/:user/consents", method = "get", tag = "AdminTag::Sessions")]
    async fn list_consents(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> ConsentListResponse {
        answer(
            run(&self.app, req, &auth, cmd::ConsentsList { user: user.0 }).await,
            |list| {
                ConsentListResponse::ok(Json(
                    list.into_iter()
                        .map(|c| ConsentDoc {
                            client_id: c.client_id,
                            scopes: c.scopes,
                            granted_at: c.granted_at,
                        })
                        .collect(),
                ))
            },
        )
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
        let command = cmd::ConsentRevoke {
            user: user.0,
            client_id: client_id.0,
        };
        done(run(&self.app, req, &auth, command).await)
    }
}
