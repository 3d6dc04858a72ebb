//! What a vault yields for a bundle, entry by entry in bundle order: the
//! README, each resource version's metadata and content, the preferences,
//! then each table as JSON Lines. Tables are read a page at a time (keyset
//! pagination), so memory stays flat however large the vault.

use std::io::{self, Read};

use rusqlite::params;
use serde::Serialize;

use super::layout::{self, AuditRecord, ClientRecord, GrantRecord, RequestRecord, VersionRecord};
use super::Counts;
use crate::data::path::PodPath;
use crate::vault::store::Store;
use crate::{Error, Result};

/// Rows fetched per query.
const PAGE: i64 = 512;

/// Receives entries in bundle order.
pub(super) trait Sink {
    fn entry(&mut self, name: &str, data: &mut dyn Read) -> Result<()>;
}

/// Every entry after the manifest, in bundle order.
pub(super) fn walk(
    store: &Store,
    vault_id: &str,
    created_at: &str,
    sink: &mut dyn Sink,
) -> Result<Counts> {
    let mut counts = Counts::default();
    sink.entry(
        layout::README,
        &mut layout::readme(vault_id, created_at).as_bytes(),
    )?;

    // Resources: each version's metadata, then its content.
    let mut after: Option<(String, u64)> = None;
    loop {
        let page = version_page(store, after.as_ref())?;
        let Some(last) = page.last() else { break };
        after = Some((last.path.as_str().to_string(), last.version));
        for record in page {
            counts.versions += 1;
            if record.live_since.is_some() {
                counts.resources += 1;
            }
            let meta = json_line(&record)?;
            sink.entry(
                &layout::meta_name(&record.path, record.version),
                &mut meta.as_slice(),
            )?;
            if !record.deleted {
                let content: Vec<u8> = store.conn.query_row(
                    "SELECT content FROM resource_versions WHERE path = ?1 AND version = ?2",
                    params![record.path.as_str(), record.version],
                    |r| r.get(0),
                )?;
                crate::data::resource::check_content(
                    record.path.as_str(),
                    record.version,
                    &record.content_type,
                    &record.etag,
                    &content,
                )?;
                counts.content_bytes += content.len() as u64;
                sink.entry(
                    &layout::content_name(&record.path, record.version),
                    &mut content.as_slice(),
                )?;
            }
        }
    }

    let (prefs, _) = store.communication_preferences()?;
    let prefs = serde_json::to_vec_pretty(&prefs).map_err(|e| Error::Internal(e.to_string()))?;
    sink.entry(layout::PREFERENCES, &mut prefs.as_slice())?;

    counts.clients = jsonl(store, sink, layout::CLIENTS, client_page)?;
    counts.requests = jsonl(store, sink, layout::REQUESTS, request_page)?;
    counts.grants = jsonl(store, sink, layout::GRANTS, grant_page)?;
    counts.audit_entries = jsonl(store, sink, layout::AUDIT, audit_page)?;
    Ok(counts)
}

fn json_line<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut line = serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?;
    line.push(b'\n');
    Ok(line)
}

