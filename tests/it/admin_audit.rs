//! The audit feed: what it records (with actor, target and address), that it never holds a
//! secret, how it pages, how refusals are folded, and how long entries are kept.

use std::collections::BTreeSet;

use latchkey::service::{audit, clients, purge};
use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin_fixture::*;
use crate::harness::Server;
use crate::inproc::{InProc, PASSWORD, WEB_SECRET, basic};

/// A busy stretch: sign-ins that work and fail, tokens issued and refused, admin changes by two
/// administrators, and a refused admin call. Returns the server and every secret it used.
async fn busy_day() -> (Admin, Vec<String>) {
    let mut a = Admin::new().await;
    add_admin(&a.s, "root").await;
    let mut secrets: Vec<String> = [OPS_SECRET, CONSOLE_SECRET, WEB_SECRET, PASSWORD, ROOT_PASSWORD]
        .map(String::from)
        .to_vec();
    secrets.push(a.token.clone());

    // A browser sign-in and a code for `web`, then tokens.
    let code = a.s.code(&[("scope", "openid offline_access")]).await;
    secrets.push(code.clone());
    secrets.extend(a.s.cookies().values().cloned());
    let tokens = a.s.exchange(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let tokens = tokens.json();
    for name in ["access_token", "refresh_token", "id_token"] {
        secrets.push(tokens[name].as_str().unwrap().to_owned());
    }
    // Failures: a wrong password on the page and at the token endpoint, a wrong client secret.
    let wrong_password = "guess-1-wrong-password";
    secrets.push(wrong_password.to_owned());
    let jar = a.s.switch_browser(Default::default());
    let page =
        a.s.get(&InProc::authorize_uri("spa", "http://127.0.0.1/cb", &[]))
            .await;
    let failed = a.s.login_from(&page, "alice", wrong_password).await;
    assert!(failed.body.contains("action=\"/login\""));
    a.s.switch_browser(jar);
    assert_eq!(
        password_grant(&mut a.s, "alice", wrong_password, "openid")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let wrong_secret = "not-the-web-secret-0123456789";
    secrets.push(wrong_secret.to_owned());
    let refused =
        a.s.post_with(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic("web", wrong_secret))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Refresh, then revoke.
    let refreshed =
        a.s.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let refreshed = refreshed.json();
    secrets.push(refreshed["access_token"].as_str().unwrap().to_owned());
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());
    let revoked =
        a.s.post_with(
            "/oauth/revoke",
            &[("token", refreshed["refresh_token"].as_str().unwrap())],
            &[("authorization", &basic("web", WEB_SECRET))],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);

    // Admin changes by the `ops` client.
    let new_password = "a password set by ops, 2024";
    secrets.push(new_password.to_owned());
    a.expect(
        201,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "newbie", "password": "newbie's first password" })),
    )
    .await;
    secrets.push("newbie's first password".to_owned());
    a.expect_done(
        Method::PUT,
        "/api/v1/users/newbie/password",
        Some(json!({ "password": new_password })),
    )
    .await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "billing", "grant_types": ["client_credentials"] })),
        )
        .await;
    secrets.push(created["client_secret"].as_str().unwrap().to_owned());
    let rotated = a
        .expect(200, Method::POST, "/api/v1/clients/billing/rotate-secret", None)
        .await;
    secrets.push(rotated["client_secret"].as_str().unwrap().to_owned());
    a.expect(200, Method::POST, "/api/v1/users/newbie/disable", None)
        .await;
    // A refused change: the user does not exist.
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/users/ghost", None).await,
        404,
        "not-found",
    );
    // Changes by the administrator `root`, with a token from the password grant.
    let root = password_grant(&mut a.s, "root", ROOT_PASSWORD, "openid admin").await;
    let root_token = access_token(&root);
    secrets.push(root_token.clone());
    let reply = a
        .call_as(Some(&root_token), Method::DELETE, "/api/v1/users/newbie", None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    // A call without a token.
    let denied = a.call_as(None, Method::GET, "/api/v1/users", None).await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    let bogus = "bogus.admin.token";
    let denied = a
        .call_as(Some(bogus), Method::POST, "/api/v1/keys/rotate", None)
        .await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    // The refusal is counted, and written by the purge task once its interval has ended.
    purge_after_the_fold_interval(&a.s).await;
    (a, secrets)
}

/// Moves the clock past the fold interval and runs one round of the purge task, which writes the
/// folded refusals of the interval that ended.
async fn purge_after_the_fold_interval(s: &InProc) {
    s.advance(audit::FOLD_SECONDS);
    purge::once(&s.app, 10_000).await.expect("the purge round runs");
}

