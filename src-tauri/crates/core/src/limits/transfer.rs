//! What one streamed transfer (a large resource read or written through the
//! pod API) may cost: a floor on its rate. A company that reads a download
//! a byte at a time, or sends an upload a byte at a time, would otherwise
//! hold one of the pod's few stream turns for as long as it likes; the
//! idle time-out alone does not stop it, since a byte now and then is not
//! idle.
//!
//! The rule is [`Pace`], a pure function of the bytes moved so far and the
//! time since the transfer started (the door measures both, the time on a
//! monotonic clock so that a wall clock stepped forward or a machine waking
//! from sleep cuts nothing, and applies the verdict): after a grace period, every window must move at least the
//! floor's worth of bytes on average, else the transfer is cut. How many
//! transfers one company may hold at once is [`super::turns`].

use std::time::Duration;

/// Streamed transfers one company may hold at once (see [`super::turns`]).
pub const TRANSFERS_PER_COMPANY: usize = 2;
/// How long a transfer waits for one of the pod's stream slots before it
/// is turned away (503, to try again later).
pub const SLOT_WAIT: Duration = Duration::from_secs(20);

/// The most transfers one company may hold at once when the pod streams
/// `stream_slots` at a time: half of them (at least one), so a company at
/// its cap always leaves the other half to the others. A cap as large as
/// the slots would be no cap at all.
pub const fn max_per_company(stream_slots: usize) -> usize {
    if stream_slots < 2 {
        1
    } else {
        stream_slots / 2
    }
}

/// The slowest average rate a streamed transfer may keep: 16 KiB/s.
pub const MIN_RATE_BYTES_PER_SEC: u64 = 16 * 1024;
/// How long a transfer is judged over at a time.
pub const RATE_WINDOW: Duration = Duration::from_secs(30);
/// How long a transfer may start slowly before the floor applies (a
/// connection warming up, a vault opening the content).
pub const RATE_GRACE: Duration = Duration::from_secs(30);

/// The limits on streamed transfers of a running pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferLimits {
    /// Concurrent streamed transfers per company; one more is refused.
    pub per_company: usize,
    /// The floor, in bytes per second; 0 turns the floor off.
    pub min_rate: u64,
    /// The length of the windows the rate is judged over.
    pub window: Duration,
    /// The time before the first window is judged, on top of it.
    pub grace: Duration,
    /// How long a transfer waits for a stream slot at most.
    pub slot_wait: Duration,
}

impl Default for TransferLimits {
    fn default() -> Self {
        TransferLimits {
            per_company: TRANSFERS_PER_COMPANY,
            min_rate: MIN_RATE_BYTES_PER_SEC,
            window: RATE_WINDOW,
            grace: RATE_GRACE,
            slot_wait: SLOT_WAIT,
        }
    }
}

/// What to do with a transfer now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on; judge again, at the latest, when the transfer's elapsed time
    /// reaches `judge_by` (a door waiting for bytes waits no longer).
    Continue { judge_by: Duration },
    /// Slower than the floor: cut it.
    TooSlow,
}

/// The floor for one transfer: where its current window started (time
/// since the transfer started, bytes moved then) and when it ends.
#[derive(Debug, Clone)]
pub struct Pace {
    limits: TransferLimits,
    /// The start of the window being judged, and the bytes moved by then.
    mark: (Duration, u64),
    /// The time not held against the window (the grace, for the first).
    forgiven: Duration,
    /// When the window is judged.
    due: Duration,
}

impl Pace {
    /// The floor for a transfer starting now (elapsed time zero).
    pub fn new(limits: TransferLimits) -> Self {
        Pace {
            limits,
            mark: (Duration::ZERO, 0),
            forgiven: limits.grace,
            due: limits.grace.saturating_add(limits.window),
        }
    }

