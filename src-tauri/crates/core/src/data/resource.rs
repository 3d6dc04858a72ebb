//! Resources: content at a pod path, with metadata and a full history.
//!
//! Every write appends a version to `resource_versions`; a delete appends a
//! tombstone. `resources` only points at the live version. So an update or a
//! delete never loses the previous content.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, Action, NewEntry};
use crate::clock::parse_time;
use crate::data::category::{Category, Sensitivity};
use crate::data::path::PodPath;
use crate::data::preferences;
use crate::data::records::VersionRecord;
use crate::vault::record::{self, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

/// The content type used when none is given and the content is JSON.
pub const JSON: &str = "application/json";
/// The content type for arbitrary bytes.
pub const OCTET_STREAM: &str = "application/octet-stream";

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
    /// A sub-container (exists because something lives under it).
    Container { path: PodPath, members: u64 },
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

fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == JSON || essence.ends_with("+json")
}

fn etag_of(content_type: &str, content: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(content_type.as_bytes());
    h.update([0]);
    h.update(content);
    hex::encode(&h.finalize()[..16])
}

/// Checks content read back against the checksum stored beside it (the
/// ETag). SQLCipher zeroes a page whose HMAC fails and reports the damage
/// only on later reads, so the last page of a row that spills over several
/// pages can come back as zeros with no error: this turns that into
/// [`Error::DatabaseDamaged`] instead of handing zeros out as the content.
pub(crate) fn check_content(
    path: &str,
    version: u64,
    content_type: &str,
    etag: &str,
    content: &[u8],
) -> Result<()> {
    if etag_of(content_type, content) == etag {
        Ok(())
    } else {
        Err(Error::DatabaseDamaged {
            path: std::path::PathBuf::from(crate::vault::DB_FILE),
            reason: format!("{path} version {version} reads back different from what was written"),
        })
    }
}

fn check_content_type(path: &PodPath, content_type: &str) -> Result<()> {
    let ok = !content_type.is_empty()
        && content_type.len() <= 255
        && content_type.contains('/')
        && !content_type.chars().any(|c| c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidContent {
            path: path.to_string(),
            reason: format!("{content_type:?} is not a content type like application/json"),
        })
    }
}

/// A live or historical version's metadata: the version's row (`v`) and
/// when its resource came into being (`r.created_at`), under the names
/// [`meta_from_row`] reads.
pub(crate) const META_COLUMNS: &str = "v.path AS path, v.version AS version, v.content_type AS content_type, v.category AS category, v.sensitivity AS sensitivity, v.etag AS etag, v.size AS size, r.created_at AS created_at, v.written_at AS updated_at, v.author AS author";

