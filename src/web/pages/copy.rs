//! The words of the pages: every reason a use case returns is worded here, and sentences that
//! carry values are whole sentences with named placeholders (`{client}`), ready for a message
//! catalog. A value that needs markup is rendered as markup into its placeholder, so no sentence
//! is ever split around a tag.

use crate::protocol::authorize::PageReason;
use crate::protocol::logout::LogoutRefusal;
use crate::protocol::params::ParamsError;
use crate::protocol::upstream::{ClaimProblem, MAX_SUBJECT_LEN, UpstreamRefusal};
use crate::service::upstream::{StateProblem, UpstreamError};

/// The consent page's lead: which client asks for which account.
pub const CONSENT_LEAD: &str = "{client} asks to use your account {username}.";
/// The login page's lead when a client sent the browser.
pub const LOGIN_LEAD: &str = "to continue to {client}";
/// A "Sign in with ..." button.
pub const SIGN_IN_WITH: &str = "Sign in with {provider}";
/// The account page's lead when signed in.
pub const HOME_SIGNED_IN: &str = "You are signed in as {username}.";
/// The logout confirmation's lead when the request named a client.
pub const LOGOUT_ASKED_BY: &str = "{client} asks to sign you out of Latchkey.";
/// The logout confirmation's lead when it did not.
pub const LOGOUT_ASKED: &str = "An application asks to sign you out of Latchkey.";
/// The signed-out page.
pub const SIGNED_OUT: &str = "You are signed out of Latchkey.";
/// The signed-out page when the client asked for a return address it did not register.
pub const SIGNED_OUT_UNREGISTERED: &str = "You are signed out of Latchkey. The application asked to send you on \
     to {uri}, which is not registered for it, so you stay here. Its administrator can register that address \
     as a post-logout redirect URI of the client {client_id}.";

/// A value for a placeholder: text (escaped) or text shown in bold.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Text(&'a str),
    Strong(&'a str),
}

/// Escapes text for HTML exactly as askama does, so filled sentences read as the templates did.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '&' => out.push_str("&#38;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&#60;"),
            '>' => out.push_str("&#62;"),
            c => out.push(c),
        }
    }
}

/// Fills a sentence's named placeholders; the result is HTML (the sentence and the values
/// escaped, [`Value::Strong`] values in `<strong>`). An unknown placeholder is kept as written.
pub fn html(sentence: &str, values: &[(&str, Value<'_>)]) -> String {
    let mut out = String::with_capacity(sentence.len() + 64);
    let mut rest = sentence;
    while let Some(open) = rest.find('{') {
        escape(&rest[..open], &mut out);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            escape(&rest[open..], &mut out);
            return out;
        };
        let name = &after[..close];
        match values.iter().find(|(n, _)| *n == name) {
            Some((_, Value::Text(v))) => escape(v, &mut out),
            Some((_, Value::Strong(v))) => {
                out.push_str("<strong>");
                escape(v, &mut out);
                out.push_str("</strong>");
            }
            None => escape(&rest[open..open + close + 2], &mut out),
        }
        rest = &after[close + 1..];
    }
    escape(rest, &mut out);
    out
}

/// Fills a sentence's named placeholders as plain text (for a page that escapes it itself).
/// Each placeholder is filled once: a value that itself looks like a placeholder stays as it is.
pub fn text(sentence: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(sentence.len() + 64);
    let mut rest = sentence;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        match values.iter().find(|(n, _)| *n == &after[..close]) {
            Some((_, v)) => out.push_str(v),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The title and text of the page for a request whose client or redirect URI cannot be trusted.
pub fn page_reason(reason: &PageReason) -> (&'static str, String) {
    match reason {
        PageReason::RepeatedParameter { name } => (
            "Invalid request",
            text(
                "The parameter `{name}` appears more than once.",
                &[("name", name)],
            ),
        ),
        PageReason::MissingClientId => ("Invalid request", "The request has no client_id.".to_owned()),
        PageReason::UnknownClient => (
            "Unknown application",
            "No application is registered with this client_id.".to_owned(),
        ),
        PageReason::UnregisteredRedirectUri => (
            "Invalid redirect",
            "The redirect_uri is not registered for this application.".to_owned(),
        ),
        PageReason::AmbiguousRedirectUri => (
            "Invalid request",
            "The request has no redirect_uri, and the application has more than one.".to_owned(),
        ),
        PageReason::SessionEnded => ("Sign in first", "Your session has ended; start again.".to_owned()),
    }
}

/// The text of the page that refuses a logout request (titled "Cannot sign out").
pub fn logout_refusal(reason: &LogoutRefusal) -> &'static str {
    match reason {
        LogoutRefusal::ClientMismatch => "The client_id does not match the id_token_hint.",
        LogoutRefusal::UnknownClient => "The client_id names no registered application.",
        LogoutRefusal::RedirectWithoutClient => {
            "A post_logout_redirect_uri needs a client_id or an id_token_hint."
        }
    }
}

/// The text of the page for parameters over a bound.
pub fn params_error(e: &ParamsError) -> String {
    match e {
        ParamsError::TooMany => "The request has too many parameters.".to_owned(),
        ParamsError::TooLong(name) => text("The parameter `{name}` is too long.", &[("name", name)]),
    }
}

/// How a scope reads on the consent page.
pub fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "confirm who you are".to_owned(),
        "profile" => "see your name and username".to_owned(),
        "email" => "see your email address".to_owned(),
        "groups" => "see the groups you belong to".to_owned(),
        "offline_access" => "keep access while you are away, without asking again".to_owned(),
        "admin" => "administer this Latchkey server".to_owned(),
        other => text("use the permission \u{201c}{scope}\u{201d}", &[("scope", other)]),
    }
}

