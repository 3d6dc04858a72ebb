//! The vault's tables a bundle carries as JSON Lines, as one list
//! ([`TABLES`]): for each, its bundle file, its record type, the page query
//! export reads it by, and how import writes a record back (restored, or
//! merged into a vault that has rows of its own). Export's walk and
//! import's second pass iterate this list; every other table of the schema
//! is named in [`NOT_LISTED`] with the reason it is not in it.

use std::path::Path;

use rusqlite::types::Value;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::apply::Target;
use super::import::MergeReport;
use super::layout::{
    self, AuditRecord, CheckedRecord, ClientRecord, FeedCursorRecord, FeedSeenRecord, GrantRecord,
    LinkedClientRecord, LinkedRequestRecord, OutboxRecord, PodKeyRecord, ReceiptRecord,
    RequestRecord,
};
use super::Counts;
use crate::vault::record::{self, OnConflict, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

/// Rows fetched per query.
const PAGE: i64 = 512;

/// A row's key: its key columns' values, in order.
pub(super) type Key = Vec<Value>;

/// A page of a table: the rows after a key, as JSON lines, each with its key.
pub(super) type PageFn = fn(&Store, &[Value]) -> Result<Vec<(Key, Vec<u8>)>>;

/// One table a bundle carries.
pub(super) struct Table {
    /// The table in the schema (checked against it in the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub table: &'static str,
    /// Its JSON Lines entry in the bundle.
    pub file: &'static str,
    /// The key before the first row (keyset pagination).
    pub first_key: fn() -> Key,
    /// The rows after a key, as JSON lines, each with its key.
    pub page: PageFn,
    /// Where export counts its rows.
    pub counted: fn(&mut Counts) -> &mut u64,
    /// Writes one line of the entry into the vault.
    pub put: fn(&Store, &Path, &str, &[u8], &mut Target) -> Result<()>,
    /// Holds a secret: in the encrypted bundle only, never in a plain export.
    pub secret: bool,
}

/// The tables, in bundle order.
pub(super) const TABLES: &[Table] = &[
    Table::of::<ClientRecord>(layout::CLIENTS, |c| &mut c.clients),
    Table::of::<RequestRecord>(layout::REQUESTS, |c| &mut c.requests),
    Table::of::<GrantRecord>(layout::GRANTS, |c| &mut c.grants),
    Table::of::<AuditRecord>(layout::AUDIT, |c| &mut c.audit_entries),
    Table::of::<ReceiptRecord>(layout::RECEIPTS, |c| &mut c.receipts),
    Table::secret::<PodKeyRecord>(layout::POD_KEY, |c| &mut c.pod_keys),
    Table::of::<LinkedClientRecord>(layout::LINKED_CLIENTS, |c| &mut c.linked_clients),
    Table::of::<LinkedRequestRecord>(layout::LINKED_REQUESTS, |c| &mut c.linked_requests),
    Table::of::<OutboxRecord>(layout::OUTBOX, |c| &mut c.deliveries_owed),
    Table::of::<FeedCursorRecord>(layout::FEED_CURSORS, |c| &mut c.feed_cursors),
    Table::of::<FeedSeenRecord>(layout::FEED_SEEN, |c| &mut c.feed_items_seen),
];

/// The schema's tables that are not in [`TABLES`], and why (checked
/// against the schema in the tests).
#[cfg_attr(not(test), allow(dead_code))]
pub(super) const NOT_LISTED: &[(&str, &str)] = &[
    (
        "resources",
        "exported by the resource walk: each live version's metadata says since when",
    ),
    (
        "resource_versions",
        "exported by the resource walk: one metadata and one content entry per version",
    ),
    (
        "tokens",
        "only token hashes: no secret or its digest ever leaves a vault",
    ),
    (
        "vault_meta",
        "the vault's own id and settings: a restored vault gets new ones",
    ),
    (
        "change_counter",
        "a counter for readers' caches, no person data",
    ),
    ("schema_migrations", "the schema's version, no person data"),
    (
        "container_counts",
        "derived from the resources, never exported: a restore or merge keeps it as it writes each version",
    ),
    (
        "category_counts",
        "derived from the resources, never exported: a restore or merge keeps it as it writes each version",
    ),
    (
        "version_total",
        "derived from the versions, never exported: a restore or merge keeps it as it writes each version",
    ),
    (
        "blobs",
        "large content's storage: a version's content travels as its own entry, whatever its size",
    ),
    (
        "blob_chunks",
        "large content's storage: a version's content travels as its own entry, whatever its size",
    ),
    (
        "sqlite_sequence",
        "SQLite's own record of the highest blob id (blobs.id is AUTOINCREMENT), no person data",
    ),
];

/// What a merge does with a table's records.
enum Merge<'a> {
    /// Adds those the vault is missing (by key), counting them here.
    AddMissing(&'a mut u64),
    /// Leaves them all in the bundle, counting them here.
    LeaveInBundle(&'a mut u64),
    /// Keeps the vault's own (its identity), counting nothing.
    KeepOurs,
}

/// A table's record as a bundle carries it.
trait Exported: TableRecord + Serialize + DeserializeOwned + CheckedRecord {
    /// The key columns export pages by (a unique key, in its order).
    const KEY: &'static [&'static str];
    /// Which rows a bundle carries (an SQL condition): most tables, all.
    const ROWS: &'static str = "1";
    /// The key before the first row: most tables are keyed by text ids.
    fn first_key() -> Key {
        Self::KEY
            .iter()
            .map(|_| Value::Text(String::new()))
            .collect()
    }
    /// What a merge does with the table's records, and where it counts them.
    fn merge(report: &mut MergeReport) -> Merge<'_>;
    /// Writes the record into a vault.
    fn write(self, store: &Store, on_conflict: OnConflict) -> Result<usize> {
        record::insert(&store.conn, &self, &[], on_conflict)
    }
}

impl Table {
    const fn of<T: Exported>(file: &'static str, counted: fn(&mut Counts) -> &mut u64) -> Table {
        Table {
            table: T::TABLE,
            file,
            first_key: T::first_key,
            page: page::<T>,
            counted,
            put: put::<T>,
            secret: false,
        }
    }

    /// A table holding a secret (the pod's key): encrypted bundles only.
    const fn secret<T: Exported>(
        file: &'static str,
        counted: fn(&mut Counts) -> &mut u64,
    ) -> Table {
        let mut t = Table::of::<T>(file, counted);
        t.secret = true;
        t
    }
}

fn page<T: Exported>(store: &Store, after: &[Value]) -> Result<Vec<(Key, Vec<u8>)>> {
    let keys = T::KEY.join(", ");
    let marks: Vec<String> = (1..=T::KEY.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "SELECT {}, {keys} FROM {} WHERE ({keys}) > ({}) AND ({}) ORDER BY {keys} LIMIT ?{}",
        record::select_list::<T>(None),
        T::TABLE,
        marks.join(", "),
        T::ROWS,
        T::KEY.len() + 1,
    );
    let mut stmt = store.conn.prepare_cached(&sql)?;
    let limit = Value::Integer(PAGE);
    let params = rusqlite::params_from_iter(after.iter().chain([&limit]));
    let first = T::COLUMNS.len();
    let rows = stmt.query_map(params, |r| {
        let key = (first..first + T::KEY.len())
            .map(|i| r.get::<_, Value>(i))
            .collect::<rusqlite::Result<Key>>()?;
        Ok((key, T::from_row(r)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, record) = row?;
        out.push((key, json_line(&record)?));
    }
    Ok(out)
}

/// One record as a line of JSON.
pub(super) fn json_line<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut line = serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?;
    line.push(b'\n');
    Ok(line)
}

fn put<T: Exported>(
    store: &Store,
    bundle: &Path,
    name: &str,
    line: &[u8],
    target: &mut Target,
) -> Result<()> {
    let record: T = parse_row(bundle, name, line)?;
    match target {
        Target::Restore { .. } => {
            record.write(store, OnConflict::Fail)?;
        }
        Target::Merge(merging) => match T::merge(&mut merging.report) {
            Merge::AddMissing(added) => *added += record.write(store, OnConflict::Ignore)? as u64,
            Merge::LeaveInBundle(left) => *left += 1,
            Merge::KeepOurs => {}
        },
    }
    Ok(())
}

/// A bundle entry's JSON, or the error that says it is not what this
/// Custodian expects.
pub(super) fn parse_record<T: DeserializeOwned>(
    bundle: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::BundleFormat {
        path: bundle.to_path_buf(),
        reason: format!("{name} does not hold what this Custodian expects ({e})"),
    })
}

/// A table's record, parsed and checked in its typed form before any row
/// is written.
fn parse_row<T: DeserializeOwned + CheckedRecord>(
    bundle: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<T> {
    let record: T = parse_record(bundle, name, bytes)?;
    record.check().map_err(|why| Error::BundleFormat {
        path: bundle.to_path_buf(),
        reason: format!("{name} holds a record that is not valid ({why})"),
    })?;
    Ok(record)
}

impl Exported for ClientRecord {
    const KEY: &'static [&'static str] = &["id"];
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.clients_added)
    }
}

