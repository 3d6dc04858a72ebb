//! Helpers for the core's unit tests.

use crate::keys::VaultKey;
use crate::store::Store;

/// A fresh encrypted store in a temporary directory (kept alive by the
/// returned guard).
pub(crate) fn memory_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = VaultKey::generate().expect("key");
    let conn =
        crate::db::create_encrypted(&dir.path().join("t.db"), &key, "2026-11-24T10:00:00.000Z")
            .expect("create store");
    (dir, Store::new(conn))
}
