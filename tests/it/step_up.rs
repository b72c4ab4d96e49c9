//! Step-up and the OpenID Connect side of two factors: the ID token's `acr`/`amr`, `max_age=0`,
//! `acr_values=2fa` and a client's `require_factors = 2` sending a session of one factor back to
//! sign in, discovery, the admin API's field, and the password grant's refusals.

use latchkey::domain::TotpRecord;
use latchkey::service::clients;
use poem::http::{Method, StatusCode};
use serde_json::json;

use crate::admin_fixture::{Admin, password_grant};
use crate::harness::{Server, assert_failure, stdout};
use crate::inproc::{InProc, PASSWORD, REDIRECT, Reply, VERIFIER, basic, claims};

/// The secret of `strict`, a confidential client with `require_factors = 2`.
const STRICT_SECRET: &str = "strict-client-secret-0123456789-abcdefghijkl";
const STRICT_REDIRECT: &str = "https://strict.example.com/cb";

fn strict_client() -> String {
    format!(
        r#"
[[client]]
client_id = "strict"
name = "Strict App"
redirect_uris = ["{STRICT_REDIRECT}"]
grant_types = ["authorization_code", "password"]
scopes = ["openid", "profile"]
secret_digest = "{digest}"
require_factors = 2
"#,
        digest = clients::digest_text(STRICT_SECRET)
    )
}

/// Whether the reply is the login page.
fn is_login_page(reply: &Reply) -> bool {
    reply.status == StatusCode::OK && reply.body.contains("action=\"/login\"")
}

