//! `/admin/groups`: every group some user is in, with its member count; and
//! `/admin/groups/{name}`: its members (paged on the server, each a link to the user), the
//! clients only its members may use, and the forward-auth rules that name it. Membership is
//! changed on the user's page.

use poem::Response;
use poem::http::StatusCode;

use super::{Call, Chrome, Section, copy, filters, href, segment};
use crate::service::admin::{GroupShow, GroupsList};

/// How many members one page of a group shows.
pub const PAGE: usize = 50;

#[derive(askama::Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage {
    chrome: Chrome,
    /// Each group: its address, its name and its member count (in words).
    groups: Vec<(String, String, String)>,
}

/// One member of a group's page.
struct MemberRow {
    href: String,
    username: String,
    name: String,
    email: String,
}

#[derive(askama::Template)]
#[template(path = "admin/group.html")]
struct GroupPage {
    chrome: Chrome,
    name: String,
    members: Vec<MemberRow>,
    next: Option<String>,
    first: Option<String>,
    /// Each client: its address in the console, its name and its id.
    clients: Vec<(String, String, String)>,
    /// Each rule, in words (HTML).
    rules: Vec<String>,
}

pub async fn route(call: &Call<'_>) -> Response {
    match (call.path.get(1), call.path.len(), call.is_post()) {
        (None, _, false) => list(call).await,
        (Some(name), 2, false) => show(call, name).await,
        _ => call.not_found(),
    }
}

/// A forward-auth rule's policy (its name in the configuration), in words.
fn policy_words(policy: &str) -> String {
    match policy {
        "bypass" => copy::t(copy::Msg("admin-group-policy-bypass")),
        "one_factor" => copy::t(copy::Msg("admin-group-policy-one-factor")),
        "two_factor" => copy::t(copy::Msg("admin-group-policy-two-factor")),
        "deny" => copy::t(copy::Msg("admin-group-policy-deny")),
        other => other.to_owned(),
    }
}

fn members_words(n: u64) -> String {
    copy::html(
        copy::Msg("admin-group-members-count"),
        &[("count", copy::Value::Number(n))],
    )
}

async fn list(call: &Call<'_>) -> Response {
    let groups = match call.run(GroupsList {}).await {
        Ok(g) => g,
        Err(e) => return call.failed(&e),
    };
    let page = GroupsPage {
        chrome: call.chrome(Section::Groups),
        groups: groups
            .iter()
            .map(|g| {
                (
                    format!("/admin/groups/{}", segment(&g.name)),
                    g.name.clone(),
                    members_words(g.members),
                )
            })
            .collect(),
    };
    call.page(&page, StatusCode::OK)
}

async fn show(call: &Call<'_>, name: &str) -> Response {
    let after = call.query.filled("after").map(str::to_owned);
    let command = GroupShow {
        group: name.to_owned(),
        after: after.clone(),
        limit: Some(PAGE),
    };
    let group = match call.run(command).await {
        Ok(g) => g,
        Err(e) => return call.failed(&e),
    };
    let base = format!("/admin/groups/{}", segment(&group.name));
    let rules = group
        .rules
        .iter()
        .map(|r| {
            let number = u64::try_from(r.number).unwrap_or(u64::MAX);
            copy::html(
                copy::Msg("admin-group-rule-line"),
                &[
                    ("number", copy::Value::Number(number)),
                    ("domains", copy::Value::Strong(&r.domains.join(", "))),
                    ("policy", copy::Value::Text(&policy_words(&r.policy))),
                ],
            )
        })
        .collect();
    let page = GroupPage {
        chrome: call.chrome(Section::Groups),
        members: group
            .members
            .items
            .iter()
            .map(|u| MemberRow {
                href: format!("/admin/users/{}", segment(&u.username)),
                username: u.username.clone(),
                name: u.name.clone().unwrap_or_default(),
                email: u.email.clone().unwrap_or_default(),
            })
            .collect(),
        next: group
            .members
            .next
            .as_deref()
            .map(|n| href(&base, &[("after", n)])),
        first: after.map(|_| base.clone()),
        clients: group
            .clients
            .iter()
            .map(|c| {
                (
                    format!("/admin/clients/{}", segment(&c.client_id)),
                    c.name.clone(),
                    c.client_id.clone(),
                )
            })
            .collect(),
        rules,
        name: group.name,
    };
    call.page(&page, StatusCode::OK)
}
