//! The whole-vault check a person runs on purpose: every page of the
//! database authenticates (SQLCipher's HMAC), the access log's hash chain
//! holds, and the counts kept beside the resources are what a scan finds
//! (they are derived: a wrong one is repaired, only its rows written, and
//! not reported as damage). Each step reads the whole of what it
//! checks; nothing here runs on its own.

use serde::Serialize;

use crate::audit::ChainReport;
use crate::data::resource::counts::CountsCheck;
use crate::vault::store::Store;
use crate::Result;

/// What [`Store::check_vault`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VaultCheck {
    /// SQLCipher's complaints, one per page that fails its check (empty:
    /// every page authenticates).
    pub pages: Vec<String>,
    /// The access log's chain; `None` when damaged pages stopped the check.
    pub log: Option<ChainReport>,
    /// The kept counts against a scan; `None` when damaged pages stopped
    /// the check.
    pub counts: Option<CountsCheck>,
}

impl VaultCheck {
    /// Whether the vault is whole: every page authenticates and the log's
    /// chain holds (counts that differed were repaired, so they do not
    /// count against it).
    pub fn intact(&self) -> bool {
        self.pages.is_empty() && self.log.as_ref().is_some_and(|l| l.first_broken.is_none())
    }
}

impl Store {
    /// Checks the pages first (a damaged page would make what follows
    /// read wrong data or fail), then the log's chain, then the counts,
    /// repairing counts that differ ([`Store::check_counts`]).
    pub fn check_vault(&self) -> Result<VaultCheck> {
        let pages = self.integrity_check()?;
        if !pages.is_empty() {
            return Ok(VaultCheck {
                pages,
                log: None,
                counts: None,
            });
        }
        Ok(VaultCheck {
            pages,
            log: Some(self.verify_audit_log()?),
            counts: Some(self.check_counts()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_store;
    use crate::{NewResource, PodPath};

    #[test]
    fn a_whole_vault_checks_intact_and_a_wrong_count_is_repaired_not_damage() {
        let (_d, store) = memory_store();
        let path = PodPath::parse("/a/b").unwrap();
        store
            .put(&path, NewResource::json(&serde_json::json!(1)))
            .unwrap();
        let check = store.check_vault().unwrap();
        assert!(check.intact(), "{check:?}");
        assert_eq!(check.counts, Some(CountsCheck::default()));

        store
            .conn
            .execute("UPDATE container_counts SET members = 5", [])
            .unwrap();
        let check = store.check_vault().unwrap();
        assert!(check.intact(), "{check:?}");
        let counts = check.counts.unwrap();
        assert!(counts.repaired);
        assert_eq!(counts.differing, 2, "/ and /a/");

        store
            .append_audit(&[crate::audit::NewEntry::owner(crate::audit::Action::Read)])
            .unwrap();
        store
            .conn
            .execute("UPDATE audit_log SET hash = 'x'", [])
            .unwrap();
        let check = store.check_vault().unwrap();
        assert!(!check.intact(), "a broken chain is not intact");
    }
}
