//! Tests of request validation and the next-step decision.

use super::super::ErrorCode;
use super::super::params::Params;
use super::*;
use crate::domain::{Client, ClientId, ClientSource, Duration, GrantType, RedirectUri, Scope, Timestamp};

pub(crate) fn client(public: bool) -> Client {
    Client {
        client_id: ClientId::parse("app").unwrap(),
        name: "App".into(),
        redirect_uris: vec![
            RedirectUri::parse("https://app.example.com/cb").unwrap(),
            RedirectUri::parse("http://127.0.0.1/native").unwrap(),
        ],
        secret: if public {
            None
        } else {
            Some(crate::domain::ClientSecretDigest([1; 32]))
        },
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: vec![Scope::parse("openid").unwrap(), Scope::parse("profile").unwrap()],
        first_party: false,
        require_pkce: Some(true),
        source: ClientSource::Store,
        created_at: Timestamp(0),
        id_token_alg: Default::default(),
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        refresh_without_offline_access: false,
        allow_http_localhost: false,
        resources: vec![],
        require_factors: Default::default(),
        allowed_groups: vec![],
        launch_url: None,
        icon: None,
    }
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn params(extra: &str) -> Params {
    Params::parse(&format!(
        "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz{extra}"
    ))
    .unwrap()
}

fn redirected_error(r: Result<AuthorizationRequest, Rejection>) -> (ErrorCode, Option<String>) {
    match r {
        Err(Rejection::Redirect { error, state, .. }) => (error.code, state),
        other => panic!("expected a redirected error, got {other:?}"),
    }
}

fn is_page(r: Result<AuthorizationRequest, Rejection>) -> bool {
    matches!(r, Err(Rejection::Page(_)))
}

#[test]
fn an_unsupported_or_repeated_response_mode_is_invalid_request() {
    let c = client(false);
    assert!(validate(&params("&response_mode=query"), Some(&c)).is_ok());
    // RFC 6749 section 3.1: a parameter without a value is treated as omitted.
    assert!(validate(&params("&response_mode="), Some(&c)).is_ok());
    for bad in [
        "&response_mode=form_post",
        "&response_mode=fragment",
        "&response_mode=jwt",
        "&response_mode=query&response_mode=query",
        "&response_mode=query&response_mode=form_post",
    ] {
        let (code, state) = redirected_error(validate(&params(bad), Some(&c)));
        assert_eq!(code, ErrorCode::InvalidRequest, "{bad}");
        assert_eq!(state.as_deref(), Some("xyz"), "{bad}");
    }
}

#[test]
fn a_complete_request_is_accepted_and_state_kept_exactly() {
    let weird_state = "a%20b+c%26d%3D%F0%9F%94%91";
    let p = Params::parse(&format!(
        "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&state={weird_state}&scope=openid&unknown=1"
    ))
    .unwrap();
    let r = validate(&p, Some(&client(false))).unwrap();
    assert_eq!(r.state.as_deref(), Some("a b c&d=🔑"));
    assert_eq!(r.redirect_uri, "https://app.example.com/cb");
    assert!(r.is_oidc());
}

#[test]
fn missing_or_unknown_client_or_mismatched_redirect_shows_a_page() {
    let c = client(false);
    assert!(is_page(validate(
        &Params::parse("response_type=code").unwrap(),
        Some(&c)
    )));
    assert!(is_page(validate(&params(""), None)));
    for bad in [
        "https://APP.example.com/cb",
        "https://app.example.com/cb/",
        "https://app.example.com/cb?x=1",
        "https://app.example.com.evil/cb",
        "https://app.example.com/CB",
        "https://app.example.com/cb%09",
        "https://app.example.com/cb#",
        "https://evil@app.example.com/cb",
        "http://localhost/native",
        "http://127.0.0.1:8000/native?x",
        "JaVaScRiPt:alert(1)",
    ] {
        let p = Params::parse(&format!(
            "client_id=app&response_type=code&redirect_uri={}",
            url::form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>()
        ))
        .unwrap();
        assert!(is_page(validate(&p, Some(&c))), "{bad}");
    }
}

#[test]
fn a_loopback_redirect_with_any_port_is_accepted() {
    let p = Params::parse(&format!(
        "client_id=app&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A51000%2Fnative&code_challenge={CHALLENGE}&code_challenge_method=S256"
    ))
    .unwrap();
    assert_eq!(
        validate(&p, Some(&client(true))).unwrap().redirect_uri,
        "http://127.0.0.1:51000/native"
    );
}

#[test]
fn a_repeated_client_id_or_redirect_uri_shows_a_page_and_other_repeats_redirect() {
    let c = client(false);
    assert!(is_page(validate(&params("&client_id=app"), Some(&c))));
    assert_eq!(
        redirected_error(validate(&params("&scope=openid&scope=profile"), Some(&c))).0,
        ErrorCode::InvalidRequest
    );
}

#[test]
fn response_types_other_than_code_are_unsupported() {
    let p = Params::parse(&format!(
        "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=token&code_challenge={CHALLENGE}&code_challenge_method=S256&state=s"
    ))
    .unwrap();
    let (code, state) = redirected_error(validate(&p, Some(&client(false))));
    assert_eq!(code, ErrorCode::UnsupportedResponseType);
    assert_eq!(state.as_deref(), Some("s"));
}

#[test]
fn pkce_is_required_and_plain_is_refused() {
    let c = client(false);
    let no_pkce =
        Params::parse("client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code")
            .unwrap();
    assert_eq!(
        redirected_error(validate(&no_pkce, Some(&c))).0,
        ErrorCode::InvalidRequest
    );
    let plain = Params::parse(&format!(
        "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=plain"
    ))
    .unwrap();
    assert_eq!(
        redirected_error(validate(&plain, Some(&c))).0,
        ErrorCode::InvalidRequest
    );
    let no_method = Params::parse(&format!(
        "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code&code_challenge={CHALLENGE}"
    ))
    .unwrap();
    assert_eq!(
        redirected_error(validate(&no_method, Some(&c))).0,
        ErrorCode::InvalidRequest
    );
}

#[test]
fn a_confidential_client_may_opt_out_of_pkce_but_a_public_one_may_not() {
    let no_pkce =
        Params::parse("client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code")
            .unwrap();
    let mut c = client(false);
    c.require_pkce = Some(false);
    assert!(validate(&no_pkce, Some(&c)).is_ok());
    let mut p = client(true);
    p.require_pkce = Some(false);
    assert!(validate(&no_pkce, Some(&p)).is_err());
}

/// The PKCE policy of the review: by default a confidential client's OpenID Connect request
/// with a nonce may leave PKCE out (OAuth 2.1); without a nonce, or under `require_pkce = true`
/// (per client or server-wide), it may not; a public client always needs PKCE.
#[test]
fn pkce_policy_lets_only_confidential_oidc_requests_with_a_nonce_go_without() {
    let base = "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code&state=s";
    let oidc_nonce = Params::parse(&format!("{base}&scope=openid&nonce=n-1")).unwrap();
    let oidc_no_nonce = Params::parse(&format!("{base}&scope=openid")).unwrap();
    let oauth_nonce = Params::parse(&format!("{base}&scope=profile&nonce=n-1")).unwrap();
    let lenient = Policy::default();
    let strict = Policy { require_pkce: true };
    let mut default = client(false);
    default.require_pkce = None;
    assert!(validate_with(&oidc_nonce, Some(&default), &lenient).is_ok());
    for (params, policy, why) in [
        (&oidc_no_nonce, &lenient, "without a nonce"),
        (&oauth_nonce, &lenient, "without openid"),
        (&oidc_nonce, &strict, "server-wide require_pkce"),
    ] {
        match validate_with(params, Some(&default), policy) {
            Err(Rejection::Redirect { error, .. }) => {
                assert_eq!(error.code, ErrorCode::InvalidRequest, "{why}");
                assert!(
                    error.description().contains("require_pkce"),
                    "{why}: {}",
                    error.description()
                );
            }
            other => panic!("{why}: expected a refusal, got {other:?}"),
        }
    }
    let mut strict_client = client(false);
    strict_client.require_pkce = Some(true);
    assert!(validate_with(&oidc_nonce, Some(&strict_client), &lenient).is_err());
    let mut legacy = client(false);
    legacy.require_pkce = Some(false);
    assert!(validate_with(&oidc_no_nonce, Some(&legacy), &strict).is_ok());
    let mut public = client(true);
    public.require_pkce = None;
    match validate_with(&oidc_nonce, Some(&public), &lenient) {
        Err(Rejection::Redirect { error, .. }) => assert!(error.description().contains("public client")),
        other => panic!("a public client needs PKCE, got {other:?}"),
    }
}

#[test]
fn scopes_beyond_the_clients_are_invalid_scope() {
    let (code, _) = redirected_error(validate(&params("&scope=openid%20admin"), Some(&client(false))));
    assert_eq!(code, ErrorCode::InvalidScope);
}

#[test]
fn request_objects_are_refused_with_their_own_errors() {
    let c = client(false);
    assert_eq!(
        redirected_error(validate(&params("&request=eyJ"), Some(&c))).0,
        ErrorCode::RequestNotSupported
    );
    assert_eq!(
        redirected_error(validate(&params("&request_uri=urn:x"), Some(&c))).0,
        ErrorCode::RequestUriNotSupported
    );
}

#[test]
fn overlong_state_is_invalid_request_without_echo() {
    let long = "s".repeat(MAX_STATE_LEN + 1);
    let p = Params::parse(&format!(
        "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&state={long}"
    ))
    .unwrap();
    assert_eq!(
        redirected_error(validate(&p, Some(&client(false)))),
        (ErrorCode::InvalidRequest, None)
    );
}

#[test]
fn next_step_follows_session_prompt_max_age_and_consent() {
    let base = validate(&params("&scope=openid"), Some(&client(false))).unwrap();
    let now = Timestamp(1000);
    let s = SessionFacts {
        subject: "u".into(),
        auth_time: Timestamp(900),
        amr: vec![],
    };
    assert_eq!(next_step(&base, None, true, false, false, None, now), Next::Login);
    assert_eq!(
        next_step(&base, Some(&s), false, false, false, None, now),
        Next::Consent
    );
    assert_eq!(
        next_step(&base, Some(&s), true, false, false, None, now),
        Next::IssueCode
    );

    let none = AuthorizationRequest {
        prompt: Prompt {
            none: true,
            ..Prompt::default()
        },
        ..base.clone()
    };
    assert!(
        matches!(next_step(&none, None, true, false, false, None, now), Next::Error(e) if e.code == ErrorCode::LoginRequired)
    );
    assert!(
        matches!(next_step(&none, Some(&s), false, false, false, None, now), Next::Error(e) if e.code == ErrorCode::ConsentRequired)
    );
    assert!(
        matches!(next_step(&none, Some(&s), true, false, false, Some("other"), now), Next::Error(e) if e.code == ErrorCode::LoginRequired)
    );

    let login = AuthorizationRequest {
        prompt: Prompt {
            login: true,
            ..Prompt::default()
        },
        ..base.clone()
    };
    assert_eq!(
        next_step(&login, Some(&s), true, false, false, None, now),
        Next::Login
    );
    assert_eq!(
        next_step(&login, Some(&s), true, false, true, None, now),
        Next::IssueCode
    );

    let consent = AuthorizationRequest {
        prompt: Prompt {
            consent: true,
            ..Prompt::default()
        },
        ..base.clone()
    };
    assert_eq!(
        next_step(&consent, Some(&s), true, false, false, None, now),
        Next::Consent
    );
    // The consent form's POST: consent given now satisfies prompt=consent, but not the
    // sign-in rules (the review found the POST skipped prompt=login, max_age and the hint).
    assert_eq!(
        next_step(&consent, Some(&s), false, true, false, None, now),
        Next::IssueCode
    );
    assert_eq!(
        next_step(&login, Some(&s), false, true, false, None, now),
        Next::Login
    );
    assert_eq!(
        next_step(&base, Some(&s), false, true, false, Some("other"), now),
        Next::Login
    );
    assert_eq!(next_step(&base, None, false, true, false, None, now), Next::Login);

    let aged = AuthorizationRequest {
        max_age: Some(Duration::seconds(50)),
        ..base.clone()
    };
    assert_eq!(
        next_step(&aged, Some(&s), true, false, false, None, now),
        Next::Login
    );
    assert_eq!(
        next_step(&aged, Some(&s), false, true, false, None, now),
        Next::Login
    );
    let young = AuthorizationRequest {
        max_age: Some(Duration::seconds(500)),
        ..base
    };
    assert_eq!(
        next_step(&young, Some(&s), true, false, false, None, now),
        Next::IssueCode
    );
}
