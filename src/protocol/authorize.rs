//! The authorization endpoint (RFC 6749 section 4.1.1, RFC 7636, OpenID Connect Core 3.1.2):
//! checking a request, and deciding what happens next for a browser that may or may not be
//! signed in.

use super::params::Params;
use super::pkce;
use super::{ErrorCode, OAuthError};
use crate::domain::{Client, ClientId, Duration, GrantType, RequestedClaims, ScopeSet, Timestamp};

/// The longest `state` or `nonce` accepted; longer ones get `invalid_request`.
pub const MAX_STATE_LEN: usize = 2048;

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    Page { title: &'static str, detail: String },
    /// Send the error back to the client's redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

/// The `prompt` values (OpenID Connect Core 3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: ClientId,
    /// The redirect URI to answer at: the one sent, or the only registered one.
    pub redirect_uri: String,
    /// Whether `redirect_uri` was in the request, in which case the token request must repeat it.
    pub redirect_uri_sent: bool,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<Duration>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
    pub requested_claims: RequestedClaims,
    /// The RFC 8707 `resource` asked for, checked against the client by [`super::resource`].
    pub resource: Option<String>,
}

impl AuthorizationRequest {
    /// Whether this is an OpenID Connect request.
    pub fn is_oidc(&self) -> bool {
        self.scopes.contains("openid")
    }
}

fn page(title: &'static str, detail: impl Into<String>) -> Rejection {
    Rejection::Page {
        title,
        detail: detail.into(),
    }
}

/// The server-wide rules a request is checked by, from the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// The default for confidential clients registered without `require_pkce`: `true` requires
    /// PKCE in every request; `false` (the OAuth 2.1 rule) lets an OpenID Connect request that
    /// carries a `nonce` go without it.
    pub require_pkce: bool,
}

/// Whether a request needs PKCE, and the setting that says so (named in the error).
fn pkce_needed(client: &Client, policy: &Policy, oidc_with_nonce: bool) -> Option<&'static str> {
    if client.is_public() {
        return Some("a public client must always use PKCE");
    }
    match client.require_pkce {
        Some(true) => Some("the client is registered with require_pkce = true"),
        Some(false) => None,
        None if policy.require_pkce => Some("the server's require_pkce = true applies to this client"),
        None if oidc_with_nonce => None,
        None => Some(
            "a confidential client may leave it out only in an OpenID Connect request (scope openid) \
             with a nonce; otherwise send PKCE, or register the client with require_pkce = false (CLI --no-pkce)",
        ),
    }
}

/// Checks a request against the client it names (`client` is `None` when unknown), by the
/// default [`Policy`].
pub fn validate(params: &Params, client: Option<&Client>) -> Result<AuthorizationRequest, Rejection> {
    validate_with(params, client, &Policy::default())
}

