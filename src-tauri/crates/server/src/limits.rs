//! The core's limits on strangers, counted for one running pod:
//! registrations and device requests per peer per minute, the refused
//! tokens (`custodian_core::limits::refusals`), and the streamed transfers
//! each company holds (`custodian_core::limits::turns`) and the floor on
//! their rate (`custodian_core::limits::transfer`), all on one clock.

use std::sync::Arc;

use custodian_core::clock::Clock;
use custodian_core::limits::peer::Peer;
use custodian_core::limits::rate::RateLimiter;
use custodian_core::limits::refusals::Refusals;
use custodian_core::limits::transfer::{PaceTimer, TransferLimits};
use custodian_core::limits::turns::TransferTurns;

use crate::state::Config;

/// The core's limits on what strangers may do, counted for this pod.
pub struct Limits {
    pub registrations: RateLimiter<Peer>,
    pub device_requests: RateLimiter<Peer>,
    pub refusals: Refusals,
    /// The streamed transfers each company holds.
    pub transfers: TransferTurns,
    /// The floor every streamed transfer keeps, and the clock it is timed on.
    pub pace: TransferPace,
}

/// The floor on a streamed transfer's rate, timed on the pod's clock.
#[derive(Clone)]
pub struct TransferPace {
    limits: TransferLimits,
    clock: Arc<dyn Clock>,
}

impl TransferPace {
    /// The floor's timer for one transfer starting now.
    pub fn start(&self) -> PaceTimer {
        PaceTimer::start(self.limits, Arc::clone(&self.clock))
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
            refusals: Refusals::new(config.refusals, Arc::clone(&clock)),
            transfers: TransferTurns::new(config.transfers.per_company),
            pace: TransferPace {
                limits: config.transfers,
                clock,
            },
        }
    }
}
