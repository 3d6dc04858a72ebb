//! The store: an open database plus the clock. Every service (resources,
//! preferences, sharing, limits, the audit log) is a set of methods on
//! it; no door talks to SQLite directly.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};

use crate::clock::{Clock, SystemClock};
use crate::data::resource::cursor::CursorKey;
use crate::{Error, Result};

/// An open vault database.
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) clock: Arc<dyn Clock>,
    /// The largest content a write accepts: [`crate::MAX_CONTENT`], lowered
    /// only by tests.
    pub(crate) max_content: u64,
    /// The key that seals listing cursors, shared by every connection of
    /// one unlocked vault (`data::resource::cursor`).
    pub(crate) cursor_key: Arc<CursorKey>,
    /// The rows a restricted listing page examines at most:
    /// [`crate::data::resource::list::EXAMINE_MAX`], lowered only by tests.
    pub(crate) examine_max: usize,
}

impl Store {
    pub(crate) fn new(conn: Connection) -> Self {
        Store {
            conn,
            clock: Arc::new(SystemClock),
            max_content: crate::data::resource::MAX_CONTENT,
            cursor_key: Arc::default(),
            examine_max: crate::data::resource::list::EXAMINE_MAX,
        }
    }

    /// The same connection sharing `other`'s cursor key, so a cursor one
    /// connection sealed opens on the other.
    pub(crate) fn sharing_cursors_with(mut self, other: &Store) -> Self {
        self.cursor_key = Arc::clone(&other.cursor_key);
        self
    }

    /// Lowers the rows a restricted listing page examines, so tests can
    /// pass the budget without writing tens of thousands of resources.
    #[cfg(any(test, feature = "test-support"))]
    pub fn set_examine_max_for_tests(&mut self, max: usize) {
        self.examine_max = max.max(1);
    }

    /// Lowers the largest content a write accepts, so tests can pass it
    /// without writing 16 GiB.
    #[cfg(any(test, feature = "test-support"))]
    pub fn set_max_content_for_tests(&mut self, max: u64) {
        self.max_content = max;
    }

    /// Replaces the clock (tests move time without sleeping).
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    /// The current time in the database's text form.
    pub(crate) fn now(&self) -> String {
        crate::vault::db::now_text(self.clock.as_ref())
    }

    /// Shrinks this connection's page cache to SQLite's default, for a
    /// connection that only appends and checkpoints (the pod API's log
    /// writer): it never needs the pages reads keep warm.
    pub fn use_small_page_cache(&self) -> Result<()> {
        crate::vault::db::set_page_cache(&self.conn, crate::vault::db::SMALL_PAGE_CACHE_KIB)
    }

    /// Starts a write transaction that takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write never collides with another
    /// process (the CLI and a running server share the vault).
    pub(crate) fn write_tx(&self) -> Result<rusqlite::Transaction<'_>> {
        Ok(rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?)
    }

    /// Runs `work` inside one read transaction: its reads see one snapshot,
    /// and the page cache is checked once instead of at every statement
    /// (the pod API's reads use this). `work` must not write. Inside a read
    /// transaction already (a snapshot the caller holds), `work` runs in it;
    /// inside a write transaction it is refused: what `work` read could be
    /// rolled back after (the pod's read cache would keep rows that never
    /// were).
    pub fn read_snapshot<T>(&self, work: impl FnOnce(&Store) -> T) -> Result<T> {
        if !self.conn.is_autocommit() {
            if self.conn.transaction_state(Some("main"))? == rusqlite::TransactionState::Write {
                return Err(Error::Internal(
                    "a read snapshot was asked for inside a write transaction".into(),
                ));
            }
            return Ok(work(self));
        }
        let tx = self.conn.unchecked_transaction()?;
        let out = work(self);
        tx.rollback()?;
        Ok(out)
    }

    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM vault_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO vault_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// Copies what the write-ahead log holds into the database file without
    /// waiting for, or holding up, readers and writers (a passive
    /// checkpoint). Returns the pages in the log and how many of them are
    /// now in the database file.
    pub fn checkpoint(&self) -> Result<(u64, u64)> {
        let (_busy, log, copied): (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        Ok((log.max(0) as u64, copied.max(0) as u64))
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32> {
        crate::vault::db::schema_version(&self.conn)
    }

    /// Runs SQLCipher's page-level HMAC check over the whole file; an empty
    /// list means every page authenticates.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA cipher_integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Runs raw SQL on the open database: for tests that tamper with the
    /// log or the tables the way an attacker with the key would.
    #[cfg(feature = "test-support")]
    pub fn execute_for_tests(&self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql)?;
        Ok(())
    }

    /// The one number a query returns: for tests that look at tables no
    /// API shows (staged blobs left behind, say).
    #[cfg(feature = "test-support")]
    pub fn count_for_tests(&self, sql: &str) -> Result<i64> {
        Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
    }

    /// A plain (unencrypted) store with the same schema, for benchmarks that
    /// measure the price of encryption. Never used for a vault.
    #[cfg(feature = "test-support")]
    pub fn open_plain_for_benchmarks(path: &std::path::Path) -> Result<Store> {
        let now = crate::vault::db::now_text(&SystemClock);
        Ok(Store::new(crate::vault::db::open_plain(path, &now)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Action, NewEntry};
    use crate::vault::keys::VaultKey;

    /// Two connections to one new vault: `(guard, writer, other)`.
    fn two_connections() -> (tempfile::TempDir, Store, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let key = VaultKey::generate().unwrap();
        let now = "2026-11-25T10:00:00.000Z";
        let writer = Store::new(crate::vault::db::create_encrypted(&path, &key, now).unwrap());
        let other = Store::new(crate::vault::db::open_encrypted(&path, &key, now).unwrap());
        (dir, writer, other)
    }

    fn commit_log_entries(store: &Store, commits: usize) {
        for _ in 0..commits {
            store
                .append_audit(&[NewEntry::owner(Action::Read), NewEntry::owner(Action::Read)])
                .unwrap();
        }
    }

    #[test]
    fn another_connection_checkpoints_what_a_writer_committed() {
        let (_d, writer, other) = two_connections();
        commit_log_entries(&writer, 300);
        let (log, copied) = other.checkpoint().unwrap();
        assert!(log >= 300, "every commit is in the log: {log} pages");
        assert_eq!(copied, log, "a passive checkpoint copies the whole log");
        // The writer's next commit starts the log again from the beginning.
        commit_log_entries(&writer, 1);
        let (log, copied) = other.checkpoint().unwrap();
        assert!(log < 10, "the log restarted: {log} pages");
        assert_eq!(copied, log);
        assert_eq!(writer.verify_audit_log().unwrap().entries, 602);
        assert!(other.verify_audit_log().unwrap().first_broken.is_none());
    }

    #[test]
    fn a_read_snapshot_nests_in_a_read_but_not_in_a_write() {
        let (_d, store, _other) = two_connections();
        let read = store.conn.unchecked_transaction().unwrap();
        store.meta("vault_id").unwrap();
        assert_eq!(store.read_snapshot(|_| 7).unwrap(), 7);
        read.rollback().unwrap();
        let write = store.write_tx().unwrap();
        assert!(matches!(
            store.read_snapshot(|_| 7),
            Err(Error::Internal(_))
        ));
        write.rollback().unwrap();
        assert_eq!(store.read_snapshot(|_| 7).unwrap(), 7);
    }
}
