//! The rows of the sharing tables as stored, one record per table
//! (`clients`, `access_requests`, `grants`, `receipts`), each read by column name and
//! written from one column list (see [`crate::vault::record`]). Times stay
//! in their stored text and JSON columns in their stored text, so a row
//! read and written again is the same row, and a bundle holds exactly what
//! the vault holds. The domain types ([`super::client::Client`],
//! [`super::request::AccessRequest`], [`super::grant::Grant`]) are parsed
//! from these.

use rusqlite::types::ToSql;
use rusqlite::Row;
use serde::{Deserialize, Serialize};

use crate::vault::record::{column, StoredJson, TableRecord};

/// A row of `clients`: a company that registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRecord {
    pub id: String,
    pub name: String,
    pub uri: Option<String>,
    /// A JSON list of text.
    pub contacts: StoredJson,
    pub created_at: String,
}

impl TableRecord for ClientRecord {
    const TABLE: &'static str = "clients";
    const COLUMNS: &'static [&'static str] = &["id", "name", "uri", "contacts", "created_at"];

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(ClientRecord {
            id: column(r, Self::COLUMNS, "id")?,
            name: column(r, Self::COLUMNS, "name")?,
            uri: column(r, Self::COLUMNS, "uri")?,
            contacts: column(r, Self::COLUMNS, "contacts")?,
            created_at: column(r, Self::COLUMNS, "created_at")?,
        })
    }

    fn values(&self) -> Vec<&dyn ToSql> {
        vec![
            &self.id,
            &self.name,
            &self.uri,
            &self.contacts,
            &self.created_at,
        ]
    }
}

/// A row of `access_requests`, without its device code hash (a secret's
/// digest has no place in a bundle; whoever writes a new row gives it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRecord {
    pub id: String,
    pub client_id: String,
    /// The authorization details asked for, a JSON list.
    pub details: StoredJson,
    pub grant_lifetime: i64,
    pub user_code: String,
    pub status: String,
    pub poll_interval: i64,
    pub created_at: String,
    pub expires_at: String,
    pub last_polled_at: Option<String>,
    pub decided_at: Option<String>,
    pub grant_id: Option<String>,
}

impl RequestRecord {
    /// The column the record leaves out, given on insert.
    pub const DEVICE_CODE_HASH: &'static str = "device_code_hash";
}

impl TableRecord for RequestRecord {
    const TABLE: &'static str = "access_requests";
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "client_id",
        "details",
        "grant_lifetime",
        "user_code",
        "status",
        "poll_interval",
        "created_at",
        "expires_at",
        "last_polled_at",
        "decided_at",
        "grant_id",
    ];

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RequestRecord {
            id: column(r, Self::COLUMNS, "id")?,
            client_id: column(r, Self::COLUMNS, "client_id")?,
            details: column(r, Self::COLUMNS, "details")?,
            grant_lifetime: column(r, Self::COLUMNS, "grant_lifetime")?,
            user_code: column(r, Self::COLUMNS, "user_code")?,
            status: column(r, Self::COLUMNS, "status")?,
            poll_interval: column(r, Self::COLUMNS, "poll_interval")?,
            created_at: column(r, Self::COLUMNS, "created_at")?,
            expires_at: column(r, Self::COLUMNS, "expires_at")?,
            last_polled_at: column(r, Self::COLUMNS, "last_polled_at")?,
            decided_at: column(r, Self::COLUMNS, "decided_at")?,
            grant_id: column(r, Self::COLUMNS, "grant_id")?,
        })
    }

    fn values(&self) -> Vec<&dyn ToSql> {
        vec![
            &self.id,
            &self.client_id,
            &self.details,
            &self.grant_lifetime,
            &self.user_code,
            &self.status,
            &self.poll_interval,
            &self.created_at,
            &self.expires_at,
            &self.last_polled_at,
            &self.decided_at,
            &self.grant_id,
        ]
    }
}

/// A row of `grants`: what the person granted, until when, and whether it
/// was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRecord {
    pub id: String,
    pub client_id: String,
    pub request_id: Option<String>,
    /// The authorization details granted, a JSON list.
    pub details: StoredJson,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

