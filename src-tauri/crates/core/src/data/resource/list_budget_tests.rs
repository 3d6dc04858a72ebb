//! A company's listing examines a bounded number of rows a page: pages may
//! end early, and their cursors never name what the company cannot see.

use serde_json::json;

use super::*;
use crate::testing::memory_store;

fn p(s: &str) -> PodPath {
    PodPath::parse(s).unwrap()
}

/// A company that sees exactly `.0`'s resources (and may name every
/// sub-container).
struct Only(&'static [&'static str]);

impl ListView for Only {
    fn shows_container(&self, _: &PodPath) -> bool {
        true
    }
    fn shows_resource(&self, meta: &ResourceMeta) -> bool {
        self.0.contains(&meta.path.as_str())
    }
    fn viewer(&self) -> &str {
        "co"
    }
}

const VISIBLE: &[&str] = &["/c/a", "/c/r10000v", "/c/s/09999v"];

/// 30,000 resources the view cannot see (20,000 in `/c/`, 10,000 in the
/// sub-container `/c/s/`) around 3 it can.
fn crowded() -> (tempfile::TempDir, Store) {
    let (dir, store) = memory_store();
    let hidden = (0..20_000)
        .map(|i| format!("/c/r{i:05}"))
        .chain((0..10_000).map(|i| format!("/c/s/{i:05}")));
    let all = hidden.chain(VISIBLE.iter().map(|s| s.to_string()));
    store
        .put_batched(all.map(|s| (p(&s), NewResource::json(&json!(1)))), 10_000)
        .unwrap();
    (dir, store)
}

#[test]
fn every_page_examines_at_most_the_budget_and_together_they_list_what_is_visible() {
    let (_dir, store) = crowded();
    let view = Only(VISIBLE);
    for limit in [1, 2, 1000] {
        let mut after: Option<String> = None;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let (page, examined) = store
                .page_counted(&p("/c/"), after.as_deref(), limit, Some(&view))
                .unwrap();
            pages += 1;
            assert!(examined <= EXAMINE_MAX, "page {pages} examined {examined}");
            assert!(page.entries.len() <= limit);
            seen.extend(page.entries.iter().map(|e| e.path().to_string()));
            let Some(next) = page.next else { break };
            // A company's cursor is always sealed, never a path in the
            // clear.
            assert!(cursor::is_sealed(&next) && !next.contains("/c/"), "{next}");
            after = Some(next);
            assert!(pages < 100, "the listing never ends");
        }
        assert_eq!(seen, ["/c/a", "/c/r10000v", "/c/s/"], "limit {limit}");
        // 30,003 rows in all, at most 10,000 a page.
        assert!(pages >= 4, "limit {limit}: {pages} pages");
    }
    // The person's own listing has no budget: full pages, plain cursors.
    let own = store.list_page(&p("/c/"), None, LIST_MAX).unwrap();
    assert_eq!(own.entries.len(), LIST_MAX);
    assert_eq!(own.next.as_deref(), Some("/c/r04998"));
}

#[test]
fn a_tampered_or_foreign_cursor_is_refused() {
    let (_dir, mut store) = memory_store();
    store.set_examine_max_for_tests(5);
    let paths = (0..20).map(|i| format!("/c/h{i:02}"));
    store
        .put_batched(
            paths
                .chain(["/c/z".to_string()])
                .map(|s| (p(&s), NewResource::json(&json!(1)))),
            100,
        )
        .unwrap();
    let view = Only(&["/c/z"]);
    let first = store.list_page_where(&p("/c/"), None, 2, &view).unwrap();
    assert!(first.entries.is_empty(), "a page may be empty…");
    let sealed = first.next.expect("…and still have a next");
    assert!(cursor::is_sealed(&sealed));
    fn refused(store: &Store, after: &str, container: &str) {
        match store.list_page_where(&p(container), Some(after), 2, &Only(&["/c/z"])) {
            Err(Error::InvalidRequest(m)) => assert!(m.contains("start the listing again")),
            other => panic!("{after}: {other:?}"),
        }
    }
    let mut tampered = sealed.clone().into_bytes();
    tampered[5] ^= 1;
    refused(&store, &String::from_utf8(tampered).unwrap(), "/c/");
    refused(&store, "~not-a-cursor", "/c/");
    // Another container's listing does not take it either.
    store.put(&p("/d/x"), NewResource::json(&json!(1))).unwrap();
    refused(&store, &sealed, "/d/");
    // The same vault's other connections open it; a pod restarted (a new
    // key) does not.
    let next = store
        .list_page_where(&p("/c/"), Some(&sealed), 2, &view)
        .unwrap();
    assert!(next.entries.is_empty());
    store.cursor_key = Default::default();
    refused(&store, &sealed, "/c/");
    // Followed to the end, the listing finds the one visible resource.
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = store
            .list_page_where(&p("/c/"), after.as_deref(), 2, &view)
            .unwrap();
        seen.extend(page.entries.iter().map(|e| e.path().to_string()));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, ["/c/z"]);
    // The same cursor does not open for another company.
    struct Other;
    impl ListView for Other {
        fn shows_container(&self, _: &PodPath) -> bool {
            true
        }
        fn shows_resource(&self, _: &ResourceMeta) -> bool {
            true
        }
        fn viewer(&self) -> &str {
            "another company"
        }
    }
    let sealed = store
        .list_page_where(&p("/c/"), None, 2, &view)
        .unwrap()
        .next
        .unwrap();
    assert!(matches!(
        store.list_page_where(&p("/c/"), Some(&sealed), 2, &Other),
        Err(Error::InvalidRequest(_))
    ));
}

