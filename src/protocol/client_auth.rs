//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 section
//! 2.3): `client_secret_basic`, `client_secret_post`, and `none` for public clients.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::OAuthError;
use crate::crypto;
use crate::domain::Client;

/// How the client identified itself.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// HTTP Basic (`client_secret_basic`).
    Basic { client_id: String, secret: String },
    /// Form fields (`client_secret_post`).
    Post { client_id: String, secret: String },
    /// Only a `client_id` (public clients).
    None { client_id: String },
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (method, id) = match self {
            ClientCredentials::Basic { client_id, .. } => ("basic", client_id),
            ClientCredentials::Post { client_id, .. } => ("post", client_id),
            ClientCredentials::None { client_id } => ("none", client_id),
        };
        write!(f, "ClientCredentials({method}, {id})")
    }
}

impl ClientCredentials {
    pub fn client_id(&self) -> &str {
        match self {
            ClientCredentials::Basic { client_id, .. }
            | ClientCredentials::Post { client_id, .. }
            | ClientCredentials::None { client_id } => client_id,
        }
    }

    /// Whether the failure of these credentials should be answered with 401 and a
    /// `WWW-Authenticate: Basic` challenge (RFC 6749 section 5.2).
    pub fn used_basic(&self) -> bool {
        matches!(self, ClientCredentials::Basic { .. })
    }
}

/// Why the credentials could not even be read; `basic` says whether an `Authorization` header
/// was involved (the answer is then 401 with a challenge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsError {
    pub error: OAuthError,
    pub basic: bool,
}

fn form_decode(part: &str) -> Option<String> {
    let replaced = part.replace('+', " ");
    let bytes: Vec<u8> = percent_decode(replaced.as_bytes())?;
    String::from_utf8(bytes).ok()
}

fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// Reads the client's credentials from the `Authorization` header and the form fields.
pub fn extract(
    authorization: Option<&str>,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<ClientCredentials, CredentialsError> {
    let basic_err = |d: &str| CredentialsError {
        error: OAuthError::invalid_client(d),
        basic: true,
    };
    if let Some(header) = authorization {
        let (scheme, rest) = header
            .trim()
            .split_once(' ')
            .ok_or_else(|| basic_err("malformed Authorization header"))?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(basic_err("the Authorization header must use the Basic scheme"));
        }
        let decoded = STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| basic_err("malformed Basic credentials"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| basic_err("malformed Basic credentials"))?;
        let client_id = form_decode(id).ok_or_else(|| basic_err("malformed Basic credentials"))?;
        let secret = form_decode(secret).ok_or_else(|| basic_err("malformed Basic credentials"))?;
        if client_id.is_empty() {
            return Err(basic_err("malformed Basic credentials"));
        }
        if form_secret.is_some() {
            return Err(CredentialsError {
                error: OAuthError::invalid_request("use only one client authentication method"),
                basic: false,
            });
        }
        if form_client_id.is_some_and(|f| f != client_id) {
            return Err(CredentialsError {
                error: OAuthError::invalid_request("client_id does not match the Authorization header"),
                basic: false,
            });
        }
        return Ok(ClientCredentials::Basic { client_id, secret });
    }
    match (form_client_id, form_secret) {
        (Some(id), Some(secret)) => Ok(ClientCredentials::Post {
            client_id: id.to_owned(),
            secret: secret.to_owned(),
        }),
        (Some(id), None) => Ok(ClientCredentials::None {
            client_id: id.to_owned(),
        }),
        (None, Some(_)) => Err(CredentialsError {
            error: OAuthError::invalid_request("client_secret without client_id"),
            basic: false,
        }),
        (None, None) => Err(CredentialsError {
            error: OAuthError::invalid_client("client authentication is required"),
            basic: true,
        }),
    }
}

/// Checks credentials against the registered client (`None` when the id is unknown).
pub fn authenticate(creds: &ClientCredentials, client: Option<&Client>) -> Result<(), OAuthError> {
    let fail = || OAuthError::invalid_client("client authentication failed");
    let client = client.ok_or_else(fail)?;
    match (creds, &client.secret) {
        (ClientCredentials::None { .. }, None) => Ok(()),
        (ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. }, Some(digest)) => {
            let presented = crypto::sha256(secret.as_bytes());
            if crypto::constant_time_eq(&presented, &digest.0) {
                Ok(())
            } else {
                Err(fail())
            }
        }
        _ => Err(fail()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClientSecretDigest;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        let c = extract(Some(&basic("my%20app", "p%3Ass+word")), None, None).unwrap();
        assert_eq!(
            c,
            ClientCredentials::Basic {
                client_id: "my app".into(),
                secret: "p:ss word".into()
            }
        );
    }

    #[test]
    fn malformed_authorization_headers_are_invalid_client_not_ignored() {
        for h in [
            "Basic !!!",
            "Bearer abc",
            "Basic",
            "Basic Zm9v",
            "Digest x=y",
            "Basic %%%",
            &basic("", "s"),
            &basic("a%zz", "s"),
        ] {
            let e = extract(Some(h), Some("app"), None).unwrap_err();
            assert_eq!(e.error.code, crate::protocol::ErrorCode::InvalidClient, "{h}");
            assert!(e.basic);
        }
    }

    #[test]
    fn two_authentication_methods_at_once_are_invalid_request() {
        let e = extract(Some(&basic("app", "s")), None, Some("s")).unwrap_err();
        assert_eq!(e.error.code, crate::protocol::ErrorCode::InvalidRequest);
    }

    #[test]
    fn secrets_are_checked_and_public_clients_cannot_present_one() {
        let mut client = crate::protocol::authorize::tests::client(false);
        client.secret = Some(ClientSecretDigest(crypto::sha256(b"right")));
        let ok = extract(None, Some("app"), Some("right")).unwrap();
        assert!(authenticate(&ok, Some(&client)).is_ok());
        let wrong = extract(None, Some("app"), Some("wrong")).unwrap();
        assert!(authenticate(&wrong, Some(&client)).is_err());
        let none = extract(None, Some("app"), None).unwrap();
        assert!(
            authenticate(&none, Some(&client)).is_err(),
            "a confidential client must authenticate"
        );
        client.secret = None;
        assert!(authenticate(&none, Some(&client)).is_ok());
        assert!(
            authenticate(&ok, Some(&client)).is_err(),
            "a public client has no secret"
        );
        assert!(authenticate(&none, None).is_err());
    }
}
