//! The admin API's users: listed a page at a time, created, shown, updated, given a new password,
//! disabled and deleted, with what each does to sessions and tokens.

use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin_fixture::*;
use crate::inproc::{InProc, PASSWORD, REDIRECT, Reply};

#[tokio::test]
async fn users_are_listed_a_page_at_a_time_in_username_order_and_found_by_search() {
    let mut a = Admin::new().await;
    for name in ["mallory", "bob", "Carol", "dave", "erin"] {
        let body = json!({ "username": name, "email": format!("{}@corp.example", name.to_lowercase()) });
        a.expect(201, Method::POST, "/api/v1/users", Some(body)).await;
    }
    let everyone = vec!["alice", "bob", "Carol", "dave", "erin", "mallory"];
    let all = a.get("/api/v1/users").await;
    assert_eq!(usernames(&all), everyone);
    assert_eq!(all["next"], Value::Null, "one page holds everyone");

    let mut seen = Vec::new();
    let mut uri = "/api/v1/users?limit=2".to_owned();
    for _ in 0..10 {
        let page = a.get(&uri).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(usernames(&page));
        match page["next"].as_str() {
            Some(next) => uri = format!("/api/v1/users?limit=2&after={}", encode(next)),
            None => break,
        }
    }
    assert_eq!(seen, everyone, "paging sees every user once, in order");

    let first = a.get("/api/v1/users?limit=5").await;
    assert_eq!(usernames(&first).len(), 5);
    let next = first["next"].as_str().expect("a sixth user is left");
    let rest = a
        .get(&format!("/api/v1/users?limit=5&after={}", encode(next)))
        .await;
    assert_eq!(usernames(&rest), ["mallory"]);
    assert_eq!(rest["next"], Value::Null);

    let by_name = a.get("/api/v1/users?search=LIDDELL").await;
    assert_eq!(
        usernames(&by_name),
        ["alice"],
        "search matches the name, ignoring case"
    );
    let by_email = a.get("/api/v1/users?search=corp.example&limit=3").await;
    assert_eq!(usernames(&by_email), ["bob", "Carol", "dave"]);
    let more = by_email["next"].as_str().expect("more matches");
    let by_email_rest = a
        .get(&format!(
            "/api/v1/users?search=corp.example&limit=3&after={}",
            encode(more)
        ))
        .await;
    assert_eq!(usernames(&by_email_rest), ["erin", "mallory"]);
    let by_username = a.get("/api/v1/users?search=caro").await;
    assert_eq!(usernames(&by_username), ["Carol"]);
    let nobody = a.get("/api/v1/users?search=zzz-nobody").await;
    assert_eq!(usernames(&nobody), Vec::<String>::new());
    assert_eq!(nobody["next"], Value::Null);
}

#[tokio::test]
async fn a_user_is_created_shown_by_name_or_subject_updated_and_deleted() {
    let mut a = Admin::new().await;
    // Another administrator, so that Grace is not the last one (who could not be deleted).
    add_admin(&a.s, "keeper").await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({
                "username": "Grace",
                "name": "Grace Hopper",
                "email": "grace@example.com",
                "email_verified": true,
                "groups": ["navy", "admins", "navy"],
                "password": "a long enough password 42",
            })),
        )
        .await;
    assert_eq!(created["username"], "Grace");
    assert_eq!(created["name"], "Grace Hopper");
    assert_eq!(created["email"], "grace@example.com");
    assert_eq!(created["email_verified"], true);
    assert_eq!(
        created["groups"],
        json!(["admins", "navy"]),
        "groups are sorted and unique"
    );
    assert_eq!(created["disabled"], false);
    assert_eq!(created["has_password"], true);
    let subject = created["subject"].as_str().expect("a subject").to_owned();
    assert!(!subject.is_empty() && subject != "Grace");
    assert!(
        !created.to_string().contains("argon2"),
        "never a password hash: {created}"
    );

    assert_eq!(a.get("/api/v1/users/Grace").await, created);
    assert_eq!(
        a.get("/api/v1/users/grace").await,
        created,
        "usernames ignore case"
    );
    assert_eq!(a.get(&format!("/api/v1/users/{subject}")).await, created);

    let taken = a
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "GRACE" })),
        )
        .await;
    assert_problem(&taken, 409, "conflict");

    a.s.advance(5);
    let updated = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/users/grace",
            Some(json!({ "name": "Rear Admiral Hopper", "groups": ["cobol", "navy"] })),
        )
        .await;
    assert_eq!(updated["name"], "Rear Admiral Hopper");
    assert_eq!(updated["groups"], json!(["cobol", "navy"]));
    assert_eq!(updated["email"], "grace@example.com", "absent fields stay");
    assert_eq!(updated["email_verified"], true);
    assert_eq!(updated["subject"], subject.as_str());
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_eq!(
        updated["updated_at"].as_u64(),
        created["updated_at"].as_u64().map(|t| t + 5)
    );
    let cleared = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/users/grace",
            Some(json!({ "name": "", "email": "", "email_verified": false })),
        )
        .await;
    assert_eq!(cleared["name"], Value::Null, "an empty string clears the name");
    assert_eq!(cleared["email"], Value::Null, "an empty string clears the email");
    assert_eq!(cleared["email_verified"], false);
    assert_eq!(a.get("/api/v1/users/grace").await, cleared);

    let without_password = a
        .expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "nopass" })),
        )
        .await;
    assert_eq!(without_password["has_password"], false);
    assert_eq!(without_password["groups"], json!([]));
    assert_eq!(without_password["name"], Value::Null);

    a.expect_done(Method::DELETE, "/api/v1/users/grace", None).await;
    assert_problem(
        &a.call(Method::GET, "/api/v1/users/grace", None).await,
        404,
        "not-found",
    );
    assert_problem(
        &a.call(Method::GET, &format!("/api/v1/users/{subject}"), None)
            .await,
        404,
        "not-found",
    );
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/users/grace", None).await,
        404,
        "not-found",
    );
    assert_eq!(
        usernames(&a.get("/api/v1/users").await),
        ["alice", "keeper", "nopass"]
    );
    // The username is free again, for a new person with a new subject.
    let again = a
        .expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "grace" })),
        )
        .await;
    assert_ne!(again["subject"], subject.as_str());
}

