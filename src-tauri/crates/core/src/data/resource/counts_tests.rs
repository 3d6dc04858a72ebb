//! The kept counts against the scans they replace (the oracle: the range
//! count and the grouped scan `ls` and `status` used before migration 8),
//! after every kind of change: random writes, overwrites that change a
//! category, deletes, restores of old versions, sensitive marks, a bundle
//! restore and merges; an older vault's migration; the check and repair.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rusqlite::params;
use serde_json::json;

use super::*;
use crate::bundle::{export_bundle, merge_bundle, restore_bundle};
use crate::data::category::Category;
use crate::data::path::PodPath;
use crate::data::resource::count_check::scan_differences;
use crate::data::resource::list::upper_bound;
use crate::data::resource::{ListEntry, Mark, NewResource, INLINE_MAX, OCTET_STREAM};
use crate::testing::{memory_store, recipient_pair};

pub(in crate::data::resource) fn p(s: &str) -> PodPath {
    PodPath::parse(s).unwrap()
}

/// The old listing count: a range count on the `resources` key.
fn count_under_by_scan(store: &Store, container: &str) -> u64 {
    store
        .conn
        .query_row(
            "SELECT count(*) FROM resources WHERE path >= ?1 AND path < ?2",
            params![container, upper_bound(container)],
            |r| r.get(0),
        )
        .unwrap()
}

/// The old `status` counts: every version counted, every live resource
/// grouped by its live version's category (its canonical name: a row may
/// spell it `Health`).
fn resource_counts_by_scan(store: &Store) -> ResourceCounts {
    let mut counts = ResourceCounts {
        versions: store
            .conn
            .query_row("SELECT count(*) FROM resource_versions", [], |r| r.get(0))
            .unwrap(),
        ..Default::default()
    };
    let mut stmt = store
        .conn
        .prepare(
            "SELECT v.category, count(*) FROM resources r
             JOIN resource_versions v ON v.path = r.path AND v.version = r.version
             GROUP BY v.category",
        )
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
        .unwrap()
    {
        let (category, n) = row.unwrap();
        counts.resources += n;
        *counts
            .by_category
            .entry(category.parse::<Category>().unwrap().name().to_string())
            .or_insert(0) += n;
    }
    counts
}

/// Every container a live resource lies in, worked out from the live paths.
fn live_containers(store: &Store) -> BTreeSet<String> {
    let paths: Vec<String> = store
        .conn
        .prepare("SELECT path FROM resources")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut out = BTreeSet::new();
    for path in &paths {
        for (i, _) in path.match_indices('/') {
            out.insert(path[..=i].to_string());
        }
    }
    out
}

/// The kept counts equal the old scans, for every container that exists
/// and some that do not; no row is left for a container that is gone; the
/// check's own scan agrees; the root's listing shows the scanned counts.
pub(in crate::data::resource) fn assert_counts_true(store: &Store) {
    assert_eq!(
        store.resource_counts().unwrap(),
        resource_counts_by_scan(store)
    );
    let containers = live_containers(store);
    for c in containers
        .iter()
        .map(String::as_str)
        .chain(["/", "/nothing/", "/a/zz/"])
    {
        assert_eq!(
            store.count_under(c).unwrap(),
            count_under_by_scan(store, c),
            "members under {c}"
        );
    }
    let rows: u64 = store
        .conn
        .query_row("SELECT count(*) FROM container_counts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, containers.len() as u64, "a row per live container");
    let differences = scan_differences(&store.conn).unwrap();
    assert_eq!(differences, [], "the check's scan agrees");
    for entry in store.list(&p("/")).unwrap_or_default() {
        if let ListEntry::Container { path, members } = entry {
            assert_eq!(members, Some(count_under_by_scan(store, path.as_str())));
        }
    }
}

/// Nested paths, a resource beside a container of the same name, and
/// names that sort before `/` (space, `-`) between a container's members.
const PATHS: [&str; 10] = [
    "/a",
    "/a/b",
    "/a/b/c",
    "/a/d/e",
    "/a b/c",
    "/a-z",
    "/contact/email",
    "/health/h",
    "/docs/é/ü",
    "/x/y/z/w",
];
const CATEGORIES: [Category; 4] = [
    Category::Other,
    Category::Contact,
    Category::Health,
    Category::Documents,
];

#[derive(Debug, Clone)]
enum Op {
    Put {
        path: usize,
        category: Option<usize>,
        content: u8,
    },
    Delete(usize),
    Restore {
        path: usize,
        version: u64,
    },
    Mark {
        path: usize,
        sensitive: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..PATHS.len(), proptest::option::of(0..CATEGORIES.len()), 0..4u8)
            .prop_map(|(path, category, content)| Op::Put { path, category, content }),
        1 => (0..PATHS.len()).prop_map(Op::Delete),
        1 => (0..PATHS.len(), 1..5u64).prop_map(|(path, version)| Op::Restore { path, version }),
        1 => (0..PATHS.len(), any::<bool>()).prop_map(|(path, sensitive)| Op::Mark { path, sensitive }),
    ]
}