/// Ends a sentence whose last words are a detail that may bring its own full stop.
fn full_stop(mut sentence: String) -> String {
    if !sentence.ends_with('.') {
        sentence.push('.');
    }
    sentence
}

/// The text of the page for a failed upstream sign-in.
pub fn upstream_failure(e: &UpstreamError) -> String {
    match e {
        UpstreamError::Service(_) => "The server cannot complete this now. Please try again.".to_owned(),
        UpstreamError::Unreachable(_) => {
            "The sign-in provider could not be reached, or did not answer in time. Please try again later."
                .to_owned()
        }
        UpstreamError::NotFound(name) => {
            text("There is no sign-in provider called `{name}`.", &[("name", name)])
        }
        UpstreamError::State(problem) => match problem {
            StateProblem::Missing => "The provider's answer has no state.",
            StateProblem::Unknown => "This sign-in is unknown or was already used; start again.",
            StateProblem::OtherProvider => "This answer is for another provider; start again.",
            StateProblem::Expired => "This sign-in took too long; start again.",
            StateProblem::OtherBrowser => "This sign-in was started in another browser; start again here.",
        }
        .to_owned(),
        UpstreamError::Provider(detail) => full_stop(text(
            "The provider refused the sign-in: {detail}",
            &[("detail", detail)],
        )),
        UpstreamError::Invalid(detail) => full_stop(text(
            "The provider's answer could not be trusted: {detail}",
            &[("detail", detail)],
        )),
        UpstreamError::UserinfoMismatch => {
            "The provider's answer could not be trusted: the provider's user info is \
                                            for someone else than its ID token."
                .to_owned()
        }
        UpstreamError::Refused(refusal) => upstream_refusal(refusal),
        UpstreamError::Throttled(seconds) => text(
            "Too many sign-ins were started from your address; try again in {seconds} seconds.",
            &[("seconds", &seconds.to_string())],
        ),
        UpstreamError::Busy => "Too many sign-ins are in progress; try again in a few minutes.".to_owned(),
    }
}

/// Why the link policy (or the claims) kept an upstream identity out, for the page.
fn upstream_refusal(refusal: &UpstreamRefusal) -> String {
    match refusal {
        UpstreamRefusal::Claims(problem) => {
            let what = match problem {
                ClaimProblem::NotStringOrInteger { claim } => {
                    text("`{claim}` is not a string or an integer", &[("claim", claim)])
                }
                ClaimProblem::Missing { claim } => text("no `{claim}` claim", &[("claim", claim)]),
                ClaimProblem::Invalid { claim } => text(
                    "`{claim}` is longer than {max} bytes or has control characters",
                    &[("claim", claim), ("max", &MAX_SUBJECT_LEN.to_string())],
                ),
            };
            text(
                "The provider did not say who you are ({what}).",
                &[("what", &what)],
            )
        }
        UpstreamRefusal::UserinfoMismatch => {
            "The provider's user info is for someone else than its ID token.".to_owned()
        }
        UpstreamRefusal::NotLinked => {
            "This account is not linked to a user here; ask an administrator to link it.".to_owned()
        }
        UpstreamRefusal::UnverifiedEmail => {
            "The provider did not confirm your email address, so it cannot be matched to a user here."
                .to_owned()
        }
        UpstreamRefusal::NoEmailMatch => {
            "No user here has this verified email address; ask an administrator to link your account."
                .to_owned()
        }
        UpstreamRefusal::AmbiguousEmail => {
            "More than one user here has this email address; ask an administrator to link your account."
                .to_owned()
        }
        UpstreamRefusal::Disabled => "The user this account is linked to is disabled.".to_owned(),
        UpstreamRefusal::NeedsExplicitLink => {
            "The user here with this email address must be linked to your account by an administrator."
                .to_owned()
        }
    }
}

