//! What is inside a bundle: entry names and the records, one per row of the
//! vault's tables, exactly as stored (times stay in their stored text form
//! so a round trip is exact).

use serde::{Deserialize, Serialize};

use crate::path::PodPath;

pub const README: &str = "README.txt";
pub const PREFERENCES: &str = "preferences.json";
pub const CLIENTS: &str = "clients.jsonl";
pub const REQUESTS: &str = "requests.jsonl";
pub const GRANTS: &str = "grants.jsonl";
pub const AUDIT: &str = "audit.jsonl";

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

/// One version of one resource: a row of `resource_versions`, plus, on the
/// live version, when the resource came into being.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRecord {
    pub path: PodPath,
    pub version: u64,
    /// A deletion record: no content entry follows.
    pub deleted: bool,
    pub content_type: String,
    pub category: String,
    pub sensitivity: String,
    pub etag: String,
    pub size: u64,
    pub author: String,
    pub written_at: String,
    /// Set on the version that is live: the resource's creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_since: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRecord {
    pub id: String,
    pub name: String,
    pub uri: Option<String>,
    pub contacts: serde_json::Value,
    pub created_at: String,
}

/// An access request, without its device code hash (a secret's digest
/// has no place in a bundle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRecord {
    pub id: String,
    pub client_id: String,
    pub details: serde_json::Value,
    pub grant_lifetime: i64,
    pub user_code: String,
    pub status: String,
    pub poll_interval: i64,
    pub created_at: String,
    pub expires_at: String,
    pub last_polled_at: Option<String>,
    pub decided_at: Option<String>,
    pub grant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRecord {
    pub id: String,
    pub client_id: String,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub client_id: Option<String>,
    pub action: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub grant_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The person-readable explanation shipped in every bundle.
pub fn readme(vault_id: &str, created_at: &str) -> String {
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

No key, recovery key or access token is in this bundle. Restore it with
`custodian --vault NEW-DIR import THIS-FILE`.
"
    )
}
