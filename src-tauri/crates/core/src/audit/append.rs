//! Adding to the access log, the one way in for new entries (a bundle
//! restore copies rows as they were exported): an entry ([`NewEntry`]) is
//! appended to the hash chain inside a write transaction, either one the
//! caller already holds, so an owner action or a registration and its
//! entry commit together (`append_in`), or one of its own
//! ([`Store::append_audit`]). The pod's entries decided on remembered data
//! are only written while that data is still current
//! ([`Store::append_audit_if_current`], see [`crate::sharing::read_cache`]).

use rusqlite::{params, OptionalExtension};

use super::log::{entry_hash, GENESIS};
use super::vocabulary::{Action, Actor, Method, Outcome};
use crate::audit::records::AuditRecord;
use crate::vault::record::{insert_sql, OnConflict};
use crate::vault::store::Store;
use crate::Result;

/// What to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub actor: Actor,
    pub client_id: Option<String>,
    pub action: Action,
    /// The HTTP method, for a pod request.
    pub method: Option<Method>,
    pub path: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub grant_id: Option<String>,
}

impl NewEntry {
    /// `action` by `actor`, allowed, with nothing else said.
    pub fn new(actor: Actor, action: Action) -> Self {
        NewEntry {
            actor,
            client_id: None,
            action,
            method: None,
            path: None,
            outcome: Outcome::Allowed,
            reason: None,
            grant_id: None,
        }
    }

    /// An owner action, allowed.
    pub fn owner(action: Action) -> Self {
        NewEntry::new(Actor::Owner, action)
    }

    /// A company's action, allowed, under its client id.
    pub fn client(client_id: &str, action: Action) -> Self {
        NewEntry {
            client_id: Some(client_id.to_string()),
            ..NewEntry::new(Actor::Client(client_id.to_string()), action)
        }
    }
}

impl Store {
    /// Appends entries in one transaction (the chain stays linear even with
    /// several processes writing: the write lock is taken first).
    pub fn append_audit(&self, entries: &[NewEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let tx = self.write_tx()?;
        append_in(&tx, &self.now(), entries)?;
        tx.commit()?;
        Ok(())
    }

    /// Appends pod-request entries to the access log in one transaction,
    /// except those decided on data older than the vault's change counter
    /// (`Some(generation)` that is no longer current); `None` entries are
    /// always written. Returns the counter and, per entry, whether it was
    /// written.
    pub fn append_audit_if_current(
        &self,
        entries: &[(NewEntry, Option<u64>)],
    ) -> Result<(u64, Vec<bool>)> {
        let tx = self.write_tx()?;
        let generation = self.generation()?;
        let written: Vec<bool> = entries
            .iter()
            .map(|(_, g)| g.is_none_or(|g| g == generation))
            .collect();
        let keep = entries
            .iter()
            .zip(&written)
            .filter(|(_, w)| **w)
            .map(|((e, _), _)| e);
        append_in(&tx, &self.now(), keep)?;
        tx.commit()?;
        Ok((generation, written))
    }
}

/// Appends entries inside a write transaction the caller holds, so an owner
/// action and its log entry commit together.
pub(crate) fn append_in<'a>(
    tx: &rusqlite::Connection,
    at: &str,
    entries: impl IntoIterator<Item = &'a NewEntry>,
) -> Result<()> {
    let last: Option<(u64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (mut seq, mut prev) = last.unwrap_or((0, GENESIS.to_string()));
    {
        // The columns as the log's record names them; the values below
        // follow its order (else no chain would verify).
        let mut stmt = tx.prepare_cached(&insert_sql::<AuditRecord>(&[], OnConflict::Fail))?;
        for e in entries {
            seq += 1;
            let hash = entry_hash(
                &prev,
                seq,
                at,
                e.actor.as_str(),
                e.client_id.as_deref(),
                e.action.as_str(),
                e.method.as_ref().map(Method::as_str),
                e.path.as_deref(),
                e.outcome.as_str(),
                e.reason.as_deref(),
                e.grant_id.as_deref(),
            );
            stmt.execute(params![
                seq,
                at,
                e.actor,
                e.client_id,
                e.action,
                e.method,
                e.path,
                e.outcome,
                e.reason,
                e.grant_id,
                prev,
                hash
            ])?;
            prev = hash;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::resource::NewResource;
    use crate::testing::{logged_actions, memory_store};

    fn other(text: &str) -> NewEntry {
        NewEntry::owner(Action::Other(text.into()))
    }

    #[test]
    fn stale_entries_are_not_written() {
        let (_dir, store) = memory_store();
        let g = store.generation().unwrap();
        store
            .put(
                &crate::parse_path("/a").unwrap(),
                NewResource::json(&serde_json::json!({})),
            )
            .unwrap();
        let entries = vec![(other("stale"), Some(g)), (other("unchecked"), None)];
        let (now, written) = store.append_audit_if_current(&entries).unwrap();
        assert!(now > g);
        assert_eq!(written, vec![false, true]);
        let (_, written) = store
            .append_audit_if_current(&[(other("current"), Some(now))])
            .unwrap();
        assert_eq!(written, vec![true]);
        let actions = logged_actions(&store);
        assert!(actions.contains(&"unchecked".to_string()));
        assert!(actions.contains(&"current".to_string()));
        assert!(!actions.contains(&"stale".to_string()));
    }

    /// What the constructors fill in is what was written before they
    /// existed: a company's entries carry its id twice, an owner's none.
    #[test]
    fn constructors_say_who_acted() {
        let (_dir, store) = memory_store();
        store
            .append_audit(&[
                NewEntry::client("cli_a", Action::Token),
                NewEntry::owner(Action::Unmark),
                NewEntry {
                    outcome: Outcome::Denied,
                    ..NewEntry::new(Actor::Anonymous, Action::Refusals)
                },
            ])
            .unwrap();
        let rows: Vec<(String, Option<String>, String, String)> = store
            .conn
            .prepare("SELECT actor, client_id, action, outcome FROM audit_log ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let rows: Vec<_> = rows
            .iter()
            .map(|(a, c, x, o)| (a.as_str(), c.as_deref(), x.as_str(), o.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("cli_a", Some("cli_a"), "token", "allowed"),
                ("owner", None, "unmark", "allowed"),
                ("anonymous", None, "refusals", "denied"),
            ]
        );
    }
}
