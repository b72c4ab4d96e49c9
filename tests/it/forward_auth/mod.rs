//! Forward-auth through real reverse proxies: Debian's nginx (`auth_request`) and Caddy
//! (`forward_auth`), and a stand-in for Traefik's ForwardAuth middleware, run the very
//! configuration files the README shows (`docs/forward-auth/`) in front of a small echo app, with
//! a real Latchkey (built-in TLS, the access rules of [`FORWARD_AUTH`]) as the auth server.
//!
//! Every host of `example.test` resolves to 127.0.0.1 in the test's HTTP client, which trusts the
//! test's own CA and follows no redirect by itself, so each hop is looked at. This module holds the
//! shared fixture: the certificates ([`Pki`]), the Latchkey server and its users ([`Rig`]), and a
//! cookie-keeping visitor that signs in through the pages ([`Visitor`]).

mod browser;
mod caddy;
mod fake_traefik;
mod nginx;
mod proxies;
mod readme;
mod scenarios;
mod session;
mod spoofing;
mod traefik;
mod upstream;

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use tempfile::TempDir;
use url::Url;

use crate::flows::{PASSWORD, form_field, html_unescape};
use crate::harness::{Server, assert_success, toml_path};

pub use proxies::{Kind, Proxy};
pub use upstream::{Echo, Upstream};

/// The cookie domain: every app and Latchkey itself live under it.
pub const DOMAIN: &str = "example.test";
/// Latchkey's host name (the issuer's host).
pub const AUTH_HOST: &str = "auth.example.test";
/// The host names the tests visit; each resolves to 127.0.0.1.
pub const HOSTS: [&str; 5] = [
    "auth.example.test",
    "app.example.test",
    "public.example.test",
    "secure.example.test",
    "wiki.example.test",
];

/// A member of `staff` without a second factor.
pub const ALICE: &str = "alice";
/// A user outside `staff`.
pub const BOB: &str = "bob";
/// A member of `staff` who enrols TOTP (see [`Rig::enrol_totp`]).
pub const CAROL: &str = "carol";

/// The `[forward_auth]` section every test's Latchkey runs with (the contract of issue 15).
pub const FORWARD_AUTH: &str = r#"
[forward_auth]
cookie_domain = "example.test"
default_policy = "deny"

[[forward_auth.rule]]
domain = "public.example.test"
policy = "bypass"

[[forward_auth.rule]]
domain = "app.example.test"
path = "^/open/"
policy = "bypass"

[[forward_auth.rule]]
domain = "secure.example.test"
policy = "two_factor"

[[forward_auth.rule]]
domain = "*.example.test"
subject = ["group:staff"]
policy = "one_factor"
"#;

/// How long one HTTP request of a test may take.
const REQUEST_WITHIN: Duration = Duration::from_secs(20);
/// At most this many redirects are followed in a row.
const MAX_HOPS: usize = 12;

/// A test CA and one certificate it signed for `auth.example.test`, `*.example.test` and
/// 127.0.0.1, served by Latchkey and by every proxy; the PEM files live in a temporary directory.
pub struct Pki {
    dir: TempDir,
    pub ca_pem: String,
}

impl Pki {
    pub fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Latchkey forward-auth test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("a CA key")).expect("a CA");
        let names = vec![
            AUTH_HOST.to_owned(),
            format!("*.{DOMAIN}"),
            "127.0.0.1".to_owned(),
        ];
        let mut leaf = CertificateParams::new(names).expect("certificate parameters");
        leaf.distinguished_name.push(DnType::CommonName, AUTH_HOST);
        let key = KeyPair::generate().expect("a key");
        let cert = leaf.signed_by(&key, &ca).expect("a certificate signed by the CA");
        let dir = tempfile::Builder::new()
            .prefix("latchkey-fa-pki-")
            .tempdir()
            .expect("a temporary directory");
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).expect("cannot write a PEM file");
        };
        write("ca.pem", &ca.pem());
        write("cert.pem", &cert.pem());
        write("key.pem", &key.serialize_pem());
        Pki {
            ca_pem: ca.pem(),
            dir,
        }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn cert_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }
}

