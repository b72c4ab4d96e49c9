//! The admin API's links: the upstream identities ("Sign in with ...") that sign in as a user.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{AdminAuth, AdminScopes, AdminTag, Done, NO_STORE, Problem, answer, bad_request, done, run};
use crate::service::App;
use crate::service::admin as cmd;
use crate::service::upstream::LinkView;

admin_response!(
    LinkListResponse,
    200,
    "The upstream identities linked to the user.",
    Json<Vec<LinkDoc>>
);
admin_response!(LinkCreated, 201, "The identity is linked.", Json<LinkDoc>);

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

/// The link operations.
pub struct LinksApi {
    pub app: App,
}

#[OpenApi(prefix_path = "/api/v1")]
impl LinksApi {
    /// Lists the upstream identities linked to a user.
    #[oai(path = "/users/:user/links", method = "get", tag = "AdminTag::Users")]
    async fn list_links(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> LinkListResponse {
        answer(
            run(&self.app, req, &auth, cmd::LinksList { user: user.0 }).await,
            |list| LinkListResponse::ok(Json(list.into_iter().map(Into::into).collect())),
        )
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
        let command = cmd::LinkAdd {
            user: user.0,
            upstream: body.0.upstream,
            subject: body.0.subject,
        };
        answer(run(&self.app, req, &auth, command).await, |l| {
            LinkCreated::ok(Json(l.into()))
        })
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
        let command = cmd::LinkRemove {
            user: user.0,
            upstream: upstream.0,
            subject: subject.0,
        };
        done(run(&self.app, req, &auth, command).await)
    }
}
