//! Why the server cannot start: a defence it depends on could not be set up. Each of these was
//! once a silent fallback (a default HTTP client without the no-redirect policy and timeouts, an
//! empty dummy hash that made an unknown user answer faster than a wrong password); now the start
//! fails and says why.

/// A defence that could not be set up at start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An HTTP client with the outbound policy (checked resolver, no redirects, no proxy,
    /// timeouts) could not be built.
    #[error(
        "cannot build the HTTP client for {purpose} (no redirects, checked addresses, timeouts): {reason}"
    )]
    HttpClient { purpose: String, reason: String },
    /// The dummy password hash that unknown users are verified against could not be made.
    #[error("cannot make the dummy password hash that keeps unknown users as slow as wrong passwords: {0}")]
    DummyHash(String),
}

impl From<StartError> for super::ServiceError {
    fn from(e: StartError) -> super::ServiceError {
        super::ServiceError::Internal(e.to_string())
    }
}
