//! Counting turns per key in fixed windows of time: the rate limiter the
//! pod uses for strangers' registrations and device requests, per peer
//! (refused tokens are counted by `refusals`). Time comes from the
//! injectable clock, so windows are tested without sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;

/// Registrations (`/oauth/register`) one peer may make per minute.
pub const REGISTRATIONS_PER_MINUTE: u32 = 20;
/// Device requests (`/oauth/device_authorization`) one peer may make per minute.
pub const DEVICE_REQUESTS_PER_MINUTE: u32 = 60;
/// Most keys remembered at once. Past this, after forgetting the windows
/// that have ended, a new key is refused: a stranger with very many
/// addresses cannot make the limiter grow without bound.
pub const MAX_KEYS: usize = 10_000;

/// One key's window: when it started and how many turns were taken in it.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: DateTime<Utc>,
    count: u32,
}

/// A fixed-window rate limiter: `limit` turns per key per `window`.
pub struct RateLimiter<K> {
    limit: u32,
    window: Duration,
    clock: Arc<dyn Clock>,
    windows: Mutex<HashMap<K, Window>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `limit` turns per key per minute.
    pub fn per_minute(limit: u32, clock: Arc<dyn Clock>) -> Self {
        RateLimiter {
            limit,
            window: Duration::minutes(1),
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a turn for `key`: true when it is within the limit. A refused
    /// turn is not counted.
    pub fn take(&self, key: &K) -> bool {
        let now = self.clock.now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = current(&mut map, key, now, self.window) else {
            return false;
        };
        if w.count >= self.limit {
            return false;
        }
        w.count += 1;
        true
    }

    /// True when `key` has used up its turns in the current window.
    pub fn exhausted(&self, key: &K) -> bool {
        let now = self.clock.now();
        let map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some(w) => now < w.start + self.window && w.count >= self.limit,
            None => map.len() >= MAX_KEYS,
        }
    }

    /// Counts a turn whatever the limit; returns the turns in the window so
    /// far, this one included.
    pub fn count(&self, key: &K) -> u32 {
        let now = self.clock.now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match current(&mut map, key, now, self.window) {
            Some(w) => {
                w.count = w.count.saturating_add(1);
                w.count
            }
            None => u32::MAX,
        }
    }
}

/// The key's window as of `now` (a new one if the last has ended), or
/// `None` when the map is full of live windows.
fn current<'a, K: Hash + Eq + Clone>(
    map: &'a mut HashMap<K, Window>,
    key: &K,
    now: DateTime<Utc>,
    window: Duration,
) -> Option<&'a mut Window> {
    if !map.contains_key(key) && map.len() >= MAX_KEYS {
        map.retain(|_, w| now < w.start + window);
        if map.len() >= MAX_KEYS {
            return None;
        }
    }
    let w = map.entry(key.clone()).or_insert(Window {
        start: now,
        count: 0,
    });
    if now >= w.start + window {
        *w = Window {
            start: now,
            count: 0,
        };
    }
    Some(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn turns_run_out_within_the_minute_and_come_back_after_it() {
        let clock = ManualClock::new(Utc::now());
        let limiter = RateLimiter::per_minute(3, Arc::new(clock.clone()));
        assert!((0..3).all(|_| limiter.take(&"a")));
        assert!(!limiter.take(&"a"));
        assert!(limiter.exhausted(&"a"));
        assert!(limiter.take(&"b"), "another key has its own turns");
        clock.advance(Duration::seconds(59));
        assert!(!limiter.take(&"a"));
        clock.advance(Duration::seconds(1));
        assert!(!limiter.exhausted(&"a"));
        assert!(limiter.take(&"a"));
        assert_eq!(limiter.count(&"a"), 2);
    }

    #[test]
    fn the_limiter_holds_a_bounded_number_of_keys() {
        let clock = ManualClock::new(Utc::now());
        let limiter = RateLimiter::per_minute(1, Arc::new(clock.clone()));
        for k in 0..MAX_KEYS {
            assert!(limiter.take(&k));
        }
        assert!(!limiter.take(&MAX_KEYS), "full of live windows");
        clock.advance(Duration::minutes(1));
        assert!(limiter.take(&MAX_KEYS), "ended windows are forgotten");
        assert_eq!(limiter.windows.lock().unwrap().len(), 1);
    }
}
