//! Through Debian's Caddy with `docs/forward-auth/Caddyfile` (`forward_auth` against
//! `/api/authz/forward-auth`): every shared scenario.

use super::Kind;
use super::scenarios::every_scenario;

every_scenario!(Kind::Caddy);
