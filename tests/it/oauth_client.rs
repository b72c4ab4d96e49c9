//! An independent client library, the `oauth2` crate, runs the OAuth 2.0 flows against a real
//! server: authorization code with PKCE, refresh, client credentials, revocation (RFC 7009) and
//! introspection (RFC 7662), with HTTP Basic and with request-body client authentication.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenResponse, BasicTokenType};
use oauth2::{
    AccessToken, AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, HttpRequest, IntrospectionUrl, PkceCodeChallenge, RedirectUrl, RefreshToken,
    RequestTokenError, RevocationUrl, Scope, StandardRevocableToken, TokenIntrospectionResponse,
    TokenResponse, TokenUrl,
};
use serde_json::Value;

use crate::flows::{
    Agent, Decision, NATIVE_ID, PASSWORD, SERVICE_ID, SERVICE_SCOPE, SERVICE_SECRET, USERNAME, WEB_ID,
    WEB_SECRET, oauth_server, query_param, redirect_uri_on,
};
use crate::harness::free_port;

/// An `oauth2` client with every endpoint this server has.
type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointSet, EndpointSet, EndpointSet>;

/// The HTTP client the `oauth2` crate sends through: reqwest, which must not follow redirects
/// (the crate's documentation: following them would expose it to SSRF).
///
/// The crate refuses a revocation endpoint that is not https (RFC 7009 section 2), while the test
/// server speaks plain HTTP on loopback. So this client stands in for the TLS terminator a real
/// deployment has in front of Latchkey: a request for `https://127.0.0.1:PORT/...` goes to
/// `http://127.0.0.1:PORT/...`, unchanged otherwise.
struct Http(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = <reqwest::Client as AsyncHttpClient<'c>>::Error;
    type Future = <reqwest::Client as AsyncHttpClient<'c>>::Future;

    fn call(&'c self, mut request: HttpRequest) -> Self::Future {
        let uri = request.uri();
        if uri.scheme_str() == Some("https") && uri.host() == Some("127.0.0.1") {
            let plain = uri.to_string().replacen("https://", "http://", 1);
            *request.uri_mut() = plain.parse().expect("an http URI");
        }
        self.0.call(request)
    }
}

fn http() -> Http {
    Http(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client"),
    )
}

/// An `oauth2` client for the server at `base`, redirecting to the registered loopback URI on a
/// port nothing needs to listen on (the flow reads the code from the redirect itself).
fn client(base: &str, id: &str, secret: Option<&str>) -> Client {
    let url = |path: &str| format!("{base}{path}");
    let client = BasicClient::new(ClientId::new(id.to_owned()))
        .set_auth_uri(AuthUrl::new(url("/oauth/authorize")).expect("an authorization URL"))
        .set_token_uri(TokenUrl::new(url("/oauth/token")).expect("a token URL"))
        .set_revocation_url(
            RevocationUrl::new(url("/oauth/revoke").replacen("http://", "https://", 1))
                .expect("a revocation URL"),
        )
        .set_introspection_url(IntrospectionUrl::new(url("/oauth/introspect")).expect("an introspection URL"))
        .set_redirect_uri(RedirectUrl::new(redirect_uri_on(free_port())).expect("a redirect URI"));
    match secret {
        Some(secret) => client.set_client_secret(ClientSecret::new(secret.to_owned())),
        None => client,
    }
}

/// Runs the authorization code flow with PKCE: the crate builds the authorization URL, an
/// [`Agent`] signs in and allows, and the crate redeems the code with the verifier.
async fn code_flow(base: &str, client: &Client) -> BasicTokenResponse {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("offline_access".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let landed = Agent::new(base)
        .authorize(url.as_str(), USERNAME, PASSWORD, Decision::Allow)
        .await;
    let redirect = client.redirect_uri().expect("a redirect URI").as_str();
    assert!(
        landed.as_str().starts_with(redirect),
        "the flow ended at {landed}, not at {redirect}"
    );
    assert_eq!(
        query_param(&landed, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(query_param(&landed, "iss").as_deref(), Some(base));
    let code = query_param(&landed, "code").expect("the redirect carries a code");
    client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("the code exchange failed: {}", describe(&e)))
}

/// A readable account of an `oauth2` request error, with the server's error body if any.
fn describe<E: std::error::Error, T: oauth2::ErrorResponse>(e: &RequestTokenError<E, T>) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => format!("the server answered {r}"),
        RequestTokenError::Parse(e, body) => {
            format!("unparsable answer ({e}): {}", String::from_utf8_lossy(body))
        }
        other => format!("{other} ({other:?})"),
    }
}

