//! Throttling of credential checks: growing delays, then "retry after N seconds", never a
//! permanent lock-out.
//!
//! Three counters are kept: per account and source address together (what a guessing attacker
//! hits first), per source address, and per account from anywhere (with a much higher threshold,
//! so that an attacker elsewhere cannot lock a real user out). Only failures count; a success
//! clears the account's counters and leaves no trace. Attempts still being checked are counted
//! too, and at most [`Limits::in_flight`] may be unsettled per account and address at once, so a
//! burst of parallel guesses cannot race past the counter. Memory is bounded: each map holds at
//! most [`MAX_ENTRIES`] entries and evicts the stalest.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::domain::{Duration, Timestamp};

/// The most entries each counter map holds.
pub const MAX_ENTRIES: usize = 10_000;
/// The longest account name kept (client ids have at most 128 characters, usernames 64):
/// longer names are cut, so that an entry's size does not depend on what a client sends.
pub const MAX_ACCOUNT_LEN: usize = 128;
/// Failures are forgotten after this much quiet.
const FORGET_AFTER: Duration = Duration::minutes(15);
/// The longest delay ever asked for.
const MAX_DELAY: Duration = Duration::minutes(5);

/// How many failures each counter allows before delays start, and how many attempts may be
/// unsettled at once per account and address.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub pair: u32,
    pub address: u32,
    pub account: u32,
    pub in_flight: u32,
}

impl Limits {
    /// For passwords: each check costs an argon2 hash, so parallel guesses queue and must be
    /// capped while they wait.
    pub const PASSWORDS: Limits = Limits {
        pair: 5,
        address: 30,
        account: 100,
        in_flight: 5,
    };
    /// For client secrets: a check is one SHA-256, settled at once, and a busy client sends many
    /// requests in parallel.
    pub const CLIENT_SECRETS: Limits = Limits {
        pair: 10,
        address: 50,
        account: 200,
        in_flight: 1024,
    };
    /// For bearer tokens at the admin API: a guess names no account, so only the source address
    /// is counted (the account counter never blocks). A token is a signed JWT, not guessable; the
    /// delays stop a flood of bad tokens, and leave room for a script's honest mistakes.
    /// For starting an upstream sign-in, which costs a durable write: every start counts (as a
    /// failure would), per source address only, so a flood from one address (or one IPv6 /64)
    /// meets growing delays while sign-ins from elsewhere go on. A completed sign-in does not
    /// settle the count, so the allowance leaves room for an office behind one address.
    pub const UPSTREAM_STARTS: Limits = Limits {
        pair: 60,
        address: 60,
        account: u32::MAX,
        in_flight: 1024,
    };
    /// For second factors (TOTP and recovery codes, at sign-in and at enrolment): a check is cheap,
    /// but a TOTP code is only six digits, so few failures pass before the delays start.
    pub const SECOND_FACTORS: Limits = Limits {
        pair: 5,
        address: 30,
        account: 50,
        in_flight: 2,
    };
    pub const BEARER_TOKENS: Limits = Limits {
        pair: 50,
        address: 50,
        account: u32::MAX,
        in_flight: 1024,
    };
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    in_flight: u32,
    blocked_until: Timestamp,
    last_seen: Timestamp,
}