    /// Judges a transfer that has moved `bytes` in all, `elapsed` after it
    /// started. Before the current window ends, it goes on. Once it has
    /// ended, the window is judged on its whole length (however late the
    /// door asks): the bytes moved in it must reach the floor times its
    /// length (less the grace, for the first window); if they do, a new
    /// window starts now.
    pub fn judge(&mut self, bytes: u64, elapsed: Duration) -> Verdict {
        if self.limits.min_rate == 0 {
            return Verdict::Continue {
                judge_by: Duration::MAX,
            };
        }
        if elapsed < self.due {
            return Verdict::Continue { judge_by: self.due };
        }
        let (since, at) = self.mark;
        let judged = elapsed.saturating_sub(since).saturating_sub(self.forgiven);
        let needed = u128::from(self.limits.min_rate).saturating_mul(judged.as_millis()) / 1000;
        if u128::from(bytes.saturating_sub(at)) < needed {
            return Verdict::TooSlow;
        }
        self.mark = (elapsed, bytes);
        self.forgiven = Duration::ZERO;
        self.due = elapsed.saturating_add(self.limits.window);
        Verdict::Continue { judge_by: self.due }
    }

    /// The floor, in bytes per second (for messages).
    pub fn min_rate(&self) -> u64 {
        self.limits.min_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> TransferLimits {
        TransferLimits {
            per_company: 2,
            min_rate: 1000,
            window: Duration::from_secs(10),
            grace: Duration::from_secs(5),
            slot_wait: SLOT_WAIT,
        }
    }

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn nothing_is_judged_during_the_grace_and_the_first_window() {
        let mut pace = Pace::new(limits());
        assert_eq!(pace.judge(0, s(0)), Verdict::Continue { judge_by: s(15) });
        assert_eq!(pace.judge(0, s(14)), Verdict::Continue { judge_by: s(15) });
        // At its end, the first window owes the floor for 10 s, not 15.
        assert_eq!(pace.judge(9_999, s(15)), Verdict::TooSlow);
        let mut pace = Pace::new(limits());
        assert_eq!(
            pace.judge(10_000, s(15)),
            Verdict::Continue { judge_by: s(25) }
        );
    }

    #[test]
    fn every_window_after_must_keep_the_floor() {
        let mut pace = Pace::new(limits());
        assert!(matches!(
            pace.judge(10_000, s(15)),
            Verdict::Continue { .. }
        ));
        // Fast once is not credit for later: the next window owes its own.
        assert_eq!(pace.judge(19_999, s(25)), Verdict::TooSlow);
        let mut pace = Pace::new(limits());
        assert!(matches!(
            pace.judge(10_000, s(15)),
            Verdict::Continue { .. }
        ));
        assert_eq!(
            pace.judge(20_000, s(25)),
            Verdict::Continue { judge_by: s(35) }
        );
    }

    /// A byte every 29 s never idles, yet is far under the floor; so is a
    /// byte a second.
    #[test]
    fn a_trickle_is_cut_at_the_first_window_end() {
        let mut pace = Pace::new(limits());
        assert_eq!(pace.judge(1, s(29)), Verdict::TooSlow);
        let mut pace = Pace::new(limits());
        let cut = (1..100).find(|&t| pace.judge(t, s(t)) == Verdict::TooSlow);
        assert_eq!(cut, Some(15));
    }

    /// A door that asks late judges the window on its whole length.
    #[test]
    fn a_late_look_judges_the_whole_time_since_the_window_began() {
        let mut pace = Pace::new(limits());
        // 40 s after the start, 35 of them owed: 35,000 bytes at least.
        assert_eq!(pace.judge(34_999, s(40)), Verdict::TooSlow);
        let mut pace = Pace::new(limits());
        assert_eq!(
            pace.judge(35_000, s(40)),
            Verdict::Continue { judge_by: s(50) }
        );
    }

    #[test]
    fn a_company_may_hold_at_most_half_the_stream_slots() {
        assert_eq!(max_per_company(4), 2);
        assert_eq!(max_per_company(5), 2);
        assert_eq!(max_per_company(1), 1);
        assert_eq!(max_per_company(0), 1);
        assert!(TRANSFERS_PER_COMPANY <= max_per_company(4));
    }

    #[test]
    fn a_floor_of_zero_never_cuts() {
        let mut pace = Pace::new(TransferLimits {
            min_rate: 0,
            ..limits()
        });
        assert!(matches!(
            pace.judge(0, s(1_000_000)),
            Verdict::Continue { .. }
        ));
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        let mut pace = Pace::new(TransferLimits {
            min_rate: u64::MAX,
            ..limits()
        });
        assert_eq!(pace.judge(u64::MAX, Duration::MAX), Verdict::TooSlow);
        let mut pace = Pace::new(limits());
        assert!(matches!(
            pace.judge(u64::MAX, s(15)),
            Verdict::Continue { .. }
        ));
    }
}
