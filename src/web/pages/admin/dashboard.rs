//! `/admin`: the dashboard. Counts of users, clients and sessions; the last day's sign-ins by
//! hour as a chart drawn on the server (inline SVG, no script, with a table of the same figures);
//! the signing keys with their ages; and warnings about what Latchkey can tell is wrong: a data
//! file others can read, no backup in the last week.

use poem::Response;
use poem::http::StatusCode;

use super::keys::days_between;
use super::{Call, Chrome, Section, copy, filters};
use crate::service::admin::{Dashboard, DashboardView, HourCount, KeysList};
use crate::service::views::KeyStatus;

/// The chart's drawing area, in SVG units.
const CHART_HEIGHT: u64 = 140;
const BAR_STEP: u64 = 34;
const BAR_WIDTH: u64 = 24;
const LEFT: u64 = 34;
const TOP: u64 = 10;

/// One hour of the chart: its bars and its words.
struct Bar {
    x: u64,
    ok_y: u64,
    ok_h: u64,
    fail_y: u64,
    fail_h: u64,
    label: String,
    /// The hour's label under the axis (every sixth hour).
    tick: Option<String>,
    hour: String,
    succeeded: u64,
    failed: u64,
}

struct KeyRow {
    kid: String,
    alg: String,
    status: String,
    age: String,
}

#[derive(askama::Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    users: u64,
    clients: u64,
    sessions: u64,
    warnings: Vec<String>,
    bars: Vec<Bar>,
    peak: u64,
    chart_label: String,
    totals: String,
    width: u64,
    base: u64,
    bar_width: u64,
    keys: Vec<KeyRow>,
}

pub async fn route(call: &Call<'_>) -> Response {
    match (call.path.len(), call.is_post()) {
        (0, false) => show(call).await,
        _ => call.not_found(),
    }
}

/// The hour of the day (UTC) an hour starts at, as `HH:00`.
fn hour_of(start: u64) -> String {
    format!("{:02}:00", (start % 86_400) / 3_600)
}

/// The bars of the chart, scaled so that the busiest hour fills its height.
fn bars(hours: &[HourCount]) -> (Vec<Bar>, u64) {
    let peak = hours
        .iter()
        .map(|h| h.succeeded.saturating_add(h.failed))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: u64| n.saturating_mul(CHART_HEIGHT).div_ceil(peak).min(CHART_HEIGHT);
    let base = TOP + CHART_HEIGHT;
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let ok_h = scale(h.succeeded);
            let fail_h = scale(h.failed).min(CHART_HEIGHT - ok_h);
            let hour = hour_of(h.start);
            Bar {
                x: LEFT + i as u64 * BAR_STEP,
                ok_y: base - ok_h,
                ok_h,
                fail_y: base - ok_h - fail_h,
                fail_h,
                label: crate::web::i18n::text(
                    "admin-dashboard-hour",
                    &[
                        ("hour", copy::Value::Text(&hour)),
                        ("succeeded", copy::Value::Number(h.succeeded)),
                        ("failed", copy::Value::Number(h.failed)),
                    ],
                ),
                tick: (i % 6 == 0).then(|| hour.clone()),
                hour,
                succeeded: h.succeeded,
                failed: h.failed,
            }
        })
        .collect();
    (bars, peak)
}

fn warnings(d: &DashboardView) -> Vec<String> {
    let mut out: Vec<String> = d
        .exposed
        .iter()
        .map(|e| {
            let mode = format!("{:04o}", e.mode);
            copy::html(
                copy::Msg(if e.is_dir {
                    "admin-dashboard-exposed-dir"
                } else {
                    "admin-dashboard-exposed-file"
                }),
                &[
                    ("path", copy::Value::Strong(&e.path)),
                    ("mode", copy::Value::Text(&mode)),
                ],
            )
        })
        .collect();
    if !d.backup_checked {
        out.push(copy::t(copy::Msg("admin-dashboard-backup-unknown")));
    } else if d.last_backup.is_none() {
        out.push(copy::t(copy::Msg("admin-dashboard-no-backup")));
    }
    if !d.sign_ins_complete {
        out.push(copy::t(copy::Msg("admin-dashboard-chart-partial")));
    }
    out
}

async fn show(call: &Call<'_>) -> Response {
    let d = match call.run(Dashboard {}).await {
        Ok(d) => d,
        Err(e) => return call.failed(&e),
    };
    let keys = match call.run(KeysList {}).await {
        Ok(k) => k,
        Err(e) => return call.failed(&e),
    };
    let now = call.app.clock.now();
    let (bars, peak) = bars(&d.sign_ins);
    let (ok, failed) = d.sign_ins.iter().fold((0u64, 0u64), |(o, f), h| {
        (o.saturating_add(h.succeeded), f.saturating_add(h.failed))
    });
    let totals = crate::web::i18n::text(
        "admin-dashboard-totals",
        &[
            ("succeeded", copy::Value::Number(ok)),
            ("failed", copy::Value::Number(failed)),
        ],
    );
    let keys = keys
        .iter()
        .filter(|k| k.status != KeyStatus::Retired)
        .map(|k| KeyRow {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            status: copy::t(copy::Msg(match k.status {
                KeyStatus::Active => "admin-key-active",
                KeyStatus::Retiring => "admin-key-retiring",
                KeyStatus::Retired => "admin-key-retired",
            })),
            age: copy::html(
                copy::Msg("admin-days"),
                &[("count", copy::Value::Number(days_between(k.created_at, now)))],
            ),
        })
        .collect();
    let page = DashboardPage {
        chrome: call.chrome(Section::Dashboard),
        users: d.users,
        clients: d.clients,
        sessions: d.sessions,
        warnings: warnings(&d),
        chart_label: copy::text(copy::Msg("admin-dashboard-chart-label"), &[("totals", &totals)]),
        totals,
        width: LEFT + BAR_STEP * bars.len() as u64 + 4,
        base: TOP + CHART_HEIGHT,
        bar_width: BAR_WIDTH,
        bars,
        peak,
        keys,
    };
    call.page(&page, StatusCode::OK)
}
