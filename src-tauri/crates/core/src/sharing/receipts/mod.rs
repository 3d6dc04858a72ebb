//! Consent receipts: for every decision about a company's access, a record
//! signed by the pod that the company, the person and an auditor can check
//! with any JOSE library, kept in the vault (`receipts` table) and carried
//! by the bundle.
//!
//! A receipt is a compact JWS (`alg` EdDSA, `kid` the pod id, `typ`
//! [`TYP`]) over claims that follow the consent-record structure of
//! ISO/IEC TS 27560 as the W3C Data Privacy Vocabulary's `dpv-27560`
//! profile expresses it, and the Kantara Consent Receipt v1.1 (see
//! [`claims`]). Each is issued in the same write transaction as the
//! decision and its access-log entry, and names the log's head at that
//! moment, so it ties into the tamper-evident chain.
//!
//! Here: the types and the stored receipts; [`claims`] (pure: what a
//! receipt says, per event), `jws` (pure: signing and parsing), `issue`
//! (the hooks every decision calls, and [`Store::record_expirations`]),
//! `verify` ([`Store::verify_receipt`]), `company` (what a company may
//! fetch of its own, [`Store::company_receipts`], and its log entry).

#[cfg(feature = "test-support")]
mod bench;
pub mod claims;
mod company;
mod issue;
pub(crate) mod jws;
mod verify;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::clock::parse_time;
use crate::sharing::records::ReceiptRecord;
use crate::vault::record::{self, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

pub use company::RECEIPTS_PATH;
pub(crate) use issue::{grant_has_ended, grant_of_token, Decision};
pub use verify::{LogHeadCheck, VerifiedReceipt};

/// The JWS `typ` of every receipt (RFC 8725 §3.11 explicit typing).
pub const TYP: &str = "consent-receipt+jwt";

/// The claims' schema, named in every receipt (`schema_version`).
pub const SCHEMA_VERSION: &str = "custodian-consent-receipt/1";

/// What a receipt records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptEvent {
    /// A request answered as asked.
    Given,
    /// A request answered narrower than asked.
    GivenNarrower,
    /// A request denied.
    Refused,
    /// A grant revoked by the person.
    Withdrawn,
    /// A grant ended by the company (it gave its token back, RFC 7009).
    Ended,
    /// A grant that reached its end.
    Expired,
    /// The person cut the company off (one receipt per grant it ended, or
    /// one for the company when it held none).
    CutOff,
}

impl ReceiptEvent {
    /// Every event, each once.
    pub const ALL: [ReceiptEvent; 7] = [
        ReceiptEvent::Given,
        ReceiptEvent::GivenNarrower,
        ReceiptEvent::Refused,
        ReceiptEvent::Withdrawn,
        ReceiptEvent::Ended,
        ReceiptEvent::Expired,
        ReceiptEvent::CutOff,
    ];

    /// The stored (and claimed) text.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptEvent::Given => "given",
            ReceiptEvent::GivenNarrower => "given_narrower",
            ReceiptEvent::Refused => "refused",
            ReceiptEvent::Withdrawn => "withdrawn",
            ReceiptEvent::Ended => "ended",
            ReceiptEvent::Expired => "expired",
            ReceiptEvent::CutOff => "cut_off",
        }
    }

    /// The event a stored text stands for.
    pub fn from_text(text: &str) -> Option<ReceiptEvent> {
        ReceiptEvent::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// The consent's state after the event: given, refused, withdrawn or
    /// expired (ISO/IEC TS 27560's state; a grant ended by the company or
    /// by cutting it off is withdrawn).
    pub fn state(self) -> &'static str {
        match self {
            ReceiptEvent::Given | ReceiptEvent::GivenNarrower => "given",
            ReceiptEvent::Refused => "refused",
            ReceiptEvent::Withdrawn | ReceiptEvent::Ended | ReceiptEvent::CutOff => "withdrawn",
            ReceiptEvent::Expired => "expired",
        }
    }

    /// The DPV consent status term (`dpv:ConsentStatus` subclasses). A
    /// grant ended by the company is `ConsentRevoked` ("by an entity other
    /// than the data subject").
    pub fn dpv_status(self) -> &'static str {
        match self {
            ReceiptEvent::Given | ReceiptEvent::GivenNarrower => "dpv:ConsentGiven",
            ReceiptEvent::Refused => "dpv:ConsentRefused",
            ReceiptEvent::Withdrawn | ReceiptEvent::CutOff => "dpv:ConsentWithdrawn",
            ReceiptEvent::Ended => "dpv:ConsentRevoked",
            ReceiptEvent::Expired => "dpv:ConsentExpired",
        }
    }
}

impl std::fmt::Display for ReceiptEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// `rcp_…`, also the JWT's `jti`.
    pub id: String,
    pub client_id: String,
    pub grant_id: Option<String>,
    pub request_id: Option<String>,
    pub event: ReceiptEvent,
    pub issued_at: DateTime<Utc>,
    /// The signed receipt, a compact JWS.
    pub jws: String,
}

