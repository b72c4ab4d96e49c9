//! `/admin/users`: the users, searched and paged on the server, with forms to create one or invite
//! one; and `/admin/users/{name}`: one user's details, the forms that change them (profile and
//! groups, disable or enable, password, second factors, delete), and their upstream links,
//! sessions and consents. Each form runs one typed admin command; a destructive one asks for a
//! fresh sign-in first; after a change the browser goes back to the page with a `done` notice.

use poem::Response;
use poem::http::StatusCode;

use super::{Call, Chrome, Confirm, Section, copy, filters, href, segment};
use crate::domain::{NewUser, Timestamp};
use crate::service::ServiceError;
use crate::service::admin::{
    ConsentRevoke, ConsentsList, LinkRemove, LinksList, ProfileChange, SessionsList, SessionsRevoke, UserAdd,
    UserDelete, UserInvite, UserList, UserPasswd, UserResetFactors, UserSetDisabled, UserShow, UserUpdate,
};
use crate::service::invitations::InvitationView;
use crate::service::users::ListUsers;
use crate::service::views::UserView;
use crate::web::errors::{PageFailure, page_status};
use crate::web::i18n;

/// How many users one page of the listing shows.
pub const PAGE: usize = 50;

/// The status of a page that re-shows a form the service refused, and the reason in words.
fn refusal(e: &ServiceError) -> Option<(StatusCode, String)> {
    let failure = match e {
        ServiceError::Invalid { .. } => PageFailure::Invalid,
        ServiceError::Conflict { .. } => PageFailure::Conflict,
        ServiceError::Forbidden(_) => PageFailure::Forbidden,
        ServiceError::NotFound(_) | ServiceError::Internal(_) => return None,
    };
    Some((page_status(failure), copy::service_refusal(e)))
}

/// The groups typed into a field: separated by commas, spaces or new lines.
fn groups_of(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in text.split(|c: char| c == ',' || c.is_whitespace()) {
        if !g.is_empty() && !out.iter().any(|o| o == g) {
            out.push(g.to_owned());
        }
    }
    out
}

fn date(t: u64) -> String {
    i18n::date_time(Timestamp(t))
}

/// The values of the create and invite forms, kept when the service refuses them.
#[derive(Default)]
struct NewUserForm {
    username: String,
    name: String,
    email: String,
    email_verified: bool,
    groups: String,
}

impl NewUserForm {
    fn read(call: &Call<'_>) -> NewUserForm {
        let f = call.form();
        NewUserForm {
            username: f.get("username").unwrap_or("").trim().to_owned(),
            name: f.get("name").unwrap_or("").trim().to_owned(),
            email: f.get("email").unwrap_or("").trim().to_owned(),
            email_verified: f.checked("email_verified"),
            groups: f.get("groups").unwrap_or("").trim().to_owned(),
        }
    }

    fn user(&self) -> NewUser {
        NewUser {
            username: self.username.clone(),
            name: Some(self.name.clone()).filter(|n| !n.is_empty()),
            email: Some(self.email.clone()).filter(|e| !e.is_empty()),
            email_verified: self.email_verified,
            groups: groups_of(&self.groups),
        }
    }
}

/// One row of the listing.
struct UserRow {
    username: String,
    href: String,
    name: String,
    email: String,
    groups: String,
    status: String,
    disabled: bool,
}

impl UserRow {
    fn of(u: &UserView) -> UserRow {
        UserRow {
            href: format!("/admin/users/{}", segment(&u.username)),
            username: u.username.clone(),
            name: u.name.clone().unwrap_or_default(),
            email: u.email.clone().unwrap_or_default(),
            groups: u.groups.join(", "),
            status: status_words(u),
            disabled: u.disabled,
        }
    }
}

fn status_words(u: &UserView) -> String {
    copy::t(copy::Msg(if u.disabled {
        "admin-user-disabled"
    } else {
        "admin-user-enabled"
    }))
}

