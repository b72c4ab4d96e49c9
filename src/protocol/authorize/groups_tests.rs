//! Tests of a client's `allowed_groups` at the authorization endpoint: a signed-in user outside
//! them gets [`Next::OutsideAllowedGroups`] (never consent, a second factor, a code or an error
//! redirect), unless the request makes them sign in first anyway.

use super::super::params::Params;
use super::tests::client;
use super::*;
use crate::domain::{Amr, RequiredFactors, Subject, Timestamp, User, Username};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const ISSUER: &str = "https://id.example.com";

fn request(extra: &str, c: &Client) -> AuthorizationRequest {
    let p = Params::parse(&format!(
        "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz&scope=openid{extra}"
    ))
    .unwrap();
    validate(&p, Some(c)).unwrap()
}

fn user_in(groups: &[&str]) -> User {
    User {
        subject: Subject::from_string("u".into()),
        username: Username::parse("alice").unwrap(),
        name: None,
        email: None,
        email_verified: false,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        disabled: false,
        password_hash: Some("hash".into()),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    }
}

fn staff_only() -> Client {
    Client {
        allowed_groups: vec!["ops".into(), "staff".into()],
        ..client(false)
    }
}

/// What the endpoint decides at time 1000 for a password session of `user` from time 900.
fn decide_for(
    req: &AuthorizationRequest,
    c: &Client,
    user: &User,
    consented: bool,
    hint: Option<&str>,
) -> Next {
    let facts = SessionFacts {
        subject: "u".into(),
        auth_time: Timestamp(900),
        amr: vec![Amr::Pwd],
    };
    let loaded = Loaded {
        client: c,
        session: Some((&facts, user)),
        hint: hint.map(Some),
        consented,
        consented_now: false,
    };
    decide(ISSUER, req, &loaded, Timestamp(1000))
}

#[test]
fn a_member_of_an_allowed_group_goes_on_as_usual() {
    let c = staff_only();
    let req = request("", &c);
    assert_eq!(
        decide_for(&req, &c, &user_in(&["staff"]), true, None),
        Next::IssueCode
    );
    assert_eq!(
        decide_for(&req, &c, &user_in(&["readers", "ops"]), false, None),
        Next::Consent
    );
}

#[test]
fn a_client_without_allowed_groups_admits_a_user_without_groups() {
    let c = client(false);
    let req = request("", &c);
    assert_eq!(decide_for(&req, &c, &user_in(&[]), true, None), Next::IssueCode);
}

#[test]
fn a_user_outside_the_allowed_groups_is_refused_before_consent_or_a_code() {
    let c = staff_only();
    let req = request("", &c);
    for user in [user_in(&[]), user_in(&["readers"]), user_in(&["Staff"])] {
        assert_eq!(
            decide_for(&req, &c, &user, true, None),
            Next::OutsideAllowedGroups,
            "{user:?}"
        );
        assert_eq!(
            decide_for(&req, &c, &user, false, None),
            Next::OutsideAllowedGroups,
            "{user:?}"
        );
    }
}

#[test]
fn prompt_none_and_prompt_consent_do_not_turn_the_refusal_into_a_redirect() {
    let c = staff_only();
    for extra in ["&prompt=none", "&prompt=consent"] {
        let req = request(extra, &c);
        assert_eq!(
            decide_for(&req, &c, &user_in(&["readers"]), true, None),
            Next::OutsideAllowedGroups,
            "{extra}"
        );
    }
}

#[test]
fn the_refusal_comes_before_a_second_factor_is_asked_for() {
    let c = Client {
        require_factors: RequiredFactors::Two,
        ..staff_only()
    };
    let req = request("", &c);
    assert_eq!(
        decide_for(&req, &c, &user_in(&["readers"]), true, None),
        Next::OutsideAllowedGroups
    );
    assert_eq!(
        decide_for(&req, &c, &user_in(&["staff"]), true, None),
        Next::Login
    );
}

#[test]
fn a_request_that_asks_for_a_new_sign_in_gets_it_since_someone_else_may_sign_in() {
    let c = staff_only();
    let outsider = user_in(&["readers"]);
    for extra in ["&prompt=login", "&max_age=0", "&max_age=60"] {
        let req = request(extra, &c);
        assert_eq!(
            decide_for(&req, &c, &outsider, true, None),
            Next::Login,
            "{extra}"
        );
    }
    let req = request("", &c);
    assert_eq!(
        decide_for(&req, &c, &outsider, true, Some("someone-else")),
        Next::Login
    );
    assert_eq!(
        decide_for(&req, &c, &outsider, true, Some("u")),
        Next::OutsideAllowedGroups
    );
}
