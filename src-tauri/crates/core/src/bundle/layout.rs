//! What is inside a bundle: entry names, and the checks each table's record
//! must pass before it is written into a vault. The records themselves, one
//! per row of the vault's tables exactly as stored (times stay in their
//! stored text form so a round trip is exact), are the tables' own
//! (`data::records`, `sharing::records`, `audit::records`); their JSON
//! field names are the bundle's format.

use sha2::{Digest, Sha256};

pub use crate::audit::records::AuditRecord;
use crate::data::path::PodPath;
pub use crate::data::records::VersionRecord;
pub use crate::linked::records::{
    FeedCursorRecord, FeedSeenRecord, LinkedClientRecord, LinkedRequestRecord, OutboxRecord,
};
pub use crate::sharing::records::{ClientRecord, GrantRecord, ReceiptRecord, RequestRecord};
pub use crate::vault::identity::PodKeyRecord;
use crate::vault::record::StoredJson;

pub const README: &str = "README.txt";
pub const PREFERENCES: &str = "preferences.json";
pub const CLIENTS: &str = "clients.jsonl";
pub const REQUESTS: &str = "requests.jsonl";
pub const GRANTS: &str = "grants.jsonl";
pub const AUDIT: &str = "audit.jsonl";
pub const RECEIPTS: &str = "receipts.jsonl";
pub const LINKED_CLIENTS: &str = "linked_clients.jsonl";
pub const LINKED_REQUESTS: &str = "linked_requests.jsonl";
/// Deliveries still owed to linked companies (queued or failed), each as
/// signed, resent byte for byte by the restored vault.
pub const OUTBOX: &str = "outbox.jsonl";
/// Where this vault stood in each linked grant's feed.
pub const FEED_CURSORS: &str = "feed_cursors.jsonl";
/// The feed items (their `jti`) already taken or refused.
pub const FEED_SEEN: &str = "feed_seen.jsonl";
/// The pod's signing key: in the encrypted bundle only, never in a plain
/// export.
pub const POD_KEY: &str = "pod_key.jsonl";

/// The largest metadata or JSON Lines record accepted on import.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// `resources/contact/email#v2` (content) for `/contact/email` version 2.
pub fn content_name(path: &PodPath, version: u64) -> String {
    format!("resources{}#v{version}", path.as_str())
}

/// `resources/contact/email#v2.meta.json`.
pub fn meta_name(path: &PodPath, version: u64) -> String {
    format!("{}.meta.json", content_name(path, version))
}

