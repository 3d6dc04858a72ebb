//! Writing: a new version on every change (a tombstone on delete), its
//! content inline or a blob ([`Body`]; large content comes through
//! `super::stream`), the
//! live pointer moved in the same transaction, the sensitive mark kept
//! unless the person lowers it (logged as `unmark`), restoring an old
//! version as a new one. Every write and delete queues an `updated`
//! delivery for each linked company whose grant sees a difference
//! (`crate::linked::outbox`), and keeps the counts (`super::counts`), in
//! the same transaction.

use rusqlite::{params, OptionalExtension};

use crate::audit::{self, Action, NewEntry};
use crate::data::category::{Category, Sensitivity};
use crate::data::path::PodPath;
use crate::data::preferences;
use crate::data::records::VersionRecord;
use crate::vault::store::Store;
use crate::{Error, Result};

use super::content::{check_content_type, etag_of, is_json_type};
use super::counts;
use super::*;

impl Store {
    /// Writes a resource as the owner. See [`Store::put_as`].
    pub fn put(&self, path: &PodPath, new: NewResource) -> Result<ResourceMeta> {
        self.put_as(path, new, &Author::Owner)
    }

    /// Creates or updates the resource at `path`, keeping the previous
    /// version in its history. Writing the same content and metadata again
    /// changes nothing and returns the current version.
    pub fn put_as(
        &self,
        path: &PodPath,
        new: NewResource,
        author: &Author,
    ) -> Result<ResourceMeta> {
        if path.is_container() {
            return Err(Error::IsContainer {
                path: path.to_string(),
                what: "a resource path must not end in /",
            });
        }
        check_content_type(path, &new.content_type)?;
        if new.content.len() > INLINE_MAX {
            // Large content goes in chunks, as a stream would.
            let len = new.content.len() as u64;
            return self.put_stream(
                path,
                new.meta(),
                &mut new.content.as_slice(),
                Some(len),
                author,
                &mut |_| {},
            );
        }
        if is_json_type(&new.content_type) {
            serde_json::from_slice::<serde::de::IgnoredAny>(&new.content).map_err(|e| {
                Error::InvalidContent {
                    path: path.to_string(),
                    reason: format!("not valid JSON ({e})"),
                }
            })?;
        }
        preferences::validate_resource(path, &new.content_type, &new.content)?;

        // Inside a write transaction the caller holds (a feed item and its
        // log entry), the write joins it; otherwise it is its own.
        let tx = if self.conn.is_autocommit() {
            Some(self.write_tx()?)
        } else {
            None
        };
        let meta = self.write_version(path, &new.meta(), Body::Inline(&new.content), author)?;
        if let Some(tx) = tx {
            tx.commit()?;
        }
        Ok(meta)
    }

    /// Marks the live resource at `path` sensitive, or lowers its mark
    /// (logged), as a new version with the same content.
    pub fn set_sensitive(&self, path: &PodPath, sensitive: bool) -> Result<ResourceMeta> {
        let tx = self.write_tx()?;
        let current = self.live_meta(path)?.ok_or_else(|| Error::NotFound {
            path: path.to_string(),
        })?;
        let meta = NewMeta {
            content_type: current.content_type.clone(),
            category: Some(current.category),
            mark: if sensitive {
                Mark::Sensitive
            } else {
                Mark::Lower
            },
        };
        let written = match self.blob_of(path, current.version)? {
            // The same blob: no copy.
            Some(id) => self.write_version(
                path,
                &meta,
                Body::Blob {
                    id,
                    size: current.size,
                    etag: current.etag.clone(),
                },
                &Author::Owner,
            )?,
            None => {
                let content = self.get(path, None)?.content;
                self.write_version(path, &meta, Body::Inline(&content), &Author::Owner)?
            }
        };
        tx.commit()?;
        Ok(written)
    }

