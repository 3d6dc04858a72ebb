//! The core's limits on strangers, counted for one running pod:
//! registrations and device requests per peer per minute, the refused
//! tokens (`custodian_core::limits::refusals`), and the streamed transfers
//! each company holds (`custodian_core::limits::turns`) and the floor on
//! their rate (`custodian_core::limits::transfer`). The windows of the
//! counters are on the pod's clock; a transfer's rate is timed on tokio's
//! monotonic clock ([`PaceTimer`]), never on the wall clock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
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

    /// Waits on `handle` (from a blocking thread) for `next`, the transfer
    /// having moved `bytes` so far: no longer than `idle` in all, and
    /// judged against the floor before the wait and whenever a judgement
    /// falls due during it. The one loop both directions of a transfer
    /// wait in.
    pub fn wait<F: Future>(
        &mut self,
        handle: &Handle,
        bytes: u64,
        idle: Duration,
        next: F,
    ) -> Waited<F::Output> {
        let mut next = std::pin::pin!(next);
        let mut idle_left = idle;
        loop {
            let judge_in = match self.judge(bytes) {
                (Verdict::TooSlow, _) => return Waited::TooSlow(self.min_rate()),
                (Verdict::Continue { judge_by }, elapsed) => judge_by.saturating_sub(elapsed),
            };
            let wait = idle_left.min(judge_in.max(Duration::from_millis(1)));
            match handle.block_on(tokio::time::timeout(wait, next.as_mut())) {
                Ok(done) => return Waited::Done(done),
                Err(_) if wait >= idle_left => return Waited::Idle,
                Err(_) => idle_left -= wait,
            }
        }
    }
}

/// How a wait of a transfer ([`PaceTimer::wait`]) ended.
#[derive(Debug)]
pub enum Waited<T> {
    /// What it waited for came.
    Done(T),
    /// The transfer is slower than the floor (bytes per second): cut it.
    TooSlow(u64),
    /// Nothing came for the whole idle time.
    Idle,
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