/// The longest file name (one path component) file systems take.
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// Where a plain export writes the entry `name`: the same name, except that
/// a component too long for a file name (a 255-byte resource name plus
/// `#v2.meta.json`) is cut at a character boundary and made unique with a
/// hash of the whole component, keeping its `#v…` ending. The manifest
/// records the real name beside it.
pub fn plain_file_name(name: &str) -> String {
    name.split('/')
        .map(|part| {
            if part.len() <= MAX_FILE_NAME_BYTES {
                return part.to_string();
            }
            let (base, ending) = match part.rfind('#') {
                Some(i) if part.len() - i < 64 => part.split_at(i),
                _ => (part, ""),
            };
            let digest = hex::encode(&Sha256::digest(part.as_bytes())[..8]);
            let room = MAX_FILE_NAME_BYTES - ending.len() - digest.len() - 1;
            let mut cut = room.min(base.len());
            while !base.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}~{digest}{ending}", &base[..cut])
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// What a record of one table must be before it is written into a vault:
/// each one parsed into its typed form, so a crafted bundle can never store
/// a row that the vault's own code then fails to read.
pub trait CheckedRecord {
    /// Why the record is not a valid row, if it is not.
    fn check(&self) -> Result<(), String>;
}

fn time(field: &str, text: &str) -> Result<(), String> {
    crate::clock::parse_time(text)
        .map(drop)
        .map_err(|_| format!("{field} is not a time"))
}

fn id(field: &str, text: &str, prefix: &str) -> Result<(), String> {
    let ok = text.starts_with(prefix)
        && text.len() <= 100
        && text[prefix.len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{field} is not a {prefix}… id"))
    }
}

/// A company's id: `cli_…` for one that registered, its https client_id
/// URL for one that connected by a link.
fn client_id(field: &str, text: &str) -> Result<(), String> {
    if text.starts_with("https://") || text.starts_with("http://") {
        return crate::linked::check_url(text, field, true)
            .map(drop)
            .map_err(|_| format!("{field} is not a cli_… id or an https URL"));
    }
    id(field, text, "cli_")
}

fn granted_details(value: &StoredJson, granted: bool) -> Result<(), String> {
    let details: Vec<crate::sharing::scope::PodAccess> =
        serde_json::from_value(value.value().map_err(|e| format!("details: {e}"))?)
            .map_err(|e| format!("details: {e}"))?;
    crate::sharing::scope::check_details(&details, granted).map_err(|e| format!("details: {e}"))
}

impl CheckedRecord for ClientRecord {
    fn check(&self) -> Result<(), String> {
        client_id("id", &self.id)?;
        // Names from before they were cleaned are kept; shown cleaned.
        if self.name.trim().is_empty()
            || self.name.chars().count() > 200
            || self.name.chars().any(char::is_control)
        {
            return Err("name must be one line".into());
        }
        self.contacts
            .value()
            .and_then(serde_json::from_value::<Vec<String>>)
            .map_err(|_| "contacts must be a list of text".to_string())?;
        time("created_at", &self.created_at)
    }
}

impl CheckedRecord for RequestRecord {
    fn check(&self) -> Result<(), String> {
        id("id", &self.id, "req_")?;
        client_id("client_id", &self.client_id)?;
        granted_details(&self.details, false)?;
        if !matches!(
            self.status.as_str(),
            "pending" | "approved" | "completed" | "denied" | "expired"
        ) {
            return Err(format!("unknown status {:?}", self.status));
        }
        if !(1..=crate::sharing::request::MAX_GRANT_LIFETIME_SECS).contains(&self.grant_lifetime)
            || self.poll_interval < 1
        {
            return Err("lifetime or polling interval out of range".into());
        }
        time("created_at", &self.created_at)?;
        time("expires_at", &self.expires_at)?;
        for t in [&self.last_polled_at, &self.decided_at]
            .into_iter()
            .flatten()
        {
            time("a time", t)?;
        }
        if let Some(g) = &self.grant_id {
            id("grant_id", g, "grt_")?;
        }
        Ok(())
    }
}

impl CheckedRecord for GrantRecord {
    fn check(&self) -> Result<(), String> {
        id("id", &self.id, "grt_")?;
        client_id("client_id", &self.client_id)?;
        if let Some(r) = &self.request_id {
            id("request_id", r, "req_")?;
        }
        granted_details(&self.details, true)?;
        time("created_at", &self.created_at)?;
        time("expires_at", &self.expires_at)?;
        if let Some(t) = &self.revoked_at {
            time("revoked_at", t)?;
        }
        Ok(())
    }
}

impl CheckedRecord for AuditRecord {
    fn check(&self) -> Result<(), String> {
        time("at", &self.at)?;
        if crate::audit::Outcome::from_text(&self.outcome).is_none() {
            return Err(format!("unknown outcome {:?}", self.outcome));
        }
        Ok(())
    }
}

impl CheckedRecord for ReceiptRecord {
    fn check(&self) -> Result<(), String> {
        id("id", &self.id, "rcp_")?;
        client_id("client_id", &self.client_id)?;
        if let Some(g) = &self.grant_id {
            id("grant_id", g, "grt_")?;
        }
        if let Some(r) = &self.request_id {
            id("request_id", r, "req_")?;
        }
        if crate::sharing::receipts::ReceiptEvent::from_text(&self.event).is_none() {
            return Err(format!("unknown event {:?}", self.event));
        }
        time("issued_at", &self.issued_at)?;
        crate::sharing::receipts::decode(&self.jws)
            .map(drop)
            .map_err(|_| "jws is not a compact JWS".to_string())
    }
}

impl CheckedRecord for LinkedClientRecord {
    fn check(&self) -> Result<(), String> {
        client_id("client_id", &self.client_id)?;
        for (field, url) in [
            ("delivery_uri", Some(&self.delivery_uri)),
            ("jwks_uri", self.jwks_uri.as_ref()),
            ("feed_uri", self.feed_uri.as_ref()),
            ("logo_uri", self.logo_uri.as_ref()),
            ("policy_uri", self.policy_uri.as_ref()),
            ("client_uri", self.client_uri.as_ref()),
        ] {
            if let Some(u) = url {
                crate::linked::check_url(u, field, true).map_err(|e| e.to_string())?;
            }
        }
        if self.host.is_empty() || self.host.chars().any(char::is_control) {
            return Err("host must be a host name".into());
        }
        crate::linked::parse_jwks(self.jwks.as_str().as_bytes()).map_err(|e| e.to_string())?;
        self.metadata
            .value()
            .map_err(|e| format!("metadata: {e}"))?;
        time("fetched_at", &self.fetched_at)
    }
}

impl CheckedRecord for LinkedRequestRecord {
    fn check(&self) -> Result<(), String> {
        id("request_id", &self.request_id, "req_")?;
        client_id("client_id", &self.client_id)?;
        crate::linked::check_url(&self.request_uri, "request_uri", true)
            .map_err(|e| e.to_string())?;
        if let Some(g) = &self.grant_id {
            id("grant_id", g, "grt_")?;
        }
        if self.state.is_empty() || self.jti.is_empty() {
            return Err("state and jti must not be empty".into());
        }
        if self.last_seq < 0 {
            return Err("last_seq must not be negative".into());
        }
        time("created_at", &self.created_at)
    }
}

impl CheckedRecord for OutboxRecord {
    fn check(&self) -> Result<(), String> {
        id("id", &self.id, "dlv_")?;
        client_id("client_id", &self.client_id)?;
        id("request_id", &self.request_id, "req_")?;
        if let Some(g) = &self.grant_id {
            id("grant_id", g, "grt_")?;
        }
        crate::linked::check_url(&self.target, "target", true).map_err(|e| e.to_string())?;
        if !matches!(
            self.event.as_str(),
            "granted" | "denied" | "updated" | "revoked" | "expired"
        ) {
            return Err(format!("unknown event {:?}", self.event));
        }
        // Only what is still owed travels.
        if !matches!(self.status.as_str(), "queued" | "failed") {
            return Err(format!("status {:?} is not owed", self.status));
        }
        if self.number < 1 || self.attempts < 0 {
            return Err("number or attempts out of range".into());
        }
        let compact = self.body.split('.').count() == 3
            && self
                .body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !compact {
            return Err("body is not a compact JWS".into());
        }
        time("created_at", &self.created_at)?;
        time("next_attempt_at", &self.next_attempt_at)?;
        for t in [&self.last_attempt_at, &self.delivered_at]
            .into_iter()
            .flatten()
        {
            time("a time", t)?;
        }
        Ok(())
    }
}

impl CheckedRecord for FeedCursorRecord {
    fn check(&self) -> Result<(), String> {
        id("grant_id", &self.grant_id, "grt_")?;
        if self.cursor.chars().any(char::is_control) {
            return Err("cursor must be one line".into());
        }
        time("polled_at", &self.polled_at)
    }
}

impl CheckedRecord for FeedSeenRecord {
    fn check(&self) -> Result<(), String> {
        client_id("client_id", &self.client_id)?;
        id("grant_id", &self.grant_id, "grt_")?;
        if self.jti.is_empty() {
            return Err("jti must not be empty".into());
        }
        time("seen_at", &self.seen_at)
    }
}

impl CheckedRecord for PodKeyRecord {
    fn check(&self) -> Result<(), String> {
        if !self.consistent() {
            return Err("public is not the secret key's public key".into());
        }
        time("created_at", &self.created_at)
    }
}

/// The person-readable explanation shipped in every bundle; `with_key`
/// when it carries the pod's signing key (the encrypted bundle).
pub fn readme(vault_id: &str, created_at: &str, with_key: bool) -> String {
    let key = if with_key {
        "  pod_key.jsonl        your pod's signing key (Ed25519): a restored vault keeps
                       its pod id and signs as before. Keep this bundle as
                       safe as the vault: whoever opens it can sign receipts
                       as your pod.

No vault key, recovery key or access token is in this bundle."
    } else {
        "No key of any kind (vault key, recovery key, the pod's signing key) and no
access token is in this export."
    };
    format!(
        "Custodian export bundle
=======================

Vault {vault_id}, exported {created_at}.

Everything here is plain JSON or your files exactly as you stored them.

  manifest.json        the format, counts, and the size and SHA-256 of every file
  resources/           every version of every resource, at its path:
                         contact/email#v2            the content of version 2
                         contact/email#v2.meta.json  its metadata (type, category,
                                                     sensitivity, author, time; the
                                                     live version also says since when
                                                     the resource exists)
                       a deleted resource ends with a version whose metadata says
                       \"deleted\": true and which has no content file
  preferences.json     your communication preferences
  clients.jsonl        the companies that registered with your pod (one per line)
  requests.jsonl       what they asked for
  grants.jsonl         what you granted, until when, and revocations
  audit.jsonl          the access log: every request and decision, hash-chained
  receipts.jsonl       the signed consent receipt of every decision (compact JWS)
  linked_clients.jsonl companies that connected by a link: their verified
                       domain, published metadata and keys
  linked_requests.jsonl their signed requests (request objects)
  outbox.jsonl         deliveries still owed to them (queued or failed), each
                       signed once and resent as it is
  feed_cursors.jsonl   where your pod stands in each company's feed
  feed_seen.jsonl      the feed items already taken (or refused), by id
{key}
Restore it with `custodian --vault NEW-DIR import THIS-FILE`.
"
    )
}
