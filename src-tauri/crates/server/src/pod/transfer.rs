//! One company's share of the pod's streamed transfers, at the door: a
//! large read or write takes one of its company's turns
//! (`custodian_core::limits::turns`) before its log entry is written or its
//! body read; with none free, the answer is 429 with `Retry-After`, logged
//! as refused with the reason `too_many_transfers`. The turn travels with
//! the transfer and is given back when it ends, however it ends.

use custodian_core::audit::{NewEntry, Outcome};
use custodian_core::limits::turns::TransferTurn;
use custodian_core::pod::{self, Answer};
use custodian_core::sharing::grant::Access;
use custodian_core::PodPath;

use super::reply::Reply;
use super::Knock;
use crate::error::ApiError;
use crate::state::Pod;

/// The logged reason of a transfer refused for the company's cap.
const TOO_MANY_TRANSFERS: &str = "too_many_transfers";
/// When a company over its cap is told to try again, in seconds.
const RETRY_AFTER: u32 = 10;

/// 429 for a company already holding as many transfers as it may.
fn too_many(pod: &Pod) -> ApiError {
    ApiError::slow_down(
        format!(
            "this company already has {} large transfers under way, as many as the pod \
             allows at once; try again when one has ended",
            pod.limits.transfers.per_company()
        ),
        RETRY_AFTER,
    )
}

/// A `GET` that will stream a large resource out takes one of its
/// company's transfer turns before its log entry is written; with none
/// free, the answer becomes 429 and the entry says denied, with the reason.
/// `None` too for anything that does not stream.
pub(super) fn claim_for_read(
    pod: &Pod,
    knock: &Knock,
    result: &mut Reply,
    entry: &mut NewEntry,
) -> Option<TransferTurn> {
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
    // Every pod token is a company's; without one, the answer refuses to
    // stream (`respond` needs the turn).
    let turn = pod.limits.transfers.take(entry.client_id.as_deref()?);
    if turn.is_none() {
        entry.outcome = Outcome::Denied;
        entry.reason = Some(TOO_MANY_TRANSFERS.to_string());
        *result = Err(too_many(pod));
    }
    turn
}

/// The turn of a `PUT` or `POST` whose body will stream in, taken before a
/// byte of it is read; with none free, the refusal is logged and the
/// answer is 429.
pub(super) async fn claim_for_write(
    pod: &Pod,
    knock: &Knock,
    writer: &Access,
    path: &PodPath,
) -> Result<TransferTurn, ApiError> {
    if let Some(turn) = pod.limits.transfers.take(&writer.client_id) {
        return Ok(turn);
    }
    let entry = pod::entry(
        Some(&writer.client_id),
        &knock.method,
        path.as_str(),
        Outcome::Denied,
        Some(TOO_MANY_TRANSFERS.to_string()),
        Some(&writer.grant.id),
    );
    pod.audit.record(entry, None).await?;
    Err(too_many(pod))
}
