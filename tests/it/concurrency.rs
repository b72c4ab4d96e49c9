//! Races on one-time credentials against a real server: a code or a refresh token presented by
//! many requests at once is honoured exactly once, and a refresh token's replay revokes its grant.

use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::flows::{
    self, ClientAuth, Reply, WEB_ID, WEB_SECRET, assert_token_pair, authorization_code, oauth_server,
};

/// How many requests race.
const RACERS: usize = 8;

const WEB: ClientAuth<'static> = ClientAuth::Basic {
    id: WEB_ID,
    secret: WEB_SECRET,
};

/// Runs `RACERS` copies of `request` at once (released together by a barrier), each on its own
/// connection, and returns every answer.
async fn race<F, Fut>(request: F) -> Vec<Reply>
where
    F: Fn(reqwest::Client) -> Fut,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = JoinSet::new();
    for _ in 0..RACERS {
        let barrier = barrier.clone();
        let sent = request(crate::harness::http());
        tasks.spawn(async move {
            barrier.wait().await;
            sent.await
        });
    }
    let mut replies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        replies.push(done.expect("a racing request panicked"));
    }
    replies
}

/// Splits answers into the successes and the rest, checking that the rest are all
/// `400 invalid_grant`.
#[track_caller]
fn one_winner(replies: Vec<Reply>) -> Reply {
    let (won, lost): (Vec<Reply>, Vec<Reply>) = replies.into_iter().partition(|r| r.status == StatusCode::OK);
    for reply in &lost {
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "a losing request must get 400 invalid_grant; got {} {}",
            reply.status,
            reply.body
        );
    }
    assert_eq!(
        won.len(),
        1,
        "exactly one of {RACERS} requests may succeed; {} did",
        won.len()
    );
    won.into_iter().next().expect("one winner")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_redeemed_by_eight_parallel_requests_succeeds_exactly_once() {
    let server = oauth_server();
    let base = server.base_url();
    let authorized = Arc::new(authorization_code(&base, WEB_ID).await);

    let replies = race(|http| {
        let (base, authorized) = (base.clone(), authorized.clone());
        async move { flows::redeem(&http, &base, WEB, &authorized).await }
    })
    .await;

    let winner = one_winner(replies);
    assert_token_pair(&winner);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_presented_by_eight_parallel_requests_rotates_once_then_revokes_the_grant() {
    let server = oauth_server();
    let base = server.base_url();
    let http = crate::harness::http();
    let authorized = authorization_code(&base, WEB_ID).await;
    let first = flows::redeem(&http, &base, WEB, &authorized).await;
    assert_token_pair(&first);
    let refresh_token = Arc::new(first.string("refresh_token"));

    let replies = race(|http| {
        let (base, refresh_token) = (base.clone(), refresh_token.clone());
        async move { flows::refresh(&http, &base, WEB, &refresh_token).await }
    })
    .await;

    let winner = one_winner(replies);
    assert_token_pair(&winner);
    let new_refresh = winner.string("refresh_token");
    let new_access = winner.string("access_token");
    assert_ne!(
        new_refresh.as_str(),
        refresh_token.as_str(),
        "refresh tokens rotate"
    );

    // The losers presented a rotated token: a replay, which revokes the whole grant.
    let after = flows::refresh(&http, &base, WEB, &new_refresh).await;
    assert_eq!(
        (after.status, after.error()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "the rotated-to refresh token must die with its grant; got {}",
        after.body
    );
    let introspected = flows::introspect(&http, &base, WEB, &new_access).await;
    assert_eq!(introspected.status, StatusCode::OK, "{}", introspected.body);
    assert_eq!(
        introspected.body["active"],
        serde_json::Value::Bool(false),
        "the access token of the revoked grant must be inactive: {}",
        introspected.body
    );
}