#[derive(askama::Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    notice: Option<String>,
    search: String,
    /// What the search found, in words, when there was a search.
    summary: Option<String>,
    users: Vec<UserRow>,
    /// The next page's address, if there is one; the first page's, when this is not it.
    next: Option<String>,
    first: Option<String>,
    /// Which form the error is about (`create` or `invite`), the error, and that form's values.
    error_in: &'static str,
    error: Option<String>,
    create: NewUserForm,
    invite: NewUserForm,
}

#[derive(askama::Template)]
#[template(path = "admin/user-invited.html")]
struct InvitedPage {
    chrome: Chrome,
    lead: String,
    url: String,
    expiry: String,
    user_href: String,
}

pub async fn route(call: &Call<'_>) -> Response {
    let rest: Vec<&str> = call.path.iter().skip(1).map(String::as_str).collect();
    match (rest.as_slice(), call.is_post()) {
        ([], false) => list(call, None).await,
        (["create"], true) => create(call).await,
        (["invite"], true) => invite(call).await,
        ([name], false) => show(call, name, None).await,
        ([name, "delete"], false) => confirm_delete(call, name).await,
        ([name, "delete"], true) => delete(call, name).await,
        ([name, action], true) => change(call, name, action, None).await,
        ([name, action, what], true) => change(call, name, action, Some(what)).await,
        _ => call.not_found(),
    }
}

/// The notice of the listing after a change.
fn list_notice(call: &Call<'_>) -> Option<String> {
    match call.query.get("done")? {
        "deleted" => Some(copy::html(
            copy::Msg("admin-user-deleted"),
            &[(
                "username",
                copy::Value::Strong(call.query.get("user").unwrap_or("")),
            )],
        )),
        _ => None,
    }
}

/// `GET /admin/users` (and the listing again, with a refused form's error and values).
async fn list(call: &Call<'_>, refused: Option<(&'static str, StatusCode, String, NewUserForm)>) -> Response {
    let search = call.query.filled("q").unwrap_or("").to_owned();
    let after = call.query.filled("after").map(str::to_owned);
    let query = ListUsers {
        search: Some(search.clone()).filter(|s| !s.is_empty()),
        after: after.clone(),
        limit: Some(PAGE),
    };
    let page = match call.run(UserList { query }).await {
        Ok(p) => p,
        Err(e) => return call.failed(&e),
    };
    let summary = (!search.is_empty()).then(|| {
        copy::html(
            copy::Msg("admin-users-found"),
            &[
                (
                    "count",
                    copy::Value::Number(u64::try_from(page.items.len()).unwrap_or(u64::MAX)),
                ),
                ("search", copy::Value::Strong(&search)),
            ],
        )
    });
    let next = page
        .next
        .as_deref()
        .map(|n| href("/admin/users", &[("q", &search), ("after", n)]));
    let first = after.map(|_| href("/admin/users", &[("q", &search)]));
    let (error_in, status, error, create, invite) = match refused {
        Some(("invite", status, error, form)) => {
            ("invite", status, Some(error), NewUserForm::default(), form)
        }
        Some((which, status, error, form)) => (which, status, Some(error), form, NewUserForm::default()),
        None => (
            "",
            StatusCode::OK,
            None,
            NewUserForm::default(),
            NewUserForm::default(),
        ),
    };
    let view = UsersPage {
        chrome: call.chrome(Section::Users),
        notice: list_notice(call),
        search,
        summary,
        users: page.items.iter().map(UserRow::of).collect(),
        next,
        first,
        error_in,
        error,
        create,
        invite,
    };
    call.page(&view, status)
}