impl Exported for RequestRecord {
    const KEY: &'static [&'static str] = &["id"];
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.requests_added)
    }
    fn write(mut self, store: &Store, on_conflict: OnConflict) -> Result<usize> {
        // No company can ever poll a restored request (its device code
        // stays behind), so one still waiting arrives expired: a merge
        // cannot add requests the person would answer in vain.
        if self.status == "pending" {
            self.status = "expired".into();
        }
        // The device code never leaves a vault: a restored request can
        // be read, but never polled.
        let no_code = format!("not-exported:{}", self.id);
        record::insert(
            &store.conn,
            &self,
            &[(RequestRecord::DEVICE_CODE_HASH, &no_code)],
            on_conflict,
        )
    }
}

impl Exported for GrantRecord {
    const KEY: &'static [&'static str] = &["id"];
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.grants_added)
    }
}

impl Exported for AuditRecord {
    const KEY: &'static [&'static str] = &["seq"];
    fn first_key() -> Key {
        vec![Value::Integer(0)]
    }
    /// A hash chain cannot be spliced into another: a merge leaves the
    /// bundle's log entries in the bundle.
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::LeaveInBundle(&mut report.log_entries_not_merged)
    }
}

impl Exported for ReceiptRecord {
    const KEY: &'static [&'static str] = &["id"];
    /// Receipts are signed records: one the vault is missing is added as
    /// it was signed (a receipt from another vault says so when verified).
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.receipts_added)
    }
}

