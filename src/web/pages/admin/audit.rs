//! `/admin/audit`: the audit feed, oldest first, filtered by actor, action, outcome and a range
//! of dates (UTC), a page at a time; a page reads a bounded part of the feed and links to the
//! next.

use poem::Response;
use poem::http::StatusCode;

use super::{Call, Chrome, Section, copy, filters, href};
use crate::domain::Timestamp;
use crate::service::admin::AuditList;
use crate::service::audit::AuditFilter;
use crate::web::i18n;

/// How many entries a page shows.
const PAGE: usize = 100;

struct Row {
    time: String,
    actor: String,
    action: String,
    target: String,
    ip: String,
    success: bool,
    count: u64,
}

/// The filter form as sent, to fill it in again.
#[derive(Default)]
struct Asked {
    actor: String,
    action: String,
    outcome: String,
    from: String,
    to: String,
}

#[derive(askama::Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    asked: Asked,
    error: Option<String>,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
}

pub async fn route(call: &Call<'_>) -> Response {
    match (call.path.get(1), call.is_post()) {
        (None, false) => show(call).await,
        _ => call.not_found(),
    }
}

/// The days since 1970-01-01 of a `YYYY-MM-DD` date (the proleptic Gregorian calendar).
pub(super) fn parse_date(text: &str) -> Option<u64> {
    let mut parts = text.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let month_days = *days_in.get(usize::try_from(m - 1).ok()?)?;
    if !(1970..=9999).contains(&y) || d < 1 || d > month_days {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u64::try_from(era * 146_097 + doe - 719_468).ok()
}

async fn show(call: &Call<'_>) -> Response {
    let q = &call.query;
    let asked = Asked {
        actor: q.filled("actor").unwrap_or("").to_owned(),
        action: q.filled("action").unwrap_or("").to_owned(),
        outcome: q.filled("outcome").unwrap_or("").to_owned(),
        from: q.filled("from").unwrap_or("").to_owned(),
        to: q.filled("to").unwrap_or("").to_owned(),
    };
    let mut bad_date = false;
    let mut day = |text: &str| -> Option<u64> {
        if text.is_empty() {
            return None;
        }
        let parsed = parse_date(text);
        bad_date |= parsed.is_none();
        parsed
    };
    let from = day(&asked.from).map(|d| d * 86_400);
    // The range ends with the whole of its last day.
    let to = day(&asked.to).map(|d| (d + 1) * 86_400);
    let filter = AuditFilter {
        actor: (!asked.actor.is_empty()).then(|| asked.actor.clone()),
        action: (!asked.action.is_empty()).then(|| asked.action.clone()),
        success: match asked.outcome.as_str() {
            "success" => Some(true),
            "failure" => Some(false),
            _ => None,
        },
        from,
        to,
    };
    let after = q.filled("after").map(str::to_owned);
    let paged = after.is_some();
    let page = match call
        .run(AuditList {
            after,
            limit: Some(PAGE),
            filter,
        })
        .await
    {
        Ok(p) => p,
        Err(e) => return call.failed(&e),
    };
    let keep = [
        ("actor", asked.actor.as_str()),
        ("action", asked.action.as_str()),
        ("outcome", asked.outcome.as_str()),
        ("from", asked.from.as_str()),
        ("to", asked.to.as_str()),
    ];
    let next = page.next.map(|n| {
        let mut query = keep.to_vec();
        query.push(("after", &n));
        href("/admin/audit", &query)
    });
    let rows = page
        .items
        .into_iter()
        .map(|e| Row {
            time: i18n::date_time(Timestamp(e.time)),
            actor: e.actor,
            action: e.action,
            target: e.target.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            success: e.success,
            count: e.count,
        })
        .collect();
    let view = AuditPage {
        chrome: call.chrome(Section::Audit),
        error: bad_date.then(|| copy::t(copy::Msg("admin-audit-bad-date"))),
        first: paged.then(|| href("/admin/audit", &keep)),
        asked,
        rows,
        next,
    };
    call.page(&view, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates_count_days_from_the_epoch_and_impossible_ones_are_refused() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2027-01-15"), Some(1_800_000_000 / 86_400));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }
}