/// Signs alice in through a code flow at `web` and returns the ID token's claims.
async fn id_token_claims(s: &mut InProc, extra: &[(&str, &str)]) -> serde_json::Value {
    let code = s.code(extra).await;
    let tokens = s.exchange(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    claims(tokens.json()["id_token"].as_str().expect("an ID token"))
}

/// Gives alice a TOTP record straight in the store (the enrolment pages are another area's).
fn enrol_totp(s: &InProc) {
    let now = s.app.clock.now();
    s.app
        .store
        .write(|tx| {
            let alice = tx.user_by_username_key("alice")?.expect("alice exists");
            tx.put_totp(&TotpRecord {
                subject: alice.subject,
                seed: "sealed-seed".into(),
                created_at: now,
                last_step: 0,
            })
        })
        .expect("the TOTP record is stored");
}

#[tokio::test]
async fn a_password_only_sign_in_gets_acr_1fa_and_amr_pwd_in_the_id_token() {
    let mut s = InProc::new("").await;
    let c = id_token_claims(&mut s, &[("nonce", "n-1")]).await;
    assert_eq!(c["acr"], "1fa", "{c}");
    assert_eq!(c["amr"], json!(["pwd"]), "{c}");
}

#[tokio::test]
async fn discovery_lists_the_acr_values_and_the_acr_claim() {
    let mut s = InProc::new("").await;
    let reply = s.get("/.well-known/openid-configuration").await;
    assert_eq!(reply.status, StatusCode::OK);
    let meta = reply.json();
    assert_eq!(meta["acr_values_supported"], json!(["1fa", "2fa"]));
    let claims = meta["claims_supported"].as_array().expect("a list");
    assert!(
        claims.contains(&json!("acr")) && claims.contains(&json!("amr")),
        "{meta}"
    );
}

#[tokio::test]
async fn max_age_0_shows_the_login_page_even_with_a_live_session() {
    let mut s = InProc::new("").await;
    id_token_claims(&mut s, &[]).await;
    // The session is live: an ordinary request gets its code without a page.
    let again = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert!(again.location_param("code").is_some(), "{}", again.location());
    // max_age=0 asks for a sign-in now, even in the same second.
    let page = s
        .get(&InProc::authorize_uri("web", REDIRECT, &[("max_age", "0")]))
        .await;
    assert!(is_login_page(&page), "{} {}", page.status, page.body);
    // Signing in satisfies it: the resumed request gets its code.
    let signed_in = s.login_from(&page, "alice", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
    let resumed = s.get(signed_in.location()).await;
    assert!(resumed.location_param("code").is_some(), "{}", resumed.location());
    let silent = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("max_age", "0"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(silent.location_param("error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn acr_values_2fa_with_a_password_only_session_shows_the_login_page() {
    let mut s = InProc::new("").await;
    id_token_claims(&mut s, &[]).await;
    let page = s
        .get(&InProc::authorize_uri("web", REDIRECT, &[("acr_values", "2fa")]))
        .await;
    assert!(is_login_page(&page), "{} {}", page.status, page.body);
    let silent = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("acr_values", "2fa"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(silent.status, StatusCode::SEE_OTHER);
    assert_eq!(silent.location_param("error").as_deref(), Some("login_required"));
    // Values Latchkey does not know are ignored, and 1fa is what the session has.
    for acr in ["gold", "1fa", "2fa 1fa"] {
        let ok = s
            .get(&InProc::authorize_uri("web", REDIRECT, &[("acr_values", acr)]))
            .await;
        assert!(
            ok.location_param("code").is_some(),
            "{acr}: {} {}",
            ok.status,
            ok.body
        );
    }
}

#[tokio::test]
async fn a_client_requiring_two_factors_sends_a_password_only_session_back_to_sign_in() {
    let mut s = InProc::new(&strict_client()).await;
    id_token_claims(&mut s, &[]).await;
    let page = s
        .get(&InProc::authorize_uri("strict", STRICT_REDIRECT, &[]))
        .await;
    assert!(is_login_page(&page), "{} {}", page.status, page.body);
    let silent = s
        .get(&InProc::authorize_uri(
            "strict",
            STRICT_REDIRECT,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(silent.location_param("error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn a_client_requiring_two_factors_does_not_let_a_password_alone_complete_the_sign_in() {
    let mut s = InProc::new(&strict_client()).await;
    let page = s
        .get(&InProc::authorize_uri("strict", STRICT_REDIRECT, &[]))
        .await;
    assert!(is_login_page(&page), "{} {}", page.status, page.body);
    let before = s.cookies().clone();
    let after = s.login_from(&page, "alice", PASSWORD).await;
    // The password was right, but alice has no second factor: no session, no way back to the
    // client with a code.
    let to_client = after.status == StatusCode::SEE_OTHER && after.location().starts_with("/oauth/authorize");
    assert!(!to_client, "{} {:?}", after.status, after.headers);
    assert_eq!(
        s.cookies().keys().filter(|k| k.contains("session")).count(),
        before.keys().filter(|k| k.contains("session")).count(),
        "no session cookie: {:?}",
        s.cookies()
    );
}

#[tokio::test]
async fn the_two_factor_wish_comes_from_the_authorization_request_not_from_the_form() {
    let mut s = InProc::new(&strict_client()).await;
    // A login form posted with an ordinary return address signs in with one factor ...
    let page = s.get("/login").await;
    let plain = s.login_from(&page, "alice", PASSWORD).await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER, "{}", plain.body);
    // ... and that session is still not enough for the strict client, whose request asks again.
    let step_up = s
        .get(&InProc::authorize_uri("strict", STRICT_REDIRECT, &[]))
        .await;
    assert!(is_login_page(&step_up), "{} {}", step_up.status, step_up.body);
}

#[tokio::test]
async fn the_password_grant_refuses_a_client_requiring_two_factors_before_the_password() {
    let mut a = Admin::with(&strict_client()).await;
    for password in [PASSWORD, "wrong password"] {
        let reply =
            a.s.post_with(
                "/oauth/token",
                &[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", password),
                    ("scope", "openid"),
                ],
                &[("authorization", &basic("strict", STRICT_SECRET))],
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["error"], "unauthorized_client", "{body}");
        let said = body["error_description"].as_str().unwrap_or("");
        assert!(
            said.contains("two factors") && said.contains("password grant"),
            "{said}"
        );
    }
    // The client's other grant is unaffected, and the ordinary password client still works.
    let ok = password_grant(&mut a.s, "alice", PASSWORD, "openid").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn the_password_grant_refuses_a_user_with_a_second_factor_and_says_why() {
    let mut a = Admin::new().await;
    enrol_totp(&a.s);
    let reply = password_grant(&mut a.s, "alice", PASSWORD, "openid").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(
        body["error_description"],
        "this account signs in with a second factor, which the password grant cannot ask for"
    );
    // A wrong password still says only that: nothing about factors before the password.
    let wrong = password_grant(&mut a.s, "alice", "wrong password", "openid").await;
    assert_eq!(wrong.json()["error_description"], "invalid username or password");
}

#[tokio::test]
async fn require_factors_is_set_and_shown_through_the_admin_api_and_only_1_or_2() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "client_id": "vault",
                "redirect_uris": ["https://vault.example.com/cb"],
                "scopes": ["openid"],
                "require_factors": 2,
            })),
        )
        .await;
    assert_eq!(created["require_factors"], 2, "{created}");
    assert_eq!(a.get("/api/v1/clients/vault").await["require_factors"], 2);
    assert_eq!(a.get("/api/v1/clients/web").await["require_factors"], 1);
    for bad in [0, 3] {
        let refused = a
            .call(
                Method::PATCH,
                "/api/v1/clients/vault",
                Some(json!({ "require_factors": bad })),
            )
            .await;
        assert_eq!(refused.status.as_u16(), 400, "{bad}: {}", refused.body);
    }
    let patched = a
        .expect(
            200,
            Method::PATCH,
            "/api/v1/clients/vault",
            Some(json!({ "require_factors": 1 })),
        )
        .await;
    assert_eq!(patched["require_factors"], 1, "{patched}");
}

/// The CLI's side: `client add --require-factors 2`, `client update --require-factors 1`, the
/// text view, and a count other than 1 or 2 refused by the flag itself.
#[test]
fn client_add_and_client_update_take_require_factors() {
    let server = Server::new();
    let added = server.cli_json(&[
        "client",
        "add",
        "vault",
        "--redirect-uri",
        "https://vault.example.com/cb",
        "--require-factors",
        "2",
        "--json",
    ]);
    assert_eq!(added["require_factors"], 2, "{added}");
    let shown = stdout(&server.cli(&["client", "show", "vault"]));
    assert!(shown.contains("require_factors: 2"), "{shown}");
    let updated = server.cli_json(&["client", "update", "vault", "--require-factors", "1", "--json"]);
    assert_eq!(updated["require_factors"], 1, "{updated}");
    let refused = assert_failure(&server.cli(&["client", "update", "vault", "--require-factors", "3"]));
    assert!(refused.contains("--require-factors"), "{refused}");
}

/// The text between `start` and the next `<` after it in `body`.
fn text_after(body: &str, start: &str) -> String {
    let from = body.find(start).unwrap_or_else(|| panic!("no {start} in {body}")) + start.len();
    let to = body[from..].find('<').expect("the element closes") + from;
    body[from..to].to_owned()
}

/// The current TOTP code for a base32 key, at the server's (fixed) clock.
fn totp_code(s: &InProc, key: &str) -> String {
    let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    let seed = totp_rs::Secret::try_from_base32(&compact).expect("a base32 key");
    // Computed by totp-rs itself (RFC 6238: SHA-1, six digits, 30 s), as an authenticator app would.
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(seed.as_ref().to_vec())
        .build_noncompliant()
        .generate(s.app.clock.now().0)
        .to_string()
}

/// Follows the browser's redirects inside the server until a page answers.
async fn follow(s: &mut InProc, mut reply: Reply) -> Reply {
    while reply.status == StatusCode::SEE_OTHER && reply.location().starts_with('/') {
        let next = reply.location().to_owned();
        reply = s.get(&next).await;
    }
    reply
}

#[tokio::test]
async fn a_client_requiring_two_factors_has_a_password_only_user_enrol_totp_and_gets_acr_2fa() {
    let mut s = InProc::new(&strict_client()).await;
    let page = s
        .get(&InProc::authorize_uri(
            "strict",
            STRICT_REDIRECT,
            &[("nonce", "n-2")],
        ))
        .await;
    assert!(is_login_page(&page), "{} {}", page.status, page.body);
    let after_password = s.login_from(&page, "alice", PASSWORD).await;
    let enrol = follow(&mut s, after_password).await;
    assert!(
        enrol.body.contains("id=\"enrol-form\""),
        "{} {}",
        enrol.status,
        enrol.body
    );
    let key = text_after(&enrol.body, "<code id=\"secret\" class=\"secret\">");
    let code = totp_code(&s, &key);
    let confirmed = s
        .post(
            "/login/factor/enrol",
            &[
                ("csrf", &enrol.field("csrf")),
                ("enrolment", &enrol.field("enrolment")),
                ("code", &code),
            ],
        )
        .await;
    // Signed in with two factors: back to the request, which asks for consent.
    let consent = follow(&mut s, confirmed).await;
    assert!(
        consent.body.contains("action=\"/oauth/consent\""),
        "{} {}",
        consent.status,
        consent.body
    );
    let back = s
        .post(
            "/oauth/consent",
            &[
                ("csrf", &consent.field("csrf")),
                ("request", &consent.field("request")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let code = back
        .location_param("code")
        .unwrap_or_else(|| panic!("no code in {}", back.location()));
    let tokens = s
        .post_with(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", STRICT_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            &[("authorization", &basic("strict", STRICT_SECRET))],
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let c = claims(tokens.json()["id_token"].as_str().expect("an ID token"));
    assert_eq!(c["acr"], "2fa", "{c}");
    let amr = c["amr"].as_array().expect("amr is a list");
    for method in ["pwd", "otp", "mfa"] {
        assert!(amr.contains(&json!(method)), "{method} in {c}");
    }
    // The session now has two factors: the strict client gets its code without a page.
    let again = s
        .get(&InProc::authorize_uri("strict", STRICT_REDIRECT, &[]))
        .await;
    assert!(
        again.location_param("code").is_some(),
        "{} {}",
        again.status,
        again.body
    );
}