/// Latchkey's configuration: the issuer `https://auth.example.test:PORT` with built-in TLS,
/// loopback as the trusted proxy, and `forward_auth` (normally [`FORWARD_AUTH`]).
fn latchkey_config(port: u16, pki: &Pki, forward_auth: &str) -> String {
    format!(
        "issuer = \"https://{AUTH_HOST}:{port}\"\nlisten = \"127.0.0.1:{port}\"\ndata = \"data/identity.redb\"\n\
         trusted_proxies = [\"127.0.0.1\", \"::1\"]\n\n[tls]\ncertificate = {}\nkey = {}\n{forward_auth}",
        toml_path(&pki.cert_file()),
        toml_path(&pki.key_file()),
    )
}

/// Everything a forward-auth test needs but the proxy: the certificates, a running Latchkey with
/// the users [`ALICE`], [`BOB`] and [`CAROL`], and the echo app.
pub struct Rig {
    pub latchkey: Server,
    pub upstream: Upstream,
    pub pki: Pki,
}

impl Rig {
    /// A rig whose Latchkey runs with [`FORWARD_AUTH`].
    pub fn start() -> Rig {
        Rig::start_with(FORWARD_AUTH)
    }

    /// A rig whose Latchkey runs with `forward_auth` as its `[forward_auth]` section.
    pub fn start_with(forward_auth: &str) -> Rig {
        let pki = Pki::new();
        let mut latchkey = Server::with_config(|port| latchkey_config(port, &pki, forward_auth));
        // It speaks only TLS, so the harness's plain-HTTP readiness probe cannot be used.
        latchkey.start_until(|s| s.stderr_text().contains(" listening"));
        let add = |name: &str, groups: &[&str]| {
            let email = format!("{name}@{DOMAIN}");
            let display = format!("{}{} Example", name[..1].to_uppercase(), &name[1..]);
            let mut args = vec!["user", "add", name, "--email", &email, "--name", &display];
            for group in groups {
                args.extend(["--group", group]);
            }
            args.push("--password-stdin");
            assert_success(&latchkey.cli_stdin(&args, &format!("{PASSWORD}\n")));
        };
        add(ALICE, &["staff", "readers"]);
        add(BOB, &["guests"]);
        add(CAROL, &["staff"]);
        Rig {
            latchkey,
            upstream: Upstream::start(),
            pki,
        }
    }

    /// The issuer, `https://auth.example.test:PORT`.
    pub fn issuer(&self) -> String {
        format!("https://{AUTH_HOST}:{}", self.latchkey.port())
    }

    /// Where the proxies reach Latchkey: its TLS listener by address (the certificate names
    /// 127.0.0.1 too, for Traefik, which has no separate TLS server name).
    pub fn latchkey_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.latchkey.port())
    }

    /// A visitor with an empty cookie jar.
    pub fn visitor(&self) -> Visitor {
        Visitor::new(&self.pki)
    }

    /// Enrols TOTP for `username` through the account page (signing in directly at Latchkey, in
    /// a jar of its own) and returns the seed.
    pub async fn enrol_totp(&self, username: &str) -> Vec<u8> {
        let visitor = self.visitor();
        let login = visitor.get(&format!("{}/login", self.issuer()), &[]).await;
        let signed_in = visitor.submit_login(&login, username).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
        let page = visitor.get(&format!("{}/account/totp", self.issuer()), &[]).await;
        assert_eq!(page.status, StatusCode::OK, "the enrolment page: {}", page.body);
        let secret = element_text(&page.body, "secret");
        let seed = totp_rs::Secret::try_from_base32(&secret)
            .unwrap_or_else(|e| panic!("{secret:?} is not base32: {e:?}"))
            .as_bytes()
            .to_vec();
        let form = form_with(&page, "/account/totp", &[("code", &totp_code(&seed, 0))]);
        let done = visitor
            .post(&format!("{}/account/totp", self.issuer()), &form)
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "enrolment: {}", done.body);
        seed
    }
}

/// The TOTP code of `seed` `steps` steps (30 seconds each) from now, by the wall clock the
/// server reads too.
pub fn totp_code(seed: &[u8], steps: i64) -> String {
    let now = latchkey::clock::Clock::System.now().0;
    let at = now.saturating_add_signed(steps * 30);
    latchkey::protocol::totp::code_at(seed, at, 6)
}

