//! The person's answer to a pending request: a grant holding exactly what
//! was shown beside the kept items (see `sharing::consent`), or a denial;
//! each logged, and its consent receipt signed, in the same transaction
//! (and, for a company that connected by a link, its delivery queued).

use chrono::Duration;
use rusqlite::params;

use crate::audit::{self, Action, NewEntry};
use crate::clock::format_time;
use crate::sharing::consent;
use crate::sharing::grant::Grant;
use crate::sharing::receipts::{self, Decision, ReceiptEvent};
use crate::sharing::records::GrantRecord;
use crate::sharing::token;
use crate::vault::record::{self, OnConflict, StoredJson};
use crate::vault::store::Store;
use crate::{Error, Result};

use super::*;

impl Store {
    /// The person approves, as asked or narrower. Returns the grant; the
    /// company collects its token on its next poll.
    pub fn approve_request(&self, id_or_code: &str, approval: &Approval) -> Result<Grant> {
        let tx = self.write_tx()?;
        let request = self.pending_request(id_or_code)?;
        let granted = consent::narrow(&request.details, approval)?;
        let lifetime = match approval.lifetime {
            Some(l) if l > request.grant_lifetime => {
                return Err(Error::WiderThanAsked(format!(
                    "the company asked for {}; a grant may be shorter, not longer",
                    crate::clock::human_duration(request.grant_lifetime)
                )))
            }
            Some(l) if l < MIN_GRANTED_LIFETIME_SECS => {
                return Err(Error::InvalidRequest(format!(
                    "a grant lasts at least {MIN_GRANTED_LIFETIME_SECS} second"
                )))
            }
            Some(l) => l,
            None => request.grant_lifetime,
        };
        let now = self.clock.now();
        let grant_id = token::new_id("grt_")?;
        let row = GrantRecord {
            id: grant_id.clone(),
            client_id: request.client_id.clone(),
            request_id: Some(request.id.clone()),
            details: StoredJson::of(&granted)?,
            created_at: format_time(now),
            expires_at: format_time(now + Duration::seconds(lifetime)),
            revoked_at: None,
        };
        record::insert(&tx, &row, &[], OnConflict::Fail)?;
        tx.execute(
            "UPDATE access_requests SET status = 'approved', decided_at = ?2, grant_id = ?3 WHERE id = ?1",
            params![request.id, format_time(now), grant_id],
        )?;
        let mut entry = NewEntry::owner(Action::Grant);
        entry.client_id = Some(request.client_id.clone());
        entry.grant_id = Some(grant_id.clone());
        entry.reason = Some(format!(
            "granted {} for {}",
            describe_paths(&granted),
            crate::clock::human_duration(lifetime)
        ));
        audit::append_in(&tx, &format_time(now), &[entry])?;
        let event = if receipts::claims::answered_as_asked(
            &request.details,
            request.grant_lifetime,
            &granted,
            lifetime,
        ) {
            ReceiptEvent::Given
        } else {
            ReceiptEvent::GivenNarrower
        };
        let receipt = self.issue_receipt(&Decision {
            event,
            client_id: &request.client_id,
            request_id: Some(&request.id),
            grant_id: Some(&grant_id),
            at: now,
        })?;
        // A company that connected by a link is told at once (queued).
        self.queue_granted(&request.id, &grant_id, &receipt.jws)?;
        let grant = self.grant(&grant_id)?;
        tx.commit()?;
        Ok(grant)
    }

    /// The person says no.
    pub fn deny_request(&self, id_or_code: &str) -> Result<AccessRequest> {
        let tx = self.write_tx()?;
        let request = self.pending_request(id_or_code)?;
        let at = self.clock.now();
        let now = format_time(at);
        tx.execute(
            "UPDATE access_requests SET status = 'denied', decided_at = ?2 WHERE id = ?1",
            params![request.id, now],
        )?;
        let mut entry = NewEntry::owner(Action::Deny);
        entry.client_id = Some(request.client_id.clone());
        audit::append_in(&tx, &now, &[entry])?;
        let receipt = self.issue_receipt(&Decision {
            event: ReceiptEvent::Refused,
            client_id: &request.client_id,
            request_id: Some(&request.id),
            grant_id: None,
            at,
        })?;
        self.queue_denied(&request.id, &receipt.jws)?;
        let denied = self.access_request(&request.id)?;
        tx.commit()?;
        Ok(denied)
    }
}