fn version_page(store: &Store, after: Option<&(String, u64)>) -> Result<Vec<VersionRecord>> {
    let (path, version) = after.cloned().unwrap_or_default();
    let mut stmt = store.conn.prepare_cached(
        "SELECT v.path, v.version, v.deleted, v.content_type, v.category, v.sensitivity, v.etag,
                v.size, v.author, v.written_at, r.created_at
         FROM resource_versions v
         LEFT JOIN resources r ON r.path = v.path AND r.version = v.version
         WHERE (v.path, v.version) > (?1, ?2)
         ORDER BY v.path, v.version LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![path, version, PAGE], |r| {
        Ok((
            r.get::<_, String>(0)?,
            VersionRecord {
                path: PodPath::root(),
                version: r.get(1)?,
                deleted: r.get(2)?,
                content_type: r.get(3)?,
                category: r.get(4)?,
                sensitivity: r.get(5)?,
                etag: r.get(6)?,
                size: r.get(7)?,
                author: r.get(8)?,
                written_at: r.get(9)?,
                live_since: r.get(10)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (path, mut record) = row?;
        record.path = PodPath::from_stored(&path)
            .map_err(|_| Error::Internal(format!("bad stored path {path}")))?;
        out.push(record);
    }
    Ok(out)
}

/// A page of one table as JSON lines, after the key given; returns the
/// lines and the last key.
type PageFn = fn(&Store, &str) -> Result<Vec<(String, Vec<u8>)>>;

/// Streams a table into one JSON Lines entry, a page at a time.
fn jsonl(store: &Store, sink: &mut dyn Sink, name: &str, page: PageFn) -> Result<u64> {
    let mut reader = JsonlReader {
        store,
        page,
        after: String::new(),
        buf: Vec::new(),
        pos: 0,
        done: false,
        rows: 0,
        error: None,
    };
    let result = sink.entry(name, &mut reader);
    if let Some(e) = reader.error.take() {
        return Err(e);
    }
    result?;
    Ok(reader.rows)
}

struct JsonlReader<'a> {
    store: &'a Store,
    page: PageFn,
    after: String,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
    rows: u64,
    /// A database error, kept whole (io::Error would flatten it).
    error: Option<Error>,
}

impl Read for JsonlReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() && !self.done {
            self.buf.clear();
            self.pos = 0;
            match (self.page)(self.store, &self.after) {
                Ok(rows) if rows.is_empty() => self.done = true,
                Ok(rows) => {
                    for (key, line) in rows {
                        self.rows += 1;
                        self.after = key;
                        self.buf.extend_from_slice(&line);
                    }
                }
                Err(e) => {
                    self.error = Some(e);
                    return Err(io::Error::other("reading the vault"));
                }
            }
        }
        let n = (self.buf.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn client_page(store: &Store, after: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = store.conn.prepare_cached(
        "SELECT id, name, uri, contacts, created_at FROM clients WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, PAGE], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get::<_, String>(3)?,
            r.get(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, uri, contacts, created_at): (
            String,
            String,
            Option<String>,
            String,
            String,
        ) = row?;
        let record = ClientRecord {
            id: id.clone(),
            name,
            uri,
            contacts: parse_stored_json(&contacts)?,
            created_at,
        };
        out.push((id, json_line(&record)?));
    }
    Ok(out)
}

fn request_page(store: &Store, after: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = store.conn.prepare_cached(
        "SELECT id, client_id, details, grant_lifetime, user_code, status, poll_interval,
                created_at, expires_at, last_polled_at, decided_at, grant_id
         FROM access_requests WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, PAGE], |r| {
        Ok((
            r.get::<_, String>(2)?,
            RequestRecord {
                id: r.get(0)?,
                client_id: r.get(1)?,
                details: serde_json::Value::Null,
                grant_lifetime: r.get(3)?,
                user_code: r.get(4)?,
                status: r.get(5)?,
                poll_interval: r.get(6)?,
                created_at: r.get(7)?,
                expires_at: r.get(8)?,
                last_polled_at: r.get(9)?,
                decided_at: r.get(10)?,
                grant_id: r.get(11)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (details, mut record) = row?;
        record.details = parse_stored_json(&details)?;
        out.push((record.id.clone(), json_line(&record)?));
    }
    Ok(out)
}

fn grant_page(store: &Store, after: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = store.conn.prepare_cached(
        "SELECT id, client_id, request_id, details, created_at, expires_at, revoked_at
         FROM grants WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, PAGE], |r| {
        Ok((
            r.get::<_, String>(3)?,
            GrantRecord {
                id: r.get(0)?,
                client_id: r.get(1)?,
                request_id: r.get(2)?,
                details: serde_json::Value::Null,
                created_at: r.get(4)?,
                expires_at: r.get(5)?,
                revoked_at: r.get(6)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (details, mut record) = row?;
        record.details = parse_stored_json(&details)?;
        out.push((record.id.clone(), json_line(&record)?));
    }
    Ok(out)
}

fn audit_page(store: &Store, after: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let after: i64 = after.parse().unwrap_or(0);
    let mut stmt = store.conn.prepare_cached(
        "SELECT seq, at, actor, client_id, action, method, path, outcome, reason, grant_id, prev_hash, hash
         FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, PAGE], |r| {
        Ok(AuditRecord {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            client_id: r.get(3)?,
            action: r.get(4)?,
            method: r.get(5)?,
            path: r.get(6)?,
            outcome: r.get(7)?,
            reason: r.get(8)?,
            grant_id: r.get(9)?,
            prev_hash: r.get(10)?,
            hash: r.get(11)?,
        })
    })?;
    let mut out = Vec::new();
    for row in rows {
        let record = row?;
        out.push((record.seq.to_string(), json_line(&record)?));
    }
    Ok(out)
}

fn parse_stored_json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Internal(format!("stored JSON: {e}")))
}
