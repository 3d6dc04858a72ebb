//! The rows of the linked-company tables as stored, one record per table
//! (`linked_clients`, `linked_requests`, `outbox`, `feed_cursors`,
//! `feed_seen`), each read by column name and written from one column
//! list (see [`crate::vault::record`]). All travel in the bundle (the
//! outbox only what is still owed; see `bundle::tables`), and a request
//! restored from a bundle counts its `seq` on from [`restored_seq`].

use chrono::{DateTime, Utc};
use rusqlite::types::ToSql;
use rusqlite::Row;
use serde::{Deserialize, Serialize};

use crate::vault::record::{column, StoredJson, TableRecord};

/// A record type for one table: its fields are the table's columns, in order.
macro_rules! table_record {
    ($(#[$m:meta])* $name:ident = $table:literal {
        $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
        }

        impl TableRecord for $name {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
                Ok($name {
                    $($field: column(r, Self::COLUMNS, stringify!($field))?,)*
                })
            }

            fn values(&self) -> Vec<&dyn ToSql> {
                vec![$(&self.$field),*]
            }
        }
    };
}

table_record! {
    /// A row of `linked_clients`: what a linked company published, as
    /// fetched and checked.
    LinkedClientRecord = "linked_clients" {
        /// The https URL of its client metadata document (= `clients.id`).
        client_id: String,
        /// The verified host (with its port when not 443).
        host: String,
        /// The metadata document as checked.
        metadata: StoredJson,
        /// Its JWK Set (inline or fetched from `jwks_uri`).
        jwks: StoredJson,
        jwks_uri: Option<String>,
        delivery_uri: String,
        feed_uri: Option<String>,
        logo_uri: Option<String>,
        policy_uri: Option<String>,
        client_uri: Option<String>,
        fetched_at: String,
    }
}

table_record! {
    /// A row of `linked_requests`: the signed request object behind an
    /// access request.
    LinkedRequestRecord = "linked_requests" {
        /// The `access_requests` row's id.
        request_id: String,
        client_id: String,
        request_uri: String,
        /// The company's `state`, echoed in every delivery.
        state: String,
        jti: String,
        /// The request object (compact JWS) as received.
        request_object: String,
        /// The grant made from it, once approved.
        grant_id: Option<String>,
        /// The `seq` claim of the last delivery queued for it.
        last_seq: i64,
        created_at: String,
    }
}

/// The `last_seq` a request restored (or merged) from a bundle counts on
/// from: at least the restore time in milliseconds since 1970. A bundle may
/// be older than the vault it was taken from, which went on numbering
/// deliveries after it; starting again at the bundle's `last_seq` would
/// reuse numbers a company has seen. Gaps are allowed; a repeat is not.
pub fn restored_seq(last_seq: i64, now: DateTime<Utc>) -> i64 {
    last_seq.max(now.timestamp_millis())
}

table_record! {
    /// A row of `outbox` (without its `seq`, the table's order, which
    /// SQLite assigns).
    OutboxRecord = "outbox" {
        /// The delivery's `jti` (`dlv_…`).
        id: String,
        client_id: String,
        request_id: String,
        /// The delivery's `seq` claim: 1, 2, 3… per request.
        number: i64,
        grant_id: Option<String>,
        /// granted, denied, updated, revoked or expired.
        event: String,
        /// The company's delivery URI.
        target: String,
        /// The signed delivery (compact JWS), made once.
        body: String,
        /// queued, delivered, failed or moot.
        status: String,
        attempts: i64,
        created_at: String,
        next_attempt_at: String,
        last_attempt_at: Option<String>,
        last_error: Option<String>,
        /// The HTTP status of the last answer, when there was one.
        last_status: Option<i64>,
        delivered_at: Option<String>,
    }
}

table_record! {
    /// A row of `feed_cursors`: where the desktop stands in a grant's feed.
    FeedCursorRecord = "feed_cursors" {
        grant_id: String,
        cursor: String,
        polled_at: String,
    }
}

table_record! {
    /// A row of `feed_seen`: a feed item's `jti`, taken or refused once.
    FeedSeenRecord = "feed_seen" {
        client_id: String,
        jti: String,
        grant_id: String,
        seen_at: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_store;
    use crate::vault::record::tests::round_trip;

    const T: &str = "2026-11-01T10:00:00.000000Z";
    const SHOP: &str = "https://shop.test/custodian/client.json";

    #[test]
    fn a_restored_request_counts_on_past_every_number_used_before_the_restore() {
        let at = crate::clock::parse_time("2026-11-01T10:00:00Z").unwrap();
        let ms = at.timestamp_millis();
        // A bundle at seq 4: the old vault may have gone on to 4 + n.
        assert_eq!(restored_seq(4, at), ms);
        // Restoring the same bundle again later jumps further still.
        let later = at + chrono::Duration::seconds(1);
        assert!(restored_seq(4, later) > restored_seq(4, at) + 999);
        // Never backwards.
        assert_eq!(restored_seq(ms + 5, at), ms + 5);
    }

    #[test]
    fn each_linked_record_reads_back_what_it_wrote() {
        let (_d, store) = memory_store();
        let c = LinkedClientRecord {
            client_id: SHOP.into(),
            host: "shop.test".into(),
            metadata: serde_json::from_str(r#"{"client_id":"x"}"#).unwrap(),
            jwks: serde_json::from_str(r#"{"keys":[]}"#).unwrap(),
            jwks_uri: Some("https://shop.test/jwks.json".into()),
            delivery_uri: "https://shop.test/deliveries".into(),
            feed_uri: None,
            logo_uri: None,
            policy_uri: Some("https://shop.test/privacy".into()),
            client_uri: None,
            fetched_at: T.into(),
        };
        round_trip(&store.conn, &c, &[], ("client_id", &c.client_id));
        let r = LinkedRequestRecord {
            request_id: "req_a".into(),
            client_id: SHOP.into(),
            request_uri: "https://shop.test/r/1".into(),
            state: "s".into(),
            jti: "j".into(),
            request_object: "a.b.c".into(),
            grant_id: Some("grt_a".into()),
            last_seq: 3,
            created_at: T.into(),
        };
        round_trip(&store.conn, &r, &[], ("request_id", &r.request_id));
        let o = OutboxRecord {
            id: "dlv_a".into(),
            client_id: SHOP.into(),
            request_id: "req_a".into(),
            number: 1,
            grant_id: None,
            event: "denied".into(),
            target: "https://shop.test/deliveries".into(),
            body: "a.b.c".into(),
            status: "queued".into(),
            attempts: 0,
            created_at: T.into(),
            next_attempt_at: T.into(),
            last_attempt_at: None,
            last_error: Some("HTTP 503".into()),
            last_status: Some(503),
            delivered_at: None,
        };
        round_trip(&store.conn, &o, &[], ("id", &o.id));
        let f = FeedCursorRecord {
            grant_id: "grt_a".into(),
            cursor: "c1".into(),
            polled_at: T.into(),
        };
        round_trip(&store.conn, &f, &[], ("grant_id", &f.grant_id));
        let s = FeedSeenRecord {
            client_id: SHOP.into(),
            jti: "j1".into(),
            grant_id: "grt_a".into(),
            seen_at: T.into(),
        };
        round_trip(&store.conn, &s, &[], ("jti", &s.jti));
    }
}
