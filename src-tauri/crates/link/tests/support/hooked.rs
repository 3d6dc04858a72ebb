//! A vault that acts between the door's steps: what the person (or a
//! failure) does while custodian-link is busy on the network.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use custodian_core::{Store, Vault};
use custodian_link::{LinkError, VaultAccess};

/// A vault whose `on`-th step (counted from 1) runs `hook` first: what the
/// person (or a failure) does while the door is between two steps.
pub struct Hooked<'a, F> {
    inner: &'a Mutex<Vault>,
    calls: AtomicUsize,
    on: usize,
    hook: F,
}

impl<'a, F: Fn(&Store) -> custodian_core::Result<()>> Hooked<'a, F> {
    pub fn new(inner: &'a Mutex<Vault>, on: usize, hook: F) -> Self {
        Hooked {
            inner,
            calls: AtomicUsize::new(0),
            on,
            hook,
        }
    }
}

impl<F: Fn(&Store) -> custodian_core::Result<()>> VaultAccess for Hooked<'_, F> {
    fn with_store<T>(
        &self,
        step: impl FnOnce(&Store) -> custodian_core::Result<T>,
    ) -> Result<T, LinkError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.with_store(|store| {
            if n == self.on {
                (self.hook)(store)?;
            }
            step(store)
        })
    }
}
