//! A version's metadata as its row holds it, read by column name, and a
//! version's content opened for reading, inline content checked against
//! its ETag (content that reads back different is damage, never data).

use rusqlite::Row;

use crate::clock::parse_time;
use crate::data::category::Sensitivity;
use crate::data::path::PodPath;
use crate::vault::record::column;
use crate::{Error, Result};

use super::*;

/// A live or historical version's metadata: the version's row (`v`) and
/// when its resource came into being (`r.created_at`), under the names
/// [`meta_from_row`] reads.
pub(crate) const META_COLUMNS: &str = "v.path AS path, v.version AS version, v.content_type AS content_type, v.category AS category, v.sensitivity AS sensitivity, v.etag AS etag, v.size AS size, r.created_at AS created_at, v.written_at AS updated_at, v.author AS author";

/// The names [`META_COLUMNS`] selects, in its order, then the content, the
/// blob and the deletion flag some reads select after them.
pub(crate) const META_THEN_CONTENT: &[&str] = &[
    "path",
    "version",
    "content_type",
    "category",
    "sensitivity",
    "etag",
    "size",
    "created_at",
    "updated_at",
    "author",
    "content",
    "blob_id",
    "deleted",
];
const META: &[&str] = META_THEN_CONTENT.split_at(10).0;

pub(crate) fn meta_from_row(row: &Row<'_>) -> rusqlite::Result<RawMeta> {
    Ok(RawMeta {
        path: column(row, META, "path")?,
        version: column(row, META, "version")?,
        content_type: column(row, META, "content_type")?,
        category: column(row, META, "category")?,
        sensitivity: column(row, META, "sensitivity")?,
        etag: column(row, META, "etag")?,
        size: column(row, META, "size")?,
        created_at: column(row, META, "created_at")?,
        updated_at: column(row, META, "updated_at")?,
        author: column(row, META, "author")?,
    })
}

/// A row as stored, before its text fields are parsed.
pub(crate) struct RawMeta {
    path: String,
    version: u64,
    content_type: String,
    category: String,
    sensitivity: String,
    etag: String,
    size: u64,
    created_at: String,
    updated_at: String,
    author: String,
}

impl RawMeta {
    pub(crate) fn parse(self) -> Result<ResourceMeta> {
        // A row that does not parse was damaged on disk (see `check_content`).
        let bad = |what: &str| Error::DatabaseDamaged {
            path: std::path::PathBuf::from(crate::vault::DB_FILE),
            reason: format!("a bad {what} is stored for {}", self.path),
        };
        Ok(ResourceMeta {
            path: PodPath::from_stored(&self.path).map_err(|_| bad("path"))?,
            version: self.version,
            category: self.category.parse().map_err(|_| bad("category"))?,
            sensitivity: match self.sensitivity.as_str() {
                "sensitive" => Sensitivity::Sensitive,
                "normal" => Sensitivity::Normal,
                _ => return Err(bad("sensitivity")),
            },
            etag: self.etag,
            size: self.size,
            created_at: parse_time(&self.created_at).map_err(|_| bad("time"))?,
            updated_at: parse_time(&self.updated_at).map_err(|_| bad("time"))?,
            author: Author::from_text(&self.author),
            content_type: self.content_type,
        })
    }
}

/// A stored row and its content (inline bytes, or the blob it names) as a
/// reader; inline content is checked against its ETag here (a damaged page
/// can read back as other bytes), a blob's chunks as they are read.
pub(super) fn checked_reader(
    conn: &rusqlite::Connection,
    raw: RawMeta,
    content: Vec<u8>,
    blob: Option<i64>,
) -> Result<ContentReader<'_>> {
    let meta = raw.parse()?;
    if let Some(id) = blob {
        return Ok(ContentReader::blob(conn, meta, id));
    }
    check_content(
        meta.path.as_str(),
        meta.version,
        &meta.content_type,
        &meta.etag,
        &content,
    )?;
    Ok(ContentReader::inline(meta, content))
}
