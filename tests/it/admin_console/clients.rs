//! `/admin/clients`: registering a client shows its secret once and the client works with it;
//! edits take effect at the next request; a new secret replaces the old one; deletion asks first;
//! destructive actions need a fresh sign-in; a client declared in the configuration is read-only.

use latchkey::service::admin::{Actor, ClientShow, execute_as};

use super::{ROOT, console, post_from};
use crate::inproc::{InProc, PASSWORD, Reply, basic};

const OLD: &str = "https://ci.example.com/cb";
const NEW: &str = "https://ci.example.com/new";

/// Registers the confidential client `ci` through the form; returns the answer page.
async fn register(ip: &mut InProc) -> Reply {
    let list = ip.get("/admin/clients").await;
    assert_eq!(list.status, 200, "{}", list.body);
    post_from(
        ip,
        &list,
        "/admin/clients",
        &[
            ("client_id", "ci"),
            ("name", "Continuous Integration"),
            ("kind", "confidential"),
            ("redirect_uris", &format!("{OLD}\n\n")),
            ("scopes", "openid profile"),
            ("grant_types", "authorization_code"),
            ("grant_types", "client_credentials"),
            ("alg", "EdDSA"),
            ("require_factors", "1"),
        ],
    )
    .await
}

/// A client-credentials token request as `ci` with `secret`: its status.
async fn token_with(ip: &mut InProc, secret: &str) -> u16 {
    ip.post_with(
        "/oauth/token",
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic("ci", secret))],
    )
    .await
    .status
    .as_u16()
}

#[tokio::test]
async fn a_registered_clients_secret_is_shown_once_and_works_at_the_token_endpoint() {
    let mut ip = console().await;
    let created = register(&mut ip).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    assert!(created.body.contains("readonly"), "{}", created.body);
    let secret = created.field("client_secret");
    assert!(secret.len() >= 43, "{secret}");
    assert_eq!(token_with(&mut ip, &secret).await, 200);
    assert_eq!(token_with(&mut ip, "not-the-secret").await, 401);
    // Never again: not on the client's page, not in the list.
    for page in ["/admin/clients/ci", "/admin/clients"] {
        let shown = ip.get(page).await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        assert!(!shown.body.contains(&secret), "{page}: {}", shown.body);
        assert!(shown.body.contains("ci"), "{}", shown.body);
    }
    let feed = latchkey::service::audit::list(&ip.app, None, Some(500))
        .await
        .unwrap();
    let entry = feed
        .items
        .iter()
        .find(|e| e.action == "client.create")
        .expect("audited");
    assert_eq!(
        (entry.actor.as_str(), entry.target.as_deref()),
        (ROOT, Some("ci"))
    );
}