#[tokio::test]
async fn the_audit_feed_pages_through_logins_tokens_and_admin_changes_with_actor_target_and_ip() {
    let (mut a, _) = busy_day().await;
    // Failures that prove nothing (a wrong client secret) are folded in memory until written.
    latchkey::service::audit::flush_denials(&a.s.app, latchkey::service::audit::Flush::All)
        .await
        .unwrap();
    let (events, _) = a.audit_feed(4).await;
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend: {ids:?}");
    let times: Vec<u64> = events.iter().map(|e| e["time"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");

    // The same events as one big page (the feed's own reads since are later).
    a.s.advance(1);
    let whole = a.get("/api/v1/audit?limit=500").await;
    let whole: Vec<Value> = whole["items"].as_array().unwrap().clone();
    assert_eq!(
        &whole[..events.len()],
        &events[..],
        "paging sees every event once"
    );

    let position = |action: &str, target: &str| {
        events
            .iter()
            .position(|e| e["action"] == action && e["target"] == target)
            .unwrap_or_else(|| panic!("no {action} {target}"))
    };
    assert!(
        position("user.create", "newbie") < position("user.password", "newbie")
            && position("user.password", "newbie") < position("user.disable", "newbie")
            && position("user.disable", "newbie") < position("user.delete", "newbie"),
        "events are listed in the order they happened"
    );
    let success = events
        .iter()
        .find(|e| e["action"] == "login.success" && e["actor"] == "alice")
        .expect("alice's sign-in");
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "login.success" && e["actor"] == "root"),
        "root's sign-in by the password grant"
    );
    assert_eq!(success["ip"], PEER_IP);
    assert_eq!(success["success"], true);
    let failure = event(&events, "login.failure", None);
    assert_eq!(failure["actor"], "alice");
    assert_eq!(failure["ip"], PEER_IP);
    assert_eq!(failure["success"], false);
    let failures = events.iter().filter(|e| e["action"] == "login.failure").count();
    assert_eq!(failures, 2, "the page and the password grant");

    let issued = event(&events, "token.issued", Some("offline_access openid"));
    assert_eq!(issued["actor"], "client:web");
    assert_eq!(issued["ip"], PEER_IP);
    assert_eq!(issued["success"], true);
    let ops_issued = event(&events, "token.issued", Some("admin"));
    assert_eq!(ops_issued["actor"], "client:ops");
    let root_issued = event(&events, "token.issued", Some("admin openid"));
    assert_eq!(root_issued["actor"], "client:console");
    let refused_grant = event(&events, "token.refused", Some("invalid_grant"));
    assert_eq!(refused_grant["actor"], "client:console");
    assert_eq!(refused_grant["success"], false);
    let bad_secret = event(&events, "client.auth_failure", Some("invalid_client"));
    assert_eq!(bad_secret["actor"], "anonymous", "anyone can send any client id");
    assert_eq!(bad_secret["ip"], PEER_IP);
    assert!(bad_secret["count"].as_u64().unwrap() >= 1);
    assert_eq!(bad_secret["success"], false);
    event(&events, "token.revoke", None);

    for (action, target) in [
        ("user.create", "newbie"),
        ("user.password", "newbie"),
        ("client.create", "billing"),
        ("client.rotate_secret", "billing"),
        ("user.disable", "newbie"),
    ] {
        let e = event(&events, action, Some(target));
        assert_eq!(e["actor"], "client:ops", "{e}");
        assert_eq!(e["ip"], PEER_IP, "{e}");
        assert_eq!(e["success"], true, "{e}");
    }
    let refused = event(&events, "user.delete", Some("ghost"));
    assert_eq!(refused["success"], false, "a refused change is recorded as such");
    let by_root = event(&events, "user.delete", Some("newbie"));
    assert_eq!(by_root["actor"], "root", "a person acts under their username");
    assert_eq!(by_root["success"], true);
    assert_eq!(by_root["ip"], PEER_IP);

    let calls = events.iter().filter(|e| e["action"] == "admin.call").count();
    assert!(calls >= 8, "every admin call is recorded, reads included");
    let denied: Vec<&Value> = events.iter().filter(|e| e["action"] == "admin.denied").collect();
    // The call that carried a token that is not one; a call with no token at all is refused
    // before it is an admin call.
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(denied.iter().all(|e| e["success"] == false && e["ip"] == PEER_IP));
    assert!(
        denied
            .iter()
            .any(|e| e["target"] == "unauthorized" && e["count"] == 1)
    );
    assert!(
        events
            .iter()
            .filter(|e| e["action"] != "admin.denied")
            .all(|e| e["count"] == 1),
        "only folded refusals stand for more than one occurrence"
    );
}

