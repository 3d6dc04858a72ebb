//! Sending what the outbox says is due: each delivery is posted as it was
//! signed when queued, and the answer recorded by the core (which decides
//! retries and backoff). Deliveries to different companies go concurrently
//! (at most [`CONCURRENT_COMPANIES`] at once); one company's go one after
//! another in `seq` order, and a request whose delivery does not go
//! through sends nothing more of its queue that round, so every request's
//! deliveries arrive in order. Each is checked again just before it is
//! posted (still queued, its grant still active).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use custodian_core::linked::{Attempt, OutgoingDelivery};
use serde::Serialize;

use crate::join::join_all;
use crate::net::Net;
use crate::post::PostOutcome;
use crate::vault::{LinkError, VaultAccess};

/// Companies delivered to at the same time.
pub const CONCURRENT_COMPANIES: usize = 16;
/// Deliveries taken from the outbox per round.
const ROUND: usize = 256;

/// What one run of [`deliver_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliverySummary {
    /// Answered 2xx.
    pub delivered: usize,
    /// To be tried again later.
    pub retrying: usize,
    /// Stopped until the person sends them again.
    pub failed: usize,
}

impl DeliverySummary {
    /// Attempts made.
    pub fn attempted(&self) -> usize {
        self.delivered + self.retrying + self.failed
    }
}

impl From<PostOutcome> for Attempt {
    fn from(outcome: PostOutcome) -> Attempt {
        match outcome {
            PostOutcome::Delivered { status } => Attempt::Delivered { status },
            PostOutcome::Retry {
                reason,
                retry_after,
            } => Attempt::Retry {
                reason,
                retry_after,
            },
            PostOutcome::Failed { reason } => Attempt::Failed { reason },
        }
    }
}

/// Sends everything due until nothing is due now.
pub async fn deliver_due(
    net: &Net,
    vault: &impl VaultAccess,
) -> Result<DeliverySummary, LinkError> {
    deliver_due_with(net, vault, |_, _| {}).await
}

/// [`deliver_due`], telling `progress` about each attempt as it is recorded.
pub async fn deliver_due_with(
    net: &Net,
    vault: &impl VaultAccess,
    progress: impl Fn(&OutgoingDelivery, &PostOutcome),
) -> Result<DeliverySummary, LinkError> {
    let mut summary = DeliverySummary::default();
    let mut last_round: Vec<String> = Vec::new();
    loop {
        let due = vault.with_store(|store| store.due_deliveries(ROUND))?;
        let ids: Vec<String> = due.iter().map(|d| d.id.clone()).collect();
        // Every attempt moves a delivery on (delivered, rescheduled or
        // failed); the same deliveries twice means the outbox did not, so
        // stop.
        if due.is_empty() || ids == last_round {
            return Ok(summary);
        }
        last_round = ids;
        let mut by_company: BTreeMap<String, Vec<OutgoingDelivery>> = BTreeMap::new();
        for d in due {
            by_company.entry(d.client_id.clone()).or_default().push(d);
        }
        let groups: Vec<Vec<OutgoingDelivery>> = by_company.into_values().collect();
        for batch in groups.chunks(CONCURRENT_COMPANIES) {
            let results = join_all(
                batch
                    .iter()
                    .map(|group| send_in_order(net, vault, group, &progress)),
            )
            .await;
            for result in results {
                let part = result?;
                summary.delivered += part.delivered;
                summary.retrying += part.retrying;
                summary.failed += part.failed;
            }
        }
    }
}

/// One company's due deliveries, one after another in `seq` order. A
/// delivery that does not go through holds the rest of its request (the
/// core's `delivery_still_due` says so); another request's are still
/// attempted, each getting its own backoff from the core.
async fn send_in_order(
    net: &Net,
    vault: &impl VaultAccess,
    group: &[OutgoingDelivery],
    progress: &impl Fn(&OutgoingDelivery, &PostOutcome),
) -> Result<DeliverySummary, LinkError> {
    let mut summary = DeliverySummary::default();
    for delivery in group {
        // Earlier posts of this round took time: the core says whether this
        // one is still to be sent (its grant still active, nothing of its
        // request still open before it).
        if !vault.with_store(|store| store.delivery_still_due(&delivery.id))? {
            continue;
        }
        let outcome = net.post_jwt(&delivery.target, &delivery.body).await;
        match &outcome {
            PostOutcome::Delivered { .. } => summary.delivered += 1,
            PostOutcome::Retry { .. } => summary.retrying += 1,
            PostOutcome::Failed { .. } => summary.failed += 1,
        }
        vault.with_store(|store| store.delivery_attempted(&delivery.id, outcome.clone().into()))?;
        progress(delivery, &outcome);
    }
    Ok(summary)
}

/// How long a courier (the app's, `custodian deliver --watch`) sleeps
/// before its next round: until `next` is due (`Store::next_delivery_at`;
/// a time past is no wait), and never longer than `at_most`, so writes made
/// meanwhile by another process are noticed.
pub fn wait_until(next: Option<DateTime<Utc>>, now: DateTime<Utc>, at_most: Duration) -> Duration {
    match next {
        Some(at) => (at - now).to_std().unwrap_or(Duration::ZERO).min(at_most),
        None => at_most,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_courier_waits_until_due_and_never_longer_than_its_look() {
        let now = Utc::now();
        let look = Duration::from_secs(5);
        let wait = |secs| wait_until(Some(now + chrono::Duration::seconds(secs)), now, look);
        assert_eq!(wait(-3), Duration::ZERO, "past due: now");
        assert_eq!(wait(2), Duration::from_secs(2));
        assert_eq!(wait(3600), look);
        assert_eq!(wait_until(None, now, look), look, "nothing queued");
    }
}
