//! Property tests (proptest) for the parsers that read hostile input: redirect URIs, form
//! parameters, HTTP Basic client credentials, compact JWS, and the configuration file. None may
//! panic on any input, and each refuses bad input with the right error. (Cookie and CSRF token
//! decoding are crate-private; their properties live in `src/web/csrf.rs`.)
//!
//! Case counts are modest so the suite stays fast; failures are not persisted to files, and
//! proptest prints the smallest failing input it finds.

mod config_file;
mod jws;
mod params;
mod redirect_uri;

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use latchkey::config::{self, Overrides};
use latchkey::crypto::jwt::{self, JwtError, MAX_TOKEN_LEN};
use latchkey::crypto::{b64url, keys};
use latchkey::domain::{RedirectUri, SigningKeyRecord, Timestamp};
use latchkey::protocol::ErrorCode;
use latchkey::protocol::client_auth::{self, ClientCredentials};
use latchkey::protocol::params::{MAX_PARAMS, MAX_VALUE_LEN, Params, ParamsError};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Map, Value, json};

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