#[tokio::test]
async fn a_new_password_set_by_an_administrator_works_at_the_token_endpoint_and_the_old_one_does_not() {
    let mut a = Admin::new().await;
    let new_password = "alice's brand new passphrase";
    assert_eq!(
        password_grant(&mut a.s, "alice", PASSWORD, "openid").await.status,
        StatusCode::OK
    );
    a.expect_done(
        Method::PUT,
        "/api/v1/users/alice/password",
        Some(json!({ "password": new_password })),
    )
    .await;
    let old = password_grant(&mut a.s, "alice", PASSWORD, "openid").await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST, "{}", old.body);
    assert_eq!(old.json()["error"], "invalid_grant");
    let new = password_grant(&mut a.s, "alice", new_password, "openid").await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);

    // The login page takes the new password too.
    let page = a.s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let reply = a.s.login_from(&page, "alice", new_password).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);

    let short = a
        .call(
            Method::PUT,
            "/api/v1/users/alice/password",
            Some(json!({ "password": "short" })),
        )
        .await;
    assert_invalid_field(&short, "password");
    let nobody = a
        .call(
            Method::PUT,
            "/api/v1/users/nobody/password",
            Some(json!({ "password": new_password })),
        )
        .await;
    assert_problem(&nobody, 404, "not-found");
    // A user made without a password gets one.
    a.expect(
        201,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "late" })),
    )
    .await;
    a.expect_done(
        Method::PUT,
        "/api/v1/users/late/password",
        Some(json!({ "password": new_password })),
    )
    .await;
    assert_eq!(a.get("/api/v1/users/late").await["has_password"], true);
    assert_eq!(
        password_grant(&mut a.s, "late", new_password, "openid")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_loses_sessions_and_tokens_for_good() {
    let mut a = Admin::new().await;
    let code = a.s.code(&[("scope", "openid offline_access")]).await;
    let tokens = a.s.exchange(&code).await.json();
    let (access, refresh) = (
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert!(signed_in(&mut a.s).await);
    assert_eq!(a.s.introspect(&access).await["active"], true);

    let disabled = a
        .expect(200, Method::POST, "/api/v1/users/alice/disable", None)
        .await;
    assert_eq!(disabled["disabled"], true);
    assert_eq!(a.get("/api/v1/users/alice").await["disabled"], true);
    assert!(!signed_in(&mut a.s).await, "a disabled user's session ends");
    assert_eq!(
        a.get("/api/v1/users/alice/sessions").await,
        json!([]),
        "and is gone, not just unusable"
    );
    assert_eq!(
        a.s.introspect(&access).await["active"],
        false,
        "the access token stops"
    );
    assert_eq!(
        a.s.introspect(&refresh).await["active"],
        false,
        "the refresh token stops"
    );
    let userinfo =
        a.s.send(
            Method::GET,
            "/oauth/userinfo",
            None,
            &[("authorization", &format!("Bearer {access}"))],
        )
        .await;
    assert_eq!(userinfo.status, StatusCode::UNAUTHORIZED);
    let grant = password_grant(&mut a.s, "alice", PASSWORD, "openid").await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST, "{}", grant.body);
    assert_eq!(grant.json()["error"], "invalid_grant");
    let login = sign_in(&mut a.s, "alice", PASSWORD).await;
    assert_ne!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert!(login.body.contains("action=\"/login\""), "the form again");
    assert!(!signed_in(&mut a.s).await);

    let enabled = a
        .expect(200, Method::POST, "/api/v1/users/alice/enable", None)
        .await;
    assert_eq!(enabled["disabled"], false);
    // Nothing from before comes back.
    assert!(!signed_in(&mut a.s).await, "the old session stays ended");
    assert_eq!(a.s.introspect(&access).await["active"], false);
    let refreshed =
        a.s.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .await;
    assert_eq!(refreshed.status, StatusCode::BAD_REQUEST, "{}", refreshed.body);
    assert_eq!(refreshed.json()["error"], "invalid_grant");
    // A new sign-in works.
    assert_eq!(
        password_grant(&mut a.s, "alice", PASSWORD, "openid").await.status,
        StatusCode::OK
    );
    let login = sign_in(&mut a.s, "alice", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert!(signed_in(&mut a.s).await);
    for op in ["disable", "enable"] {
        let reply = a
            .call(Method::POST, &format!("/api/v1/users/nobody/{op}"), None)
            .await;
        assert_problem(&reply, 404, "not-found");
    }
}

#[tokio::test]
async fn a_deleted_user_loses_sessions_tokens_and_consents() {
    let mut a = Admin::new().await;
    let code = a.s.code(&[("scope", "openid offline_access")]).await;
    let tokens = a.s.exchange(&code).await.json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    a.expect_done(Method::DELETE, "/api/v1/users/alice", None).await;
    assert!(!signed_in(&mut a.s).await);
    assert_eq!(a.s.introspect(&access).await["active"], false);
    assert_eq!(a.s.introspect(&refresh).await["active"], false);
    // Someone new under the same name inherits nothing: no session, no consent.
    let new = a
        .expect(
            201,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "alice", "password": PASSWORD })),
        )
        .await;
    assert_eq!(a.get("/api/v1/users/alice/consents").await, json!([]));
    assert_eq!(a.get("/api/v1/users/alice/sessions").await, json!([]));
    assert!(new["subject"].is_string());
    let reply = a.s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let consent = a.s.login_from(&reply, "alice", PASSWORD).await;
    let consent = if consent.status == StatusCode::SEE_OTHER && consent.location().starts_with('/') {
        let next = consent.location().to_owned();
        a.s.get(&next).await
    } else {
        consent
    };
    assert!(
        consent.body.contains("action=\"/oauth/consent\""),
        "the new alice is asked for consent: {} {}",
        consent.status,
        consent.body
    );
}