/// Applies one change; one the vault refuses (a missing resource or
/// version, lowering a sensitive category's mark) changes nothing.
fn apply(store: &Store, op: &Op) {
    let _ = match op {
        Op::Put {
            path,
            category,
            content,
        } => {
            // Content 3 is large: a blob, written through the stream path.
            let new = match content {
                3 => NewResource {
                    content: vec![7; INLINE_MAX + 1],
                    content_type: OCTET_STREAM.into(),
                    category: None,
                    mark: Mark::Keep,
                },
                n => NewResource::json(&json!({ "n": n })),
            };
            store
                .put(
                    &p(PATHS[*path]),
                    NewResource {
                        category: category.map(|c| CATEGORIES[c]),
                        ..new
                    },
                )
                .map(drop)
        }
        Op::Delete(path) => store.delete(&p(PATHS[*path])).map(drop),
        Op::Restore { path, version } => {
            store.restore_version(&p(PATHS[*path]), *version).map(drop)
        }
        Op::Mark { path, sensitive } => store.set_sensitive(&p(PATHS[*path]), *sensitive).map(drop),
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// After every change, and after the vault goes through a bundle
    /// (restored, merged into a vault of its own, merged into itself), the
    /// kept counts are what the scans find.
    #[test]
    fn the_kept_counts_are_what_a_scan_finds(
        ops in proptest::collection::vec(op(), 0..30),
        others in proptest::collection::vec(op(), 0..8),
    ) {
        let (dir, store) = memory_store();
        assert_counts_true(&store);
        for op in &ops {
            apply(&store, op);
            assert_counts_true(&store);
        }
        let (seal, opener) = recipient_pair();
        let bundle = dir.path().join("b.custodian.age");
        export_bundle(&store, &bundle, &seal, false, &mut |_| {}).unwrap();

        let restored = restore_bundle(
            &bundle,
            &opener,
            &dir.path().join("restored"),
            &crate::SecretString::from("a new passphrase".to_string()),
            4,
            &mut |_| {},
        )
        .unwrap();
        assert_counts_true(restored.created.vault.store());
        prop_assert_eq!(
            restored.created.vault.store().resource_counts().unwrap(),
            store.resource_counts().unwrap()
        );
        // A restore committing after every content it writes.
        let (_c, committing) = memory_store();
        let checked = crate::bundle::inspect(&bundle, &opener, &mut |_| {}).unwrap();
        crate::bundle::restore_committing(&committing, &bundle, &opener, &checked, 1, &mut |_| {})
            .unwrap();
        assert_counts_true(&committing);
        prop_assert_eq!(
            committing.resource_counts().unwrap(),
            store.resource_counts().unwrap()
        );

        let (_e, other) = memory_store();
        for op in &others {
            apply(&other, op);
        }
        merge_bundle(&other, &bundle, &opener, &mut |_| {}).unwrap();
        assert_counts_true(&other);
        merge_bundle(&store, &bundle, &opener, &mut |_| {}).unwrap();
        assert_counts_true(&store);
    }
}

/// A vault made at migration 7 (no counts) gets them, filled from its
/// rows, when first opened by this build.
#[test]
fn migration_8_fills_the_counts_of_an_older_vault() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let key = crate::vault::keys::VaultKey::generate().unwrap();
    let now = "2026-11-30T10:00:00.000Z";
    let store = Store::new(crate::vault::db::create_encrypted(&path, &key, now).unwrap());
    let paths: Vec<String> = (0..300)
        .map(|i| format!("/d{}/s{}/r{i}", i % 3, i % 7))
        .collect();
    store
        .put_batched(
            paths.iter().map(|s| (p(s), NewResource::json(&json!(s)))),
            100,
        )
        .unwrap();
    for i in 0..20 {
        store.delete(&p(&paths[i * 10])).unwrap();
    }
    store
        .put(
            &p("/d0/s0/r0"),
            NewResource {
                category: Some(Category::Health),
                ..NewResource::json(&json!("back"))
            },
        )
        .unwrap();
    let before = store.resource_counts().unwrap();
    assert_eq!(before.resources, 281);
    store
        .conn
        .execute_batch(
            "DROP TABLE container_counts; DROP TABLE category_counts; DROP TABLE version_total;
             DELETE FROM schema_migrations WHERE version >= 8;",
        )
        .unwrap();
    assert_eq!(store.schema_version().unwrap(), 7);
    drop(store);

    let store = Store::new(crate::vault::db::open_encrypted(&path, &key, now).unwrap());
    assert_eq!(store.schema_version().unwrap(), crate::schema_version());
    assert_counts_true(&store);
    assert_eq!(store.resource_counts().unwrap(), before);
    // 100 written under /d1/, 7 of them deleted (10, 40, … 190).
    assert_eq!(store.count_under("/d1/").unwrap(), 93);
}