/// The text of the element with `id` (up to its first `<`).
fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[at..];
    let start = rest.find('>').expect("a tag ends") + 1;
    let end = rest[start..].find('<').expect("the text ends") + start;
    rest[start..end].trim().to_owned()
}

/// The hidden fields of the form posting to `action` in `html`, as the page wrote them.
pub fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    const HIDDEN: &str = "type=\"hidden\" name=\"";
    let marker = format!("action=\"{action}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no form posting to {action} in:\n{html}"));
    let form = &html[start..];
    let mut rest = &form[..form.find("</form>").unwrap_or(form.len())];
    let mut fields = Vec::new();
    while let Some(at) = rest.find(HIDDEN) {
        let input = &rest[at..];
        let name = &input[HIDDEN.len()..];
        let name = &name[..name.find('"').expect("a closing quote")];
        if let Some(value) = form_field(input, name) {
            fields.push((html_unescape(name), value));
        }
        rest = &input[HIDDEN.len()..];
    }
    fields
}

/// The form of `page` posting to `action`: its hidden fields, with `set` replacing or adding
/// fields.
fn form_with(page: &Reply, action: &str, set: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form = hidden_fields(&page.body, action);
    for (name, value) in set {
        form.retain(|(k, _)| k != name);
        form.push(((*name).to_owned(), (*value).to_owned()));
    }
    form
}

/// One answer, read whole, with the URL it answered.
#[derive(Debug)]
pub struct Reply {
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The `Location` header resolved against the request's URL.
    pub fn location(&self) -> Option<Url> {
        let value = self
            .headers
            .get(LOCATION)?
            .to_str()
            .expect("a Location header is text");
        Some(
            self.url
                .join(value)
                .unwrap_or_else(|e| panic!("Location {value:?}: {e}")),
        )
    }

    /// The first value of the header `name`, if any.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("a text header").to_owned())
    }

    /// What the echo app saw, if the echo app wrote this answer.
    pub fn echo(&self) -> Option<Echo> {
        Echo::parse(&self.body)
    }

    /// What the echo app saw; panics, showing the answer, if something else answered.
    #[track_caller]
    pub fn expect_echo(&self) -> Echo {
        self.echo().unwrap_or_else(|| {
            panic!(
                "expected the app's echo at {}, got {} with {:?}:\n{}",
                self.url, self.status, self.headers, self.body
            )
        })
    }

    /// The `rd` parameter of a redirect to Latchkey's sign-in page; panics if this is not one.
    #[track_caller]
    pub fn sign_in_rd(&self, issuer: &str) -> String {
        let location = self.location().unwrap_or_else(|| {
            panic!(
                "{} answered {} with no Location: {}",
                self.url, self.status, self.body
            )
        });
        assert_eq!(
            format!("{}{}", location.origin().ascii_serialization(), location.path()),
            format!("{issuer}/login"),
            "a redirect to Latchkey's sign-in page"
        );
        crate::flows::query_param(&location, "rd").unwrap_or_else(|| panic!("no rd in {location}"))
    }
}

/// A browser made of plain HTTP requests: keeps cookies (domain cookies included), resolves every
/// `example.test` host to 127.0.0.1, trusts the test CA, follows no redirect by itself.
pub struct Visitor {
    pub http: reqwest::Client,
}

/// One redirect seen on the way: who answered, with what, to where (failure messages show all
/// three).
#[derive(Debug, Clone)]
#[allow(
    dead_code,
    reason = "`from` and `status` are read through Debug, in failure messages"
)]
pub struct Hop {
    pub from: Url,
    pub status: StatusCode,
    pub to: Url,
}