#[derive(Debug)]
struct Counter<K> {
    free: u32,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    fn new(free: u32) -> Self {
        Counter {
            free,
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

    fn in_flight(&self, key: &K) -> u32 {
        self.entries.get(key).map(|e| e.in_flight).unwrap_or(0)
    }

    fn entry(&mut self, key: &K, now: Timestamp) -> &mut Entry {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
            self.evict(now);
        }
        let entry = self.entries.entry(key.clone()).or_default();
        if now.since(entry.last_seen) > FORGET_AFTER {
            entry.failures = 0;
        }
        entry.last_seen = now;
        entry
    }

    fn start(&mut self, key: &K, now: Timestamp) {
        let e = self.entry(key, now);
        e.in_flight = e.in_flight.saturating_add(1);
    }

    /// Settles an attempt; a failure past the free ones makes the next attempt wait longer.
    fn settle(&mut self, key: &K, failed: bool, now: Timestamp) {
        let free = self.free;
        let e = self.entry(key, now);
        e.in_flight = e.in_flight.saturating_sub(1);
        if failed {
            e.failures = e.failures.saturating_add(1);
            if e.failures >= free {
                let over = e.failures - free;
                let delay = 1u64
                    .checked_shl(over.min(20))
                    .unwrap_or(u64::MAX)
                    .min(MAX_DELAY.0);
                e.blocked_until = now.plus(Duration::seconds(delay));
            }
        }
    }

    fn clear_failures(&mut self, key: &K) {
        if let Some(e) = self.entries.get_mut(key) {
            e.failures = 0;
            e.blocked_until = Timestamp(0);
        }
    }

    /// Drops forgotten idle entries, then the stalest tenth if that was not enough.
    fn evict(&mut self, now: Timestamp) {
        self.entries.retain(|_, e| {
            e.in_flight > 0 || now.since(e.last_seen) <= FORGET_AFTER || e.blocked_until > now
        });
        if self.entries.len() >= MAX_ENTRIES {
            let mut ages: Vec<Timestamp> = self.entries.values().map(|e| e.last_seen).collect();
            ages.sort_unstable();
            let cutoff = ages.get(MAX_ENTRIES / 10).copied().unwrap_or(now);
            self.entries
                .retain(|_, e| e.in_flight > 0 || e.last_seen > cutoff);
        }
    }
}

#[derive(Debug)]
struct State {
    pairs: Counter<(String, IpAddr)>,
    addresses: Counter<IpAddr>,
    accounts: Counter<String>,
}

/// The throttle for one kind of credential.
#[derive(Debug)]
pub struct Throttle {
    /// Its name in the `latchkey_throttle_refusals_total` metric.
    name: &'static str,
    limits: Limits,
    state: Mutex<State>,
}

/// Must wait this many seconds (HTTP 429 with `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// One attempt in progress. Settle it with [`Attempt::succeeded`] or [`Attempt::failed`];
/// dropped unsettled (the check itself broke), it counts as neither.
#[derive(Debug)]
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    account: String,
    ip: IpAddr,
    settled: bool,
}

impl Attempt<'_> {
    /// The credentials were right: the account's failures are forgotten.
    pub fn succeeded(mut self, now: Timestamp) {
        self.settled = true;
        self.throttle.settle(&self.account, self.ip, None, now);
    }

    /// The credentials were wrong: every counter records a failure.
    pub fn failed(mut self, now: Timestamp) {
        self.settled = true;
        self.throttle.settle(&self.account, self.ip, Some(true), now);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle
                .settle(&self.account, self.ip, Some(false), self.throttle.last_seen());
        }
    }
}

impl Throttle {
    /// A throttle called `name` (a metric label: `password`, `secret`, ...) under `limits`.
    pub fn new(name: &'static str, limits: Limits) -> Throttle {
        Throttle {
            name,
            limits,
            state: Mutex::new(State {
                pairs: Counter::new(limits.pair),
                addresses: Counter::new(limits.address),
                accounts: Counter::new(limits.account),
            }),
        }
    }

    /// Starts an attempt for `account` (already normalised) from `ip`, or says how long to wait.
    pub fn begin(&self, account: &str, ip: IpAddr, now: Timestamp) -> Result<Attempt<'_>, RetryAfter> {
        let Ok(mut s) = self.state.lock() else {
            return Err(RetryAfter(1));
        };
        let account = account
            .char_indices()
            .nth(MAX_ACCOUNT_LEN)
            .map_or(account, |(end, _)| &account[..end]);
        let pair = (account.to_owned(), ip);
        let acct = account.to_owned();
        let wait = [
            s.pairs.wait(&pair, now),
            s.addresses.wait(&ip, now),
            s.accounts.wait(&acct, now),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(w) = wait {
            crate::metrics::throttle_refusal(self.name);
            return Err(RetryAfter(w));
        }
        if s.pairs.in_flight(&pair) >= self.limits.in_flight {
            crate::metrics::throttle_refusal(self.name);
            return Err(RetryAfter(1));
        }
        s.pairs.start(&pair, now);
        s.addresses.start(&ip, now);
        s.accounts.start(&acct, now);
        Ok(Attempt {
            throttle: self,
            account: acct,
            ip,
            settled: false,
        })
    }

