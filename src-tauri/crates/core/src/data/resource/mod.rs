//! Resources: content at a pod path, with metadata and a full history.
//!
//! Every write appends a version to `resource_versions`; a delete appends a
//! tombstone. `resources` only points at the live version. So an update or a
//! delete never loses the previous content.
//!
//! Content of at most [`INLINE_MAX`] bytes is stored inline in its version's
//! row; larger content is a blob of [`CHUNK`]-sized chunks ([`blob`]),
//! written a batch at a time from a stream ([`stream`]) and read back a
//! chunk at a time ([`ContentReader`]).
//!
//! The types are here; what may be stored and its ETag in [`content`],
//! reading a version's row back (checked against its ETag) in `row`,
//! writes and deletes in [`write`](mod@write), reads and history in
//! [`read`], listings a page at a time in [`list`] (with the sealed
//! cursors of a company's pages in `cursor`), the counts a listing and
//! `status` show, kept beside the rows, in [`counts`]; large test
//! vaults built many writes a transaction in `bulk` (feature `test-support`).

pub mod blob;
#[cfg(any(test, feature = "test-support"))]
pub mod bulk;
pub mod content;
mod count_check;
pub mod counts;
pub(crate) mod cursor;
pub mod list;
pub mod read;
pub(crate) mod row;
pub mod stream;
pub mod write;

pub use blob::ContentReader;

pub(crate) use content::check_content;
pub use list::{ListPage, ListView, LIST_DEFAULT, LIST_MAX};
pub(crate) use row::{meta_from_row, RawMeta, META_COLUMNS};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::data::category::{Category, Sensitivity};
use crate::data::path::PodPath;
use crate::Result;

/// The content type used when none is given and the content is JSON.
pub const JSON: &str = "application/json";
/// The content type for arbitrary bytes.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The size of a blob's chunks (the last one is shorter).
pub const CHUNK: usize = 1 << 20;
/// Content up to this size stays inline in its version's row; larger
/// content is a blob.
pub const INLINE_MAX: usize = 256 * 1024;
/// The largest content the vault keeps (16 GiB).
pub const MAX_CONTENT: u64 = 16 << 30;

/// Who made a change: the person, or a company under a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    /// The vault's owner (CLI or app).
    Owner,
    /// A registered client, by id.
    Client(String),
}

impl Author {
    fn as_text(&self) -> String {
        match self {
            Author::Owner => "owner".to_string(),
            Author::Client(id) => format!("client:{id}"),
        }
    }

    fn from_text(s: &str) -> Author {
        match s.strip_prefix("client:") {
            Some(id) => Author::Client(id.to_string()),
            None => Author::Owner,
        }
    }
}

impl Serialize for Author {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_text())
    }
}

/// What to write at a path.
#[derive(Debug, Clone)]
pub struct NewResource {
    /// The bytes, stored exactly as given.
    pub content: Vec<u8>,
    /// A MIME type; JSON types are checked to parse.
    pub content_type: String,
    /// The category; when `None`, an existing resource keeps its own and a
    /// new one gets the category its path suggests.
    pub category: Option<Category>,
    /// What this write does to the resource's sensitive mark.
    pub mark: Mark,
}

/// What to write at a path, without the bytes (they come as a stream, see
/// [`Store::put_stream`](crate::Store::put_stream)).
#[derive(Debug, Clone)]
pub struct NewMeta {
    /// A MIME type; JSON types are checked to parse.
    pub content_type: String,
    /// The category; when `None`, an existing resource keeps its own and a
    /// new one gets the category its path suggests.
    pub category: Option<Category>,
    /// What this write does to the resource's sensitive mark.
    pub mark: Mark,
}

impl NewMeta {
    /// A content type with the default category and mark.
    pub fn of_type(content_type: &str) -> Self {
        NewMeta {
            content_type: content_type.to_string(),
            category: None,
            mark: Mark::Keep,
        }
    }
}

/// What a write does to the sensitive mark a person can put on a resource
/// whose category is not sensitive in itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mark {
    /// A new resource is as sensitive as its category; an existing one
    /// keeps its mark. Every write that says nothing about the mark.
    #[default]
    Keep,
    /// Mark it sensitive: no broad grant reaches it any more.
    Sensitive,
    /// The person lowers the mark on purpose (logged). Sensitive categories
    /// (health, finance, location) stay sensitive whatever the mark.
    Lower,
}

impl NewResource {
    /// Its metadata, without the bytes.
    pub fn meta(&self) -> NewMeta {
        NewMeta {
            content_type: self.content_type.clone(),
            category: self.category,
            mark: self.mark,
        }
    }

    /// JSON content with default metadata.
    pub fn json(value: &serde_json::Value) -> Self {
        NewResource {
            content: serde_json::to_vec(value).unwrap_or_default(),
            content_type: JSON.to_string(),
            category: None,
            mark: Mark::Keep,
        }
    }
}

/// A resource's metadata, at one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceMeta {
    pub path: PodPath,
    pub version: u64,
    pub content_type: String,
    pub category: Category,
    pub sensitivity: Sensitivity,
    /// A strong validator of the content and its type (quoted in HTTP).
    pub etag: String,
    pub size: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub author: Author,
}

/// A resource with its content.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub meta: ResourceMeta,
    pub content: Vec<u8>,
}

/// One entry of a resource's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    pub version: u64,
    /// True for the record of a deletion.
    pub deleted: bool,
    pub content_type: String,
    pub category: Category,
    pub etag: String,
    pub size: u64,
    pub written_at: DateTime<Utc>,
    pub author: Author,
}

/// A member of a container listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ListEntry {
    /// A sub-container (exists because something lives under it), with
    /// the number of live resources under it at any depth when counted
    /// (the person's own listing counts; a company's view does not).
    Container {
        path: PodPath,
        #[serde(skip_serializing_if = "Option::is_none")]
        members: Option<u64>,
    },
    /// A resource directly in the container.
    Resource(ResourceMeta),
}

impl ListEntry {
    /// The entry's path.
    pub fn path(&self) -> &PodPath {
        match self {
            ListEntry::Container { path, .. } => path,
            ListEntry::Resource(meta) => &meta.path,
        }
    }
}

/// Counts for `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceCounts {
    pub resources: u64,
    pub versions: u64,
    pub by_category: std::collections::BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod stream_tests;

#[cfg(test)]
mod staging_tests;
