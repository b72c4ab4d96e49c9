//! The admin API's signing keys and audit feed.

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{AdminAuth, AdminScopes, AdminTag, NO_STORE, Problem, answer, bad_request, run};
use crate::service::admin as cmd;
use crate::service::{App, views};

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

/// The key and audit operations.
pub struct SystemApi {
    pub app: App,
}

#[OpenApi(prefix_path = "/api/v1")]
impl SystemApi {
    /// Lists the signing keys, newest first.
    #[oai(path = "/keys", method = "get", tag = "AdminTag::System")]
    async fn list_keys(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
    ) -> KeyListResponse {
        answer(run(&self.app, req, &auth, cmd::KeysList {}).await, |list| {
            KeyListResponse::ok(Json(list.into_iter().map(Into::into).collect()))
        })
    }

    /// Rotates the signing keys; the old public keys stay published until `keys.retire_after`.
    #[oai(path = "/keys/rotate", method = "post", tag = "AdminTag::System")]
    async fn rotate_keys(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
    ) -> KeyResponse {
        answer(run(&self.app, req, &auth, cmd::KeysRotate {}).await, |k| {
            KeyResponse::ok(Json(k.into()))
        })
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
        let command = cmd::AuditList {
            after: after.0,
            limit: limit.0.map(|l| l as usize),
            filter: Default::default(),
        };
        answer(run(&self.app, req, &auth, command).await, |p| {
            AuditResponse::ok(Json(AuditPage {
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
            }))
        })
    }
}
