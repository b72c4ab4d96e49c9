//! "Sign in with ..." end to end in a real browser: two Latchkey servers on loopback, A
//! configured as B's `oidc` upstream (`link = "create"`). Headless Chromium starts a code flow at
//! B for a relying party built with the `openidconnect` crate, clicks "Sign in with Server A" on
//! B's login page, signs in and consents at A, consents at B, and lands at the relying party's
//! redirect URI. The relying party redeems the code and verifies B's ID token through B's JWKS;
//! B's command line shows the user it created and the link to A's subject. A second sign-in in a
//! fresh browser reuses the link.
//!
//! Both servers live on 127.0.0.1, so the browser sends each one the other's cookies too (cookies
//! do not tell ports apart); the flow must work regardless.

use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use serde_json::Value;
use url::Url;

use crate::browser::{Browser, Callback};
use crate::flows::{PASSWORD, USERNAME, query_param, random_string};
use crate::harness::{ALLOW_LOOPBACK, Server, assert_success, default_config, usernames};

/// The upstream's `name` at B, which is part of B's URLs.
const UPSTREAM: &str = "a";
/// The upstream's `display_name` at B, shown on B's login page.
const UPSTREAM_DISPLAY: &str = "Server A";
/// B's client registration at A.
const B_AT_A_ID: &str = "latchkey-b";
const B_AT_A_NAME: &str = "Latchkey B";

/// The relying party registered at B.
const RP_ID: &str = "harbour-web";
const RP_NAME: &str = "Harbour Web Console";
const RP_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// A's user, who signs in at B through A.
const A_USERNAME: &str = "dora";
const A_PASSWORD: &str = "a quite long password for dora";
const A_EMAIL: &str = "dora@example.com";
const A_NAME: &str = "Dora Maar";

/// How long the browser may take to reach the next page of the flow.
const PAGE_WITHIN: Duration = Duration::from_secs(30);
/// How often the current page is looked at again while waiting.
const POLL: Duration = Duration::from_millis(50);

/// The relying party's client: authorization endpoint from discovery, token endpoint as
/// discovered.
type RpClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The two servers, the relying party's secret at B, and an HTTP client for the relying party.
struct Federation {
    a: Server,
    b: Server,
    rp_secret: String,
    http: reqwest::Client,
}

/// B's callback for the upstream, which A must register as B's redirect URI.
fn b_callback(b_port: u16) -> String {
    format!("http://127.0.0.1:{b_port}/login/upstream/{UPSTREAM}/callback")
}

impl Federation {
    /// A with a client for B and the user [`A_USERNAME`]; B with A as its `oidc` upstream
    /// (`link = "create"`, secret in a file beside B's configuration), the relying party
    /// [`RP_ID`] and one local user of its own ([`USERNAME`]). Both started.
    fn start() -> Federation {
        // Each configuration names the other's port: make both instances, then write A's.
        let mut a = Server::new();
        let a_port = a.port();
        let rp_secret = random_string(32);
        let rp_digest = latchkey::service::clients::digest_text(&rp_secret);
        let mut b = Server::with_config(|port| {
            default_config(port)
                + ALLOW_LOOPBACK
                + &format!(
                    r#"
[[client]]
client_id = "{RP_ID}"
name = "{RP_NAME}"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "profile", "email"]
secret_digest = "{rp_digest}"

[[upstream]]
name = "{UPSTREAM}"
display_name = "{UPSTREAM_DISPLAY}"
kind = "oidc"
issuer = "http://127.0.0.1:{a_port}"
client_id = "{B_AT_A_ID}"
client_secret_file = "upstream-a.secret"
scopes = ["openid", "profile", "email"]
link = "create"
"#
                )
        });
        let upstream_secret = random_string(32);
        std::fs::write(b.dir().join("upstream-a.secret"), format!("{upstream_secret}\n"))
            .expect("cannot write B's upstream secret");
        std::fs::write(a.dir().join("latchkey-b.secret"), format!("{upstream_secret}\n"))
            .expect("cannot write A's client secret");
        let a_config = default_config(a_port)
            + &format!(
                r#"
[[client]]
client_id = "{B_AT_A_ID}"
name = "{B_AT_A_NAME}"
redirect_uris = ["{}"]
scopes = ["openid", "profile", "email"]
secret_file = "latchkey-b.secret"
"#,
                b_callback(b.port())
            );
        std::fs::write(a.config_path(), a_config).expect("cannot write A's configuration");

