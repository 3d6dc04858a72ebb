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
//! The check a person runs on purpose ([`Store::check_counts`]) counts
//! everything again by scan ([`scan_differences`]: the same walk over the
//! live paths in key order, `walk_live`, that [`rebuild`] and migration 8
//! fill the tables with), reports what differs and rebuilds the tables
//! when anything does.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::vault::store::Store;
use crate::Result;

use super::list::upper_bound;
use super::ResourceCounts;

/// At most this many differences are listed by a check (all are counted).
pub const DIFFERENCES_SHOWN: usize = 20;

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
    conn.prepare_cached(
        "INSERT INTO category_counts (category, live) VALUES (?1, 1)
         ON CONFLICT (category) DO UPDATE SET live = live + 1",
    )?
    .execute([category])?;
    Ok(())
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
    conn.prepare_cached(
        "INSERT INTO category_counts (category, live) VALUES (?1, 1)
         ON CONFLICT (category) DO UPDATE SET live = live + 1",
    )?
    .execute([to])?;
    Ok(())
}

fn category_down(conn: &Connection, category: &str) -> Result<()> {
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
/// range), and returns the live resources per category. The paths under a
/// container are one range of the `resources` key, so the walk holds only
/// the containers of the current path, never a row per container or per
/// resource: no sort of every path (temporary storage is in memory, see
/// `vault/db.rs`), memory flat whatever the vault's size.
fn walk_live(
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
        *categories.entry(category).or_insert(0) += 1;
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

/// What a count is of (ordered: containers, categories, then versions).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Counted {
    /// The live resources under a container, at any depth.
    Container(String),
    /// The live resources of a category.
    Category(String),
    /// The versions stored.
    Versions,
}

/// A count that differed from what a scan finds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountDifference {
    pub counted: Counted,
    /// What the table held (0 when it had no row).
    pub stored: u64,
    /// What the scan found.
    pub scanned: u64,
}

/// What [`Store::check_counts`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CountsCheck {
    /// How many counts differed from the scan.
    pub differing: u64,
    /// The first [`DIFFERENCES_SHOWN`] of them.
    pub differences: Vec<CountDifference>,
    /// Whether the counts were rebuilt (they are, whenever one differed).
    pub repaired: bool,
}

/// Compares two lists of `(name, count)` sorted by name (a missing name
/// counts 0), adding each difference to `check` as `counted(name)`.
fn compare_sorted(
    stored: &[(String, u64)],
    scanned: &[(String, u64)],
    counted: fn(String) -> Counted,
    check: &mut CountsCheck,
) {
    let (mut s, mut c) = (stored.iter().peekable(), scanned.iter().peekable());
    loop {
        let (name, stored, scanned) = match (s.peek().copied(), c.peek().copied()) {
            (None, None) => return,
            (Some(a), Some(b)) => match a.0.cmp(&b.0) {
                Ordering::Equal => {
                    s.next();
                    c.next();
                    (&a.0, a.1, b.1)
                }
                Ordering::Less => {
                    s.next();
                    (&a.0, a.1, 0)
                }
                Ordering::Greater => {
                    c.next();
                    (&b.0, 0, b.1)
                }
            },
            (Some(a), None) => {
                s.next();
                (&a.0, a.1, 0)
            }
            (None, Some(b)) => {
                c.next();
                (&b.0, 0, b.1)
            }
        };
        if stored != scanned {
            note(
                check,
                CountDifference {
                    counted: counted(name.clone()),
                    stored,
                    scanned,
                },
            );
        }
    }
}

fn note(check: &mut CountsCheck, difference: CountDifference) {
    check.differing += 1;
    if check.differences.len() < DIFFERENCES_SHOWN {
        check.differences.push(difference);
    }
}

