//! The link policies that decide which local user an upstream identity becomes, and plain OAuth 2.0 providers.

use super::*;

#[tokio::test]
async fn existing_only_refuses_until_an_administrator_links_the_identity_then_signs_in_as_alice() {
    let (mut s, fake) = setup("existing-only", "", dana()).await;
    let before = Before::of(&s);
    let refused = sign_in(&mut s, &fake).await;
    before.assert_refused(
        &s,
        &refused,
        StatusCode::FORBIDDEN,
        "not linked",
        "not linked yet",
    );

    let view = upstream_links::link(&s.app, "alice".into(), "fake".into(), SUB.into())
        .await
        .expect("the link");
    assert_eq!(view.last_used, None);
    s.switch_browser(BTreeMap::new());
    let back = sign_in(&mut s, &fake).await;
    let id = id_token_after(&mut s, back).await;
    assert_eq!(id["sub"], user(&s, "alice").subject.as_str());
    assert_eq!(Before::of(&s).users, before.users, "no user created");
    let alice = links(&s, "alice").await;
    assert_eq!(alice.len(), 1);
    assert_eq!(alice[0].last_used, Some(s.app.clock.now()));
}

#[tokio::test]
async fn unlinking_an_identity_stops_it_signing_in() {
    let (mut s, fake) = setup("existing-only", "", dana()).await;
    upstream_links::link(&s.app, "alice".into(), "fake".into(), SUB.into())
        .await
        .expect("the link");
    let ok = sign_in(&mut s, &fake).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    upstream_links::unlink(&s.app, "alice".into(), "fake".into(), SUB.into())
        .await
        .expect("the unlink");
    assert!(links(&s, "alice").await.is_empty());
    s.switch_browser(BTreeMap::new());
    let before = Before::of(&s);
    let refused = sign_in(&mut s, &fake).await;
    before.assert_refused(&s, &refused, StatusCode::FORBIDDEN, "not linked", "after unlink");
}

/// Adds a user `erin` (email `erin@example.com`, verified) with no password, in `groups`: one
/// whom `link-by-email` may link, unless she is an administrator.
async fn add_erin(s: &InProc, groups: &[&str]) {
    let new = latchkey::domain::NewUser {
        username: "erin".into(),
        name: Some("Erin".into()),
        email: Some("erin@example.com".into()),
        email_verified: true,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    };
    latchkey::service::users::add(&s.app, new, None)
        .await
        .expect("erin added");
}

#[tokio::test]
async fn link_by_email_links_a_passwordless_user_when_the_provider_verified_her_email() {
    let mut person = dana();
    person["email"] = json!("Erin@Example.com");
    let (mut s, fake) = setup("link-by-email", "", person).await;
    add_erin(&s, &["readers"]).await;
    let before = Before::of(&s);
    let back = sign_in(&mut s, &fake).await;
    let id = id_token_after(&mut s, back).await;
    assert_eq!(id["sub"], user(&s, "erin").subject.as_str());
    assert_eq!(Before::of(&s).users, before.users, "no user created");
    let erin = links(&s, "erin").await;
    assert_eq!(erin.len(), 1);
    assert_eq!(erin[0].upstream_subject, SUB);
}

#[tokio::test]
async fn link_by_email_never_links_an_administrator_or_a_user_with_a_password() {
    // Security review #12, item 9: the upstream's word about an email was enough to sign in as
    // an administrator. Alice has a password; erin has none but is in `admins`.
    for (case, email) in [
        ("a password", "alice@example.com"),
        ("admins", "erin@example.com"),
    ] {
        let mut person = dana();
        person["email"] = json!(email);
        let (mut s, fake) = setup("link-by-email", "", person).await;
        add_erin(&s, &["admins"]).await;
        let before = Before::of(&s);
        let reply = sign_in(&mut s, &fake).await;
        before.assert_refused(
            &s,
            &reply,
            StatusCode::FORBIDDEN,
            "must be linked to your account by an administrator",
            case,
        );
        assert!(links(&s, "alice").await.is_empty(), "{case}");
        assert!(links(&s, "erin").await.is_empty(), "{case}");

        // An administrator's explicit link still lets the identity in.
        let username = if email.starts_with("alice") {
            "alice"
        } else {
            "erin"
        };
        upstream_links::link(&s.app, username.into(), "fake".into(), SUB.into())
            .await
            .expect("the link");
        s.switch_browser(BTreeMap::new());
        let back = sign_in(&mut s, &fake).await;
        let id = id_token_after(&mut s, back).await;
        assert_eq!(id["sub"], user(&s, username).subject.as_str(), "{case}");
    }
}

