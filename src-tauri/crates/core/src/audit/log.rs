//! The access log: every API request (allowed or denied, with the reason)
//! and every owner action, in an append-only SHA-256 hash chain. Each entry's
//! hash covers its fields and the previous entry's hash, so editing,
//! removing or reordering an entry breaks the chain from there on, and
//! `verify_audit_log` names the first broken entry.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::{format_time, parse_time};
use crate::vault::store::Store;
use crate::Result;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Whether the request or action was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allowed,
    Denied,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
        }
    }
}

/// What to record.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// `owner`, a client id, or `anonymous` (a request without a valid token).
    pub actor: String,
    pub client_id: Option<String>,
    /// `read`, `write`, `delete`, `register`, `request`, `token`, `grant`, `deny`, `revoke`, …
    pub action: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub grant_id: Option<String>,
}

impl NewEntry {
    /// An owner action, allowed.
    pub fn owner(action: &str) -> Self {
        NewEntry {
            actor: "owner".into(),
            action: action.into(),
            outcome: Some(Outcome::Allowed),
            ..Default::default()
        }
    }
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub client_id: Option<String>,
    pub action: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub grant_id: Option<String>,
    pub hash: String,
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainReport {
    pub entries: u64,
    /// The first entry whose hash does not follow from its fields and its
    /// predecessor (or whose sequence number skips).
    pub first_broken: Option<u64>,
    /// When the oldest entries were removed by the retention policy: the
    /// checkpoint entry that stands for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpointed>,
}

/// Entries 1 to `through` were replaced by the checkpoint entry `entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checkpointed {
    pub through: u64,
    pub entry: u64,
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub client_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub limit: Option<u64>,
}

#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &str,
    seq: u64,
    at: &str,
    actor: &str,
    client_id: Option<&str>,
    action: &str,
    method: Option<&str>,
    path: Option<&str>,
    outcome: &str,
    reason: Option<&str>,
    grant_id: Option<&str>,
) -> String {
    // The hash covers the previous hash, a newline, and the fields as one
    // compact JSON array, serialized straight into the hasher.
    let fields = (
        seq, at, actor, client_id, action, method, path, outcome, reason, grant_id,
    );
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    // Writing into a hasher cannot fail, and these fields always serialize.
    let _ = serde_json::to_writer(&mut h, &fields);
    hex::encode(h.finalize())
}

