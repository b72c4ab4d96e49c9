//! Prometheus metrics: the one registry of the process and a typed recording function for each
//! figure, called by `web` (HTTP requests), `service` (token outcomes, sign-ins, throttles, the
//! hashing queue, forward-auth, audit losses) and the store's engine (group commits). Nothing
//! here knows HTTP: `web` serves [`render`]'s text at `GET /metrics`.
//!
//! Recording is off until [`enable`] installs the registry (`serve` does when `[metrics]
//! enabled` is true): every recording function starts with one atomic load of a `OnceLock` and
//! returns when it is empty, so a server with metrics off pays next to nothing. Every label
//! value is a `&'static str` from a fixed set (a route-table pattern, a grant, a reason code),
//! so no client input adds a series.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`render`]'s text (the OpenMetrics text format, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    grant: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    method: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThrottleLabels {
    throttle: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// Every metric of the process.
struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    token_requests: Family<TokenLabels, Counter>,
    sign_ins: Family<SignInLabels, Counter>,
    commit_batch: Histogram,
    commit_duration: Histogram,
    hashing_queue: Gauge,
    hashing_wait: Histogram,
    throttle_refusals: Family<ThrottleLabels, Counter>,
    audit_dropped: Family<ReasonLabels, Counter>,
    forward_auth: Family<DecisionLabels, Counter>,
    resident_memory: Gauge,
    sessions: Gauge,
    grants: Gauge,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("latchkey");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            http_requests.clone(),
        );
        let http_duration: Histograms<RouteLabels> = Family::new_with_constructor(latency);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its response, by route pattern",
            http_duration.clone(),
        );
        let token_requests = Family::<TokenLabels, Counter>::default();
        registry.register(
            "token_requests",
            "Token endpoint answers, by grant type and outcome (issued or the refusal's reason)",
            token_requests.clone(),
        );
        let sign_ins = Family::<SignInLabels, Counter>::default();
        registry.register(
            "sign_ins",
            "Sign-in steps, by method and outcome",
            sign_ins.clone(),
        );
        let commit_batch = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "store_commit_batch_size",
            "Write jobs carried by one group commit",
            commit_batch.clone(),
        );
        let commit_duration = Histogram::new(exponential_buckets(0.000_1, 2.0, 15));
        registry.register(
            "store_commit_duration_seconds",
            "Time of one group commit: the jobs' work and the durable commit",
            commit_duration.clone(),
        );
        let hashing_queue = Gauge::default();
        registry.register(
            "hashing_queue_depth",
            "Password hashing jobs waiting for a hashing thread",
            hashing_queue.clone(),
        );
        let hashing_wait = Histogram::new(exponential_buckets(0.000_5, 2.0, 14));
        registry.register(
            "hashing_wait_seconds",
            "Time a password hashing job waited for a hashing thread",
            hashing_wait.clone(),
        );
        let throttle_refusals = Family::<ThrottleLabels, Counter>::default();
        registry.register(
            "throttle_refusals",
            "Attempts refused by a throttle before any check, by throttle",
            throttle_refusals.clone(),
        );
        let audit_dropped = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "audit_entries_dropped",
            "Audit entries that could not be written, by reason",
            audit_dropped.clone(),
        );
        let forward_auth = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "forward_auth_decisions",
            "Forward-auth answers to a reverse proxy, by decision",
            forward_auth.clone(),
        );
        let resident_memory = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the server process",
            resident_memory.clone(),
        );
        let sessions = Gauge::default();
        registry.register(
            "sessions",
            "Browser sessions stored (expired ones until the purge deletes them)",
            sessions.clone(),
        );
        let grants = Gauge::default();
        registry.register(
            "grants",
            "Grants stored (a refresh token family each)",
            grants.clone(),
        );
        // The series of fixed label sets exist from the start, at zero, so that dashboards and
        // `rate()` see them before the first event.
        for throttle in ["password", "secret", "setup", "bearer", "upstream", "factor"] {
            let _ = throttle_refusals.get_or_create(&ThrottleLabels { throttle });
        }
        for reason in ["write_failed", "key_failed"] {
            let _ = audit_dropped.get_or_create(&ReasonLabels { reason });
        }
        for decision in ["allow", "deny", "redirect"] {
            let _ = forward_auth.get_or_create(&DecisionLabels { decision });
        }
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: env!("LATCHKEY_COMMIT"),
            })
            .set(1);
        registry.register("build_info", "The server's version and commit; always 1", build);
        Metrics {
            registry,
            http_requests,
            http_duration,
            token_requests,
            sign_ins,
            commit_batch,
            commit_duration,
            hashing_queue,
            hashing_wait,
            throttle_refusals,
            audit_dropped,
            forward_auth,
            resident_memory,
            sessions,
            grants,
        }
    }
}

/// Turns recording on for the rest of the process. Calling it again changes nothing.
pub fn enable() {
    METRICS.get_or_init(Metrics::new);
}

/// Whether recording is on.
pub fn enabled() -> bool {
    METRICS.get().is_some()
}

fn with<T>(f: impl FnOnce(&Metrics) -> T) {
    if let Some(m) = METRICS.get() {
        let _ = f(m);
    }
}