/// A count made wrong (as damage or a forgotten write path would) is
/// found by the check, named, and repaired; the next check finds nothing.
#[test]
fn the_check_finds_a_wrong_count_and_repairs_it() {
    let (_d, store) = memory_store();
    for s in ["/a/b/c", "/a/d", "/e"] {
        store.put(&p(s), NewResource::json(&json!(s))).unwrap();
    }
    store.delete(&p("/e")).unwrap();
    assert_eq!(store.check_counts().unwrap(), CountsCheck::default());

    store
        .conn
        .execute_batch(
            "UPDATE container_counts SET members = 7 WHERE container = '/a/';
             DELETE FROM container_counts WHERE container = '/a/b/';
             INSERT INTO container_counts VALUES ('/gone/', 2);
             UPDATE category_counts SET live = 1;
             UPDATE version_total SET n = 0;",
        )
        .unwrap();
    let check = store.check_counts().unwrap();
    assert!(check.repaired);
    assert_eq!(check.differing, 5, "{check:?}");
    assert_eq!(
        check.differences[..3],
        [
            CountDifference {
                counted: Counted::Container("/a/".into()),
                stored: 7,
                scanned: 2,
            },
            CountDifference {
                counted: Counted::Container("/a/b/".into()),
                stored: 0,
                scanned: 1,
            },
            CountDifference {
                counted: Counted::Container("/gone/".into()),
                stored: 2,
                scanned: 0,
            },
        ]
    );
    assert_eq!(
        check.differences[4],
        CountDifference {
            counted: Counted::Versions,
            stored: 0,
            scanned: 4,
        }
    );
    assert_counts_true(&store);
    assert_eq!(store.check_counts().unwrap(), CountsCheck::default());
}

/// The repair on its own fills the tables from nothing.
#[test]
fn a_rebuild_fills_emptied_counts() {
    let (_d, store) = memory_store();
    for s in ["/a/b/c", "/a/d", "/é/ü"] {
        store.put(&p(s), NewResource::json(&json!(s))).unwrap();
    }
    store.set_sensitive(&p("/a/d"), true).unwrap();
    store
        .conn
        .execute_batch("DELETE FROM container_counts; DELETE FROM category_counts;")
        .unwrap();
    store.rebuild_counts().unwrap();
    assert_counts_true(&store);
    assert_eq!(store.count_under("/é/").unwrap(), 1);
}

/// The walk reads the `resources` key in order and looks each live version
/// up by its key: SQLite sorts nothing (a sort of a million paths would be
/// held in memory, temporary storage being in memory), on an empty vault
/// and on one with rows whose statistics `ANALYZE` gathered.
#[test]
fn the_walk_sorts_nothing() {
    let (_d, store) = memory_store();
    let plan = |store: &Store| -> Vec<String> {
        store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {LIVE_IN_PATH_ORDER}"))
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let empty = plan(&store);
    let paths: Vec<String> = (0..500).map(|i| format!("/d{}/r{i}", i % 7)).collect();
    store
        .put_batched(
            paths.iter().map(|s| (p(s), NewResource::json(&json!(s)))),
            500,
        )
        .unwrap();
    for path in paths.iter().step_by(3) {
        store.put(&p(path), NewResource::json(&json!(2))).unwrap();
    }
    for path in paths.iter().step_by(5) {
        store.delete(&p(path)).unwrap();
    }
    store.conn.execute_batch("ANALYZE").unwrap();
    for plan in [empty, plan(&store)] {
        assert!(
            plan.iter().all(|step| !step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
        assert!(
            plan.iter().any(|step| step.starts_with("SEARCH v USING")),
            "{plan:?}"
        );
    }
}
