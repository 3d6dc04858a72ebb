//! The check and repair of the kept counts (`Store::check_counts`): only
//! the differing rows are written, a writer between the scan and the
//! repair makes it count again, a damaged negative count is repaired (and
//! shown as 0 before); categories are counted under their canonical name
//! however a bundle or an older vault spells them; a merge that fails late
//! leaves the counts as they were.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::bundle::{export_bundle, merge_bundle, restore_bundle};
use crate::data::category::Category;
use crate::data::resource::counts::tests::{assert_counts_true, p};
use crate::data::resource::{ListEntry, NewResource};
use crate::testing::memory_store;
use crate::testing::recipient_pair;

fn put(store: &Store, path: &str, category: Option<Category>) {
    store
        .put(
            &p(path),
            NewResource {
                category,
                ..NewResource::json(&json!(path))
            },
        )
        .unwrap();
}

fn stored_categories(store: &Store) -> Vec<String> {
    store
        .conn
        .prepare("SELECT DISTINCT category FROM resource_versions ORDER BY category")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn by_category(store: &Store) -> BTreeMap<String, u64> {
    store.resource_counts().unwrap().by_category
}

/// Records, in a temporary table, every row of the three count tables a
/// statement inserts, changes or deletes (for this connection only).
fn watch_count_rows(store: &Store) {
    let mut sql = String::from("CREATE TEMP TABLE touched (what TEXT);");
    for (table, key) in [
        ("container_counts", "container"),
        ("category_counts", "category"),
        ("version_total", "id"),
    ] {
        for (event, row) in [("INSERT", "new"), ("UPDATE", "new"), ("DELETE", "old")] {
            sql.push_str(&format!(
                "CREATE TEMP TRIGGER watch_{table}_{event} AFTER {event} ON main.{table}
                 BEGIN INSERT INTO touched VALUES ('{table} ' || {row}.{key}); END;"
            ));
        }
    }
    store.conn.execute_batch(&sql).unwrap();
}

fn touched(store: &Store) -> Vec<String> {
    store
        .conn
        .prepare("SELECT DISTINCT what FROM touched ORDER BY what")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A bundle (restored, or merged) may spell a category `Health` or
/// ` health`, which `Category::from_str` accepts: the vault stores it as
/// `health`, counts it so, and the next write that changes the category
/// moves it out of the count it is in.
#[test]
fn a_bundle_spelling_a_category_oddly_is_stored_and_counted_canonically() {
    let (dir, source) = memory_store();
    put(&source, "/health/a", None);
    put(&source, "/notes/b", Some(Category::Health));
    put(&source, "/notes/c", Some(Category::Other));
    source
        .conn
        .execute_batch(
            "UPDATE resource_versions SET category = 'Health' WHERE path = '/health/a';
             UPDATE resource_versions SET category = ' health' WHERE path = '/notes/b';",
        )
        .unwrap();
    let (seal, opener) = recipient_pair();
    let bundle = dir.path().join("b.custodian.age");
    export_bundle(&source, &bundle, &seal, false, &mut |_| {}).unwrap();

    let restored = restore_bundle(
        &bundle,
        &opener,
        &dir.path().join("restored"),
        &crate::SecretString::from("a new passphrase".to_string()),
        4,
        &mut |_| {},
    )
    .unwrap();
    let (_m, merged) = memory_store();
    merge_bundle(&merged, &bundle, &opener, &mut |_| {}).unwrap();
    for store in [restored.created.vault.store(), &merged] {
        assert_eq!(stored_categories(store), ["health", "other"]);
        assert_counts_true(store);
        assert_eq!(
            by_category(store),
            BTreeMap::from([("health".into(), 2), ("other".into(), 1)])
        );
        // The next write names the category `health`, as every write does.
        put(store, "/health/a", Some(Category::Other));
        store.delete(&p("/notes/b")).unwrap();
        assert_counts_true(store);
        assert_eq!(by_category(store), BTreeMap::from([("other".into(), 2)]));
    }
}

/// A vault that already holds an oddly spelled category (imported before
/// bundles were made canonical) gets its counts filled under the canonical
/// name, so later writes keep them true.
#[test]
fn a_vault_holding_an_oddly_spelled_category_counts_it_canonically() {
    let (_d, store) = memory_store();
    put(&store, "/health/a", None);
    put(&store, "/health/b", None);
    store
        .conn
        .execute(
            "UPDATE resource_versions SET category = 'Health' WHERE path = '/health/a'",
            [],
        )
        .unwrap();
    // What migration 8 does with such a vault.
    store.rebuild_counts().unwrap();
    assert_eq!(by_category(&store), BTreeMap::from([("health".into(), 2)]));
    put(&store, "/health/a", Some(Category::Documents));
    assert_counts_true(&store);
    assert_eq!(store.check_counts().unwrap(), CountsCheck::default());
}

/// The repair writes only the rows that differ, not the tables whole.
#[test]
fn a_repair_writes_only_the_differing_rows() {
    let (_d, store) = memory_store();
    for s in ["/a/b/c", "/a/d", "/e/f", "/g"] {
        put(&store, s, None);
    }
    store
        .conn
        .execute_batch(
            "UPDATE container_counts SET members = 7 WHERE container = '/a/';
             INSERT INTO category_counts VALUES ('finance', 2);",
        )
        .unwrap();
    watch_count_rows(&store);
    let check = store.check_counts().unwrap();
    assert_eq!(check.differing, 2, "{check:?}");
    assert!(check.repaired);
    assert_eq!(
        touched(&store),
        ["category_counts finance", "container_counts /a/"]
    );
    assert_counts_true(&store);
}

/// A writer that commits between the scan and the repair changes what the
/// scan found: the repair sees the change counter moved and counts again,
/// instead of writing a count that is no longer true. Writers at every
/// attempt make it fall back to a rebuild, true all the same.
#[test]
fn a_write_between_the_scan_and_the_repair_makes_it_count_again() {
    let (_d, store) = memory_store();
    put(&store, "/a/x", None);
    put(&store, "/a/y", None);
    store
        .conn
        .execute(
            "UPDATE container_counts SET members = 7 WHERE container = '/a/'",
            [],
        )
        .unwrap();
    let mut attempts = Vec::new();
    let check = store
        .check_counts_with(&mut |attempt| {
            attempts.push(attempt);
            if attempt == 0 {
                put(&store, "/a/z", None);
            }
        })
        .unwrap();
    assert_eq!(attempts, [0, 1], "a second scan");
    assert_eq!(
        check.differences,
        [CountDifference {
            counted: Counted::Container("/a/".into()),
            stored: 7,
            scanned: 2,
        }],
        "the first scan is reported"
    );
    assert_eq!(store.count_under("/a/").unwrap(), 3);
    assert_counts_true(&store);

    store
        .conn
        .execute(
            "UPDATE container_counts SET members = 9 WHERE container = '/a/'",
            [],
        )
        .unwrap();
    let mut n = 0;
    let check = store
        .check_counts_with(&mut |_| {
            n += 1;
            put(&store, &format!("/a/w{n}"), None);
        })
        .unwrap();
    assert_eq!(n, RECHECKS + 1);
    assert!(check.repaired);
    assert_eq!(store.count_under("/a/").unwrap(), 3 + n as u64);
    assert_counts_true(&store);
}

/// A count made negative (damage) reads as 0 in the listing and `status`
/// until the check, which finds it different and repairs it.
#[test]
fn a_negative_count_shows_as_zero_and_is_repaired() {
    let (_d, store) = memory_store();
    put(&store, "/a/b", None);
    put(&store, "/contact/c", None);
    store
        .conn
        .execute_batch(
            "UPDATE container_counts SET members = -3 WHERE container = '/a/';
             UPDATE category_counts SET live = -3 WHERE category = 'contact';
             UPDATE version_total SET n = -3;",
        )
        .unwrap();
    let listed = store.list(&p("/")).unwrap();
    assert!(
        listed.iter().any(|e| matches!(e,
            ListEntry::Container { path, members: Some(0) } if path.as_str() == "/a/")),
        "{listed:?}"
    );
    let counts = store.resource_counts().unwrap();
    assert_eq!((counts.versions, counts.resources), (0, 1));

    let check = store.check_counts().unwrap();
    assert!(check.repaired);
    assert_eq!(
        check.differences,
        [
            CountDifference {
                counted: Counted::Container("/a/".into()),
                stored: -3,
                scanned: 1,
            },
            CountDifference {
                counted: Counted::Category("contact".into()),
                stored: -3,
                scanned: 1,
            },
            CountDifference {
                counted: Counted::Versions,
                stored: -3,
                scanned: 2,
            },
        ]
    );
    assert_counts_true(&store);
}

/// A merge that fails near its end (a table's row after every resource
/// was written in its transaction) leaves the counts as a scan finds them.
#[test]
fn a_merge_failing_late_leaves_the_counts_true() {
    let (dir, source) = memory_store();
    for s in ["/a/b", "/a/c/d", "/health/h", "/notes/n"] {
        put(&source, s, None);
    }
    source.delete(&p("/notes/n")).unwrap();
    crate::testing::granted_token(&source);
    source
        .conn
        .execute("UPDATE grants SET expires_at = 'tomorrow'", [])
        .unwrap();
    let (seal, opener) = recipient_pair();
    let bundle = dir.path().join("b.custodian.age");
    export_bundle(&source, &bundle, &seal, false, &mut |_| {}).unwrap();

    let (_h, here) = memory_store();
    put(&here, "/a/mine", None);
    let before = here.resource_counts().unwrap();
    let e = merge_bundle(&here, &bundle, &opener, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("grants.jsonl"), "{e}");
    assert_eq!(here.resource_counts().unwrap(), before);
    assert_eq!(here.count_under("/a/").unwrap(), 1);
    assert_counts_true(&here);
    assert_eq!(here.check_counts().unwrap(), CountsCheck::default());
}
