//! Clients: companies registered with the pod (RFC 7591). Registration
//! proves nothing about who a company is, so a registered client is shown
//! as unverified; a company that connected by a link (`crate::linked`)
//! proved its domain and is shown verified. A registration and its access-log entry commit together.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Action, NewEntry};
use crate::clock::parse_time;
use crate::linked::LinkedCompany;
use crate::sharing::records::ClientRecord;
use crate::sharing::token;
use crate::vault::record::{self, OnConflict, StoredJson, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

/// Longest accepted client name and URI.
const MAX_NAME_CHARS: usize = 100;
const MAX_URI_CHARS: usize = 500;
/// The most contacts a company may give (registered or in its metadata).
pub const MAX_CONTACTS: usize = 5;

/// What a company sends to register.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistration {
    pub client_name: String,
    #[serde(default)]
    pub client_uri: Option<String>,
    #[serde(default)]
    pub contacts: Vec<String>,
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub uri: Option<String>,
    pub contacts: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// False for a company that registered (registration proves
    /// nothing); true for one that connected by a link and so proved its
    /// domain (see `company`).
    pub verified: bool,
    /// The company, when it connected by a link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<LinkedCompany>,
}

/// Labels the person's own actions go by in the log and the app ("you"),
/// and the pod's own: no company may register under one of them.
const RESERVED_NAMES: &[&str] = &[
    "you",
    "me",
    "myself",
    "owner",
    "the owner",
    "custodian",
    "anonymous",
    "system",
    "unknown token",
];

/// Unicode format characters (general category Cf: bidi overrides and
/// isolates, zero-width spaces and joiners, the BOM, soft hyphen, tags…),
/// which can make one name look like another.
pub fn is_format_char(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// A company's name as it will be shown: format characters removed, runs
/// of white space made one space, trimmed; refused when empty, too long,
/// or one of the person's own labels.
pub fn clean_name(raw: &str) -> Result<String> {
    let visible: String = raw.chars().filter(|c| !is_format_char(*c)).collect();
    one_line("client_name", &visible, MAX_NAME_CHARS)?;
    let name = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    let folded = name
        .trim_matches(|c: char| c.is_ascii_punctuation())
        .to_lowercase();
    if RESERVED_NAMES.contains(&folded.as_str()) {
        return Err(Error::InvalidRequest(format!(
            "client_name {name:?} is reserved: the person's own actions are shown under it; register under your company's name"
        )));
    }
    Ok(name)
}

/// A stored company name as it is shown: format characters removed and
/// white space made single, also for names registered before names were
/// cleaned on the way in.
pub fn shown_name(stored: &str) -> String {
    stored
        .chars()
        .filter(|c| !is_format_char(*c))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn one_line(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(Error::InvalidRequest(format!(
            "{field} must be one line of 1 to {max} characters"
        )));
    }
    Ok(())
}

impl ClientRegistration {
    fn check(&self) -> Result<()> {
        clean_name(&self.client_name)?;
        if let Some(uri) = &self.client_uri {
            one_line("client_uri", uri, MAX_URI_CHARS)?;
            if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                return Err(Error::InvalidRequest(
                    "client_uri must be an http(s) URL".into(),
                ));
            }
        }
        contacts_rule(&self.contacts).map_err(Error::InvalidRequest)
    }
}

/// What a company may give as contacts, registered or in its client
/// metadata: at most [`MAX_CONTACTS`], each one line of visible text; the
/// broken rule as text (each door of the core words its own error).
pub(crate) fn contacts_rule(contacts: &[String]) -> std::result::Result<(), String> {
    if contacts.len() > MAX_CONTACTS {
        return Err(format!("at most {MAX_CONTACTS} contacts"));
    }
    for c in contacts {
        one_line("contacts", c, MAX_NAME_CHARS).map_err(|e| match e {
            Error::InvalidRequest(rule) => rule,
            other => other.to_string(),
        })?;
        if c.chars().any(is_format_char) {
            return Err("contacts must not hold invisible format characters".into());
        }
    }
    Ok(())
}

impl Store {
    /// Registers a client and logs it, in one transaction; returns it with
    /// its new id.
    pub fn register_client(&self, reg: &ClientRegistration) -> Result<Client> {
        reg.check()?;
        let name = clean_name(&reg.client_name)?;
        let id = token::new_id("cli_")?;
        let now = self.now();
        let row = ClientRecord {
            id: id.clone(),
            name: name.clone(),
            uri: reg.client_uri.clone(),
            contacts: StoredJson::of(&reg.contacts)?,
            created_at: now.clone(),
        };
        let tx = self.write_tx()?;
        self.purge_stale_asks()?;
        self.check_client_room()?;
        record::insert(&tx, &row, &[], OnConflict::Fail)?;
        let entry = NewEntry {
            reason: Some(format!("registered as {name:?}")),
            ..NewEntry::client(&id, Action::Register)
        };
        audit::append_in(&tx, &now, &[entry])?;
        tx.commit()?;
        self.client(&id)
    }

    /// A client by id.
    pub fn client(&self, id: &str) -> Result<Client> {
        self.find_client(id)?
            .ok_or_else(|| Error::UnknownClient { id: id.to_string() })
    }

    /// A client by id, if registered.
    pub fn find_client(&self, id: &str) -> Result<Option<Client>> {
        let sql = format!(
            "SELECT {} FROM clients WHERE id = ?1",
            record::select_list::<ClientRecord>(None)
        );
        self.conn
            .query_row(&sql, [id], ClientRecord::from_row)
            .optional()?
            .map(|row| {
                let company = self.linked_company(&row.id)?;
                Ok(Client {
                    verified: company.is_some(),
                    company,
                    name: shown_name(&row.name),
                    contacts: serde_json::from_str(row.contacts.as_str()).unwrap_or_default(),
                    created_at: parse_time(&row.created_at)?,
                    id: row.id,
                    uri: row.uri,
                })
            })
            .transpose()
    }

