//! `/admin/clients`: the clients, a form that registers one (its secret shown once, on the answer
//! page, never again), and each client's page: its settings to edit, a new secret (a fresh
//! sign-in first, shown once), and deletion after a confirmation page (a fresh sign-in first).
//! A client declared in `identity.toml` is shown read-only: it is changed in the file, and the
//! service refuses every change to it whatever the form posts.

use poem::Response;
use poem::http::StatusCode;

use super::{Call, Chrome, Confirm, Fields, Section, copy, filters, href, segment};
use crate::domain::{ClientSource, GrantType, IdTokenAlg, Timestamp};
use crate::service::admin::{
    ClientAdd, ClientDelete, ClientList, ClientRotateSecret, ClientShow, ClientUpdate,
};
use crate::service::clients::{ClientUpdate as Change, NewClient};
use crate::service::views::{ClientCreated, ClientView};
use crate::web::i18n;

/// One row of the list.
struct Row {
    id: String,
    href: String,
    name: String,
    kind: String,
    declared: bool,
    redirects: String,
    created: String,
}

#[derive(askama::Template)]
#[template(path = "admin/clients.html")]
struct ListPage {
    chrome: Chrome,
    notice: Option<String>,
    rows: Vec<Row>,
    grants: Vec<Choice>,
    algs: Vec<Choice>,
}

/// A checkbox or an option: its value, its words, and whether it is chosen.
struct Choice {
    value: &'static str,
    label: String,
    chosen: bool,
}

#[derive(askama::Template)]
#[template(path = "admin/client.html")]
struct ClientPage {
    chrome: Chrome,
    notice: Option<String>,
    c: ClientView,
    declared: bool,
    action: String,
    rotate: String,
    delete: String,
    kind: String,
    created: String,
    redirect_uris: String,
    scopes: String,
    groups: String,
    grants: Vec<Choice>,
    grant_words: String,
    algs: Vec<Choice>,
    post_logout_uris: String,
    backchannel: String,
    two_factors: bool,
    launch_url: String,
    icon: String,
}

#[derive(askama::Template)]
#[template(path = "admin/client_secret.html")]
struct SecretPage {
    chrome: Chrome,
    title: String,
    lead: String,
    secret: String,
    back: String,
}

pub async fn route(call: &Call<'_>) -> Response {
    let id = call.path.get(1).map(String::as_str);
    match (id, call.path.get(2).map(String::as_str), call.is_post()) {
        (None, None, false) => list(call).await,
        (None, None, true) => create(call).await,
        (Some(id), None, false) => show(call, id).await,
        (Some(id), None, true) => update(call, id).await,
        (Some(id), Some("rotate"), true) => rotate(call, id).await,
        (Some(id), Some("delete"), false) => confirm_delete(call, id).await,
        (Some(id), Some("delete"), true) => delete(call, id).await,
        _ => call.not_found(),
    }
}

fn kind(public: bool) -> String {
    copy::t(copy::Msg(if public {
        "admin-client-public-short"
    } else {
        "admin-client-confidential-short"
    }))
}

fn grant_label(g: GrantType) -> String {
    copy::t(copy::Msg(match g {
        GrantType::AuthorizationCode => "admin-client-grant-code",
        GrantType::RefreshToken => "admin-client-grant-refresh",
        GrantType::ClientCredentials => "admin-client-grant-client-credentials",
        GrantType::Password => "admin-client-grant-password",
    }))
}

fn grant_choices(chosen: &[GrantType]) -> Vec<Choice> {
    GrantType::ALL
        .into_iter()
        .map(|g| Choice {
            value: g.as_str(),
            label: grant_label(g),
            chosen: chosen.contains(&g),
        })
        .collect()
}

fn alg_choices(chosen: IdTokenAlg) -> Vec<Choice> {
    IdTokenAlg::ALL
        .into_iter()
        .map(|a| Choice {
            value: a.as_str(),
            label: a.as_str().to_owned(),
            chosen: a == chosen,
        })
        .collect()
}

fn client_href(id: &str) -> String {
    format!("/admin/clients/{}", segment(id))
}