fn pairs(conn: &Connection, sql: &str) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every count the tables hold that differs from a scan of the resources
/// ([`walk_live`]: each live path and its live version's category once),
/// then every container row checked for a live resource under it (one
/// indexed seek each). Memory stays flat: one container's row is looked
/// up at a time.
pub(crate) fn scan_differences(conn: &Connection) -> Result<CountsCheck> {
    let mut check = CountsCheck::default();
    let mut kept =
        conn.prepare_cached("SELECT members FROM container_counts WHERE container = ?1")?;
    let scanned = walk_live(conn, &mut |container, scanned| {
        let stored: u64 = kept
            .query_row([container], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        if stored != scanned {
            note(
                &mut check,
                CountDifference {
                    counted: Counted::Container(container.to_string()),
                    stored,
                    scanned,
                },
            );
        }
        Ok(())
    })?;
    // A row kept for a container nothing lives under any more.
    let mut rows = conn.prepare(
        "SELECT container, members FROM container_counts WHERE members != 0 ORDER BY container",
    )?;
    let mut rows = rows.query([])?;
    let mut lives = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM resources WHERE path >= ?1 AND path < ?2)")?;
    while let Some(row) = rows.next()? {
        let container: String = row.get(0)?;
        let stored: u64 = row.get(1)?;
        if !container.ends_with('/')
            || !lives.query_row(params![container, upper_bound(&container)], |r| r.get(0))?
        {
            note(
                &mut check,
                CountDifference {
                    counted: Counted::Container(container),
                    stored,
                    scanned: 0,
                },
            );
        }
    }
    compare_sorted(
        &pairs(
            conn,
            "SELECT category, live FROM category_counts WHERE live != 0 ORDER BY category",
        )?,
        &scanned.into_iter().collect::<Vec<_>>(),
        Counted::Category,
        &mut check,
    );
    let stored = version_count(conn)?;
    let scanned: u64 =
        conn.query_row("SELECT count(*) FROM resource_versions", [], |r| r.get(0))?;
    if stored != scanned {
        note(
            &mut check,
            CountDifference {
                counted: Counted::Versions,
                stored,
                scanned,
            },
        );
    }
    check.differences.sort_by(|a, b| a.counted.cmp(&b.counted));
    Ok(check)
}

fn version_count(conn: &Connection) -> Result<u64> {
    Ok(conn
        .query_row("SELECT n FROM version_total WHERE id = 1", [], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

impl Store {
    /// How many live resources lie under `container` (a path ending in
    /// `/`), at any depth: one row of `container_counts`.
    pub(crate) fn count_under(&self, container: &str) -> Result<u64> {
        Ok(self
            .conn
            .prepare_cached("SELECT members FROM container_counts WHERE container = ?1")?
            .query_row([container], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// How many live resources and versions the vault holds, by category:
    /// a row per category and two single rows.
    pub fn resource_counts(&self) -> Result<ResourceCounts> {
        let mut counts = ResourceCounts {
            versions: version_count(&self.conn)?,
            ..Default::default()
        };
        for (category, n) in pairs(
            &self.conn,
            "SELECT category, live FROM category_counts WHERE live > 0 ORDER BY category",
        )? {
            counts.resources += n;
            counts.by_category.insert(category, n);
        }
        Ok(counts)
    }

    /// Counts every resource and version again by scan, compares with the
    /// kept counts and, when any differs, rebuilds them. The scan reads one
    /// snapshot and holds no lock (writers go on meanwhile); the rebuild
    /// counts again inside its own write transaction, so it is true
    /// whatever was written between the two. Costs a walk of every live
    /// path: a check the person runs on purpose.
    pub fn check_counts(&self) -> Result<CountsCheck> {
        let mut check = self.read_snapshot(|store| scan_differences(&store.conn))??;
        if check.differing > 0 {
            self.rebuild_counts()?;
            check.repaired = true;
        }
        Ok(check)
    }

    /// Fills the counts again from the resources, whatever they held.
    pub fn rebuild_counts(&self) -> Result<()> {
        let tx = self.write_tx()?;
        rebuild(&tx)?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "counts_tests.rs"]
mod tests;

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

    fn list(items: &[(&str, u64)]) -> Vec<(String, u64)> {
        items.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    #[test]
    fn sorted_lists_compare_name_by_name_a_missing_name_counting_zero() {
        let mut check = CountsCheck::default();
        compare_sorted(
            &list(&[("/", 3), ("/a/", 2), ("/c/", 1)]),
            &list(&[("/", 3), ("/a/", 1), ("/b/", 1)]),
            Counted::Container,
            &mut check,
        );
        let got: Vec<_> = check
            .differences
            .iter()
            .map(|d| (d.counted.clone(), d.stored, d.scanned))
            .collect();
        assert_eq!(
            got,
            [
                (Counted::Container("/a/".into()), 2, 1),
                (Counted::Container("/b/".into()), 0, 1),
                (Counted::Container("/c/".into()), 1, 0),
            ]
        );
        assert_eq!(check.differing, 3);
        let mut same = CountsCheck::default();
        compare_sorted(
            &list(&[("/", 1)]),
            &list(&[("/", 1)]),
            Counted::Category,
            &mut same,
        );
        assert_eq!(same, CountsCheck::default());
    }

    #[test]
    fn a_check_lists_only_the_first_differences_but_counts_them_all() {
        let mut check = CountsCheck::default();
        let many: Vec<(String, u64)> = (0..50).map(|i| (format!("/{i:02}/"), 1)).collect();
        compare_sorted(&many, &[], Counted::Container, &mut check);
        assert_eq!(check.differing, 50);
        assert_eq!(check.differences.len(), DIFFERENCES_SHOWN);
    }
}
