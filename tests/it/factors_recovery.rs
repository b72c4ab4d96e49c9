//! Recovery codes through the real routes (in process, fixed clock): ten codes shown once on
//! `/account/recovery`, each good for one sign-in at `/login/factor`, the count of those left,
//! the audit entries, and new codes only after a fresh sign-in.

use latchkey::service::audit;
use poem::http::StatusCode;

use crate::factors_totp::{PENDING, SESSION, alice_with_totp, element_text, enrol, password, session_amr};
use crate::inproc::{InProc, Reply};

/// The codes a recovery page shows.
fn shown_codes(page: &Reply) -> Vec<String> {
    let at = page
        .body
        .find("id=\"recovery-codes\"")
        .unwrap_or_else(|| panic!("no codes in {}", page.body));
    let list = &page.body[at..page.body[at..].find("</ol>").unwrap() + at];
    list.split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_owned())
        .collect()
}

/// Makes codes for the signed-in browser.
async fn make_codes(s: &mut InProc) -> Vec<String> {
    let page = s.get("/account/recovery").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let made = s
        .post("/account/recovery", &[("csrf", &page.field("csrf"))])
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    shown_codes(&made)
}

/// Signs in with the password and then `code` on the recovery form.
async fn with_recovery_code(s: &mut InProc, code: &str) -> Reply {
    s.switch_browser(Default::default());
    let first = password(s, "alice").await;
    assert_eq!(first.location(), "/login/factor");
    let page = s.get("/login/factor").await;
    assert!(page.body.contains("recovery-form"), "{}", page.body);
    s.post(
        "/login/factor",
        &[
            ("csrf", &page.field("csrf")),
            ("method", "recovery"),
            ("code", code),
        ],
    )
    .await
}

async fn audit_targets(s: &InProc, action: &str) -> Vec<(Option<String>, bool)> {
    audit::list(&s.app, None, Some(500))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| (e.target, e.success))
        .collect()
}

#[tokio::test]
async fn ten_codes_are_shown_once_and_stored_only_as_digests() {
    let mut s = InProc::new("").await;
    password(&mut s, "alice").await;
    let codes = make_codes(&mut s).await;
    assert_eq!(codes.len(), 10);
    for c in &codes {
        assert_eq!(c.len(), 19, "{c}");
        assert_eq!(c.matches('-').count(), 3, "{c}");
    }
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10, "all different");
    let user = s
        .app
        .store
        .read(|tx| tx.user_by_username_key("alice"))
        .unwrap()
        .unwrap();
    let stored = s
        .app
        .store
        .read(|tx| tx.recovery_codes(&user.subject))
        .unwrap()
        .unwrap();
    assert_eq!(stored.digests.len(), 10);
    for c in &codes {
        assert!(
            stored.digests.iter().all(|d| !d.contains(&c.replace('-', ""))),
            "never stored as is"
        );
    }
    let later = s.get("/account/recovery").await;
    assert!(!later.body.contains(&codes[0]), "shown only once");
    assert_eq!(
        element_text(&later, "recovery-count"),
        "You have 10 unused recovery codes."
    );
    assert_eq!(
        audit_targets(&s, "recovery.generate").await,
        [(Some("first set".into()), true)]
    );
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_says_how_many_remain_and_is_audited() {
    let (mut s, seed) = alice_with_totp("").await;
    let first = password(&mut s, "alice").await;
    assert_eq!(first.location(), "/login/factor");
    let page = s.get("/login/factor").await;
    assert!(
        !page.body.contains("recovery-form"),
        "no codes yet: no recovery form"
    );
    let code = crate::factors_totp::code(&s, &seed, 0);
    let done = crate::factors_totp::submit_code(&mut s, &code).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let codes = make_codes(&mut s).await;

    let used = with_recovery_code(&mut s, &codes[3].to_uppercase()).await;
    assert_eq!(used.status, StatusCode::OK, "{}", used.body);
    assert!(used.body.contains("9 unused codes remain"), "{}", used.body);
    assert_eq!(element_text(&used, "continue"), "Continue");
    assert!(s.cookies().contains_key(SESSION));
    assert!(!s.cookies().contains_key(PENDING));
    assert_eq!(session_amr(&s).await, ["pwd", "otp", "mfa"]);
    let page = s.get("/account/recovery").await;
    assert_eq!(
        element_text(&page, "recovery-count"),
        "You have 9 unused recovery codes."
    );

    let failed = crate::factors_totp::sign_ins(&s, "recovery", "failure").await;
    let again = with_recovery_code(&mut s, &codes[3]).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        crate::factors_totp::sign_ins(&s, "recovery", "failure").await > failed,
        "the used code is counted as a failed sign-in"
    );
    assert!(again.body.contains("role=\"alert\""), "{}", again.body);
    assert!(!s.cookies().contains_key(SESSION), "a used code works once");

    let other = with_recovery_code(&mut s, &codes[4]).await;
    assert!(other.body.contains("8 unused codes remain"), "{}", other.body);
    assert_eq!(
        audit_targets(&s, "login.recovery_code").await,
        [
            (Some("9 remaining".into()), true),
            (Some("wrong code".into()), false),
            (Some("8 remaining".into()), true),
        ]
    );
    let second = audit_targets(&s, "login.second_factor").await;
    assert!(
        second.contains(&(Some("recovery_code".into()), true)),
        "{second:?}"
    );
}

#[tokio::test]
async fn new_codes_replace_the_old_ones_only_after_a_fresh_sign_in() {
    let mut s = InProc::new("").await;
    password(&mut s, "alice").await;
    let seed = enrol(&mut s).await;
    let old = make_codes(&mut s).await;
    s.advance(601);
    let page = s.get("/account/recovery").await;
    let stale = s
        .post("/account/recovery", &[("csrf", &page.field("csrf"))])
        .await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
    assert_eq!(stale.location(), "/login?return_to=%2Faccount%2Frecovery&fresh=1");
    // Signing in again (password, then a recovery code) comes back here, and new codes work.
    let fresh = s.get(stale.location()).await;
    let step = s.login_from(&fresh, "alice", crate::inproc::PASSWORD).await;
    assert_eq!(step.location(), "/login/factor");
    let code = crate::factors_totp::code(&s, &seed, 0);
    let done = crate::factors_totp::submit_code(&mut s, &code).await;
    assert_eq!(done.location(), "/account/recovery");
    let new = make_codes(&mut s).await;
    assert_ne!(new, old);
    let refused = with_recovery_code(&mut s, &old[0]).await;
    assert!(
        refused.body.contains("role=\"alert\""),
        "the old codes stopped working"
    );
    let accepted = with_recovery_code(&mut s, &new[0]).await;
    assert!(
        accepted.body.contains("9 unused codes remain"),
        "{}",
        accepted.body
    );
    assert_eq!(
        audit_targets(&s, "recovery.generate").await,
        [(Some("first set".into()), true), (Some("replaced".into()), true)]
    );
}
