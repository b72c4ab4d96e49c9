//! Bounds on what a request may carry, over real HTTP: bodies past 64 KiB get 413 on every OAuth
//! endpoint whether their length is declared or chunked; request heads past 16 KiB or 64 header
//! lines get 431 and URIs past 40 KiB 414; parameter counts, lengths and scope lists are bounded;
//! and a 512-character `state` and `nonce` round-trip exactly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::flows::{
    Agent, ClientAuth, Decision, PASSWORD, Pkce, USERNAME, WEB_ID, WEB_SECRET, oauth_server, post_form,
    query_param, redirect_uri_on,
};
use crate::harness::{Server, assert_success, default_config, free_port, http};

/// The OAuth endpoints that take a body.
const BODY_ENDPOINTS: [&str; 5] = [
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/introspect",
    "/oauth/userinfo",
    "/oauth/authorize",
];

/// Sends `head` and then `body` on a new connection and returns the status code of the answer
/// and its head. Write errors are ignored: a server that refuses a large body may close the
/// connection before reading it all, and what it answered first is still read.
fn raw_exchange(port: u16, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a read timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .expect("a write timeout");
    let reader = stream.try_clone().expect("a second handle");
    let reading = std::thread::spawn(move || {
        let mut reader = reader;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Up to the end of the head: the status line and headers are all these tests need.
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    });
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    let answer = reading.join().expect("the reader thread");
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {answer:?}"));
    (status, answer)
}

/// A request head for `path` with `headers` lines (each ending in CRLF) and the closing CRLF.
fn head(method: &str, path: &str, port: u16, headers: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{headers}\r\n")
}

/// `len` bytes of form body: one long parameter.
fn form_body(len: usize) -> Vec<u8> {
    let mut body = b"grant_type=client_credentials&pad=".to_vec();
    body.resize(len, b'a');
    body
}

/// The body in chunked transfer coding, in 8 KiB chunks.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(8192) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn bodies_past_64_kib_get_413_with_content_length_and_chunked() {
    let server = Server::running();
    let port = server.port();
    let over = form_body(64 * 1024 + 1);
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    for path in BODY_ENDPOINTS {
        let declared = head(
            "POST",
            path,
            port,
            &format!("{form}Content-Length: {}\r\n", over.len()),
        );
        let (status, answer) = raw_exchange(port, &declared, &over);
        assert_eq!(status, 413, "{path} with Content-Length: {answer}");

        let streamed = head(
            "POST",
            path,
            port,
            &format!("{form}Transfer-Encoding: chunked\r\n"),
        );
        let (status, answer) = raw_exchange(port, &streamed, &chunked(&over));
        assert_eq!(status, 413, "{path} chunked: {answer}");
    }
    // At the limit, the body is read (and then judged on its content, not its size).
    let at = form_body(64 * 1024);
    let streamed = head(
        "POST",
        "/oauth/token",
        port,
        &format!("{form}Transfer-Encoding: chunked\r\n"),
    );
    let (status, answer) = raw_exchange(port, &streamed, &chunked(&at));
    assert_ne!(status, 413, "{answer}");
    assert!(server.is_ready(), "the server is fine afterwards");
}

#[test]
fn request_heads_past_16_kib_or_64_lines_get_431_and_long_uris_414() {
    let server = Server::running();
    let port = server.port();
    let (ok, answer) = raw_exchange(port, &head("GET", "/healthz", port, "X-Note: fine\r\n"), b"");
    assert_eq!(ok, 200, "{answer}");

    let big: String = (0..10)
        .map(|i| format!("X-Pad-{i}: {}\r\n", "b".repeat(2000)))
        .collect();
    let (status, answer) = raw_exchange(port, &head("GET", "/healthz", port, &big), b"");
    assert_eq!(status, 431, "20 KB of headers: {answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-frame-options: deny"),
        "the refusal is a response like any other: {answer}"
    );

    let many: String = (0..70).map(|i| format!("X-Line-{i}: x\r\n")).collect();
    let (status, answer) = raw_exchange(port, &head("GET", "/healthz", port, &many), b"");
    assert_eq!(status, 431, "70 header lines: {answer}");

    let cookie = format!("Cookie: latchkey-csrf={}\r\n", "c".repeat(17 * 1024));
    let (status, answer) = raw_exchange(port, &head("GET", "/login", port, &cookie), b"");
    assert_eq!(status, 431, "one 17 KB cookie: {answer}");

    let long = format!("/healthz?pad={}", "q".repeat(41 * 1024));
    let (status, answer) = raw_exchange(port, &head("GET", &long, port, ""), b"");
    assert_eq!(status, 414, "a 41 KB URI: {answer}");
    assert!(server.is_ready());
}