impl Receipt {
    fn from_record(r: ReceiptRecord) -> Result<Receipt> {
        Ok(Receipt {
            event: ReceiptEvent::from_text(&r.event).ok_or_else(|| {
                Error::Internal(format!(
                    "receipt {} has the unknown event {:?}",
                    r.id, r.event
                ))
            })?,
            issued_at: parse_time(&r.issued_at)?,
            id: r.id,
            client_id: r.client_id,
            grant_id: r.grant_id,
            request_id: r.request_id,
            jws: r.jws,
        })
    }
}

/// What went wrong with a receipt that does not verify: each check names
/// itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptFault {
    /// Not three base64url parts with a JSON header.
    NotCompactJws(String),
    /// The header's `typ` is not [`TYP`].
    WrongType(Option<String>),
    /// The header's `alg` is not EdDSA.
    WrongAlgorithm(String),
    /// Signed by a key that is not this pod's.
    OtherPod { kid: String, ours: String },
    /// The signature does not match the header and claims.
    BadSignature,
    /// The claims are not a receipt's.
    BadClaims(String),
    /// The access-log entry it names is not in this vault's log.
    LogHeadNotInChain { seq: u64, hash: String },
    /// The log's chain is broken at or before the entry it names.
    ChainBroken { at: u64, head: u64 },
}

impl std::fmt::Display for ReceiptFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiptFault::NotCompactJws(why) => write!(f, "it is not a compact JWS: {why}"),
            ReceiptFault::WrongType(Some(t)) => {
                write!(f, "its type is {t:?}, not a consent receipt ({TYP})")
            }
            ReceiptFault::WrongType(None) => {
                write!(f, "its header names no type; a consent receipt's is {TYP}")
            }
            ReceiptFault::WrongAlgorithm(alg) => {
                write!(f, "it is signed with {alg}, not EdDSA")
            }
            ReceiptFault::OtherPod { kid, ours } => write!(
                f,
                "signed by another pod (kid {kid}), not by this one ({ours})"
            ),
            ReceiptFault::BadSignature => f.write_str(
                "the signature does not match this pod's key: the receipt was changed after it was signed",
            ),
            ReceiptFault::BadClaims(why) => write!(f, "its claims are not a receipt's: {why}"),
            ReceiptFault::LogHeadNotInChain { seq, hash } => write!(
                f,
                "the access-log entry it names (#{seq}, {hash}) is not in this vault's log"
            ),
            ReceiptFault::ChainBroken { at, head } => write!(
                f,
                "the access log's chain is broken at entry #{at}, at or before the entry the receipt names (#{head})"
            ),
        }
    }
}

/// A receipt's claims, decoded for display: nothing is checked (see
/// [`Store::verify_receipt`]).
pub fn decode(jws: &str) -> Result<serde_json::Value> {
    jws::parts(jws)
        .map(|p| p.payload)
        .map_err(|fault| Error::ReceiptInvalid { fault })
}

/// The receipt's JWS header, decoded for display, unchecked.
pub fn decode_header(jws: &str) -> Result<serde_json::Value> {
    jws::parts(jws)
        .map(|p| serde_json::Value::Object(p.header))
        .map_err(|fault| Error::ReceiptInvalid { fault })
}

impl Store {
    fn receipts_where(&self, condition: &str, value: Option<&str>) -> Result<Vec<Receipt>> {
        let sql = format!(
            "SELECT {} FROM receipts WHERE {condition} ORDER BY issued_at DESC, rowid DESC",
            record::select_list::<ReceiptRecord>(None)
        );
        let rows: Vec<ReceiptRecord> = self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![value], ReceiptRecord::from_row)?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter().map(Receipt::from_record).collect()
    }

    /// Every receipt, or a company's, newest first.
    pub fn receipts(&self, client_id: Option<&str>) -> Result<Vec<Receipt>> {
        self.receipts_where("(?1 IS NULL OR client_id = ?1)", client_id)
    }

    /// One receipt by id.
    pub fn receipt(&self, id: &str) -> Result<Receipt> {
        let sql = format!(
            "SELECT {} FROM receipts WHERE id = ?1",
            record::select_list::<ReceiptRecord>(None)
        );
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], ReceiptRecord::from_row)
            .optional()?;
        Receipt::from_record(row.ok_or_else(|| Error::UnknownReceipt { id: id.to_string() })?)
    }

    /// A grant's receipts (given, then how it ended), newest first.
    pub fn receipts_for_grant(&self, grant_id: &str) -> Result<Vec<Receipt>> {
        self.receipts_where("grant_id = ?1", Some(grant_id))
    }

    /// The receipts of a request's answer (given or refused), newest first.
    pub fn receipts_for_request(&self, request_id: &str) -> Result<Vec<Receipt>> {
        self.receipts_where("request_id = ?1", Some(request_id))
    }

    /// How many receipts the vault holds.
    pub fn receipt_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM receipts", [], |r| r.get::<_, i64>(0))?
            .max(0) as u64)
    }
}

#[cfg(test)]
mod tests;
