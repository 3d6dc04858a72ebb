//! Issuing receipts: the hook every decision calls inside its own write
//! transaction, after its access-log entry (so the receipt names the log's
//! head including that entry), and the explicit step for expiry, which
//! happens with no event: [`Store::record_expirations`].

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::claims::{self, AskFacts, Controller, Facts, GrantFacts, LogHead};
use super::{jws, Receipt, ReceiptEvent, TYP};
use crate::audit::{self, Action, NewEntry};
use crate::clock::{format_time, parse_time};
use crate::sharing::records::ReceiptRecord;
use crate::sharing::scope::PodAccess;
use crate::sharing::token;
use crate::vault::identity::load_pod_key;
use crate::vault::record::{self, OnConflict};
use crate::vault::store::Store;
use crate::{Error, Result};

/// What a decision hands the hook.
pub(crate) struct Decision<'a> {
    pub event: ReceiptEvent,
    pub client_id: &'a str,
    pub request_id: Option<&'a str>,
    pub grant_id: Option<&'a str>,
    /// When it took effect.
    pub at: DateTime<Utc>,
}

/// A row's stored details, or none when they are unreadable (a damaged
/// row): the decision still gets its receipt, naming the grant or request
/// with nothing under it, so one bad row never blocks a revocation, an
/// expiry or the pod's start.
fn readable_details(text: &str, what: &str, id: &str) -> Vec<PodAccess> {
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::warn!(%what, %id, error = %e, "receipt for a row whose details are unreadable");
        Vec::new()
    })
}

