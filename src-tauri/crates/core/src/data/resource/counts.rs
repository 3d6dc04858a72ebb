//! Counts kept beside the resources, so the person's own listing and
//! `status` read a few rows instead of scanning the vault: how many live
//! resources lie under each container at any depth (`container_counts`,
//! the root `/` included, so the vault's total is one row), how many live
//! resources each category holds (`category_counts`), and how many
//! versions are stored (`version_total`). Schema migration 8 makes and
//! fills them. A container or category with no row counts 0: a count that
//! drops to 0 loses its row, so the tables hold exactly what a scan finds.
//!
//! What keeps them true: the functions here, called in the same
//! transaction by the only places that change the rows they derive from:
//! [`Store::write_version`](super::write) (a new live resource, or its
//! category changed), `Store::delete_as` (a live resource gone),
//! [`VersionRecord`](crate::data::records::VersionRecord)'s inserts (every
//! version written, and the live row of a version a bundle restore or merge
//! brings), and a restore's emptying of the tables ([`clear`]). Not SQLite
//! triggers: a resource counts in every container above it, and a trigger
//! cannot walk a path's ancestors (no CTE inside a trigger, and recursive
//! triggers are off unless each connection turns them on); a
//! [`ancestors`] function in Rust is one plain rule with its tests.
//!
//! A category is counted under its canonical name ([`counted_category`]):
//! `Category::from_str` takes any case and spaces around, and a row
//! written so before (by an older bundle import) is the same category.
//!
//! The check a person runs on purpose, and its repair, are
//! `super::count_check` ([`Store::check_counts`]); its scan is the same
//! walk over the live paths in key order ([`walk_live`]) that [`rebuild`]
//! and migration 8 fill the tables with.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::data::category::Category;
use crate::vault::store::Store;
use crate::Result;

pub use super::count_check::{CountDifference, Counted, CountsCheck, DIFFERENCES_SHOWN, RECHECKS};
use super::ResourceCounts;

/// The name a stored category is counted under: its canonical name when
/// the text names one (any case, spaces around: what `Category::from_str`
/// accepts), otherwise the text as stored (a damaged row, counted apart).
pub(crate) fn counted_category(stored: &str) -> &str {
    match stored.parse::<Category>() {
        Ok(category) => category.name(),
        Err(_) => stored,
    }
}

/// The containers a resource path lies in, outermost first: `/a/b/c`
/// lies in `/`, `/a/` and `/a/b/`. A container path lies in itself too
/// (`/a/` in `/` and `/a/`), though only resource paths are counted.
pub(crate) fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..=i])
}

/// A live resource appeared at `path` with `category`.
pub(crate) fn live_added(conn: &Connection, path: &str, category: &str) -> Result<()> {
    let mut up = conn.prepare_cached(
        "INSERT INTO container_counts (container, members) VALUES (?1, 1)
         ON CONFLICT (container) DO UPDATE SET members = members + 1",
    )?;
    for container in ancestors(path) {
        up.execute([container])?;
    }
    category_up(conn, category)
}

/// The live resource at `path`, of `category`, is gone.
pub(crate) fn live_removed(conn: &Connection, path: &str, category: &str) -> Result<()> {
    let mut down = conn
        .prepare_cached("UPDATE container_counts SET members = members - 1 WHERE container = ?1")?;
    let mut gone =
        conn.prepare_cached("DELETE FROM container_counts WHERE container = ?1 AND members <= 0")?;
    for container in ancestors(path) {
        down.execute([container])?;
        gone.execute([container])?;
    }
    category_down(conn, category)
}

/// A live resource moved from category `from` to `to`.
pub(crate) fn live_recategorized(conn: &Connection, from: &str, to: &str) -> Result<()> {
    if from == to {
        return Ok(());
    }
    category_down(conn, from)?;
    category_up(conn, to)
}

fn category_up(conn: &Connection, category: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO category_counts (category, live) VALUES (?1, 1)
         ON CONFLICT (category) DO UPDATE SET live = live + 1",
    )?
    .execute([counted_category(category)])?;
    Ok(())
}

fn category_down(conn: &Connection, category: &str) -> Result<()> {
    let category = counted_category(category);
    conn.prepare_cached("UPDATE category_counts SET live = live - 1 WHERE category = ?1")?
        .execute([category])?;
    conn.prepare_cached("DELETE FROM category_counts WHERE category = ?1 AND live <= 0")?
        .execute([category])?;
    Ok(())
}

/// A version (of any resource, a deletion record included) was stored.
pub(crate) fn version_added(conn: &Connection) -> Result<()> {
    conn.prepare_cached("UPDATE version_total SET n = n + 1 WHERE id = 1")?
        .execute([])?;
    Ok(())
}

/// Every resource and version was removed (a restore starts so).
pub(crate) fn clear(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM container_counts; DELETE FROM category_counts;
         UPDATE version_total SET n = 0 WHERE id = 1;",
    )?;
    Ok(())
}

/// Every live resource's path and category, in the `resources` key's order
/// (no sort: checked by a test of the query plan).
const LIVE_IN_PATH_ORDER: &str = "SELECT r.path, v.category FROM resources r
    JOIN resource_versions v ON v.path = r.path AND v.version = r.version
    ORDER BY r.path";