#[tokio::test]
async fn the_audit_feed_never_contains_a_secret_password_token_or_cookie() {
    let (mut a, secrets) = busy_day().await;
    let (events, raw) = a.audit_feed(7).await;
    assert!(events.len() > 20, "a busy day: {}", events.len());
    for secret in &secrets {
        assert!(secret.len() >= 8, "a secret worth looking for: {secret}");
        assert!(
            !raw.contains(secret.as_str()),
            "the audit feed holds a secret `{secret}`:\n{raw}"
        );
        // Long tokens are also looked for by a distinctive piece.
        if secret.len() > 40 {
            let piece = &secret[secret.len() - 24..];
            assert!(!raw.contains(piece), "the audit feed holds part of `{secret}`");
        }
        let digest = clients::digest_text(secret);
        let digest = digest.trim_start_matches("sha256:");
        assert!(
            !raw.contains(digest),
            "the audit feed holds a digest of `{secret}`"
        );
    }
    assert!(!raw.contains("$argon2"), "never a password hash");
}

#[tokio::test]
async fn audit_pages_are_bounded_and_the_cursor_is_opaque() {
    let mut a = Admin::new().await;
    for _ in 0..5 {
        a.get("/api/v1/clients").await;
    }
    let page = a.get("/api/v1/audit?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next"].is_string());
    for bad in ["limit=0", "limit=501", "limit=-1", "limit=many"] {
        let reply = a.call(Method::GET, &format!("/api/v1/audit?{bad}"), None).await;
        assert_problem(&reply, 400, "bad-request");
    }
    for cursor in ["", "zzzz", "..%2F..", "%F0%9F%94%91", "0"] {
        let reply = a
            .call(Method::GET, &format!("/api/v1/audit?after={cursor}"), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "after={cursor}: {}", reply.body);
    }
    let past_the_end = a.get("/api/v1/audit?after=~").await;
    assert_eq!(past_the_end["items"], json!([]));
    assert_eq!(past_the_end["next"], Value::Null);
}

/// Regression: audit keys were the second followed by random characters, so entries of one second
/// were listed in random order, and a reader paging with `after` could skip an entry written
/// after it had read a page of the same second.
#[tokio::test]
async fn audit_entries_of_one_second_are_listed_in_the_order_they_happened() {
    let mut a = Admin::new().await;
    let names: Vec<String> = (0..12).map(|i| format!("user-{i:02}")).collect();
    // A reader following the feed as it grows, all within one second.
    let mut followed: Vec<String> = Vec::new();
    let mut cursor = String::new();
    for name in &names {
        a.expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": name })),
        )
        .await;
        for _ in 0..100 {
            let page = a
                .get(&format!("/api/v1/audit?limit=2&after={}", encode(&cursor)))
                .await;
            for e in page["items"].as_array().unwrap() {
                cursor = e["id"].as_str().unwrap().to_owned();
                if e["action"] == "user.create" {
                    followed.push(e["target"].as_str().unwrap().to_owned());
                }
            }
            if page["next"].is_null() {
                break;
            }
        }
    }
    assert_eq!(followed, names, "a reader following the feed misses nothing");
    let (events, _) = a.audit_feed(500).await;
    let created: Vec<&str> = events
        .iter()
        .filter(|e| e["action"] == "user.create")
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(created, names, "oldest first, within one second too");
}

/// The number of rows in the audit table, read straight from the store.
fn audit_rows(s: &InProc) -> u64 {
    s.app.store.read(|tx| tx.audit_count()).unwrap()
}

