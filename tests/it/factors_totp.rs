//! TOTP as a second factor through the real routes (in process, fixed clock): enrolment on
//! `/account/totp`, the second step at `/login/factor` after a password, replays, the window,
//! throttling, the pending cookie's single use and expiry, enrolment inside a sign-in that
//! requires two factors, and removal with a fresh sign-in.

use latchkey::protocol::totp::code_at;
use latchkey::service::login;
use poem::http::StatusCode;

use crate::inproc::{InProc, PASSWORD, Reply};

pub const SESSION: &str = "__Host-latchkey-session";
pub const PENDING: &str = "__Host-latchkey_pending";

/// The text of the element with `id` (up to its first `<`).
pub fn element_text(page: &Reply, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {}", page.body));
    let rest = &page.body[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap() + start;
    rest[start..end].trim().to_owned()
}

/// The seed shown on an enrolment page.
pub fn shown_seed(page: &Reply) -> Vec<u8> {
    let secret = element_text(page, "secret");
    totp_rs::Secret::try_from_base32(&secret)
        .unwrap_or_else(|e| panic!("{secret:?} is not base32: {e:?}"))
        .as_bytes()
        .to_vec()
}

/// The six-digit code of `seed` at the server's clock, `steps` steps away.
pub fn code(s: &InProc, seed: &[u8], steps: i64) -> String {
    let now = s.app.clock.now().0 as i64;
    code_at(seed, (now + steps * 30) as u64, 6)
}

/// Signs in with the password from a fresh login page; returns the reply to the POST.
pub async fn password(s: &mut InProc, username: &str) -> Reply {
    let page = s.get("/login").await;
    s.login_from(&page, username, PASSWORD).await
}

/// Enrols TOTP for the signed-in browser; returns the seed.
pub async fn enrol(s: &mut InProc) -> Vec<u8> {
    let page = s.get("/account/totp").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<svg"), "an inline SVG QR code: {}", page.body);
    let seed = shown_seed(&page);
    assert_eq!(seed.len(), 20, "a 160-bit seed");
    let code = code(s, &seed, 0);
    let done = s
        .post(
            "/account/totp",
            &[
                ("csrf", &page.field("csrf")),
                ("enrolment", &page.field("enrolment")),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/account/totp");
    seed
}

/// A server where alice has signed in once and enrolled TOTP, then signed out (a fresh jar).
pub async fn alice_with_totp(top: &str) -> (InProc, Vec<u8>) {
    let mut s = InProc::with_top(top, "").await;
    let first = password(&mut s, "alice").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(first.location(), "/", "no factor yet: signed in at once");
    let seed = enrol(&mut s).await;
    s.switch_browser(Default::default());
    // The enrolment's code used this step: move on two, so that even a code one step early
    // is for a step not yet used.
    s.advance(60);
    (s, seed)
}

/// Posts `code` to the second-step page (TOTP form).
pub async fn submit_code(s: &mut InProc, code: &str) -> Reply {
    let page = s.get("/login/factor").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    s.post(
        "/login/factor",
        &[("csrf", &page.field("csrf")), ("method", "totp"), ("code", code)],
    )
    .await
}

/// The amr of the browser's session.
pub async fn session_amr(s: &InProc) -> Vec<String> {
    let cookie = s.cookies().get(SESSION).expect("a session cookie").clone();
    let (session, _) = login::current(&s.app, &cookie)
        .await
        .unwrap()
        .expect("a live session");
    session.amr.iter().map(|a| a.as_string()).collect()
}

#[tokio::test]
async fn enrolment_completes_only_with_a_correct_code_and_a_wrong_one_is_refused() {
    let mut s = InProc::new("").await;
    password(&mut s, "alice").await;
    let page = s.get("/account/totp").await;
    let seed = shown_seed(&page);
    let right = code(&s, &seed, 0);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let refused = s
        .post(
            "/account/totp",
            &[
                ("csrf", &page.field("csrf")),
                ("enrolment", &page.field("enrolment")),
                ("code", wrong),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    assert_eq!(shown_seed(&refused), seed, "the same key is shown again");
    let user = s
        .app
        .store
        .read(|tx| tx.user_by_username_key("alice"))
        .unwrap()
        .unwrap();
    assert!(
        s.app.store.read(|tx| tx.totp(&user.subject)).unwrap().is_none(),
        "not enrolled yet"
    );
    let done = s
        .post(
            "/account/totp",
            &[
                ("csrf", &refused.field("csrf")),
                ("enrolment", &refused.field("enrolment")),
                ("code", &right),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let record = s
        .app
        .store
        .read(|tx| tx.totp(&user.subject))
        .unwrap()
        .expect("enrolled");
    assert!(
        !record.seed.contains(&element_text(&page, "secret")),
        "the seed is stored sealed"
    );
    let shown = s.get("/account/totp").await;
    assert!(shown.body.contains("totp-remove"), "{}", shown.body);
    assert!(!shown.body.contains("<svg"), "the key is never shown again");
}

#[tokio::test]
async fn a_password_then_a_totp_code_signs_in_with_pwd_otp_mfa() {
    let (mut s, seed) = alice_with_totp("").await;
    let first = password(&mut s, "alice").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(first.location(), "/login/factor");
    assert!(s.cookies().contains_key(PENDING));
    assert!(
        !s.cookies().contains_key(SESSION),
        "no session before the second step"
    );
    let set = first.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"),
        "{set}"
    );
    let page = s.get("/login/factor").await;
    assert!(page.body.contains("totp-form"), "{}", page.body);
    assert!(
        !page.body.contains("passkey-second-factor"),
        "no passkeys: no passkey button"
    );
    let done = {
        let c = code(&s, &seed, 0);
        submit_code(&mut s, &c).await
    };
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/");
    assert!(
        !s.cookies().contains_key(PENDING),
        "the pending cookie is cleared"
    );
    assert_eq!(session_amr(&s).await, ["pwd", "otp", "mfa"]);
}

#[tokio::test]
async fn the_same_code_is_refused_the_second_time_within_its_window() {
    let (mut s, seed) = alice_with_totp("").await;
    let code = code(&s, &seed, 0);
    password(&mut s, "alice").await;
    assert_eq!(submit_code(&mut s, &code).await.status, StatusCode::SEE_OTHER);
    s.switch_browser(Default::default());
    s.advance(5);
    password(&mut s, "alice").await;
    let replay = submit_code(&mut s, &code).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.body);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    assert!(!s.cookies().contains_key(SESSION));
}

#[tokio::test]
async fn a_code_one_step_before_or_after_is_accepted_and_two_steps_off_is_refused() {
    let (mut s, seed) = alice_with_totp("").await;
    // Two steps off, either way: refused.
    password(&mut s, "alice").await;
    for steps in [-2, 2] {
        let r = {
            let c = code(&s, &seed, steps);
            submit_code(&mut s, &c).await
        };
        assert_eq!(r.status, StatusCode::OK, "{steps}: {}", r.body);
        assert!(!s.cookies().contains_key(SESSION), "{steps}");
    }
    // One step before: accepted.
    let r = {
        let c = code(&s, &seed, -1);
        submit_code(&mut s, &c).await
    };
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // One step after: accepted (a later step than the one just used).
    s.switch_browser(Default::default());
    password(&mut s, "alice").await;
    let r = {
        let c = code(&s, &seed, 1);
        submit_code(&mut s, &c).await
    };
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn repeated_wrong_codes_are_throttled_with_429_and_retry_after() {
    let (mut s, seed) = alice_with_totp("").await;
    password(&mut s, "alice").await;
    let right = code(&s, &seed, 0);
    let wrong = if right == "123456" { "654321" } else { "123456" };
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(submit_code(&mut s, wrong).await.status);
    }
    assert!(statuses[..5].iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    let last = submit_code(&mut s, &right).await;
    assert_eq!(
        last.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right code waits"
    );
    assert!(last.header("retry-after").is_some());
    assert!(!s.cookies().contains_key(SESSION));
}

#[tokio::test]
async fn the_pending_cookie_works_once() {
    let (mut s, seed) = alice_with_totp("").await;
    password(&mut s, "alice").await;
    let pending = s.cookies().get(PENDING).unwrap().clone();
    let page = s.get("/login/factor").await;
    let csrf = page.field("csrf");
    let done = s
        .post(
            "/login/factor",
            &[("csrf", &csrf), ("method", "totp"), ("code", &code(&s, &seed, 0))],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    // The same cookie again, with a new code: the sign-in is gone.
    let mut jar = s.cookies().clone();
    jar.insert(PENDING.into(), pending);
    jar.remove(SESSION);
    s.switch_browser(jar);
    s.advance(30);
    let again = s.get("/login/factor").await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.body);
    assert!(!again.body.contains("totp-form"));
    assert!(login::pending(&s.app, "anything").await.unwrap().is_none());
}

#[tokio::test]
async fn the_pending_sign_in_expires_after_five_minutes() {
    let (mut s, seed) = alice_with_totp("").await;
    password(&mut s, "alice").await;
    s.advance(301);
    let late = s
        .post(
            "/login/factor",
            &[("csrf", "x"), ("method", "totp"), ("code", &code(&s, &seed, 0))],
        )
        .await;
    assert_eq!(late.status, StatusCode::FORBIDDEN, "{}", late.body);
    assert!(!s.cookies().contains_key(SESSION));
    assert!(!s.cookies().contains_key(PENDING), "the stale cookie is cleared");
}

#[tokio::test]
async fn the_factor_page_without_a_first_factor_shows_nothing_and_sends_to_login() {
    let (mut s, _) = alice_with_totp("").await;
    let r = s.get("/login/factor").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login");
    let r = s
        .post("/login/factor", &[("method", "totp"), ("code", "123456")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // A wrong password never reaches the second step.
    let page = s.get("/login").await;
    let wrong = s.login_from(&page, "alice", "not the password").await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert!(!s.cookies().contains_key(PENDING));
}

#[tokio::test]
async fn a_user_who_must_have_two_factors_enrols_inside_the_sign_in() {
    let mut s = InProc::with_top("[login]\nrequire_second_factor_for = [\"readers\"]\n", "").await;
    let first = password(&mut s, "alice").await;
    assert_eq!(first.location(), "/login/factor");
    let factor = s.get("/login/factor").await;
    assert_eq!(factor.status, StatusCode::SEE_OTHER);
    assert_eq!(factor.location(), "/login/factor/enrol");
    let page = s.get("/login/factor/enrol").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<svg"));
    let seed = shown_seed(&page);
    let done = s
        .post(
            "/login/factor/enrol",
            &[
                ("csrf", &page.field("csrf")),
                ("enrolment", &page.field("enrolment")),
                ("code", &code(&s, &seed, 0)),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(session_amr(&s).await, ["pwd", "otp", "mfa"]);
    // Removing the only second factor is refused by the policy.
    let totp = s.get("/account/totp").await;
    let refused = s
        .post("/account/totp/remove", &[("csrf", &totp.field("csrf"))])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("last second factor"), "{}", refused.body);
}

#[tokio::test]
async fn removing_totp_needs_a_fresh_sign_in_and_then_works() {
    let mut s = InProc::new("").await;
    password(&mut s, "alice").await;
    let seed = enrol(&mut s).await;
    s.advance(601);
    let page = s.get("/account/totp").await;
    let stale = s
        .post("/account/totp/remove", &[("csrf", &page.field("csrf"))])
        .await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
    assert_eq!(stale.location(), "/login?return_to=%2Faccount%2Ftotp&fresh=1");
    let user = s
        .app
        .store
        .read(|tx| tx.user_by_username_key("alice"))
        .unwrap()
        .unwrap();
    assert!(
        s.app.store.read(|tx| tx.totp(&user.subject)).unwrap().is_some(),
        "still there"
    );
    let fresh = s.get(stale.location()).await;
    assert_eq!(fresh.status, StatusCode::OK, "the form shows although signed in");
    assert!(fresh.body.contains("Sign in again"), "{}", fresh.body);
    let again = s.login_from(&fresh, "alice", PASSWORD).await;
    assert_eq!(again.location(), "/login/factor");
    assert!(s.cookies().contains_key(PENDING));
    // The second step is still needed; then the removal goes through.
    let signed_in = {
        let c = code(&s, &seed, 0);
        submit_code(&mut s, &c).await
    };
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
    assert_eq!(signed_in.location(), "/account/totp");
    let page = s.get("/account/totp").await;
    let removed = s
        .post("/account/totp/remove", &[("csrf", &page.field("csrf"))])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert_eq!(removed.location(), "/account/totp");
    assert!(
        s.app.store.read(|tx| tx.totp(&user.subject)).unwrap().is_none(),
        "removed"
    );
}

/// `latchkey_sign_ins_total{method, outcome}` in this process's registry (recording is turned
/// on for the test process; other tests running beside this one only ever add to it).
pub async fn sign_ins(s: &InProc, method: &str, outcome: &str) -> f64 {
    latchkey::metrics::enable();
    let text = latchkey::service::metrics::render(&s.app)
        .await
        .expect("recording is on");
    let wanted = format!("latchkey_sign_ins_total{{method=\"{method}\",outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&wanted))
        .map_or(0.0, |v| v.parse().unwrap_or_else(|_| panic!("a number: {v}")))
}

#[tokio::test]
async fn a_wrong_code_is_counted_as_a_failed_sign_in_and_a_throttled_one_as_throttled() {
    let (mut s, seed) = alice_with_totp("").await;
    password(&mut s, "alice").await;
    let right = code(&s, &seed, 0);
    let wrong = if right == "123456" { "654321" } else { "123456" };
    let (failed, throttled) = (
        sign_ins(&s, "totp", "failure").await,
        sign_ins(&s, "totp", "throttled").await,
    );
    assert_eq!(submit_code(&mut s, wrong).await.status, StatusCode::OK);
    assert!(
        sign_ins(&s, "totp", "failure").await > failed,
        "the wrong code is counted"
    );
    let mut refused = false;
    for _ in 0..10 {
        if submit_code(&mut s, wrong).await.status == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
    }
    assert!(refused, "wrong codes are throttled");
    assert!(
        sign_ins(&s, "totp", "throttled").await > throttled,
        "the refusal is counted"
    );
}