impl Store {
    /// Appends entries in one transaction (the chain stays linear even with
    /// several processes writing: the write lock is taken first).
    pub fn append_audit(&self, entries: &[NewEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let tx = self.write_tx()?;
        append_in(&tx, &self.now(), entries)?;
        tx.commit()?;
        Ok(())
    }

    /// Reads the log, oldest first.
    pub fn audit_log(&self, filter: &LogFilter) -> Result<Vec<AuditEntry>> {
        let since = filter.since.map(format_time);
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, actor, client_id, action, method, path, outcome, reason, grant_id, hash
             FROM audit_log
             WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR outcome = ?3)
             ORDER BY seq DESC LIMIT ?4",
        )?;
        let limit = filter.limit.map(|l| l as i64).unwrap_or(-1);
        let rows = stmt.query_map(
            params![
                filter.client_id,
                since,
                filter.outcome.map(Outcome::name),
                limit
            ],
            |r| {
                Ok((
                    r.get::<_, u64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, actor, client_id, action, method, path, outcome, reason, grant_id, hash) =
                row?;
            out.push(AuditEntry {
                seq,
                at: parse_time(&at)?,
                actor,
                client_id,
                action,
                method,
                path,
                outcome,
                reason,
                grant_id,
                hash,
            });
        }
        out.reverse();
        Ok(out)
    }

    /// Recomputes the chain from the start: from the first entry, or, when
    /// the retention policy removed the oldest ones, from the first kept
    /// entry, which must follow the hash an owner checkpoint entry names
    /// (see [`crate::audit::retention`]).
    pub fn verify_audit_log(&self) -> Result<ChainReport> {
        let first: Option<(u64, String)> = self
            .conn
            .query_row(
                "SELECT seq, prev_hash FROM audit_log ORDER BY seq LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let mut prev = GENESIS.to_string();
        let mut expected_seq = 1u64;
        let mut checkpoint = None;
        if let Some((seq, first_prev)) = first.filter(|(seq, _)| *seq > 1) {
            let through = seq - 1;
            if let Some(entry) = self.checkpoint_for(through, &first_prev)? {
                checkpoint = Some(Checkpointed { through, entry });
                prev = first_prev;
                expected_seq = seq;
            }
        }
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, actor, client_id, action, method, path, outcome, reason, grant_id, prev_hash, hash
             FROM audit_log ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut entries = 0u64;
        while let Some(r) = rows.next()? {
            entries += 1;
            let seq: u64 = r.get(0)?;
            let stored_prev: String = r.get(10)?;
            let stored: String = r.get(11)?;
            let computed = entry_hash(
                &prev,
                seq,
                &r.get::<_, String>(1)?,
                &r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?.as_deref(),
                &r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?.as_deref(),
                r.get::<_, Option<String>>(6)?.as_deref(),
                &r.get::<_, String>(7)?,
                r.get::<_, Option<String>>(8)?.as_deref(),
                r.get::<_, Option<String>>(9)?.as_deref(),
            );
            if seq != expected_seq || stored_prev != prev || stored != computed {
                return Ok(ChainReport {
                    entries,
                    first_broken: Some(seq),
                    checkpoint,
                });
            }
            prev = stored;
            expected_seq += 1;
        }
        Ok(ChainReport {
            entries,
            first_broken: None,
            checkpoint,
        })
    }
}

/// Appends entries inside a write transaction the caller holds, so an owner
/// action and its log entry commit together.
pub(crate) fn append_in<'a>(
    tx: &rusqlite::Connection,
    at: &str,
    entries: impl IntoIterator<Item = &'a NewEntry>,
) -> Result<()> {
    let last: Option<(u64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (mut seq, mut prev) = last.unwrap_or((0, GENESIS.to_string()));
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO audit_log (seq, at, actor, client_id, action, method, path, outcome, reason, grant_id, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        for e in entries {
            seq += 1;
            let outcome = e.outcome.unwrap_or(Outcome::Allowed).name();
            let hash = entry_hash(
                &prev,
                seq,
                at,
                &e.actor,
                e.client_id.as_deref(),
                &e.action,
                e.method.as_deref(),
                e.path.as_deref(),
                outcome,
                e.reason.as_deref(),
                e.grant_id.as_deref(),
            );
            stmt.execute(params![
                seq,
                at,
                e.actor,
                e.client_id,
                e.action,
                e.method,
                e.path,
                outcome,
                e.reason,
                e.grant_id,
                prev,
                hash
            ])?;
            prev = hash;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_store;

    fn read(path: &str, outcome: Outcome) -> NewEntry {
        NewEntry {
            actor: "cli_x".into(),
            client_id: Some("cli_x".into()),
            action: "read".into(),
            method: Some("GET".into()),
            path: Some(path.into()),
            outcome: Some(outcome),
            reason: (outcome == Outcome::Denied).then(|| "insufficient_scope".into()),
            grant_id: None,
        }
    }

    /// The chain's hashes are part of every vault and bundle: the fields
    /// must serialize exactly as the first release wrote them (a JSON array
    /// built as a `serde_json::Value`), escapes and nulls included.
    #[test]
    fn entry_hashes_match_the_first_format() {
        let cases: [(u64, &str, Option<&str>, Option<&str>); 3] = [
            (1, "owner", None, None),
            (
                2,
                "cli_\"q\"\n",
                Some("/x/é\u{1F600}\\"),
                Some("insufficient_scope"),
            ),
            (
                u64::MAX,
                "anonymous",
                Some(""),
                Some("invalid_token: \u{7}"),
            ),
        ];
        for (seq, actor, path, reason) in cases {
            let at = "2026-11-25T12:00:00.000001Z";
            let reference = {
                let fields = serde_json::json!([
                    seq,
                    at,
                    actor,
                    Some(actor),
                    "read",
                    Some("GET"),
                    path,
                    "denied",
                    reason,
                    None::<&str>
                ]);
                let mut h = Sha256::new();
                h.update(GENESIS.as_bytes());
                h.update(b"\n");
                h.update(fields.to_string().as_bytes());
                hex::encode(h.finalize())
            };
            let hash = entry_hash(
                GENESIS,
                seq,
                at,
                actor,
                Some(actor),
                "read",
                Some("GET"),
                path,
                "denied",
                reason,
                None,
            );
            assert_eq!(hash, reference, "entry {seq}");
        }
    }

    /// The pod's log writer commits small batches all day, and every index
    /// on the log adds pages to each commit (migration 4); the log's
    /// queries read it in sequence order and need none.
    #[test]
    fn the_log_has_no_secondary_index() {
        let (_d, store) = memory_store();
        let indexes: Vec<String> = store
            .conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audit_log'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(indexes, Vec::<String>::new());
    }

    #[test]
    fn appends_reads_and_filters() {
        let (_d, store) = memory_store();
        store
            .append_audit(&[
                read("/contact/email", Outcome::Allowed),
                read("/health/x", Outcome::Denied),
            ])
            .unwrap();
        store.append_audit(&[NewEntry::owner("passwd")]).unwrap();
        let all = store.audit_log(&LogFilter::default()).unwrap();
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        let denied = store
            .audit_log(&LogFilter {
                outcome: Some(Outcome::Denied),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].reason.as_deref(), Some("insufficient_scope"));
        let client = store
            .audit_log(&LogFilter {
                client_id: Some("cli_x".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(client.len(), 2);
        let last = store
            .audit_log(&LogFilter {
                limit: Some(1),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(last[0].action, "passwd");
        assert_eq!(
            store.verify_audit_log().unwrap(),
            ChainReport {
                entries: 3,
                first_broken: None,
                checkpoint: None,
            }
        );
    }

    #[test]
    fn tampering_is_found_at_the_first_broken_entry() {
        let (_d, store) = memory_store();
        for i in 0..5 {
            store
                .append_audit(&[read(&format!("/r{i}"), Outcome::Allowed)])
                .unwrap();
        }
        store
            .conn
            .execute("UPDATE audit_log SET path = '/secret' WHERE seq = 3", [])
            .unwrap();
        assert_eq!(store.verify_audit_log().unwrap().first_broken, Some(3));
        store
            .conn
            .execute("UPDATE audit_log SET path = '/r2' WHERE seq = 3", [])
            .unwrap();
        assert_eq!(store.verify_audit_log().unwrap().first_broken, None);
        store
            .conn
            .execute("DELETE FROM audit_log WHERE seq = 2", [])
            .unwrap();
        assert_eq!(store.verify_audit_log().unwrap().first_broken, Some(3));
    }
}
