//! A row of the access log (`audit_log`) as stored, read by column name
//! (see [`crate::vault::record`]): what the log view reads, what the chain
//! check verifies, and what a bundle carries and restores. New entries are
//! written by `audit::append`, which hashes each as it goes.

use rusqlite::types::ToSql;
use rusqlite::Row;
use serde::{Deserialize, Serialize};

use crate::vault::record::column;
use crate::vault::record::TableRecord;

/// One entry of the access log, its time in its stored text and its hash
/// and its predecessor's as stored.
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

impl TableRecord for AuditRecord {
    const TABLE: &'static str = "audit_log";
    const COLUMNS: &'static [&'static str] = &[
        "seq",
        "at",
        "actor",
        "client_id",
        "action",
        "method",
        "path",
        "outcome",
        "reason",
        "grant_id",
        "prev_hash",
        "hash",
    ];

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(AuditRecord {
            seq: column(r, Self::COLUMNS, "seq")?,
            at: column(r, Self::COLUMNS, "at")?,
            actor: column(r, Self::COLUMNS, "actor")?,
            client_id: column(r, Self::COLUMNS, "client_id")?,
            action: column(r, Self::COLUMNS, "action")?,
            method: column(r, Self::COLUMNS, "method")?,
            path: column(r, Self::COLUMNS, "path")?,
            outcome: column(r, Self::COLUMNS, "outcome")?,
            reason: column(r, Self::COLUMNS, "reason")?,
            grant_id: column(r, Self::COLUMNS, "grant_id")?,
            prev_hash: column(r, Self::COLUMNS, "prev_hash")?,
            hash: column(r, Self::COLUMNS, "hash")?,
        })
    }

    fn values(&self) -> Vec<&dyn ToSql> {
        vec![
            &self.seq,
            &self.at,
            &self.actor,
            &self.client_id,
            &self.action,
            &self.method,
            &self.path,
            &self.outcome,
            &self.reason,
            &self.grant_id,
            &self.prev_hash,
            &self.hash,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_store;
    use crate::vault::record::tests::round_trip;

    #[test]
    fn an_audit_record_reads_back_what_it_wrote() {
        let (_d, store) = memory_store();
        store.conn.execute("DELETE FROM audit_log", []).unwrap();
        let full = AuditRecord {
            seq: 7,
            at: "2026-11-01T10:00:00.000000Z".into(),
            actor: "cli_a".into(),
            client_id: Some("cli_a".into()),
            action: "read".into(),
            method: Some("GET".into()),
            path: Some("/contact/email".into()),
            outcome: "denied".into(),
            reason: Some("out of scope".into()),
            grant_id: Some("grt_a".into()),
            prev_hash: "0".repeat(64),
            hash: "f".repeat(64),
        };
        round_trip(&store.conn, &full, &[], ("seq", &full.seq));
        let bare = AuditRecord {
            seq: 8,
            actor: "owner".into(),
            client_id: None,
            action: "passwd".into(),
            method: None,
            path: None,
            outcome: "allowed".into(),
            reason: None,
            grant_id: None,
            ..full
        };
        round_trip(&store.conn, &bare, &[], ("seq", &bare.seq));
    }
}
