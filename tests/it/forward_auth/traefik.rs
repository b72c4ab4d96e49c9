//! Through the Traefik stand-in with `docs/forward-auth/traefik.yml` (ForwardAuth against
//! `/api/authz/forward-auth`, sending what Traefik's middleware sends): every shared scenario.

use super::Kind;
use super::scenarios::every_scenario;

every_scenario!(Kind::Traefik);