/// Signs in as `username` on a fresh login page (for `web`), following a redirect to it.
async fn sign_in(s: &mut InProc, username: &str, password: &str) -> Reply {
    let mut page = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    if page.status == StatusCode::SEE_OTHER && page.location().starts_with('/') {
        let next = page.location().to_owned();
        page = s.get(&next).await;
    }
    s.login_from(&page, username, password).await
}

/// Deleting, disabling or taking `admins` from the last enabled administrator would lock everyone
/// out of the console and the admin API: each is a 409 that says why, until a second
/// administrator exists.
#[tokio::test]
async fn the_last_administrator_cannot_be_deleted_disabled_or_demoted() {
    let mut a = Admin::new().await;
    add_admin(&a.s, "root").await;
    let refusals = [
        (Method::DELETE, "/api/v1/users/root", None),
        (Method::POST, "/api/v1/users/root/disable", None),
        (
            Method::PATCH,
            "/api/v1/users/root",
            Some(json!({ "groups": ["staff"] })),
        ),
    ];
    for (method, path, body) in refusals.clone() {
        let reply = a.call(method.clone(), path, body).await;
        let problem = assert_problem(&reply, 409, "conflict");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("last enabled member of `admins`"),
            "{method} {path}: {problem}"
        );
    }
    let root = a.get("/api/v1/users/root").await;
    assert_eq!(
        (root["disabled"].clone(), root["groups"].clone()),
        (json!(false), json!(["admins"]))
    );

    add_admin(&a.s, "second").await;
    a.expect(
        200,
        Method::PATCH,
        "/api/v1/users/root",
        Some(json!({ "groups": ["staff"] })),
    )
    .await;
    let refused = a.call(Method::DELETE, "/api/v1/users/second", None).await;
    assert_problem(&refused, 409, "conflict");
}
