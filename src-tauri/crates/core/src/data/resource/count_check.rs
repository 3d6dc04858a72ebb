//! Checking the counts kept beside the resources (`super::counts`), as a
//! person does on purpose ([`Store::check_counts`]): everything counted
//! again by scan ([`scan_differences`]: the walk over the live paths that
//! fills the tables) in a read snapshot, holding no lock, and what differs
//! reported. The repair then writes only the differing rows, in short write
//! transactions, while the vault's change counter is the one the scan saw
//! (nothing live changed since); when a writer changed it meanwhile the
//! check counts again, and only after [`RECHECKS`] such races rebuilds the
//! tables whole under the write lock.

use std::cmp::Ordering;

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::vault::store::Store;
use crate::Result;

use super::counts::{container_row, pairs, version_count, walk_live};
use super::list::upper_bound;

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
}

#[cfg(test)]
#[path = "counts_check_tests.rs"]
mod check_tests;

#[cfg(test)]
mod unit {
    use super::*;

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
    fn a_negative_count_differs_from_every_scan() {
        assert!(same(3, 3));
        assert!(!same(-3, 0));
        assert!(!same(-1, u64::MAX));
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
