//! The core's limits on strangers, counted for one running pod:
//! registrations and device requests per peer per minute, the refused
//! tokens (`custodian_core::limits::refusals`), and the streamed transfers
//! each company holds (`custodian_core::limits::turns`) and the floor on
//! their rate (`custodian_core::limits::transfer`). The windows of the
//! counters are on the pod's clock; a transfer's rate is timed on tokio's
//! monotonic clock ([`PaceTimer`]), never on the wall clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use custodian_core::clock::Clock;
use custodian_core::limits::peer::Peer;
use custodian_core::limits::rate::RateLimiter;
use custodian_core::limits::refusals::Refusals;
use custodian_core::limits::transfer::{Pace, TransferLimits, Verdict};
use custodian_core::limits::turns::TransferTurns;

use crate::state::Config;

/// The core's limits on what strangers may do, counted for this pod.
pub struct Limits {
    pub registrations: RateLimiter<Peer>,
    pub device_requests: RateLimiter<Peer>,
    pub refusals: Refusals,
    /// The streamed transfers each company holds.
    pub transfers: TransferTurns,
    /// The floor every streamed transfer keeps.
    pub pace: TransferPace,
}

/// The floor on a streamed transfer's rate.
#[derive(Clone)]
pub struct TransferPace {
    limits: TransferLimits,
}

impl TransferPace {
    /// The floor's timer for one transfer starting now.
    pub fn start(&self) -> PaceTimer {
        PaceTimer {
            pace: Pace::new(self.limits),
            started: Instant::now(),
        }
    }
}

/// One transfer's [`Pace`], timed from its start on tokio's monotonic
/// clock (paused and advanced by hand in tests): the door tells it the
/// bytes moved so far.
pub struct PaceTimer {
    pace: Pace,
    started: Instant,
}

impl PaceTimer {
    /// The verdict on `bytes` moved in all by now, and the time since the
    /// transfer started (to compare with the verdict's `judge_by`).
    pub fn judge(&mut self, bytes: u64) -> (Verdict, Duration) {
        let elapsed = self.started.elapsed();
        (self.pace.judge(bytes, elapsed), elapsed)
    }

    /// The floor, in bytes per second.
    pub fn min_rate(&self) -> u64 {
        self.pace.min_rate()
    }
}

impl Limits {
    pub fn new(config: &Config, clock: Arc<dyn Clock>) -> Self {
        Limits {
            registrations: RateLimiter::per_minute(
                config.registrations_per_minute,
                Arc::clone(&clock),
            ),
            device_requests: RateLimiter::per_minute(
                config.device_requests_per_minute,
                Arc::clone(&clock),
            ),
            refusals: Refusals::new(config.refusals, clock),
            transfers: TransferTurns::new(config.transfers.per_company),
            pace: TransferPace {
                limits: config.transfers,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// The timer reads tokio's clock: paused here and moved by hand, so
    /// the floor is judged on exactly the time that passed for the
    /// runtime, whatever the wall clock does meanwhile.
    #[tokio::test(start_paused = true)]
    async fn the_timer_judges_on_the_monotonic_clock() {
        let pace = TransferPace {
            limits: TransferLimits {
                per_company: 2,
                min_rate: 1000,
                window: secs(10),
                grace: secs(5),
                slot_wait: secs(20),
            },
        };
        let mut timer = pace.start();
        assert_eq!(
            timer.judge(0),
            (Verdict::Continue { judge_by: secs(15) }, Duration::ZERO)
        );
        tokio::time::advance(secs(15)).await;
        assert_eq!(timer.judge(9_999), (Verdict::TooSlow, secs(15)));
        let mut timer = pace.start();
        tokio::time::advance(secs(15)).await;
        assert_eq!(
            timer.judge(10_000),
            (Verdict::Continue { judge_by: secs(25) }, secs(15))
        );
        assert_eq!(timer.min_rate(), 1000);
    }
}
