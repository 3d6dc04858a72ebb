//! The company's polling with its device code (RFC 8628 §3.4–3.5):
//! pending, slow down, denied, expired, or, exactly once, its token.

use chrono::Duration;
use rusqlite::{params, OptionalExtension};

use crate::audit::{self, Action, NewEntry};
use crate::clock::{format_time, parse_time};
use crate::sharing::grant::GrantStatus;
use crate::sharing::records::RequestRecord;
use crate::sharing::token::{self, TokenHash};
use crate::vault::record::{self, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

use super::*;

impl Store {
    /// A company polls with its device code (RFC 8628 §3.4).
    pub fn poll_device_code(&self, client_id: &str, device_code: &str) -> Result<Poll> {
        let invalid = || Error::InvalidGrant("unknown, used or foreign device code".into());
        let hash: TokenHash =
            token::check(device_code, token::DEVICE_CODE_PREFIX).map_err(|_| invalid())?;
        let tx = self.write_tx()?;
        let sql = format!(
            "SELECT {} FROM access_requests WHERE device_code_hash = ?1",
            record::select_list::<RequestRecord>(None)
        );
        let row = tx
            .query_row(&sql, [hash.as_str()], RequestRecord::from_row)
            .optional()?;
        let Some(RequestRecord {
            id,
            client_id: owner,
            status,
            poll_interval: interval,
            last_polled_at: last_polled,
            grant_id,
            expires_at,
            ..
        }) = row
        else {
            return Err(invalid());
        };
        if owner != client_id {
            return Err(invalid());
        }
        let now = self.clock.now();
        let now_text = format_time(now);
        let outcome = match RequestStatus::parse(&status) {
            RequestStatus::Completed | RequestStatus::Damaged => return Err(invalid()),
            RequestStatus::Denied => Poll::Denied {
                request_id: id.clone(),
                grant_id: None,
            },
            RequestStatus::Expired => Poll::Expired,
            RequestStatus::Pending if now >= parse_time(&expires_at)? => {
                tx.execute(
                    "UPDATE access_requests SET status = 'expired' WHERE id = ?1",
                    [&id],
                )?;
                Poll::Expired
            }
            RequestStatus::Pending => {
                let too_soon = match last_polled.as_deref().map(parse_time).transpose()? {
                    Some(last) => now < last + Duration::seconds(interval),
                    None => false,
                };
                if too_soon {
                    let slower = interval + SLOW_DOWN_STEP_SECS;
                    tx.execute(
                        "UPDATE access_requests SET poll_interval = ?2, last_polled_at = ?3 WHERE id = ?1",
                        params![id, slower, now_text],
                    )?;
                    Poll::SlowDown { interval: slower }
                } else {
                    tx.execute(
                        "UPDATE access_requests SET last_polled_at = ?2 WHERE id = ?1",
                        params![id, now_text],
                    )?;
                    Poll::Pending
                }
            }
            RequestStatus::Approved => {
                let grant_id = grant_id
                    .ok_or_else(|| Error::Internal("approved request without grant".into()))?;
                let grant = self.grant(&grant_id)?;
                // Revoked or run out before the company came for its token:
                // no token is ever issued for it.
                match grant.status {
                    GrantStatus::Revoked | GrantStatus::Damaged => {
                        return Ok(Poll::Denied {
                            request_id: id,
                            grant_id: Some(grant.id),
                        })
                    }
                    GrantStatus::Expired => return Ok(Poll::Expired),
                    GrantStatus::Active => {}
                }
                let (access_token, hash) = token::generate(token::ACCESS_TOKEN_PREFIX)?;
                tx.execute(
                    "INSERT INTO tokens (hash, grant_id, client_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![hash.as_str(), grant.id, client_id, now_text, format_time(grant.expires_at)],
                )?;
                tx.execute("UPDATE access_requests SET status = 'completed', last_polled_at = ?2 WHERE id = ?1", params![id, now_text])?;
                let mut entry = NewEntry::client(client_id, Action::Token);
                entry.grant_id = Some(grant.id.clone());
                audit::append_in(&tx, &now_text, &[entry])?;
                // Rounded up: stored times have millisecond precision.
                let expires_in = ((grant.expires_at - now).num_milliseconds().max(0) + 999) / 1000;
                Poll::Issued {
                    access_token,
                    grant,
                    expires_in,
                }
            }
        };
        tx.commit()?;
        Ok(outcome)
    }
}
