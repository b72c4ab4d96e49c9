//! The route table: every path the server answers, with its methods, what serves it, its CORS
//! policy and its parameter bounds. Routing ([`super::routes`]), the `Allow` header of 405
//! answers ([`super::allow`]), CORS ([`super::cors`]) and the request limits
//! ([`super::limits`], the body limit's error format) all read [`ROUTES`], and the routing test
//! walks it, so a route fact is written once.

use poem::http::Method;
use poem::{Endpoint, IntoResponse, Request, Response};

/// What answers a route, and so which headers and error format it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An HTML page: the page security headers ([`super::page_headers`]), HTML errors.
    Page,
    /// A fixed resource that sets its own headers: the stylesheet, the OpenAPI document and the
    /// `/docs` pages.
    Static,
    /// A JSON endpoint of the OpenAPI service outside `/api` (OAuth, discovery, JWKS, health):
    /// RFC 6749 section 5.2 error bodies.
    OAuth,
    /// The admin API: RFC 9457 problems for every error ([`super::strict`]).
    Api,
}

/// The handler behind a page or a fixed resource (the OpenAPI service dispatches its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// The home page (who is signed in).
    Home,
    /// The admin console: every `/admin` path, GET and POST (`pages::admin` routes inside).
    Console,
    /// The sign-in form.
    LoginForm,
    /// The sign-in form's POST.
    LoginSubmit,
    /// The redirect out to an upstream provider.
    UpstreamStart,
    /// The upstream provider's redirect back.
    UpstreamCallback,
    /// The sign-out form's POST.
    Logout,
    /// The authorization endpoint (RFC 6749 section 3.1), GET and POST alike.
    Authorize,
    /// The consent form's POST.
    Consent,
    /// The RP-initiated logout endpoint (OpenID Connect RP-Initiated Logout), GET and POST.
    EndSession,
    /// The logout confirmation form's POST.
    EndSessionConfirm,
    /// The first-administrator setup page.
    SetupForm,
    /// The setup page's POST.
    SetupSubmit,
    /// The one stylesheet.
    Stylesheet,
    /// The operator's logo (`[ui] logo`).
    Logo,
    /// The accent colours as CSS variables (`[ui] accent`, `accent_dark`).
    ThemeStylesheet,
    /// The operator's extra stylesheet (`[ui] stylesheet`).
    CustomStylesheet,
    /// The OpenAPI document as served.
    Document,
    /// Swagger UI.
    Docs,
    /// The page that receives the docs page's authorization response.
    DocsReceiver,
    /// The second step of a sign-in.
    FactorForm,
    /// The second step's POST (a TOTP or recovery code).
    FactorSubmit,
    /// The enrolment of a second factor inside a sign-in that requires one.
    FactorEnrolForm,
    /// Its POST (the confirming code).
    FactorEnrolSubmit,
    /// The TOTP page of the account.
    TotpForm,
    /// Its POST (confirming an enrolment).
    TotpSubmit,
    /// Removing the TOTP factor.
    TotpRemove,
    /// The recovery codes page of the account.
    RecoveryForm,
    /// Its POST (new codes).
    RecoverySubmit,
    /// The signed-in user's account page.
    Account,
    /// The app launcher: the applications the signed-in user may open.
    Apps,
    /// The account page's profile form.
    AccountProfile,
    /// The account page's password form.
    AccountPassword,
    /// The account page's session forms (sign out one, or every other).
    AccountSessions,
    /// The account page's "revoke" form for an application.
    AccountRevokeApplication,
    /// An invitation link's page.
    InviteForm,
    /// The invitation page's POST.
    InviteSubmit,
    /// The options for registering a passkey through an invitation (JSON).
    InvitePasskeyStart,
    /// The authenticator's answer to that registration: accepts the invitation (JSON).
    InvitePasskeyFinish,
    /// The one script: the WebAuthn ceremonies of the passkey pages.
    PasskeyScript,
    /// A signed-in user's passkeys.
    PasskeysPage,
    /// Renaming a passkey (a form POST).
    PasskeyRename,
    /// Removing a passkey (a form POST).
    PasskeyRemove,
    /// The options for registering a passkey (JSON).
    PasskeyRegisterStart,
    /// The authenticator's answer to a registration (JSON).
    PasskeyRegisterFinish,
    /// The options for a passkey-first sign-in (JSON).
    PasskeySignInStart,
    /// The authenticator's answer to a passkey-first sign-in (JSON).
    PasskeySignInFinish,
    /// The options for a passkey as the second step of a sign-in (JSON).
    PasskeyFactorStart,
    /// The authenticator's answer to it (JSON).
    PasskeyFactorFinish,
    /// Forward-auth for Traefik and Caddy (`X-Forwarded-*`).
    ForwardAuth,
    /// Forward-auth for nginx's `auth_request` (`X-Original-URL`).
    AuthRequest,
    /// Forward-auth for Envoy's `ext_authz` HTTP service.
    ExtAuthz,
    /// The round trip that gives a signed-in browser its forward-auth cookie.
    ForwardAuthSession,
    /// The language switcher's POST (sets the language cookie, back to the page).
    Language,
    /// The Prometheus scrape (`[metrics]`).
    Metrics,
}

