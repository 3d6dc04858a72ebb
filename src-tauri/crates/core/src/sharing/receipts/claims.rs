//! What a consent receipt says: its claims, built by pure functions from
//! the facts of one decision, one function per event.
//!
//! Sources for the structure and the names:
//! - ISO/IEC TS 27560:2023 (consent record information structure), as the
//!   W3C Data Privacy Vocabulary's `dpv-27560` profile and its guide
//!   (<https://w3id.org/dpv/guides/consent-27560>) express it: a record's
//!   schema version and identifier, the data subject, the controller,
//!   the processing (purpose, personal data, its duration), the consent's
//!   state (`dpv:ConsentGiven`, `ConsentRefused`, `ConsentWithdrawn`,
//!   `ConsentRevoked`, `ConsentExpired`) and the event that set it;
//! - the Kantara Initiative Consent Receipt Specification v1.1.0
//!   (`KI-CR-v1.1.0`), which it grew from: `consentReceiptID`,
//!   `consentTimestamp`, `collectionMethod`, `piiPrincipalId`,
//!   `piiControllers`, `services`/`purposes` with `piiCategory`,
//!   `sensitive`/`spiCat` and `termination`;
//! - RFC 7519's registered claims where they fit: `iss` and `sub` the pod
//!   id (the data subject's agent), `aud` the company's client id, `iat`,
//!   `jti` the receipt id.
//!
//! Purposes are the company's own words, as it wrote them; the paths,
//! actions and categories are the grant's (or, for a refusal, the ask's).
//! When the answer differs from the ask, `asked` holds the ask beside it.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{ReceiptEvent, SCHEMA_VERSION};
use crate::clock::format_time;
use crate::data::category::Category;
use crate::sharing::scope::PodAccess;

/// How a company that registered is identified: it named itself.
pub const CONTROLLER_IDENTIFIED_BY: &str = "self-registered (RFC 7591), unverified";

/// How a company that connected by a link is identified: its domain,
/// verified by serving its metadata, keys and signed request there.
pub fn linked_identified_by(domain: &str) -> String {
    format!(
        "client ID metadata document and signed request object (RFC 9101) served over HTTPS at {domain}: domain {domain} verified"
    )
}

/// How the person answers and withdraws: in their own vault.
pub const HOW_TO_WITHDRAW: &str = "The person revokes the grant in their Custodian vault at any time (the company's access ends on its next request); the company may end it itself by revoking its token (RFC 7009).";

/// How the decision was taken.
pub const COLLECTION_METHOD: &str =
    "the person's explicit answer in their own Custodian vault to the company's OAuth 2.0 device authorization request (RFC 8628) with RFC 9396 authorization details";

/// How the decision was taken, for a company that connected by a link.
pub const LINKED_COLLECTION_METHOD: &str =
    "the person's explicit answer in their own Custodian vault to the company's signed request object (RFC 9101) with RFC 9396 authorization details, opened from the company's link";

/// The company, as the pod knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    pub client_id: String,
    pub name: String,
    pub uri: Option<String>,
    /// The verified domain of a company that connected by a link; `None`
    /// for a self-registered (device-flow) company.
    pub verified_domain: Option<String>,
}

/// The request a decision answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskFacts {
    pub id: String,
    /// What the company asked for.
    pub details: Vec<PodAccess>,
    /// The grant lifetime it asked for, in seconds.
    pub lifetime_secs: i64,
    /// SHA-256 (hex) of the request's authorization details as stored.
    pub details_sha256: String,
}

/// The grant a decision made or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantFacts {
    pub id: String,
    pub details: Vec<PodAccess>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

/// The access log's last entry when the receipt was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    pub seq: u64,
    pub hash: String,
}

/// Everything a receipt states about one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub receipt_id: String,
    pub event: ReceiptEvent,
    /// When the decision took effect (for an expiry: the grant's end).
    pub at: DateTime<Utc>,
    /// When the receipt was signed.
    pub issued_at: DateTime<Utc>,
    pub pod_id: String,
    pub controller: Controller,
    pub ask: Option<AskFacts>,
    pub grant: Option<GrantFacts>,
    pub log_head: LogHead,
}