/// Regression (security review, item 3): 3,000 requests with bad bearer tokens added 3,009 rows
/// to the audit table, 429 answers included. Now a refusal costs no write of its own: refusals
/// from one address are counted in one entry per interval, written by the purge task, and a
/// throttled request is not counted at all. Real admin actions in the middle of the flood are
/// still recorded, each as it happens.
#[tokio::test]
async fn a_flood_of_bad_admin_tokens_leaves_one_counted_audit_entry_and_its_429s_none() {
    let mut a = Admin::new().await;
    let flooder: std::net::SocketAddr = "192.0.2.66:40000".parse().unwrap();
    let before = audit_rows(&a.s);
    let (mut refused, mut throttled, mut real) = (0u64, 0u64, Vec::new());
    for n in 0..3000 {
        a.s.set_peer(flooder);
        let bad = format!("bad.admin.token-{n}");
        let reply = a.call_as(Some(&bad), Method::GET, "/api/v1/users", None).await;
        match reply.status.as_u16() {
            401 => refused += 1,
            429 => throttled += 1,
            other => panic!("attempt {n}: {other} {}", reply.body),
        }
        if n % 500 == 250 {
            a.s.set_peer(PEER.parse().unwrap());
            let name = format!("created-during-the-flood-{n}");
            a.expect(
                201,
                Method::POST,
                "/api/v1/users",
                Some(json!({ "username": name })),
            )
            .await;
            real.push(name);
        }
        // Thirty seconds in all, within one fold interval: the throttle's delays pass now and
        // then, so that more than its first 50 refusals are answered 401.
        if n % 100 == 99 {
            a.s.advance(1);
        }
    }
    assert!(
        refused > 50 && throttled > 2000,
        "{refused} refused, {throttled} throttled"
    );
    // Each real action wrote its two entries (`admin.call` and `user.create`); the flood nothing.
    let real_rows = 2 * real.len() as u64;
    assert_eq!(
        audit_rows(&a.s),
        before + real_rows,
        "refusals cost no write of their own"
    );

    purge_after_the_fold_interval(&a.s).await;
    assert_eq!(
        audit_rows(&a.s),
        before + real_rows + 1,
        "one entry for the whole flood"
    );
    let (events, _) = a.audit_feed(500).await;
    let folded: Vec<&Value> = events.iter().filter(|e| e["action"] == "admin.denied").collect();
    assert_eq!(folded.len(), 1, "{folded:?}");
    let e = folded[0];
    assert_eq!(e["ip"], "192.0.2.66", "{e}");
    assert_eq!(e["target"], "unauthorized", "{e}");
    assert_eq!(e["success"], false, "{e}");
    assert_eq!(e["count"], refused, "every 401 is counted, no 429: {e}");
    for name in &real {
        let created = event(&events, "user.create", Some(name));
        assert_eq!(created["ip"], PEER_IP, "{created}");
        assert_eq!(created["success"], true, "{created}");
    }
    // Another round writes nothing more: the interval was written once.
    let rows = audit_rows(&a.s);
    purge_after_the_fold_interval(&a.s).await;
    assert_eq!(audit_rows(&a.s), rows, "no second entry for the same refusals");
}

/// Refusals counted since the last purge round are not lost when the server stops: a graceful
/// stop writes them, one counted entry per address.
#[tokio::test]
async fn refusals_counted_before_a_graceful_stop_are_written_as_the_server_stops() {
    let mut server = Server::running();
    let http = crate::harness::http();
    for n in 0..5 {
        let reply = http
            .get(format!("{}/api/v1/users", server.base_url()))
            .bearer_auth(format!("not-a-token-{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(server.terminate().success());
    let store = server.open_store();
    let rows = store.read(|tx| tx.audit_entries(None, 1000)).unwrap();
    let denied: Vec<_> = rows.iter().filter(|(_, r)| r.action == "admin.denied").collect();
    // One entry, or two if the calls straddled the start of a minute.
    assert!(matches!(denied.len(), 1 | 2), "{rows:?}");
    assert_eq!(denied.iter().map(|(_, r)| r.count).sum::<u64>(), 5, "{rows:?}");
    assert!(denied.iter().all(|(_, r)| r.ip.as_deref() == Some("127.0.0.1")));
}

/// `[audit] retain`: the purge task deletes entries older than it (default 90 days), oldest
/// first, and keeps the newer ones.
#[tokio::test]
async fn audit_entries_older_than_audit_retain_are_deleted_by_the_purge_task() {
    for (extra, kept) in [("[audit]\nretain = \"1h\"\n", false), ("", true)] {
        let mut a = Admin::with(extra).await;
        a.expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "old-news" })),
        )
        .await;
        a.s.advance(3600 + 60);
        a.token = ops_token(&mut a.s).await;
        a.expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "fresh-news" })),
        )
        .await;
        let purged_at = a.s.app.clock.now().0;
        purge::once(&a.s.app, 10_000).await.expect("the purge round runs");
        let (events, _) = a.audit_feed(500).await;
        event(&events, "user.create", Some("fresh-news"));
        let old = events
            .iter()
            .any(|e| e["action"] == "user.create" && e["target"] == "old-news");
        assert_eq!(old, kept, "config `{extra}`: {events:?}");
        if !kept {
            assert!(
                events
                    .iter()
                    .all(|e| e["time"].as_u64().unwrap() + 3600 >= purged_at),
                "nothing older than `retain` is left: {events:?}"
            );
        }
    }
}
