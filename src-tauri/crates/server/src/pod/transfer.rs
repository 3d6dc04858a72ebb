//! One company's share of the pod's streamed transfers, at the door: a
//! large read or write takes one of its company's turns
//! (`custodian_core::limits::turns`) before its log entry is written or its
//! body read; with none free, the answer is 429 with `Retry-After`, logged
//! as refused with the reason `too_many_transfers`. The core decides
//! (`TransferTurns::claim`); this door translates, before it logs. The turn
//! travels with the transfer and is given back when it ends, however it
//! ends.

use custodian_core::audit::{NewEntry, Outcome};
use custodian_core::limits::turns::{NoTurn, TransferTurn};
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
    // Decided before the entry is logged, so that what is logged is what
    // is answered.
    match pod.limits.transfers.claim(entry.client_id.as_deref()) {
        Ok(turn) => Some(turn),
        Err(no) => {
            let (error, reason) = refusal(no);
            entry.outcome = Outcome::Denied;
            entry.reason = Some(reason.to_string());
            *result = Err(error);
            None
        }
    }
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
    let no = match pod.limits.transfers.claim(Some(&writer.client_id)) {
        Ok(turn) => return Ok(turn),
        Err(no) => no,
    };
    let (error, reason) = refusal(no);
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
