//! The numbered schema migrations. Append only: a released migration is
//! never edited; a change is a new entry with the next number.

/// One schema step.
pub(crate) struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
    /// A step in Rust run after the SQL, in the same transaction (once, like
    /// the SQL): what SQL cannot do, such as making the pod's key.
    pub after: Option<fn(&rusqlite::Connection, &str) -> crate::Result<()>>,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "vault metadata, resources and their versions",
        sql: "
        CREATE TABLE vault_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        -- Every version of every resource ever written, deletions included
        -- (as tombstones with deleted = 1). Nothing is ever updated in place.
        -- A rowid table: contents can be large, which WITHOUT ROWID handles badly.
        CREATE TABLE resource_versions (
            path TEXT NOT NULL,
            version INTEGER NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            content_type TEXT NOT NULL,
            category TEXT NOT NULL,
            sensitivity TEXT NOT NULL,
            etag TEXT NOT NULL,
            size INTEGER NOT NULL,
            content BLOB NOT NULL,
            author TEXT NOT NULL,
            written_at TEXT NOT NULL,
            PRIMARY KEY (path, version)
        );

        -- The live resources: which version is current, and since when the
        -- resource exists. A delete removes the row.
        CREATE TABLE resources (
            path TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            FOREIGN KEY (path, version) REFERENCES resource_versions (path, version)
        ) WITHOUT ROWID;
    ",
        after: None,
    },
    Migration {
        version: 2,
        name: "clients, access requests, grants, tokens and the audit log",
        sql: "
        CREATE TABLE clients (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            uri TEXT,
            contacts TEXT NOT NULL,
            created_at TEXT NOT NULL
        );

        -- A company's pending ask (RFC 8628 device authorization). The
        -- device code is kept only as its SHA-256.
        CREATE TABLE access_requests (
            id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL REFERENCES clients (id),
            details TEXT NOT NULL,
            grant_lifetime INTEGER NOT NULL,
            user_code TEXT NOT NULL,
            device_code_hash TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            poll_interval INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            last_polled_at TEXT,
            decided_at TEXT,
            grant_id TEXT
        );
        CREATE INDEX access_requests_client ON access_requests (client_id, status);
        CREATE INDEX access_requests_user_code ON access_requests (user_code);

        -- The person's answer: what was granted, until when, and whether
        -- it was revoked. Kept after expiry and revocation, as history.
        CREATE TABLE grants (
            id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL REFERENCES clients (id),
            request_id TEXT REFERENCES access_requests (id),
            details TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX grants_client ON grants (client_id);

        -- Access tokens, by SHA-256 only.
        CREATE TABLE tokens (
            hash TEXT PRIMARY KEY,
            grant_id TEXT NOT NULL REFERENCES grants (id),
            client_id TEXT NOT NULL REFERENCES clients (id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT
        ) WITHOUT ROWID;
        CREATE INDEX tokens_grant ON tokens (grant_id);

        -- Append-only, hash-chained: every API request and owner action.
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            client_id TEXT,
            action TEXT NOT NULL,
            method TEXT,
            path TEXT,
            outcome TEXT NOT NULL,
            reason TEXT,
            grant_id TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_log_client ON audit_log (client_id, at);
        CREATE INDEX audit_log_at ON audit_log (at);
    ",
        after: None,
    },
    Migration {
        version: 3,
        name: "a change counter for readers' caches",
        sql: "
        -- Bumped, by the triggers below, in the same transaction as every
        -- change to what a pod read depends on (live resources, grants,
        -- tokens, clients), whichever process makes it. The access log is
        -- not counted: a cache checks this counter when its log entry is
        -- committed, so a change made anywhere is seen by the next request.
        CREATE TABLE change_counter (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            n INTEGER NOT NULL
        );
        INSERT INTO change_counter (id, n) VALUES (1, 0);
        CREATE TRIGGER resources_insert_counts AFTER INSERT ON resources
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER resources_update_counts AFTER UPDATE ON resources
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER resources_delete_counts AFTER DELETE ON resources
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER grants_insert_counts AFTER INSERT ON grants
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER grants_update_counts AFTER UPDATE ON grants
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER grants_delete_counts AFTER DELETE ON grants
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER tokens_insert_counts AFTER INSERT ON tokens
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER tokens_update_counts AFTER UPDATE ON tokens
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER tokens_delete_counts AFTER DELETE ON tokens
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER clients_insert_counts AFTER INSERT ON clients
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER clients_update_counts AFTER UPDATE ON clients
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER clients_delete_counts AFTER DELETE ON clients
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
    ",
        after: None,
    },
    Migration {
        version: 4,
        name: "no secondary indexes on the access log",
        sql: "
        -- The log is read in sequence order (its filters are optional
        -- parameters, which SQLite cannot answer from an index), so these two
        -- indexes were never used; each cost three to four more encrypted
        -- pages in every commit of the pod's busy log writer.
        DROP INDEX audit_log_client;
        DROP INDEX audit_log_at;
    ",
        after: None,
    },
    Migration {
        version: 5,
        name: "the pod's signing key and its consent receipts",
        sql: "
        -- The pod's Ed25519 key (the 32-byte RFC 8032 seed) and its public
        -- half (base64url): one row, made by this migration's Rust step.
        CREATE TABLE pod_key (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            secret BLOB NOT NULL,
            public TEXT NOT NULL,
            created_at TEXT NOT NULL
        );

        -- Every signed consent receipt (a compact JWS), append only. No
        -- foreign keys: a receipt outlives the company's row and its grant.
        CREATE TABLE receipts (
            id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            grant_id TEXT,
            request_id TEXT,
            event TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            jws TEXT NOT NULL
        );
        CREATE INDEX receipts_client ON receipts (client_id, issued_at);
        CREATE INDEX receipts_grant ON receipts (grant_id);
        CREATE INDEX receipts_request ON receipts (request_id);
    ",
        after: Some(crate::vault::identity::ensure_pod_key),
    },
];
