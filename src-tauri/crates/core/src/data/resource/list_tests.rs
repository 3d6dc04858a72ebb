use std::cell::RefCell;

use serde_json::json;

use super::*;
use crate::testing::{memory_store, two_stores};

thread_local! {
    /// What a test runs between the person's page walk and its counts.
    static BETWEEN: RefCell<Option<Box<dyn FnMut()>>> = const { RefCell::new(None) };
}

/// Runs what a test set to run between a page's walk and its counts.
pub(super) fn between_walk_and_counts() {
    BETWEEN.with(|b| {
        if let Some(f) = b.borrow_mut().as_mut() {
            f()
        }
    });
}

fn p(s: &str) -> PodPath {
    PodPath::parse(s).unwrap()
}

fn put_all(store: &Store, paths: &[&str]) {
    store
        .put_batched(
            paths.iter().map(|s| (p(s), NewResource::json(&json!(s)))),
            1000,
        )
        .unwrap();
}

/// What a listing of `container` must show, worked out from the paths
/// alone: direct resources, and each sub-container once with the number of
/// paths under it.
fn expected(paths: &[&str], container: &str) -> Vec<(String, Option<u64>)> {
    let mut out: std::collections::BTreeMap<String, Option<u64>> = Default::default();
    for path in paths.iter().filter(|s| s.starts_with(container)) {
        let rest = &path[container.len()..];
        match rest.find('/') {
            None => {
                out.insert(path.to_string(), None);
            }
            Some(i) => {
                let n = out
                    .entry(format!("{container}{}", &rest[..=i]))
                    .or_insert(Some(0));
                *n = Some(n.unwrap_or(0) + 1);
            }
        }
    }
    out.into_iter().collect()
}

fn shown(entries: &[ListEntry]) -> Vec<(String, Option<u64>)> {
    entries
        .iter()
        .map(|e| match e {
            ListEntry::Container { path, members } => (path.to_string(), *members),
            ListEntry::Resource(m) => (m.path.to_string(), None),
        })
        .collect()
}

/// Every page of `container` at `limit`, each page's entries.
fn pages(store: &Store, container: &str, limit: usize) -> Vec<Vec<ListEntry>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_page(&p(container), after.as_deref(), limit)
            .unwrap();
        assert!(page.entries.len() <= limit);
        out.push(page.entries.clone());
        match page.next {
            Some(next) => {
                assert_eq!(
                    Some(next.as_str()),
                    page.entries.last().map(|e| e.path().as_str())
                );
                after = Some(next)
            }
            None => return out,
        }
    }
}

/// Resources and sub-containers mixed in every order, with names that sort
/// around the `/` of a sub-container (`-` sorts before it, `0` after).
const MIXED: &[&str] = &[
    "/c/a",
    "/c/a-b",
    "/c/a/1",
    "/c/a/2",
    "/c/a/deep/3",
    "/c/a0",
    "/c/b/1",
    "/c/c/1",
    "/c/c/2",
    "/c/d",
    "/c/e/x/y/z",
    "/c/f",
    "/c0",
    "/b/outside",
];

#[test]
fn pages_at_every_size_add_up_to_the_whole_listing() {
    let (_dir, store) = memory_store();
    put_all(&store, MIXED);
    let want = expected(MIXED, "/c/");
    assert_eq!(
        want.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["/c/a", "/c/a-b", "/c/a/", "/c/a0", "/c/b/", "/c/c/", "/c/d", "/c/e/", "/c/f"]
    );
    assert_eq!(shown(&store.list(&p("/c/")).unwrap()), want);
    for limit in 1..=want.len() + 1 {
        let all = pages(&store, "/c/", limit);
        // Full pages, then the rest; never an empty page at the end.
        assert_eq!(all.len(), want.len().div_ceil(limit), "limit {limit}");
        let flat: Vec<_> = all.concat();
        assert_eq!(shown(&flat), want, "limit {limit}");
    }
    assert_eq!(
        shown(&store.list(&p("/")).unwrap()),
        [
            ("/b/".to_string(), Some(1)),
            ("/c/".into(), Some(12)),
            ("/c0".into(), None)
        ]
    );
}