pub(crate) fn meta_from_row(row: &Row<'_>) -> rusqlite::Result<RawMeta> {
    Ok(RawMeta {
        path: row.get("path")?,
        version: row.get("version")?,
        content_type: row.get("content_type")?,
        category: row.get("category")?,
        sensitivity: row.get("sensitivity")?,
        etag: row.get("etag")?,
        size: row.get("size")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        author: row.get("author")?,
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

/// A stored row and its content as a resource, the content checked
/// against its ETag (a damaged page can read back as other bytes).
fn checked_resource(raw: RawMeta, content: Vec<u8>) -> Result<Resource> {
    let meta = raw.parse()?;
    check_content(
        meta.path.as_str(),
        meta.version,
        &meta.content_type,
        &meta.etag,
        &content,
    )?;
    Ok(Resource { meta, content })
}

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
        if is_json_type(&new.content_type) {
            serde_json::from_slice::<serde::de::IgnoredAny>(&new.content).map_err(|e| {
                Error::InvalidContent {
                    path: path.to_string(),
                    reason: format!("not valid JSON ({e})"),
                }
            })?;
        }
        preferences::validate_resource(path, &new.content_type, &new.content)?;

        let tx = self.write_tx()?;
        let meta = self.write_version(path, new, author)?;
        tx.commit()?;
        Ok(meta)
    }

    /// Marks the live resource at `path` sensitive, or lowers its mark
    /// (logged), as a new version with the same content.
    pub fn set_sensitive(&self, path: &PodPath, sensitive: bool) -> Result<ResourceMeta> {
        let tx = self.write_tx()?;
        let current = self.get(path, None)?;
        let meta = self.write_version(
            path,
            NewResource {
                content: current.content,
                content_type: current.meta.content_type,
                category: Some(current.meta.category),
                mark: if sensitive {
                    Mark::Sensitive
                } else {
                    Mark::Lower
                },
            },
            &Author::Owner,
        )?;
        tx.commit()?;
        Ok(meta)
    }

    /// The write itself, inside the caller's write transaction: a new
    /// version (unless nothing changed), the live pointer, and a log entry
    /// when the sensitive mark is lowered.
    fn write_version(
        &self,
        path: &PodPath,
        new: NewResource,
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
        let etag = etag_of(&new.content_type, &new.content);
        if let Some(cur) = &current {
            if cur.etag == etag && cur.category == category && cur.sensitivity == sensitivity {
                return Ok(cur.clone());
            }
        }
        let version = self.latest_version(path)?.unwrap_or(0) + 1;
        let now = self.now();
        VersionRecord {
            path: path.clone(),
            version,
            deleted: false,
            content_type: new.content_type.clone(),
            category: category.name().into(),
            sensitivity: sensitivity.name().into(),
            etag,
            size: new.content.len() as u64,
            author: author.as_text(),
            written_at: now.clone(),
            live_since: None,
        }
        .insert(&self.conn, &new.content)?;
        self.conn.execute(
            "INSERT INTO resources (path, version, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (path) DO UPDATE SET version = excluded.version",
            params![path.as_str(), version, now],
        )?;
        if lowered {
            let mut entry = NewEntry::owner(Action::Unmark);
            entry.path = Some(path.to_string());
            entry.reason = Some(format!("lowered the sensitive mark (version {version})"));
            audit::append_in(&self.conn, &now, &[entry])?;
        }
        let meta = self
            .live_meta(path)?
            .ok_or_else(|| Error::Internal("write vanished".into()))?;
        Ok(meta)
    }

    /// Reads the live resource at `path`, or one of its versions.
    pub fn get(&self, path: &PodPath, version: Option<u64>) -> Result<Resource> {
        if path.is_container() {
            return Err(Error::IsContainer {
                path: path.to_string(),
                what: "list it instead",
            });
        }
        match version {
            None => {
                let sql = format!(
                    "SELECT {META_COLUMNS}, v.content AS content FROM resources r
                     JOIN resource_versions v ON v.path = r.path AND v.version = r.version
                     WHERE r.path = ?1"
                );
                let found = self
                    .conn
                    .prepare_cached(&sql)?
                    .query_row([path.as_str()], |row| {
                        Ok((meta_from_row(row)?, row.get::<_, Vec<u8>>("content")?))
                    })
                    .optional()?;
                let Some((raw, content)) = found else {
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
                checked_resource(raw, content)
            }
            Some(n) => self.get_version(path, n),
        }
    }

    fn get_version(&self, path: &PodPath, n: u64) -> Result<Resource> {
        let latest = self.latest_version(path)?.ok_or_else(|| Error::NotFound {
            path: path.to_string(),
        })?;
        // created_at of a historical version: when its run of versions began,
        // i.e. the first version after the last deletion before it.
        let sql = format!(
            "SELECT {META_COLUMNS}, v.content AS content, v.deleted AS deleted FROM resource_versions v
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
                    row.get::<_, Vec<u8>>("content")?,
                    row.get::<_, bool>("deleted")?,
                ))
            })
            .optional()?;
        match found {
            None => Err(Error::VersionNotFound {
                path: path.to_string(),
                version: n,
                latest,
            }),
            Some((_, _, true)) => Err(Error::InvalidContent {
                path: path.to_string(),
                reason: format!("version {n} is the record of its deletion and has no content"),
            }),
            Some((raw, content, false)) => checked_resource(raw, content),
        }
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

    fn latest_version(&self, path: &PodPath) -> Result<Option<u64>> {
        Ok(self.conn.query_row(
            "SELECT max(version) FROM resource_versions WHERE path = ?1",
            [path.as_str()],
            |r| r.get(0),
        )?)
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
        tx.commit()?;
        Ok(version)
    }

    /// Makes an old version of `path` the live one again by writing its
    /// content, type and category as a new version (a sensitive mark it
    /// had comes back; a mark made since stays): history
    /// only grows. Works on a deleted resource too (it comes back).
    pub fn restore_version(&self, path: &PodPath, version: u64) -> Result<ResourceMeta> {
        let old = self.get(path, Some(version))?;
        self.put(
            path,
            NewResource {
                content: old.content,
                content_type: old.meta.content_type,
                category: Some(old.meta.category),
                // The mark never drops by itself: restoring an unmarked
                // version keeps today's mark.
                mark: if old.meta.sensitivity == Sensitivity::Sensitive {
                    Mark::Sensitive
                } else {
                    Mark::Keep
                },
            },
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_store;
    use serde_json::json;

    fn p(s: &str) -> PodPath {
        PodPath::parse(s).unwrap()
    }

    #[test]
    fn content_that_reads_back_different_is_damage_not_data() {
        // What SQLCipher hands back for a page whose HMAC failed: zeros.
        let (_dir, store) = memory_store();
        let path = p("/notes/long");
        let doc = json!({"text": "lorem ipsum ".repeat(2000)});
        store.put(&path, NewResource::json(&doc)).unwrap();
        store.put(&path, NewResource::json(&json!(2))).unwrap();
        store
            .conn
            .execute(
                "UPDATE resource_versions SET content = zeroblob(length(content))",
                [],
            )
            .unwrap();
        for version in [None, Some(1)] {
            let err = store.get(&path, version).unwrap_err();
            assert!(matches!(err, Error::DatabaseDamaged { .. }), "{err}");
            assert!(err.to_string().contains("/notes/long version"), "{err}");
        }
        let exported = crate::bundle::export_plain(&store, &_dir.path().join("plain"), &mut |_| {});
        assert!(matches!(exported, Err(Error::DatabaseDamaged { .. })));
        // A stored time that is not one is damage too, not an internal error.
        store
            .conn
            .execute("UPDATE resource_versions SET written_at = 'zzz'", [])
            .unwrap();
        assert!(matches!(
            store.get(&path, None),
            Err(Error::DatabaseDamaged { .. })
        ));
    }

    #[test]
    fn restoring_a_version_adds_a_new_one_with_the_old_content() {
        let (_dir, store) = memory_store();
        let path = p("/contact/email");
        store
            .put(&path, NewResource::json(&json!({"email": "a@x.org"})))
            .unwrap();
        store
            .put(&path, NewResource::json(&json!({"email": "b@x.org"})))
            .unwrap();
        store.delete(&path).unwrap();
        let restored = store.restore_version(&path, 1).unwrap();
        assert_eq!(restored.version, 4, "history only grows");
        let live = store.get(&path, None).unwrap();
        assert_eq!(live.content, store.get(&path, Some(1)).unwrap().content);
        assert_eq!(store.history(&path).unwrap().len(), 4);
        assert!(matches!(
            store.restore_version(&path, 9),
            Err(Error::VersionNotFound { .. })
        ));
        assert_eq!(
            store.history(&path).unwrap().len(),
            4,
            "a bad version changes nothing"
        );
    }

    #[test]
    fn put_get_update_keeps_history() {
        let (_dir, store) = memory_store();
        let v1 = store
            .put(
                &p("/contact/email"),
                NewResource::json(&json!({"email": "a@x.org"})),
            )
            .unwrap();
        assert_eq!(
            (v1.version, v1.category, v1.sensitivity),
            (1, Category::Contact, Sensitivity::Normal)
        );
        let v2 = store
            .put(
                &p("/contact/email"),
                NewResource::json(&json!({"email": "b@x.org"})),
            )
            .unwrap();
        assert_eq!(v2.version, 2);
        assert_ne!(v1.etag, v2.etag);
        assert_eq!(v2.created_at, v1.created_at);
        let cur = store.get(&p("/contact/email"), None).unwrap();
        assert_eq!(cur.content, br#"{"email":"b@x.org"}"#);
        let old = store.get(&p("/contact/email"), Some(1)).unwrap();
        assert_eq!(old.content, br#"{"email":"a@x.org"}"#);
        assert_eq!(old.meta.version, 1);
        let err = store.get(&p("/contact/email"), Some(9)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/contact/email has no version 9 (it has versions 1 to 2)"
        );
    }

    #[test]
    fn same_content_again_is_not_a_new_version() {
        let (_dir, store) = memory_store();
        let a = store.put(&p("/x"), NewResource::json(&json!(1))).unwrap();
        let b = store.put(&p("/x"), NewResource::json(&json!(1))).unwrap();
        assert_eq!(a, b);
        assert_eq!(store.history(&p("/x")).unwrap().len(), 1);
    }

    #[test]
    fn delete_keeps_versions_and_recreate_continues_numbering() {
        let (_dir, store) = memory_store();
        store
            .put(&p("/notes/a"), NewResource::json(&json!("one")))
            .unwrap();
        assert_eq!(store.delete(&p("/notes/a")).unwrap(), 2);
        assert!(matches!(
            store.get(&p("/notes/a"), None),
            Err(Error::Deleted { version: 2, .. })
        ));
        assert!(matches!(
            store.delete(&p("/notes/a")),
            Err(Error::NotFound { .. })
        ));
        assert_eq!(
            store.get(&p("/notes/a"), Some(1)).unwrap().content,
            br#""one""#
        );
        assert!(store
            .get(&p("/notes/a"), Some(2))
            .unwrap_err()
            .to_string()
            .contains("deletion"));
        let again = store
            .put(&p("/notes/a"), NewResource::json(&json!("two")))
            .unwrap();
        assert_eq!(again.version, 3);
        let history = store.history(&p("/notes/a")).unwrap();
        assert_eq!(
            history
                .iter()
                .map(|h| (h.version, h.deleted))
                .collect::<Vec<_>>(),
            [(1, false), (2, true), (3, false)]
        );
    }

    #[test]
    fn invalid_json_and_bad_content_types_change_nothing() {
        let (_dir, store) = memory_store();
        let bad = NewResource {
            content: b"{nope".to_vec(),
            ..NewResource::json(&json!(null))
        };
        let err = store.put(&p("/x"), bad).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid content for /x: not valid JSON"),
            "{err}"
        );
        let bad_type = NewResource {
            content_type: "nonsense".into(),
            ..NewResource::json(&json!(1))
        };
        assert!(store.put(&p("/x"), bad_type).is_err());
        assert!(matches!(
            store.history(&p("/x")),
            Err(Error::NotFound { .. })
        ));
        // Bytes of any kind are fine under a non-JSON type.
        let bin = NewResource {
            content: vec![0, 159, 146, 150],
            content_type: OCTET_STREAM.into(),
            category: Some(Category::Documents),
            mark: Mark::Keep,
        };
        assert_eq!(store.put(&p("/documents/scan"), bin).unwrap().size, 4);
    }

    #[test]
    fn category_and_sensitivity() {
        let (_dir, store) = memory_store();
        let m = store
            .put(&p("/health/allergies"), NewResource::json(&json!(["nuts"])))
            .unwrap();
        assert_eq!(
            (m.category, m.sensitivity),
            (Category::Health, Sensitivity::Sensitive)
        );
        let marked = NewResource {
            mark: Mark::Sensitive,
            category: Some(Category::Documents),
            ..NewResource::json(&json!(1))
        };
        assert_eq!(
            store.put(&p("/passport"), marked).unwrap().sensitivity,
            Sensitivity::Sensitive
        );
        // An update without a category keeps the resource's own.
        store
            .put(
                &p("/misc"),
                NewResource {
                    category: Some(Category::Interests),
                    ..NewResource::json(&json!(1))
                },
            )
            .unwrap();
        assert_eq!(
            store
                .put(&p("/misc"), NewResource::json(&json!(2)))
                .unwrap()
                .category,
            Category::Interests
        );
    }

    #[test]
    fn an_edit_keeps_the_sensitive_mark_until_the_person_lowers_it() {
        let (_dir, store) = memory_store();
        let passport = p("/documents/passport");
        let marked = NewResource {
            mark: Mark::Sensitive,
            ..NewResource::json(&json!("P123"))
        };
        store.put(&passport, marked).unwrap();
        // Any later write that says nothing about the mark keeps it: the
        // app's editor, a company's PUT, a new category.
        let edited = store
            .put(&passport, NewResource::json(&json!("P456")))
            .unwrap();
        assert_eq!(edited.sensitivity, Sensitivity::Sensitive);
        let recategorised = NewResource {
            category: Some(Category::Profile),
            ..NewResource::json(&json!("P456"))
        };
        assert_eq!(
            store.put(&passport, recategorised).unwrap().sensitivity,
            Sensitivity::Sensitive
        );
        assert!(crate::testing::logged_actions(&store).is_empty());

        let lowered = NewResource {
            mark: Mark::Lower,
            ..NewResource::json(&json!("P456"))
        };
        let m = store.put(&passport, lowered.clone()).unwrap();
        assert_eq!(m.sensitivity, Sensitivity::Normal);
        assert_eq!(crate::testing::logged_actions(&store), ["unmark"]);
        // Lowering what is not marked changes and logs nothing.
        store.put(&passport, lowered.clone()).unwrap();
        assert_eq!(crate::testing::logged_actions(&store), ["unmark"]);

        // Deleted and written again, or an unmarked version restored after a
        // deletion: the mark comes back with it.
        store
            .put(
                &passport,
                NewResource {
                    mark: Mark::Sensitive,
                    ..NewResource::json(&json!("P789"))
                },
            )
            .unwrap();
        store.delete(&passport).unwrap();
        let unmarked = store.get(&passport, Some(4)).unwrap().meta;
        assert_eq!(
            unmarked.sensitivity,
            Sensitivity::Normal,
            "the lowered version"
        );
        let restored = store.restore_version(&passport, 4).unwrap();
        assert_eq!(restored.sensitivity, Sensitivity::Sensitive);
        store.delete(&passport).unwrap();
        let again = store
            .put(&passport, NewResource::json(&json!("P000")))
            .unwrap();
        assert_eq!(again.sensitivity, Sensitivity::Sensitive);
        assert_eq!(crate::testing::logged_actions(&store), ["unmark"]);

        // Health data is sensitive by its category: the mark cannot be lowered.
        let allergies = p("/health/allergies");
        store
            .put(&allergies, NewResource::json(&json!(["nuts"])))
            .unwrap();
        assert!(matches!(
            store.put(&allergies, lowered),
            Err(Error::AlwaysSensitive { .. })
        ));
        assert_eq!(
            store.history(&allergies).unwrap().len(),
            1,
            "nothing written"
        );
        assert_eq!(store.verify_audit_log().unwrap().first_broken, None);
    }

    #[test]
    fn containers_list_direct_members_only() {
        let (_dir, store) = memory_store();
        for path in [
            "/contact/email",
            "/contact/phone",
            "/contact/work/email",
            "/contactx",
            "/a/b/c/d",
        ] {
            store
                .put(&p(path), NewResource::json(&json!(path)))
                .unwrap();
        }
        let names = |c: &str| {
            store
                .list(&p(c))
                .unwrap()
                .iter()
                .map(|e| e.path().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("/"), ["/a/", "/contact/", "/contactx"]);
        assert_eq!(
            names("/contact/"),
            ["/contact/email", "/contact/phone", "/contact/work/"]
        );
        assert_eq!(names("/a/b/"), ["/a/b/c/"]);
        assert!(matches!(
            store.list(&p("/nothing/")),
            Err(Error::NotFound { .. })
        ));
        assert!(store.list(&p("/contactx")).is_err());
        assert!(matches!(
            store.get(&p("/contact/"), None),
            Err(Error::IsContainer { .. })
        ));
        let counts = store.resource_counts().unwrap();
        assert_eq!((counts.resources, counts.by_category["contact"]), (5, 3));
    }
}
