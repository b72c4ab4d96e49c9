//! Resource indicators (RFC 8707) and the folding of anonymous failures at the OAuth endpoints.

use super::*;

/// A confidential client `rs` that may ask for the resource `https://api.example.com`, and for
/// `admin` by client_credentials.
fn resource_client() -> String {
    format!(
        "[[client]]\nclient_id = \"rs\"\nredirect_uris = [\"https://rs.example.com/cb\"]\ngrant_types = [\"authorization_code\", \"refresh_token\", \"client_credentials\"]\nscopes = [\"openid\", \"admin\", \"offline_access\"]\nresources = [\"https://api.example.com\"]\nsecret_digest = \"{}\"\n",
        latchkey::service::clients::digest_text(WEB_SECRET)
    )
}

async fn rs_token(s: &mut InProc, pairs: &[(&str, &str)]) -> crate::inproc::Reply {
    s.post_with(
        "/oauth/token",
        pairs,
        &[("authorization", &basic("rs", WEB_SECRET))],
    )
    .await
}

/// The review finding: an access token's `aud` was the client id, the same as the ID token's, so
/// a resource server checking `aud` took an ID token for an access token; and the admin API and
/// userinfo took tokens for any audience. Now `aud` names resources (RFC 8707, RFC 9068 3), each
/// endpoint checks that it is named, and a resource must be registered.
#[tokio::test]
async fn access_tokens_name_resources_and_each_endpoint_checks_its_own() {
    let mut s = InProc::new(&resource_client()).await;
    // The default audience: Latchkey itself (and its admin API with `admin`), never the client id.
    let code = s.code(&[("scope", "openid")]).await;
    let tokens = s.exchange(&code).await.json();
    let access = crate::inproc::claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], ISSUER);
    assert_ne!(
        access["aud"],
        crate::inproc::claims(tokens["id_token"].as_str().unwrap())["aud"]
    );
    let admin = rs_token(
        &mut s,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await
    .json();
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        crate::inproc::claims(&admin_token)["aud"],
        serde_json::json!([ISSUER, format!("{ISSUER}/api/v1")])
    );
    let ok = s
        .send(
            Method::GET,
            "/api/v1/clients",
            None,
            &[("authorization", &format!("Bearer {admin_token}"))],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    // A token for another resource server, with the admin scope: the admin API refuses it.
    let elsewhere = rs_token(
        &mut s,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "admin"),
            ("resource", "https://api.example.com"),
        ],
    )
    .await
    .json();
    let elsewhere = elsewhere["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        crate::inproc::claims(&elsewhere)["aud"],
        "https://api.example.com"
    );
    let refused = s
        .send(
            Method::GET,
            "/api/v1/clients",
            None,
            &[("authorization", &format!("Bearer {elsewhere}"))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // Userinfo refuses a token for another resource, even with `openid`.
    let code = {
        let reply = s
            .authorize(&InProc::authorize_uri(
                "rs",
                "https://rs.example.com/cb",
                &[("scope", "openid"), ("resource", "https://api.example.com")],
            ))
            .await;
        reply
            .location_param("code")
            .unwrap_or_else(|| panic!("{}", reply.location()))
    };
    let api = rs_token(
        &mut s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://rs.example.com/cb"),
            ("code_verifier", crate::inproc::VERIFIER),
        ],
    )
    .await
    .json();
    let api_token = api["access_token"].as_str().unwrap();
    assert_eq!(crate::inproc::claims(api_token)["aud"], "https://api.example.com");
    let info = s
        .send(
            Method::GET,
            "/oauth/userinfo",
            None,
            &[("authorization", &format!("Bearer {api_token}"))],
        )
        .await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED, "{}", info.body);
}

#[tokio::test]
async fn an_unregistered_or_changed_resource_is_invalid_target() {
    let mut s = InProc::new(&resource_client()).await;
    let bad = rs_token(
        &mut s,
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://evil.example.com"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"], "invalid_target", "{}", bad.body);
    let at_authorize = s
        .authorize(&InProc::authorize_uri(
            "rs",
            "https://rs.example.com/cb",
            &[("scope", "openid"), ("resource", "https://evil.example.com")],
        ))
        .await;
    assert_eq!(
        at_authorize.location_param("error").as_deref(),
        Some("invalid_target")
    );
    // A code asked for one resource cannot be redeemed for another.
    let reply = s
        .authorize(&InProc::authorize_uri(
            "rs",
            "https://rs.example.com/cb",
            &[
                ("scope", "openid offline_access"),
                ("resource", "https://api.example.com"),
            ],
        ))
        .await;
    let code = reply.location_param("code").unwrap();
    let changed = rs_token(
        &mut s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://rs.example.com/cb"),
            ("code_verifier", crate::inproc::VERIFIER),
            ("resource", ISSUER),
        ],
    )
    .await;
    assert_eq!(changed.json()["error"], "invalid_target", "{}", changed.body);
}

/// The review's item 3 through the other doors: anonymous token requests (any client id, no
/// secret), public clients' bogus codes and revocations, and failed upstream callbacks cost no
/// audit write each; they fold into a few counted entries per address and interval.
#[tokio::test]
async fn anonymous_failures_at_the_oauth_endpoints_fold_instead_of_writing_a_row_each() {
    let mut s = InProc::new("").await;
    let rows = |s: &InProc| {
        s.app
            .store
            .read(|tx| tx.audit_entries(None, usize::MAX))
            .unwrap()
            .len()
    };
    let before = rows(&s);
    for n in 0..100 {
        let id = format!("nobody-{n}");
        let reply = s
            .post(
                "/oauth/token",
                &[("grant_type", "client_credentials"), ("client_id", &id)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        let reply = s
            .post(
                "/oauth/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", "spa"),
                    ("code", &format!("bogus-{n}")),
                    ("redirect_uri", "http://127.0.0.1/cb"),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
        assert_eq!(reply.json()["error"], "invalid_grant");
        let reply = s
            .post("/oauth/revoke", &[("client_id", "spa"), ("token", "x")])
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(
        rows(&s),
        before,
        "300 anonymous failures wrote no row of their own"
    );
    let written = latchkey::service::audit::flush_denials(&s.app, latchkey::service::audit::Flush::All)
        .await
        .unwrap();
    assert!(
        (1..=4).contains(&written),
        "folded into a few counted entries: {written}"
    );
    let entries = s.app.store.read(|tx| tx.audit_entries(None, usize::MAX)).unwrap();
    let counted: u64 = entries
        .iter()
        .filter(|(_, r)| r.action == "client.auth_failure" || r.action == "token.refused")
        .map(|(_, r)| r.count)
        .sum();
    assert_eq!(counted, 200, "{entries:?}");
}
