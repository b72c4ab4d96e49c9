//! `/admin/keys`: the signing keys with their ages, and rotation (a fresh sign-in first), which
//! shows the retirement date of the key it replaced.

use poem::Response;
use poem::http::StatusCode;

use super::{Call, Chrome, Section, copy, filters};
use crate::domain::Timestamp;
use crate::service::admin::{KeysList, KeysRotate};
use crate::service::views::{KeyStatus, KeyView};
use crate::web::i18n;

#[derive(askama::Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    chrome: Chrome,
    notice: Option<String>,
    /// Each key: kid, algorithm, status words, created, age in days, retirement date.
    keys: Vec<KeyRow>,
}

struct KeyRow {
    kid: String,
    alg: String,
    status: String,
    active: bool,
    created: String,
    age: String,
    retire: String,
}

/// How many whole days lie between `from` and `now`.
pub(super) fn days_between(from: u64, now: Timestamp) -> u64 {
    now.0.saturating_sub(from) / 86_400
}

fn row(k: &KeyView, now: Timestamp) -> KeyRow {
    let status = copy::t(copy::Msg(match k.status {
        KeyStatus::Active => "admin-key-active",
        KeyStatus::Retiring => "admin-key-retiring",
        KeyStatus::Retired => "admin-key-retired",
    }));
    let days = days_between(k.created_at, now);
    KeyRow {
        kid: k.kid.clone(),
        alg: k.alg.clone(),
        status,
        active: k.status == KeyStatus::Active,
        created: i18n::date_time(Timestamp(k.created_at)),
        age: copy::html(copy::Msg("admin-days"), &[("count", copy::Value::Number(days))]),
        retire: k
            .retire_at
            .map(|t| i18n::date_time(Timestamp(t)))
            .unwrap_or_default(),
    }
}

pub async fn route(call: &Call<'_>) -> Response {
    match (call.path.get(1).map(String::as_str), call.is_post()) {
        (None, false) => show(call).await,
        (Some("rotate"), true) => rotate(call).await,
        _ => call.not_found(),
    }
}

async fn show(call: &Call<'_>) -> Response {
    let keys = match call.run(KeysList {}).await {
        Ok(k) => k,
        Err(e) => return call.failed(&e),
    };
    let now = call.app.clock.now();
    // After a rotation: the retirement date of the key it replaced.
    let notice = match call.query.get("rotated") {
        Some(_) => keys.iter().find(|k| k.status == KeyStatus::Retiring).map(|old| {
            copy::html(
                copy::Msg("admin-key-rotated"),
                &[
                    ("kid", copy::Value::Strong(&old.kid)),
                    (
                        "date",
                        copy::Value::Text(
                            &old.retire_at
                                .map(|t| i18n::date_time(Timestamp(t)))
                                .unwrap_or_default(),
                        ),
                    ),
                ],
            )
        }),
        None => None,
    };
    let page = KeysPage {
        chrome: call.chrome(Section::Keys),
        notice,
        keys: keys.iter().map(|k| row(k, now)).collect(),
    };
    call.page(&page, StatusCode::OK)
}

async fn rotate(call: &Call<'_>) -> Response {
    if let Some(again) = call.require_fresh("/admin/keys") {
        return again;
    }
    match call.run(KeysRotate {}).await {
        Ok(_) => call.done("/admin/keys?rotated=1"),
        Err(e) => call.failed(&e),
    }
}