/// How a route is served and which methods it answers.
#[derive(Debug, Clone, Copy)]
pub enum Serve {
    /// A handler per method. HEAD is answered wherever GET is (poem's method router does so).
    Handlers(&'static [(Method, Handler)]),
    /// The OpenAPI service, for this path and anything below it; the methods must be the ones the
    /// document lists for the path (the routing test checks it).
    OpenApi(&'static [Method]),
    /// The OpenAPI service for this path and every path below it, whose methods are the ones
    /// the document lists for each.
    OpenApiTree,
}

/// Who may call a route from another origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cors {
    /// No CORS header at all: browsers keep other origins out.
    None,
    /// Any origin, never credentials (the endpoints a browser-based client calls directly).
    AnyOrigin,
}

/// One row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// The path; a `{name}` segment matches any one non-empty segment, and a last `{*name}`
    /// segment whatever remains (even nothing).
    pub path: &'static str,
    /// What answers the route.
    pub kind: Kind,
    /// How it is served and which methods it answers.
    pub serve: Serve,
    /// Its CORS policy.
    pub cors: Cors,
    /// Whether a POST form body is held to the authorization endpoint's parameter bounds before
    /// the OpenAPI layer reads it ([`super::limits::limit_params`]).
    pub form_params: bool,
}

const fn page(path: &'static str, handlers: &'static [(Method, Handler)]) -> RouteSpec {
    RouteSpec {
        path,
        kind: Kind::Page,
        serve: Serve::Handlers(handlers),
        cors: Cors::None,
        form_params: false,
    }
}

const fn fixed(path: &'static str, handler: &'static [(Method, Handler)]) -> RouteSpec {
    RouteSpec {
        path,
        kind: Kind::Static,
        serve: Serve::Handlers(handler),
        cors: Cors::None,
        form_params: false,
    }
}

/// A forward-auth endpoint under `/api`: a handler (not an OpenAPI operation: its answers are
/// statuses and headers for a proxy), RFC 9457 problems for its errors.
const fn authz(path: &'static str, handlers: &'static [(Method, Handler)]) -> RouteSpec {
    RouteSpec {
        path,
        kind: Kind::Api,
        serve: Serve::Handlers(handlers),
        cors: Cors::None,
        form_params: false,
    }
}

const fn json(path: &'static str, methods: &'static [Method], cors: Cors, form_params: bool) -> RouteSpec {
    RouteSpec {
        path,
        kind: Kind::OAuth,
        serve: Serve::OpenApi(methods),
        cors,
        form_params,
    }
}