/// What a company gets for a plain `after`, reduced to what it can
/// compare: the status, and the page's shape (how many entries, whether a
/// `next` follows).
fn answer(store: &Store, after: &str, view: &dyn ListView) -> String {
    match store.list_page_where(&p("/c/"), Some(after), 2, view) {
        Ok(page) => format!("200 {} {}", page.entries.len(), page.next.is_some()),
        Err(Error::NotFound { .. }) => "404".into(),
        Err(Error::InvalidRequest(m)) => format!("400 {m}"),
        Err(e) => panic!("{after}: {e:?}"),
    }
}

#[test]
fn a_plain_after_tells_nothing_of_the_hidden_names_around_it() {
    // A budget of 6; five hidden names, then the one visible resource.
    let (_dir, mut store) = memory_store();
    store.set_examine_max_for_tests(6);
    let hidden = ["/c/alpha", "/c/bravo", "/c/charlie", "/c/delta", "/c/echo"];
    store
        .put_batched(
            hidden
                .iter()
                .chain(&["/c/zulu"])
                .map(|s| (p(s), NewResource::json(&json!(1)))),
            100,
        )
        .unwrap();
    let view = Only(&["/c/zulu"]);
    // Before each hidden name, on it and just after it, a name that is
    // not there, one past the end, a sub-container, a path outside.
    let mut probes: Vec<String> = vec!["/c/a".into(), "/c/zz".into(), "/c/s/".into()];
    for h in hidden {
        let mut before = h.to_string();
        let last = before.pop().unwrap();
        before.push(char::from(last as u8 - 1));
        probes.extend([before, h.to_string(), format!("{h}0"), format!("{h}/x")]);
    }
    probes.extend(["/d/x".into(), "/c".into(), "c/a".into(), "~".into()]);
    let first = answer(&store, &probes[0], &view);
    assert!(first.starts_with("400 "), "{first}");
    for x in &probes {
        assert_eq!(answer(&store, x, &view), first, "after={x}");
    }
    // A name it sees is taken: the page after it is the empty last one.
    assert_eq!(answer(&store, "/c/zulu", &view), "200 0 false");
    // A company that sees nothing there: the first page and every cursor
    // after it end in one answer, the container's, whatever hides there.
    let none = Only(&[]);
    let page = store.list_page_where(&p("/c/"), None, 2, &none).unwrap();
    let sealed = page.next.expect("six rows fill the budget");
    let (last, examined) = store
        .page_counted(&p("/c/"), Some(&sealed), 2, Some(&none))
        .unwrap();
    assert_eq!(last.entries.len(), 0);
    assert!(examined <= 6, "examined {examined}");
}

#[test]
fn a_cursor_sealed_on_one_connection_opens_on_another_of_the_same_vault() {
    let (_dir, mut writer, other) = crate::testing::two_stores();
    writer.set_examine_max_for_tests(3);
    let paths = (0..10).map(|i| format!("/c/h{i}")).chain(["/c/z".into()]);
    writer
        .put_batched(paths.map(|s| (p(&s), NewResource::json(&json!(1)))), 100)
        .unwrap();
    let view = Only(&["/c/z"]);
    let sealed = writer
        .list_page_where(&p("/c/"), None, 2, &view)
        .unwrap()
        .next
        .unwrap();
    // A connection with a key of its own does not open it…
    assert!(matches!(
        other.list_page_where(&p("/c/"), Some(&sealed), 2, &view),
        Err(Error::InvalidRequest(_))
    ));
    // …one sharing the vault's key does, and goes on where it stopped.
    let other = other.sharing_cursors_with(&writer);
    let page = other
        .list_page_where(&p("/c/"), Some(&sealed), 2, &view)
        .unwrap();
    assert_eq!(page.entries.len(), 1, "{page:?}");
    assert_eq!(page.entries[0].path().as_str(), "/c/z");
}
