//! The export bundle: everything in the vault in a form a person can open
//! without Custodian, and restore from.
//!
//! A bundle is a tar stream encrypted with age (to a passphrase or to an
//! `age1…` recipient), so `age -d -i key.txt FILE | tar x` gives plain files:
//!
//! ```text
//! manifest.json                     format, vault id, counts, SHA-256 and size of every entry
//! README.txt                        what each file is, for a person
//! resources/contact/email#v1.meta.json   one version's metadata
//! resources/contact/email#v1             its content, exactly as stored
//! preferences.json                  the communication preferences, readably
//! clients.jsonl requests.jsonl grants.jsonl audit.jsonl receipts.jsonl   one JSON object per line
//! pod_key.jsonl                     the pod's signing key (encrypted bundles only, never --plain)
//! ```
//!
//! `#` can never occur in a pod path, so `NAME#vN` cannot collide with a
//! container of the same name. The bundle never holds the vault key, the
//! recovery key, token secrets or token hashes.
//!
//! Both directions stream with flat memory (a buffer of content at a time,
//! never a whole resource, plus the manifest's list of entries, about 150
//! bytes an entry; the manifest's JSON is streamed both ways,
//! `manifest_json`) and report progress. Export writes the manifest first, so it walks the vault twice
//! in one read transaction: once to hash, once to write, each content read
//! through the chunk reader. Import checks every entry against the manifest
//! in a first pass that writes nothing, then restores or merges in a second
//! pass, where each content entry streams from the tar entry into the vault
//! (a blob a chunk at a time over `INLINE_MAX`) checked against the
//! manifest and the version's ETag as it goes (`content`). A restore, built
//! beside its place, commits as it goes so its write-ahead log stays
//! bounded. A merge writes its rows in one transaction, which cannot be
//! open while content is committed in batches, and the tar order gives a
//! version's content right after its metadata: so its first pass also
//! stages the large content it will add, in committed batches
//! (`staging`), and the second attaches it, reading the bundle's content
//! twice; its log stays near one batch too.
//!
//! The parts: `layout` (entry names, the checks on each record), `tables`
//! (the list of tables a bundle carries, each with its record type, its page
//! query and how a record is written back), `walk` and `export` (writing),
//! `reader` (opening and checking entries against the manifest), `import`
//! (the first pass, restore and merge), `apply` (the second pass),
//! `pairing` (a version's metadata and its content entry, for both passes),
//! `content` (a content entry checked as it streams in), `staging` (a
//! merge's large content staged before its transaction) and `merge` (what
//! a merge does with resources).

mod apply;
mod content;
mod export;
mod import;
mod layout;
mod manifest_json;
mod merge;
mod pairing;
mod reader;
mod staging;
mod tables;
mod walk;

use std::io::Read;
use std::path::Path;

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use export::{export_bundle, export_plain, ExportSummary};
/// A restore that commits often, for tests of what each commit leaves.
#[cfg(test)]
pub(crate) use import::{inspect, restore_committing};
pub use import::{inspect_bundle, merge_bundle, restore_bundle, MergeReport, Restored};

use crate::{Error, Result};

/// The `format` field of every manifest.
pub const FORMAT_NAME: &str = "custodian-bundle";
/// The bundle format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The first entry of every bundle.
pub const MANIFEST: &str = "manifest.json";
/// The file name `custodian export` suggests: `custodian-2026-11-24.custodian.age`.
pub fn default_file_name(today: chrono::NaiveDate) -> String {
    format!("custodian-{}.custodian.age", today.format("%Y-%m-%d"))
}

/// How a bundle is sealed.
pub enum Seal {
    /// A passphrase (age's scrypt recipient), with an explicit work factor.
    Passphrase {
        passphrase: SecretString,
        work_factor: u8,
    },
    /// An age X25519 recipient (`age1…`); opened with its identity file.
    Recipient(Box<age::x25519::Recipient>),
}

impl Seal {
    /// A passphrase seal at the same work factor as the vault's own key.
    pub fn passphrase(passphrase: SecretString) -> Seal {
        Seal::Passphrase {
            passphrase,
            work_factor: crate::vault::keys::DEFAULT_WORK_FACTOR,
        }
    }

    /// Parses an `age1…` recipient.
    pub fn recipient(text: &str) -> Result<Seal> {
        text.trim()
            .parse::<age::x25519::Recipient>()
            .map(|r| Seal::Recipient(Box::new(r)))
            .map_err(|e| {
                Error::InvalidRequest(format!(
                    "not an age recipient ({e}): expected one starting with age1"
                ))
            })
    }
}

