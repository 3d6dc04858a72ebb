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
    Migration {
        version: 6,
        name: "companies on the internet: linked companies, their requests, the outbox and feeds",
        sql: "
        -- A company that connected by a link (docs/companies.md): its
        -- clients row has id = client_id (the https URL of its metadata
        -- document); this row holds what was fetched and checked there.
        CREATE TABLE linked_clients (
            client_id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            metadata TEXT NOT NULL,
            jwks TEXT NOT NULL,
            jwks_uri TEXT,
            delivery_uri TEXT NOT NULL,
            feed_uri TEXT,
            logo_uri TEXT,
            policy_uri TEXT,
            client_uri TEXT,
            fetched_at TEXT NOT NULL
        ) WITHOUT ROWID;

        -- A request that came as a signed request object (RFC 9101); its
        -- access_requests row has the same id. A jti is used once per
        -- company: the UNIQUE constraint refuses a replay.
        CREATE TABLE linked_requests (
            request_id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            request_uri TEXT NOT NULL,
            state TEXT NOT NULL,
            jti TEXT NOT NULL,
            request_object TEXT NOT NULL,
            grant_id TEXT,
            -- The seq claim of the last delivery queued for the request:
            -- kept here (and in the bundle), so a restored vault goes on
            -- counting where the company saw it stop.
            last_seq INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            UNIQUE (client_id, jti)
        ) WITHOUT ROWID;
        -- Every resource write asks which linked grants might see it: this
        -- index holds only approved linked requests, so the question costs
        -- one look into an empty index when there are none.
        CREATE INDEX linked_requests_grant ON linked_requests (grant_id)
            WHERE grant_id IS NOT NULL;

        -- What the pod owes linked companies: each delivery signed once,
        -- when queued, and resent byte for byte. Sent in seq order per
        -- request; number is the delivery's seq claim (1, 2, 3… per request,
        -- from linked_requests.last_seq).
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            client_id TEXT NOT NULL,
            request_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            grant_id TEXT,
            event TEXT NOT NULL,
            target TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            last_attempt_at TEXT,
            last_error TEXT,
            last_status INTEGER,
            delivered_at TEXT
        );
        CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
        CREATE INDEX outbox_request ON outbox (request_id, seq);
        CREATE INDEX outbox_grant ON outbox (grant_id);
        -- The deliveries not yet delivered or moot, per request in order:
        -- finding each request's head, and whether anything open comes
        -- before a delivery, reads only these.
        CREATE INDEX outbox_open ON outbox (request_id, seq)
            WHERE status IN ('queued', 'failed');

        -- Where the desktop stands in each grant's feed.
        CREATE TABLE feed_cursors (
            grant_id TEXT PRIMARY KEY,
            cursor TEXT NOT NULL,
            polled_at TEXT NOT NULL
        ) WITHOUT ROWID;

        -- Feed items taken (or refused) once: a replayed jti is refused.
        CREATE TABLE feed_seen (
            client_id TEXT NOT NULL,
            jti TEXT NOT NULL,
            grant_id TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (client_id, jti)
        ) WITHOUT ROWID;
    ",
        after: None,
    },
    Migration {
        version: 7,
        name: "large content in chunks: blobs and their chunks",
        sql: "
        -- Content larger than INLINE_MAX (256 KiB) is a blob: its bytes in
        -- chunks of 1 MiB (the last shorter), each with its own SHA-256, so
        -- no single value nears SQLite's limits and memory stays flat. A
        -- blob is written as 'staging' in batches of chunks, then marked
        -- 'complete' in the transaction that writes its version; a staging
        -- blob left by a crash is swept when untouched for an hour.
        -- Identical content shares one complete blob (sha256 of the bytes).
        -- AUTOINCREMENT: an id is never used twice, so a writer whose staging
        -- blob was swept can never write into someone else's new blob.
        CREATE TABLE blobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            sha256 BLOB,
            size INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('staging', 'complete')),
            touched_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX blobs_content ON blobs (sha256) WHERE state = 'complete';
        CREATE INDEX blobs_staging ON blobs (touched_at) WHERE state = 'staging';

        CREATE TABLE blob_chunks (
            id INTEGER PRIMARY KEY,
            blob_id INTEGER NOT NULL REFERENCES blobs (id),
            seq INTEGER NOT NULL,
            sha256 BLOB NOT NULL,
            data BLOB NOT NULL,
            UNIQUE (blob_id, seq)
        );

        -- A blob version stores an empty content and names its blob.
        ALTER TABLE resource_versions ADD COLUMN blob_id INTEGER REFERENCES blobs (id);
        CREATE INDEX resource_versions_blob ON resource_versions (blob_id)
            WHERE blob_id IS NOT NULL;
    ",
        after: None,
    },
    Migration {
        version: 8,
        name: "counts kept beside the resources: per container, per category, versions",
        sql: "
        -- Derived from resources and resource_versions, kept in the same
        -- transaction as every change to them (data/resource/counts.rs), so
        -- a listing and status read a row instead of scanning: the live
        -- resources at any depth under each container (the root '/'
        -- included), the live resources of each category, and the versions
        -- stored. A count that drops to 0 loses its row. Filled by this
        -- migration's Rust step; rebuilt by a check that finds one wrong.
        CREATE TABLE container_counts (
            container TEXT PRIMARY KEY,
            members INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE category_counts (
            category TEXT PRIMARY KEY,
            live INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE version_total (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            n INTEGER NOT NULL
        );
    ",
        after: Some(crate::data::resource::counts::fill_in_migration),
    },
];