/// Asserts a token response for the browser-based clients: Bearer, an expiry, a refresh token
/// and the scopes asked for.
#[track_caller]
fn assert_user_tokens(tokens: &BasicTokenResponse) {
    assert_eq!(tokens.token_type(), &BasicTokenType::Bearer);
    assert!(
        tokens.expires_in().is_some_and(|d| d > Duration::ZERO),
        "the response has no positive expires_in"
    );
    assert!(
        tokens.refresh_token().is_some(),
        "the response has no refresh token"
    );
    let scopes: Vec<&str> = tokens
        .scopes()
        .map(|s| s.iter().map(|s| s.as_str()).collect())
        .unwrap_or_default();
    assert!(
        scopes.contains(&"profile") && scopes.contains(&"offline_access"),
        "the granted scopes are {scopes:?}"
    );
    assert_access_token_is_an_eddsa_jwt(tokens.access_token());
}

/// Asserts that `token` is a JWT whose header says EdDSA and `at+jwt` (RFC 9068).
#[track_caller]
fn assert_access_token_is_an_eddsa_jwt(token: &AccessToken) {
    let header = token
        .secret()
        .split('.')
        .next()
        .expect("split yields at least one part");
    let header: Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| panic!("the access token is not a JWT: {}", token.secret()));
    assert_eq!(header["alg"], "EdDSA", "JWT header {header}");
    assert_eq!(header["typ"], "at+jwt", "JWT header {header}");
}

/// Asserts that presenting `refresh` fails with `invalid_grant`.
async fn assert_refresh_fails(client: &Client, refresh: &RefreshToken) {
    match client
        .exchange_refresh_token(refresh)
        .request_async(&http())
        .await
    {
        Ok(_) => panic!("a dead refresh token was accepted"),
        Err(RequestTokenError::ServerResponse(r)) => assert_eq!(
            r.error(),
            &BasicErrorResponseType::InvalidGrant,
            "the server answered {r}"
        ),
        Err(e) => panic!(
            "expected invalid_grant, the request failed otherwise: {}",
            describe(&e)
        ),
    }
}

/// Whether introspection (through the crate) says `token` is active.
async fn is_active(client: &Client, token: &AccessToken) -> bool {
    client
        .introspect(token)
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("introspection failed: {}", describe(&e)))
        .active()
}

#[tokio::test]
async fn the_oauth2_crate_runs_the_code_flow_with_pkce_and_http_basic_client_auth() {
    let server = oauth_server();
    let base = server.base_url();
    let web = client(&base, WEB_ID, Some(WEB_SECRET));
    assert!(
        matches!(web.auth_type(), AuthType::BasicAuth),
        "the crate's default is client_secret_basic"
    );

    let tokens = code_flow(&base, &web).await;

    assert_user_tokens(&tokens);
}

#[tokio::test]
async fn the_oauth2_crate_runs_the_code_flow_and_refresh_with_request_body_client_auth() {
    let server = oauth_server();
    let base = server.base_url();
    let web = client(&base, WEB_ID, Some(WEB_SECRET)).set_auth_type(AuthType::RequestBody);

    let tokens = code_flow(&base, &web).await;
    assert_user_tokens(&tokens);
    let refreshed = web
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("the refresh failed: {}", describe(&e)));

    assert_user_tokens(&refreshed);
}

#[tokio::test]
async fn the_oauth2_crate_runs_the_code_flow_for_a_public_client_without_a_secret() {
    let server = oauth_server();
    let base = server.base_url();
    let native = client(&base, NATIVE_ID, None);

    let tokens = code_flow(&base, &native).await;

    assert_user_tokens(&tokens);
}

#[tokio::test]
async fn the_oauth2_crate_refreshes_and_the_refresh_token_rotates() {
    let server = oauth_server();
    let base = server.base_url();
    let web = client(&base, WEB_ID, Some(WEB_SECRET));
    let tokens = code_flow(&base, &web).await;
    let first = tokens.refresh_token().expect("a refresh token");

    let refreshed = web
        .exchange_refresh_token(first)
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("the refresh failed: {}", describe(&e)));

    assert_user_tokens(&refreshed);
    let second = refreshed.refresh_token().expect("a new refresh token");
    assert_ne!(second.secret(), first.secret(), "the refresh token rotates");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret(),
        "a refresh issues a new access token"
    );
    assert!(is_active(&web, refreshed.access_token()).await);
    // The new refresh token is the live one: it refreshes again.
    let again = web
        .exchange_refresh_token(second)
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("the second refresh failed: {}", describe(&e)));
    assert_user_tokens(&again);
}