    /// The write itself, inside the caller's write transaction: a new
    /// version (unless nothing changed), the live pointer, and a log entry
    /// when the sensitive mark is lowered.
    pub(super) fn write_version(
        &self,
        path: &PodPath,
        new: &NewMeta,
        body: Body<'_>,
        author: &Author,
    ) -> Result<ResourceMeta> {
        let current = self.live_meta(path)?;
        let category = new
            .category
            .or(current.as_ref().map(|m| m.category))
            .unwrap_or_else(|| Category::infer_from_path(path));
        let marked = match new.mark {
            Mark::Sensitive => true,
            Mark::Lower => false,
            Mark::Keep => match &current {
                Some(m) => m.sensitivity == Sensitivity::Sensitive,
                // A deleted resource written again keeps the mark its
                // deletion record carries.
                None => self
                    .conn
                    .query_row(
                        "SELECT sensitivity FROM resource_versions WHERE path = ?1 ORDER BY version DESC LIMIT 1",
                        [path.as_str()],
                        |r| r.get::<_, String>(0),
                    )
                    .optional()?
                    .is_some_and(|s| s == Sensitivity::Sensitive.name()),
            },
        };
        let sensitivity = Sensitivity::for_category(category, marked);
        if new.mark == Mark::Lower && sensitivity == Sensitivity::Sensitive {
            return Err(Error::AlwaysSensitive {
                path: path.to_string(),
                category,
            });
        }
        let lowered = current
            .as_ref()
            .is_some_and(|m| m.sensitivity == Sensitivity::Sensitive)
            && sensitivity == Sensitivity::Normal;
        let (etag, size) = match &body {
            Body::Inline(content) => (etag_of(&new.content_type, content), content.len() as u64),
            Body::Blob { etag, size, .. } => (etag.clone(), *size),
        };
        if let Some(cur) = &current {
            if cur.etag == etag && cur.category == category && cur.sensitivity == sensitivity {
                return Ok(cur.clone());
            }
        }
        let version = self.latest_version(path)?.unwrap_or(0) + 1;
        let now = self.now();
        let record = VersionRecord {
            path: path.clone(),
            version,
            deleted: false,
            content_type: new.content_type.clone(),
            category: category.name().into(),
            sensitivity: sensitivity.name().into(),
            etag,
            size,
            author: author.as_text(),
            written_at: now.clone(),
            live_since: None,
        };
        match &body {
            Body::Inline(content) => record.insert(&self.conn, content)?,
            Body::Blob { id, .. } => record.insert_blob(&self.conn, *id)?,
        }
        self.conn.execute(
            "INSERT INTO resources (path, version, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (path) DO UPDATE SET version = excluded.version",
            params![path.as_str(), version, now],
        )?;
        match &current {
            None => counts::live_added(&self.conn, path.as_str(), category.name())?,
            Some(cur) => {
                counts::live_recategorized(&self.conn, cur.category.name(), category.name())?
            }
        }
        if lowered {
            let mut entry = NewEntry::owner(Action::Unmark);
            entry.path = Some(path.to_string());
            entry.reason = Some(format!("lowered the sensitive mark (version {version})"));
            audit::append_in(&self.conn, &now, &[entry])?;
        }
        let meta = self
            .live_meta(path)?
            .ok_or_else(|| Error::Internal("write vanished".into()))?;
        // Linked companies whose grant sees a difference are told (queued).
        let inline = match &body {
            Body::Inline(content) => Some(*content),
            Body::Blob { .. } => None,
        };
        self.queue_updates(path, current.as_ref(), Some((&meta, inline)))?;
        Ok(meta)
    }

    /// Deletes the live resource at `path`, as the owner. See [`Store::delete_as`].
    pub fn delete(&self, path: &PodPath) -> Result<u64> {
        self.delete_as(path, &Author::Owner)
    }

    /// Deletes the live resource at `path`; its versions stay in its history,
    /// followed by a deletion record. Returns the deletion record's version.
    pub fn delete_as(&self, path: &PodPath, author: &Author) -> Result<u64> {
        if path.is_container() {
            return Err(Error::IsContainer {
                path: path.to_string(),
                what: "delete its resources one by one",
            });
        }
        let tx = self.write_tx()?;
        let current = self.live_meta(path)?.ok_or_else(|| Error::NotFound {
            path: path.to_string(),
        })?;
        let version = current.version + 1;
        let before = current.clone();
        VersionRecord {
            path: path.clone(),
            version,
            deleted: true,
            content_type: current.content_type,
            category: current.category.name().into(),
            sensitivity: current.sensitivity.name().into(),
            etag: String::new(),
            size: 0,
            author: author.as_text(),
            written_at: self.now(),
            live_since: None,
        }
        .insert(&tx, &[])?;
        tx.execute("DELETE FROM resources WHERE path = ?1", [path.as_str()])?;
        counts::live_removed(&tx, path.as_str(), before.category.name())?;
        self.queue_updates(path, Some(&before), None)?;
        tx.commit()?;
        Ok(version)
    }

    /// Makes an old version of `path` the live one again by writing its
    /// content, type and category as a new version (a sensitive mark it
    /// had comes back; a mark made since stays): history
    /// only grows. Works on a deleted resource too (it comes back).
    pub fn restore_version(&self, path: &PodPath, version: u64) -> Result<ResourceMeta> {
        let old = self.open_content(path, Some(version))?.meta().clone();
        let meta = NewMeta {
            content_type: old.content_type.clone(),
            category: Some(old.category),
            // The mark never drops by itself: restoring an unmarked
            // version keeps today's mark.
            mark: if old.sensitivity == Sensitivity::Sensitive {
                Mark::Sensitive
            } else {
                Mark::Keep
            },
        };
        match self.blob_of(path, version)? {
            // The old version's blob, re-used: no copy.
            Some(id) => {
                let tx = if self.conn.is_autocommit() {
                    Some(self.write_tx()?)
                } else {
                    None
                };
                let written = self.write_version(
                    path,
                    &meta,
                    Body::Blob {
                        id,
                        size: old.size,
                        etag: old.etag,
                    },
                    &Author::Owner,
                )?;
                if let Some(tx) = tx {
                    tx.commit()?;
                }
                Ok(written)
            }
            None => {
                let content = self.get(path, Some(version))?.content;
                self.put(
                    path,
                    NewResource {
                        content,
                        content_type: meta.content_type,
                        category: meta.category,
                        mark: meta.mark,
                    },
                )
            }
        }
    }
}

/// A version's content as a write stores it.
pub(crate) enum Body<'a> {
    /// At most [`INLINE_MAX`] bytes, in the version's row.
    Inline(&'a [u8]),
    /// A complete blob, with its size and the version's ETag.
    Blob { id: i64, size: u64, etag: String },
}
