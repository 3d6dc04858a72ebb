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
    self, AuditRecord, CheckedRecord, ClientRecord, GrantRecord, LinkedClientRecord,
    LinkedRequestRecord, PodKeyRecord, ReceiptRecord, RequestRecord,
};
use super::Counts;
use crate::vault::record::{self, OnConflict, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

/// Rows fetched per query.
const PAGE: i64 = 512;

/// A page of a table: the rows after a key, as JSON lines, each with its key.
pub(super) type PageFn = fn(&Store, &Value) -> Result<Vec<(Value, Vec<u8>)>>;

/// One table a bundle carries.
pub(super) struct Table {
    /// The table in the schema (checked against it in the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub table: &'static str,
    /// Its JSON Lines entry in the bundle.
    pub file: &'static str,
    /// The key before the first row (keyset pagination).
    pub first_key: fn() -> Value,
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
        "outbox",
        "deliveries this vault owes companies, signed by its key for its requests: a restored vault is told again by the person (Send now), and a bundle must not resend what was delivered",
    ),
    (
        "feed_cursors",
        "where this desktop stands in each company's feed: a restored vault fetches the feed again and the items already taken are refused as replays only here, so a cursor without them would skip items",
    ),
    (
        "feed_seen",
        "feed item ids taken by this vault; the resources they became travel in the resource walk",
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
    /// The key column export pages by.
    const KEY: &'static str;
    /// The key before the first row: most tables are keyed by text ids.
    fn first_key() -> Value {
        Value::Text(String::new())
    }
    /// This record's key.
    fn key(&self) -> Value;
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

fn page<T: Exported>(store: &Store, after: &Value) -> Result<Vec<(Value, Vec<u8>)>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {key} > ?1 ORDER BY {key} LIMIT ?2",
        record::select_list::<T>(None),
        T::TABLE,
        key = T::KEY
    );
    let mut stmt = store.conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params![after, PAGE], T::from_row)?;
    let mut out = Vec::new();
    for row in rows {
        let record = row?;
        out.push((record.key(), json_line(&record)?));
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
        Target::Restore => {
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
    const KEY: &'static str = "id";
    fn key(&self) -> Value {
        Value::Text(self.id.clone())
    }
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.clients_added)
    }
}

impl Exported for RequestRecord {
    const KEY: &'static str = "id";
    fn key(&self) -> Value {
        Value::Text(self.id.clone())
    }
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
    const KEY: &'static str = "id";
    fn key(&self) -> Value {
        Value::Text(self.id.clone())
    }
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.grants_added)
    }
}

impl Exported for AuditRecord {
    const KEY: &'static str = "seq";
    fn first_key() -> Value {
        Value::Integer(0)
    }
    fn key(&self) -> Value {
        Value::Integer(self.seq as i64)
    }
    /// A hash chain cannot be spliced into another: a merge leaves the
    /// bundle's log entries in the bundle.
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::LeaveInBundle(&mut report.log_entries_not_merged)
    }
}

impl Exported for ReceiptRecord {
    const KEY: &'static str = "id";
    fn key(&self) -> Value {
        Value::Text(self.id.clone())
    }
    /// Receipts are signed records: one the vault is missing is added as
    /// it was signed (a receipt from another vault says so when verified).
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.receipts_added)
    }
}

impl Exported for LinkedClientRecord {
    const KEY: &'static str = "client_id";
    fn key(&self) -> Value {
        Value::Text(self.client_id.clone())
    }
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.linked_clients_added)
    }
}

impl Exported for LinkedRequestRecord {
    const KEY: &'static str = "request_id";
    fn key(&self) -> Value {
        Value::Text(self.request_id.clone())
    }
    fn merge(report: &mut MergeReport) -> Merge<'_> {
        Merge::AddMissing(&mut report.linked_requests_added)
    }
}

impl Exported for PodKeyRecord {
    const KEY: &'static str = "public";
    fn key(&self) -> Value {
        Value::Text(self.public.clone())
    }
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
mod tests {
    use super::*;
    use crate::testing::memory_store;

