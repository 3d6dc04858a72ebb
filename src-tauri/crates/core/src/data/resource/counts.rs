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
//! The check a person runs on purpose ([`Store::check_counts`]) counts
//! everything again by scan ([`scan_differences`]: the same walk over the
//! live paths in key order, `walk_live`, that [`rebuild`] and migration 8
//! fill the tables with) in a read snapshot, holding no lock, and reports
//! what differs. It then writes only the differing rows, in short write
//! transactions, while the vault's change counter is the one the scan saw
//! (nothing live changed since); when a writer changed it meanwhile it
//! counts again, and only after [`RECHECKS`] such races rebuilds the
//! tables whole under the write lock.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::data::category::Category;
use crate::vault::store::Store;
use crate::Result;

use super::list::upper_bound;
use super::ResourceCounts;

/// At most this many differences are listed by a check (all are counted,
/// and all repaired).
pub const DIFFERENCES_SHOWN: usize = 20;

/// How many times a check counts again when a writer changed the vault
/// between its scan and its repair, before it rebuilds every count under
/// the write lock.
pub const RECHECKS: usize = 3;

/// The most count rows one repair transaction writes: each holds the
/// write lock a short while, far within other writers' busy timeout.
const REPAIR_BATCH: usize = 5_000;

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
    /// What the table held (0 when it had no row; below 0 only when
    /// damaged).
    pub stored: i64,
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
    /// Whether the differing counts were repaired (they are, whenever one
    /// differed).
    pub repaired: bool,
}

impl CountsCheck {
    /// The check's report of `all` the differences a scan found (sorted).
    fn of(all: &[CountDifference]) -> Self {
        CountsCheck {
            differing: all.len() as u64,
            differences: all.iter().take(DIFFERENCES_SHOWN).cloned().collect(),
            repaired: !all.is_empty(),
        }
    }
}

/// Compares two lists of `(name, count)` sorted by name (a missing name
/// counts 0), adding each difference to `out` as `counted(name)`.
fn compare_sorted(
    stored: &[(String, i64)],
    scanned: &[(String, u64)],
    counted: fn(String) -> Counted,
    out: &mut Vec<CountDifference>,
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
        if !same(stored, scanned) {
            out.push(CountDifference {
                counted: counted(name.clone()),
                stored,
                scanned,
            });
        }
    }
}

/// Whether a stored count (read as signed: a damaged one may be below 0)
/// is what the scan found.
fn same(stored: i64, scanned: u64) -> bool {
    u64::try_from(stored).is_ok_and(|s| s == scanned)
}

