//! Reading: a resource (live or a past version, whole or as a stream of
//! chunks), its live metadata, its
//! history, a container's members (all of them, or as seen by someone who
//! may see only some), and the counts `status` shows.

use rusqlite::{params, OptionalExtension};

use crate::clock::parse_time;
use crate::data::path::PodPath;
use crate::data::records::VersionRecord;
use crate::vault::record::{self, column, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

use super::row::{checked_reader, META_THEN_CONTENT};
use super::*;

impl Store {
    /// Reads the live resource at `path`, or one of its versions, whole.
    /// Content over [`INLINE_MAX`] is for tests and small callers: doors
    /// stream it with [`Store::open_content`].
    pub fn get(&self, path: &PodPath, version: Option<u64>) -> Result<Resource> {
        let reader = self.open_content(path, version)?;
        let meta = reader.meta().clone();
        Ok(Resource {
            content: reader.into_bytes()?,
            meta,
        })
    }

    /// Opens the live resource at `path`, or one of its versions, for
    /// reading, without loading a blob: its chunks are read as the reader
    /// goes.
    pub fn open_content(&self, path: &PodPath, version: Option<u64>) -> Result<ContentReader<'_>> {
        if path.is_container() {
            return Err(Error::IsContainer {
                path: path.to_string(),
                what: "list it instead",
            });
        }
        match version {
            None => {
                let sql = format!(
                    "SELECT {META_COLUMNS}, v.content AS content, v.blob_id AS blob_id FROM resources r
                     JOIN resource_versions v ON v.path = r.path AND v.version = r.version
                     WHERE r.path = ?1"
                );
                let found = self
                    .conn
                    .prepare_cached(&sql)?
                    .query_row([path.as_str()], |row| {
                        Ok((
                            meta_from_row(row)?,
                            column::<Vec<u8>>(row, META_THEN_CONTENT, "content")?,
                            column::<Option<i64>>(row, META_THEN_CONTENT, "blob_id")?,
                        ))
                    })
                    .optional()?;
                let Some((raw, content, blob)) = found else {
                    return Err(match self.latest_version(path)? {
                        Some(version) => Error::Deleted {
                            path: path.to_string(),
                            version,
                        },
                        None => Error::NotFound {
                            path: path.to_string(),
                        },
                    });
                };
                checked_reader(&self.conn, raw, content, blob)
            }
            Some(n) => self.open_version(path, n),
        }
    }

    fn open_version(&self, path: &PodPath, n: u64) -> Result<ContentReader<'_>> {
        let latest = self.latest_version(path)?.ok_or_else(|| Error::NotFound {
            path: path.to_string(),
        })?;
        // created_at of a historical version: when its run of versions began,
        // i.e. the first version after the last deletion before it.
        let sql = format!(
            "SELECT {META_COLUMNS}, v.content AS content, v.blob_id AS blob_id, v.deleted AS deleted FROM resource_versions v
             JOIN (SELECT coalesce(
                       (SELECT min(written_at) FROM resource_versions
                        WHERE path = ?1 AND version > coalesce(
                            (SELECT max(version) FROM resource_versions
                             WHERE path = ?1 AND deleted = 1 AND version < ?2), 0)),
                       '') AS created_at) r
             WHERE v.path = ?1 AND v.version = ?2"
        );
        let found = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![path.as_str(), n], |row| {
                Ok((
                    meta_from_row(row)?,
                    column::<Vec<u8>>(row, META_THEN_CONTENT, "content")?,
                    column::<Option<i64>>(row, META_THEN_CONTENT, "blob_id")?,
                    column::<bool>(row, META_THEN_CONTENT, "deleted")?,
                ))
            })
            .optional()?;
        match found {
            None => Err(Error::VersionNotFound {
                path: path.to_string(),
                version: n,
                latest,
            }),
            Some((_, _, _, true)) => Err(Error::InvalidContent {
                path: path.to_string(),
                reason: format!("version {n} is the record of its deletion and has no content"),
            }),
            Some((raw, content, blob, false)) => checked_reader(&self.conn, raw, content, blob),
        }
    }

    /// The blob a version's content is in, if it is one.
    pub(super) fn blob_of(&self, path: &PodPath, version: u64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT blob_id FROM resource_versions WHERE path = ?1 AND version = ?2",
            )?
            .query_row(params![path.as_str(), version], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// The live resource's metadata, if there is one.
    pub fn live_meta(&self, path: &PodPath) -> Result<Option<ResourceMeta>> {
        let sql = format!(
            "SELECT {META_COLUMNS} FROM resources r
             JOIN resource_versions v ON v.path = r.path AND v.version = r.version
             WHERE r.path = ?1"
        );
        self.conn
            .prepare_cached(&sql)?
            .query_row([path.as_str()], meta_from_row)
            .optional()?
            .map(RawMeta::parse)
            .transpose()
    }

    pub(super) fn latest_version(&self, path: &PodPath) -> Result<Option<u64>> {
        Ok(self.conn.query_row(
            "SELECT max(version) FROM resource_versions WHERE path = ?1",
            [path.as_str()],
            |r| r.get(0),
        )?)
    }

    /// Every version of `path`, oldest first, deletions included.
    pub fn history(&self, path: &PodPath) -> Result<Vec<VersionInfo>> {
        if path.is_container() {
            return Err(Error::IsContainer {
                path: path.to_string(),
                what: "history is kept per resource",
            });
        }
        let sql = format!(
            "SELECT {}, NULL AS live_since FROM resource_versions WHERE path = ?1 ORDER BY version",
            record::select_list::<VersionRecord>(None)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([path.as_str()], VersionRecord::from_row)?;
        let mut out = Vec::new();
        for row in rows {
            let row = row?;
            out.push(VersionInfo {
                version: row.version,
                deleted: row.deleted,
                content_type: row.content_type,
                category: row.category.parse()?,
                etag: row.etag,
                size: row.size,
                written_at: parse_time(&row.written_at)?,
                author: Author::from_text(&row.author),
            });
        }
        if out.is_empty() {
            return Err(Error::NotFound {
                path: path.to_string(),
            });
        }
        Ok(out)
    }

    /// The direct members of a container: its resources and sub-containers,
    /// sorted by path. A container exists while something lives under it;
    /// the root always exists.
    pub fn list(&self, container: &PodPath) -> Result<Vec<ListEntry>> {
        self.list_where(container, |_| true)
    }

    /// [`Store::list`] as seen by someone who may see only the resources
    /// `visible` accepts: a sub-container is listed only when it holds one
    /// of them, and a container holding none is not found, exactly like
    /// an empty one (a company's listing tells nothing of what it cannot
    /// read).
    pub fn list_where(
        &self,
        container: &PodPath,
        visible: impl Fn(&ResourceMeta) -> bool,
    ) -> Result<Vec<ListEntry>> {
        if !container.is_container() {
            return Err(Error::InvalidContent {
                path: container.to_string(),
                reason: "a container path ends in / (to read a resource, use get)".into(),
            });
        }
        let prefix = container.as_str();
        let upper = format!("{prefix}\u{10FFFF}");
        let sql = format!(
            "SELECT {META_COLUMNS} FROM resources r
             JOIN resource_versions v ON v.path = r.path AND v.version = r.version
             WHERE r.path >= ?1 AND r.path < ?2 ORDER BY r.path"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([prefix, upper.as_str()], meta_from_row)?;
        let mut entries: Vec<ListEntry> = Vec::new();
        for row in rows {
            let meta = row?.parse()?;
            if !visible(&meta) {
                continue;
            }
            let rest = &meta.path.as_str()[prefix.len()..];
            match rest.find('/') {
                None => entries.push(ListEntry::Resource(meta)),
                Some(i) => {
                    let child = format!("{prefix}{}", &rest[..=i]);
                    match entries.last_mut() {
                        Some(ListEntry::Container { path, members }) if path.as_str() == child => {
                            *members += 1
                        }
                        _ => entries.push(ListEntry::Container {
                            path: PodPath::from_stored(&child)
                                .map_err(|_| Error::Internal(format!("bad stored path {child}")))?,
                            members: 1,
                        }),
                    }
                }
            }
        }
        if entries.is_empty() && container.parent().is_some() {
            return Err(Error::NotFound {
                path: container.to_string(),
            });
        }
        entries.sort_by(|a, b| a.path().cmp(b.path()));
        Ok(entries)
    }

    /// How many live resources and versions the vault holds.
    pub fn resource_counts(&self) -> Result<ResourceCounts> {
        let mut counts = ResourceCounts {
            versions: self
                .conn
                .query_row("SELECT count(*) FROM resource_versions", [], |r| r.get(0))?,
            ..Default::default()
        };
        let mut stmt = self.conn.prepare(
            "SELECT v.category, count(*) FROM resources r
             JOIN resource_versions v ON v.path = r.path AND v.version = r.version
             GROUP BY v.category ORDER BY v.category",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))? {
            let (category, n) = row?;
            counts.resources += n;
            counts.by_category.insert(category, n);
        }
        Ok(counts)
    }
}