    /// Every table of the schema is either carried by a bundle or left out
    /// on purpose, with the reason beside it: a new table holding person
    /// data cannot be forgotten by export.
    #[test]
    fn every_table_of_the_schema_is_listed_or_left_out_with_a_reason() {
        let (_d, store) = memory_store();
        let tables: Vec<String> = store
            .conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for table in &tables {
            let listed = TABLES.iter().any(|t| t.table == table);
            let left_out = NOT_LISTED
                .iter()
                .any(|(t, why)| t == table && !why.is_empty());
            assert!(
                listed != left_out,
                "{table}: add it to the bundle's TABLES or say in NOT_LISTED why not"
            );
        }
        for name in TABLES
            .iter()
            .map(|t| t.table)
            .chain(NOT_LISTED.iter().map(|(t, _)| *t))
        {
            assert!(
                tables.iter().any(|t| t == name),
                "{name} is not in the schema"
            );
        }
    }

    const JWKS: &str = r#"{"keys":[{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    /// The JSON lines a bundle holds for stored rows, byte for byte: the
    /// bundle format, which bundles already written must keep reading as.
    #[test]
    fn the_json_lines_are_the_bundle_format() {
        let (_d, store) = memory_store();
        let t1 = "2026-11-01T10:00:00.000000Z";
        let t2 = "2026-11-02T10:00:00.000000Z";
        let details = r#"[{"actions":["read"],"paths":["/contact/"],"type":"pod_access"}]"#;
        store
            .conn
            .execute_batch(&format!(
                "DELETE FROM audit_log;
                 INSERT INTO clients VALUES ('cli_a', 'Acme', NULL, '[\"a@acme.example\"]', '{t1}');
                 INSERT INTO access_requests VALUES ('req_a', 'cli_a', '{details}', 3600, 'WDJB-MJHT',
                     'secret-hash', 'approved', 5, '{t1}', '{t2}', NULL, '{t2}', 'grt_a');
                 INSERT INTO grants VALUES ('grt_a', 'cli_a', 'req_a', '{details}', '{t1}', '{t2}', NULL);
                 INSERT INTO audit_log VALUES (1, '{t1}', 'owner', NULL, 'grant', NULL, NULL, 'allowed',
                     'granted', 'grt_a', '{genesis}', 'abc');
                 INSERT INTO resource_versions VALUES ('/notes/a', 1, 0, 'text/plain', 'other', 'normal',
                     '\"e\"', 2, x'6869', 'owner', '{t1}');
                 INSERT INTO resource_versions VALUES ('/notes/a', 2, 1, 'text/plain', 'other', 'normal',
                     '', 0, x'', 'owner', '{t2}');
                 INSERT INTO resource_versions VALUES ('/notes/b', 1, 0, 'text/plain', 'other', 'normal',
                     '\"e\"', 2, x'6869', 'owner', '{t1}');
                 INSERT INTO resources VALUES ('/notes/b', 1, '{t1}');
                 INSERT INTO receipts VALUES ('rcp_a', 'cli_a', 'grt_a', 'req_a', 'given', '{t2}', 'h.p.s');
                 INSERT INTO linked_clients VALUES ('https://shop.test/c', 'shop.test', '{{\"client_id\":\"https://shop.test/c\"}}',
                     '{jwks}', NULL, 'https://shop.test/d', NULL, NULL, NULL, NULL, '{t1}');
                 INSERT INTO linked_requests VALUES ('req_l', 'https://shop.test/c', 'https://shop.test/r', 'st', 'j1',
                     'h.p.s', NULL, '{t1}');
                 DELETE FROM pod_key;
                 INSERT INTO pod_key VALUES (1,
                     x'9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
                     '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', '{t1}');",
                genesis = crate::audit::GENESIS,
                jwks = JWKS,
            ))
            .unwrap();
        let lines = |table: &Table| -> String {
            let rows = (table.page)(&store, &(table.first_key)()).unwrap();
            String::from_utf8(rows.into_iter().flat_map(|(_, l)| l).collect()).unwrap()
        };
        let expected = [
            (
                layout::CLIENTS,
                format!(
                    r#"{{"id":"cli_a","name":"Acme","uri":null,"contacts":["a@acme.example"],"created_at":"{t1}"}}"#
                ),
            ),
            (
                layout::REQUESTS,
                format!(
                    r#"{{"id":"req_a","client_id":"cli_a","details":{details},"grant_lifetime":3600,"user_code":"WDJB-MJHT","status":"approved","poll_interval":5,"created_at":"{t1}","expires_at":"{t2}","last_polled_at":null,"decided_at":"{t2}","grant_id":"grt_a"}}"#
                ),
            ),
            (
                layout::GRANTS,
                format!(
                    r#"{{"id":"grt_a","client_id":"cli_a","request_id":"req_a","details":{details},"created_at":"{t1}","expires_at":"{t2}","revoked_at":null}}"#
                ),
            ),
            (
                layout::AUDIT,
                format!(
                    r#"{{"seq":1,"at":"{t1}","actor":"owner","client_id":null,"action":"grant","method":null,"path":null,"outcome":"allowed","reason":"granted","grant_id":"grt_a","prev_hash":"{}","hash":"abc"}}"#,
                    crate::audit::GENESIS
                ),
            ),
            (
                layout::RECEIPTS,
                format!(
                    r#"{{"id":"rcp_a","client_id":"cli_a","grant_id":"grt_a","request_id":"req_a","event":"given","issued_at":"{t2}","jws":"h.p.s"}}"#
                ),
            ),
            (
                layout::LINKED_CLIENTS,
                format!(
                    r#"{{"client_id":"https://shop.test/c","host":"shop.test","metadata":{{"client_id":"https://shop.test/c"}},"jwks":{JWKS},"jwks_uri":null,"delivery_uri":"https://shop.test/d","feed_uri":null,"logo_uri":null,"policy_uri":null,"client_uri":null,"fetched_at":"{t1}"}}"#
                ),
            ),
            (
                layout::LINKED_REQUESTS,
                format!(
                    r#"{{"request_id":"req_l","client_id":"https://shop.test/c","request_uri":"https://shop.test/r","state":"st","jti":"j1","request_object":"h.p.s","grant_id":null,"created_at":"{t1}"}}"#
                ),
            ),
            (
                // RFC 8037 A.1's key: the seed as base64url, its public x.
                layout::POD_KEY,
                format!(
                    r#"{{"secret":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","public":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","created_at":"{t1}"}}"#
                ),
            ),
        ];
        for table in TABLES {
            let (_, want) = expected.iter().find(|(f, _)| *f == table.file).unwrap();
            assert_eq!(lines(table), format!("{want}\n"), "{}", table.file);
        }

        let versions: Vec<String> = store
            .conn
            .prepare(&layout::VersionRecord::page_sql())
            .unwrap()
            .query_map(
                rusqlite::params!["", 0, 10],
                layout::VersionRecord::from_row,
            )
            .unwrap()
            .map(|r| String::from_utf8(json_line(&r.unwrap()).unwrap()).unwrap())
            .collect();
        let version = |path: &str, v: u64, deleted: bool, etag: &str, size: u64, at: &str| {
            format!(
                r#"{{"path":"{path}","version":{v},"deleted":{deleted},"content_type":"text/plain","category":"other","sensitivity":"normal","etag":"{etag}","size":{size},"author":"owner","written_at":"{at}""#
            )
        };
        assert_eq!(
            versions,
            [
                format!("{}}}\n", version("/notes/a", 1, false, r#"\"e\""#, 2, t1)),
                format!("{}}}\n", version("/notes/a", 2, true, "", 0, t2)),
                format!(
                    "{},\"live_since\":\"{t1}\"}}\n",
                    version("/notes/b", 1, false, r#"\"e\""#, 2, t1)
                ),
            ]
        );
    }

    #[test]
    fn each_table_has_its_own_file() {
        for (i, t) in TABLES.iter().enumerate() {
            assert!(t.file.ends_with(".jsonl"), "{}", t.file);
            assert!(TABLES[..i]
                .iter()
                .all(|u| u.file != t.file && u.table != t.table));
        }
    }
}
