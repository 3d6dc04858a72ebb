//! One company's share of the pod's streamed transfers, at the door: a
//! large read or write takes one of its company's turns
//! (`custodian_core::limits::turns`) before its log entry is written or its
//! body read; with none free, the answer is 429 with `Retry-After`, logged
//! as refused with the reason `too_many_transfers`. It then takes one of
//! the pod's stream slots, waiting no longer than the transfers'
//! `slot_wait`: with none free by then, 503 with `Retry-After`, logged as
//! refused with the reason `no_stream_slot`. The core decides
//! (`TransferTurns::claim`); this door translates, before it logs. The turn
//! travels with the transfer and is given back when it ends, however it
//! ends.

use custodian_core::audit::{NewEntry, Outcome};
use custodian_core::limits::turns::{NoTurn, TransferTurn};
use custodian_core::pod::{self, Answer};
use custodian_core::sharing::grant::Access;
use custodian_core::PodPath;
use tokio::sync::OwnedSemaphorePermit;

use super::reply::Reply;
use super::Knock;
use crate::error::ApiError;
use crate::state::Pod;

/// The logged reason of a transfer refused for the company's cap.
const TOO_MANY_TRANSFERS: &str = "too_many_transfers";
/// The logged reason of a transfer that found no stream slot in time.
const NO_STREAM_SLOT: &str = "no_stream_slot";
/// When a company over its cap is told to try again, in seconds.
const RETRY_AFTER: u32 = 10;

/// The answer to a transfer that gets no turn, and the logged reason.
fn refusal(no: NoTurn) -> (ApiError, &'static str) {
    match no {
        // 429 for a company already holding as many transfers as it may.
        NoTurn::TooMany { per_company } => (
            ApiError::slow_down(
                format!(
                    "this company already has {per_company} large transfers under way, as \
                     many as the pod allows at once; try again when one has ended"
                ),
                RETRY_AFTER,
            ),
            TOO_MANY_TRANSFERS,
        ),
        // The pod's own fault, logged as such rather than as allowed.
        NoTurn::NoCompany => (ApiError::internal(), "server_error"),
    }
}

/// What a streamed transfer holds while it runs: its company's turn, and
/// one of the pod's stream slots.
pub(super) struct Streaming {
    pub(super) turn: TransferTurn,
    pub(super) slot: OwnedSemaphorePermit,
}

/// A `GET` that will stream a large resource out takes one of its
/// company's transfer turns before its log entry is written; with none
/// free, the answer becomes 429 and the entry says denied, with the reason;
/// so with 503 when no stream slot frees in time. `None` too for anything
/// that does not stream.
pub(super) async fn claim_for_read(
    pod: &Pod,
    knock: &Knock,
    result: &mut Reply,
    entry: &mut NewEntry,
) -> Option<Streaming> {
    let streams = knock.method == pod::Method::Get
        && matches!(
            result,
            Ok(Answer::Content {
                body: pod::Body::Stored { .. },
                ..
            })
        );
    if !streams {
        return None;
    }
    // Decided before the entry is logged, so that what is logged is what
    // is answered.
    let claimed = match pod.limits.transfers.claim(entry.client_id.as_deref()) {
        Ok(turn) => pod
            .stream_slot()
            .await
            .map(|slot| Streaming { turn, slot })
            .map_err(|busy| (busy, NO_STREAM_SLOT)),
        Err(no) => Err(refusal(no)),
    };
    match claimed {
        Ok(streaming) => Some(streaming),
        Err((error, reason)) => {
            entry.outcome = Outcome::Denied;
            entry.reason = Some(reason.to_string());
            *result = Err(error);
            None
        }
    }
}

/// The turn and stream slot of a `PUT` or `POST` whose body will stream
/// in, taken before a byte of it is read; with no turn free, the refusal is
/// logged and the answer is 429, with no slot in time 503.
pub(super) async fn claim_for_write(
    pod: &Pod,
    knock: &Knock,
    writer: &Access,
    path: &PodPath,
) -> Result<Streaming, ApiError> {
    let (error, reason) = match pod.limits.transfers.claim(Some(&writer.client_id)) {
        Ok(turn) => match pod.stream_slot().await {
            Ok(slot) => return Ok(Streaming { turn, slot }),
            Err(busy) => (busy, NO_STREAM_SLOT),
        },
        Err(no) => refusal(no),
    };
    let entry = pod::entry(
        Some(&writer.client_id),
        &knock.method,
        path.as_str(),
        Outcome::Denied,
        Some(reason.to_string()),
        Some(&writer.grant.id),
    );
    pod.audit.record(entry, None).await?;
    Err(error)
}
