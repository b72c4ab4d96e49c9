//! Which catalog message says what: every reason a use case returns is mapped here to a message
//! id of the catalogs (`locales/<language>/*.ftl`), and every sentence a handler shows is named by
//! a [`Msg`] constant. No words live here: they are in the catalogs, in the request's language
//! (`web::i18n`). A value that needs markup is rendered as markup into its variable
//! ([`Value::Strong`]), so no sentence is ever split around a tag.

use crate::domain::{
    AddressClass, ClientRule, InvalidLink, InvalidRedirectUri, MAX_ICON_LEN, OutboundRefusal,
    RedirectUriProblem,
};
use crate::protocol::authorize::PageReason;
use crate::protocol::logout::LogoutRefusal;
use crate::protocol::params::ParamsError;
use crate::protocol::upstream::{ClaimProblem, MAX_SUBJECT_LEN, UpstreamRefusal};
use crate::service::upstream::{StateProblem, UpstreamError};
use crate::service::{Conflict, Invalid};
use crate::web::i18n;

pub use crate::web::i18n::Value;

/// The id of a catalog message. A type of its own, so an id is never shown as if it were words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg(pub &'static str);

/// A message as plain text in the page's language (a template escapes it).
pub fn t(msg: Msg) -> String {
    i18n::t(msg.0)
}

