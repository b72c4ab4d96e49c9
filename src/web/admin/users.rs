//! The admin API's users: list, create, show, update, set a password, disable, enable, delete,
//! invite, reset the second factors.

use poem::Request;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use super::{AdminAuth, AdminScopes, AdminTag, Done, NO_STORE, Problem, answer, bad_request, done, run};
use crate::domain::NewUser;
use crate::service::admin::{self as cmd, ProfileChange};
use crate::service::users::ListUsers;
use crate::service::{App, views};

admin_response!(UserResponse, 200, "The user.", Json<UserDoc>);
admin_response!(UserCreated, 201, "The user was created.", Json<UserDoc>);
admin_response!(
    InvitationCreated,
    201,
    "The user and the invitation were created; the link is shown only now.",
    Json<InvitationDoc>
);
admin_response!(
    UserPageResponse,
    200,
    "A page of users in username order.",
    Json<UserPage>
);

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

/// A user to invite: created without a password, with a one-time link to choose one.
#[derive(Object, Debug)]
pub struct NewInvitationDoc {
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
    /// How long the link works, in hours (1 to 720; default 72).
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "720")))]
    pub expires_in_hours: Option<u32>,
}

/// A new invitation, exactly as `latchkey user invite --json` prints it.
#[derive(Object, Debug)]
pub struct InvitationDoc {
    pub username: String,
    /// The one-time link; only its digest is stored.
    pub url: String,
    pub expires_at: u64,
}

/// A new password.
#[derive(Object, Debug)]
pub struct PasswordDoc {
    #[oai(validator(max_length = 4096))]
    pub password: String,
}

/// The user operations.
pub struct UsersApi {
    pub app: App,
}

#[OpenApi(prefix_path = "/api/v1")]
impl UsersApi {
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
        answer(run(&self.app, req, &auth, cmd::UserList { query }).await, |p| {
            UserPageResponse::ok(Json(UserPage {
                items: p.items.into_iter().map(Into::into).collect(),
                next: p.next,
            }))
        })
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
        let command = cmd::UserAdd {
            user,
            password: b.password,
        };
        answer(run(&self.app, req, &auth, command).await, |u| {
            UserCreated::ok(Json(u.into()))
        })
    }

    /// Shows a user, by subject or username.
    #[oai(path = "/users/:user", method = "get", tag = "AdminTag::Users")]
    async fn get_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> UserResponse {
        user_answer(run(&self.app, req, &auth, cmd::UserShow { user: user.0 }).await)
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
        let command = cmd::UserUpdate { user: user.0, change };
        user_answer(run(&self.app, req, &auth, command).await)
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
        let command = cmd::UserPasswd {
            user: user.0,
            password: body.0.password,
        };
        done(run(&self.app, req, &auth, command).await)
    }

    /// Disables a user: they can no longer sign in, and their tokens stop working.
    #[oai(path = "/users/:user/disable", method = "post", tag = "AdminTag::Users")]
    async fn disable_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> UserResponse {
        let command = cmd::UserSetDisabled {
            user: user.0,
            disabled: true,
        };
        user_answer(run(&self.app, req, &auth, command).await)
    }

    /// Enables a disabled user.
    #[oai(path = "/users/:user/enable", method = "post", tag = "AdminTag::Users")]
    async fn enable_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> UserResponse {
        let command = cmd::UserSetDisabled {
            user: user.0,
            disabled: false,
        };
        user_answer(run(&self.app, req, &auth, command).await)
    }

    /// Deletes a user.
    #[oai(path = "/users/:user", method = "delete", tag = "AdminTag::Users")]
    async fn delete_user(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> Done {
        done(run(&self.app, req, &auth, cmd::UserDelete { user: user.0 }).await)
    }
}

#[OpenApi(prefix_path = "/api/v1")]
impl InvitationsApi {
    /// Invites a user: creates them without a password and answers a one-time link (72 hours by
    /// default) through which they choose one and are signed in.
    #[oai(path = "/invitations", method = "post", tag = "AdminTag::Users")]
    async fn create_invitation(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        body: Json<NewInvitationDoc>,
    ) -> InvitationCreated {
        let b = body.0;
        let user = NewUser {
            username: b.username,
            name: b.name,
            email: b.email,
            email_verified: b.email_verified,
            groups: b.groups,
        };
        let command = cmd::UserInvite {
            user,
            expires_in_hours: b.expires_in_hours,
        };
        answer(run(&self.app, req, &auth, command).await, |i| {
            InvitationCreated::ok(Json(InvitationDoc {
                username: i.username,
                url: i.url,
                expires_at: i.expires_at,
            }))
        })
    }

    /// Removes a user's second factors (passkeys, TOTP, recovery codes), ends their sessions and
    /// revokes their tokens; `count` is how many factor records went.
    #[oai(path = "/users/:user/reset-factors", method = "post", tag = "AdminTag::Users")]
    async fn reset_factors(
        &self,
        req: &Request,
        #[oai(scope = "AdminScopes::Admin")] auth: AdminAuth,
        user: Path<String>,
    ) -> Done {
        done(run(&self.app, req, &auth, cmd::UserResetFactors { user: user.0 }).await)
    }
}

/// The invitation operations, and resetting a user's factors.
pub struct InvitationsApi {
    pub app: App,
}

fn some_or_clear(v: Option<String>) -> Option<Option<String>> {
    v.map(|s| Some(s).filter(|s| !s.is_empty()))
}

fn user_answer(r: Result<views::UserView, Problem>) -> UserResponse {
    answer(r, |u| UserResponse::ok(Json(u.into())))
}