/// A kept count as shown: a damaged negative one shows as 0 until the
/// check repairs it.
fn shown(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

fn pairs(conn: &Connection, sql: &str) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One container's kept count (`None`: no row), read as stored.
const CONTAINER_ROW: &str = "SELECT members FROM container_counts WHERE container = ?1";

fn container_row(conn: &Connection, container: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(CONTAINER_ROW)?
        .query_row([container], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Every count the tables hold that differs from a scan of the resources
/// ([`walk_live`]: each live path and its live version's category once),
/// then every container row checked for a live resource under it (one
/// indexed seek each), sorted. Memory stays flat but for the differences
/// themselves: one container's row is looked up at a time.
pub(crate) fn scan_differences(conn: &Connection) -> Result<Vec<CountDifference>> {
    let mut out = Vec::new();
    let scanned = walk_live(conn, &mut |container, scanned| {
        let stored = container_row(conn, container)?;
        if !same(stored, scanned) {
            out.push(CountDifference {
                counted: Counted::Container(container.to_string()),
                stored,
                scanned,
            });
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
        let stored: i64 = row.get(1)?;
        if !container.ends_with('/')
            || !lives.query_row(params![container, upper_bound(&container)], |r| r.get(0))?
        {
            out.push(CountDifference {
                counted: Counted::Container(container),
                stored,
                scanned: 0,
            });
        }
    }
    compare_sorted(
        &pairs(
            conn,
            "SELECT category, live FROM category_counts WHERE live != 0 ORDER BY category",
        )?,
        &scanned.into_iter().collect::<Vec<_>>(),
        Counted::Category,
        &mut out,
    );
    let stored = version_count(conn)?;
    let scanned: u64 =
        conn.query_row("SELECT count(*) FROM resource_versions", [], |r| r.get(0))?;
    if !same(stored, scanned) {
        out.push(CountDifference {
            counted: Counted::Versions,
            stored,
            scanned,
        });
    }
    out.sort_by(|a, b| a.counted.cmp(&b.counted));
    Ok(out)
}

fn version_count(conn: &Connection) -> Result<i64> {
    Ok(conn
        .query_row("SELECT n FROM version_total WHERE id = 1", [], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Writes what the scan found for one differing count (a count of 0 loses
/// its row). The versions are counted again here, inside the write
/// transaction: a merge can add versions without changing the change
/// counter (a history that ends deleted), so the scan's number may be old.
fn set_count(conn: &Connection, d: &CountDifference) -> Result<()> {
    let (table, key, column, name) = match &d.counted {
        Counted::Container(name) => ("container_counts", "container", "members", name),
        Counted::Category(name) => ("category_counts", "category", "live", name),
        Counted::Versions => {
            conn.execute(
                "INSERT INTO version_total (id, n) VALUES (1, (SELECT count(*) FROM resource_versions))
                 ON CONFLICT (id) DO UPDATE SET n = excluded.n",
                [],
            )?;
            return Ok(());
        }
    };
    if d.scanned == 0 {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE {key} = ?1"))?
            .execute([name])?;
    } else {
        conn.prepare_cached(&format!(
            "INSERT INTO {table} ({key}, {column}) VALUES (?1, ?2)
             ON CONFLICT ({key}) DO UPDATE SET {column} = excluded.{column}"
        ))?
        .execute(params![name, d.scanned])?;
    }
    Ok(())
}

/// Writes the scanned value of every difference, a batch per write
/// transaction, each only while the change counter is still `generation`
/// (the scan's): nothing live changed since, so what it found is still
/// true. A batch written stays true (later writes keep it so). False when
/// a writer changed the vault first: the rest must be counted again.
fn repair(store: &Store, differences: &[CountDifference], generation: u64) -> Result<bool> {
    for batch in differences.chunks(REPAIR_BATCH) {
        let tx = store.write_tx()?;
        if store.generation()? != generation {
            return Ok(false);
        }
        for d in batch {
            set_count(&tx, d)?;
        }
        tx.commit()?;
    }
    Ok(true)
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

    /// Counts every resource and version again by scan, compares with the
    /// kept counts and repairs those that differ (see the module
    /// documentation): the scan reads one snapshot and holds no lock, the
    /// repair writes only the differing rows, and a writer that committed
    /// in between makes it count again. Reports what the first scan found.
    /// Costs a walk of every live path: a check the person runs on purpose.
    pub fn check_counts(&self) -> Result<CountsCheck> {
        self.check_counts_with(&mut |_| {})
    }

    /// [`Store::check_counts`], calling `between` after each scan, before
    /// its repair (tests write there).
    fn check_counts_with(&self, between: &mut dyn FnMut(usize)) -> Result<CountsCheck> {
        let mut first = None;
        for attempt in 0..=RECHECKS {
            let (differences, generation) = self.read_snapshot(|store| -> Result<_> {
                Ok((scan_differences(&store.conn)?, store.generation()?))
            })??;
            let check = first.get_or_insert_with(|| CountsCheck::of(&differences));
            if differences.is_empty() {
                return Ok(check.clone());
            }
            between(attempt);
            if repair(self, &differences, generation)? {
                return Ok(check.clone());
            }
        }
        self.rebuild_counts()?;
        Ok(first.unwrap_or_default())
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
mod tests;

#[cfg(test)]
#[path = "counts_check_tests.rs"]
mod check_tests;

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

    fn list<T: Copy>(items: &[(&str, T)]) -> Vec<(String, T)> {
        items.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    #[test]
    fn sorted_lists_compare_name_by_name_a_missing_name_counting_zero() {
        let mut out = Vec::new();
        compare_sorted(
            &list(&[("/", 3), ("/a/", 2), ("/c/", 1), ("/d/", -1)]),
            &list(&[("/", 3), ("/a/", 1), ("/b/", 1)]),
            Counted::Container,
            &mut out,
        );
        let got: Vec<_> = out
            .iter()
            .map(|d| (d.counted.clone(), d.stored, d.scanned))
            .collect();
        assert_eq!(
            got,
            [
                (Counted::Container("/a/".into()), 2, 1),
                (Counted::Container("/b/".into()), 0, 1),
                (Counted::Container("/c/".into()), 1, 0),
                (Counted::Container("/d/".into()), -1, 0),
            ]
        );
        let mut same = Vec::new();
        compare_sorted(
            &list(&[("/", 1)]),
            &list(&[("/", 1)]),
            Counted::Category,
            &mut same,
        );
        assert!(same.is_empty());
    }

    #[test]
    fn a_negative_count_differs_from_every_scan_and_shows_as_zero() {
        assert!(same(3, 3));
        assert!(!same(-3, 0));
        assert!(!same(-1, u64::MAX));
        assert_eq!(shown(-3), 0);
        assert_eq!(shown(5), 5);
    }

    #[test]
    fn a_category_counts_under_its_canonical_name() {
        assert_eq!(counted_category("health"), "health");
        assert_eq!(counted_category("Health"), "health");
        assert_eq!(counted_category(" HEALTH "), "health");
        assert_eq!(counted_category("no such"), "no such");
    }

    #[test]
    fn a_check_lists_only_the_first_differences_but_counts_them_all() {
        let mut out = Vec::new();
        let many: Vec<(String, i64)> = (0..50).map(|i| (format!("/{i:02}/"), 1)).collect();
        compare_sorted(&many, &[], Counted::Container, &mut out);
        let check = CountsCheck::of(&out);
        assert_eq!(check.differing, 50);
        assert_eq!(check.differences.len(), DIFFERENCES_SHOWN);
        assert!(check.repaired);
        assert_eq!(CountsCheck::of(&[]), CountsCheck::default());
    }
}
