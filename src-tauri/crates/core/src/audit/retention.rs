//! How long the access log keeps its entries: the person's choice, and by
//! default for ever.
//!
//! With a retention period set, entries older than it are removed from the
//! start of the log, and one *checkpoint* entry is appended in the same
//! transaction. The checkpoint says which entries it stands for, when they
//! were written, and the hash of the last one removed: the first kept entry
//! names that hash as its predecessor, so the chain still verifies from the
//! checkpoint on (see [`Store::verify_audit_log`](crate::Store)), and any
//! other removal still breaks it. Only an owner entry with the action
//! [`Action::Checkpoint`] counts; a company cannot write one.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::audit::{self, Action, Actor, NewEntry};
use crate::clock::{format_time, human_duration};
use crate::vault::store::Store;
use crate::{Error, Result};

/// Where the policy is kept (`vault_meta`).
const META_KEY: &str = "log_retention_secs";

/// The longest retention period accepted: a thousand years (longer is
/// "keep everything", and would not fit the clock's arithmetic).
pub const MAX_RETENTION_SECS: i64 = 1000 * 366 * 24 * 3600;

/// How long log entries are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "keep", content = "seconds")]
pub enum Retention {
    /// Every entry, for ever (the default).
    Everything,
    /// Entries younger than this many seconds.
    For(i64),
}

impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retention::Everything => f.write_str("every entry is kept"),
            Retention::For(secs) => write!(
                f,
                "entries older than {} are replaced by a checkpoint",
                human_duration(*secs)
            ),
        }
    }
}

/// What one application of the policy removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Entries removed.
    pub removed: u64,
    /// The last removed entry's sequence number.
    pub through: u64,
    /// The checkpoint entry that stands for them.
    pub checkpoint: u64,
}

/// The end of a checkpoint's reason: what the first kept entry must follow.
pub(crate) fn seal(through: u64, hash: &str) -> String {
    format!("entry {through} had hash {hash}")
}

impl Store {
    /// The person's retention policy.
    pub fn log_retention(&self) -> Result<Retention> {
        Ok(match self.meta(META_KEY)? {
            Some(v) => match v.parse::<i64>() {
                Ok(secs) if secs > 0 => Retention::For(secs),
                _ => Retention::Everything,
            },
            None => Retention::Everything,
        })
    }

    /// Sets the policy (logged as an owner action). It is applied by
    /// [`Store::apply_log_retention`].
    pub fn set_log_retention(&self, policy: Retention) -> Result<()> {
        let value = match policy {
            Retention::Everything => "0".to_string(),
            Retention::For(secs) if (1..=MAX_RETENTION_SECS).contains(&secs) => secs.to_string(),
            Retention::For(secs) if secs > 0 => return Err(Error::InvalidRequest(
                "a retention period is at most 1,000 years; to keep every entry, keep everything"
                    .into(),
            )),
            Retention::For(_) => {
                return Err(Error::InvalidRequest(
                    "a retention period is at least one second".into(),
                ))
            }
        };
        let tx = self.write_tx()?;
        self.set_meta(META_KEY, &value)?;
        let mut entry = NewEntry::owner(Action::Retention);
        entry.reason = Some(policy.to_string());
        audit::append_in(&tx, &self.now(), &[entry])?;
        tx.commit()?;
        Ok(())
    }