#[tokio::test]
async fn the_oauth2_crate_gets_a_client_credentials_token() {
    let server = oauth_server();
    let base = server.base_url();
    let service = client(&base, SERVICE_ID, Some(SERVICE_SECRET));

    let tokens = service
        .exchange_client_credentials()
        .add_scope(Scope::new(SERVICE_SCOPE.to_owned()))
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("the client credentials grant failed: {}", describe(&e)));

    assert_eq!(tokens.token_type(), &BasicTokenType::Bearer);
    assert!(tokens.expires_in().is_some_and(|d| d > Duration::ZERO));
    assert!(
        tokens.refresh_token().is_none(),
        "client credentials get no refresh token (RFC 6749 section 4.4.3)"
    );
    assert_access_token_is_an_eddsa_jwt(tokens.access_token());
    let introspected = service
        .introspect(tokens.access_token())
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("introspection failed: {}", describe(&e)));
    assert!(introspected.active());
    assert_eq!(introspected.client_id().map(|c| c.as_str()), Some(SERVICE_ID));
    let scopes: Vec<&str> = introspected
        .scopes()
        .map(|s| s.iter().map(|s| s.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(scopes, [SERVICE_SCOPE]);
}

#[tokio::test]
async fn the_oauth2_crate_introspects_a_live_token_as_active_and_a_revoked_one_as_inactive() {
    let server = oauth_server();
    let base = server.base_url();
    let web = client(&base, WEB_ID, Some(WEB_SECRET));
    let tokens = code_flow(&base, &web).await;
    let access = tokens.access_token();

    let live = web
        .introspect(access)
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("introspection failed: {}", describe(&e)));
    assert!(live.active(), "a fresh access token is active");
    assert_eq!(live.client_id().map(|c| c.as_str()), Some(WEB_ID));
    assert_eq!(live.username(), Some(USERNAME));
    assert_eq!(live.token_type(), Some(&BasicTokenType::Bearer));
    assert!(live.exp().is_some() && live.sub().is_some());
    assert_eq!(live.iss(), Some(base.as_str()));

    web.revoke_token(StandardRevocableToken::AccessToken(access.clone()))
        .expect("a revocation URL is set")
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("revocation failed: {}", describe(&e)));

    assert!(
        !is_active(&web, access).await,
        "a revoked access token must introspect as inactive"
    );
}

#[tokio::test]
async fn the_oauth2_crate_revokes_a_refresh_token_and_refreshing_then_fails_with_invalid_grant() {
    let server = oauth_server();
    let base = server.base_url();
    let web = client(&base, WEB_ID, Some(WEB_SECRET));
    let tokens = code_flow(&base, &web).await;
    let refresh = tokens.refresh_token().expect("a refresh token");

    web.revoke_token(StandardRevocableToken::RefreshToken(refresh.clone()))
        .expect("a revocation URL is set")
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("revocation failed: {}", describe(&e)));

    assert_refresh_fails(&web, refresh).await;
    // RFC 7009 section 2.1: revoking a refresh token SHOULD invalidate the access tokens of the
    // same grant; Latchkey documents that it does.
    assert!(
        !is_active(&web, tokens.access_token()).await,
        "the access token of a revoked grant must introspect as inactive"
    );
}

#[tokio::test]
async fn the_oauth2_crate_sees_revocation_of_an_unknown_token_succeed() {
    // RFC 7009 section 2.2: an invalid token is no error; the crate must see success.
    let server = oauth_server();
    let base = server.base_url();
    let web = client(&base, WEB_ID, Some(WEB_SECRET));

    web.revoke_token(StandardRevocableToken::AccessToken(AccessToken::new(
        "not-a-token".to_owned(),
    )))
    .expect("a revocation URL is set")
    .request_async(&http())
    .await
    .unwrap_or_else(|e| panic!("revocation of an unknown token failed: {}", describe(&e)));

    assert!(
        !is_active(&web, &AccessToken::new("not-a-token".to_owned())).await,
        "an unknown token introspects as inactive"
    );
}