#[tokio::test]
async fn parameter_counts_and_lengths_and_scope_lists_are_bounded_at_the_token_endpoint() {
    let server = oauth_server();
    let base = server.base_url();
    let client = http();
    let auth = ClientAuth::Basic {
        id: WEB_ID,
        secret: WEB_SECRET,
    };

    let mut many: Vec<(String, String)> = vec![("grant_type".into(), "client_credentials".into())];
    many.extend((0..70).map(|i| (format!("extra{i}"), "x".to_owned())));
    let pairs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let reply = post_form(&client, &base, "/oauth/token", auth, &pairs).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.error(), Some("invalid_request"), "71 parameters");
    assert_eq!(reply.headers["cache-control"], "no-store");

    let long = "r".repeat(9000);
    let reply = post_form(
        &client,
        &base,
        "/oauth/token",
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", &long)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.error(), Some("invalid_request"), "a 9000-byte value");

    let scopes: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
    let reply = post_form(
        &client,
        &base,
        "/oauth/token",
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("scope", &scopes.join(" ")),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.error(), Some("invalid_scope"), "65 scopes: {}", reply.body);
    let reply = post_form(
        &client,
        &base,
        "/oauth/token",
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("scope", &"s".repeat(129)),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(
        reply.error(),
        Some("invalid_scope"),
        "a 129-character scope: {}",
        reply.body
    );

    // The authorization endpoint: too many parameters is an error page, never a redirect.
    let query: Vec<String> = (0..70).map(|i| format!("p{i}=x")).collect();
    let page = client
        .get(format!("{base}/oauth/authorize?{}", query.join("&")))
        .send()
        .await
        .expect("GET /oauth/authorize");
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.headers().get("location").is_none());
}

/// 512 printable characters, among them every one that needs escaping somewhere.
fn awkward(seed: char) -> String {
    let alphabet: Vec<char> = (0x20u8..0x7f).map(char::from).collect();
    let mut out = String::from(seed);
    let mut i = 0;
    while out.len() < 512 {
        out.push(alphabet[i % alphabet.len()]);
        i += 7;
    }
    out
}

#[tokio::test]
async fn a_512_character_state_and_nonce_round_trip_exactly() {
    let mut server = Server::with_config(|port| {
        default_config(port)
            + r#"
[[client]]
client_id = "spa"
public = true
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "profile"]
"#
    });
    server.start();
    assert_success(&server.cli_stdin(
        &["user", "add", USERNAME, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
    let base = server.base_url();
    let (state, nonce) = (awkward('s'), awkward('n'));
    assert_eq!((state.len(), nonce.len()), (512, 512));
    let pkce = Pkce::new();
    let redirect = redirect_uri_on(free_port());
    let mut url = url::Url::parse(&format!("{base}/oauth/authorize")).expect("a URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "spa")
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "openid profile")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256");

    let landed = Agent::new(&base)
        .authorize(url.as_str(), USERNAME, PASSWORD, Decision::Allow)
        .await;
    assert_eq!(
        query_param(&landed, "state").as_deref(),
        Some(state.as_str()),
        "the state comes back exactly, through the login and consent pages"
    );
    let code = query_param(&landed, "code").expect("a code");
    let tokens = post_form(
        &http(),
        &base,
        "/oauth/token",
        ClientAuth::Public { id: "spa" },
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &pkce.verifier),
        ],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let id_token = tokens.string("id_token");
    let payload = id_token.split('.').nth(1).expect("a JWT payload");
    let claims: Value = serde_json::from_slice(&latchkey::crypto::b64url_decode(payload).expect("base64url"))
        .expect("JSON claims");
    assert_eq!(claims["nonce"], nonce.as_str(), "the nonce comes back exactly");
}
