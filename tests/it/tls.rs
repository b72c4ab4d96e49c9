//! Built-in TLS (`[tls]` in identity.toml): the configured certificate is served, a replaced
//! one is picked up without a restart, a bad one at reload leaves the old one in service with a
//! warning, and a bad one at start is a configuration error naming the key.

use std::time::{Duration, Instant};

use crate::harness::{Server, assert_failure, run};

/// How long a replaced certificate may take to be served (the server looks every 2 seconds and
/// waits for a change to hold still for one look).
const RELOAD_WITHIN: Duration = Duration::from_secs(30);

/// A self-signed certificate for 127.0.0.1 and localhost with its key.
struct Pair {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

fn pair() -> Pair {
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("a self-signed certificate");
    Pair {
        cert_pem: generated.cert.pem(),
        key_pem: generated.signing_key.serialize_pem(),
        der: generated.cert.der().to_vec(),
    }
}

/// A server whose `[tls]` names `cert.pem` and `key.pem` beside its configuration, holding
/// `first`; not started.
fn tls_server(first: &Pair) -> Server {
    let server = Server::with_config(|port| {
        format!(
            "issuer = \"https://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\"\ndata = \"data/identity.redb\"\n\n[tls]\ncertificate = \"cert.pem\"\nkey = \"key.pem\"\n"
        )
    });
    install(&server, first);
    server
}

fn install(server: &Server, pair: &Pair) {
    write(server, "cert.pem", &pair.cert_pem);
    write(server, "key.pem", &pair.key_pem);
}

fn write(server: &Server, name: &str, text: &str) {
    std::fs::write(server.dir().join(name), text).expect("cannot write a TLS file");
}

/// Starts `server` and waits until it says it is listening (it speaks only TLS, so the
/// harness's plain-HTTP readiness probe cannot be used).
fn start(server: &mut Server) {
    server.start_until(|s| s.stderr_text().contains(" listening"));
}

/// The DER of the certificate a new TLS connection to `server` is served, trusting `trusted`;
/// `None` if the request fails.
async fn served_certificate(server: &Server, trusted: &[&Pair]) -> Option<Vec<u8>> {
    let mut builder = reqwest::Client::builder()
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10));
    for pair in trusted {
        let root = reqwest::Certificate::from_pem(pair.cert_pem.as_bytes()).expect("a PEM certificate");
        builder = builder.add_root_certificate(root);
    }
    let client = builder.build().expect("an HTTPS client");
    let url = format!("https://127.0.0.1:{}/healthz", server.port());
    let response = client.get(&url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let der = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()?
        .peer_certificate()?
        .to_vec();
    Some(der)
}

/// Polls until `server` serves `expected` (trusting `trusted`); panics after [`RELOAD_WITHIN`].
async fn wait_until_served(server: &Server, trusted: &[&Pair], expected: &Pair, what: &str) {
    let deadline = Instant::now() + RELOAD_WITHIN;
    loop {
        if served_certificate(server, trusted).await.as_deref() == Some(expected.der.as_slice()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} was not served within {RELOAD_WITHIN:?}; standard error:\n{}",
            server.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls until the server's standard error holds `count` lines containing every one of
/// `needles`; panics after [`RELOAD_WITHIN`].
async fn wait_for_log(server: &Server, needles: &[&str], count: usize) {
    let deadline = Instant::now() + RELOAD_WITHIN;
    loop {
        let text = server.stderr_text();
        let found = text
            .lines()
            .filter(|line| needles.iter().all(|n| line.contains(n)))
            .count();
        if found >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {needles:?} within {RELOAD_WITHIN:?}; standard error:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_configured_certificate_is_served_and_a_replaced_one_is_picked_up_without_a_restart() {
    let (first, second) = (pair(), pair());
    let mut server = tls_server(&first);
    start(&mut server);
    let both = [&first, &second];

    let served = served_certificate(&server, &both).await;
    assert_eq!(
        served.as_deref(),
        Some(first.der.as_slice()),
        "the first certificate is served over https"
    );
    assert!(
        served_certificate(&server, &[&second]).await.is_none(),
        "a client that trusts only the second certificate is refused, so the check is real"
    );

    install(&server, &second);
    wait_until_served(&server, &both, &second, "the replaced certificate").await;
    assert!(server.is_running(), "no restart: the same process serves");
    assert!(
        server.stderr_text().contains("TLS certificate reloaded"),
        "the reload is logged"
    );
}

#[tokio::test]
async fn a_bad_certificate_or_key_at_reload_keeps_the_old_one_and_logs_a_warning() {
    let (first, second) = (pair(), pair());
    let mut server = tls_server(&first);
    start(&mut server);
    let both = [&first, &second];
    const KEPT: &str = "still serving the previous certificate";

    write(
        &server,
        "cert.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    );
    wait_for_log(&server, &[KEPT, "tls.certificate"], 1).await;
    assert_eq!(
        served_certificate(&server, &both).await.as_deref(),
        Some(first.der.as_slice()),
        "an unreadable certificate leaves the old one in service"
    );

    // The first certificate with the second key: each file is fine, the pair is not.
    write(&server, "cert.pem", &first.cert_pem);
    write(&server, "key.pem", &second.key_pem);
    wait_for_log(&server, &[KEPT, "tls.key"], 1).await;
    assert_eq!(
        served_certificate(&server, &both).await.as_deref(),
        Some(first.der.as_slice()),
        "a key that does not match leaves the old pair in service"
    );

    write(&server, "cert.pem", &second.cert_pem);
    wait_until_served(&server, &both, &second, "the repaired pair").await;
    assert!(server.is_running());
}

#[test]
fn a_bad_certificate_or_key_at_start_is_a_configuration_error_naming_the_key() {
    let (first, second) = (pair(), pair());
    let cases = [
        ("garbage", "tls.certificate", "no CERTIFICATE block"),
        ("missing key", "tls.key", "cannot read"),
        ("mismatch", "tls.key", "is not the key of the certificate"),
        ("no key block", "tls.key", "no PRIVATE KEY block"),
    ];
    for (case, key, why) in cases {
        let server = tls_server(&first);
        match case {
            "garbage" => write(&server, "cert.pem", "this is not PEM\n"),
            "missing key" => std::fs::remove_file(server.dir().join("key.pem")).expect("remove key.pem"),
            "mismatch" => write(&server, "key.pem", &second.key_pem),
            _ => write(&server, "key.pem", &first.cert_pem),
        }
        for command in ["check-config", "serve"] {
            let output = run(server.cli_handle().command(&[command]), None);
            let text = assert_failure(&output);
            assert!(
                text.contains(&format!("`{key}`")) && text.contains(why),
                "{case}: `latchkey {command}` should name {key} and say {why:?}; it printed:\n{text}"
            );
        }
    }
}