impl Exported for LinkedClientRecord {
    const KEY: &'static [&'static str] = &["client_id"];
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.linked_clients_added)
    }
}

impl Exported for LinkedRequestRecord {
    const KEY: &'static [&'static str] = &["request_id"];
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.linked_requests_added)
    }
    /// The vault the bundle came from may have numbered more deliveries
    /// after it was made: a request added from a bundle counts on past
    /// any number it may have used (a request already here keeps its own).
    fn write(mut self, store: &Store, on_conflict: OnConflict) -> Result<usize> {
        self.last_seq = crate::linked::records::restored_seq(self.last_seq, store.clock.now());
        record::insert(&store.conn, &self, &[], on_conflict)
    }
}

impl Exported for OutboxRecord {
    /// In the order queued: a restored vault sends each request's
    /// deliveries in the same order.
    const KEY: &'static [&'static str] = &["seq"];
    /// What is still owed: delivered and moot ones stay behind, so a
    /// restored vault never resends what a company already has.
    const ROWS: &'static str = "status IN ('queued', 'failed')";
    fn first_key() -> Key {
        vec![Value::Integer(0)]
    }
    /// One the vault holds already (same id) is not added twice.
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.deliveries_added)
    }
}

impl Exported for FeedCursorRecord {
    const KEY: &'static [&'static str] = &["grant_id"];
    /// The vault's own cursor for a grant is kept.
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.feed_cursors_added)
    }
}

impl Exported for FeedSeenRecord {
    const KEY: &'static [&'static str] = &["client_id", "jti"];
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.feed_items_seen_added)
    }
}

impl Exported for PodKeyRecord {
    const KEY: &'static [&'static str] = &["public"];
    /// A vault keeps its own identity: a merge never replaces its key.
    fn merge(_: &mut MergeReport) -> Merge<'_> {
        Merge::KeepOurs
    }
    /// A restore replaces the key the new vault was made with, so the
    /// restored vault signs as the one exported.
    fn write(self, store: &Store, _: OnConflict) -> Result<usize> {
        store.conn.execute("DELETE FROM pod_key", [])?;
        record::insert(&store.conn, &self, &[("id", &1)], OnConflict::Fail)
    }
}

#[cfg(test)]
#[path = "tables_tests.rs"]
mod tests;