/// The claims of the receipt for `facts`, by its event.
pub fn claims(facts: &Facts) -> Value {
    match facts.event {
        ReceiptEvent::Given | ReceiptEvent::GivenNarrower => given(facts),
        ReceiptEvent::Refused => refused(facts),
        ReceiptEvent::Withdrawn
        | ReceiptEvent::Ended
        | ReceiptEvent::Expired
        | ReceiptEvent::CutOff => ended(facts),
    }
}

/// A request answered, as asked or narrower: what was given, from when
/// until when, and what was asked beside it when they differ.
pub fn given(facts: &Facts) -> Value {
    let mut c = common(facts);
    if let Some(g) = &facts.grant {
        c["event"]["validity"] = validity(g.valid_from, Some(g.valid_until));
        c["processing"] = processing(&g.details, Some(lifetime(g)), Side::Given);
    }
    if let (Some(ask), Some(g)) = (&facts.ask, &facts.grant) {
        if !answered_as_asked(&ask.details, ask.lifetime_secs, &g.details, lifetime(g)) {
            c["asked"] = processing(&ask.details, Some(ask.lifetime_secs), Side::Asked);
        }
    }
    c
}

/// A request denied: what was asked and refused; nothing is valid.
pub fn refused(facts: &Facts) -> Value {
    let mut c = common(facts);
    c["event"]["validity"] = Value::Null;
    if let Some(ask) = &facts.ask {
        c["processing"] = processing(&ask.details, Some(ask.lifetime_secs), Side::Asked);
    }
    c
}

/// A grant that ended (withdrawn, ended by the company, expired, cut
/// off): what it covered and the time it was valid, now closed.
pub fn ended(facts: &Facts) -> Value {
    let mut c = common(facts);
    match &facts.grant {
        Some(g) => {
            let until = if facts.event == ReceiptEvent::Expired {
                g.valid_until
            } else {
                facts.at.min(g.valid_until)
            };
            c["event"]["validity"] = validity(g.valid_from, Some(until));
            c["processing"] = processing(&g.details, Some(lifetime(g)), Side::Given);
        }
        // A company cut off while it held no grant: the decision applies to
        // any future ask as well.
        None => {
            c["event"]["validity"] = Value::Null;
            c["processing"] = processing(&[], None, Side::Given);
        }
    }
    c
}

/// Whether an answer gave what was asked: the same details (paths,
/// actions, datatypes, purposes) for as long, with every sensitive category
/// the company asked for by datatype ticked. A tick is how a sensitive
/// category is given, so a grant's ticks alone do not make it differ.
pub fn answered_as_asked(
    asked: &[PodAccess],
    asked_lifetime: i64,
    granted: &[PodAccess],
    granted_lifetime: i64,
) -> bool {
    let unticked = |d: &PodAccess| PodAccess {
        sensitive: Vec::new(),
        ..d.clone()
    };
    let ticked: BTreeSet<Category> = granted
        .iter()
        .flat_map(|d| d.sensitive.iter().copied())
        .collect();
    asked_lifetime == granted_lifetime
        && asked.len() == granted.len()
        && asked
            .iter()
            .zip(granted)
            .all(|(a, g)| unticked(a) == unticked(g))
        && crate::sharing::scope::sensitive_categories_asked(asked)
            .iter()
            .all(|c| ticked.contains(c))
}

fn lifetime(g: &GrantFacts) -> i64 {
    (g.valid_until - g.valid_from).num_seconds()
}

