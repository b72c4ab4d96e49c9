//! An upstream sign-in of a user with a second factor continues at `/login/factor` like a
//! password sign-in, and ends in a session that proves both.

use super::*;
use crate::factors_totp::{PENDING, SESSION, code, enrol, submit_code};

#[tokio::test]
async fn an_upstream_sign_in_of_a_totp_user_continues_at_the_second_step() {
    let (mut s, fake) = setup("create", "", dana()).await;
    // First sign-in creates dana; she sets up an authenticator app.
    let out = start(&mut s).await;
    let back = s.get(&fake.callback(&fake.approve(&out))).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert!(s.cookies().contains_key(SESSION));
    let seed = enrol(&mut s).await;
    s.switch_browser(Default::default());
    s.advance(60);

    let out = start(&mut s).await;
    let back = s.get(&fake.callback(&fake.approve(&out))).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), "/login/factor");
    assert!(s.cookies().contains_key(PENDING));
    assert!(
        !s.cookies().contains_key(SESSION),
        "no session before the second step"
    );
    let c = code(&s, &seed, 0);
    let done = submit_code(&mut s, &c).await;
    assert!(
        done.location().starts_with("/oauth/authorize?"),
        "{}",
        done.location()
    );
    let id = id_token_after(&mut s, done).await;
    let amr: Vec<&str> = id["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(amr, ["fed", "upstream:fake", "otp", "mfa"]);
}
