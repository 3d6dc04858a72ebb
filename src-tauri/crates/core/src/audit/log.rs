//! The access log: every API request (allowed or denied, with the reason)
//! and every owner action, in an append-only SHA-256 hash chain. Each entry's
//! hash covers its fields and the previous entry's hash, so editing,
//! removing or reordering an entry breaks the chain from there on, and
//! `verify_audit_log` names the first broken entry. Entries are written by
//! [`super::append`] and read back here as [`AuditEntry`], in the words of
//! [`super::vocabulary`].

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::records::AuditRecord;
use super::vocabulary::{Action, Actor, Method, Outcome};
use crate::clock::{format_time, parse_time};
use crate::vault::record::{select_list, TableRecord};
use crate::vault::store::Store;
use crate::Result;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A recorded entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub client_id: Option<String>,
    pub action: Action,
    pub method: Option<Method>,
    pub path: Option<String>,
    pub outcome: Outcome,
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

/// An entry's hash: its fields, as stored, chained to the previous hash.
#[allow(clippy::too_many_arguments)]
pub(super) fn entry_hash(
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

impl AuditEntry {
    /// An entry as the person reads it, from its row. A row edited after
    /// it was written still reads (its chain no longer verifies): an
    /// outcome that is neither word is shown as denied, its stored text in
    /// the reason.
    fn from_record(r: AuditRecord) -> Result<AuditEntry> {
        let (outcome, reason) = match Outcome::from_text(&r.outcome) {
            Some(o) => (o, r.reason),
            None => (
                Outcome::Denied,
                Some(format!(
                    "the stored outcome {:?} is neither allowed nor denied: the entry was changed after it was written{}",
                    r.outcome,
                    r.reason.map(|why| format!(" ({why})")).unwrap_or_default()
                )),
            ),
        };
        Ok(AuditEntry {
            seq: r.seq,
            at: parse_time(&r.at)?,
            actor: Actor::from_text(&r.actor),
            client_id: r.client_id,
            action: Action::from_text(&r.action),
            method: r.method.as_deref().map(Method::from_text),
            path: r.path,
            outcome,
            reason,
            grant_id: r.grant_id,
            hash: r.hash,
        })
    }
}

impl Store {
    /// Reads the log, oldest first.
    pub fn audit_log(&self, filter: &LogFilter) -> Result<Vec<AuditEntry>> {
        let since = filter.since.map(format_time);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM audit_log
             WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR outcome = ?3)
             ORDER BY seq DESC LIMIT ?4",
            select_list::<AuditRecord>(None)
        ))?;
        let limit = filter.limit.map(|l| l as i64).unwrap_or(-1);
        let rows = stmt.query_map(
            params![filter.client_id, since, filter.outcome, limit],
            AuditRecord::from_row,
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push(AuditEntry::from_record(row?)?);
        }
        out.reverse();
        Ok(out)
    }

    /// Every entry `filter` matches, oldest first, handed to `each` one at
    /// a time as they are read (the whole log is never in memory; the
    /// filter's `limit` is not used). Stops at the first error `each`
    /// returns. Returns how many entries were handed over.
    pub fn audit_log_each(
        &self,
        filter: &LogFilter,
        mut each: impl FnMut(AuditEntry) -> Result<()>,
    ) -> Result<u64> {
        let since = filter.since.map(format_time);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM audit_log
             WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR outcome = ?3)
             ORDER BY seq",
            select_list::<AuditRecord>(None)
        ))?;
        let mut rows = stmt.query(params![filter.client_id, since, filter.outcome])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            each(AuditEntry::from_record(AuditRecord::from_row(row)?)?)?;
            n += 1;
        }
        Ok(n)
    }

    /// Recomputes the chain from the start: from the first entry, or, when
    /// the retention policy removed the oldest ones, from the first kept
    /// entry, which must follow the hash an owner checkpoint entry names
    /// (see [`crate::audit::retention`]).
    pub fn verify_audit_log(&self) -> Result<ChainReport> {
        use crate::audit::records::AuditRecord;
        use crate::vault::record::{self, TableRecord};
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
        let sql = format!(
            "SELECT {} FROM audit_log ORDER BY seq",
            record::select_list::<AuditRecord>(None)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut entries = 0u64;
        while let Some(r) = rows.next()? {
            entries += 1;
            let row = AuditRecord::from_row(r)?;
            let computed = entry_hash(
                &prev,
                row.seq,
                &row.at,
                &row.actor,
                row.client_id.as_deref(),
                &row.action,
                row.method.as_deref(),
                row.path.as_deref(),
                &row.outcome,
                row.reason.as_deref(),
                row.grant_id.as_deref(),
            );
            if row.seq != expected_seq || row.prev_hash != prev || row.hash != computed {
                return Ok(ChainReport {
                    entries,
                    first_broken: Some(row.seq),
                    checkpoint,
                });
            }
            prev = row.hash;
            expected_seq += 1;
        }
        Ok(ChainReport {
            entries,
            first_broken: None,
            checkpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::NewEntry;
    use crate::testing::memory_store;

    fn read(path: &str, outcome: Outcome) -> NewEntry {
        NewEntry {
            method: Some(Method::Get),
            path: Some(path.into()),
            outcome,
            reason: (outcome == Outcome::Denied).then(|| "insufficient_scope".into()),
            ..NewEntry::client("cli_x", Action::Read)
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
        store
            .append_audit(&[NewEntry::owner(Action::Other("passwd".into()))])
            .unwrap();
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
        assert_eq!(last[0].action.as_str(), "passwd");
        // One at a time, oldest first, the same entries as read whole.
        for filter in [
            LogFilter::default(),
            LogFilter {
                client_id: Some("cli_x".into()),
                ..Default::default()
            },
        ] {
            let mut each = Vec::new();
            let n = store
                .audit_log_each(&filter, |e| {
                    each.push(e);
                    Ok(())
                })
                .unwrap();
            assert_eq!(n as usize, each.len());
            assert_eq!(each, store.audit_log(&filter).unwrap());
        }
        let stop = store.audit_log_each(&LogFilter::default(), |_| {
            Err(crate::Error::Internal("enough".into()))
        });
        assert!(matches!(stop, Err(crate::Error::Internal(_))));
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

    /// An entry whose outcome was edited to another word still reads, as
    /// denied with the stored text in its reason (as the log read it before
    /// its words were typed), and the chain names it.
    #[test]
    fn an_edited_outcome_still_reads_and_is_found() {
        let (_d, store) = memory_store();
        store
            .append_audit(&[read("/r0", Outcome::Allowed), read("/r1", Outcome::Allowed)])
            .unwrap();
        store
            .conn
            .execute("UPDATE audit_log SET outcome = 'fine' WHERE seq = 1", [])
            .unwrap();
        let log = store.audit_log(&LogFilter::default()).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].outcome, Outcome::Denied);
        let why = log[0].reason.as_deref().unwrap();
        assert!(
            why.contains(r#""fine" is neither allowed nor denied"#),
            "{why}"
        );
        assert_eq!(log[1].outcome, Outcome::Allowed);
        assert_eq!(store.verify_audit_log().unwrap().first_broken, Some(1));
    }
}
