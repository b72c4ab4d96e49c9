//! Tests of step-up: `acr_values` and the `acr` of a claims request, a client's
//! `require_factors`, and `max_age=0`, which send a session back to the login page.

use super::super::ErrorCode;
use super::super::login::Acr;
use super::super::params::Params;
use super::tests::client;
use super::*;
use crate::domain::{Amr, RequiredFactors, Subject, Timestamp, User, Username};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const ISSUER: &str = "https://id.example.com";

fn params(extra: &str) -> Params {
    Params::parse(&format!(
        "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz&scope=openid{extra}"
    ))
    .unwrap()
}

fn request(extra: &str, c: &Client) -> AuthorizationRequest {
    validate(&params(extra), Some(c)).unwrap()
}

fn user() -> User {
    User {
        subject: Subject::from_string("u".into()),
        username: Username::parse("alice").unwrap(),
        name: None,
        email: None,
        email_verified: false,
        groups: vec![],
        disabled: false,
        password_hash: Some("hash".into()),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    }
}

fn two_factor_client() -> Client {
    Client {
        require_factors: RequiredFactors::Two,
        ..client(false)
    }
}

/// The decision for a consented session signed in at `auth_time` by `amr`, at time 1000.
fn decide_for(req: &AuthorizationRequest, c: &Client, amr: Vec<Amr>, auth_time: u64) -> Next {
    let facts = SessionFacts {
        subject: "u".into(),
        auth_time: Timestamp(auth_time),
        amr,
    };
    let u = user();
    let loaded = Loaded {
        client: c,
        session: Some((&facts, &u)),
        hint: None,
        consented: true,
        consented_now: false,
    };
    decide(ISSUER, req, &loaded, Timestamp(1000))
}

fn login_required(next: &Next) -> bool {
    matches!(next, Next::Error(e) if e.code == ErrorCode::LoginRequired)
}

#[test]
fn acr_values_keep_the_classes_latchkey_knows_and_ignore_the_others() {
    let c = client(false);
    assert_eq!(request("&acr_values=2fa", &c).acr_values, vec![Acr::TwoFactors]);
    assert_eq!(
        request("&acr_values=urn%3Aexample%3Agold+2fa+1fa", &c).acr_values,
        vec![Acr::TwoFactors, Acr::OneFactor]
    );
    assert!(request("&acr_values=gold+silver", &c).acr_values.is_empty());
    assert!(request("", &c).acr_values.is_empty());
    let claims = r#"{"id_token":{"acr":{"essential":true,"values":["2fa","gold"]}}}"#;
    let encoded: String = url::form_urlencoded::byte_serialize(claims.as_bytes()).collect();
    assert_eq!(
        request(&format!("&claims={encoded}"), &c).acr_values,
        vec![Acr::TwoFactors]
    );
}

#[test]
fn a_repeated_acr_values_is_invalid_request() {
    let refused = validate(&params("&acr_values=2fa&acr_values=1fa"), Some(&client(false)));
    assert!(
        matches!(&refused, Err(Rejection::Redirect { error, .. }) if error.code == ErrorCode::InvalidRequest),
        "{refused:?}"
    );
}

#[test]
fn two_factors_are_wanted_by_the_client_or_by_acr_values_asking_only_for_2fa() {
    let c = client(false);
    assert!(!two_factors_wanted(&request("", &c), &c));
    assert!(two_factors_wanted(&request("&acr_values=2fa", &c), &c));
    assert!(!two_factors_wanted(&request("&acr_values=2fa+1fa", &c), &c));
    assert!(!two_factors_wanted(&request("&acr_values=gold", &c), &c));
    let strict = two_factor_client();
    assert!(two_factors_wanted(&request("", &strict), &strict));
    assert!(two_factors_wanted(&request("&acr_values=1fa", &strict), &strict));
}

#[test]
fn a_password_only_session_signs_in_again_when_the_client_requires_two_factors() {
    let strict = two_factor_client();
    let req = request("", &strict);
    assert_eq!(decide_for(&req, &strict, vec![Amr::Pwd], 990), Next::Login);
    assert_eq!(
        decide_for(&req, &strict, vec![Amr::Pwd, Amr::Otp, Amr::Mfa], 990),
        Next::IssueCode
    );
    // The same session is enough for a client that asks for one factor.
    let lax = client(false);
    assert_eq!(
        decide_for(&request("", &lax), &lax, vec![Amr::Pwd], 990),
        Next::IssueCode
    );
}

#[test]
fn acr_values_2fa_sends_a_one_factor_session_to_sign_in_and_prompt_none_gets_login_required() {
    let c = client(false);
    let req = request("&acr_values=2fa", &c);
    assert_eq!(decide_for(&req, &c, vec![Amr::Pwd], 990), Next::Login);
    assert_eq!(
        decide_for(&req, &c, vec![Amr::Fed, Amr::Upstream("corp".into())], 990),
        Next::Login
    );
    assert_eq!(
        decide_for(&req, &c, vec![Amr::Hwk, Amr::User, Amr::Mfa], 990),
        Next::IssueCode
    );
    let silent = request("&acr_values=2fa&prompt=none", &c);
    assert!(login_required(&decide_for(&silent, &c, vec![Amr::Pwd], 990)));
    let strict = two_factor_client();
    let silent = request("&prompt=none", &strict);
    assert!(login_required(&decide_for(&silent, &strict, vec![Amr::Pwd], 990)));
}

#[test]
fn max_age_0_asks_for_a_sign_in_even_from_a_session_of_this_very_second() {
    let c = client(false);
    let req = request("&max_age=0", &c);
    assert_eq!(decide_for(&req, &c, vec![Amr::Pwd], 1000), Next::Login);
    assert_eq!(decide_for(&req, &c, vec![Amr::Pwd], 10), Next::Login);
    let silent = request("&max_age=0&prompt=none", &c);
    assert!(login_required(&decide_for(&silent, &c, vec![Amr::Pwd], 1000)));
    // Any other max_age is a bound on the session's age.
    let young = request("&max_age=5", &c);
    assert_eq!(decide_for(&young, &c, vec![Amr::Pwd], 1000), Next::IssueCode);
}

#[test]
fn the_resumed_request_drops_prompt_login_and_max_age_0_which_the_sign_in_satisfies() {
    let resumed = resume_after_login(&params("&prompt=login+consent&max_age=0&acr_values=2fa"));
    assert_eq!(resumed.get("prompt"), Some("consent"));
    assert_eq!(resumed.get("max_age"), None);
    assert_eq!(resumed.get("acr_values"), Some("2fa"));
    let kept = resume_after_login(&params("&max_age=60"));
    assert_eq!(kept.get("max_age"), Some("60"));
}
