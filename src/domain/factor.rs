//! Second factors, invitations and sign-in ceremonies as the store keeps them: passkeys, a TOTP
//! seed, recovery codes, one-time invitations, and the short-lived, single-use ceremony records
//! (a WebAuthn challenge, a sign-in waiting for its second factor, a TOTP enrolment).

use serde::{Deserialize, Serialize};

use super::{Subject, Timestamp};

/// A registered passkey (a WebAuthn credential) of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRecord {
    pub subject: Subject,
    /// The credential id, base64url without padding: unique across all users.
    pub credential_id: String,
    /// The name the user gave it ("Phone", "YubiKey").
    pub name: String,
    /// The credential as the WebAuthn library serialises it (JSON): public key, signature
    /// counter, backup flags. Opaque to everything but the passkey use cases.
    pub credential: String,
    /// Whether the authenticator may back the credential up (a synced passkey).
    pub backup_eligible: bool,
    /// Whether it was backed up at its last use.
    pub backup_state: bool,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A user's confirmed TOTP factor (RFC 6238).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpRecord {
    pub subject: Subject,
    /// The seed, sealed by the owner of the TOTP use cases; never shown again after enrolment
    /// and never logged.
    pub seed: String,
    pub created_at: Timestamp,
    /// The last time step a code was accepted for: a code for this step or an earlier one is a
    /// replay and refused.
    pub last_step: u64,
}

/// A user's unused recovery codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodesRecord {
    pub subject: Subject,
    /// Digests of the codes not yet used; a code is removed when it is used.
    pub digests: Vec<String>,
    pub created_at: Timestamp,
}

/// What a ceremony record is for; a record is taken (read and deleted) only by its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeremonyKind {
    /// A passkey being registered from the account page or an invitation.
    PasskeyRegistration,
    /// A passkey sign-in (passkey first, or as a second factor).
    PasskeyAuthentication,
    /// A sign-in whose first factor succeeded and that waits for its second.
    SecondFactor,
    /// A TOTP seed shown to the user and not yet confirmed by a correct code.
    TotpEnrolment,
}

/// A short-lived, single-use record of a ceremony in progress, stored under the digest of a
/// random value the browser holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonyRecord {
    pub kind: CeremonyKind,
    /// The user the ceremony is for, when it is known (not for a passkey-first sign-in).
    pub subject: Option<Subject>,
    /// The ceremony's own state, as its use case serialises it (JSON).
    pub state: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A one-time invitation to an account an administrator created, stored under its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The invited user (created with the invitation, without a password).
    pub subject: Subject,
    /// Who created it (a username or `cli`).
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}