#[test]
fn a_page_ending_on_a_sub_container_continues_past_its_members() {
    let (_dir, store) = memory_store();
    put_all(&store, MIXED);
    let first = store.list_page(&p("/c/"), None, 3).unwrap();
    assert_eq!(first.next.as_deref(), Some("/c/a/"));
    let second = store
        .list_page(&p("/c/"), first.next.as_deref(), 2)
        .unwrap();
    assert_eq!(
        shown(&second.entries),
        [("/c/a0".to_string(), None), ("/c/b/".into(), Some(1))]
    );
    assert_eq!(second.next.as_deref(), Some("/c/b/"));
}

#[test]
fn a_cursor_need_not_be_a_member() {
    let (_dir, store) = memory_store();
    put_all(&store, MIXED);
    let names = |after: &str| {
        shown(&store.list_page(&p("/c/"), Some(after), 2).unwrap().entries)
            .into_iter()
            .map(|(p, _)| p)
            .collect::<Vec<_>>()
    };
    // Deleted since the page before: the next page goes on from there.
    store.delete(&p("/c/d")).unwrap();
    assert_eq!(names("/c/d"), ["/c/e/", "/c/f"]);
    // Never there, between two members.
    assert_eq!(names("/c/bb"), ["/c/c/", "/c/e/"]);
    // Inside a sub-container: that sub-container was listed already.
    assert_eq!(names("/c/a/zzz"), ["/c/a0", "/c/b/"]);
    assert_eq!(names("/c/c/1"), ["/c/e/", "/c/f"]);
    // Past the end: an empty last page of a container that exists.
    let end = store.list_page(&p("/c/"), Some("/c/zzz"), 2).unwrap();
    assert!(end.entries.is_empty() && end.next.is_none());
    // Outside the container, or the container itself.
    for outside in ["/b/outside", "/c/", "/c0", "/", "c/a"] {
        assert!(
            matches!(
                store.list_page(&p("/c/"), Some(outside), 2),
                Err(Error::InvalidRequest(_))
            ),
            "{outside}"
        );
    }
    // A missing container is missing whatever the cursor.
    assert!(matches!(
        store.list_page(&p("/nothing/"), Some("/nothing/a"), 2),
        Err(Error::NotFound { .. })
    ));
}

/// A company that may not see anything with `secret` in its path, and may
/// not name the sub-container `/c/hidden/`.
struct NoSecrets;

impl ListView for NoSecrets {
    fn shows_container(&self, path: &PodPath) -> bool {
        path.as_str() != "/c/hidden/"
    }
    fn shows_resource(&self, meta: &ResourceMeta) -> bool {
        !meta.path.as_str().contains("secret")
    }
    fn viewer(&self) -> &str {
        "co"
    }
}