        a.start();
        b.start();
        let add_a = [
            "user",
            "add",
            A_USERNAME,
            "--email",
            A_EMAIL,
            "--email-verified",
            "--name",
            A_NAME,
            "--password-stdin",
        ];
        assert_success(&a.cli_stdin(&add_a, &format!("{A_PASSWORD}\n")));
        assert_success(&b.cli_stdin(
            &["user", "add", USERNAME, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        ));
        // Following redirects would expose the relying party to SSRF (the crate's advice).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        Federation {
            a,
            b,
            rp_secret,
            http,
        }
    }

    /// The relying party at B, from a fresh discovery, redirecting to `callback`.
    async fn rp(&self, callback: &Callback) -> RpClient {
        let issuer = IssuerUrl::new(self.b.base_url()).expect("an issuer URL");
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .unwrap_or_else(|e| panic!("discovery at B failed: {e} ({e:?})"));
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(RP_ID.to_owned()),
            Some(ClientSecret::new(self.rp_secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::new(callback.redirect_uri()).expect("a redirect URL"))
    }

    /// B's users' names.
    fn b_usernames(&self) -> Vec<String> {
        usernames(&self.b.cli_json(&["user", "list", "--json"]))
            .into_iter()
            .collect()
    }
}

/// Where the browser is in the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    BLogin,
    ALogin,
    AConsent,
    BConsent,
    Callback,
}

const LOGIN_FORM: &str = "form[action='/login']";
const CONSENT_FORM: &str = "form[action='/oauth/consent']";
const ALLOW: &str = "form[action='/oauth/consent'] button[name='decision'][value='allow']";

/// The port of a loopback URL.
fn port_of(url: &Url) -> Option<u16> {
    url.port_or_known_default()
}

/// The visible text of the page's `main` (or the whole source when there is none), for messages.
async fn page_text(browser: &Browser) -> String {
    if let Ok(main) = browser.client.find(fantoccini::Locator::Css("main")).await
        && let Ok(text) = main.text().await
    {
        return text;
    }
    browser.client.source().await.unwrap_or_default()
}