    /// Removes the entries older than the policy allows, from the start of
    /// the log, and appends the checkpoint that stands for them. `None`
    /// when the policy keeps everything or nothing is old enough.
    pub fn apply_log_retention(&self) -> Result<Option<Pruned>> {
        let Retention::For(secs) = self.log_retention()? else {
            return Ok(None);
        };
        // Further back than the clock reaches (a policy stored by hand):
        // nothing is that old.
        let now = self.clock.now();
        let Some(cutoff) = crate::clock::seconds_before(now, secs) else {
            return Ok(None);
        };
        let cutoff = format_time(cutoff);
        let tx = self.write_tx()?;
        // The prefix of the log older than the cut-off: up to the first
        // entry at or after it (times follow sequence order, so one late
        // clock never removes a newer entry).
        let first: Option<(u64, String)> = tx
            .query_row(
                "SELECT seq, at FROM audit_log ORDER BY seq LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((first_seq, first_at)) = first else {
            return Ok(None);
        };
        let kept_from: Option<u64> = tx.query_row(
            "SELECT min(seq) FROM audit_log WHERE at >= ?1",
            [&cutoff],
            |r| r.get(0),
        )?;
        let through = match kept_from {
            Some(k) => k.saturating_sub(1),
            None => tx.query_row("SELECT max(seq) FROM audit_log", [], |r| r.get(0))?,
        };
        if through < first_seq {
            return Ok(None);
        }
        let (last_at, hash): (String, String) = tx.query_row(
            "SELECT at, hash FROM audit_log WHERE seq = ?1",
            [through],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // The checkpoint first, while the entries it stands for are still
        // there: it continues their numbering and chain even when every
        // entry is old (appended to an empty log it would restart at 1).
        let mut entry = NewEntry::owner(Action::Checkpoint);
        entry.reason = Some(format!(
            "entries {first_seq} to {through} (written {first_at} to {last_at}) were removed by the retention policy ({}); this checkpoint stands for them: {}",
            Retention::For(secs),
            seal(through, &hash)
        ));
        audit::append_in(&tx, &format_time(now), &[entry])?;
        let checkpoint: u64 = tx.query_row("SELECT max(seq) FROM audit_log", [], |r| r.get(0))?;
        let removed = tx.execute("DELETE FROM audit_log WHERE seq <= ?1", [through])? as u64;
        tx.commit()?;
        Ok(Some(Pruned {
            removed,
            through,
            checkpoint,
        }))
    }

    /// The owner checkpoint entry after `through` that stands for the
    /// entries up to `through` ending with hash `hash`, if there is one.
    pub(crate) fn checkpoint_for(&self, through: u64, hash: &str) -> Result<Option<u64>> {
        let wanted = seal(through, hash);
        let mut stmt = self.conn.prepare(
            "SELECT seq, reason FROM audit_log
             WHERE seq > ?1 AND actor = ?2 AND action = ?3 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![through, Actor::Owner, Action::Checkpoint], |r| {
            Ok((r.get::<_, u64>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        for row in rows {
            let (seq, reason) = row?;
            if reason.is_some_and(|r| r.ends_with(&wanted)) {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;

    use super::*;
    use crate::audit::{Checkpointed, LogFilter};
    use crate::clock::ManualClock;
    use crate::testing::memory_store;
    use chrono::Duration;

    fn entries(store: &Store, n: usize) {
        for _ in 0..n {
            store
                .append_audit(&[NewEntry::owner(Action::Read)])
                .unwrap();
        }
    }

    /// A period past what the clock can count is refused with a clear
    /// message, and one stored anyway (by hand, or by an older build)
    /// removes nothing instead of panicking at every `serve`.
    #[test]
    fn an_enormous_period_is_refused_and_never_panics() {
        let (_d, store) = memory_store();
        entries(&store, 3);
        let err = store
            .set_log_retention(Retention::For(10_000_000_000_000_000))
            .unwrap_err();
        assert!(err.to_string().contains("at most 1,000 years"), "{err}");
        assert_eq!(store.log_retention().unwrap(), Retention::Everything);
        store.set_meta(META_KEY, &i64::MAX.to_string()).unwrap();
        assert_eq!(store.apply_log_retention().unwrap(), None);
        assert_eq!(store.verify_audit_log().unwrap().entries, 3);
    }

    /// Every entry old: the checkpoint continues the numbering and the
    /// chain (it is not a fresh log starting at 1), and it verifies.
    #[test]
    fn when_every_entry_is_old_the_checkpoint_continues_the_chain() {
        let (_d, mut store) = memory_store();
        let clock = ManualClock::new(Utc::now());
        store.set_clock(Arc::new(clock.clone()));
        entries(&store, 5);
        store.set_log_retention(Retention::For(24 * 3600)).unwrap();
        clock.advance(Duration::days(2));
        let pruned = store.apply_log_retention().unwrap().expect("pruned");
        assert_eq!(pruned.through, 6, "five reads and the policy entry");
        assert_eq!(pruned.checkpoint, 7);
        let log = store.audit_log(&LogFilter::default()).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].seq, 7);
        let report = store.verify_audit_log().unwrap();
        assert_eq!(report.first_broken, None);
        assert!(report.checkpoint.is_some(), "{report:?}");
    }

    #[test]
    fn the_default_keeps_everything() {
        let (_d, store) = memory_store();
        entries(&store, 3);
        assert_eq!(store.log_retention().unwrap(), Retention::Everything);
        assert_eq!(store.apply_log_retention().unwrap(), None);
        assert_eq!(store.verify_audit_log().unwrap().entries, 3);
    }

    #[test]
    fn old_entries_are_replaced_by_a_checkpoint_and_the_chain_verifies() {
        let (_d, mut store) = memory_store();
        let clock = ManualClock::new(Utc::now());
        store.set_clock(Arc::new(clock.clone()));
        entries(&store, 10);
        clock.advance(Duration::days(400));
        store
            .set_log_retention(Retention::For(365 * 86_400))
            .unwrap(); // entry 11
        entries(&store, 2);

        let pruned = store.apply_log_retention().unwrap().unwrap();
        assert_eq!(
            pruned,
            Pruned {
                removed: 10,
                through: 10,
                checkpoint: 14
            }
        );
        let report = store.verify_audit_log().unwrap();
        assert_eq!(report.first_broken, None);
        assert_eq!(report.entries, 4, "11 to 14");
        assert_eq!(
            report.checkpoint,
            Some(Checkpointed {
                through: 10,
                entry: 14
            })
        );
        let log = store.audit_log(&LogFilter::default()).unwrap();
        assert_eq!(log[0].seq, 11);
        assert_eq!(log[3].action, Action::Checkpoint);
        assert!(log[3]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("entries 1 to 10 "));
        assert_eq!(store.apply_log_retention().unwrap(), None, "nothing older");

        // A year later, the next checkpoint stands for everything before it.
        clock.advance(Duration::days(400));
        entries(&store, 1);
        let again = store.apply_log_retention().unwrap().unwrap();
        assert_eq!(again.through, 14);
        let report = store.verify_audit_log().unwrap();
        assert_eq!(report.first_broken, None);
        assert_eq!(report.checkpoint.unwrap().through, 14);
    }

    #[test]
    fn removing_entries_without_a_checkpoint_still_breaks_the_chain() {
        let (_d, mut store) = memory_store();
        let clock = ManualClock::new(Utc::now());
        store.set_clock(Arc::new(clock.clone()));
        entries(&store, 5);
        clock.advance(Duration::days(2));
        store.set_log_retention(Retention::For(86_400)).unwrap();
        store.apply_log_retention().unwrap().unwrap();
        // Someone with the key removes one more entry at the start, or
        // forges a checkpoint as a company.
        store
            .conn
            .execute("DELETE FROM audit_log WHERE seq = 6", [])
            .unwrap();
        assert_eq!(store.verify_audit_log().unwrap().first_broken, Some(7));
        let (_d, store) = memory_store();
        entries(&store, 3);
        let hash: String = store
            .conn
            .query_row("SELECT hash FROM audit_log WHERE seq = 1", [], |r| r.get(0))
            .unwrap();
        let mut forged = NewEntry::owner(Action::Checkpoint);
        forged.actor = Actor::Client("cli_x".into());
        forged.reason = Some(seal(1, &hash));
        store.append_audit(&[forged]).unwrap();
        store
            .conn
            .execute("DELETE FROM audit_log WHERE seq = 1", [])
            .unwrap();
        assert_eq!(store.verify_audit_log().unwrap().first_broken, Some(2));
    }
}
