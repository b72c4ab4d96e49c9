//! Through Debian's nginx with `docs/forward-auth/nginx.conf` (`auth_request` against
//! `/api/authz/auth-request`): every shared scenario, and the subrequest's location kept internal.

use reqwest::StatusCode;

use super::scenarios::every_scenario;
use super::{Kind, Proxy, Rig};

every_scenario!(Kind::Nginx);

#[tokio::test]
async fn the_auth_subrequest_location_cannot_be_called_from_outside() {
    let rig = Rig::start();
    let proxy = Proxy::start(Kind::Nginx, &rig);
    let reply = rig
        .visitor()
        .get(&proxy.url("public.example.test", "/internal/latchkey"), &[])
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert_eq!(rig.upstream.requests(), 0);
}
