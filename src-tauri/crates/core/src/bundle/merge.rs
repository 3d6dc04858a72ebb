//! What a merge does with a bundle's resources: a resource missing here is
//! added with its whole history; one present here is compared version by
//! version and, where the histories differ, left as it is and reported as a
//! conflict. Nothing here is ever overwritten. An added version's large
//! content was staged by the first pass (`staging`) and is attached here.
//! (The tables' rows are merged by [`super::tables`].)

use std::io::Read;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::layout::VersionRecord;
use super::staging::Staged;
use crate::data::path::PodPath;
use crate::data::resource::INLINE_MAX;
use crate::vault::store::Store;
use crate::{Error, Result};

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// Resources that were missing here and were added with their history.
    pub added: Vec<String>,
    /// Resources here with the same history (or a longer one).
    pub unchanged: u64,
    /// Resources whose history here differs from the bundle's: left as they are.
    pub conflicts: Vec<Conflict>,
    pub clients_added: u64,
    pub requests_added: u64,
    pub grants_added: u64,
    /// The bundle's log entries, kept in the bundle: a hash chain cannot be
    /// spliced into another.
    pub log_entries_not_merged: u64,
    /// Consent receipts that were missing here, added as they were signed.
    pub receipts_added: u64,
    /// Companies that connected by a link, missing here.
    pub linked_clients_added: u64,
    /// Their signed requests, missing here.
    pub linked_requests_added: u64,
    /// Deliveries still owed, missing here (by id), queued to be sent.
    pub deliveries_added: u64,
    /// Feed cursors of grants this vault had none for.
    pub feed_cursors_added: u64,
    /// Feed item ids taken, missing here.
    pub feed_items_seen_added: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub path: String,
    pub reason: String,
}

/// Whether the vault has no version of `path` (not even a deletion): a
/// merge adds such a resource with its whole history.
pub(super) fn path_absent(store: &Store, path: &PodPath) -> Result<bool> {
    let present: bool = store
        .conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM resource_versions WHERE path = ?1)")?
        .query_row([path.as_str()], |r| r.get(0))?;
    Ok(!present)
}

/// A merge under way: the report so far, the resource being merged, and
/// the content the first pass staged.
pub(super) struct Merging {
    pub report: MergeReport,
    path: Option<MergePath>,
    pub staged: Staged,
}

/// A resource being merged: added (absent here) or compared version by version.
struct MergePath {
    path: String,
    adding: bool,
    compared: u64,
    conflict: Option<String>,
}

impl Merging {
    pub(super) fn new(staged: Staged) -> Self {
        Merging {
            report: MergeReport::default(),
            path: None,
            staged,
        }
    }

    /// Merges one version (`content` empty for a deletion record, whose
    /// SHA-256 the manifest gives otherwise): when the resource is being
    /// added, large content takes the blob staged for it (or an identical
    /// one stored) and is not read, other content is read into the vault
    /// (streamed); when the resource is compared (by ETag and size),
    /// nothing is read.
    pub(super) fn version(
        &mut self,
        store: &Store,
        r: &VersionRecord,
        sha256: Option<&[u8; 32]>,
        content: &mut dyn Read,
    ) -> Result<()> {
        if self.path.as_ref().map(|p| p.path.as_str()) != Some(r.path.as_str()) {
            self.finish_path();
            self.path = Some(MergePath {
                path: r.path.as_str().to_string(),
                adding: path_absent(store, &r.path)?,
                compared: 0,
                conflict: None,
            });
        }
        let Some(state) = self.path.as_mut() else {
            return Err(Error::Internal("merge state lost".into()));
        };
        if state.adding {
            if let Some(sha256) = sha256.filter(|_| r.size > INLINE_MAX as u64) {
                if let Some(blob) = self.staged.attach(store, sha256)? {
                    return r.insert_blob(&store.conn, blob.id);
                }
            }
            return r.insert_from(&store.conn, content);
        }
        state.compared += 1;
        if state.conflict.is_none() {
            let mine: Option<(bool, String, u64)> = store
                .conn
                .query_row(
                    "SELECT deleted, etag, size FROM resource_versions WHERE path = ?1 AND version = ?2",
                    params![r.path.as_str(), r.version],
                    |row| Ok((row.get("deleted")?, row.get("etag")?, row.get("size")?)),
                )
                .optional()?;
            state.conflict = match mine {
                None => Some(format!(
                    "the bundle has newer versions (from version {})",
                    r.version
                )),
                Some(m) if m != (r.deleted, r.etag.clone(), r.size) => {
                    Some(format!("version {} differs from the one here", r.version))
                }
                Some(_) => None,
            };
        }
        Ok(())
    }

    /// The report, once every entry is merged.
    pub(super) fn finish(&mut self) -> MergeReport {
        self.finish_path();
        std::mem::take(&mut self.report)
    }

    /// Reports the resource merged last.
    fn finish_path(&mut self) {
        let Some(state) = self.path.take() else {
            return;
        };
        if state.adding {
            self.report.added.push(state.path);
        } else if let Some(reason) = state.conflict {
            self.report.conflicts.push(Conflict {
                path: state.path,
                reason,
            });
        } else {
            self.report.unchanged += 1;
        }
    }
}
