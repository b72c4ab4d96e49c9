//! `/admin/sessions`: every user's live sessions, a page at a time (paged on the server by
//! username), with who, when, how and until when; each can be ended (a fresh sign-in first).

use poem::Response;
use poem::http::StatusCode;

use super::{Call, Chrome, Section, copy, filters, href};
use crate::domain::Timestamp;
use crate::service::admin::{SessionsAll, SessionsRevoke};
use crate::web::i18n;

/// How many sessions a page shows (a page holds every session of the users it covers).
const PAGE: usize = 50;

struct Row {
    username: String,
    sid: String,
    created: String,
    signed_in: String,
    methods: String,
    expires: String,
    current: bool,
}

#[derive(askama::Template)]
#[template(path = "admin/sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    notice: Option<String>,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<&'static str>,
}

pub async fn route(call: &Call<'_>) -> Response {
    match (call.path.get(1).map(String::as_str), call.is_post()) {
        (None, false) => show(call).await,
        (Some("revoke"), true) => revoke(call).await,
        _ => call.not_found(),
    }
}

async fn show(call: &Call<'_>) -> Response {
    let after = call.query.filled("after").map(str::to_owned);
    let paged = after.is_some();
    let page = match call
        .run(SessionsAll {
            after,
            limit: Some(PAGE),
        })
        .await
    {
        Ok(p) => p,
        Err(e) => return call.failed(&e),
    };
    let mine = &call.admitted.session.sid;
    let rows = page
        .items
        .into_iter()
        .map(|s| {
            let methods: Vec<String> = s
                .session
                .amr
                .iter()
                .filter_map(|m| copy::describe_method(m))
                .collect();
            Row {
                current: s.session.sid == *mine,
                username: s.username,
                created: i18n::date_time(Timestamp(s.session.created_at)),
                signed_in: i18n::date_time(Timestamp(s.session.auth_time)),
                methods: i18n::and_list(&methods),
                expires: i18n::date_time(Timestamp(s.session.expires_at)),
                sid: s.session.sid,
            }
        })
        .collect();
    let notice = call.query.get("revoked").map(|user| {
        copy::html(
            copy::Msg("admin-session-revoked"),
            &[("user", copy::Value::Strong(user))],
        )
    });
    let view = SessionsPage {
        chrome: call.chrome(Section::Sessions),
        notice,
        rows,
        next: page.next.map(|n| href("/admin/sessions", &[("after", &n)])),
        first: paged.then_some("/admin/sessions"),
    };
    call.page(&view, StatusCode::OK)
}

async fn revoke(call: &Call<'_>) -> Response {
    if let Some(again) = call.require_fresh("/admin/sessions") {
        return again;
    }
    let f = call.form();
    let (Some(user), Some(sid)) = (f.filled("user"), f.filled("sid")) else {
        return call.not_found();
    };
    match call
        .run(SessionsRevoke {
            user: user.to_owned(),
            sid: Some(sid.to_owned()),
        })
        .await
    {
        Ok(_) => call.done(&href("/admin/sessions", &[("revoked", user)])),
        Err(e) => call.failed(&e),
    }
}