/// `POST /admin/users/create`.
async fn create(call: &Call<'_>) -> Response {
    let form = NewUserForm::read(call);
    let password = call.form().get("password").unwrap_or("").to_owned();
    let repeat = call.form().get("password_repeat").unwrap_or("").to_owned();
    if password != repeat {
        let why = copy::t(copy::ACCOUNT_PASSWORDS_DIFFER);
        return list(
            call,
            Some(("create", page_status(PageFailure::Invalid), why, form)),
        )
        .await;
    }
    let command = UserAdd {
        user: form.user(),
        password: Some(password).filter(|p| !p.is_empty()),
    };
    match call.run(command).await {
        Ok(u) => call.done(&format!("/admin/users/{}?done=created", segment(&u.username))),
        Err(e) => match refusal(&e) {
            Some((status, why)) => list(call, Some(("create", status, why, form))).await,
            None => call.failed(&e),
        },
    }
}

/// `POST /admin/users/invite`: the one-time link, shown once, on a page of its own.
async fn invite(call: &Call<'_>) -> Response {
    let form = NewUserForm::read(call);
    let command = UserInvite {
        user: form.user(),
        expires_in_hours: None,
    };
    let InvitationView {
        username,
        url,
        expires_at,
    } = match call.run(command).await {
        Ok(v) => v,
        Err(e) => {
            return match refusal(&e) {
                Some((status, why)) => list(call, Some(("invite", status, why, form))).await,
                None => call.failed(&e),
            };
        }
    };
    let page = InvitedPage {
        chrome: call.chrome(Section::Users),
        lead: copy::html(
            copy::Msg("admin-user-invited"),
            &[("username", copy::Value::Strong(&username))],
        ),
        url,
        expiry: copy::html(
            copy::Msg("admin-user-invite-expiry"),
            &[("date", copy::Value::Text(&date(expires_at)))],
        ),
        user_href: format!("/admin/users/{}", segment(&username)),
    };
    call.page(&page, StatusCode::OK)
}

/// One session of the user page: its id and its line (HTML).
struct SessionRow {
    sid: String,
    line: String,
}

/// One upstream link of the user page.
struct LinkRow {
    upstream: String,
    subject: String,
    line: String,
}

/// One consent of the user page.
struct ConsentRow {
    client_id: String,
    line: String,
}

#[derive(askama::Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    chrome: Chrome,
    notice: Option<String>,
    /// Which form the error is about, and the error.
    error_in: &'static str,
    error: Option<String>,
    /// This page's address, the base of its forms' actions.
    base: String,
    lead: String,
    user: UserView,
    status: String,
    created: String,
    updated: String,
    name: String,
    email: String,
    groups: String,
    group_links: Vec<(String, String)>,
    links: Vec<LinkRow>,
    sessions: Vec<SessionRow>,
    consents: Vec<ConsentRow>,
}

/// The notice of the user page after a change (`done` and, for counts, `count`).
fn user_notice(call: &Call<'_>) -> Option<String> {
    let count = call
        .query
        .get("count")
        .and_then(|c| c.parse::<u64>().ok())
        .unwrap_or(0);
    let id = match call.query.get("done")? {
        "created" => "admin-user-created",
        "profile" => "admin-user-profile-saved",
        "disabled" => "admin-user-now-disabled",
        "enabled" => "admin-user-now-enabled",
        "password" => "admin-user-password-set",
        "factors" => "admin-user-factors-reset",
        "sessions" => "admin-user-sessions-ended",
        "link" => "admin-user-link-removed",
        "consent" => "admin-user-consent-revoked",
        _ => return None,
    };
    Some(copy::html(
        copy::Msg(id),
        &[("count", copy::Value::Number(count))],
    ))
}

