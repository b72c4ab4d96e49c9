//! The lifecycle of users and clients against an in-process server: what a password reset and a
//! client deletion take away (sessions, grants, refresh and access tokens, codes, consents).

use latchkey::domain::GrantType;
use latchkey::service::{clients, users};
use poem::http::StatusCode;
use serde_json::Value;

use crate::inproc::{InProc, PASSWORD, REDIRECT, Reply, VERIFIER, basic};

const NEW_PASSWORD: &str = "a brand new passphrase, long enough";
const REPORTS_REDIRECT: &str = "https://reports.example.com/cb";

/// Whether the browser is still signed in: the authorization request shows no login form.
async fn signed_in(s: &mut InProc) -> bool {
    let mut reply = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    if reply.status == StatusCode::SEE_OTHER && reply.location().starts_with('/') {
        let next = reply.location().to_owned();
        reply = s.get(&next).await;
    }
    !reply.body.contains("action=\"/login\"")
}

fn token_pair(reply: &Reply) -> (String, String) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    let text = |k: &str| {
        body[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k} in {body}"))
            .to_owned()
    };
    (text("access_token"), text("refresh_token"))
}

#[tokio::test]
async fn an_admin_password_reset_ends_the_sessions_and_revokes_the_tokens_of_the_user() {
    let mut s = InProc::new("").await;
    let code = s.code(&[("scope", "openid offline_access")]).await;
    let (access, refresh) = token_pair(&s.exchange(&code).await);
    assert!(signed_in(&mut s).await);
    assert_eq!(s.introspect(&access).await["active"], true);

    users::set_password(&s.app, "alice".into(), NEW_PASSWORD.into())
        .await
        .expect("the reset succeeds");

    assert!(!signed_in(&mut s).await, "the old browser session ends");
    assert_eq!(
        s.introspect(&access).await["active"],
        false,
        "the access token stops"
    );
    assert_eq!(
        s.introspect(&refresh).await["active"],
        false,
        "the refresh token stops"
    );
    let refreshed = s
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(refreshed.status, StatusCode::BAD_REQUEST, "{}", refreshed.body);
    assert_eq!(refreshed.json()["error"], "invalid_grant");

    // The new password signs in again; the old one does not.
    let uri = InProc::authorize_uri("web", REDIRECT, &[]);
    let mut page = s.get(&uri).await;
    if page.status == StatusCode::SEE_OTHER && page.location().starts_with('/') {
        let next = page.location().to_owned();
        page = s.get(&next).await;
    }
    let refused = s.login_from(&page, "alice", PASSWORD).await;
    assert_ne!(
        refused.status,
        StatusCode::SEE_OTHER,
        "the old password is refused"
    );
    let redirect = s.authorize_as(&uri, "alice", NEW_PASSWORD).await;
    assert!(
        redirect.location_param("code").is_some(),
        "{}",
        redirect.location()
    );
}

/// A confidential client `reports` created through the service, as the CLI and API create one;
/// returns its secret.
async fn add_reports(s: &InProc) -> String {
    let created = clients::add(
        &s.app,
        clients::NewClient {
            client_id: "reports".into(),
            name: Some("Reports".into()),
            redirect_uris: vec![REPORTS_REDIRECT.into()],
            public: false,
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ],
            scopes: vec!["openid".into(), "offline_access".into(), "profile".into()],
            first_party: false,
            require_pkce: None,
            id_token_signed_response_alg: None,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            refresh_without_offline_access: false,
            allow_http_localhost: false,
            resources: vec![],
            require_factors: Default::default(),
            allowed_groups: vec![],
            launch_url: None,
            icon: None,
        },
    )
    .await
    .expect("the client is created");
    created
        .client_secret
        .expect("a confidential client gets a secret")
}

fn reports_uri() -> String {
    InProc::authorize_uri("reports", REPORTS_REDIRECT, &[("scope", "openid offline_access")])
}

async fn reports_token(s: &mut InProc, secret: &str, pairs: &[(&str, &str)]) -> Reply {
    s.post_with(
        "/oauth/token",
        pairs,
        &[("authorization", &basic("reports", secret))],
    )
    .await
}

async fn reports_introspect(s: &mut InProc, secret: &str, token: &str) -> Value {
    s.post_with(
        "/oauth/introspect",
        &[("token", token)],
        &[("authorization", &basic("reports", secret))],
    )
    .await
    .json()
}

fn code_of(redirect: &Reply) -> String {
    redirect
        .location_param("code")
        .unwrap_or_else(|| panic!("no code in {}", redirect.location()))
}

