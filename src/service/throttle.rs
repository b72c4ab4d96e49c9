//! Throttling of credential checks: growing delays, then "retry after N seconds", never a
//! permanent lock-out.
//!
//! Three counters are kept: per account and source address together (what a guessing attacker
//! hits first), per source address, and per account from anywhere (with a much higher threshold,
//! so that an attacker elsewhere cannot lock a real user out). Each attempt is counted when it
//! starts, so parallel guesses are counted, not raced; a success clears the account's counters.
//! Memory is bounded: each map holds at most [`MAX_ENTRIES`] entries and evicts the stalest.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::domain::{Duration, Timestamp};

/// The most entries each counter map holds.
pub const MAX_ENTRIES: usize = 10_000;
/// Failures are forgotten after this much quiet.
const FORGET_AFTER: Duration = Duration::minutes(15);
/// The longest delay ever asked for.
const MAX_DELAY: Duration = Duration::minutes(5);

#[derive(Debug, Clone, Copy)]
struct Limit {
    /// Attempts allowed before delays start.
    free: u32,
}

const PAIR: Limit = Limit { free: 5 };
const ADDRESS: Limit = Limit { free: 30 };
const ACCOUNT: Limit = Limit { free: 100 };

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    blocked_until: Timestamp,
    last_seen: Timestamp,
}

#[derive(Debug)]
struct Counter<K> {
    limit: Limit,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    fn new(limit: Limit) -> Self {
        Counter {
            limit,
            entries: HashMap::new(),
        }
    }

    /// Seconds to wait before `key` may try again, if it must wait.
    fn wait(&self, key: &K, now: Timestamp) -> Option<u64> {
        self.entries
            .get(key)
            .filter(|e| e.blocked_until > now)
            .map(|e| e.blocked_until.since(now).0.max(1))
    }

    /// Counts an attempt; past the free ones, the next attempt must wait longer each time.
    fn count(&mut self, key: &K, now: Timestamp) {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
            self.evict(now);
        }
        let entry = self.entries.entry(key.clone()).or_default();
        if now.since(entry.last_seen) > FORGET_AFTER {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_seen = now;
        if entry.failures >= self.limit.free {
            let over = entry.failures - self.limit.free;
            let delay = 1u64
                .checked_shl(over.min(20))
                .unwrap_or(u64::MAX)
                .min(MAX_DELAY.0);
            entry.blocked_until = now.plus(Duration::seconds(delay));
        }
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Drops forgotten entries, then the stalest tenth if that was not enough.
    fn evict(&mut self, now: Timestamp) {
        self.entries
            .retain(|_, e| now.since(e.last_seen) <= FORGET_AFTER || e.blocked_until > now);
        if self.entries.len() >= MAX_ENTRIES {
            let mut ages: Vec<Timestamp> = self.entries.values().map(|e| e.last_seen).collect();
            ages.sort_unstable();
            let cutoff = ages.get(MAX_ENTRIES / 10).copied().unwrap_or(now);
            self.entries.retain(|_, e| e.last_seen > cutoff);
        }
    }
}

#[derive(Debug)]
struct State {
    pairs: Counter<(String, IpAddr)>,
    addresses: Counter<IpAddr>,
    accounts: Counter<String>,
}

/// The throttle for one kind of credential (passwords, client secrets, setup tokens).
#[derive(Debug)]
pub struct Throttle {
    state: Mutex<State>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            state: Mutex::new(State {
                pairs: Counter::new(PAIR),
                addresses: Counter::new(ADDRESS),
                accounts: Counter::new(ACCOUNT),
            }),
        }
    }
}

/// Must wait this many seconds (HTTP 429 with `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl Throttle {
    /// Starts an attempt for `account` (already normalised) from `ip`: refused while a delay
    /// runs, otherwise counted at once as a failure until [`Throttle::succeeded`] says otherwise.
    pub fn begin(&self, account: &str, ip: IpAddr, now: Timestamp) -> Result<(), RetryAfter> {
        let Ok(mut s) = self.state.lock() else {
            return Err(RetryAfter(1));
        };
        let pair = (account.to_owned(), ip);
        let account = account.to_owned();
        let wait = [
            s.pairs.wait(&pair, now),
            s.addresses.wait(&ip, now),
            s.accounts.wait(&account, now),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(w) = wait {
            return Err(RetryAfter(w));
        }
        s.pairs.count(&pair, now);
        s.addresses.count(&ip, now);
        s.accounts.count(&account, now);
        Ok(())
    }

    /// The attempt succeeded: the account's counters start over. The address counter keeps the
    /// attempt, so one valid account cannot launder guesses against others.
    pub fn succeeded(&self, account: &str, ip: IpAddr) {
        if let Ok(mut s) = self.state.lock() {
            s.pairs.clear(&(account.to_owned(), ip));
            s.accounts.clear(&account.to_owned());
        }
    }

    /// How many entries the maps hold, for tests of the memory bound.
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.pairs.entries.len() + s.addresses.entries.len() + s.accounts.entries.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn delays_grow_after_the_free_attempts_and_then_pass() {
        let t = Throttle::default();
        let now = Timestamp(1000);
        for _ in 0..4 {
            assert!(t.begin("alice", ip(1), now).is_ok());
        }
        assert!(t.begin("alice", ip(1), now).is_ok());
        let RetryAfter(first) = t.begin("alice", ip(1), now).unwrap_err();
        assert_eq!(first, 1);
        assert!(t.begin("alice", ip(1), now.plus(Duration::seconds(1))).is_ok());
        let RetryAfter(second) = t
            .begin("alice", ip(1), now.plus(Duration::seconds(1)))
            .unwrap_err();
        assert_eq!(second, 2);
    }

    #[test]
    fn an_attacker_elsewhere_does_not_lock_out_the_real_user() {
        let t = Throttle::default();
        let now = Timestamp(1000);
        for i in 0..20 {
            let _ = t.begin("alice", ip(66), now.plus(Duration::seconds(i * 400)));
        }
        assert!(
            t.begin("alice", ip(1), now.plus(Duration::seconds(20 * 400)))
                .is_ok()
        );
    }

    #[test]
    fn success_clears_the_accounts_counters() {
        let t = Throttle::default();
        let now = Timestamp(1000);
        for _ in 0..4 {
            t.begin("alice", ip(1), now).unwrap();
        }
        t.succeeded("alice", ip(1));
        for _ in 0..5 {
            assert!(t.begin("alice", ip(1), now).is_ok());
        }
    }

    #[test]
    fn one_address_guessing_many_accounts_is_slowed() {
        let t = Throttle::default();
        let now = Timestamp(1000);
        let refused = (0..40)
            .filter(|i| t.begin(&format!("user{i}"), ip(9), now).is_err())
            .count();
        assert!(refused > 0);
    }

    #[test]
    fn memory_stays_bounded_whatever_the_number_of_addresses() {
        let t = Throttle::default();
        for i in 0..(MAX_ENTRIES as u32 * 2) {
            let _ = t.begin(&format!("u{i}"), ip(i), Timestamp(1000 + u64::from(i)));
        }
        assert!(t.len() <= 3 * MAX_ENTRIES, "{}", t.len());
    }
}