impl Visitor {
    pub fn new(pki: &Pki) -> Visitor {
        let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).expect("a PEM certificate");
        let mut builder = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_WITHIN)
            .pool_max_idle_per_host(0)
            .add_root_certificate(ca);
        for host in HOSTS {
            // Port 0: the URL's port is used.
            builder = builder.resolve(host, ([127, 0, 0, 1], 0).into());
        }
        Visitor {
            http: builder.build().expect("an HTTP client"),
        }
    }

    async fn read(response: reqwest::Result<reqwest::Response>, what: &str) -> Reply {
        let response = response.unwrap_or_else(|e| panic!("{what} failed: {e:?}"));
        let url = response.url().clone();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("cannot read the answer to {what}: {e}"));
        Reply {
            url,
            status,
            headers,
            body,
        }
    }

    /// `GET url` with the extra `headers`, as a browser asking for a page would (HTML accepted).
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(reqwest::Method::GET, url, headers).await
    }

    /// `method url` with the extra `headers` and no body; `Accept` says HTML unless a header
    /// given replaces it.
    pub async fn send(&self, method: reqwest::Method, url: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.http.request(method.clone(), url);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("accept")) {
            request = request.header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Visitor::read(request.send().await, &format!("{method} {url}")).await
    }

    /// `POST url` with the form `fields`.
    pub async fn post(&self, url: &str, fields: &[(String, String)]) -> Reply {
        let request = self.http.post(url).header("accept", "text/html").form(fields);
        Visitor::read(request.send().await, &format!("POST {url}")).await
    }

    /// Follows redirects from `reply` with GET until an answer that is not one, recording each
    /// hop in `hops`.
    pub async fn follow(&self, mut reply: Reply, hops: &mut Vec<Hop>) -> Reply {
        for _ in 0..MAX_HOPS {
            if !reply.status.is_redirection() {
                return reply;
            }
            let to = reply
                .location()
                .unwrap_or_else(|| panic!("a {} with no Location", reply.status));
            hops.push(Hop {
                from: reply.url.clone(),
                status: reply.status,
                to: to.clone(),
            });
            reply = self.get(to.as_str(), &[]).await;
        }
        panic!("more than {MAX_HOPS} redirects in a row: {hops:#?}");
    }

    /// Posts the login form of `page` (a sign-in page) with `username` and the shared password,
    /// keeping every hidden field the page wrote (the CSRF token, where to return).
    pub async fn submit_login(&self, page: &Reply, username: &str) -> Reply {
        assert_eq!(
            page.status,
            StatusCode::OK,
            "a sign-in page at {}: {}",
            page.url,
            page.body
        );
        let form = form_with(page, "/login", &[("username", username), ("password", PASSWORD)]);
        let url = page.url.join("/login").expect("the login URL");
        self.post(url.as_str(), &form).await
    }

    /// Posts `code` to the second-step page `page` (`/login/factor`, TOTP).
    pub async fn submit_totp(&self, page: &Reply, code: &str) -> Reply {
        assert_eq!(page.status, StatusCode::OK, "a second-step page: {}", page.body);
        let form = form_with(page, "/login/factor", &[("method", "totp"), ("code", code)]);
        let url = page.url.join("/login/factor").expect("the factor URL");
        self.post(url.as_str(), &form).await
    }

    /// Visits `url` anonymously through a proxy, expects to be sent to the sign-in page, signs in
    /// there as `username` (with a TOTP code of `seed` when the second step asks for one) and
    /// follows the redirects back. Returns the last answer and every hop.
    pub async fn sign_in_through(&self, url: &str, username: &str, seed: Option<&[u8]>) -> (Reply, Vec<Hop>) {
        let mut hops = Vec::new();
        let first = self.get(url, &[]).await;
        assert!(
            first.status.is_redirection(),
            "an anonymous visit to {url} is sent to sign in, not answered {}: {}",
            first.status,
            first.body
        );
        let login = self.follow(first, &mut hops).await;
        let mut reply = self
            .follow(self.submit_login(&login, username).await, &mut hops)
            .await;
        if reply.url.path() == "/login/factor" {
            let seed = seed.unwrap_or_else(|| panic!("{username} was asked for a second factor"));
            // The enrolment used the current step: a code one step ahead is in the window and new.
            let code = totp_code(seed, 1);
            reply = self
                .follow(self.submit_totp(&reply, &code).await, &mut hops)
                .await;
        }
        (reply, hops)
    }
}

/// The directory holding the documented proxy configurations.
pub fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("forward-auth")
}
