//! How many streamed transfers each company holds at once. The pod streams
//! only a few large bodies at a time (its connections are few); without a
//! cap per company, one company could hold every stream turn and leave
//! none to the others. A company over its cap is refused at once (the door
//! answers 429 and logs it) rather than queued.
//!
//! The decision is [`TransferTurns::claim`]: a turn, or why there is
//! none ([`NoTurn`]), which the door only translates into its answer and
//! log entry, before it logs anything.
//!
//! A [`TransferTurn`] is held for as long as its transfer runs and gives
//! the turn back when dropped, whichever way the transfer ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The transfers every company holds now.
#[derive(Debug)]
pub struct TransferTurns {
    per_company: usize,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

/// Why a streamed transfer gets no turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTurn {
    /// The request is no company's (every pod token is one's, so this is
    /// the pod's own fault): there is nobody to count the transfer against,
    /// and it is not made.
    NoCompany,
    /// The company already holds `per_company` transfers, as many as it
    /// may.
    TooMany { per_company: usize },
}

/// One company's turn for one transfer; given back on drop.
#[derive(Debug)]
pub struct TransferTurn {
    company: String,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

impl TransferTurns {
    /// At most `per_company` transfers per company at once.
    pub fn new(per_company: usize) -> Self {
        TransferTurns {
            per_company,
            held: Arc::default(),
        }
    }

    /// The most one company may hold at once.
    pub fn per_company(&self) -> usize {
        self.per_company
    }

    /// A turn for the transfer of `company` (its client id, `None` when
    /// the request is no company's), or why it gets none.
    pub fn claim(&self, company: Option<&str>) -> Result<TransferTurn, NoTurn> {
        let company = company.ok_or(NoTurn::NoCompany)?;
        self.take(company).ok_or(NoTurn::TooMany {
            per_company: self.per_company,
        })
    }

    /// A turn for `company` (its client id), or `None` when it already
    /// holds as many as it may.
    pub fn take(&self, company: &str) -> Option<TransferTurn> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(company.to_string()).or_insert(0);
        if *n >= self.per_company {
            if *n == 0 {
                held.remove(company);
            }
            return None;
        }
        *n += 1;
        Some(TransferTurn {
            company: company.to_string(),
            held: Arc::clone(&self.held),
        })
    }

    /// How many transfers `company` holds now.
    pub fn held_by(&self, company: &str) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(company).copied().unwrap_or(0)
    }
}

impl Drop for TransferTurn {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.company) {
            *n = n.saturating_sub(1);
            // Companies that hold nothing are forgotten: the map stays as
            // small as the transfers under way.
            if *n == 0 {
                held.remove(&self.company);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_company_holds_at_most_its_cap_and_others_are_not_affected() {
        let turns = TransferTurns::new(2);
        let a1 = turns.take("a").unwrap();
        let _a2 = turns.take("a").unwrap();
        assert!(turns.take("a").is_none(), "a third for one company");
        let _b = turns.take("b").expect("another company still gets one");
        assert_eq!(turns.held_by("a"), 2);
        drop(a1);
        assert_eq!(turns.held_by("a"), 1);
        let _a3 = turns.take("a").expect("a turn given back is taken again");
        assert!(turns.take("a").is_none());
    }

    #[test]
    fn a_claim_says_why_there_is_no_turn() {
        let turns = TransferTurns::new(1);
        assert_eq!(turns.claim(None).unwrap_err(), NoTurn::NoCompany);
        let _a = turns.claim(Some("a")).unwrap();
        assert_eq!(
            turns.claim(Some("a")).unwrap_err(),
            NoTurn::TooMany { per_company: 1 }
        );
        assert!(turns.claim(Some("b")).is_ok());
    }

    #[test]
    fn turns_given_back_leave_nothing_behind() {
        let turns = TransferTurns::new(1);
        for i in 0..100 {
            drop(turns.take(&format!("c{i}")).unwrap());
        }
        assert!(turns.held.lock().unwrap().is_empty());
        let none = TransferTurns::new(0);
        assert!(none.take("a").is_none());
        assert!(none.held.lock().unwrap().is_empty());
    }
}