#[tokio::test]
async fn a_client_registered_again_under_a_deleted_id_inherits_no_token_code_or_consent() {
    let mut s = InProc::new("").await;
    let old_secret = add_reports(&s).await;
    let code = code_of(&s.authorize(&reports_uri()).await);
    let exchange = |code: String| {
        vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code),
            ("redirect_uri".to_owned(), REPORTS_REDIRECT.to_owned()),
            ("code_verifier".to_owned(), VERIFIER.to_owned()),
        ]
    };
    let pairs = exchange(code);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (access, refresh) = token_pair(&reports_token(&mut s, &old_secret, &pairs).await);
    // A token of the client itself, which belongs to no grant.
    let own = reports_token(
        &mut s,
        &old_secret,
        &[("grant_type", "client_credentials"), ("scope", "profile")],
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let own = own.json()["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    // A second code, issued but not yet redeemed when the client goes.
    let pending = code_of(&s.authorize(&reports_uri()).await);

    clients::delete(&s.app, "reports".into())
        .await
        .expect("the client is deleted");
    s.advance(1);
    let new_secret = add_reports(&s).await;

    let refreshed = reports_token(
        &mut s,
        &new_secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::BAD_REQUEST, "{}", refreshed.body);
    assert_eq!(
        refreshed.json()["error"],
        "invalid_grant",
        "the old refresh token is gone"
    );
    let pairs = exchange(pending);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let redeemed = reports_token(&mut s, &new_secret, &pairs).await;
    assert_eq!(redeemed.status, StatusCode::BAD_REQUEST, "{}", redeemed.body);
    assert_eq!(redeemed.json()["error"], "invalid_grant", "the old code is gone");
    assert_eq!(
        reports_introspect(&mut s, &new_secret, &access).await["active"],
        false,
        "the old access token stops"
    );
    assert_eq!(
        reports_introspect(&mut s, &new_secret, &refresh).await["active"],
        false
    );
    assert_eq!(
        reports_introspect(&mut s, &new_secret, &own).await["active"],
        false,
        "the old client's own access token stops"
    );

    // The browser is still signed in, but the new client must ask for consent again.
    let mut page = s.get(&reports_uri()).await;
    if page.status == StatusCode::SEE_OTHER && page.location().starts_with('/') {
        let next = page.location().to_owned();
        page = s.get(&next).await;
    }
    assert!(
        page.body.contains("action=\"/oauth/consent\""),
        "the new client is asked for consent, not silently allowed: {} {}",
        page.status,
        page.body
    );
}

const GONE_SECRET: &str = "gone-client-secret-0123456789-abcdefghijklmn";

/// A configuration on `port`, with the client `gone` declared or not.
fn config_with_gone(port: u16, declared: bool) -> String {
    let mut text = crate::harness::default_config(port);
    if declared {
        text.push_str(&format!(
            "\n[[client]]\nclient_id = \"gone\"\ngrant_types = [\"password\", \"refresh_token\"]\nscopes = [\"openid\", \"offline_access\"]\nsecret_digest = \"{}\"\n",
            clients::digest_text(GONE_SECRET)
        ));
    }
    text
}

async fn gone_token(server: &crate::harness::Server, pairs: &[(&str, &str)]) -> (u16, Value) {
    let reply = crate::harness::http()
        .post(format!("{}/oauth/token", server.base_url()))
        .basic_auth("gone", Some(GONE_SECRET))
        .form(pairs)
        .send()
        .await
        .expect("the token endpoint answers");
    let status = reply.status().as_u16();
    (status, reply.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn a_client_dropped_from_the_configuration_and_declared_again_inherits_no_refresh_token() {
    let mut server = crate::harness::Server::with_config(|port| config_with_gone(port, true));
    server.start();
    let owner = server.cli_stdin(
        &["user", "add", "owner", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        owner.status.success(),
        "{}",
        String::from_utf8_lossy(&owner.stderr)
    );
    let (status, tokens) = gone_token(
        &server,
        &[
            ("grant_type", "password"),
            ("username", "owner"),
            ("password", PASSWORD),
            ("scope", "openid offline_access"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();

    // Removed from identity.toml: the start-up sync deletes it. Declared again: a new client.
    let port = server.port();
    std::fs::write(server.config_path(), config_with_gone(port, false)).expect("the config is rewritten");
    server.restart();
    std::fs::write(server.config_path(), config_with_gone(port, true)).expect("the config is rewritten");
    server.restart();

    let (status, body) = gone_token(
        &server,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"], "invalid_grant",
        "the old refresh token died with its client"
    );
}