/// Every route of the server. The hot endpoints come first, since lookups walk the list.
pub const ROUTES: [RouteSpec; 61] = {
    use Handler as H;
    use Method as M;
    const GET: &[Method] = &[M::GET];
    const POST: &[Method] = &[M::POST];
    [
        json("/oauth/token", POST, Cors::AnyOrigin, true),
        json("/oauth/introspect", POST, Cors::AnyOrigin, true),
        json("/oauth/revoke", POST, Cors::AnyOrigin, true),
        json("/oauth/userinfo", &[M::GET, M::POST], Cors::AnyOrigin, true),
        json("/.well-known/openid-configuration", GET, Cors::AnyOrigin, false),
        json(
            "/.well-known/oauth-authorization-server",
            GET,
            Cors::AnyOrigin,
            false,
        ),
        json("/.well-known/jwks.json", GET, Cors::AnyOrigin, false),
        json("/healthz", GET, Cors::None, false),
        json("/readyz", GET, Cors::None, false),
        authz("/api/authz/forward-auth", &[(M::GET, H::ForwardAuth)]),
        authz("/api/authz/auth-request", &[(M::GET, H::AuthRequest)]),
        authz(
            "/api/authz/ext-authz/{*path}",
            &[
                (M::GET, H::ExtAuthz),
                (M::POST, H::ExtAuthz),
                (M::PUT, H::ExtAuthz),
                (M::PATCH, H::ExtAuthz),
                (M::DELETE, H::ExtAuthz),
                (M::OPTIONS, H::ExtAuthz),
            ],
        ),
        RouteSpec {
            path: "/api",
            kind: Kind::Api,
            serve: Serve::OpenApiTree,
            cors: Cors::None,
            form_params: false,
        },
        page("/", &[(M::GET, H::Home)]),
        page("/forward-auth/session", &[(M::GET, H::ForwardAuthSession)]),
        page("/login", &[(M::GET, H::LoginForm), (M::POST, H::LoginSubmit)]),
        page("/login/upstream/{name}", &[(M::GET, H::UpstreamStart)]),
        page(
            "/login/upstream/{name}/callback",
            &[(M::GET, H::UpstreamCallback)],
        ),
        page(
            "/login/factor",
            &[(M::GET, H::FactorForm), (M::POST, H::FactorSubmit)],
        ),
        page(
            "/login/factor/enrol",
            &[(M::GET, H::FactorEnrolForm), (M::POST, H::FactorEnrolSubmit)],
        ),
        page(
            "/account/totp",
            &[(M::GET, H::TotpForm), (M::POST, H::TotpSubmit)],
        ),
        page("/account/totp/remove", &[(M::POST, H::TotpRemove)]),
        page(
            "/account/recovery",
            &[(M::GET, H::RecoveryForm), (M::POST, H::RecoverySubmit)],
        ),
        page("/logout", &[(M::POST, H::Logout)]),
        page("/language", &[(M::POST, H::Language)]),
        page(
            "/oauth/authorize",
            &[(M::GET, H::Authorize), (M::POST, H::Authorize)],
        ),
        page("/oauth/consent", &[(M::POST, H::Consent)]),
        page(
            "/oauth/logout",
            &[(M::GET, H::EndSession), (M::POST, H::EndSession)],
        ),
        page("/oauth/logout/confirm", &[(M::POST, H::EndSessionConfirm)]),
        page("/setup", &[(M::GET, H::SetupForm), (M::POST, H::SetupSubmit)]),
        page("/setup/", &[(M::GET, H::SetupForm), (M::POST, H::SetupSubmit)]),
        page("/account", &[(M::GET, H::Account)]),
        page("/apps", &[(M::GET, H::Apps)]),
        page("/admin", &[(M::GET, H::Console), (M::POST, H::Console)]),
        page("/admin/{*path}", &[(M::GET, H::Console), (M::POST, H::Console)]),
        page("/account/profile", &[(M::POST, H::AccountProfile)]),
        page("/account/password", &[(M::POST, H::AccountPassword)]),
        page("/account/sessions", &[(M::POST, H::AccountSessions)]),
        page(
            "/account/applications/revoke",
            &[(M::POST, H::AccountRevokeApplication)],
        ),
        page(
            "/invite/{token}",
            &[(M::GET, H::InviteForm), (M::POST, H::InviteSubmit)],
        ),
        page(
            "/invite/{token}/passkey/start",
            &[(M::POST, H::InvitePasskeyStart)],
        ),
        page(
            "/invite/{token}/passkey/finish",
            &[(M::POST, H::InvitePasskeyFinish)],
        ),
        page("/account/passkeys", &[(M::GET, H::PasskeysPage)]),
        page("/account/passkeys/rename", &[(M::POST, H::PasskeyRename)]),
        page("/account/passkeys/remove", &[(M::POST, H::PasskeyRemove)]),
        page(
            "/account/passkeys/register/start",
            &[(M::POST, H::PasskeyRegisterStart)],
        ),
        page(
            "/account/passkeys/register/finish",
            &[(M::POST, H::PasskeyRegisterFinish)],
        ),
        page("/login/passkey/start", &[(M::POST, H::PasskeySignInStart)]),
        page("/login/passkey/finish", &[(M::POST, H::PasskeySignInFinish)]),
        page("/login/factor/passkey/start", &[(M::POST, H::PasskeyFactorStart)]),
        page(
            "/login/factor/passkey/finish",
            &[(M::POST, H::PasskeyFactorFinish)],
        ),
        fixed("/static/style.css", &[(M::GET, H::Stylesheet)]),
        fixed("/static/theme.css", &[(M::GET, H::ThemeStylesheet)]),
        fixed("/static/custom.css", &[(M::GET, H::CustomStylesheet)]),
        fixed("/static/logo", &[(M::GET, H::Logo)]),
        fixed("/static/passkey.js", &[(M::GET, H::PasskeyScript)]),
        fixed("/openapi.json", &[(M::GET, H::Document)]),
        fixed("/metrics", &[(M::GET, H::Metrics)]),
        fixed("/docs", &[(M::GET, H::Docs)]),
        fixed("/docs/", &[(M::GET, H::Docs)]),
        // The registered redirect URI of the built-in client `latchkey-docs`.
        fixed(
            crate::service::clients::DOCS_RECEIVER_PATH,
            &[(M::GET, H::DocsReceiver)],
        ),
    ]
};

