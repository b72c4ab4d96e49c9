//! Points in time and lengths of time, in whole seconds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch. Only `crate::clock` creates one from the wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The moment `d` after this one, saturating instead of overflowing.
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }

    /// Seconds from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

/// A length of time in seconds, written in configuration as `90s`, `10m`, `12h` or `30d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration(pub u64);

impl Duration {
    pub const fn seconds(s: u64) -> Duration {
        Duration(s)
    }
    pub const fn minutes(m: u64) -> Duration {
        Duration(m * 60)
    }
    pub const fn hours(h: u64) -> Duration {
        Duration(h * 3600)
    }
    pub const fn days(d: u64) -> Duration {
        Duration(d * 86_400)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s != 0 && s.is_multiple_of(86_400) {
            write!(f, "{}d", s / 86_400)
        } else if s != 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s != 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a duration such as `90s`, `10m`, `12h` or `30d`");
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (digits, unit) = text.split_at(split);
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let factor = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        n.checked_mul(factor).map(Duration).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_print_back() {
        for (text, secs) in [("90s", 90), ("10m", 600), ("12h", 43_200), ("30d", 2_592_000)] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.0, secs);
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn durations_without_unit_or_with_junk_are_refused() {
        for text in [
            "",
            "10",
            "m",
            "10 m",
            "-5s",
            "1.5h",
            "10w",
            "99999999999999999999d",
        ] {
            assert!(text.parse::<Duration>().is_err(), "{text}");
        }
    }
}
