//! The numbered schema migrations. Append only: a released migration is
//! never edited; a change is a new entry with the next number.

/// One schema step.
pub(crate) struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
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
}];
