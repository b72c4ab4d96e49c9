//! The only place that reads the wall clock. Everything else takes the time as a parameter, so
//! tests can fix it and move it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::{Duration, Timestamp};

/// A source of the current time.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The operating system's clock.
    System,
    /// A clock that stands still until a test advances it.
    Fixed(Arc<AtomicU64>),
}

impl Clock {
    /// A fixed clock showing `at`.
    pub fn fixed(at: Timestamp) -> Clock {
        Clock::Fixed(Arc::new(AtomicU64::new(at.0)))
    }

    pub fn now(&self) -> Timestamp {
        match self {
            #[allow(
                clippy::disallowed_methods,
                reason = "this is the one place that reads the clock"
            )]
            Clock::System => Timestamp(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            ),
            Clock::Fixed(t) => Timestamp(t.load(Ordering::SeqCst)),
        }
    }

    /// Moves a fixed clock forward; the system clock ignores this.
    pub fn advance(&self, by: Duration) {
        if let Clock::Fixed(t) = self {
            t.fetch_add(by.0, Ordering::SeqCst);
        }
    }
}
