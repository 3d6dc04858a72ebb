//! Building large vaults quickly, for tests and benchmarks (feature
//! `test-support`): many resources written through the ordinary write path
//! ([`Store::put`]), a large transaction at a time instead of one each.

use crate::data::path::PodPath;
use crate::vault::store::Store;
use crate::Result;

use super::NewResource;

/// Resources per transaction when the caller does not say.
pub const BATCH: usize = 10_000;

impl Store {
    /// Writes every `(path, resource)` of `items` as the owner, `batch`
    /// writes to a transaction (each write exactly as [`Store::put`] makes
    /// it: versions, the live pointer, log and outbox hooks). Returns how
    /// many were written. A failure rolls back the batch it happened in;
    /// earlier batches stay.
    pub fn put_batched(
        &self,
        items: impl IntoIterator<Item = (PodPath, NewResource)>,
        batch: usize,
    ) -> Result<u64> {
        let batch = batch.max(1);
        let mut written = 0u64;
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let tx = self.write_tx()?;
            for (path, new) in items.by_ref().take(batch) {
                self.put(&path, new)?;
                written += 1;
            }
            tx.commit()?;
        }
        Ok(written)
    }
}