#[tokio::test]
async fn link_by_email_never_links_a_user_already_linked_to_another_identity() {
    let mut person = dana();
    person["email"] = json!("erin@example.com");
    let (mut s, fake) = setup("link-by-email", "", person).await;
    add_erin(&s, &[]).await;
    upstream_links::link(&s.app, "erin".into(), "fake".into(), "another-subject".into())
        .await
        .expect("the link");
    let before = Before::of(&s);
    let reply = sign_in(&mut s, &fake).await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::FORBIDDEN,
        "must be linked to your account by an administrator",
        "linked elsewhere",
    );
    assert_eq!(links(&s, "erin").await.len(), 1);
}

#[tokio::test]
async fn link_by_email_never_links_a_user_with_a_passkey_or_an_authenticator_app() {
    use latchkey::domain::{PasskeyRecord, Timestamp, TotpRecord};
    for factor in ["passkey", "totp"] {
        let mut person = dana();
        person["email"] = json!("erin@example.com");
        let (mut s, fake) = setup("link-by-email", "", person).await;
        add_erin(&s, &[]).await;
        let erin = s
            .app
            .store
            .read(|tx| tx.user_by_username_key("erin"))
            .map_err(|e: latchkey::store::StoreError| e)
            .unwrap()
            .unwrap();
        s.app
            .store
            .write(|tx| -> Result<(), latchkey::store::StoreError> {
                match factor {
                    "passkey" => tx.put_passkey(&PasskeyRecord {
                        subject: erin.subject.clone(),
                        credential_id: "erin-key".into(),
                        name: "Phone".into(),
                        credential: "{}".into(),
                        backup_eligible: false,
                        backup_state: false,
                        created_at: Timestamp(1),
                        last_used_at: None,
                    }),
                    _ => tx.put_totp(&TotpRecord {
                        subject: erin.subject.clone(),
                        seed: "sealed".into(),
                        created_at: Timestamp(1),
                        last_step: 0,
                    }),
                }
            })
            .unwrap();
        let before = Before::of(&s);
        let reply = sign_in(&mut s, &fake).await;
        before.assert_refused(
            &s,
            &reply,
            StatusCode::FORBIDDEN,
            "must be linked to your account by an administrator",
            factor,
        );
        assert!(links(&s, "erin").await.is_empty(), "{factor}");
    }
}

#[tokio::test]
async fn link_by_email_refuses_an_email_the_provider_did_not_verify() {
    for (case, verified) in [("false", Some(json!(false))), ("missing", None)] {
        let mut person = dana();
        person["email"] = json!("alice@example.com");
        match verified {
            Some(v) => person["email_verified"] = v,
            None => {
                person.as_object_mut().unwrap().remove("email_verified");
            }
        }
        let (mut s, fake) = setup("link-by-email", "", person).await;
        let before = Before::of(&s);
        let reply = sign_in(&mut s, &fake).await;
        before.assert_refused(
            &s,
            &reply,
            StatusCode::FORBIDDEN,
            "did not confirm your email",
            case,
        );
        assert!(links(&s, "alice").await.is_empty(), "{case}");
    }
}

#[tokio::test]
async fn an_id_token_with_email_verified_as_the_string_true_links_by_email() {
    let mut person = dana();
    person["email"] = json!("erin@example.com");
    person["email_verified"] = json!("true");
    let (mut s, fake) = setup("link-by-email", "", person).await;
    add_erin(&s, &[]).await;
    let reply = sign_in(&mut s, &fake).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let linked = links(&s, "erin").await;
    assert_eq!(
        linked.len(),
        1,
        "some providers send booleans as strings: {linked:?}"
    );
}