impl Store {
    /// Signs and stores the receipt of `decision`. Call inside the
    /// decision's write transaction, after its log entry.
    pub(crate) fn issue_receipt(&self, decision: &Decision<'_>) -> Result<Receipt> {
        let conn = &self.conn;
        let controller = conn
            .prepare_cached(
                "SELECT c.name, c.uri, lc.host FROM clients c
                 LEFT JOIN linked_clients lc ON lc.client_id = c.id WHERE c.id = ?1",
            )?
            .query_row([decision.client_id], |r| {
                Ok(Controller {
                    client_id: decision.client_id.to_string(),
                    name: crate::sharing::client::shown_name(&r.get::<_, String>(0)?),
                    uri: r.get(1)?,
                    verified_domain: r.get(2)?,
                })
            })
            .optional()?
            .ok_or_else(|| Error::UnknownClient {
                id: decision.client_id.to_string(),
            })?;
        // The request the decision answers, or for the end of a grant the
        // request it came from: its hash ties every receipt to the ask.
        let request_id: Option<String> = match (decision.request_id, decision.grant_id) {
            (Some(id), _) => Some(id.to_string()),
            (None, Some(grant)) => conn
                .prepare_cached("SELECT request_id FROM grants WHERE id = ?1")?
                .query_row([grant], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten(),
            (None, None) => None,
        };
        let ask = match request_id.as_deref() {
            None => None,
            Some(id) => conn
                .prepare_cached(
                    "SELECT details, grant_lifetime FROM access_requests WHERE id = ?1",
                )?
                .query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .optional()?
                .map(|(text, lifetime)| AskFacts {
                    id: id.to_string(),
                    details: readable_details(&text, "request", id),
                    lifetime_secs: lifetime,
                    details_sha256: hex::encode(Sha256::digest(text.as_bytes())),
                }),
        };
        let grant = match decision.grant_id {
            None => None,
            Some(id) => {
                let (text, from, until): (String, String, String) = conn
                    .prepare_cached(
                        "SELECT details, created_at, expires_at FROM grants WHERE id = ?1",
                    )?
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                Some(GrantFacts {
                    id: id.to_string(),
                    details: readable_details(&text, "grant", id),
                    valid_from: parse_time(&from).unwrap_or(decision.at),
                    valid_until: parse_time(&until).unwrap_or(decision.at),
                })
            }
        };
        let (seq, hash): (u64, String) = conn
            .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or_else(|| Error::Internal("a decision without its log entry".into()))?;
        let key = load_pod_key(conn)?;
        let pod_id = key.identity().id;
        let issued_at = self.clock.now();
        let facts = Facts {
            receipt_id: token::new_id("rcp_")?,
            event: decision.event,
            at: decision.at,
            issued_at,
            pod_id: pod_id.clone(),
            controller,
            ask,
            grant,
            log_head: LogHead { seq, hash },
        };
        let payload = claims::claims(&facts).to_string();
        let header = serde_json::json!({ "alg": jws::ALG, "kid": pod_id, "typ": TYP });
        let row = ReceiptRecord {
            id: facts.receipt_id.clone(),
            client_id: decision.client_id.to_string(),
            grant_id: decision.grant_id.map(str::to_string),
            request_id: decision.request_id.map(str::to_string),
            event: decision.event.as_str().to_string(),
            issued_at: format_time(issued_at),
            jws: jws::sign(&header, payload.as_bytes(), &key),
        };
        record::insert(conn, &row, &[], OnConflict::Fail)?;
        Receipt::from_record(row)
    }

    /// Grants past their end with no receipt that ended them, as of now.
    fn due_expirations(&self, now: &str) -> Result<Vec<(String, String, String)>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT g.id, g.client_id, g.expires_at FROM grants g
                 WHERE g.expires_at <= ?1
                   AND (g.revoked_at IS NULL OR g.revoked_at > g.expires_at)
                   AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.grant_id = g.id
                       AND r.event IN ('expired', 'withdrawn', 'ended', 'cut_off'))
                 ORDER BY g.expires_at, g.id",
            )?
            .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Inside a write transaction: logs and signs the expiry of every
    /// grant past its end that has no receipt ending it.
    pub(crate) fn expire_due_in(&self, tx: &rusqlite::Connection) -> Result<Vec<Receipt>> {
        let now = format_time(self.clock.now());
        let mut out = Vec::new();
        for (grant_id, client_id, expires_at) in self.due_expirations(&now)? {
            let mut entry = NewEntry::owner(Action::Expire);
            entry.client_id = Some(client_id.clone());
            entry.grant_id = Some(grant_id.clone());
            entry.reason = Some(format!("the grant ended at {expires_at}"));
            audit::append_in(tx, &now, &[entry])?;
            let at = parse_time(&expires_at)?;
            let receipt = self.issue_receipt(&Decision {
                event: ReceiptEvent::Expired,
                client_id: &client_id,
                request_id: None,
                grant_id: Some(&grant_id),
                at,
            })?;
            // A linked company is told its grant ended (queued).
            self.queue_ended(&grant_id, "expired", at, &receipt.jws)?;
            out.push(receipt);
        }
        Ok(out)
    }

    /// Expiry happens with no event: this step notices it. For every grant
    /// past its end without a receipt that ended it (expired, withdrawn,
    /// ended, cut off), it appends an `expire` log entry and signs an
    /// `Expired` receipt, in one transaction. Idempotent: a second call
    /// finds nothing and takes no write lock. Returns the new receipts.
    pub fn record_expirations(&self) -> Result<Vec<Receipt>> {
        if self
            .due_expirations(&format_time(self.clock.now()))?
            .is_empty()
        {
            return Ok(Vec::new());
        }
        let tx = self.write_tx()?;
        let out = self.expire_due_in(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The end of one grant (withdrawn, ended, cut off), after its log
    /// entry. The receipt names the grant, not the request: a request's
    /// receipts are its answer's only.
    pub(crate) fn receipt_ending(
        &self,
        event: ReceiptEvent,
        client_id: &str,
        grant_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Receipt> {
        self.issue_receipt(&Decision {
            event,
            client_id,
            request_id: None,
            grant_id: Some(grant_id),
            at,
        })
    }
}

/// The token's grant, if any (for RFC 7009's receipt).
pub(crate) fn grant_of_token(conn: &rusqlite::Connection, hash: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT grant_id FROM tokens WHERE hash = ?1")?
        .query_row(params![hash], |r| r.get(0))
        .optional()?)
}

/// Whether a receipt already ended the grant (expired, withdrawn, ended by
/// the company, cut off): a grant ends once, with one receipt.
pub(crate) fn grant_has_ended(conn: &rusqlite::Connection, grant_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM receipts WHERE grant_id = ?1
               AND event IN ('expired', 'withdrawn', 'ended', 'cut_off'))",
        )?
        .query_row(params![grant_id], |r| r.get(0))?)
}
