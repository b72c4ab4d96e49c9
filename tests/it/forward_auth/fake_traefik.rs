//! A stand-in for Traefik (not packaged in Debian): an https entry point with Traefik's default
//! forwarded-headers handling, the ForwardAuth middleware and a load-balancer service, all
//! configured from `docs/forward-auth/traefik.yml`. It sends Latchkey what Traefik v3 sends, read
//! from Traefik's source (`pkg/middlewares/forwardedheaders/forwarded_header.go` and
//! `pkg/middlewares/auth/forward.go`):
//!
//! - The entry point, whose client is not in `forwardedHeaders.trustedIPs`, deletes every
//!   `X-Forwarded-*`, `X-Real-Ip` and `X-Scheme` header the client sent (their underscore
//!   spellings too), then sets `X-Real-Ip`, `X-Forwarded-Proto`, `-Port`, `-Host` and
//!   `-Server`.
//! - ForwardAuth (`writeHeader`, `trustForwardHeader: true`) copies every request header but the
//!   hop-by-hop ones and those `Connection` names, appends the client to `X-Forwarded-For`, and
//!   adds `X-Forwarded-Method`, `-Proto`, `-Port`, `-Host` and `-Uri` where absent; the request is
//!   a GET without a body to `address`, with no `User-Agent` if the client sent none.
//! - An answer outside 2xx goes back to the client with its headers (hop-by-hop ones removed),
//!   status and body; a failed call is a 500. On 2xx each `authResponseHeaders` name is removed
//!   from the request and set from the answer, and the request goes on to the service.
//!
//! Routers are not modelled: every host is sent through the one middleware to the one service.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Body, Request, Response};
use serde_yaml::Value;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use url::Url;

use super::Rig;
use super::proxies::documented;

/// Hop-by-hop headers (Traefik's `hopHeaders`).
const HOP_HEADERS: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
];
/// The headers Traefik manages (`forwardedheaders.XHeadersSet`).
const X_HEADERS: [&str; 13] = [
    "x-forwarded-proto",
    "x-forwarded-scheme",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-server",
    "x-forwarded-uri",
    "x-forwarded-method",
    "x-forwarded-prefix",
    "x-forwarded-tls-client-cert",
    "x-forwarded-tls-client-cert-info",
    "x-scheme",
    "x-real-ip",
];
/// What the entry point puts in `X-Forwarded-Server` (Traefik: the machine's host name).
const SERVER_NAME: &str = "traefik-stand-in";

/// The middleware and service settings read from `traefik.yml`.
struct Settings {
    address: Url,
    trust_forward_header: bool,
    auth_response_headers: Vec<String>,
    app: Url,
    pass_host_header: bool,
    auth: reqwest::Client,
    app_client: reqwest::Client,
}

impl Settings {
    fn read(rig: &Rig) -> Settings {
        let text = documented(
            "traefik.yml",
            &[
                ("LATCHKEY_URL", rig.latchkey_url()),
                ("CA_FILE", rig.pki.ca_file().to_str().expect("UTF-8").to_owned()),
                ("APP_URL", rig.upstream.url()),
            ],
        );
        let doc: Value = serde_yaml::from_str(&text).expect("traefik.yml is YAML");
        let http = &doc["http"];
        let routers = http["routers"].as_mapping().expect("http.routers");
        assert_eq!(routers.len(), 1, "one router");
        let router = routers.values().next().expect("a router");
        let middleware_name = router["middlewares"][0]
            .as_str()
            .expect("the router's middleware");
        let service_name = router["service"].as_str().expect("the router's service");
        let forward = &http["middlewares"][middleware_name]["forwardAuth"];
        let address =
            Url::parse(forward["address"].as_str().expect("forwardAuth.address")).expect("an address URL");
        let trust_forward_header = forward["trustForwardHeader"]
            .as_bool()
            .expect("trustForwardHeader is set (Traefik warns when it is not)");
        let auth_response_headers = forward["authResponseHeaders"]
            .as_sequence()
            .expect("authResponseHeaders")
            .iter()
            .map(|v| v.as_str().expect("a header name").to_owned())
            .collect();
        let ca = PathBuf::from(forward["tls"]["ca"].as_str().expect("forwardAuth.tls.ca"));
        let ca = std::fs::read(&ca).unwrap_or_else(|e| panic!("cannot read {}: {e}", ca.display()));
        let balancer = &http["services"][service_name]["loadBalancer"];
        let app =
            Url::parse(balancer["servers"][0]["url"].as_str().expect("a server URL")).expect("an app URL");
        let pass_host_header = balancer["passHostHeader"].as_bool().unwrap_or(true);
        let auth = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("a PEM CA"))
            .tls_built_in_root_certs(false)
            .http1_only()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTPS client");
        let app_client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        Settings {
            address,
            trust_forward_header,
            auth_response_headers,
            app,
            pass_host_header,
            auth,
            app_client,
        }
    }
}