/// Waits (bounded) until the browser shows one of the flow's pages, and says which. Fails at
/// once, with the page's text, on an error page of B's upstream sign-in.
async fn next_stop(browser: &Browser, fed: &Federation, callback_port: u16) -> Stop {
    let deadline = Instant::now() + PAGE_WITHIN;
    let mut last_url = None;
    loop {
        if let Ok(url) = browser.client.current_url().await {
            let port = port_of(&url);
            let has = |selector: &'static str| async move {
                browser
                    .client
                    .find(fantoccini::Locator::Css(selector))
                    .await
                    .is_ok()
            };
            if port == Some(callback_port) && url.path() == "/callback" {
                return Stop::Callback;
            }
            if port == Some(fed.a.port()) {
                if has(LOGIN_FORM).await {
                    return Stop::ALogin;
                }
                if has(ALLOW).await {
                    return Stop::AConsent;
                }
            }
            if port == Some(fed.b.port()) {
                if has(LOGIN_FORM).await {
                    return Stop::BLogin;
                }
                if has(ALLOW).await {
                    return Stop::BConsent;
                }
                // A successful callback redirects; a page shown there is a failure.
                if url.path().starts_with("/login/upstream/") && has("main h1").await {
                    panic!(
                        "B's upstream sign-in failed at {url}:\n{}\nB's standard error:\n{}",
                        page_text(browser).await,
                        fed.b.stderr_text()
                    );
                }
            }
            last_url = Some(url);
        }
        if Instant::now() >= deadline {
            let shown = match &last_url {
                Some(_) => page_text(browser).await,
                None => String::new(),
            };
            panic!(
                "the browser reached no page of the flow within {PAGE_WITHIN:?}; it shows {last_url:?}:\n{shown}"
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Clicks the element `target` and waits (bounded) until the page that held it is gone, so that
/// the next look sees the next page.
async fn click_and_leave(browser: &Browser, target: &str) {
    let element = browser.wait_for(target).await;
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click `{target}`: {e}"));
    let deadline = Instant::now() + PAGE_WITHIN;
    // An element of a page that was navigated away from answers nothing but errors.
    while element.attr("class").await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the browser stayed on the page of `{target}` for {PAGE_WITHIN:?}:\n{}",
            page_text(browser).await
        );
        tokio::time::sleep(POLL).await;
    }
}

/// What the relying party sent, to check the answer against.
struct Pending {
    url: Url,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

fn authorization(rp: &RpClient) -> Pending {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in RP_SCOPES {
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    let (url, state, nonce) = request.url();
    Pending {
        url,
        state,
        nonce,
        verifier,
    }
}

/// On B's login page: checks the "Sign in with Server A" link and clicks it.
async fn choose_upstream(browser: &Browser, fed: &Federation) {
    let selector = format!("a.button.upstream[data-upstream='{UPSTREAM}']");
    browser.wait_for(&selector).await;
    assert_eq!(
        browser.text(&selector).await,
        format!("Sign in with {UPSTREAM_DISPLAY}")
    );
    let href = browser
        .attr(&selector, "href")
        .await
        .expect("the upstream link has an href");
    let href = Url::parse(&fed.b.base_url())
        .and_then(|base| base.join(&href))
        .unwrap_or_else(|e| panic!("the upstream link's href `{href}` is not a URL: {e}"));
    assert_eq!(port_of(&href), Some(fed.b.port()), "{href}");
    assert_eq!(href.path(), format!("/login/upstream/{UPSTREAM}"), "{href}");
    let return_to = query_param(&href, "return_to")
        .unwrap_or_else(|| panic!("the upstream link carries no return_to: {href}"));
    assert!(
        return_to.starts_with("/oauth/authorize?") && return_to.contains(&format!("client_id={RP_ID}")),
        "the upstream link must return to B's pending authorization request: {return_to}"
    );
    click_and_leave(browser, &selector).await;
}

/// On A's login page: checks that B's request to A is a proper OpenID Connect code request with
/// PKCE and a nonce, that the page names B's client, and signs in as [`A_USERNAME`].
async fn sign_in_at_a(browser: &Browser, fed: &Federation) {
    let at = browser.client.current_url().await.expect("the current URL");
    assert_eq!(at.path(), "/oauth/authorize", "{at}");
    let param = |name: &str| query_param(&at, name);
    assert_eq!(param("response_type").as_deref(), Some("code"), "{at}");
    assert_eq!(param("client_id").as_deref(), Some(B_AT_A_ID), "{at}");
    assert_eq!(
        param("redirect_uri").as_deref(),
        Some(b_callback(fed.b.port()).as_str()),
        "{at}"
    );
    let scope = param("scope").unwrap_or_default();
    for wanted in ["openid", "profile", "email"] {
        assert!(scope.split(' ').any(|s| s == wanted), "B asks A for `{scope}`");
    }
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"), "{at}");
    assert!(param("code_challenge").is_some_and(|c| c.len() == 43), "{at}");
    assert!(param("state").is_some_and(|s| s.len() >= 16), "{at}");
    assert!(param("nonce").is_some_and(|n| n.len() >= 16), "{at}");
    let lead = browser.text("p.lead").await;
    assert!(
        lead.contains(B_AT_A_NAME),
        "A's login page should name B's client `{B_AT_A_NAME}`: {lead}"
    );

    browser.type_into("input#username", A_USERNAME).await;
    browser.type_into("input#password", A_PASSWORD).await;
    click_and_leave(browser, &format!("{LOGIN_FORM} button[type='submit']")).await;
}

/// On a consent page: checks that it names `client_name` and the account `username`, and allows.
async fn allow(browser: &Browser, client_name: &str, username: &str) {
    browser.wait_for(CONSENT_FORM).await;
    let page = browser.text("main").await;
    assert!(
        page.contains(client_name) && page.contains(username),
        "the consent page should name `{client_name}` and the account `{username}`:\n{page}"
    );
    click_and_leave(browser, ALLOW).await;
}

/// One sign-in at B through A in a fresh browser, from the relying party's authorization request
/// to its redirect URI; the relying party then redeems the code and verifies B's ID token.
/// Returns the pages the browser went through and the ID token's claims.
async fn sign_in_through_a(fed: &Federation) -> (Vec<Stop>, CoreIdTokenClaims) {
    let mut callback = Callback::start();
    let callback_port = port_of(&Url::parse(&callback.redirect_uri()).expect("a URL")).expect("a port");
    let rp = fed.rp(&callback).await;
    let pending = authorization(&rp);
    let browser = Browser::start().await;
    browser
        .client
        .goto(pending.url.as_str())
        .await
        .unwrap_or_else(|e| panic!("the browser cannot open {}: {e}", pending.url));

    let mut path = Vec::new();
    loop {
        let stop = next_stop(&browser, fed, callback_port).await;
        assert!(
            !path.contains(&stop),
            "the browser came to {stop:?} again after {path:?}:\n{}",
            page_text(&browser).await
        );
        path.push(stop);
        match stop {
            Stop::BLogin => choose_upstream(&browser, fed).await,
            Stop::ALogin => sign_in_at_a(&browser, fed).await,
            Stop::AConsent => allow(&browser, B_AT_A_NAME, A_USERNAME).await,
            Stop::BConsent => allow(&browser, RP_NAME, A_USERNAME).await,
            Stop::Callback => break,
        }
    }
    let landed = callback.next().await;
    browser.close().await;

    let b_base = fed.b.base_url();
    assert_eq!(
        query_param(&landed, "error"),
        None,
        "an error came back: {landed}"
    );
    assert_eq!(
        query_param(&landed, "state").as_deref(),
        Some(pending.state.secret().as_str()),
        "{landed}"
    );
    assert_eq!(
        query_param(&landed, "iss").as_deref(),
        Some(b_base.as_str()),
        "{landed}"
    );
    let code = query_param(&landed, "code").unwrap_or_else(|| panic!("no code in the redirect {landed}"));

    let tokens: CoreTokenResponse = rp
        .exchange_code(AuthorizationCode::new(code))
        .expect("discovery names a token endpoint")
        .set_pkce_verifier(pending.verifier)
        .request_async(&fed.http)
        .await
        .unwrap_or_else(|e| panic!("the code exchange at B failed: {e} ({e:?})"));
    let id_token = tokens.id_token().expect("an openid request gets an ID token");
    // Signature through B's JWKS (EdDSA, B's default), issuer B, audience, expiry and our nonce.
    let verifier = rp
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::EdDsa]);
    let claims = id_token
        .claims(&verifier, &pending.nonce)
        .unwrap_or_else(|e| panic!("B's ID token does not verify: {e} ({e:?})"))
        .clone();
    assert_eq!(claims.issuer().as_str(), b_base);
    (path, claims)
}

/// The `amr` values of an ID token.
fn amr(claims: &CoreIdTokenClaims) -> Vec<String> {
    claims
        .auth_method_refs()
        .map(|refs| refs.iter().map(|r| r.as_str().to_owned()).collect())
        .unwrap_or_default()
}

/// B's links of user `username`, from the command line.
fn links(fed: &Federation, username: &str) -> Vec<Value> {
    let links = fed.b.cli_json(&["user", "links", username, "--json"]);
    links
        .as_array()
        .unwrap_or_else(|| panic!("`user links --json` prints an array: {links}"))
        .clone()
}

#[tokio::test]
async fn signing_in_at_b_through_upstream_a_in_chromium_creates_a_linked_user_and_the_second_sign_in_reuses_it()
 {
    let fed = Federation::start();
    let a_user = fed.a.cli_json(&["user", "show", A_USERNAME, "--json"]);
    let a_subject = a_user["subject"]
        .as_str()
        .expect("A's user has a subject")
        .to_owned();
    assert_eq!(
        fed.b_usernames(),
        vec![USERNAME.to_owned()],
        "B starts with its own user only"
    );

    // First sign-in: every page, and B creates the user.
    let (path, first) = sign_in_through_a(&fed).await;
    assert_eq!(
        path,
        [
            Stop::BLogin,
            Stop::ALogin,
            Stop::AConsent,
            Stop::BConsent,
            Stop::Callback
        ],
        "a first sign-in goes through B's login page, A's login and consent pages and B's consent page"
    );
    let methods = amr(&first);
    assert!(
        methods.iter().any(|m| m == &format!("upstream:{UPSTREAM}")) && methods.iter().any(|m| m == "fed"),
        "B's ID token should say the user signed in through upstream `{UPSTREAM}`: amr = {methods:?}"
    );
    assert_eq!(
        first.preferred_username().map(|u| u.as_str()),
        Some(A_USERNAME),
        "the user B created takes A's preferred_username"
    );

    let mut expected_users = vec![A_USERNAME.to_owned(), USERNAME.to_owned()];
    expected_users.sort();
    assert_eq!(
        fed.b_usernames(),
        expected_users,
        "link = \"create\" made exactly one user"
    );
    let b_user = fed.b.cli_json(&["user", "show", A_USERNAME, "--json"]);
    assert_eq!(
        b_user["subject"].as_str(),
        Some(first.subject().as_str()),
        "B's ID token is about the user B created: {b_user}"
    );
    assert_ne!(
        first.subject().as_str(),
        a_subject,
        "B gives the user its own subject, not A's"
    );
    assert_eq!(b_user["email"].as_str(), Some(A_EMAIL), "{b_user}");
    assert_eq!(b_user["email_verified"].as_bool(), Some(true), "{b_user}");
    assert_eq!(b_user["name"].as_str(), Some(A_NAME), "{b_user}");
    assert_eq!(
        b_user["has_password"].as_bool(),
        Some(false),
        "a user made from an upstream identity has no password at B: {b_user}"
    );

    let linked = links(&fed, A_USERNAME);
    assert_eq!(linked.len(), 1, "one link: {linked:?}");
    assert_eq!(linked[0]["upstream"].as_str(), Some(UPSTREAM), "{linked:?}");
    assert_eq!(
        linked[0]["upstream_subject"].as_str(),
        Some(a_subject.as_str()),
        "the link holds A's subject of the user: {linked:?}"
    );
    assert!(links(&fed, USERNAME).is_empty(), "B's own user has no links");

    // Second sign-in, in a fresh browser: no session at either server, so both login pages again;
    // both consents are remembered (B's for the same user), so no consent page.
    let (path, second) = sign_in_through_a(&fed).await;
    assert_eq!(
        path,
        [Stop::BLogin, Stop::ALogin, Stop::Callback],
        "a second sign-in signs in at A again and finds both consents remembered"
    );
    assert_eq!(
        second.subject(),
        first.subject(),
        "the second sign-in is the same user at B"
    );
    assert!(
        amr(&second).iter().any(|m| m == &format!("upstream:{UPSTREAM}")),
        "amr = {:?}",
        amr(&second)
    );
    assert_eq!(
        fed.b_usernames(),
        expected_users,
        "the second sign-in made no user"
    );
    let linked = links(&fed, A_USERNAME);
    assert_eq!(linked.len(), 1, "still one link: {linked:?}");
    assert_eq!(linked[0]["upstream_subject"].as_str(), Some(a_subject.as_str()));
}
