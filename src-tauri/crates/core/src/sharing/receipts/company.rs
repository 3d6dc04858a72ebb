//! What a company may fetch of its own receipts, and the trace it leaves:
//! its token names it — also once its grant was revoked or ran out, since
//! device-flow companies are public clients with no other credential — and
//! an unknown or malformed token names no one. Every fetch is in the
//! person's log.

use crate::audit::{Action, NewEntry};
use crate::sharing::grant::TokenRejected;
use crate::sharing::token::TokenHash;
use crate::vault::store::Store;
use crate::Result;

use super::Receipt;

/// Where companies fetch their receipts, as the log records it.
pub const RECEIPTS_PATH: &str = "/oauth/receipts";

impl Store {
    /// The receipts about the company `token` names, newest first, logged
    /// as a `receipts` entry under that company (without a method: it is
    /// not a read of the person's data, so the access report's counts stay
    /// the pod's). A grant that ran out since the pod last looked gets its
    /// expiry receipt first, so the company finds it. `Err(rejected)` for a
    /// token that names no company; nothing is logged then (the door counts
    /// and logs refusals).
    pub fn company_receipts(
        &self,
        token: &TokenHash,
    ) -> Result<std::result::Result<Vec<Receipt>, TokenRejected>> {
        let client_id = match self.authenticate(token)? {
            Ok(access) => access.client_id,
            Err(TokenRejected::Expired(holder)) => {
                self.record_expirations()?;
                holder.client_id
            }
            Err(rejected) => match rejected.holder() {
                Some(holder) => holder.client_id.clone(),
                None => return Ok(Err(rejected)),
            },
        };
        let receipts = self.receipts(Some(&client_id))?;
        self.append_audit(&[NewEntry {
            path: Some(RECEIPTS_PATH.to_string()),
            reason: Some(format!("{} receipt(s) fetched", receipts.len())),
            ..NewEntry::client(&client_id, Action::Receipts)
        }])?;
        Ok(Ok(receipts))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::audit::LogFilter;
    use crate::clock::{Clock, ManualClock};
    use crate::sharing::receipts::ReceiptEvent;
    use crate::sharing::token;
    use crate::testing::{granted_token, memory_store};

    fn fetches(store: &Store) -> usize {
        store
            .audit_log(&LogFilter::default())
            .unwrap()
            .iter()
            .filter(|e| e.action == Action::Receipts)
            .count()
    }

    /// A revoked token still fetches its company's receipts, an expired
    /// one finds its expiry receipt, and each fetch is logged; a token
    /// that names no company gets nothing and leaves no `receipts` entry.
    #[test]
    fn a_company_fetches_its_own_receipts_with_its_token() {
        let (_d, mut store) = memory_store();
        let clock = Arc::new(ManualClock::new(crate::clock::SystemClock.now()));
        store.set_clock(clock.clone());
        let (grant_id, presented) = granted_token(&store);
        let hash = token::check_access(&presented).unwrap();

        let live = store.company_receipts(&hash).unwrap().unwrap();
        assert_eq!(live.len(), 1);
        clock.advance(chrono::Duration::hours(2));
        let after = store.company_receipts(&hash).unwrap().unwrap();
        assert_eq!(after[0].event, ReceiptEvent::Expired);
        assert_eq!(after[0].grant_id.as_deref(), Some(grant_id.as_str()));
        store.revoke_grant(&grant_id).unwrap();
        assert_eq!(store.company_receipts(&hash).unwrap().unwrap().len(), 2);
        assert_eq!(fetches(&store), 3);

        let (_, other) = token::generate(token::ACCESS_TOKEN_PREFIX).unwrap();
        assert!(matches!(
            store.company_receipts(&other).unwrap(),
            Err(TokenRejected::Unknown)
        ));
        assert_eq!(fetches(&store), 3);
    }
}
