//! Outbound requests (security review #12, item 10): back-channel logout URIs and upstream
//! provider URLs on loopback, link-local, private or unspecified addresses are refused at
//! registration (configuration file and CLI here; the admin API in `admin_api.rs`) unless
//! `[outbound] allow_networks` allows their network. The delivery-time checks after DNS
//! resolution are pinned in `src/service/logout.rs` and `src/service/outbound.rs`.

use crate::harness::{ALLOW_LOOPBACK, Server, assert_failure, assert_success, default_config};

/// A configuration with a back-channel logout URI `backchannel` and an upstream issuer `issuer`.
fn config(port: u16, outbound: &str, backchannel: &str, issuer: &str) -> String {
    default_config(port)
        + outbound
        + &format!(
            r#"
[[client]]
client_id = "web"
redirect_uris = ["https://web.example.com/cb"]
public = true
backchannel_logout_uri = "{backchannel}"

[[upstream]]
name = "corp"
kind = "oidc"
issuer = "{issuer}"
client_id = "latchkey"
"#
        )
}

#[test]
fn check_config_refuses_back_channel_and_upstream_urls_on_internal_addresses_unless_allowed() {
    for (backchannel, issuer, class) in [
        ("http://127.0.0.1:6379/", "http://127.0.0.1:9000", "loopback"),
        (
            "https://169.254.169.254/latest/meta-data/",
            "https://169.254.169.254",
            "link-local",
        ),
        ("https://0x7f000001/bc", "https://[::1]:8443", "loopback"),
        ("https://10.1.2.3/bc", "https://192.168.0.1", "private"),
        ("https://0.0.0.0/bc", "https://[::]/", "unspecified"),
    ] {
        let server = Server::with_config(|port| config(port, "", backchannel, issuer));
        let message = assert_failure(&server.cli(&["check-config"]));
        for key in ["client[0].backchannel_logout_uri", "upstream[0].issuer"] {
            assert!(
                message.contains(key),
                "{backchannel}: {key} is not reported: {message}"
            );
        }
        assert!(
            message.contains(class),
            "{backchannel}: the message names the {class} address: {message}"
        );
        assert!(
            message.contains("[outbound] allow_networks"),
            "the message names the key that allows it: {message}"
        );
    }
    let allowed = Server::with_config(|port| {
        config(
            port,
            ALLOW_LOOPBACK,
            "http://127.0.0.1:6379/",
            "http://127.0.0.1:9000",
        )
    });
    assert_success(&allowed.cli(&["check-config"]));
    let still_refused = Server::with_config(|port| {
        config(
            port,
            ALLOW_LOOPBACK,
            "https://169.254.169.254/",
            "http://127.0.0.1:9000",
        )
    });
    let message = assert_failure(&still_refused.cli(&["check-config"]));
    assert!(message.contains("link-local"), "{message}");
}

#[test]
fn the_cli_refuses_a_back_channel_uri_on_an_internal_address_unless_its_network_is_allowed() {
    let strict = Server::new();
    for uri in [
        "http://127.0.0.1:6379/",
        "http://[::1]:8080/bc",
        "https://169.254.169.254/latest/meta-data/",
        "https://0x7f000001/bc",
        "https://localhost/bc",
        "https://172.16.0.9/bc",
    ] {
        let message = assert_failure(&strict.cli(&[
            "client",
            "add",
            "web",
            "--public",
            "--redirect-uri",
            "https://web.example.com/cb",
            "--backchannel-logout-uri",
            uri,
        ]));
        assert!(message.contains("backchannel_logout_uri"), "{uri}: {message}");
        assert!(message.contains("allow_networks"), "{uri}: {message}");
    }
    let allowed = Server::with_config(|port| default_config(port) + ALLOW_LOOPBACK);
    assert_success(&allowed.cli(&[
        "client",
        "add",
        "web",
        "--public",
        "--redirect-uri",
        "https://web.example.com/cb",
        "--backchannel-logout-uri",
        "http://127.0.0.1:6379/",
    ]));
}
