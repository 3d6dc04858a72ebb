//! The access log's words: what happened ([`Action`]), who did it
//! ([`Actor`]), whether it was let through ([`Outcome`]) and, for a pod
//! request, its HTTP [`Method`].
//!
//! Each is stored as text, and that text is hashed into the chain: it is
//! exactly what the first release wrote (`read`, `owner`, `allowed`,
//! `GET`, …), so existing vaults and bundles still verify. Text this build
//! does not know (an entry written by another version, or a method nobody
//! names) reads back as it was written ([`Action::Other`],
//! [`Actor::Client`], [`Method::Other`]), never as an error: the log is the
//! person's record and must stay readable. Only [`Outcome`] is closed: every
//! version wrote `allowed` or `denied`, and a bundle with anything else is
//! refused on import.

use std::fmt;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize, Serializer};

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// A company read a resource or a listing (GET, HEAD).
    Read,
    /// A company created or replaced a resource (PUT, POST, PATCH, …).
    Write,
    /// A company deleted a resource.
    Delete,
    /// A company registered with the pod.
    Register,
    /// A company asked for access (device authorization).
    Request,
    /// A company received a token for a grant.
    Token,
    /// A company gave its token back.
    TokenRevoke,
    /// The person granted a request.
    Grant,
    /// The person denied a request.
    Deny,
    /// The person revoked a grant, or cut a company off.
    Revoke,
    /// A grant reached its end (recorded when the pod next noticed, with
    /// its consent receipt).
    Expire,
    /// The person lifted a company's mark from a resource.
    Unmark,
    /// The person merged a bundle into the vault.
    Import,
    /// The person set the log's retention policy.
    Retention,
    /// The retention policy removed the oldest entries; this one stands for
    /// them (see [`crate::audit::retention`]).
    Checkpoint,
    /// Refused requests that were counted rather than logged one by one
    /// (see [`crate::limits::refusals`]).
    Refusals,
    /// A company fetched the consent receipts about itself.
    Receipts,
    /// A company on the internet asked for access by a link (its request
    /// object checked against its published keys).
    Connect,
    /// The pod tried to deliver an event to a company on the internet:
    /// allowed when delivered, denied with the reason otherwise.
    Deliver,
    /// An item from a company's feed was appended under its grant (allowed),
    /// or refused (denied, with the reason).
    Feed,
    /// An action this build does not name, read back as it was written.
    Other(String),
}

impl Action {
    /// Every named action, each once.
    pub const NAMED: [Action; 20] = [
        Action::Read,
        Action::Write,
        Action::Delete,
        Action::Register,
        Action::Request,
        Action::Token,
        Action::TokenRevoke,
        Action::Grant,
        Action::Deny,
        Action::Revoke,
        Action::Expire,
        Action::Unmark,
        Action::Import,
        Action::Retention,
        Action::Checkpoint,
        Action::Refusals,
        Action::Receipts,
        Action::Connect,
        Action::Deliver,
        Action::Feed,
    ];

    /// The stored text.
    pub fn as_str(&self) -> &str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
            Action::Register => "register",
            Action::Request => "request",
            Action::Token => "token",
            Action::TokenRevoke => "token_revoke",
            Action::Grant => "grant",
            Action::Deny => "deny",
            Action::Revoke => "revoke",
            Action::Expire => "expire",
            Action::Unmark => "unmark",
            Action::Import => "import",
            Action::Retention => "retention",
            Action::Checkpoint => "checkpoint",
            Action::Refusals => "refusals",
            Action::Receipts => "receipts",
            Action::Connect => "connect",
            Action::Deliver => "deliver",
            Action::Feed => "feed",
            Action::Other(text) => text,
        }
    }

    /// The action a stored text stands for; unknown text is kept.
    pub fn from_text(text: &str) -> Action {
        Action::NAMED
            .into_iter()
            .find(|a| a.as_str() == text)
            .unwrap_or_else(|| Action::Other(text.to_string()))
    }
}

/// Who did what an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The person, through the app or the CLI.
    Owner,
    /// A registered company, by client id (`cli_…`).
    Client(String),
    /// A request whose token names no company.
    Anonymous,
}

impl Actor {
    /// The stored text: `owner`, the client id, or `anonymous`. No client id
    /// can be either word (ids are `cli_…`).
    pub fn as_str(&self) -> &str {
        match self {
            Actor::Owner => "owner",
            Actor::Client(id) => id,
            Actor::Anonymous => "anonymous",
        }
    }

    /// The actor a stored text stands for.
    pub fn from_text(text: &str) -> Actor {
        match text {
            "owner" => Actor::Owner,
            "anonymous" => Actor::Anonymous,
            id => Actor::Client(id.to_string()),
        }
    }
}

/// Whether the request or action was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Let through (every owner action is).
    Allowed,
    /// Refused; the entry's reason says why.
    Denied,
}

impl Outcome {
    /// Both outcomes.
    pub const ALL: [Outcome; 2] = [Outcome::Allowed, Outcome::Denied];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
        }
    }

    /// The outcome a stored text stands for, if any.
    pub fn from_text(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// The HTTP method of a pod request, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: a read.
    Get,
    /// `HEAD`: a read of the headers only.
    Head,
    /// `POST`: a new resource in a container.
    Post,
    /// `PUT`: a resource created or replaced.
    Put,
    /// `PATCH`: a change to a resource.
    Patch,
    /// `DELETE`: a resource removed.
    Delete,
    /// Any other method, as the request spelled it.
    Other(String),
}