/// The store figures read at each scrape (from lengths the store keeps, never a scan).
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub sessions: u64,
    pub grants: u64,
}

/// The metrics as text, with the gauges read now; `None` when recording is off.
pub fn render(snapshot: Snapshot) -> Option<String> {
    let m = METRICS.get()?;
    m.sessions.set(gauge_value(snapshot.sessions));
    m.grants.set(gauge_value(snapshot.grants));
    if let Some(bytes) = resident_memory() {
        m.resident_memory.set(gauge_value(bytes));
    }
    let mut out = String::new();
    match prometheus_client::encoding::text::encode(&mut out, &m.registry) {
        Ok(()) => Some(out),
        Err(_) => None,
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The process's resident memory, from `VmRSS` in `/proc/self/status` (in kB there). It is
/// the figure of `/proc/self/statm`'s second field, but needs no page size (and so no `libc`
/// call, which `unsafe_code = "forbid"` rules out). `None` off Linux.
fn resident_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// One HTTP request answered: `route` is the route table's pattern (or `unknown`), `method`
/// one of the standard methods (or `other`).
pub fn http_request(route: &'static str, method: &'static str, status: u16, seconds: f64) {
    with(|m| {
        m.http_requests
            .get_or_create(&HttpLabels {
                route,
                method,
                status,
            })
            .inc();
        m.http_duration
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    });
}

/// One token endpoint answer: `grant` is a grant type from a fixed list (or `unknown`),
/// `outcome` `issued` or the refusal's reason (an RFC 6749 error code, `replay_revoked`,
/// `throttled`, `unavailable`).
pub fn token_request(grant: &'static str, outcome: &'static str) {
    with(|m| {
        m.token_requests
            .get_or_create(&TokenLabels { grant, outcome })
            .inc()
    });
}

/// How a sign-in step proved something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    /// A password: the login form's or the resource-owner password grant's.
    Password,
    /// A passkey (first factor or second).
    Passkey,
    /// An upstream provider's callback.
    Upstream,
    /// A TOTP code as the second factor.
    Totp,
    /// A recovery code as the second factor.
    Recovery,
}

impl SignInMethod {
    fn label(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Passkey => "passkey",
            SignInMethod::Upstream => "upstream",
            SignInMethod::Totp => "totp",
            SignInMethod::Recovery => "recovery",
        }
    }
}

/// How a sign-in step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    /// The step succeeded (the sign-in may still need a second factor).
    Success,
    /// The credential was wrong, unknown or refused.
    Failure,
    /// A throttle refused the attempt before any check.
    Throttled,
}

impl SignInOutcome {
    fn label(self) -> &'static str {
        match self {
            SignInOutcome::Success => "success",
            SignInOutcome::Failure => "failure",
            SignInOutcome::Throttled => "throttled",
        }
    }
}

/// One sign-in step.
pub fn sign_in(method: SignInMethod, outcome: SignInOutcome) {
    with(|m| {
        m.sign_ins
            .get_or_create(&SignInLabels {
                method: method.label(),
                outcome: outcome.label(),
            })
            .inc();
    });
}

/// One group commit of `jobs` write jobs that took `seconds` (work and commit).
pub fn commit(jobs: usize, seconds: f64) {
    with(|m| {
        m.commit_batch.observe(jobs as f64);
        m.commit_duration.observe(seconds);
    });
}

/// A password hashing job entered the queue.
pub fn hashing_queued() {
    with(|m| {
        m.hashing_queue.inc();
    });
}

/// A password hashing job left the queue for a thread after waiting `seconds`.
pub fn hashing_started(seconds: f64) {
    with(|m| {
        m.hashing_queue.dec();
        m.hashing_wait.observe(seconds);
    });
}

/// A throttle (`password`, `secret`, `setup`, `bearer`, `upstream`, `factor`) refused an attempt.
pub fn throttle_refusal(throttle: &'static str) {
    with(|m| {
        m.throttle_refusals
            .get_or_create(&ThrottleLabels { throttle })
            .inc()
    });
}

/// Why audit entries were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditLoss {
    /// The write (a group commit) failed.
    WriteFailed,
    /// No key could be made for the entry (the OS random source failed).
    KeyFailed,
}

/// `count` audit entries were lost.
pub fn audit_dropped(why: AuditLoss, count: usize) {
    let reason = match why {
        AuditLoss::WriteFailed => "write_failed",
        AuditLoss::KeyFailed => "key_failed",
    };
    with(|m| {
        m.audit_dropped
            .get_or_create(&ReasonLabels { reason })
            .inc_by(count as u64);
    });
}

/// A forward-auth answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The request may pass.
    Allow,
    /// The request is refused (403 or 401 to the proxy).
    Deny,
    /// The visitor is sent to sign in.
    Redirect,
}

/// One forward-auth decision.
pub fn forward_auth(decision: Decision) {
    let decision = match decision {
        Decision::Allow => "allow",
        Decision::Deny => "deny",
        Decision::Redirect => "redirect",
    };
    with(|m| m.forward_auth.get_or_create(&DecisionLabels { decision }).inc());
}