impl TableRecord for GrantRecord {
    const TABLE: &'static str = "grants";
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "client_id",
        "request_id",
        "details",
        "created_at",
        "expires_at",
        "revoked_at",
    ];

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(GrantRecord {
            id: column(r, Self::COLUMNS, "id")?,
            client_id: column(r, Self::COLUMNS, "client_id")?,
            request_id: column(r, Self::COLUMNS, "request_id")?,
            details: column(r, Self::COLUMNS, "details")?,
            created_at: column(r, Self::COLUMNS, "created_at")?,
            expires_at: column(r, Self::COLUMNS, "expires_at")?,
            revoked_at: column(r, Self::COLUMNS, "revoked_at")?,
        })
    }

    fn values(&self) -> Vec<&dyn ToSql> {
        vec![
            &self.id,
            &self.client_id,
            &self.request_id,
            &self.details,
            &self.created_at,
            &self.expires_at,
            &self.revoked_at,
        ]
    }
}

/// A row of `receipts`: one signed consent receipt (its JWS as issued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptRecord {
    pub id: String,
    pub client_id: String,
    pub grant_id: Option<String>,
    pub request_id: Option<String>,
    pub event: String,
    pub issued_at: String,
    pub jws: String,
}

impl TableRecord for ReceiptRecord {
    const TABLE: &'static str = "receipts";
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "client_id",
        "grant_id",
        "request_id",
        "event",
        "issued_at",
        "jws",
    ];

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(ReceiptRecord {
            id: column(r, Self::COLUMNS, "id")?,
            client_id: column(r, Self::COLUMNS, "client_id")?,
            grant_id: column(r, Self::COLUMNS, "grant_id")?,
            request_id: column(r, Self::COLUMNS, "request_id")?,
            event: column(r, Self::COLUMNS, "event")?,
            issued_at: column(r, Self::COLUMNS, "issued_at")?,
            jws: column(r, Self::COLUMNS, "jws")?,
        })
    }

    fn values(&self) -> Vec<&dyn ToSql> {
        vec![
            &self.id,
            &self.client_id,
            &self.grant_id,
            &self.request_id,
            &self.event,
            &self.issued_at,
            &self.jws,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_store;
    use crate::vault::record::tests::round_trip;

    fn json(text: &str) -> StoredJson {
        serde_json::from_str(text).unwrap()
    }

    fn client() -> ClientRecord {
        ClientRecord {
            id: "cli_a".into(),
            name: "Acme".into(),
            uri: Some("https://acme.example".into()),
            contacts: json(r#"["privacy@acme.example"]"#),
            created_at: "2026-11-01T10:00:00.000000Z".into(),
        }
    }

    #[test]
    fn each_sharing_record_reads_back_what_it_wrote() {
        let (_d, store) = memory_store();
        let c = client();
        round_trip(&store.conn, &c, &[], ("id", &c.id));
        let details = json(r#"[{"type":"pod_access","paths":["/contact/"],"actions":["read"]}]"#);
        let r = RequestRecord {
            id: "req_a".into(),
            client_id: c.id.clone(),
            details: details.clone(),
            grant_lifetime: 3600,
            user_code: "WDJB-MJHT".into(),
            status: "approved".into(),
            poll_interval: 5,
            created_at: "2026-11-01T10:01:00.000000Z".into(),
            expires_at: "2026-11-01T10:16:00.000000Z".into(),
            last_polled_at: Some("2026-11-01T10:02:00.000000Z".into()),
            decided_at: Some("2026-11-01T10:03:00.000000Z".into()),
            grant_id: Some("grt_a".into()),
        };
        let hash: &dyn ToSql = &"a-hash";
        round_trip(
            &store.conn,
            &r,
            &[(RequestRecord::DEVICE_CODE_HASH, hash)],
            ("id", &r.id),
        );
        let g = GrantRecord {
            id: "grt_a".into(),
            client_id: c.id.clone(),
            request_id: Some(r.id.clone()),
            details,
            created_at: "2026-11-01T10:03:00.000000Z".into(),
            expires_at: "2026-11-02T10:03:00.000000Z".into(),
            revoked_at: Some("2026-11-01T12:00:00.000000Z".into()),
        };
        round_trip(&store.conn, &g, &[], ("id", &g.id));
        // And the optional columns left empty.
        let bare = GrantRecord {
            id: "grt_b".into(),
            request_id: None,
            revoked_at: None,
            ..g
        };
        round_trip(&store.conn, &bare, &[], ("id", &bare.id));
    }
}