/// Checks a request against the client it names (`client` is `None` when unknown).
pub fn validate_with(
    params: &Params,
    client: Option<&Client>,
    policy: &Policy,
) -> Result<AuthorizationRequest, Rejection> {
    if let Some(name) = params.first_repeated(&["client_id", "redirect_uri"]) {
        return Err(page(
            "Invalid request",
            format!("The parameter `{name}` appears more than once."),
        ));
    }
    let Some(client_id) = params.get("client_id") else {
        return Err(page("Invalid request", "The request has no client_id."));
    };
    let client = match client {
        Some(c) if c.client_id.as_str() == client_id => c,
        _ => {
            return Err(page(
                "Unknown application",
                "No application is registered with this client_id.",
            ));
        }
    };
    let (redirect_uri, redirect_uri_sent) = match params.get("redirect_uri") {
        Some(sent) => match client.redirect_uris.iter().find(|r| r.matches(sent)) {
            Some(_) => (sent.to_owned(), true),
            None => {
                return Err(page(
                    "Invalid redirect",
                    "The redirect_uri is not registered for this application.",
                ));
            }
        },
        None => match client.redirect_uris.as_slice() {
            [only] => (only.to_string(), false),
            _ => {
                return Err(page(
                    "Invalid request",
                    "The request has no redirect_uri, and the application has more than one.",
                ));
            }
        },
    };

    // From here on, errors go back to the client.
    let state = params.get("state").map(str::to_owned);
    let redirect = |error: OAuthError, state: Option<String>| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        state,
        error,
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(redirect(OAuthError::invalid_request("state is too long"), None));
    }
    let fail = |error: OAuthError| Err(redirect(error, state.clone()));

    if let Some(name) = params.first_repeated(&[
        "response_type",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        "prompt",
        "max_age",
        "login_hint",
        "id_token_hint",
        "request",
        "request_uri",
        "claims",
        "response_mode",
        "resource",
    ]) {
        return fail(OAuthError::invalid_request(format!(
            "the parameter {name} appears more than once"
        )));
    }
    if params.get("request").is_some() {
        return fail(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return fail(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        None => return fail(OAuthError::invalid_request("response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return fail(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    // Only the query mode is offered (discovery says so); an unknown or unsupported mode must not
    // be ignored, or the client would wait for an answer in the wrong place (RFC 6749 3.1).
    match params.get("response_mode") {
        None | Some("query") => {}
        Some(other) => {
            return fail(OAuthError::invalid_request(format!(
                "response_mode {other} is not supported; only query is"
            )));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return fail(OAuthError::unauthorized_client(
            "this client may not use the authorization code grant",
        ));
    }
    let scopes = match ScopeSet::parse(params.get("scope").unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return fail(OAuthError::invalid_scope(e.0)),
    };
    let allowed = ScopeSet::from_scopes(client.scopes.iter().cloned());
    if let Some(extra) = scopes.iter().find(|s| !allowed.contains(s.as_str())) {
        return fail(OAuthError::invalid_scope(format!(
            "the client may not ask for the scope {extra}"
        )));
    }
    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_STATE_LEN) {
        return fail(OAuthError::invalid_request("nonce is too long"));
    }
    let oidc_with_nonce = scopes.contains("openid") && nonce.is_some();
    let code_challenge = match (params.get("code_challenge"), params.get("code_challenge_method")) {
        (None, None) => match pkce_needed(client, policy, oidc_with_nonce) {
            Some(why) => {
                return fail(OAuthError::invalid_request(format!(
                    "code_challenge is required (PKCE with S256): {why}"
                )));
            }
            None => None,
        },
        (None, Some(_)) => {
            return fail(OAuthError::invalid_request(
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(_), None) | (Some(_), Some("plain")) => {
            return fail(OAuthError::invalid_request(
                "code_challenge_method must be S256; plain is not allowed",
            ));
        }
        (Some(c), Some("S256")) if pkce::well_formed(c) && c.len() == 43 => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return fail(OAuthError::invalid_request(
                "code_challenge is not a base64url SHA-256 value",
            ));
        }
        (Some(_), Some(_)) => {
            return fail(OAuthError::invalid_request("code_challenge_method must be S256"));
        }
    };
    let mut prompt = Prompt::default();
    for value in params
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            other => {
                return fail(OAuthError::invalid_request(format!(
                    "unknown prompt value {other}"
                )));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return fail(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(secs) => Some(Duration::seconds(secs)),
            Err(_) => {
                return fail(OAuthError::invalid_request(
                    "max_age must be a non-negative integer",
                ));
            }
        },
    };
    let requested_claims = match params.get("claims") {
        None => RequestedClaims::default(),
        Some(text) => match parse_claims_request(text) {
            Some(c) => c,
            None => {
                return fail(OAuthError::invalid_request(
                    "claims is not a valid claims request object",
                ));
            }
        },
    };
    Ok(AuthorizationRequest {
        resource: params.get("resource").map(str::to_owned),
        requested_claims,
        client_id: client.client_id.clone(),
        redirect_uri,
        redirect_uri_sent,
        scopes,
        state,
        code_challenge,
        nonce,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        id_token_hint: params.get("id_token_hint").map(str::to_owned),
    })
}

/// Reads the `claims` parameter (OpenID Connect Core 5.5): the names asked for in `userinfo` and
/// `id_token`. Values (`essential`, `value`, `values`) are accepted and not enforced.
fn parse_claims_request(text: &str) -> Option<RequestedClaims> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    let names = |member: &str| -> Option<Vec<String>> {
        match object.get(member) {
            None | Some(serde_json::Value::Null) => Some(Vec::new()),
            Some(serde_json::Value::Object(m)) => Some(m.keys().take(64).cloned().collect()),
            Some(_) => None,
        }
    };
    Some(RequestedClaims {
        userinfo: names("userinfo")?,
        id_token: names("id_token")?,
    })
}

/// What the browser's session looks like to the authorization endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    pub subject: String,
    pub auth_time: Timestamp,
}

/// What happens next for a valid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Show the login page.
    Login,
    /// Show the consent page.
    Consent,
    /// Issue a code to the signed-in user.
    IssueCode,
    /// Redirect this error to the client.
    Error(OAuthError),
}

/// Decides the next step. `consented` says whether the user's remembered consent covers the
/// requested scopes (or the client is first-party); `fresh` says whether the user signed in during
/// this very request, which satisfies `prompt=login`; `hint_subject` is the subject named by a
/// valid `id_token_hint`, if one was sent.
/// `consented_now` says whether the user just allowed this very request on the consent page,
/// which satisfies `prompt=consent` (the consent form's POST decides with the same rules as the
/// GET that showed it: `prompt=login`, `max_age` and `id_token_hint` still apply).
pub fn next_step(
    req: &AuthorizationRequest,
    session: Option<&SessionFacts>,
    consented: bool,
    consented_now: bool,
    fresh: bool,
    hint_subject: Option<&str>,
    now: Timestamp,
) -> Next {
    let must_login = match session {
        None => true,
        Some(s) => {
            let too_old = req.max_age.is_some_and(|max| now.since(s.auth_time) > max);
            let other_user = hint_subject.is_some_and(|h| h != s.subject);
            (req.prompt.login && !fresh) || too_old || other_user
        }
    };
    if must_login {
        return if req.prompt.none {
            Next::Error(OAuthError::new(ErrorCode::LoginRequired, "the user must sign in"))
        } else {
            Next::Login
        };
    }
    if consented_now {
        return Next::IssueCode;
    }
    if req.prompt.consent || !consented {
        return if req.prompt.none {
            Next::Error(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user must consent",
            ))
        } else {
            Next::Consent
        };
    }
    Next::IssueCode
}

/// The redirect that delivers a code (RFC 6749 section 4.1.2, RFC 9207 `iss`).
pub fn code_response(issuer: &str, req: &AuthorizationRequest, code: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(state) = &req.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    super::params::append_query(&req.redirect_uri, &pairs)
}

/// The redirect that delivers an error (RFC 6749 section 4.1.2.1, RFC 9207 `iss`).
pub fn error_response(issuer: &str, redirect_uri: &str, state: Option<&str>, error: &OAuthError) -> String {
    let mut pairs = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description()),
    ];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    super::params::append_query(redirect_uri, &pairs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{ClientSource, RedirectUri, Scope};

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
        matches!(r, Err(Rejection::Page { .. }))
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
}
