//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0, section 2): which client a
//! request names, where the browser may go afterwards, and whether the request proves itself
//! enough to sign out without asking. Anything doubtful is a refusal page, never a redirect.

use super::params::{Params, append_query};
use crate::domain::Client;

/// Why a logout request is refused with a page. `web` words each reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutRefusal {
    /// The `client_id` sent is not the audience of the `id_token_hint`.
    ClientMismatch,
    /// The `client_id` (sent or from the hint) names no registered client.
    UnknownClient,
    /// A `post_logout_redirect_uri` came without a `client_id` or an `id_token_hint`.
    RedirectWithoutClient,
}

/// The client a request names: the `client_id` sent, or the hint's audience; both must agree.
pub fn named_client(sent: Option<&str>, hinted: Option<&str>) -> Result<Option<String>, LogoutRefusal> {
    match (sent, hinted) {
        (Some(a), Some(b)) if a != b => Err(LogoutRefusal::ClientMismatch),
        (Some(a), _) => Ok(Some(a.to_owned())),
        (None, b) => Ok(b.map(str::to_owned)),
    }
}

/// Where a checked logout request sends the browser once the user is signed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Stay on Latchkey's "signed out" page.
    Stay,
    /// Redirect to the client's registered `post_logout_redirect_uri` (with `state`).
    Redirect(String),
    /// Stay: the client asked for `uri`, which it did not register (the user is signed out all the
    /// same, since section 2 forbids only the redirect, and told what to register).
    Unregistered { uri: String, client_id: String },
}

/// Decides where the browser goes after signing out, for the client the request names (`None`
/// when it names none; an unknown one was refused before).
pub fn after(params: &Params, client: Option<&Client>) -> Result<After, LogoutRefusal> {
    let Some(uri) = params.get("post_logout_redirect_uri") else {
        return Ok(After::Stay);
    };
    let Some(client) = client else {
        return Err(LogoutRefusal::RedirectWithoutClient);
    };
    if !client.post_logout_redirect_uris.iter().any(|r| r.matches(uri)) {
        return Ok(After::Unregistered {
            uri: uri.to_owned(),
            client_id: client.client_id.to_string(),
        });
    }
    Ok(After::Redirect(match params.get("state") {
        Some(state) => append_query(uri, &[("state", state)]),
        None => uri.to_owned(),
    }))
}

/// Whether the request signs out without asking: its `id_token_hint` names the signed-in user,
/// or it carries a valid hint and nobody is signed in. Anything else asks the user first.
pub fn proven(hint_subject: Option<&str>, session_subject: Option<&str>) -> bool {
    match (hint_subject, session_subject) {
        (Some(hint), Some(session)) => hint == session,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_named_must_agree_with_the_hint() {
        assert_eq!(
            named_client(Some("a"), Some("b")),
            Err(LogoutRefusal::ClientMismatch)
        );
        assert_eq!(named_client(Some("a"), None), Ok(Some("a".into())));
        assert_eq!(named_client(None, Some("b")), Ok(Some("b".into())));
        assert_eq!(named_client(None, None), Ok(None));
    }

    #[test]
    fn only_a_hint_for_the_signed_in_user_or_nobody_proves_a_logout() {
        assert!(proven(Some("u"), Some("u")));
        assert!(proven(Some("u"), None));
        assert!(!proven(Some("u"), Some("v")));
        assert!(!proven(None, Some("u")));
        assert!(!proven(None, None));
    }

    #[test]
    fn a_redirect_needs_a_client() {
        let p = Params::parse("post_logout_redirect_uri=https%3A%2F%2Fa.example%2F").unwrap();
        assert_eq!(after(&p, None), Err(LogoutRefusal::RedirectWithoutClient));
        assert_eq!(after(&Params::parse("").unwrap(), None), Ok(After::Stay));
    }
}