/// The running stand-in; stopped when dropped.
pub struct FakeTraefik {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeTraefik {
    /// Starts listening with TLS on `127.0.0.1:port`, in front of `rig`'s app.
    pub fn start(port: u16, rig: &Rig) -> FakeTraefik {
        let settings = Arc::new(Settings::read(rig));
        let files = latchkey::tls::TlsFiles {
            certificate: rig.pki.cert_file(),
            key: rig.pki.key_file(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the Traefik stand-in");
            runtime.block_on(async move {
                let config = latchkey::tls::server_config(&files).expect("a TLS configuration");
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("cannot bind the Traefik stand-in");
                let acceptor = TlsOnly {
                    tcp: TcpAcceptor::from_tokio(listener).expect("an acceptor"),
                    tls: tokio_rustls::TlsAcceptor::from(config),
                };
                let app = poem::endpoint::make(move |req: Request| {
                    let settings = settings.clone();
                    async move { serve(&settings, req).await }
                });
                let _ = poem::Server::new_with_acceptor(acceptor)
                    .run_with_graceful_shutdown(app, async { drop(stopped.await) }, None)
                    .await;
            });
        });
        FakeTraefik {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for FakeTraefik {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// TCP connections after a finished TLS handshake (a failed one is skipped).
struct TlsOnly {
    tcp: TcpAcceptor,
    tls: tokio_rustls::TlsAcceptor,
}

impl Acceptor for TlsOnly {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.tcp.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            let (stream, local, remote, _) = self.tcp.accept().await?;
            let handshake = tokio::time::timeout(Duration::from_secs(10), self.tls.accept(stream)).await;
            if let Ok(Ok(io)) = handshake {
                return Ok((io, local, remote, Scheme::HTTPS));
            }
        }
    }
}

/// Whether `name` is one of Traefik's managed X-headers, in its dash or underscore spelling.
fn is_managed_x_header(name: &str) -> bool {
    X_HEADERS.contains(&name.replace('_', "-").to_ascii_lowercase().as_str())
}

/// Removes the headers that `Connection` names, and the hop-by-hop headers.
fn remove_hop_headers(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    for name in named.iter().map(String::as_str).chain(HOP_HEADERS) {
        headers.remove(name);
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(value).expect("a header value"),
    );
}

/// The entry point's forwarded-headers handling for a client that is not trusted.
fn entry_point(req: &mut Request, client_ip: &str) {
    let host = req.header("host").unwrap_or_default().to_owned();
    let headers = req.headers_mut();
    let managed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| is_managed_x_header(k.as_str()))
        .cloned()
        .collect();
    for name in managed {
        headers.remove(name);
    }
    set(headers, "x-real-ip", client_ip);
    set(headers, "x-forwarded-proto", "https");
    let port = host.rsplit_once(':').map_or("443", |(_, p)| p).to_owned();
    set(headers, "x-forwarded-port", &port);
    if !host.is_empty() {
        set(headers, "x-forwarded-host", &host);
    }
    set(headers, "x-forwarded-server", SERVER_NAME);
    remove_hop_headers(headers);
}

/// The headers of the request ForwardAuth sends to `address` (`writeHeader`).
fn forward_headers(settings: &Settings, req: &Request, client_ip: &str) -> HeaderMap {
    let mut out = req.headers().clone();
    remove_hop_headers(&mut out);
    if !settings.trust_forward_header {
        let managed: Vec<HeaderName> = out
            .keys()
            .filter(|k| is_managed_x_header(k.as_str()))
            .cloned()
            .collect();
        for name in managed {
            out.remove(name);
        }
    }
    // The Host of the call is the address's; Go never sends the client's Host there.
    out.remove("host");
    let prior: Vec<String> = out
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let xff = if prior.is_empty() {
        client_ip.to_owned()
    } else {
        format!("{}, {client_ip}", prior.join(", "))
    };
    set(&mut out, "x-forwarded-for", &xff);
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let host = req.header("host").unwrap_or_default().to_owned();
    let port = host.rsplit_once(':').map_or("443", |(_, p)| p).to_owned();
    for (name, value) in [
        ("x-forwarded-method", req.method().as_str()),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", port.as_str()),
        ("x-forwarded-host", host.as_str()),
        ("x-forwarded-uri", target.as_str()),
    ] {
        if !out.contains_key(name) {
            set(&mut out, name, value);
        }
    }
    // Go's transport asks for gzip when the request does not say.
    if !out.contains_key("accept-encoding") {
        set(&mut out, "accept-encoding", "gzip");
    }
    out
}

async fn serve(settings: &Settings, mut req: Request) -> Response {
    let client_ip = req
        .remote_addr()
        .as_socket_addr()
        .map_or_else(|| "127.0.0.1".to_owned(), |a| a.ip().to_string());
    entry_point(&mut req, &client_ip);
    let auth_headers = forward_headers(settings, &req, &client_ip);
    let answer = settings
        .auth
        .get(settings.address.clone())
        .headers(auth_headers)
        .send()
        .await;
    let Ok(answer) = answer else {
        return StatusCode::INTERNAL_SERVER_ERROR.into();
    };
    let status = answer.status();
    let mut answer_headers = answer.headers().clone();
    let Ok(answer_body) = answer.bytes().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into();
    };
    if !status.is_success() {
        remove_hop_headers(&mut answer_headers);
        answer_headers.remove("content-length");
        let mut response = Response::builder().status(status).body(answer_body.to_vec());
        response.headers_mut().extend(answer_headers);
        return response;
    }
    for name in &settings.auth_response_headers {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a header name");
        req.headers_mut().remove(&name);
        for value in answer_headers.get_all(&name) {
            req.headers_mut().append(name.clone(), value.clone());
        }
    }
    let cookies: Vec<HeaderValue> = answer_headers.get_all("set-cookie").iter().cloned().collect();
    let mut response = to_service(settings, req, &client_ip).await;
    for cookie in cookies {
        response.headers_mut().append("set-cookie", cookie);
    }
    response
}

/// The service's reverse proxy: the request to the app, with the client appended to
/// `X-Forwarded-For` and the client's Host kept (`passHostHeader`).
async fn to_service(settings: &Settings, mut req: Request, client_ip: &str) -> Response {
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let url = settings.app.join(&target).expect("an app URL");
    let method = req.method().clone();
    let mut headers = req.headers().clone();
    remove_hop_headers(&mut headers);
    if !settings.pass_host_header {
        headers.remove("host");
    }
    headers.remove("content-length");
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {client_ip}"),
        None => client_ip.to_owned(),
    };
    set(&mut headers, "x-forwarded-for", &xff);
    let body = req.take_body().into_bytes().await.unwrap_or_default();
    let sent = settings
        .app_client
        .request(method, url)
        .headers(headers)
        .body(body.to_vec())
        .send()
        .await;
    let Ok(answer) = sent else {
        return StatusCode::BAD_GATEWAY.into();
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    remove_hop_headers(&mut headers);
    headers.remove("content-length");
    let body = answer.bytes().await.unwrap_or_default();
    let mut response = Response::builder().status(status).body(Body::from(body.to_vec()));
    response.headers_mut().extend(headers);
    response
}