    /// A client by id or, failing that, by its name (any case) when exactly
    /// one company has that name: what a person types on the command line.
    pub fn resolve_client(&self, id_or_name: &str) -> Result<Client> {
        if let Some(c) = self.find_client(id_or_name)? {
            return Ok(c);
        }
        let wanted = id_or_name.trim().to_lowercase();
        let all = self.clients()?;
        let mut named: Vec<Client> = all
            .iter()
            .filter(|c| c.name.to_lowercase() == wanted)
            .cloned()
            .collect();
        if named.is_empty() && !wanted.is_empty() {
            // A part of the name ("acme" for "Acme Shop") when only one fits.
            named = all
                .into_iter()
                .filter(|c| c.name.to_lowercase().contains(&wanted))
                .collect();
        }
        match named.len() {
            0 => Err(Error::UnknownClient {
                id: id_or_name.to_string(),
            }),
            1 => Ok(named.remove(0)),
            _ => Err(Error::InvalidRequest(format!(
                "several companies are named {id_or_name:?}; use a client id: {}",
                named
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Every registered client.
    pub fn clients(&self) -> Result<Vec<Client>> {
        let ids: Vec<String> = self
            .conn
            .prepare("SELECT id FROM clients ORDER BY created_at, id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.iter().map(|id| self.client(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_store;

    #[test]
    fn no_company_passes_for_the_person_or_hides_characters() {
        let (_d, store) = memory_store();
        for reserved in [
            "you",
            "You",
            " YOU ",
            "you.",
            "Owner",
            "y\u{200B}ou",
            "\u{202E}uoy\u{202C}",
        ] {
            let err = store
                .register_client(&ClientRegistration {
                    client_name: reserved.to_string(),
                    ..Default::default()
                })
                .map(|c| c.name);
            // The reversed one is not "you" once its override is gone ("uoy"),
            // but it must not keep the override either.
            match err {
                Err(Error::InvalidRequest(m)) => assert!(m.contains("reserved"), "{m}"),
                Ok(name) => assert_eq!(name, "uoy", "{reserved:?}"),
                Err(e) => panic!("{e}"),
            }
        }
        let c = store
            .register_client(&ClientRegistration {
                client_name: "Acme\u{2066}  Shop\u{FEFF}".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(c.name, "Acme Shop");
        assert!(clean_name("\u{200B}\u{200D}").is_err(), "nothing visible");
        assert!(is_format_char('\u{202E}') && !is_format_char('é'));
    }

    #[test]
    fn registers_and_refuses_bad_registrations() {
        let (_d, store) = memory_store();
        let c = store
            .register_client(&ClientRegistration {
                client_name: "Acme Shop".into(),
                client_uri: Some("https://acme.example".into()),
                contacts: vec!["privacy@acme.example".into()],
            })
            .unwrap();
        assert!(c.id.starts_with("cli_"));
        assert!(!c.verified);
        assert_eq!(store.client(&c.id).unwrap(), c);
        for bad in [
            ClientRegistration {
                client_name: " ".into(),
                ..Default::default()
            },
            ClientRegistration {
                client_name: "A\nB".into(),
                ..Default::default()
            },
            ClientRegistration {
                client_name: "A".into(),
                client_uri: Some("javascript:alert(1)".into()),
                ..Default::default()
            },
        ] {
            assert!(
                matches!(store.register_client(&bad), Err(Error::InvalidRequest(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            store.client("cli_nope"),
            Err(Error::UnknownClient { .. })
        ));
        assert_eq!(store.resolve_client("acme shop").unwrap().id, c.id);
        assert_eq!(
            store.resolve_client("acme").unwrap().id,
            c.id,
            "a unique part of the name"
        );
        assert_eq!(store.resolve_client(&c.id).unwrap().id, c.id);
        store
            .register_client(&ClientRegistration {
                client_name: "ACME Shop".into(),
                ..Default::default()
            })
            .unwrap();
        assert!(matches!(
            store.resolve_client("Acme Shop"),
            Err(Error::InvalidRequest(m)) if m.contains(&c.id)
        ));
    }

    /// The client and its `register` entry are one commit: when the log
    /// cannot be written, no client is left behind unlogged.
    #[test]
    fn registration_and_its_log_entry_commit_together() {
        let (_d, store) = memory_store();
        let reg = ClientRegistration {
            client_name: "Acme\u{200B} Shop".into(),
            ..Default::default()
        };
        crate::testing::refuse_inserts(&store, "audit_log");
        assert!(store.register_client(&reg).is_err());
        assert_eq!(store.clients().unwrap(), vec![], "rolled back");
        crate::testing::allow_inserts(&store, "audit_log");

        let c = store.register_client(&reg).unwrap();
        let log = store.audit_log(&Default::default()).unwrap();
        assert_eq!(log.len(), 1);
        let e = &log[0];
        assert_eq!(
            (&e.actor, e.client_id.as_deref(), &e.action, e.outcome),
            (
                &audit::Actor::Client(c.id.clone()),
                Some(c.id.as_str()),
                &Action::Register,
                audit::Outcome::Allowed
            )
        );
        assert_eq!(e.reason.as_deref(), Some("registered as \"Acme Shop\""));
        assert_eq!(
            (e.method.as_ref(), e.path.as_deref(), e.grant_id.as_deref()),
            (None, None, None)
        );
    }
}
