//! Checking a receipt against this vault: its shape, its type and
//! algorithm, that this pod signed it, the signature, its claims, and that
//! the access-log entry it names is in this vault's hash chain (and the
//! chain holds up to it). Each failure is a [`ReceiptFault`] naming the
//! check.

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::claims::LogHead;
use super::{jws, ReceiptEvent, ReceiptFault, TYP};
use crate::vault::identity::PodIdentity;
use crate::vault::store::Store;
use crate::{Error, Result};

/// Where the log entry a receipt names stands in this vault's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LogHeadCheck {
    /// The entry is in the log, and the chain verifies up to it.
    InChain { seq: u64 },
    /// The retention policy removed the entry; a checkpoint entry stands
    /// for it (and the entries through `through`), so it cannot be
    /// checked one by one, only that it was there.
    RemovedByRetention { seq: u64, through: u64 },
}

/// A receipt that verified.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedReceipt {
    /// Its `jti`.
    pub id: String,
    pub event: ReceiptEvent,
    /// The company (`aud`).
    pub client_id: String,
    /// Its decoded claims.
    pub claims: serde_json::Value,
    pub log_head: LogHeadCheck,
}

/// The checks that need no database: shape, type, algorithm, key id,
/// signature, claims. Returns the id, event, company and log head.
pub(crate) fn check(
    jws_text: &str,
    identity: &PodIdentity,
) -> std::result::Result<(VerifiedParts, serde_json::Value), ReceiptFault> {
    let parts = jws::parts(jws_text)?;
    match parts.header.get("typ").and_then(|t| t.as_str()) {
        Some(TYP) => {}
        other => return Err(ReceiptFault::WrongType(other.map(str::to_string))),
    }
    match parts.header.get("alg").and_then(|a| a.as_str()) {
        Some(jws::ALG) => {}
        other => {
            return Err(ReceiptFault::WrongAlgorithm(
                other.unwrap_or("no algorithm").to_string(),
            ))
        }
    }
    let kid = parts
        .header
        .get("kid")
        .and_then(|k| k.as_str())
        .unwrap_or("none");
    if kid != identity.id {
        return Err(ReceiptFault::OtherPod {
            kid: kid.to_string(),
            ours: identity.id.clone(),
        });
    }
    jws::check_signature(jws_text, identity)?;
    let claims = parts.payload;
    let verified = check_claims(&claims, &identity.id)?;
    Ok((verified, claims))
}

/// What the claims must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedParts {
    pub id: String,
    pub event: ReceiptEvent,
    pub client_id: String,
    pub log_head: LogHead,
}

fn check_claims(
    c: &serde_json::Value,
    pod_id: &str,
) -> std::result::Result<VerifiedParts, ReceiptFault> {
    let text = |v: &serde_json::Value, name: &str| {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| ReceiptFault::BadClaims(format!("{name} is missing or not text")))
    };
    if c["iss"] != pod_id {
        return Err(ReceiptFault::BadClaims(format!(
            "the issuer (iss) is {}, not this pod",
            c["iss"]
        )));
    }
    if c["schema_version"] != super::SCHEMA_VERSION {
        return Err(ReceiptFault::BadClaims(format!(
            "the schema version is {}, not {}",
            c["schema_version"],
            super::SCHEMA_VERSION
        )));
    }
    let event_text = text(&c["event"]["type"], "event.type")?;
    let event = ReceiptEvent::from_text(&event_text)
        .ok_or_else(|| ReceiptFault::BadClaims(format!("unknown event {event_text:?}")))?;
    let seq = c["log_head"]["seq"]
        .as_u64()
        .ok_or_else(|| ReceiptFault::BadClaims("log_head.seq is missing".into()))?;
    Ok(VerifiedParts {
        id: text(&c["jti"], "jti")?,
        event,
        client_id: text(&c["aud"], "aud")?,
        log_head: LogHead {
            seq,
            hash: text(&c["log_head"]["hash"], "log_head.hash")?,
        },
    })
}

impl Store {
    /// Verifies a receipt against this vault's key and access log. The
    /// error is [`Error::ReceiptInvalid`], naming the check that failed.
    pub fn verify_receipt(&self, jws_text: &str) -> Result<VerifiedReceipt> {
        let identity = self.pod_identity()?;
        let invalid = |fault| Error::ReceiptInvalid { fault };
        let (parts, claims) = check(jws_text, &identity).map_err(invalid)?;
        let log_head = self.check_log_head(&parts.log_head).map_err(invalid)?;
        Ok(VerifiedReceipt {
            id: parts.id,
            event: parts.event,
            client_id: parts.client_id,
            claims,
            log_head,
        })
    }

    fn check_log_head(&self, head: &LogHead) -> std::result::Result<LogHeadCheck, ReceiptFault> {
        let not_in_chain = || ReceiptFault::LogHeadNotInChain {
            seq: head.seq,
            hash: head.hash.clone(),
        };
        let internal =
            |e: Error| ReceiptFault::BadClaims(format!("the log could not be read: {e}"));
        let stored: Option<String> = self
            .conn
            .query_row(
                "SELECT hash FROM audit_log WHERE seq = ?1",
                [head.seq],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| internal(e.into()))?;
        let report = self.verify_audit_log().map_err(internal)?;
        match stored {
            Some(hash) if hash == head.hash => match report.first_broken {
                Some(at) if at <= head.seq => Err(ReceiptFault::ChainBroken { at, head: head.seq }),
                _ => Ok(LogHeadCheck::InChain { seq: head.seq }),
            },
            Some(_) => Err(not_in_chain()),
            None => match report.checkpoint {
                Some(c) if head.seq <= c.through && report.first_broken.is_none() => {
                    Ok(LogHeadCheck::RemovedByRetention {
                        seq: head.seq,
                        through: c.through,
                    })
                }
                _ => Err(not_in_chain()),
            },
        }
    }
}