// The second step of a sign-in, TOTP and recovery codes (`pages::factor`, `pages::totp`,
// `pages::recovery`).

/// The second-step page's lead.
pub const FACTOR_LEAD: &str = "Signing in as {username}. Confirm it is you with a second step.";
/// A TOTP or recovery code that did not match (or was already used).
pub const FACTOR_WRONG: &str = "That code is not correct, or it was already used. Please try again.";
/// Too many wrong codes.
pub const FACTOR_THROTTLED: &str = "Too many wrong codes. Wait a moment, then try again.";
/// The form token did not verify.
pub const FORM_EXPIRED: &str = "The form expired. Please try again.";
/// The sign-in waited too long for its second step, or was already completed.
pub const PENDING_GONE: &str = "This sign-in expired or was already completed. Please sign in again.";
/// The enrolment page's lead during a sign-in that requires two factors.
pub const ENROL_AT_SIGN_IN: &str = "Your account {username} must sign in with two factors. Set up an \
     authenticator app to continue.";
/// The enrolment page's lead on the account page.
pub const ENROL_LEAD: &str = "Scan the QR code with an authenticator app, or type the key into it, then \
     enter the six-digit code it shows.";
/// An enrolment whose seed waited too long.
pub const ENROL_EXPIRED: &str = "That setup expired. Here is a new key: scan it again.";
/// TOTP was already set up.
pub const ENROL_ALREADY: &str = "An authenticator app is already set up for this account.";
/// The TOTP page when an app is set up.
pub const TOTP_ON: &str = "An authenticator app is set up for {username}.";
/// The continue page after a recovery code.
pub const RECOVERY_USED: &str = "You signed in with a recovery code. {count} unused codes remain.";
/// The continue page after the last recovery code.
pub const RECOVERY_USED_LAST: &str = "You signed in with your last recovery code. Make new codes on the \
     recovery codes page now.";
/// The recovery page's count.
pub const RECOVERY_REMAINING: &str = "You have {count} unused recovery codes.";
/// The recovery page without codes.
pub const RECOVERY_NONE: &str = "You have no recovery codes.";
/// The recovery page when it shows new codes.
pub const RECOVERY_SHOWN_ONCE: &str = "Keep these codes somewhere safe: each works once, and they are shown \
     only now. Making new codes makes these stop working.";
/// A factor the policy requires.
pub const LAST_REQUIRED_FACTOR: &str = "Your account must sign in with two factors, and this is your last \
     second factor. Add another one first.";
/// Nothing to remove.
pub const NOTHING_TO_REMOVE: &str = "There is no authenticator app to remove.";
/// The login page's lead when a change needs a fresh sign-in.
pub const SIGN_IN_AGAIN: &str = "Sign in again to confirm this change.";
/// The title of the page that refuses a user outside a client's `allowed_groups`.
pub const GROUPS_REFUSED_TITLE: &str = "Not available to this account";
/// Its lead: who is signed in, and that the application is limited to certain groups.
pub const GROUPS_REFUSED_LEAD: &str = "You are signed in as {username}. {client} is limited to certain groups, \
     and this account is in none of them.";
/// What the user can do about it.
pub const GROUPS_REFUSED_HINT: &str = "Ask an administrator to add your account to one of those groups, or \
     sign in with another account.";
/// The link that signs in with another account and tries the application again.
pub const GROUPS_REFUSED_SWITCH: &str = "Sign in with another account";
/// A sign-out button.
pub const SIGN_OUT: &str = "Sign out";
/// The app launcher's title.
pub const APPS_TITLE: &str = "Your applications";
/// The app launcher's lead.
pub const APPS_LEAD: &str = "Applications you can open with your account {username}.";
/// The app launcher when no application is listed for the user.
pub const APPS_NONE: &str = "There are no applications to open here yet.";
/// The heading of the launcher's list of sites behind the proxy (forward-auth).
pub const APPS_SITES: &str = "Sites behind the proxy";
/// The app launcher's link to the account page.
pub const APPS_TO_ACCOUNT: &str = "Your account";
/// The account page's link to the app launcher.
pub const ACCOUNT_TO_APPS: &str = "Your applications";