/// The words of a field that lists names: separated by spaces or commas.
fn words(fields: &Fields, name: &str) -> Vec<String> {
    fields
        .get(name)
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The ticked grant types; unknown values are left out (the form offers only known ones).
fn grants(fields: &Fields) -> Vec<GrantType> {
    fields
        .all("grant_types")
        .into_iter()
        .filter_map(|g| g.parse().ok())
        .collect()
}

fn factors(fields: &Fields) -> Option<u8> {
    match fields.get("require_factors") {
        Some("2") => Some(2),
        Some("1") => Some(1),
        _ => None,
    }
}

async fn list(call: &Call<'_>) -> Response {
    let clients = match call.run(ClientList {}).await {
        Ok(c) => c,
        Err(e) => return call.failed(&e),
    };
    let notice = call.query.get("deleted").map(|id| {
        copy::html(
            copy::Msg("admin-client-deleted"),
            &[("client", copy::Value::Strong(id))],
        )
    });
    let rows = clients
        .iter()
        .map(|c| Row {
            id: c.client_id.clone(),
            href: client_href(&c.client_id),
            name: c.name.clone(),
            kind: kind(c.public),
            declared: c.source == ClientSource::Config,
            redirects: c.redirect_uris.join(" "),
            created: i18n::date_time(Timestamp(c.created_at)),
        })
        .collect();
    let page = ListPage {
        chrome: call.chrome(Section::Clients),
        notice,
        rows,
        grants: grant_choices(&[GrantType::AuthorizationCode, GrantType::RefreshToken]),
        algs: alg_choices(IdTokenAlg::default()),
    };
    call.page(&page, StatusCode::OK)
}

/// The answer page of a new secret: the only time it is shown.
fn secret_page(
    call: &Call<'_>,
    created: &ClientCreated,
    title: &'static str,
    lead: &'static str,
) -> Response {
    let Some(secret) = &created.client_secret else {
        // A public client has no secret: its page is the answer.
        return call.done(&client_href(&created.client.client_id));
    };
    let page = SecretPage {
        chrome: call.chrome(Section::Clients),
        title: copy::t(copy::Msg(title)),
        lead: copy::html(
            copy::Msg(lead),
            &[("client", copy::Value::Strong(&created.client.client_id))],
        ),
        secret: secret.clone(),
        back: client_href(&created.client.client_id),
    };
    call.page(&page, StatusCode::OK)
}

async fn create(call: &Call<'_>) -> Response {
    let f = call.form();
    let new = NewClient {
        client_id: f.filled("client_id").unwrap_or("").to_owned(),
        name: f.filled("name").map(str::to_owned),
        redirect_uris: f.lines("redirect_uris"),
        public: f.get("kind") == Some("public"),
        first_party: f.checked("first_party"),
        grant_types: grants(f),
        scopes: words(f, "scopes"),
        id_token_signed_response_alg: f.get("alg").and_then(|a| a.parse().ok()),
        post_logout_redirect_uris: f.lines("post_logout_redirect_uris"),
        backchannel_logout_uri: f.filled("backchannel_logout_uri").map(str::to_owned),
        require_factors: factors(f),
        allowed_groups: words(f, "allowed_groups"),
        launch_url: f.filled("launch_url").map(str::to_owned),
        icon: f.filled("icon").map(str::to_owned),
        ..NewClient::default()
    };
    match call.run(ClientAdd { client: new }).await {
        Ok(created) => secret_page(
            call,
            &created,
            "admin-client-created-title",
            "admin-client-created",
        ),
        Err(e) => call.failed(&e),
    }
}

async fn show(call: &Call<'_>, id: &str) -> Response {
    let c = match call
        .run(ClientShow {
            client_id: id.to_owned(),
        })
        .await
    {
        Ok(c) => c,
        Err(e) => return call.failed(&e),
    };
    let notice = call
        .query
        .get("saved")
        .map(|_| copy::t(copy::Msg("admin-client-saved")));
    let page = ClientPage {
        chrome: call.chrome(Section::Clients),
        notice,
        declared: c.source == ClientSource::Config,
        action: client_href(&c.client_id),
        rotate: format!("{}/rotate", client_href(&c.client_id)),
        delete: format!("{}/delete", client_href(&c.client_id)),
        kind: kind(c.public),
        created: i18n::date_time(Timestamp(c.created_at)),
        redirect_uris: c.redirect_uris.join("\n"),
        scopes: c.scopes.join(" "),
        groups: c.allowed_groups.join(" "),
        grants: grant_choices(&c.grant_types),
        grant_words: i18n::and_list(&c.grant_types.iter().map(|g| grant_label(*g)).collect::<Vec<_>>()),
        two_factors: c.require_factors == 2,
        algs: alg_choices(c.id_token_signed_response_alg),
        post_logout_uris: c.post_logout_redirect_uris.join("\n"),
        backchannel: c.backchannel_logout_uri.clone().unwrap_or_default(),
        launch_url: c.launch_url.clone().unwrap_or_default(),
        icon: c.icon.clone().unwrap_or_default(),
        c,
    };
    call.page(&page, StatusCode::OK)
}

async fn update(call: &Call<'_>, id: &str) -> Response {
    let f = call.form();
    let change = Change {
        name: f.filled("name").map(str::to_owned),
        redirect_uris: Some(f.lines("redirect_uris")),
        grant_types: Some(grants(f)),
        scopes: Some(words(f, "scopes")),
        first_party: Some(f.checked("first_party")),
        require_factors: factors(f),
        allowed_groups: Some(words(f, "allowed_groups")),
        launch_url: Some(f.get("launch_url").unwrap_or("").trim().to_owned()),
        icon: Some(f.get("icon").unwrap_or("").trim().to_owned()),
        id_token_signed_response_alg: f.get("alg").and_then(|a| a.parse().ok()),
        post_logout_redirect_uris: Some(f.lines("post_logout_redirect_uris")),
        backchannel_logout_uri: Some(f.get("backchannel_logout_uri").unwrap_or("").trim().to_owned()),
        ..Change::default()
    };
    match call
        .run(ClientUpdate {
            client_id: id.to_owned(),
            change,
        })
        .await
    {
        Ok(c) => call.done(&href(&client_href(&c.client_id), &[("saved", "1")])),
        Err(e) => call.failed(&e),
    }
}

async fn rotate(call: &Call<'_>, id: &str) -> Response {
    if let Some(again) = call.require_fresh(&client_href(id)) {
        return again;
    }
    match call
        .run(ClientRotateSecret {
            client_id: id.to_owned(),
        })
        .await
    {
        Ok(created) => secret_page(
            call,
            &created,
            "admin-client-rotated-title",
            "admin-client-rotated",
        ),
        Err(e) => call.failed(&e),
    }
}

async fn confirm_delete(call: &Call<'_>, id: &str) -> Response {
    let c = match call
        .run(ClientShow {
            client_id: id.to_owned(),
        })
        .await
    {
        Ok(c) => c,
        Err(e) => return call.failed(&e),
    };
    let title = copy::t(copy::Msg("admin-client-delete-title"));
    let text = copy::html(
        copy::Msg("admin-client-delete-confirm"),
        &[("client", copy::Value::Strong(&c.client_id))],
    );
    let action = format!("{}/delete", client_href(&c.client_id));
    let button = copy::t(copy::Msg("admin-client-delete"));
    let back = client_href(&c.client_id);
    call.confirm(
        Section::Clients,
        Confirm {
            title: &title,
            text: &text,
            action: &action,
            fields: &[],
            button: &button,
            back: &back,
        },
    )
}

async fn delete(call: &Call<'_>, id: &str) -> Response {
    if call.form().get("confirm") != Some("yes") {
        return confirm_delete(call, id).await;
    }
    let back = format!("{}/delete", client_href(id));
    if let Some(again) = call.require_fresh(&back) {
        return again;
    }
    match call
        .run(ClientDelete {
            client_id: id.to_owned(),
        })
        .await
    {
        Ok(c) => call.done(&href("/admin/clients", &[("deleted", &c.client_id)])),
        Err(e) => call.failed(&e),
    }
}
