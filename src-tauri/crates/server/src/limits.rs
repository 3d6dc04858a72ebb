//! The core's limits on strangers, counted for one running pod:
//! registrations and device requests per peer per minute, and the refused
//! tokens (`custodian_core::limits::refusals`), all on one clock.

use std::sync::Arc;

use custodian_core::clock::Clock;
use custodian_core::limits::peer::Peer;
use custodian_core::limits::rate::RateLimiter;
use custodian_core::limits::refusals::Refusals;

use crate::state::Config;

/// The core's limits on what strangers may do, counted for this pod.
pub struct Limits {
    pub registrations: RateLimiter<Peer>,
    pub device_requests: RateLimiter<Peer>,
    pub refusals: Refusals,
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
        }
    }
}