#[test]
fn a_filtered_view_never_shows_or_points_at_what_it_cannot_see() {
    let (_dir, store) = memory_store();
    let paths = [
        "/c/a",
        "/c/b-secret",
        "/c/hidden/open",
        "/c/mixed/secret-1",
        "/c/mixed/secret-2",
        "/c/mixed/z-open",
        "/c/only/secret-1",
        "/c/only/secret-2",
        "/c/secret",
        "/c/z",
        "/s/secret",
    ];
    put_all(&store, &paths);
    let visible = ["/c/a", "/c/mixed/", "/c/z"];
    for limit in 1..=4 {
        let mut after: Option<String> = None;
        let mut seen = Vec::new();
        let mut count = 0;
        loop {
            let page = store
                .list_page_where(&p("/c/"), after.as_deref(), limit, &NoSecrets)
                .unwrap();
            count += 1;
            for e in &page.entries {
                assert!(matches!(
                    e,
                    ListEntry::Resource(_) | ListEntry::Container { members: None, .. }
                ));
                seen.push(e.path().to_string());
            }
            // A company's cursor is always sealed: it names nothing.
            if let Some(next) = &page.next {
                assert!(cursor::is_sealed(next) && !next.contains("/c/"), "{next}");
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, visible, "limit {limit}");
        // A sub-container of invisible resources costs no extra page.
        assert_eq!(count, visible.len().div_ceil(limit), "limit {limit}");
    }
    // A container holding only what it cannot see is not found.
    for hidden in ["/c/only/", "/s/", "/c/hidden/"] {
        let found = store.list_page_where(&p(hidden), None, 10, &NoSecrets);
        if hidden == "/c/hidden/" {
            // Naming is the door's rule (it refuses before listing); the
            // view only hides the sub-container inside a listing.
            assert!(found.is_ok());
        } else {
            assert!(matches!(found, Err(Error::NotFound { .. })), "{hidden}");
        }
    }
}

#[test]
fn limits_are_clamped() {
    let (_dir, store) = memory_store();
    let names: Vec<String> = (0..LIST_MAX + 3)
        .map(|i| format!("/many/r{i:05}"))
        .collect();
    store
        .put_batched(
            names.iter().map(|s| (p(s), NewResource::json(&json!(1)))),
            LIST_MAX + 3,
        )
        .unwrap();
    let one = store.list_page(&p("/many/"), None, 0).unwrap();
    assert_eq!(one.entries.len(), 1);
    assert_eq!(one.next.as_deref(), Some("/many/r00000"));
    let most = store.list_page(&p("/many/"), None, usize::MAX).unwrap();
    assert_eq!(most.entries.len(), LIST_MAX);
    let rest = store
        .list_page(&p("/many/"), most.next.as_deref(), usize::MAX)
        .unwrap();
    assert_eq!(rest.entries.len(), 3);
    assert_eq!(rest.next, None);
    assert_eq!(store.list(&p("/many/")).unwrap().len(), LIST_MAX + 3);
    assert_eq!(
        shown(&store.list(&p("/")).unwrap()),
        [("/many/".to_string(), Some(LIST_MAX as u64 + 3))]
    );
}

#[test]
fn bounds_cover_exactly_a_containers_paths() {
    assert_eq!(upper_bound("/"), "0");
    assert_eq!(upper_bound("/c/a/"), "/c/a0");
    assert_eq!(
        start_after("/c/", Some("/c/a/b/c")).unwrap(),
        Start {
            from: "/c/a0".into(),
            inclusive: true
        }
    );
    assert_eq!(
        start_after("/c/", Some("/c/a")).unwrap(),
        Start {
            from: "/c/a".into(),
            inclusive: false
        }
    );
}

/// The person's page reads its entries and the counts beside them from one
/// snapshot: another process that deletes and writes in between changes
/// neither (the next page sees it), so no listed sub-container shows 0.
#[test]
fn a_page_and_its_counts_come_from_one_snapshot() {
    let (_d, writer, reader) = two_stores();
    put_all(&writer, &["/c/a", "/d/b", "/d/c"]);
    let mut writer = Some(writer);
    BETWEEN.with(|b| {
        *b.borrow_mut() = Some(Box::new(move || {
            if let Some(w) = writer.take() {
                w.delete(&p("/c/a")).unwrap();
                w.put(&p("/d/e"), NewResource::json(&json!(1))).unwrap();
            }
        }))
    });
    let page = reader.list_page(&p("/"), None, 10);
    BETWEEN.with(|b| b.borrow_mut().take());
    assert_eq!(
        shown(&page.unwrap().entries),
        [("/c/".to_string(), Some(1)), ("/d/".to_string(), Some(2))]
    );
    assert_eq!(
        shown(&reader.list(&p("/")).unwrap()),
        [("/d/".to_string(), Some(3))]
    );
}
