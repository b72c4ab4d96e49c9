//! RFC 8707 resource indicators and the audience of access tokens (RFC 9068 section 3): which
//! resource servers a token is for. An access token's `aud` names resources, never the client id
//! (which is the ID token's audience), so that no resource server mistakes one for the other.

use super::admin_scope::ADMIN_SCOPE;
use super::{ErrorCode, OAuthError};
use crate::domain::{Client, ScopeSet, valid_resource};

/// Latchkey's own resource for the user-info endpoint: the issuer itself.
pub fn userinfo_resource(issuer: &str) -> String {
    issuer.to_owned()
}

/// Latchkey's admin API as a resource.
pub fn admin_resource(issuer: &str) -> String {
    format!("{issuer}/api/v1")
}

/// The audience of an access token for `client` with the granted `scopes`. Without a `resource`
/// the default: Latchkey itself, plus the admin API when `admin` was granted. With one, it must
/// be Latchkey's own (the admin API only with `admin`) or one the client registered; anything
/// else is `invalid_target` (RFC 8707 section 2).
pub fn audience(
    issuer: &str,
    client: &Client,
    scopes: &ScopeSet,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let admin = admin_resource(issuer);
    let Some(resource) = requested else {
        let mut aud = vec![userinfo_resource(issuer)];
        if scopes.contains(ADMIN_SCOPE) {
            aud.push(admin);
        }
        return Ok(aud);
    };
    if !valid_resource(resource) {
        return Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "resource must be an absolute https URI without a fragment",
        ));
    }
    let allowed = resource == issuer
        || (resource == admin && scopes.contains(ADMIN_SCOPE))
        || client.resources.iter().any(|r| r == resource);
    if !allowed {
        return Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            format!(
                "the client may not ask for the resource {resource}; register it among the client's resources"
            ),
        ));
    }
    Ok(vec![resource.to_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::authorize::tests::client;

    const ISSUER: &str = "https://id.example.test";

    #[test]
    fn without_a_resource_the_audience_is_latchkey_and_never_the_client_id() {
        let c = client(false);
        let plain = audience(ISSUER, &c, &ScopeSet::parse("openid").unwrap(), None).unwrap();
        assert_eq!(plain, vec![ISSUER.to_owned()]);
        assert!(!plain.contains(&c.client_id.to_string()));
        let admin = audience(ISSUER, &c, &ScopeSet::parse("admin").unwrap(), None).unwrap();
        assert_eq!(admin, vec![ISSUER.to_owned(), format!("{ISSUER}/api/v1")]);
    }

    #[test]
    fn a_resource_must_be_registered_or_latchkeys_own() {
        let mut c = client(false);
        c.resources = vec!["https://api.example.com".into()];
        let openid = ScopeSet::parse("openid").unwrap();
        assert_eq!(
            audience(ISSUER, &c, &openid, Some("https://api.example.com")).unwrap(),
            vec!["https://api.example.com".to_owned()]
        );
        for bad in [
            "https://other.example.com",
            "https://api.example.com/",
            "https://api.example.com#x",
            "not a uri",
            "http://api.example.com",
        ] {
            let e = audience(ISSUER, &c, &openid, Some(bad)).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidTarget, "{bad}");
        }
        let admin_api = format!("{ISSUER}/api/v1");
        assert!(
            audience(ISSUER, &c, &openid, Some(&admin_api)).is_err(),
            "the admin API needs admin"
        );
        assert!(audience(ISSUER, &c, &ScopeSet::parse("admin").unwrap(), Some(&admin_api)).is_ok());
    }
}
