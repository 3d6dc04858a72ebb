//! A resource version as stored: a row of `resource_versions` without its
//! content, plus, on the live version, the `resources` row's creation time.
//! Read by column name and written from one column list (see
//! [`crate::vault::record`]); what a bundle carries as a version's metadata.
//! Its inserts keep the counts (`crate::data::resource::counts`): each
//! version stored, and the live row a restore or merge brings.

use std::io::Read;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};

use crate::data::path::PodPath;
use crate::data::resource::{blob, counts, INLINE_MAX};
use crate::vault::record::{self, column, OnConflict, TableRecord};
use crate::Result;

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

impl VersionRecord {
    /// The column the record leaves out (read on its own, one at a time).
    pub const CONTENT: &'static str = "content";
    /// The column naming a version's blob (local to a vault: a bundle
    /// carries the content itself).
    pub const BLOB: &'static str = "blob_id";

    /// Every version after `(path, version)` in path then version order,
    /// `?3` at most, with its live time: the query [`TableRecord::from_row`]
    /// reads.
    pub fn page_sql() -> String {
        format!(
            "SELECT {}, r.created_at AS live_since
             FROM resource_versions v
             LEFT JOIN resources r ON r.path = v.path AND r.version = v.version
             WHERE (v.path, v.version) > (?1, ?2)
             ORDER BY v.path, v.version LIMIT ?3",
            record::select_list::<VersionRecord>(Some("v"))
        )
    }

    /// Writes the version with its content and, when it is the live one,
    /// the resource's row. Content over [`INLINE_MAX`] is stored as a blob
    /// (shared with identical content already stored), inside the caller's
    /// transaction.
    pub fn insert(&self, conn: &Connection, content: &[u8]) -> Result<()> {
        if content.len() > INLINE_MAX {
            let blob = blob::write_blob(conn, &mut &content[..], &self.written_at)?;
            return self.insert_blob(conn, blob.id);
        }
        record::insert(conn, self, &[(Self::CONTENT, &content)], OnConflict::Fail)?;
        counts::version_added(conn)?;
        self.insert_live(conn)
    }

    /// [`VersionRecord::insert`] with the content read from `content`, for
    /// an import: a version whose `size` is over [`INLINE_MAX`] streams
    /// into a blob a chunk at a time, never held whole; a smaller one is
    /// read into its row. The caller checks that `content` holds `size`
    /// bytes (the bundle's reader fails when it does not).
    pub fn insert_from(&self, conn: &Connection, content: &mut dyn Read) -> Result<()> {
        if self.size > INLINE_MAX as u64 {
            let blob = blob::write_blob(conn, content, &self.written_at)?;
            return self.insert_blob(conn, blob.id);
        }
        let mut bytes = Vec::with_capacity(self.size as usize);
        content
            .take(INLINE_MAX as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| crate::Error::from_read(e, format!("reading {}", self.path)))?;
        self.insert(conn, &bytes)
    }

    /// Writes the version naming a complete blob as its content (an empty
    /// `content` column) and, when it is the live one, the resource's row.
    pub(crate) fn insert_blob(&self, conn: &Connection, blob_id: i64) -> Result<()> {
        let empty: &[u8] = &[];
        record::insert(
            conn,
            self,
            &[(Self::CONTENT, &empty), (Self::BLOB, &blob_id)],
            OnConflict::Fail,
        )?;
        counts::version_added(conn)?;
        self.insert_live(conn)
    }

    fn insert_live(&self, conn: &Connection) -> Result<()> {
        if let Some(since) = &self.live_since {
            conn.prepare_cached(
                "INSERT INTO resources (path, version, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![self.path, self.version, since])?;
            counts::live_added(conn, self.path.as_str(), &self.category)?;
        }
        Ok(())
    }
}

impl TableRecord for VersionRecord {
    const TABLE: &'static str = "resource_versions";
    const COLUMNS: &'static [&'static str] = &[
        "path",
        "version",
        "deleted",
        "content_type",
        "category",
        "sensitivity",
        "etag",
        "size",
        "author",
        "written_at",
    ];

    /// Reads a row of [`VersionRecord::page_sql`] (`live_since` included).
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(VersionRecord {
            path: column(r, Self::COLUMNS, "path")?,
            version: column(r, Self::COLUMNS, "version")?,
            deleted: column(r, Self::COLUMNS, "deleted")?,
            content_type: column(r, Self::COLUMNS, "content_type")?,
            category: column(r, Self::COLUMNS, "category")?,
            sensitivity: column(r, Self::COLUMNS, "sensitivity")?,
            etag: column(r, Self::COLUMNS, "etag")?,
            size: column(r, Self::COLUMNS, "size")?,
            author: column(r, Self::COLUMNS, "author")?,
            written_at: column(r, Self::COLUMNS, "written_at")?,
            live_since: column(r, Self::COLUMNS, "live_since")?,
        })
    }

    fn values(&self) -> Vec<&dyn ToSql> {
        vec![
            &self.path,
            &self.version,
            &self.deleted,
            &self.content_type,
            &self.category,
            &self.sensitivity,
            &self.etag,
            &self.size,
            &self.author,
            &self.written_at,
        ]
    }
}

impl ToSql for PodPath {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

/// A stored path; one that is not a pod path is a damaged row.
impl FromSql for PodPath {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        PodPath::from_stored(text)
            .map_err(|_| FromSqlError::Other(format!("bad stored path {text}").into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_store;

    fn read_back(conn: &Connection, r: &VersionRecord) -> VersionRecord {
        let page: Vec<VersionRecord> = conn
            .prepare(&VersionRecord::page_sql())
            .unwrap()
            .query_map(params!["", 0, 100], VersionRecord::from_row)
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        page.into_iter()
            .find(|p| p.path == r.path && p.version == r.version)
            .unwrap()
    }

    #[test]
    fn a_version_record_reads_back_what_it_wrote() {
        let (_d, store) = memory_store();
        let path = PodPath::parse("/notes/a%20b").unwrap();
        let deleted = VersionRecord {
            path: path.clone(),
            version: 1,
            deleted: true,
            content_type: "text/plain".into(),
            category: "other".into(),
            sensitivity: "normal".into(),
            etag: String::new(),
            size: 0,
            author: "owner".into(),
            written_at: "2026-11-01T10:00:00.000000Z".into(),
            live_since: None,
        };
        let live = VersionRecord {
            version: 2,
            deleted: false,
            etag: "\"abc\"".into(),
            size: 2,
            live_since: Some("2026-11-02T10:00:00.000000Z".into()),
            ..deleted.clone()
        };
        deleted.insert(&store.conn, b"").unwrap();
        live.insert_from(&store.conn, &mut &b"hi"[..]).unwrap();
        for r in [&deleted, &live] {
            assert_eq!(&read_back(&store.conn, r), r);
        }
        let content: Vec<u8> = store
            .conn
            .query_row(
                "SELECT content FROM resource_versions WHERE path = ?1 AND version = 2",
                [&path],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(content, b"hi");
        assert!(
            live.insert(&store.conn, b"hi").is_err(),
            "a version is written once"
        );
    }
}
