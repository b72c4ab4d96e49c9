//! Latchkey's one integration-test binary: each module drives the real `latchkey` executable,
//! every test with its own temporary directory, port and server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking, with the message saying why"
)]

mod a11y_browser;
mod access_cli;
mod account;
mod admin_audit;
mod admin_auth;
mod admin_cli;
mod admin_clients;
mod admin_console;
mod admin_console_browser_clients;
mod admin_console_browser_users;
mod admin_errors;
mod admin_factors;
mod admin_fixture;
mod admin_keys;
mod admin_links;
mod admin_sessions;
mod admin_users;
mod allowed_groups;
mod apps;
mod apps_browser;
mod authz;
mod branding;
mod branding_browser;
mod browser;
mod concurrency;
mod cors;
mod crash;
mod datafile;
mod docs;
mod factors_browser;
mod factors_recovery;
mod factors_totp;
mod flows;
mod forward_auth;
mod foundation;
mod full_disk;
mod harness;
mod i18n;
mod i18n_browser;
mod i18n_flow;
mod i18n_reasons;
mod inproc;
mod invitations;
mod invitations_browser;
mod invitations_passkey;
mod jwks;
mod lifecycle;
mod limits;
mod logs;
mod metrics;
mod nodes;
mod oauth_client;
mod oauth_rules;
mod oidc_conformance;
mod oidc_rp;
mod openapi;
mod outbound;
mod passkeys;
mod passkeys_browser;
mod props;
mod proxy;
mod rehash;
mod routing;
mod step_up;
mod store_copy;
mod tidy;
mod tls;
mod token_errors;
mod upstream;
mod upstream_browser;