impl Method {
    /// Every named method, each once.
    pub const NAMED: [Method; 6] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// The stored text (the method as HTTP spells it).
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Other(text) => text,
        }
    }

    /// The method a request or stored text names (methods are
    /// case-sensitive); unknown text is kept.
    pub fn from_text(text: &str) -> Method {
        Method::NAMED
            .into_iter()
            .find(|m| m.as_str() == text)
            .unwrap_or_else(|| Method::Other(text.to_string()))
    }

    /// Whether the request only reads (GET, HEAD).
    pub fn is_read(&self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// Display, serialization and storage as the stored text, for the words
/// that keep unknown text.
macro_rules! as_text {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_str().map(<$t>::from_text)
            }
        }
    )*};
}

as_text!(Action, Actor, Method);

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ToSql for Outcome {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Outcome {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Outcome::from_text(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown outcome {text:?}").into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored text of every word, as the first release wrote it: these
    /// are hashed into every vault's chain and bundle, so renaming one
    /// breaks them all. Change this table only with a migration.
    #[test]
    fn stored_text_is_what_the_first_release_wrote() {
        let actions = [
            (Action::Read, "read"),
            (Action::Write, "write"),
            (Action::Delete, "delete"),
            (Action::Register, "register"),
            (Action::Request, "request"),
            (Action::Token, "token"),
            (Action::TokenRevoke, "token_revoke"),
            (Action::Grant, "grant"),
            (Action::Deny, "deny"),
            (Action::Revoke, "revoke"),
            (Action::Expire, "expire"),
            (Action::Unmark, "unmark"),
            (Action::Import, "import"),
            (Action::Retention, "retention"),
            (Action::Checkpoint, "checkpoint"),
            (Action::Refusals, "refusals"),
            (Action::Receipts, "receipts"),
            (Action::Connect, "connect"),
            (Action::Deliver, "deliver"),
            (Action::Feed, "feed"),
        ];
        assert_eq!(actions.len(), Action::NAMED.len(), "every action listed");
        for (action, text) in &actions {
            assert!(Action::NAMED.contains(action), "{action:?} is named");
            assert_eq!(action.as_str(), *text);
            assert_eq!(action.to_string(), *text);
            assert_eq!(serde_json::to_value(action).unwrap(), *text);
        }
        for (actor, text) in [
            (Actor::Owner, "owner"),
            (Actor::Anonymous, "anonymous"),
            (Actor::Client("cli_abc".into()), "cli_abc"),
        ] {
            assert_eq!(actor.as_str(), text);
            assert_eq!(serde_json::to_value(&actor).unwrap(), text);
        }
        let outcomes = [(Outcome::Allowed, "allowed"), (Outcome::Denied, "denied")];
        assert_eq!(outcomes.len(), Outcome::ALL.len());
        for (outcome, text) in outcomes {
            assert_eq!(outcome.as_str(), text);
            assert_eq!(serde_json::to_value(outcome).unwrap(), text);
        }
        let methods = [
            (Method::Get, "GET"),
            (Method::Head, "HEAD"),
            (Method::Post, "POST"),
            (Method::Put, "PUT"),
            (Method::Patch, "PATCH"),
            (Method::Delete, "DELETE"),
        ];
        assert_eq!(methods.len(), Method::NAMED.len());
        for (method, text) in &methods {
            assert_eq!(method.as_str(), *text);
            assert_eq!(serde_json::to_value(method).unwrap(), *text);
        }
    }

    #[test]
    fn every_word_reads_back_from_its_stored_text() {
        for a in Action::NAMED {
            assert_eq!(Action::from_text(a.as_str()), a);
        }
        for a in [
            Actor::Owner,
            Actor::Anonymous,
            Actor::Client("cli_x".into()),
        ] {
            assert_eq!(Actor::from_text(a.as_str()), a);
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_text(o.as_str()), Some(o));
            assert_eq!(
                serde_json::from_value::<Outcome>(o.as_str().into()).unwrap(),
                o
            );
        }
        for m in Method::NAMED {
            assert_eq!(Method::from_text(m.as_str()), m);
        }
    }

    /// An old or imported log may hold words this build does not name: they
    /// read back as written, so the entry shows and its hash still matches.
    #[test]
    fn unknown_text_reads_back_as_written() {
        let a = Action::from_text("passwd");
        assert_eq!(a, Action::Other("passwd".into()));
        assert_eq!(a.as_str(), "passwd");
        assert_eq!(Action::from_text("READ"), Action::Other("READ".into()));
        let m = Method::from_text("PROPFIND");
        assert_eq!(m, Method::Other("PROPFIND".into()));
        assert_eq!(m.as_str(), "PROPFIND");
        assert!(
            !Method::from_text("get").is_read(),
            "methods are case-sensitive"
        );
        assert_eq!(Outcome::from_text("maybe"), None);
    }

    #[test]
    fn words_are_stored_and_read_as_their_text() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let (action, actor, method, outcome): (String, String, String, String) = conn
            .query_row(
                "SELECT ?1, ?2, ?3, ?4",
                rusqlite::params![
                    Action::TokenRevoke,
                    Actor::Anonymous,
                    Method::Head,
                    Outcome::Denied
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            (
                action.as_str(),
                actor.as_str(),
                method.as_str(),
                outcome.as_str()
            ),
            ("token_revoke", "anonymous", "HEAD", "denied")
        );
        let read: (Action, Actor, Method, Outcome) = conn
            .query_row("SELECT 'import', 'cli_q', 'PUT', 'allowed'", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap();
        assert_eq!(
            read,
            (
                Action::Import,
                Actor::Client("cli_q".into()),
                Method::Put,
                Outcome::Allowed
            )
        );
        assert!(conn
            .query_row("SELECT 'maybe'", [], |r| r.get::<_, Outcome>(0))
            .is_err());
    }
}