fn validity(from: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Value {
    json!({
        "from": format_time(from),
        "until": until.map(format_time),
    })
}

/// What is common to every receipt: the JWT claims, the record's
/// metadata, the event, the parties, the request's hash and the log head.
fn common(f: &Facts) -> Value {
    json!({
        "iss": f.pod_id,
        "sub": f.pod_id,
        "aud": f.controller.client_id,
        "iat": f.issued_at.timestamp(),
        "jti": f.receipt_id,
        "schema_version": SCHEMA_VERSION,
        "conforms_to": ["dpv-27560", "KI-CR-v1.1.0"],
        "receipt_id": f.receipt_id,
        "issued_at": format_time(f.issued_at),
        "collection_method": match &f.controller.verified_domain {
            Some(_) => LINKED_COLLECTION_METHOD,
            None => COLLECTION_METHOD,
        },
        "event": {
            "type": f.event.as_str(),
            "time": format_time(f.at),
            "state": f.event.state(),
            "dpv_status": f.event.dpv_status(),
            "validity": Value::Null,
        },
        "data_subject": {
            "agent": f.pod_id,
            "agent_kind": "personal data store (Custodian pod), identified by its key's JWK thumbprint (RFC 7638)",
        },
        "controller": {
            "name": f.controller.name,
            "client_id": f.controller.client_id,
            "uri": f.controller.uri,
            "identified_by": match &f.controller.verified_domain {
                Some(domain) => linked_identified_by(domain),
                None => CONTROLLER_IDENTIFIED_BY.to_string(),
            },
        },
        "processing": Value::Null,
        "request": f.ask.as_ref().map(|a| json!({
            "id": a.id,
            "details_sha256": a.details_sha256,
        })),
        "grant": f.grant.as_ref().map(|g| json!({ "id": g.id })),
        "log_head": { "seq": f.log_head.seq, "hash": f.log_head.hash },
    })
}

/// Which side of a decision a set of details is: what the company asked,
/// or what the grant holds. They differ in the sensitive categories: an ask
/// names one by asking for its datatype; a grant covers one only where the
/// person ticked it, whatever datatypes the detail lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Asked,
    Given,
}

/// The processing a set of authorization details allows (or asks for):
/// each item with its purpose as written, paths, actions, data categories
/// and the sensitive categories named; the lifetime; how to withdraw.
pub fn processing(details: &[PodAccess], lifetime_secs: Option<i64>, side: Side) -> Value {
    let items: Vec<Value> = details.iter().map(|d| item(d, side)).collect();
    let purposes: BTreeSet<&str> = details.iter().map(|d| d.purpose.as_str()).collect();
    let sensitive: BTreeSet<&str> = details
        .iter()
        .flat_map(|d| sensitive_named(d, side))
        .map(Category::name)
        .collect();
    json!({
        "purposes": purposes,
        "items": items,
        "sensitive": !sensitive.is_empty(),
        "sensitive_categories": sensitive,
        "lifetime_seconds": lifetime_secs,
        "how_to_withdraw": HOW_TO_WITHDRAW,
    })
}

fn item(d: &PodAccess, side: Side) -> Value {
    json!({
        "purpose": d.purpose,
        "paths": d.paths.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "actions": d.actions.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "data_categories": data_categories(d, side).into_iter().map(Category::name).collect::<Vec<_>>(),
        "sensitive_categories": sensitive_named(d, side).into_iter().map(Category::name).collect::<Vec<_>>(),
    })
}

/// The categories an item reaches: its datatypes when it names them, else
/// the category each path implies; on a grant, a sensitive one only where
/// the person ticked it.
fn data_categories(d: &PodAccess, side: Side) -> BTreeSet<Category> {
    let named: BTreeSet<Category> = if d.datatypes.is_empty() {
        d.paths.iter().map(Category::infer_from_path).collect()
    } else {
        d.datatypes.iter().copied().collect()
    };
    match side {
        Side::Asked => named,
        Side::Given => named
            .into_iter()
            .filter(|c| !c.is_sensitive() || d.sensitive.contains(c))
            .chain(d.sensitive.iter().copied())
            .collect(),
    }
}

/// The sensitive categories an item names: those asked for by datatype (an
/// ask), or those the person ticked (a grant).
fn sensitive_named(d: &PodAccess, side: Side) -> BTreeSet<Category> {
    let named: Box<dyn Iterator<Item = &Category>> = match side {
        Side::Asked => Box::new(d.datatypes.iter().chain(d.sensitive.iter())),
        Side::Given => Box::new(d.sensitive.iter()),
    };
    named.copied().filter(|c| c.is_sensitive()).collect()
}

#[cfg(test)]
#[path = "claims_tests.rs"]
mod tests;