/// Walks every live resource once, in path order, calling `container`
/// with each container a live resource lies in and how many lie under it
/// (the innermost first: a container is done when the walk leaves its
/// range), and returns the live resources per category (under its
/// [`counted_category`] name). The paths under a
/// container are one range of the `resources` key, so the walk holds only
/// the containers of the current path, never a row per container or per
/// resource: no sort of every path (temporary storage is in memory, see
/// `vault/db.rs`), memory flat whatever the vault's size.
pub(super) fn walk_live(
    conn: &Connection,
    container: &mut dyn FnMut(&str, u64) -> Result<()>,
) -> Result<BTreeMap<String, u64>> {
    let mut categories = BTreeMap::new();
    // The containers of the current path, outermost first, each with the
    // live resources counted under it so far.
    let mut open: Vec<(String, u64)> = Vec::new();
    let mut close = |open: &mut Vec<(String, u64)>| -> Result<()> {
        if let Some((path, n)) = open.pop() {
            container(&path, n)?;
            if let Some(parent) = open.last_mut() {
                parent.1 += n;
            }
        }
        Ok(())
    };
    let mut stmt = conn.prepare(LIVE_IN_PATH_ORDER)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let path: String = row.get(0)?;
        let category: String = row.get(1)?;
        while open
            .last()
            .is_some_and(|(c, _)| !path.starts_with(c.as_str()))
        {
            close(&mut open)?;
        }
        // What stays open is the path's outermost containers, in order.
        let depth = open.len();
        open.extend(ancestors(&path).skip(depth).map(|c| (c.to_string(), 0)));
        if let Some(direct) = open.last_mut() {
            direct.1 += 1;
        }
        *categories
            .entry(counted_category(&category).to_string())
            .or_insert(0) += 1;
    }
    while !open.is_empty() {
        close(&mut open)?;
    }
    Ok(categories)
}

/// Fills the tables again from the resources, whatever they held.
pub(crate) fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute_batch("DELETE FROM container_counts; DELETE FROM category_counts;")?;
    let mut insert =
        conn.prepare_cached("INSERT INTO container_counts (container, members) VALUES (?1, ?2)")?;
    let categories = walk_live(conn, &mut |container, n| {
        insert.execute(params![container, n])?;
        Ok(())
    })?;
    for (category, n) in categories {
        conn.execute(
            "INSERT INTO category_counts (category, live) VALUES (?1, ?2)",
            params![category, n],
        )?;
    }
    conn.execute(
        "INSERT INTO version_total (id, n) VALUES (1, (SELECT count(*) FROM resource_versions))
         ON CONFLICT (id) DO UPDATE SET n = excluded.n",
        [],
    )?;
    Ok(())
}

/// [`rebuild`] as migration 8's step (it first fills the new tables).
pub(crate) fn fill_in_migration(conn: &Connection, _now: &str) -> Result<()> {
    rebuild(conn)
}

/// A kept count as shown: a damaged negative one shows as 0 until the
/// check repairs it.
pub(super) fn shown(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

pub(super) fn pairs(conn: &Connection, sql: &str) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One container's kept count (`None`: no row), read as stored.
const CONTAINER_ROW: &str = "SELECT members FROM container_counts WHERE container = ?1";

pub(super) fn container_row(conn: &Connection, container: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(CONTAINER_ROW)?
        .query_row([container], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

pub(super) fn version_count(conn: &Connection) -> Result<i64> {
    Ok(conn
        .query_row("SELECT n FROM version_total WHERE id = 1", [], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

impl Store {
    /// How many live resources lie under `container` (a path ending in
    /// `/`), at any depth: one row of `container_counts` (a damaged
    /// negative count shows as 0 until the check repairs it).
    pub(crate) fn count_under(&self, container: &str) -> Result<u64> {
        Ok(shown(container_row(&self.conn, container)?))
    }

    /// How many live resources and versions the vault holds, by category:
    /// a row per category and two single rows.
    pub fn resource_counts(&self) -> Result<ResourceCounts> {
        let mut counts = ResourceCounts {
            versions: shown(version_count(&self.conn)?),
            ..Default::default()
        };
        for (category, n) in pairs(
            &self.conn,
            "SELECT category, live FROM category_counts WHERE live > 0 ORDER BY category",
        )? {
            counts.resources += shown(n);
            counts.by_category.insert(category, shown(n));
        }
        Ok(counts)
    }

    /// Fills the counts again from the resources, whatever they held,
    /// under the write lock for a whole walk: a check's last resort.
    pub fn rebuild_counts(&self) -> Result<()> {
        let tx = self.write_tx()?;
        rebuild(&tx)?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "counts_tests.rs"]
pub(super) mod tests;

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn a_path_lies_in_every_container_above_it() {
        assert_eq!(
            ancestors("/a/b/c").collect::<Vec<_>>(),
            ["/", "/a/", "/a/b/"]
        );
        assert_eq!(ancestors("/x").collect::<Vec<_>>(), ["/"]);
        assert_eq!(ancestors("/é/ü").collect::<Vec<_>>(), ["/", "/é/"]);
        assert_eq!(ancestors("/a/").collect::<Vec<_>>(), ["/", "/a/"]);
    }

    #[test]
    fn a_category_counts_under_its_canonical_name() {
        assert_eq!(counted_category("health"), "health");
        assert_eq!(counted_category("Health"), "health");
        assert_eq!(counted_category(" HEALTH "), "health");
        assert_eq!(counted_category("no such"), "no such");
    }

    #[test]
    fn a_negative_count_shows_as_zero() {
        assert_eq!(shown(-3), 0);
        assert_eq!(shown(5), 5);
    }
}
