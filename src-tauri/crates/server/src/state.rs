//! The shared state of a running pod: its configuration, a small pool of
//! database connections (rusqlite is blocking, so work runs on tokio's
//! blocking threads, each on a leased connection), the memory of recent
//! reads, the access-log writer (`audit_writer`), the limits on
//! strangers (`limits`) and the pod's published key set.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use custodian_core::clock::{Clock, SystemClock};
use custodian_core::limits::rate;
use custodian_core::limits::refusals::RefusalLimits;
use custodian_core::limits::transfer::{max_per_company, TransferLimits};
use custodian_core::sharing::read_cache::ReadCache;
use custodian_core::Store;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::audit_writer::AuditWriter;
use crate::error::ApiError;
use crate::host::AllowedHosts;
use crate::limits::Limits;

/// When a transfer turned away for want of a stream slot is told to try
/// again, in seconds.
const SLOT_RETRY_AFTER: u32 = 10;

/// How the pod is set up.
#[derive(Debug, Clone)]
pub struct Config {
    pub allowed_hosts: AllowedHosts,
    /// Largest accepted request body, in bytes, of the OAuth endpoints (a
    /// write under `/pod/` may be as large as the vault keeps).
    pub max_body_bytes: usize,
    /// Longest wait for a whole request body; for a large body streamed
    /// into the vault (`PUT`/`POST` under `/pod/`), longest wait for its
    /// next bytes.
    pub body_read_timeout: Duration,
    /// Refused tokens: how many are allowed and logged one by one.
    pub refusals: RefusalLimits,
    /// Registrations per peer per minute.
    pub registrations_per_minute: u32,
    /// Device requests per peer per minute.
    pub device_requests_per_minute: u32,
    /// Streamed transfers (a large resource read or written under
    /// `/pod/`): how many one company may hold at once, and the floor on
    /// their rate.
    pub transfers: TransferLimits,
}

impl Config {
    /// The defaults for a pod serving `allowed_hosts`.
    pub fn new(allowed_hosts: AllowedHosts, max_body_bytes: usize) -> Self {
        Config {
            allowed_hosts,
            max_body_bytes,
            body_read_timeout: crate::DEFAULT_BODY_READ_TIMEOUT,
            refusals: RefusalLimits::default(),
            registrations_per_minute: rate::REGISTRATIONS_PER_MINUTE,
            device_requests_per_minute: rate::DEVICE_REQUESTS_PER_MINUTE,
            transfers: TransferLimits::default(),
        }
    }
}

/// The shared state of a running pod.
pub struct Pod {
    pub config: Config,
    stores: Mutex<Vec<Store>>,
    permits: Arc<Semaphore>,
    /// Turns for work streaming a large body in or out: at most half the
    /// pool, so long transfers never take every connection from short
    /// requests (and each company holds at most `config.transfers`'s
    /// share of them: `limits.transfers`).
    streams: Arc<Semaphore>,
    pub audit: AuditWriter,
    /// Rate limits on strangers, and refused-token counting.
    pub limits: Limits,
    /// Tokens and resources recently read, to answer from memory.
    pub cache: ReadCache,
    /// The pod's JWK Set, read from the vault once (the key never changes
    /// while the vault is open).
    pub jwks: OnceLock<serde_json::Value>,
}

impl Pod {
    /// A pod over `stores` (one connection per concurrent database task),
    /// and dedicated connections for the audit writer and its checkpointer.
    pub fn new(
        config: Config,
        stores: Vec<Store>,
        audit_store: Store,
        checkpoint_store: Store,
    ) -> Arc<Self> {
        Pod::with_clock(
            config,
            stores,
            audit_store,
            checkpoint_store,
            Arc::new(SystemClock),
        )
    }

    /// The same, with the limits' windows on `clock`.
    pub fn with_clock(
        mut config: Config,
        stores: Vec<Store>,
        audit_store: Store,
        checkpoint_store: Store,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let permits = Arc::new(Semaphore::new(stores.len()));
        let slots = (stores.len() / 2).max(1);
        let streams = Arc::new(Semaphore::new(slots));
        // A company's cap is at most half the slots, whatever was asked.
        config.transfers.per_company = config
            .transfers
            .per_company
            .clamp(1, max_per_company(slots));
        Arc::new(Pod {
            limits: Limits::new(&config, clock),
            config,
            stores: Mutex::new(stores),
            permits,
            streams,
            audit: AuditWriter::start(audit_store, checkpoint_store),
            cache: ReadCache::default(),
            jwks: OnceLock::new(),
        })
    }

    /// Writes the summaries of refusal windows that have ended.
    pub fn write_due_summaries(&self) {
        // Queued, not awaited one by one: a summary taken out of the
        // counts is never lost to a task stopped halfway.
        for entry in self.limits.refusals.due_summaries() {
            self.audit.record_detached(entry);
        }
    }

    /// Queues every refusal summary, ended or not: the pod is stopping.
    pub fn queue_all_summaries(&self) {
        for entry in self.limits.refusals.all_summaries() {
            self.audit.record_detached(entry);
        }
    }

    /// Queues every summary and stops the log writer once all is written.
    pub fn close(&self) {
        self.queue_all_summaries();
        self.audit.close();
    }

    /// Runs blocking database work on a pooled connection.
    pub async fn with_store<T, F>(self: &Arc<Self>, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> T + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal())?;
        let store = self
            .stores
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .ok_or_else(ApiError::internal)?;
        // The lease travels with the blocking work and gives the connection
        // back when the work ends, even if the client hung up meanwhile and
        // nobody awaits the result any more (or the work panicked).
        let lease = Lease {
            pod: Arc::clone(self),
            store: Some(store),
            _permit: permit,
        };
        tokio::task::spawn_blocking(move || {
            let lease = lease;
            match &lease.store {
                Some(store) => Ok(work(store)),
                None => Err(ApiError::internal()),
            }
        })
        .await
        .map_err(|_| ApiError::internal())?
    }

    /// One of the stream slots (see `streams`), waited for no longer than
    /// the transfers' `slot_wait`: then 503 with `Retry-After`, and a log
    /// line.
    pub async fn stream_slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        let wait = self.config.transfers.slot_wait;
        let slot = match tokio::time::timeout(wait, Arc::clone(&self.streams).acquire_owned()).await
        {
            Ok(slot) => slot.map_err(|_| ApiError::internal())?,
            Err(_) => {
                tracing::warn!(waited = ?wait, "a transfer found no stream slot free and was turned away");
                return Err(ApiError::busy(
                    "the pod is streaming as many large transfers as it can; try again shortly",
                    SLOT_RETRY_AFTER,
                ));
            }
        };
        Ok(slot)
    }
}

/// A pooled connection on loan; returned to the pool on drop, before its
/// permit is released.
struct Lease {
    pod: Arc<Pod>,
    store: Option<Store>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            self.pod
                .stores
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(store);
        }
    }
}