#[tokio::test]
async fn an_edited_redirect_uri_takes_effect_at_the_next_authorization_request() {
    let mut ip = console().await;
    register(&mut ip).await;
    let page = ip.get("/admin/clients/ci").await;
    assert!(page.body.contains(OLD), "{}", page.body);
    let saved = post_from(
        &mut ip,
        &page,
        "/admin/clients/ci",
        &[
            ("name", "Continuous Integration"),
            ("redirect_uris", NEW),
            ("scopes", "openid profile"),
            ("grant_types", "authorization_code"),
            ("grant_types", "client_credentials"),
            ("require_factors", "1"),
            ("alg", "RS256"),
            ("post_logout_redirect_uris", "https://ci.example.com/bye"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let shown = execute_as(
        &ip.app,
        &Actor::cli(),
        ClientShow {
            client_id: "ci".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(shown.redirect_uris, [NEW]);
    assert_eq!(shown.post_logout_redirect_uris, ["https://ci.example.com/bye"]);
    assert_eq!(shown.id_token_signed_response_alg.as_str(), "RS256");
    assert!(
        latchkey::service::keys::list(&ip.app)
            .await
            .unwrap()
            .iter()
            .any(|k| k.alg == "RS256"),
        "the RSA key is published before the first ID token it signs"
    );
    assert_eq!(saved.location(), "/admin/clients/ci?saved=1");
    let after = ip.get("/admin/clients/ci?saved=1").await;
    assert!(after.body.contains("The changes were saved"), "{}", after.body);

    let refused = ip.get(&InProc::authorize_uri("ci", OLD, &[])).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.header("location").is_none());
    let accepted = ip
        .authorize_as(&InProc::authorize_uri("ci", NEW, &[]), ROOT, PASSWORD)
        .await;
    assert!(
        accepted.location().starts_with(&format!("{NEW}?code=")),
        "{}",
        accepted.location()
    );
}

#[tokio::test]
async fn a_new_secret_replaces_the_old_one_after_a_fresh_sign_in() {
    let mut ip = console().await;
    let old = register(&mut ip).await.field("client_secret");
    let page = ip.get("/admin/clients/ci").await;
    let rotated = post_from(&mut ip, &page, "/admin/clients/ci/rotate", &[]).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new = rotated.field("client_secret");
    assert_ne!(new, old);
    assert_eq!(token_with(&mut ip, &old).await, 401);
    assert_eq!(token_with(&mut ip, &new).await, 200);

    ip.advance(3600);
    let stale = post_from(&mut ip, &page, "/admin/clients/ci/rotate", &[]).await;
    assert_eq!(stale.status, 303, "{}", stale.body);
    assert_eq!(
        stale.location(),
        "/login?return_to=%2Fadmin%2Fclients%2Fci&fresh=1"
    );
    assert_eq!(token_with(&mut ip, &new).await, 200, "nothing rotated");
}

#[tokio::test]
async fn deleting_a_client_asks_first_needs_a_fresh_sign_in_and_ends_its_secret() {
    let mut ip = console().await;
    let secret = register(&mut ip).await.field("client_secret");
    let confirm = ip.get("/admin/clients/ci/delete").await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm.body.contains(r#"name="confirm" value="yes""#),
        "{}",
        confirm.body
    );
    // Without the confirmation, the question again and nothing deleted.
    let asked = post_from(&mut ip, &confirm, "/admin/clients/ci/delete", &[]).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert_eq!(token_with(&mut ip, &secret).await, 200);

    ip.advance(3600);
    let stale = post_from(
        &mut ip,
        &confirm,
        "/admin/clients/ci/delete",
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(stale.status, 303, "{}", stale.body);
    assert_eq!(
        stale.location(),
        "/login?return_to=%2Fadmin%2Fclients%2Fci%2Fdelete&fresh=1"
    );
    assert_eq!(token_with(&mut ip, &secret).await, 200, "not deleted yet");

    let again = ip
        .get("/login?return_to=%2Fadmin%2Fclients%2Fci%2Fdelete&fresh=1")
        .await;
    let signed = ip.login_from(&again, ROOT, PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let confirm = ip.get("/admin/clients/ci/delete").await;
    let deleted = post_from(
        &mut ip,
        &confirm,
        "/admin/clients/ci/delete",
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert_eq!(deleted.location(), "/admin/clients?deleted=ci");
    assert_eq!(token_with(&mut ip, &secret).await, 401);
    let gone = execute_as(
        &ip.app,
        &Actor::cli(),
        ClientShow {
            client_id: "ci".into(),
        },
    )
    .await;
    assert!(gone.is_err());
    assert_eq!(ip.get("/admin/clients/ci").await.status, 404);
}

#[tokio::test]
async fn a_client_declared_in_the_configuration_is_read_only_and_its_changes_are_refused() {
    let mut ip = console().await;
    let page = ip.get("/admin/clients/web").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("declared in the configuration file"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(r#"action="/admin/clients/web""#),
        "{}",
        page.body
    );
    assert!(!page.body.contains("/admin/clients/web/rotate"), "{}", page.body);
    let list = ip.get("/admin/clients").await;
    let before = execute_as(
        &ip.app,
        &Actor::cli(),
        ClientShow {
            client_id: "web".into(),
        },
    )
    .await
    .unwrap();
    let edited = post_from(
        &mut ip,
        &list,
        "/admin/clients/web",
        &[
            ("name", "Taken Over"),
            ("redirect_uris", "https://evil.example/cb"),
        ],
    )
    .await;
    assert_eq!(edited.status, 409, "{}", edited.body);
    let rotated = post_from(&mut ip, &list, "/admin/clients/web/rotate", &[]).await;
    assert_eq!(rotated.status, 409, "{}", rotated.body);
    let deleted = post_from(&mut ip, &list, "/admin/clients/web/delete", &[("confirm", "yes")]).await;
    assert_eq!(deleted.status, 409, "{}", deleted.body);
    let after = execute_as(
        &ip.app,
        &Actor::cli(),
        ClientShow {
            client_id: "web".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(after, before);
    // The configured secret still works.
    let ok = ip.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}