    /// `failed`: `Some(true)` failure, `None` success, `Some(false)` neither.
    fn settle(&self, account: &str, ip: IpAddr, failed: Option<bool>, now: Timestamp) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        let pair = (account.to_owned(), ip);
        let acct = account.to_owned();
        let is_failure = failed == Some(true);
        s.pairs.settle(&pair, is_failure, now);
        s.addresses.settle(&ip, is_failure, now);
        s.accounts.settle(&acct, is_failure, now);
        if failed.is_none() {
            s.pairs.clear_failures(&pair);
            s.accounts.clear_failures(&acct);
        }
    }

    /// The latest time any counter saw, for settling a dropped attempt without a clock.
    fn last_seen(&self) -> Timestamp {
        self.state
            .lock()
            .map(|s| {
                s.addresses
                    .entries
                    .values()
                    .map(|e| e.last_seen)
                    .max()
                    .unwrap_or_default()
            })
            .unwrap_or_default()
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

    fn fail(t: &Throttle, account: &str, from: IpAddr, now: Timestamp) -> Result<(), RetryAfter> {
        t.begin(account, from, now).map(|a| a.failed(now))
    }

    #[test]
    fn delays_grow_after_the_free_failures_and_then_pass() {
        let t = Throttle::new("test", Limits::PASSWORDS);
        let now = Timestamp(1000);
        for _ in 0..5 {
            assert!(fail(&t, "alice", ip(1), now).is_ok());
        }
        assert_eq!(t.begin("alice", ip(1), now).unwrap_err(), RetryAfter(1));
        let later = now.plus(Duration::seconds(1));
        assert!(fail(&t, "alice", ip(1), later).is_ok());
        assert_eq!(t.begin("alice", ip(1), later).unwrap_err(), RetryAfter(2));
    }

    #[test]
    fn successes_are_never_throttled() {
        let t = Throttle::new("test", Limits::PASSWORDS);
        for i in 0..1000 {
            let now = Timestamp(1000 + i);
            t.begin("alice", ip(1), now).unwrap().succeeded(now);
        }
    }

    #[test]
    fn parallel_guesses_are_counted_not_raced() {
        let t = Throttle::new("test", Limits::PASSWORDS);
        let now = Timestamp(1000);
        let in_flight: Vec<_> = (0..5).map(|_| t.begin("alice", ip(1), now).unwrap()).collect();
        assert!(
            t.begin("alice", ip(1), now).is_err(),
            "a sixth unsettled guess must wait"
        );
        for a in in_flight {
            a.failed(now);
        }
        assert!(
            t.begin("alice", ip(1), now).is_err(),
            "five failures: delays begin"
        );
    }

    #[test]
    fn an_attacker_elsewhere_does_not_lock_out_the_real_user() {
        let t = Throttle::new("test", Limits::PASSWORDS);
        let now = Timestamp(1000);
        for i in 0..20 {
            let _ = fail(&t, "alice", ip(66), now.plus(Duration::seconds(i * 400)));
        }
        assert!(
            t.begin("alice", ip(1), now.plus(Duration::seconds(20 * 400)))
                .is_ok()
        );
    }

    #[test]
    fn success_clears_the_accounts_counters() {
        let t = Throttle::new("test", Limits::PASSWORDS);
        let now = Timestamp(1000);
        for _ in 0..4 {
            fail(&t, "alice", ip(1), now).unwrap();
        }
        t.begin("alice", ip(1), now).unwrap().succeeded(now);
        for _ in 0..4 {
            assert!(fail(&t, "alice", ip(1), now).is_ok());
        }
    }

    #[test]
    fn one_address_guessing_many_accounts_is_slowed() {
        let t = Throttle::new("test", Limits::PASSWORDS);
        let now = Timestamp(1000);
        let refused = (0..40)
            .filter(|i| fail(&t, &format!("user{i}"), ip(9), now).is_err())
            .count();
        assert!(refused > 0);
    }

    #[test]
    fn long_account_names_are_cut_so_entries_stay_small() {
        let t = Throttle::new("test", Limits::CLIENT_SECRETS);
        let now = Timestamp(1000);
        let long = "x".repeat(8192);
        let attempt = t.begin(&long, ip(1), now).unwrap();
        assert_eq!(attempt.account.len(), MAX_ACCOUNT_LEN);
        attempt.failed(now);
        let s = t.state.lock().unwrap();
        assert!(s.accounts.entries.keys().all(|k| k.len() <= MAX_ACCOUNT_LEN));
    }

    #[test]
    fn memory_stays_bounded_whatever_the_number_of_addresses() {
        let t = Throttle::new("test", Limits::PASSWORDS);
        for i in 0..(MAX_ENTRIES as u32 * 2) {
            let _ = fail(&t, &format!("u{i}"), ip(i), Timestamp(1000 + u64::from(i)));
        }
        assert!(t.len() <= 3 * MAX_ENTRIES, "{}", t.len());
    }
}
