//! Latchkey: a self-contained OAuth 2.0 / OpenID Connect identity server.
//!
//! See ARCHITECTURE.md for the map. Dependencies point one way:
//! `web` -> `service` -> `store`, `crypto` -> `domain`; `protocol` and `domain` do no I/O.

pub mod admin_socket;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod metrics;
pub mod protocol;
pub mod server;
pub mod service;
pub mod store;
pub mod tls;
pub mod web;