#[tokio::test]
async fn an_id_token_whose_email_verified_is_not_a_boolean_is_refused() {
    let mut person = dana();
    person["email"] = json!("alice@example.com");
    person["email_verified"] = json!("yes");
    let (mut s, fake) = setup("link-by-email", "", person).await;
    let before = Before::of(&s);
    let reply = sign_in(&mut s, &fake).await;
    // The openidconnect crate reads the standard claims strictly, so the ID token is unreadable.
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "could not be trusted",
        "a string",
    );
    assert!(links(&s, "alice").await.is_empty());
}

#[tokio::test]
async fn an_upstream_sign_in_replaces_the_browsers_previous_session() {
    let (mut s, fake) = setup("create", "", dana()).await;
    s.authorize(&authorize_request()).await;
    let old = s
        .cookies()
        .get("__Host-latchkey-session")
        .cloned()
        .expect("alice's session");
    assert_eq!(Before::of(&s).sessions, 1);
    let back = sign_in(&mut s, &fake).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let new = s
        .cookies()
        .get("__Host-latchkey-session")
        .cloned()
        .expect("a new session");
    assert_ne!(new, old);
    let sessions = s.app.store.read(|tx| tx.sessions()).unwrap();
    assert_eq!(sessions.len(), 1, "alice's session ended: {sessions:?}");
    assert_eq!(sessions[0].1.subject, user(&s, "dana").subject);
}

#[tokio::test]
async fn an_answer_meant_for_another_upstream_is_refused() {
    let (mut s, fake) = setup(
        "create",
        &format!(
            "[[upstream]]\nname = \"other\"\nkind = \"oidc\"\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nlink = \"create\"\n",
            "http://127.0.0.1:9"
        ),
        dana(),
    )
    .await;
    let before = Before::of(&s);
    let a = start_and_approve(&mut s, &fake).await;
    let reply = s
        .get(&format!(
            "/login/upstream/other/callback?{}",
            form(&[("code", &a.code), ("state", &a.state)])
        ))
        .await;
    before.assert_refused(
        &s,
        &reply,
        StatusCode::BAD_REQUEST,
        "another provider",
        "fake's state at other",
    );
    let home = s.get(&fake.callback(&a)).await;
    before.assert_refused(&s, &home, StatusCode::BAD_REQUEST, "already used", "back at fake");
}

// A plain OAuth 2.0 provider.

#[tokio::test]
async fn a_plain_oauth2_provider_maps_githubs_claims_to_a_new_user_with_an_unverified_email() {
    let octocat =
        json!({"id": 583231, "login": "octocat", "name": "The Octocat", "email": "octo@example.com"});
    let (mut s, fake) = setup_with(
        |base, secret| {
            format!(
                r#"
[[upstream]]
name = "fake"
display_name = "GitHub"
kind = "oauth2"
authorization_url = "{base}/login/oauth/authorize"
token_url = "{base}/login/oauth/access_token"
userinfo_url = "{base}/user"
client_id = "{CLIENT_ID}"
client_secret_file = '{secret}'
scopes = ["read:user", "user:email"]
link = "create"
[upstream.claims]
subject = "id"
username = "login"
"#
            )
        },
        octocat,
    )
    .await;
    let users_before = Before::of(&s).users;
    let location = start(&mut s).await;
    assert!(location.contains("scope=read%3Auser+user%3Aemail"), "{location}");
    let a = fake.approve(&location);
    let back = s
        .get(&callback_with(&[("code", &a.code), ("state", &a.state)]))
        .await;
    assert_eq!(
        back.status,
        StatusCode::SEE_OTHER,
        "{} {:?}",
        back.body,
        fake.refusals()
    );
    let id = id_token_after(&mut s, back).await;

    let octo = user(&s, "octocat");
    assert_eq!(id["sub"], octo.subject.as_str());
    assert_eq!(id["email"], "octo@example.com");
    assert_eq!(id["email_verified"], false);
    assert_eq!(octo.name.as_deref(), Some("The Octocat"));
    assert_eq!(octo.email.as_deref(), Some("octo@example.com"));
    assert!(
        !octo.email_verified,
        "GitHub's /user does not say the email is verified"
    );
    assert_eq!(Before::of(&s).users, users_before + 1);
    let link = links(&s, "octocat").await;
    assert_eq!(link.len(), 1);
    assert_eq!(link[0].upstream_subject, "583231");
}