// Forward-auth (`/login?rd=...`, `/forward-auth/session`).

/// The title of the page for a return address that is refused.
pub const RD_REFUSED_TITLE: &str = "Cannot return there";
/// Its text: the address is not one this server protects (or is malformed).
pub const RD_REFUSED: &str = "The sign-in was asked to send you on to an address that this server does not protect, \
     so it will not go there. Open the application you wanted again.";
/// The page when a return address is given and forward-auth is not configured.
pub const FORWARD_AUTH_OFF: &str = "This server does not protect applications behind a proxy, so it cannot send \
     you on to one.";

// The account page and invitations (`/account`, `/invite/{token}`).

/// The account page's notice after the profile was saved.
pub const ACCOUNT_PROFILE_SAVED: &str = "Your profile was saved.";
/// The account page's notice after a password change.
pub const ACCOUNT_PASSWORD_CHANGED: &str = "Your password was changed. Your other sessions were signed out, and \
     applications must ask you to sign in again.";
/// The account page's notice after "sign out other sessions".
pub const ACCOUNT_OTHERS_SIGNED_OUT: &str = "Your other sessions were signed out.";
/// The account page's notice after one session was signed out.
pub const ACCOUNT_SESSION_ENDED: &str = "The session was signed out.";
/// The account page's notice after an application was revoked.
pub const ACCOUNT_APPLICATION_REVOKED: &str = "The application can no longer use your account; it must ask for \
     your consent again.";
/// The account page's error when the two new passwords differ.
pub const ACCOUNT_PASSWORDS_DIFFER: &str = "The two new passwords do not match.";
/// The account page's error for a wrong current password.
pub const ACCOUNT_WRONG_PASSWORD: &str = "The current password is not correct.";
/// The account page's error after too many wrong current passwords.
pub const ACCOUNT_THROTTLED: &str = "Too many attempts. Wait {seconds} seconds, then try again.";
/// The account page's error for a session or application that is no longer there.
pub const ACCOUNT_GONE: &str = "That session or application is no longer there.";
/// The "Sign-in methods" line for passkeys.
pub const ACCOUNT_PASSKEYS: &str = "Passkeys: {count} registered.";
/// The "Sign-in methods" line for an authenticator app that is set up.
pub const ACCOUNT_TOTP_ON: &str = "Authenticator app (TOTP): set up.";
/// The "Sign-in methods" line for an authenticator app that is not.
pub const ACCOUNT_TOTP_OFF: &str = "Authenticator app (TOTP): not set up.";
/// The "Sign-in methods" line for recovery codes.
pub const ACCOUNT_RECOVERY: &str = "Recovery codes: {count} unused.";
/// The sessions list's line for one session.
pub const ACCOUNT_SESSION_LINE: &str = "Signed in {created} with {methods}; ends {expires}.";
/// The applications list's line for one application.
pub const ACCOUNT_APPLICATION_LINE: &str = "{client} may {scopes} (since {granted}).";
/// The invitation page's lead.
pub const INVITE_LEAD: &str = "Choose a password for your new account {username}.";
/// The invitation page after the invitation was accepted.
pub const INVITE_DONE: &str = "Your account {username} is ready and you are signed in. This invitation link no \
     longer works.";
/// The page for an invitation link that does not work.
pub const INVITE_INVALID: &str = "This invitation link is invalid, already used or expired. Ask your \
     administrator for a new one.";
/// The page after too many invitation links that did not work.
pub const INVITE_THROTTLED: &str = "Too many invitation links that did not work came from your address. Wait \
     {seconds} seconds and try again.";
/// The invitation page's button that registers a passkey instead of choosing a password.
pub const INVITE_PASSKEY: &str = "Register a passkey instead";
/// The invitation page's line above that button.
pub const INVITE_PASSKEY_LEAD: &str = "Or skip the password: register a passkey, and your device signs you in with \
     your fingerprint, face or PIN.";
/// The invitation page's default name for the passkey.
pub const INVITE_PASSKEY_NAME: &str = "Passkey";
/// The invitation page when the sign-in after it needs another step.
pub const INVITE_SIGN_IN: &str = "Your password is set. Sign in with it to continue.";

