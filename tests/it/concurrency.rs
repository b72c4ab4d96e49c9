//! Races and load against a real server: a code or a refresh token presented by many requests at
//! once is honoured exactly once, a refresh token's replay revokes its grant, and many successful
//! requests from one address are never mistaken for guessing.

use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::flows::{
    self, ClientAuth, Reply, SERVICE_ID, SERVICE_SCOPE, SERVICE_SECRET, WEB_ID, WEB_SECRET,
    assert_token_pair, authorization_code, oauth_server,
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
    // Introspection with client_secret_post, the other way a confidential client may authenticate.
    let post = ClientAuth::Post {
        id: WEB_ID,
        secret: WEB_SECRET,
    };
    let introspected = flows::introspect(&http, &base, post, &new_access).await;
    assert_eq!(introspected.status, StatusCode::OK, "{}", introspected.body);
    assert_eq!(
        introspected.body["active"],
        serde_json::Value::Bool(false),
        "the access token of the revoked grant must be inactive: {}",
        introspected.body
    );
}

/// More successful requests from one address than the throttles let failures through (30 per
/// address in 15 minutes).
const BUSY: usize = 40;

#[tokio::test]
async fn successful_client_authentications_from_one_address_are_never_throttled() {
    // A backend that fetches a client-credentials token per job, or many clients behind one
    // proxy, authenticate correctly many times from one address: none of that is guessing.
    let server = oauth_server();
    let base = server.base_url();
    let http = crate::harness::http();
    let service = ClientAuth::Basic {
        id: SERVICE_ID,
        secret: SERVICE_SECRET,
    };
    for attempt in 1..=BUSY {
        let reply = flows::post_form(
            &http,
            &base,
            "/oauth/token",
            service,
            &[("grant_type", "client_credentials"), ("scope", SERVICE_SCOPE)],
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "request {attempt} of {BUSY} with the right secret was refused: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn successful_sign_ins_from_one_address_are_never_throttled() {
    // Everyone behind one NAT or reverse proxy signs in from one address.
    let server = oauth_server();
    let base = server.base_url();
    for _ in 0..BUSY {
        // Each call signs in with a fresh cookie jar and asserts it reached the client.
        authorization_code(&base, WEB_ID).await;
    }
}
