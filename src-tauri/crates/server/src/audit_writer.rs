//! The access-log writer of a running pod: one thread commits the entries
//! handlers queue, in group commits (one transaction, one fsync, for
//! whatever has queued up), and tells each handler when its entry is
//! durable or stale; a second thread checkpoints the write-ahead log behind
//! it.

use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use custodian_core::audit::NewEntry;
use custodian_core::Store;
use tokio::sync::oneshot;

use crate::error::ApiError;

/// Group commit for the audit log: handlers hand entries to one writer
/// thread and wait until their entry is durable; the thread writes whatever
/// has queued up in one transaction, so one fsync covers many requests. A
/// second thread checkpoints behind it (see [`AuditWriter::start`]).
///
/// An entry may carry the vault generation its answer was decided on (an
/// answer from memory); if the vault has changed since, the entry is not
/// written and the handler is told to decide again.
pub struct AuditWriter {
    tx: Mutex<Option<mpsc::Sender<Queued>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// An entry waiting to be written, the generation it must still be current
/// at, and who to tell what happened.
type Queued = (NewEntry, Option<u64>, oneshot::Sender<Result<Logged, ()>>);

/// What became of an entry handed to the audit writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    /// Committed: the answer may be sent.
    Written,
    /// Not written: the vault is at this newer generation, decide again.
    Stale(u64),
}

/// Most entries written in one transaction.
const MAX_BATCH: usize = 1024;

/// How often, at most, the checkpointer copies the log's pages into the
/// database file while entries keep coming.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(10);

impl AuditWriter {
    /// Starts the writer thread on `store`, and a checkpointer thread on
    /// `checkpointer`. SQLite's own checkpoint runs inside the commit that
    /// takes the write-ahead log past 1,000 pages, and every answer waiting
    /// on the log waits for it: copying a thousand pages into the database
    /// file set the slowest answers' latency (docs/BENCHMARKS.md, run E).
    /// The checkpointer copies the pages as they come, concurrently with the
    /// writer, so the writer's own checkpoints find little left to copy
    /// (the writer keeps them: only a checkpoint between its transactions
    /// lets the log start again from the beginning instead of growing).
    pub fn start(store: Store, checkpointer: Store) -> Self {
        let (tx, rx) = mpsc::channel::<Queued>();
        // One slot: commits made while a checkpoint runs need just one more.
        let (wrote, written) = mpsc::sync_channel::<()>(1);
        let threads = [
            std::thread::Builder::new()
                .name("custodian-audit".into())
                .spawn(move || write_batches(&store, &rx, &wrote)),
            std::thread::Builder::new()
                .name("custodian-checkpoint".into())
                .spawn(move || checkpoint_after_commits(&checkpointer, &written)),
        ];
        AuditWriter {
            tx: Mutex::new(Some(tx)),
            threads: Mutex::new(threads.into_iter().flatten().collect()),
        }
    }

    /// Records an entry and waits until it is committed (or found stale, see
    /// [`Logged`]). A request whose entry cannot be logged is not answered
    /// with data.
    pub async fn record(
        &self,
        entry: NewEntry,
        generation: Option<u64>,
    ) -> Result<Logged, ApiError> {
        let (done, wait) = oneshot::channel();
        let sent = {
            let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
            guard
                .as_ref()
                .map(|tx| tx.send((entry, generation, done)).is_ok())
                .unwrap_or(false)
        };
        if !sent {
            return Err(ApiError::internal());
        }
        match wait.await {
            Ok(Ok(logged)) => Ok(logged),
            _ => Err(ApiError::internal()),
        }
    }

    /// Queues an entry without waiting for it (summaries written when the
    /// pod stops).
    pub fn record_detached(&self, entry: NewEntry) {
        let (done, _) = oneshot::channel();
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = guard.as_ref() {
            let _ = tx.send((entry, None, done));
        }
    }

    /// Stops accepting entries, writes what is queued, and waits for the
    /// threads.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for AuditWriter {
    /// A pod dropped without `close` (the app's gate retires pods as their
    /// last requests end) still writes everything queued before it goes.
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread: one transaction for whatever has queued, then each
/// waiter is told, and the checkpointer is nudged.
fn write_batches(store: &Store, rx: &mpsc::Receiver<Queued>, wrote: &mpsc::SyncSender<()>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let (entries, waiters): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|(e, g, w)| ((e, g), w)).unzip();
        match store.append_audit_if_current(&entries) {
            Ok((generation, written)) => {
                for (w, written) in waiters.into_iter().zip(written) {
                    let _ = w.send(Ok(if written {
                        Logged::Written
                    } else {
                        Logged::Stale(generation)
                    }));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not write the audit log");
                for w in waiters {
                    let _ = w.send(Err(()));
                }
            }
        }
        // Full means a checkpoint is already due.
        let _ = wrote.try_send(());
    }
}

/// The checkpointer thread: after commits, copies the log into the database
/// file, at most once per [`CHECKPOINT_INTERVAL`]; ends with the writer.
fn checkpoint_after_commits(store: &Store, written: &mpsc::Receiver<()>) {
    while written.recv().is_ok() {
        if let Err(e) = store.checkpoint() {
            tracing::warn!(error = %e, "could not checkpoint the vault's write-ahead log");
        }
        std::thread::sleep(CHECKPOINT_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custodian_core::audit::{Action, LogFilter, Method};
    use custodian_core::{SecretString, Vault};
    use std::sync::Arc;

    /// Under a steady stream of entries every entry is logged once, in one
    /// chain, and the write-ahead log keeps starting again from its
    /// beginning instead of growing (as it does without the checkpoints:
    /// docs/BENCHMARKS.md). The file's size is its high-water mark: SQLite reuses
    /// it and does not shrink it while connections are open.
    #[tokio::test]
    async fn the_write_ahead_log_stays_bounded_under_a_steady_stream() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        let created = Vault::create_with_work_factor(
            &dir,
            &SecretString::from("correct horse battery".to_string()),
            2,
        )
        .unwrap();
        let vault = created.vault;
        let writer = Arc::new(AuditWriter::start(
            vault.open_store().unwrap(),
            vault.open_store().unwrap(),
        ));
        let before = vault.store().verify_audit_log().unwrap().entries;
        let mut tasks = tokio::task::JoinSet::new();
        for company in 0..32 {
            let writer = Arc::clone(&writer);
            tasks.spawn(async move {
                for n in 0..1_000 {
                    let entry = NewEntry {
                        method: Some(Method::Get),
                        path: Some(format!("/contact/{n}")),
                        ..NewEntry::client(&format!("company-{company}"), Action::Read)
                    };
                    assert_eq!(writer.record(entry, None).await.unwrap(), Logged::Written);
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let wal = std::fs::metadata(dir.join("vault.db-wal")).unwrap().len();
        writer.close();

        // SQLite checkpoints at 1,000 pages of 4 KiB; 32,000 entries wrote
        // several thousand pages in all.
        assert!(wal < 8 << 20, "the write-ahead log grew to {wal} bytes");
        let chain = vault.store().verify_audit_log().unwrap();
        assert_eq!(chain.entries, before + 32_000);
        assert_eq!(chain.first_broken, None);
        let one = LogFilter {
            client_id: Some("company-7".into()),
            ..LogFilter::default()
        };
        assert_eq!(vault.store().audit_log(&one).unwrap().len(), 1_000);
    }
}