/// How a bundle is opened.
pub enum Opener {
    Passphrase(SecretString),
    Identity(Box<age::x25519::Identity>),
}

impl Opener {
    /// Reads an age identity file: `AGE-SECRET-KEY-1…` on a line, comments
    /// (`#`) and blank lines ignored, as `age-keygen` writes it.
    pub fn identity_file(text: &str) -> Result<Opener> {
        let key = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| {
                Error::InvalidRequest("the identity file holds no AGE-SECRET-KEY-1 line".into())
            })?;
        key.parse::<age::x25519::Identity>()
            .map(|i| Opener::Identity(Box::new(i)))
            .map_err(|_| {
                Error::InvalidRequest(
                    "the identity file does not hold an age identity (a line starting with AGE-SECRET-KEY-1)".into(),
                )
            })
    }
}

/// Whether a bundle file was sealed with a passphrase (true) or to a
/// recipient (false); reads only the age header.
pub fn is_passphrase_bundle(path: &Path) -> Result<bool> {
    reader::check_magic(path)?;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let decryptor = age::Decryptor::new_buffered(std::io::BufReader::new(file))
        .map_err(|e| reader::header_error(path, e))?;
    Ok(decryptor.is_scrypt())
}

/// Where a long operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Export: reading the vault once to list and hash every entry.
    Hashing,
    /// Export: writing the encrypted bundle.
    Writing,
    /// Import: checking every entry against the manifest (nothing is
    /// written).
    Verifying,
    /// Merge: checking every entry against the manifest, as
    /// [`Phase::Verifying`], and staging the large content the merge will
    /// add (nothing a person sees is written); progress is also reported
    /// after each batch of content staged.
    Staging,
    /// Import: restoring (committing as it goes) or merging (in one
    /// transaction).
    Restoring,
}

/// Progress, reported after each entry (and, while staging, after each
/// batch of content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub items_done: u64,
    /// Zero while unknown (the first export pass).
    pub items_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// The first entry of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub vault_id: String,
    pub created_at: String,
    /// The Custodian version that wrote it.
    pub written_by: String,
    pub counts: Counts,
    /// Every other entry, in order.
    pub entries: Vec<ManifestEntry>,
}

/// What a bundle holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Live resources.
    pub resources: u64,
    /// Versions of resources, deletions included.
    pub versions: u64,
    pub clients: u64,
    pub requests: u64,
    pub grants: u64,
    pub audit_entries: u64,
    /// Bytes of resource content, every version.
    pub content_bytes: u64,
    /// Signed consent receipts (absent from bundles made before them).
    #[serde(default)]
    pub receipts: u64,
    /// The pod's signing key: 1 in an encrypted bundle, 0 in a plain
    /// export (absent from bundles made before it).
    #[serde(default)]
    pub pod_keys: u64,
    /// Companies that connected by a link (absent from bundles made
    /// before them).
    #[serde(default)]
    pub linked_clients: u64,
    /// Their signed requests (absent from bundles made before them).
    #[serde(default)]
    pub linked_requests: u64,
    /// Deliveries still owed (queued or failed; absent from bundles made
    /// before they travelled).
    #[serde(default)]
    pub deliveries_owed: u64,
    /// Feed cursors (absent from bundles made before they travelled).
    #[serde(default)]
    pub feed_cursors: u64,
    /// Feed item ids taken (absent from bundles made before they travelled).
    #[serde(default)]
    pub feed_items_seen: u64,
}

/// One entry's name, size and SHA-256 (hex in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub name: String,
    pub size: u64,
    #[serde(with = "hex_digest")]
    pub sha256: [u8; 32],
    /// Plain exports only: the file that holds the entry, when its name is
    /// too long for a file name (see `layout::plain_file_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// SHA-256 digests as 64 hex digits; kept as bytes in memory (a manifest
/// of 200,000 entries is 20 MB smaller so).
mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        // Owned: a manifest is parsed from a reader, which lends nothing.
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.as_ref(), &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

impl Manifest {
    /// The manifest as written into a bundle: the header pretty-printed,
    /// then one entry per line (readable, and compact for large vaults).
    /// Large exports stream the same bytes ([`manifest_json::ManifestJson`]).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        manifest_json::ManifestJson::new(self)?
            .read_to_end(&mut out)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(out)
    }
}

/// Reads a whole small entry, refusing anything over `limit` bytes.
fn read_limited(mut r: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.by_ref().take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "entry too large",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod large_tests;
#[cfg(test)]
mod staging_tests;
#[cfg(test)]
mod tests;