/// How a sign-in method (an RFC 8176 `amr` value) reads in the sessions list; `None` for values
/// that say nothing a person needs (`mfa`, `user`, `fed`).
pub fn describe_method(amr: &str) -> Option<String> {
    Some(match amr {
        "pwd" => "a password".to_owned(),
        "otp" => "an authenticator app".to_owned(),
        "hwk" | "swk" => "a passkey".to_owned(),
        "mfa" | "user" | "fed" => return None,
        other => match other.strip_prefix("upstream:") {
            Some(name) => name.to_owned(),
            None => other.to_owned(),
        },
    })
}

// Passkeys: the account page's passkey list, passkey-first sign-in and the passkey second factor.

/// The passkey page's lead.
pub const PASSKEYS_LEAD: &str = "Passkeys let {username} sign in without a password: your device checks your \
     fingerprint, face or PIN, and no secret ever leaves it.";
/// The passkey page when the user has none.
pub const PASSKEYS_NONE: &str = "You have no passkeys yet.";
/// One passkey's dates.
pub const PASSKEY_DATES: &str = "Added {created}. Last used {last_used}.";
/// A passkey never used yet.
pub const PASSKEY_NEVER_USED: &str = "never";
/// A passkey that is backed up (synced between devices).
pub const PASSKEY_SYNCED: &str = "Synced between your devices.";
/// A passkey that may be backed up but is not (yet).
pub const PASSKEY_SYNCABLE: &str = "Can be synced, not backed up yet.";
/// A passkey bound to one device.
pub const PASSKEY_DEVICE_BOUND: &str = "Kept on one device only.";
/// The notice after adding a passkey.
pub const PASSKEY_ADDED: &str = "The passkey was added.";
/// The notice after renaming a passkey.
pub const PASSKEY_RENAMED: &str = "The passkey was renamed.";
/// The notice after removing a passkey.
pub const PASSKEY_REMOVED: &str = "The passkey was removed.";
/// Shown without JavaScript, where the add button would be.
pub const PASSKEY_NEEDS_SCRIPT: &str =
    "Adding a passkey needs JavaScript. Renaming and removing passkeys work without it.";
/// What the script shows when the browser or the authenticator gave up (cancelled, timed out,
/// no passkey).
pub const PASSKEY_BROWSER_FAILED: &str =
    "The passkey could not be used. Try again, or choose another way to sign in.";
/// The passkey-first sign-in button.
pub const PASSKEY_SIGN_IN: &str = "Sign in with a passkey";
/// The link that asks for a recent sign-in before a passkey is removed.
pub const PASSKEY_SIGN_IN_AGAIN: &str = "Removing a passkey needs a recent sign-in. {link}, then remove it.";
/// The words of that link.
pub const PASSKEY_SIGN_IN_AGAIN_LINK: &str = "Sign in again";

/// Why a passkey use case failed, as one sentence.
pub fn passkey_error(e: &crate::service::passkeys::PasskeyError) -> &'static str {
    use crate::service::passkeys::PasskeyError as E;
    match e {
        E::Off => "Passkeys are not available on this server: its address has no host name.",
        E::NoCeremony => "This passkey request expired or was already used. Please try again.",
        E::WrongUser => "This passkey request was started for another sign-in. Please try again.",
        E::Refused => "The passkey could not be verified.",
        E::Duplicate => "This passkey is registered already.",
        E::InvalidName => "Give the passkey a name of 1 to 64 characters.",
        E::NotFound => "There is no such passkey.",
        E::NotFresh => "Removing a passkey needs a recent sign-in.",
        E::LastRequiredFactor => {
            "This is your last second factor, and your account must have one. Add another one first."
        }
        E::Throttled(_) => "Too many attempts. Wait a moment, then try again.",
        E::Unavailable(_) => "Latchkey could not complete this request. Please try again in a moment.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_escaped_and_strong_values_marked_up() {
        let out = html(
            CONSENT_LEAD,
            &[
                ("client", Value::Strong("A<B")),
                ("username", Value::Strong("bob")),
            ],
        );
        assert_eq!(
            out,
            "<strong>A&#60;B</strong> asks to use your account <strong>bob</strong>."
        );
        assert_eq!(html("{x} & {y}", &[("x", Value::Text("'"))]), "&#39; &#38; {y}");
        assert_eq!(text("{a}{b}", &[("a", "{b}"), ("b", "!")]), "{b}!");
    }
}