/// A message with its variables filled, as HTML: the words and values escaped, [`Value::Strong`]
/// values in `<strong>`.
pub fn html(msg: Msg, values: &[(&str, Value<'_>)]) -> String {
    i18n::html(msg.0, values)
}

/// A message with its variables filled, as plain text (for a page that escapes it itself).
pub fn text(msg: Msg, values: &[(&str, &str)]) -> String {
    let values: Vec<(&str, Value<'_>)> = values.iter().map(|(n, v)| (*n, Value::Text(v))).collect();
    i18n::text(msg.0, &values)
}

/// The consent page's lead: which client asks for which account.
pub const CONSENT_LEAD: Msg = Msg("consent-lead");
/// The login page's lead when a client sent the browser.
pub const LOGIN_LEAD: Msg = Msg("login-lead");
/// A "Sign in with ..." button.
pub const SIGN_IN_WITH: Msg = Msg("sign-in-with");
/// The account page's lead when signed in.
pub const HOME_SIGNED_IN: Msg = Msg("home-signed-in");
/// The logout confirmation's lead when the request named a client.
pub const LOGOUT_ASKED_BY: Msg = Msg("logout-asked-by");
/// The logout confirmation's lead when it did not.
pub const LOGOUT_ASKED: Msg = Msg("logout-asked");
/// The signed-out page.
pub const SIGNED_OUT: Msg = Msg("signed-out");
/// The signed-out page when the client asked for a return address it did not register.
pub const SIGNED_OUT_UNREGISTERED: Msg = Msg("signed-out-unregistered");
/// The second-step page's lead.
pub const FACTOR_LEAD: Msg = Msg("factor-lead");
/// A TOTP or recovery code that did not match (or was already used).
pub const FACTOR_WRONG: Msg = Msg("factor-wrong");
/// Too many wrong codes.
pub const FACTOR_THROTTLED: Msg = Msg("factor-throttled");
/// The form token did not verify.
pub const FORM_EXPIRED: Msg = Msg("form-expired");
/// The sign-in waited too long for its second step, or was already completed.
pub const PENDING_GONE: Msg = Msg("pending-gone");
/// The enrolment page's lead during a sign-in that requires two factors.
pub const ENROL_AT_SIGN_IN: Msg = Msg("enrol-at-sign-in");
/// The enrolment page's lead on the account page.
pub const ENROL_LEAD: Msg = Msg("enrol-lead");
/// An enrolment whose seed waited too long.
pub const ENROL_EXPIRED: Msg = Msg("enrol-expired");
/// TOTP was already set up.
pub const ENROL_ALREADY: Msg = Msg("enrol-already");
/// The TOTP page when an app is set up.
pub const TOTP_ON: Msg = Msg("totp-on");
/// The continue page after a recovery code.
pub const RECOVERY_USED: Msg = Msg("recovery-used");
/// The continue page after the last recovery code.
pub const RECOVERY_USED_LAST: Msg = Msg("recovery-used-last");
/// The recovery page's count.
pub const RECOVERY_REMAINING: Msg = Msg("recovery-remaining");
/// The recovery page without codes.
pub const RECOVERY_NONE: Msg = Msg("recovery-none");
/// The recovery page when it shows new codes.
pub const RECOVERY_SHOWN_ONCE: Msg = Msg("recovery-shown-once");
/// A factor the policy requires.
pub const LAST_REQUIRED_FACTOR: Msg = Msg("totp-last-required");
/// Nothing to remove.
pub const NOTHING_TO_REMOVE: Msg = Msg("totp-nothing");
/// The login page's lead when a change needs a fresh sign-in.
pub const SIGN_IN_AGAIN: Msg = Msg("login-sign-in-again");
/// The title of the page that refuses a user outside a client's `allowed_groups`.
pub const GROUPS_REFUSED_TITLE: Msg = Msg("groups-refused-title");
/// Its lead: who is signed in, and that the application is limited to certain groups.
pub const GROUPS_REFUSED_LEAD: Msg = Msg("groups-refused-lead");
/// What the user can do about it.
pub const GROUPS_REFUSED_HINT: Msg = Msg("groups-refused-hint");
/// The link that signs in with another account and tries the application again.
pub const GROUPS_REFUSED_SWITCH: Msg = Msg("groups-refused-switch");
/// A sign-out button.
pub const SIGN_OUT: Msg = Msg("sign-out");
/// The app launcher's title.
pub const APPS_TITLE: Msg = Msg("your-applications");
/// The app launcher's lead.
pub const APPS_LEAD: Msg = Msg("apps-lead");
/// The app launcher when no application is listed for the user.
pub const APPS_NONE: Msg = Msg("apps-none");
/// The heading of the launcher's list of sites behind the proxy (forward-auth).
pub const APPS_SITES: Msg = Msg("apps-sites");
/// The app launcher's link to the account page.
pub const APPS_TO_ACCOUNT: Msg = Msg("your-account");
/// The account page's link to the app launcher.
pub const ACCOUNT_TO_APPS: Msg = Msg("your-applications");
/// The title of the page for a return address that is refused.
pub const RD_REFUSED_TITLE: Msg = Msg("rd-refused-title");
/// Its text: the address is not one this server protects (or is malformed).
pub const RD_REFUSED: Msg = Msg("rd-refused");
/// The page when a return address is given and forward-auth is not configured.
pub const FORWARD_AUTH_OFF: Msg = Msg("forward-auth-off");
/// The account page's notice after the profile was saved.
pub const ACCOUNT_PROFILE_SAVED: Msg = Msg("account-profile-saved");
/// The account page's notice after a password change.
pub const ACCOUNT_PASSWORD_CHANGED: Msg = Msg("account-password-changed");
/// The account page's notice after "sign out other sessions".
pub const ACCOUNT_OTHERS_SIGNED_OUT: Msg = Msg("account-others-signed-out");
/// The account page's notice after one session was signed out.
pub const ACCOUNT_SESSION_ENDED: Msg = Msg("account-session-ended");
/// The account page's notice after an application was revoked.
pub const ACCOUNT_APPLICATION_REVOKED: Msg = Msg("account-application-revoked");
/// The account page's error when the two new passwords differ.
pub const ACCOUNT_PASSWORDS_DIFFER: Msg = Msg("account-passwords-differ");
/// The account page's error for a wrong current password.
pub const ACCOUNT_WRONG_PASSWORD: Msg = Msg("account-wrong-password");
/// The account page's error after too many wrong current passwords.
pub const ACCOUNT_THROTTLED: Msg = Msg("account-throttled");
/// The account page's error for a session or application that is no longer there.
pub const ACCOUNT_GONE: Msg = Msg("account-gone");
/// The "Sign-in methods" line for passkeys.
pub const ACCOUNT_PASSKEYS: Msg = Msg("account-passkeys");
/// The "Sign-in methods" line for an authenticator app that is set up.
pub const ACCOUNT_TOTP_ON: Msg = Msg("account-totp-on");
/// The "Sign-in methods" line for an authenticator app that is not.
pub const ACCOUNT_TOTP_OFF: Msg = Msg("account-totp-off");
/// The "Sign-in methods" line for recovery codes.
pub const ACCOUNT_RECOVERY: Msg = Msg("account-recovery");
/// The sessions list's line for one session.
pub const ACCOUNT_SESSION_LINE: Msg = Msg("account-session-line");
/// The applications list's line for one application.
pub const ACCOUNT_APPLICATION_LINE: Msg = Msg("account-application-line");
/// The invitation page's lead.
pub const INVITE_LEAD: Msg = Msg("invite-lead");
/// The invitation page after the invitation was accepted.
pub const INVITE_DONE: Msg = Msg("invite-done");
/// The page for an invitation link that does not work.
pub const INVITE_INVALID: Msg = Msg("invite-invalid");
/// The page after too many invitation links that did not work.
pub const INVITE_THROTTLED: Msg = Msg("invite-throttled");
/// The invitation page's button that registers a passkey instead of choosing a password.
pub const INVITE_PASSKEY: Msg = Msg("invite-passkey");
/// The invitation page's line above that button.
pub const INVITE_PASSKEY_LEAD: Msg = Msg("invite-passkey-lead");
/// The invitation page's default name for the passkey.
pub const INVITE_PASSKEY_NAME: Msg = Msg("passkey-default-name");
/// The invitation page when the sign-in after it needs another step.
pub const INVITE_SIGN_IN: Msg = Msg("invite-sign-in");
/// The passkey page's lead.
pub const PASSKEYS_LEAD: Msg = Msg("passkeys-lead");
/// The passkey page when the user has none.
pub const PASSKEYS_NONE: Msg = Msg("passkeys-none");
/// One passkey's dates.
pub const PASSKEY_DATES: Msg = Msg("passkey-dates");
/// A passkey never used yet.
pub const PASSKEY_NEVER_USED: Msg = Msg("passkey-never-used");
/// A passkey that is backed up (synced between devices).
pub const PASSKEY_SYNCED: Msg = Msg("passkey-synced");
/// A passkey that may be backed up but is not (yet).
pub const PASSKEY_SYNCABLE: Msg = Msg("passkey-syncable");
/// A passkey bound to one device.
pub const PASSKEY_DEVICE_BOUND: Msg = Msg("passkey-device-bound");
/// The notice after adding a passkey.
pub const PASSKEY_ADDED: Msg = Msg("passkey-added");
/// The notice after renaming a passkey.
pub const PASSKEY_RENAMED: Msg = Msg("passkey-renamed");
/// The notice after removing a passkey.
pub const PASSKEY_REMOVED: Msg = Msg("passkey-removed");
/// Shown without JavaScript, where the add button would be.
pub const PASSKEY_NEEDS_SCRIPT: Msg = Msg("passkey-needs-script");
/// What the script shows when the browser or the authenticator gave up (cancelled, timed out,
/// no passkey).
pub const PASSKEY_BROWSER_FAILED: Msg = Msg("passkey-browser-failed");
/// The passkey-first sign-in button.
pub const PASSKEY_SIGN_IN: Msg = Msg("passkey-sign-in");
/// The link that asks for a recent sign-in before a passkey is removed.
pub const PASSKEY_SIGN_IN_AGAIN: Msg = Msg("passkey-sign-in-again");
/// The words of that link.
pub const PASSKEY_SIGN_IN_AGAIN_LINK: Msg = Msg("sign-in-again");

// Sentences the handlers show that are not a use case's reason.

/// The title of a page after an internal failure.
pub const TRY_AGAIN_TITLE: Msg = Msg("try-again-title");
/// An internal failure.
pub const UNAVAILABLE: Msg = Msg("unavailable");
/// An internal failure (the shorter form of setup and invitations).
pub const UNAVAILABLE_SHORT: Msg = Msg("unavailable-short");
/// The title of a page for a malformed request.
pub const INVALID_REQUEST_TITLE: Msg = Msg("invalid-request-title");
/// A request body or query over the bound.
pub const REQUEST_TOO_LARGE: Msg = Msg("request-too-large");
/// A JSON request of the passkey script that does not parse.
pub const REQUEST_NOT_VALID: Msg = Msg("request-not-valid");
/// The title of a page for a form token that did not verify.
pub const FORM_EXPIRED_TITLE: Msg = Msg("form-expired-title");
/// A form token that did not verify (account, setup and invitation forms).
pub const FORM_EXPIRED_RELOAD: Msg = Msg("form-expired-reload");
/// A form token that did not verify (the local sign-out).
pub const FORM_EXPIRED_RETRY: Msg = Msg("form-expired-retry");
/// A form token that did not verify (the passkey script).
pub const FORM_EXPIRED_RELOAD_PAGE: Msg = Msg("form-expired-reload-page");
/// A form token that did not verify (the consent form).
pub const CONSENT_FORM_EXPIRED: Msg = Msg("consent-form-expired");
/// A form token that did not verify (the RP-initiated logout confirmation).
pub const LOGOUT_FORM_EXPIRED: Msg = Msg("logout-form-expired");
/// The title of a throttled page.
pub const TOO_MANY_ATTEMPTS_TITLE: Msg = Msg("too-many-attempts-title");
/// A throttled sign-in or passkey use.
pub const TOO_MANY_ATTEMPTS: Msg = Msg("too-many-attempts");
/// A passkey request whose session ended.
pub const SESSION_ENDED_SIGN_IN: Msg = Msg("session-ended-sign-in");
/// The one message for every failed sign-in, so that nothing tells which part was wrong.
pub const LOGIN_FAILED: Msg = Msg("login-failed");
/// The title of the signed-out page.
pub const SIGNED_OUT_TITLE: Msg = Msg("signed-out-title");
/// The title of the page that refuses a logout request.
pub const LOGOUT_REFUSED_TITLE: Msg = Msg("logout-refused-title");
/// The title of the page after a recovery code.
pub const RECOVERY_USED_TITLE: Msg = Msg("recovery-used-title");
/// The link back to the sign-in (after a pending sign-in is gone).
pub const SIGN_IN_AGAIN_TITLE: Msg = Msg("sign-in-again");
/// The title of the passkey pages.
pub const PASSKEYS_TITLE: Msg = Msg("passkeys-title");
/// The title of the page with nothing to remove.
pub const NOTHING_TO_REMOVE_TITLE: Msg = Msg("totp-nothing-title");
/// Invitations: the title of the page for a link that does not work.
pub const INVITE_INVALID_TITLE: Msg = Msg("invite-invalid-title");
/// Invitations: the title of the page after the password was set.
pub const INVITE_PASSWORD_SET_TITLE: Msg = Msg("invite-password-set-title");
/// Setup: the title of the page for a link that does not work.
pub const SETUP_INVALID_TITLE: Msg = Msg("setup-invalid-title");
/// Setup: a link that does not work.
pub const SETUP_INVALID: Msg = Msg("setup-invalid");
/// Setup: too many links that did not work.
pub const SETUP_THROTTLED: Msg = Msg("setup-throttled");
/// Setup: the two passwords differ.
pub const SETUP_PASSWORDS_DIFFER: Msg = Msg("setup-passwords-differ");
/// Setup: the title of the page after the administrator was created.
pub const SETUP_DONE_TITLE: Msg = Msg("setup-done-title");
/// Setup: the administrator was created.
pub const SETUP_DONE: Msg = Msg("setup-done");
/// Upstream sign-in failures' titles.
pub const UPSTREAM_NOT_FOUND_TITLE: Msg = Msg("upstream-not-found-title");
pub const UPSTREAM_FAILED_TITLE: Msg = Msg("upstream-failed-title");
pub const UPSTREAM_REFUSED_TITLE: Msg = Msg("upstream-refused-title");
pub const UPSTREAM_NOT_ALLOWED_TITLE: Msg = Msg("upstream-not-allowed-title");
pub const UPSTREAM_UNAVAILABLE_TITLE: Msg = Msg("upstream-unavailable-title");
pub const UPSTREAM_THROTTLED_TITLE: Msg = Msg("upstream-throttled-title");

/// The title and text of the page for a request whose client or redirect URI cannot be trusted.
pub fn page_reason(reason: &PageReason) -> (String, String) {
    let invalid = || i18n::t("invalid-request-title");
    match reason {
        PageReason::RepeatedParameter { name } => (
            invalid(),
            text(Msg("reason-repeated-parameter"), &[("name", name)]),
        ),
        PageReason::MissingClientId => (invalid(), i18n::t("reason-missing-client-id")),
        PageReason::UnknownClient => (
            i18n::t("reason-unknown-client-title"),
            i18n::t("reason-unknown-client"),
        ),
        PageReason::UnregisteredRedirectUri => (
            i18n::t("reason-redirect-title"),
            i18n::t("reason-unregistered-redirect"),
        ),
        PageReason::AmbiguousRedirectUri => (invalid(), i18n::t("reason-ambiguous-redirect")),
        PageReason::SessionEnded => (
            i18n::t("reason-session-ended-title"),
            i18n::t("reason-session-ended"),
        ),
    }
}

/// The text of the page that refuses a logout request (titled [`LOGOUT_REFUSED_TITLE`]).
pub fn logout_refusal(reason: &LogoutRefusal) -> String {
    i18n::t(match reason {
        LogoutRefusal::ClientMismatch => "logout-client-mismatch",
        LogoutRefusal::UnknownClient => "logout-unknown-client",
        LogoutRefusal::RedirectWithoutClient => "logout-redirect-without-client",
    })
}

/// The text of the page for parameters over a bound.
pub fn params_error(e: &ParamsError) -> String {
    match e {
        ParamsError::TooMany => i18n::t("params-too-many"),
        ParamsError::TooLong(name) => text(Msg("params-too-long"), &[("name", name)]),
    }
}

/// How a scope reads on the consent page.
pub fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => i18n::t("scope-openid"),
        "profile" => i18n::t("scope-profile"),
        "email" => i18n::t("scope-email"),
        "groups" => i18n::t("scope-groups"),
        "offline_access" => i18n::t("scope-offline-access"),
        "admin" => i18n::t("scope-admin"),
        other => text(Msg("scope-other"), &[("scope", other)]),
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
        UpstreamError::Service(_) => i18n::t("upstream-service"),
        UpstreamError::Unreachable(_) => i18n::t("upstream-unreachable"),
        UpstreamError::NotFound(name) => text(Msg("upstream-not-found"), &[("name", name)]),
        UpstreamError::State(problem) => i18n::t(match problem {
            StateProblem::Missing => "upstream-state-missing",
            StateProblem::Unknown => "upstream-state-unknown",
            StateProblem::OtherProvider => "upstream-state-other-provider",
            StateProblem::Expired => "upstream-state-expired",
            StateProblem::OtherBrowser => "upstream-state-other-browser",
        }),
        UpstreamError::Provider(detail) => {
            full_stop(text(Msg("upstream-provider-refused"), &[("detail", detail)]))
        }
        UpstreamError::Invalid(detail) => full_stop(text(Msg("upstream-invalid"), &[("detail", detail)])),
        UpstreamError::UserinfoMismatch => i18n::t("upstream-userinfo-mismatch-full"),
        UpstreamError::Refused(refusal) => upstream_refusal(refusal),
        UpstreamError::Throttled(seconds) => {
            text(Msg("upstream-throttled"), &[("seconds", &seconds.to_string())])
        }
        UpstreamError::Busy => i18n::t("upstream-busy"),
    }
}

/// Why the link policy (or the claims) kept an upstream identity out, for the page.
fn upstream_refusal(refusal: &UpstreamRefusal) -> String {
    match refusal {
        UpstreamRefusal::Claims(problem) => {
            let what = match problem {
                ClaimProblem::NotStringOrInteger { claim } => {
                    text(Msg("upstream-claim-not-string"), &[("claim", claim)])
                }
                ClaimProblem::Missing { claim } => text(Msg("upstream-claim-missing"), &[("claim", claim)]),
                ClaimProblem::Invalid { claim } => text(
                    Msg("upstream-claim-invalid"),
                    &[("claim", claim), ("max", &MAX_SUBJECT_LEN.to_string())],
                ),
            };
            text(Msg("upstream-no-subject"), &[("what", &what)])
        }
        UpstreamRefusal::UserinfoMismatch => i18n::t("upstream-userinfo-mismatch"),
        UpstreamRefusal::NotLinked => i18n::t("upstream-not-linked"),
        UpstreamRefusal::UnverifiedEmail => i18n::t("upstream-unverified-email"),
        UpstreamRefusal::NoEmailMatch => i18n::t("upstream-no-email-match"),
        UpstreamRefusal::AmbiguousEmail => i18n::t("upstream-ambiguous-email"),
        UpstreamRefusal::Disabled => i18n::t("upstream-disabled"),
        UpstreamRefusal::NeedsExplicitLink => i18n::t("upstream-needs-explicit-link"),
    }
}

/// How a sign-in method (an RFC 8176 `amr` value) reads in the sessions list; `None` for values
/// that say nothing a person needs (`mfa`, `user`, `fed`).
pub fn describe_method(amr: &str) -> Option<String> {
    Some(match amr {
        "pwd" => i18n::t("method-password"),
        "otp" => i18n::t("method-totp"),
        "hwk" | "swk" => i18n::t("method-passkey"),
        "mfa" | "user" | "fed" => return None,
        other => match other.strip_prefix("upstream:") {
            Some(name) => name.to_owned(),
            None => other.to_owned(),
        },
    })
}

/// Why the service refused a change (an invalid field, a conflict, a forbidden change), as one
/// sentence in the page's language. The field's name is the form's; an invalid field's reason is
/// said in the page's language ([`invalid_reason`]), and so is a conflict's ([`conflict_reason`]).
pub fn service_refusal(e: &crate::service::ServiceError) -> String {
    use crate::service::ServiceError as E;
    match e {
        E::Invalid { field, reason, .. } => text(
            Msg("admin-refused"),
            &[("field", field), ("reason", &invalid_reason(reason))],
        ),
        E::Conflict { reason, .. } => conflict_reason(reason),
        E::Forbidden(why) => text(Msg("admin-conflict"), &[("reason", why)]),
        E::NotFound(_) => t(Msg("admin-not-found")),
        E::Internal(_) => t(UNAVAILABLE),
    }
}

/// Why a change conflicts with what is stored, as whole sentences in the page's language. A
/// reason not typed yet ([`Conflict::Other`]) says only that; its English `message` is for the
/// admin API and the CLI, never for a page.
pub fn conflict_reason(reason: &Conflict) -> String {
    match reason {
        Conflict::UsernameTaken { username } => {
            text(Msg("conflict-username-taken"), &[("username", username)])
        }
        Conflict::PasskeyTaken => t(Msg("conflict-passkey-taken")),
        Conflict::PathExists { path } => text(Msg("conflict-path-exists"), &[("path", path)]),
        Conflict::ClientExists { client_id } => text(Msg("conflict-client-exists"), &[("client", client_id)]),
        Conflict::ClientDeclared { client_id } => {
            text(Msg("conflict-client-declared"), &[("client", client_id)])
        }
        Conflict::ClientDeclaredAndStored { client_id } => text(
            Msg("conflict-client-declared-and-stored"),
            &[("client", client_id)],
        ),
        Conflict::ClientPublic { client_id } => text(Msg("conflict-client-public"), &[("client", client_id)]),
        Conflict::NoFreeUsername => t(Msg("conflict-no-free-username")),
        Conflict::UpstreamLinked { upstream, owner } => text(
            Msg("conflict-upstream-linked"),
            &[("upstream", upstream), ("owner", owner)],
        ),
        Conflict::LastAdministrator { username } => text(
            Msg("conflict-last-administrator"),
            &[("username", username), ("group", crate::domain::ADMIN_GROUP)],
        ),
        Conflict::Other => t(Msg("conflict-other")),
    }
}

/// Why an input was refused, as whole sentences in the page's language. A reason not typed yet
/// ([`Invalid::Other`]) says only that the value was refused: its English `message` is for the
/// admin API and the CLI, never for a page.
pub fn invalid_reason(reason: &Invalid) -> String {
    let n = |v: &dyn std::fmt::Display| v.to_string();
    let shown = |v: &str| v.escape_debug().to_string();
    match reason {
        Invalid::PasswordTooShort { min } => text(Msg("invalid-password-too-short"), &[("min", &n(min))]),
        Invalid::PasswordTooLong { max } => text(Msg("invalid-password-too-long"), &[("max", &n(max))]),
        Invalid::PasswordsDiffer => t(ACCOUNT_PASSWORDS_DIFFER),
        Invalid::Username { username, max } => text(
            Msg("invalid-username"),
            &[("username", &shown(username)), ("max", &n(max))],
        ),
        Invalid::Email { email } => text(Msg("invalid-email"), &[("email", &shown(email))]),
        Invalid::PersonName { max } => text(Msg("invalid-person-name"), &[("max", &n(max))]),
        Invalid::Group { group } => text(Msg("invalid-group"), &[("group", &shown(group))]),
        Invalid::ClientId { client_id } => text(Msg("invalid-client-id"), &[("client", &shown(client_id))]),
        Invalid::ClientName { max } => text(Msg("invalid-client-name"), &[("max", &n(max))]),
        Invalid::RedirectUri { error } => uri_refusal(Msg("invalid-redirect-uri"), error),
        Invalid::Scope { scope } => text(Msg("invalid-scope"), &[("scope", &shown(scope))]),
        Invalid::RequireFactors => t(Msg("invalid-require-factors")),
        Invalid::Link { error } => link_refusal(error),
        Invalid::ClientRule { rule } => t(client_rule(*rule)),
        Invalid::Outbound { refusal } => outbound_refusal(refusal),
        Invalid::UpstreamName => t(Msg("invalid-upstream-name")),
        Invalid::UpstreamSubject { max } => text(Msg("invalid-upstream-subject"), &[("max", &n(max))]),
        Invalid::InvitationLifetime { max } => text(Msg("invalid-invitation-lifetime"), &[("max", &n(max))]),
        Invalid::Request { .. } => t(Msg("invalid-request")),
        Invalid::Other => t(Msg("invalid-other")),
    }
}

/// An address that breaks a redirect URI's rule: `frame` names what it was for (a redirect URI,
/// a launch URL, an icon) and the address, then the rule as a sentence of its own.
fn uri_refusal(frame: Msg, error: &InvalidRedirectUri) -> String {
    use RedirectUriProblem as P;
    let problem = t(match error.reason {
        P::TooLong => Msg("uri-too-long"),
        P::Whitespace => Msg("uri-whitespace"),
        P::EncodedControl => Msg("uri-encoded-control"),
        P::Wildcard => Msg("uri-wildcard"),
        P::Fragment => Msg("uri-fragment"),
        P::HttpLocalhost => Msg("uri-http-localhost"),
        P::PlainHttp => Msg("uri-plain-http"),
        P::Scheme => Msg("uri-scheme"),
        P::UserInfo => Msg("uri-user-info"),
        P::NoHost => Msg("uri-no-host"),
        P::EncodedHost => Msg("uri-encoded-host"),
        P::EncodedPath => Msg("uri-encoded-path"),
        P::DotSegment => Msg("uri-dot-segment"),
        P::NotAbsolute => Msg("uri-not-absolute"),
    });
    text(frame, &[("uri", &error.uri), ("problem", &problem)])
}

/// A launch URL or an icon that cannot be registered.
fn link_refusal(error: &InvalidLink) -> String {
    match error {
        InvalidLink::LaunchUrl(e) => uri_refusal(Msg("invalid-launch-url"), e),
        InvalidLink::IconUrl(e) => uri_refusal(Msg("invalid-icon-url"), e),
        InvalidLink::IconTooLong { len } => text(
            Msg("invalid-icon-too-long"),
            &[("max", &MAX_ICON_LEN.to_string()), ("len", &len.to_string())],
        ),
        InvalidLink::IconNotBase64 => t(Msg("invalid-icon-not-base64")),
        InvalidLink::IconNotPng => t(Msg("invalid-icon-not-png")),
        InvalidLink::IconScheme => t(Msg("invalid-icon-scheme")),
    }
}

/// A cross-field rule of a client's registration.
fn client_rule(rule: ClientRule) -> Msg {
    match rule {
        ClientRule::NoGrantType => Msg("invalid-no-grant-type"),
        ClientRule::NoRedirectUri => Msg("invalid-no-redirect-uri"),
        ClientRule::PublicClientCredentials => Msg("invalid-public-client-credentials"),
        ClientRule::PublicWithoutPkce => Msg("invalid-public-without-pkce"),
        ClientRule::HttpLocalhost => Msg("invalid-http-localhost"),
        ClientRule::HttpLaunchUrl => Msg("invalid-http-launch-url"),
        ClientRule::Group => Msg("invalid-allowed-group"),
        ClientRule::Resource => Msg("invalid-resource"),
    }
}

/// An address the server will not call.
fn outbound_refusal(refusal: &OutboundRefusal) -> String {
    match refusal {
        OutboundRefusal::NotHttp { url } => text(Msg("invalid-outbound-not-http"), &[("url", url)]),
        OutboundRefusal::Address { host, class } => {
            let class = match class {
                AddressClass::Unspecified => "unspecified",
                AddressClass::Loopback => "loopback",
                AddressClass::Private => "private",
                AddressClass::LinkLocal => "link-local",
                AddressClass::Shared => "shared",
                AddressClass::Multicast => "multicast",
                AddressClass::Reserved => "reserved",
            };
            text(
                Msg("invalid-outbound-address"),
                &[("host", host), ("class", class)],
            )
        }
        OutboundRefusal::Localhost { host } => text(Msg("invalid-outbound-localhost"), &[("host", host)]),
    }
}

/// Why a passkey use case failed, as one sentence.
pub fn passkey_error(e: &crate::service::passkeys::PasskeyError) -> String {
    use crate::service::passkeys::PasskeyError as E;
    i18n::t(match e {
        E::Off => "passkey-off",
        E::NoCeremony => "passkey-no-ceremony",
        E::WrongUser => "passkey-wrong-user",
        E::Refused => "passkey-refused",
        E::Duplicate => "passkey-duplicate",
        E::InvalidName => "passkey-invalid-name",
        E::NotFound => "passkey-not-found",
        E::NotFresh => "passkey-not-fresh",
        E::LastRequiredFactor => "passkey-last-required",
        E::Throttled(_) => "too-many-attempts",
        E::Unavailable(_) => "unavailable",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every reason, with every problem a redirect URI, a link, a client rule and an
    /// outbound refusal can have.
    fn every_reason() -> Vec<Invalid> {
        use crate::domain::RedirectUriProblem as P;
        let uri = |reason| InvalidRedirectUri {
            uri: "https://a/#".into(),
            reason,
        };
        let problems = [
            P::TooLong,
            P::Whitespace,
            P::EncodedControl,
            P::Wildcard,
            P::Fragment,
            P::HttpLocalhost,
            P::PlainHttp,
            P::Scheme,
            P::UserInfo,
            P::NoHost,
            P::EncodedHost,
            P::EncodedPath,
            P::DotSegment,
            P::NotAbsolute,
        ];
        let rules = [
            ClientRule::NoGrantType,
            ClientRule::NoRedirectUri,
            ClientRule::PublicClientCredentials,
            ClientRule::PublicWithoutPkce,
            ClientRule::HttpLocalhost,
            ClientRule::HttpLaunchUrl,
            ClientRule::Group,
            ClientRule::Resource,
        ];
        let classes = [
            AddressClass::Unspecified,
            AddressClass::Loopback,
            AddressClass::Private,
            AddressClass::LinkLocal,
            AddressClass::Shared,
            AddressClass::Multicast,
            AddressClass::Reserved,
        ];
        let mut out = vec![
            Invalid::PasswordTooShort { min: 12 },
            Invalid::PasswordTooLong { max: 128 },
            Invalid::PasswordsDiffer,
            Invalid::Username {
                username: "a b".into(),
                max: 64,
            },
            Invalid::Email { email: "x".into() },
            Invalid::PersonName { max: 200 },
            Invalid::Group { group: "a b".into() },
            Invalid::ClientId {
                client_id: "a b".into(),
            },
            Invalid::ClientName { max: 200 },
            Invalid::Scope { scope: "a\"".into() },
            Invalid::RequireFactors,
            Invalid::UpstreamName,
            Invalid::UpstreamSubject { max: 255 },
            Invalid::InvitationLifetime { max: 720 },
            Invalid::Request { detail: "x".into() },
            Invalid::Other,
        ];
        for p in problems {
            out.push(Invalid::RedirectUri { error: uri(p) });
            out.push(Invalid::Link {
                error: InvalidLink::LaunchUrl(uri(p)),
            });
            out.push(Invalid::Link {
                error: InvalidLink::IconUrl(uri(p)),
            });
        }
        for error in [
            InvalidLink::IconTooLong { len: 20_000 },
            InvalidLink::IconNotBase64,
            InvalidLink::IconNotPng,
            InvalidLink::IconScheme,
        ] {
            out.push(Invalid::Link { error });
        }
        out.extend(rules.map(|rule| Invalid::ClientRule { rule }));
        let host = || "10.0.0.1".to_owned();
        out.extend(classes.map(|class| Invalid::Outbound {
            refusal: OutboundRefusal::Address { host: host(), class },
        }));
        out.push(Invalid::Outbound {
            refusal: OutboundRefusal::NotHttp {
                url: "ftp://x".into(),
            },
        });
        out.push(Invalid::Outbound {
            refusal: OutboundRefusal::Localhost {
                host: "localhost".into(),
            },
        });
        out
    }

    /// Every typed reason has its own sentence (a message missing from the catalog would read as
    /// its id, an unfilled variable as `{$name}`), and none is the service's English.
    #[test]
    fn every_reason_is_a_whole_sentence_of_the_catalog() {
        let reasons = every_reason();
        assert_eq!(reasons.len(), 16 + 14 * 3 + 4 + 8 + 7 + 2);
        for reason in &reasons {
            let said = invalid_reason(reason);
            assert!(
                !said.contains('{') && !said.starts_with("invalid-") && !said.starts_with("uri-"),
                "{reason:?}: {said}"
            );
            assert!(
                said.ends_with('.') && said.starts_with(|c: char| !c.is_lowercase()),
                "{reason:?}: {said}"
            );
            if *reason != Invalid::Other {
                assert_ne!(said, reason.to_string(), "{reason:?}");
            }
        }
        let http = |reason| InvalidRedirectUri {
            uri: "http://example.com/cb".into(),
            reason,
        };
        assert_eq!(
            invalid_reason(&Invalid::RedirectUri {
                error: http(RedirectUriProblem::PlainHttp)
            }),
            "The redirect URI “http://example.com/cb” cannot be registered. It uses plain http. \
             Only https is allowed, or http on 127.0.0.1 or [::1] for native apps."
        );
        assert_eq!(
            invalid_reason(&Invalid::Outbound {
                refusal: OutboundRefusal::Address {
                    host: "10.0.0.1".into(),
                    class: AddressClass::Private
                }
            }),
            "“10.0.0.1” is a private address. The server calls it only when its network is \
             allowed in the outbound allow_networks setting."
        );
    }

    #[test]
    fn an_invalid_field_on_an_admin_page_is_the_fields_name_and_the_translated_reason() {
        let e = crate::service::ServiceError::refused("password", Invalid::PasswordTooShort { min: 12 });
        assert_eq!(
            service_refusal(&e),
            "The field “password” was refused: The password must have at least 12 characters."
        );
    }

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
        assert_eq!(
            text(Msg("params-too-long"), &[("name", "{ $name }")]),
            "The parameter `{ $name }` is too long."
        );
    }
}