/// `GET /admin/users/{name}`, or the page again with a refused form's error.
async fn show(call: &Call<'_>, name: &str, refused: Option<(&'static str, StatusCode, String)>) -> Response {
    let user = match call
        .run(UserShow {
            user: name.to_owned(),
        })
        .await
    {
        Ok(u) => u,
        Err(e) => return call.failed(&e),
    };
    let ident = user.username.clone();
    let links = call.run(LinksList { user: ident.clone() }).await;
    let sessions = call.run(SessionsList { user: ident.clone() }).await;
    let consents = call.run(ConsentsList { user: ident.clone() }).await;
    let (links, sessions, consents) = match (links, sessions, consents) {
        (Ok(l), Ok(s), Ok(c)) => (l, s, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return call.failed(&e),
    };
    let links = links
        .iter()
        .map(|l| {
            let linked = i18n::date_time(l.linked_at);
            let used = l.last_used.map(i18n::date_time);
            let mut values = vec![
                ("upstream", copy::Value::Strong(&l.upstream)),
                ("subject", copy::Value::Text(&l.upstream_subject)),
                ("linked", copy::Value::Text(&linked)),
            ];
            let id = match &used {
                Some(used) => {
                    values.push(("used", copy::Value::Text(used)));
                    "admin-user-link-line"
                }
                None => "admin-user-link-line-unused",
            };
            LinkRow {
                upstream: l.upstream.clone(),
                subject: l.upstream_subject.clone(),
                line: copy::html(copy::Msg(id), &values),
            }
        })
        .collect();
    let sessions = sessions
        .iter()
        .map(|s| {
            let mut words: Vec<String> = s.amr.iter().filter_map(|a| copy::describe_method(a)).collect();
            words.dedup();
            let methods = if words.is_empty() {
                "-".to_owned()
            } else {
                i18n::and_list(&words)
            };
            SessionRow {
                sid: s.sid.clone(),
                line: copy::html(
                    copy::ACCOUNT_SESSION_LINE,
                    &[
                        ("created", copy::Value::Text(&date(s.created_at))),
                        ("methods", copy::Value::Text(&methods)),
                        ("expires", copy::Value::Text(&date(s.expires_at))),
                    ],
                ),
            }
        })
        .collect();
    let consents = consents
        .iter()
        .map(|c| {
            let scopes: Vec<String> = c.scopes.iter().map(|s| copy::describe_scope(s)).collect();
            ConsentRow {
                client_id: c.client_id.clone(),
                line: copy::html(
                    copy::Msg("admin-user-consent-line"),
                    &[
                        ("client", copy::Value::Strong(&c.client_id)),
                        ("scopes", copy::Value::Text(&scopes.join(", "))),
                        ("granted", copy::Value::Text(&date(c.granted_at))),
                    ],
                ),
            }
        })
        .collect();
    let (error_in, status, error) = match refused {
        Some((which, status, why)) => (which, status, Some(why)),
        None => ("", StatusCode::OK, None),
    };
    let page = UserPage {
        chrome: call.chrome(Section::Users),
        notice: user_notice(call),
        error_in,
        error,
        base: format!("/admin/users/{}", segment(&user.username)),
        lead: copy::html(
            copy::Msg("admin-user-lead"),
            &[("username", copy::Value::Strong(&user.username))],
        ),
        status: status_words(&user),
        created: date(user.created_at),
        updated: date(user.updated_at),
        name: user.name.clone().unwrap_or_default(),
        email: user.email.clone().unwrap_or_default(),
        groups: user.groups.join(", "),
        group_links: user
            .groups
            .iter()
            .map(|g| (format!("/admin/groups/{}", segment(g)), g.clone()))
            .collect(),
        links,
        sessions,
        consents,
        user,
    };
    call.page(&page, status)
}

/// `GET /admin/users/{name}/delete`: the confirmation page.
async fn confirm_delete(call: &Call<'_>, name: &str) -> Response {
    let user = match call
        .run(UserShow {
            user: name.to_owned(),
        })
        .await
    {
        Ok(u) => u,
        Err(e) => return call.failed(&e),
    };
    let base = format!("/admin/users/{}", segment(&user.username));
    let title = copy::t(copy::Msg("admin-user-delete-title"));
    let text = copy::html(
        copy::Msg("admin-user-delete-confirm"),
        &[("username", copy::Value::Strong(&user.username))],
    );
    let button = copy::t(copy::Msg("admin-user-delete"));
    let action = format!("{base}/delete");
    call.confirm(
        Section::Users,
        Confirm {
            title: &title,
            text: &text,
            action: &action,
            fields: &[],
            button: &button,
            back: &base,
        },
    )
}

/// `POST /admin/users/{name}/delete`: only with `confirm=yes`, and after a fresh sign-in.
async fn delete(call: &Call<'_>, name: &str) -> Response {
    let confirm_page = format!("/admin/users/{}/delete", segment(name));
    if call.form().get("confirm") != Some("yes") {
        return call.done(&confirm_page);
    }
    if let Some(again) = call.require_fresh(&confirm_page) {
        return again;
    }
    match call
        .run(UserDelete {
            user: name.to_owned(),
        })
        .await
    {
        Ok(u) => call.done(&href(
            "/admin/users",
            &[("done", "deleted"), ("user", &u.username)],
        )),
        Err(e) => call.failed(&e),
    }
}

/// The forms of the user page that change something: `POST /admin/users/{name}/{action}`.
async fn change(call: &Call<'_>, name: &str, action: &str, what: Option<&str>) -> Response {
    let page = format!("/admin/users/{}", segment(name));
    let f = call.form();
    let destructive = matches!(
        (action, what),
        ("disable", None)
            | ("password", None)
            | ("factors", None)
            | ("sessions", Some("revoke"))
            | ("links", Some("remove"))
    );
    if destructive && let Some(again) = call.require_fresh(&page) {
        return again;
    }
    let user = name.to_owned();
    let result: Result<(&'static str, usize), ServiceError> = match (action, what) {
        ("profile", None) => {
            let text = |n: &str| Some(f.filled(n).map(str::to_owned));
            let change = ProfileChange {
                name: text("name"),
                email: text("email"),
                email_verified: Some(f.checked("email_verified")),
                groups: Some(groups_of(f.get("groups").unwrap_or(""))),
            };
            call.run(UserUpdate { user, change })
                .await
                .map(|_| ("profile", 0))
        }
        ("disable", None) => call
            .run(UserSetDisabled { user, disabled: true })
            .await
            .map(|_| ("disabled", 0)),
        ("enable", None) => call
            .run(UserSetDisabled {
                user,
                disabled: false,
            })
            .await
            .map(|_| ("enabled", 0)),
        ("password", None) => {
            let password = f.get("password").unwrap_or("").to_owned();
            if f.get("password_repeat").unwrap_or("") != password {
                let why = copy::t(copy::ACCOUNT_PASSWORDS_DIFFER);
                return show(
                    call,
                    name,
                    Some(("password", page_status(PageFailure::Invalid), why)),
                )
                .await;
            }
            call.run(UserPasswd { user, password })
                .await
                .map(|_| ("password", 0))
        }
        ("factors", None) => call
            .run(UserResetFactors { user })
            .await
            .map(|d| ("factors", d.count)),
        ("sessions", Some("revoke")) => {
            let sid = f.filled("sid").map(str::to_owned);
            call.run(SessionsRevoke { user, sid })
                .await
                .map(|d| ("sessions", d.count))
        }
        ("links", Some("remove")) => {
            let command = LinkRemove {
                user,
                upstream: f.get("upstream").unwrap_or("").to_owned(),
                subject: f.get("subject").unwrap_or("").to_owned(),
            };
            call.run(command).await.map(|_| ("link", 0))
        }
        ("consents", Some("revoke")) => {
            let command = ConsentRevoke {
                user,
                client_id: f.get("client_id").unwrap_or("").to_owned(),
            };
            call.run(command).await.map(|_| ("consent", 0))
        }
        _ => return call.not_found(),
    };
    match result {
        Ok((done, count)) => {
            let count = count.to_string();
            let count = if matches!(done, "factors" | "sessions") {
                count.as_str()
            } else {
                ""
            };
            call.done(&href(&page, &[("done", done), ("count", count)]))
        }
        Err(e) => match refusal(&e) {
            Some((status, why)) => {
                let which = match action {
                    "profile" => "profile",
                    "password" => "password",
                    _ => "status",
                };
                show(call, name, Some((which, status, why))).await
            }
            None => call.failed(&e),
        },
    }
}