impl RouteSpec {
    /// Whether this route answers `path` (for an OpenAPI route, `path` or a path below it).
    pub fn matches(&self, path: &str) -> bool {
        match self.serve {
            Serve::OpenApi(_) => path == self.path,
            Serve::OpenApiTree => path
                .strip_prefix(self.path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            Serve::Handlers(_) => template_matches(self.path, path),
        }
    }

    /// The methods the route answers as listed in the table, without HEAD (`None` for a tree
    /// whose methods the OpenAPI document lists).
    pub fn methods(&self) -> Option<Vec<Method>> {
        match self.serve {
            Serve::Handlers(handlers) => {
                let mut out: Vec<Method> = Vec::new();
                for (m, _) in handlers {
                    if !out.contains(m) {
                        out.push(m.clone());
                    }
                }
                Some(out)
            }
            Serve::OpenApi(methods) => Some(methods.to_vec()),
            Serve::OpenApiTree => None,
        }
    }

    /// The path as poem's router writes it (`:name` for `{name}`).
    pub fn poem_path(&self) -> String {
        self.path
            .split('/')
            .map(
                |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) if name.starts_with('*') => name.to_owned(),
                    Some(name) => format!(":{name}"),
                    None => seg.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The `Allow` value of `methods`: each once, HEAD wherever GET is, in alphabetical order (as
/// the OpenAPI paths' values are written).
pub fn allow_value(methods: &[Method]) -> String {
    let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
    if names.contains(&"GET") && !names.contains(&"HEAD") {
        names.push("HEAD");
    }
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

/// Whether the path `template` (with `{name}` segments) matches `path`.
fn template_matches(template: &str, path: &str) -> bool {
    if !template.contains('{') {
        return template == path;
    }
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(_)) if w.starts_with("{*") => return true,
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => {
                if h.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

/// The route that answers `path`, if any.
pub fn find(path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.matches(path))
}

/// The route a request was matched to, found once by [`match_route`] (the outermost middleware)
/// and kept in the request's extensions for every layer inside it.
#[derive(Clone, Copy)]
struct Matched(Option<&'static RouteSpec>);

/// Finds the request's route once and keeps it for [`route_of`].
pub async fn match_route<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let route = find(req.uri().path());
    req.extensions_mut().insert(Matched(route));
    Ok(next.call(req).await?.into_response())
}

/// The route that answers the request: the one [`match_route`] found, or, for a request that did
/// not pass through it, looked up now.
pub fn route_of(req: &Request) -> Option<&'static RouteSpec> {
    match req.extensions().get::<Matched>() {
        Some(Matched(route)) => *route,
        None => find(req.uri().path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_exactly_parameters_take_one_segment_and_the_api_is_a_tree() {
        let kind = |p: &str| find(p).map(|r| r.kind);
        assert_eq!(kind("/oauth/token"), Some(Kind::OAuth));
        assert_eq!(kind("/oauth/token/x"), None);
        assert_eq!(kind("/login/upstream/github"), Some(Kind::Page));
        assert_eq!(kind("/login/upstream/github/callback"), Some(Kind::Page));
        assert_eq!(kind("/login/upstream/"), None);
        assert_eq!(kind("/login/upstream/a/b"), None);
        assert_eq!(kind("/api"), Some(Kind::Api));
        assert_eq!(kind("/api/v1/users/bob"), Some(Kind::Api));
        assert_eq!(kind("/apix"), None);
        assert_eq!(kind("/apps"), Some(Kind::Page));
        assert_eq!(kind("/docs/oauth-receiver.html"), Some(Kind::Static));
        assert_eq!(kind("/nowhere"), None);
    }

    #[test]
    fn every_path_is_listed_once_and_poem_paths_use_colons() {
        let mut paths: Vec<&str> = ROUTES.iter().map(|r| r.path).collect();
        let count = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), count, "a path is listed twice");
        let poem_path = |path: &str| ROUTES.iter().find(|r| r.path == path).map(RouteSpec::poem_path);
        assert_eq!(
            poem_path("/login/upstream/{name}").as_deref(),
            Some("/login/upstream/:name")
        );
        assert_eq!(
            poem_path("/api/authz/ext-authz/{*path}").as_deref(),
            Some("/api/authz/ext-authz/*path")
        );
    }

    #[test]
    fn a_tail_parameter_takes_the_rest_of_the_path() {
        let kind = |p: &str| find(p).map(|r| (r.path, r.kind));
        let ext = Some(("/api/authz/ext-authz/{*path}", Kind::Api));
        assert_eq!(kind("/api/authz/ext-authz/"), ext);
        assert_eq!(kind("/api/authz/ext-authz/a/b/c"), ext);
        assert_eq!(
            kind("/api/authz/forward-auth").map(|k| k.0),
            Some("/api/authz/forward-auth")
        );
        // Anything else under /api is still the admin API's tree.
        assert_eq!(kind("/api/authz/other").map(|k| k.0), Some("/api"));
    }

    #[test]
    fn allow_values_add_head_to_get_and_sort() {
        assert_eq!(allow_value(&[Method::GET, Method::POST]), "GET, HEAD, POST");
        assert_eq!(allow_value(&[Method::POST]), "POST");
        assert_eq!(allow_value(&[Method::GET, Method::GET]), "GET, HEAD");
    }
}
