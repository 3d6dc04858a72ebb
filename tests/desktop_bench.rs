//! The app's launch time and memory, for docs/BENCHMARKS.md (`make bench-app`).
//! Ignored by `cargo test`: it measures, it does not judge. It drives the
//! release binary (`CUSTODIAN_DESKTOP_BIN`, set by the make target) through
//! the same WebDriver harness as the end-to-end tests.

use std::path::Path;
use std::time::{Duration, Instant};

use custodian_core::{NewResource, PodPath, SecretString, Vault};
use custodian_e2e::app::{process_tree, Desktop, Launch};
use serde_json::json;

const PASSPHRASE: &str = "benchmark passphrase 1";

/// Resident memory (kB) of the app and every process it started (WebKit's
/// web and network processes), from /proc.
fn resident_kb(app: &Desktop) -> (u64, u64) {
    let root = app.app_pid().expect("the app's process");
    let tree = process_tree(root);
    let rss = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    };
    (rss(root), tree.iter().map(|p| rss(*p)).sum())
}

fn fill(dir: &Path, resources: usize) -> Duration {
    let created = Vault::create(dir, &SecretString::from(PASSPHRASE.to_string())).unwrap();
    let store = created.vault.store();
    for i in 0..resources {
        let path = PodPath::parse(&format!("/purchases/order-{i:05}")).unwrap();
        store
            .put(
                &path,
                NewResource::json(&json!({"order": i, "item": "tea", "price": "4.20"})),
            )
            .unwrap();
    }
    drop(created);
    open_time(dir)
}

/// The unlock's deliberate cost (scrypt at the default work factor) and
/// the vault's opening, measured the way the app unlocks (median of three),
/// to take it out of the window's time.
fn open_time(dir: &Path) -> Duration {
    let mut kdf: Vec<Duration> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let _v = Vault::open(dir, &SecretString::from(PASSPHRASE.to_string())).unwrap();
            t.elapsed()
        })
        .collect();
    kdf.sort();
    kdf[1]
}

#[test]
#[ignore = "a benchmark: make bench-app"]
fn launch_time_and_memory() {
    println!("| resources | window ready | unlock (total) | unlock KDF | launch to usable, KDF excluded | tree's first page shown | RSS app | RSS app + WebKit | RSS app + WebKit, all rows shown |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for resources in [0usize, 10_000] {
        let tmp = tempfile::tempdir().unwrap();
        let vault = tmp.path().join("vault");
        let kdf = fill(&vault, resources);
        let app = Desktop::launch(Launch {
            vault: &vault,
            home: tmp.path(),
        });
        let window_ready = app.started_in;
        let t = Instant::now();
        app.wait_for("#unlock-passphrase");
        let unlock_screen = window_ready + t.elapsed();
        app.type_into("#unlock-passphrase", PASSPHRASE);
        let t = Instant::now();
        app.click("[data-testid=unlock]");
        app.wait_for("[data-testid=nav-data]");
        let unlock = t.elapsed();
        let usable = unlock_screen + unlock.saturating_sub(kdf);

        let mut tree = Duration::ZERO;
        let mut all_rows = None;
        if resources > 0 {
            app.click("[data-testid=nav-data]");
            app.wait_for("[data-path=\"/purchases/\"]");
            let t = Instant::now();
            app.click("[data-path=\"/purchases/\"]");
            // The tree shows a page of 200 rows, then "show more".
            app.wait_for("[data-path=\"/purchases/order-00199\"]");
            app.wait_for("[data-testid=show-more]");
            tree = t.elapsed();
        }
        // Idle: let the page settle before reading memory.
        std::thread::sleep(Duration::from_secs(5));
        let (app_kb, all_kb) = resident_kb(&app);
        if resources > 0 {
            // The worst case: every row shown.
            while app.exists("[data-testid=show-more]") {
                app.click("[data-testid=show-more]");
            }
            let last = format!("[data-path=\"/purchases/order-{:05}\"]", resources - 1);
            app.wait_for(&last);
            std::thread::sleep(Duration::from_secs(5));
            all_rows = Some(resident_kb(&app).1);
        }
        println!(
            "| {resources} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {} | {} MiB | {} MiB | {} |",
            unlock_screen.as_secs_f64(),
            unlock.as_secs_f64(),
            kdf.as_secs_f64(),
            usable.as_secs_f64(),
            if resources > 0 {
                format!("{:.2} s", tree.as_secs_f64())
            } else {
                "—".into()
            },
            app_kb / 1024,
            all_kb / 1024,
            all_rows.map_or("—".to_string(), |kb| format!("{} MiB", kb / 1024))
        );
        app.quit();
    }
}

/// `CUSTODIAN_BENCH_RESOURCES` (default 1,000,000): how many resources the
/// large vault holds; a tenth of them (at most 100,000) directly in `/big/`.
fn large_size() -> (usize, usize) {
    let total = std::env::var("CUSTODIAN_BENCH_RESOURCES")
        .ok()
        .and_then(|v| v.replace(['_', ','], "").parse().ok())
        .unwrap_or(1_000_000usize);
    (total, (total / 10).min(100_000))
}

/// The layout of `make bench-large` (core `benches/large.rs`): `/big/` of
/// `big` members, the rest over 1,000 sub-containers of `/spread/`.
fn large_path(i: usize, big: usize) -> PodPath {
    let p = if i < big {
        format!("/big/r{i:07}")
    } else {
        format!("/spread/d{:03}/r{i:07}", i % 1000)
    };
    PodPath::parse(&p).unwrap()
}

fn fill_large(dir: &Path, total: usize, big: usize) -> Duration {
    let created = Vault::create(dir, &SecretString::from(PASSPHRASE.to_string())).unwrap();
    let store = created.vault.store();
    let t = Instant::now();
    store
        .put_batched(
            (0..total).map(|i| {
                (
                    large_path(i, big),
                    NewResource::json(
                        &json!({"id": i, "kind": "receipt", "total": 1000 + i % 9000}),
                    ),
                )
            }),
            10_000,
        )
        .unwrap();
    let built = t.elapsed();
    drop(created);
    built
}

/// What a step does in the page: click an element, or enter a value into
/// an input (as typing would: one `input` event).
enum Act<'a> {
    Click(&'a str),
    Enter(&'a str, &'a str),
}

/// Does `act` in the page and measures there, with the page's own clock,
/// until `selector` is in the document (polled every few ms), so the figure
/// holds no WebDriver round trip.
fn timed(app: &Desktop, selector: &str, act: Act<'_>) -> Duration {
    const TIME_UNTIL: &str = "const [click, input, value, target, done] = arguments;\
        const t0 = performance.now();\
        if (click) { document.querySelector(click).click(); }\
        else {\
          const el = document.querySelector(input);\
          Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), 'value').set.call(el, value);\
          el.dispatchEvent(new Event('input', { bubbles: true }));\
        }\
        const look = () => document.querySelector(target)\
          ? done(performance.now() - t0)\
          : (performance.now() - t0 > 25000 ? done(-1) : setTimeout(look, 2));\
        look();";
    let (click, input, value) = match act {
        Act::Click(sel) => (json!(sel), json!(null), json!(null)),
        Act::Enter(sel, value) => (json!(null), json!(sel), json!(value)),
    };
    let ms = app
        .script_async(TIME_UNTIL, vec![click, input, value, json!(selector)])
        .unwrap_or_else(|e| panic!("timing until `{selector}`: {e}"))
        .as_f64()
        .unwrap_or(-1.0);
    assert!(ms >= 0.0, "`{selector}` did not appear within 25 s");
    Duration::from_secs_f64(ms / 1e3)
}

/// The app's tree and search on a vault of a million resources: what a
/// person waits for after each click, measured in the real window from the
/// click (or the entered text) to the answer being in the page.
#[test]
#[ignore = "a benchmark: make bench-app"]
fn tree_and_search_on_a_million_resources() {
    let (total, big) = large_size();
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    let built = fill_large(&vault, total, big);
    let opened = open_time(&vault);
    let size = std::fs::metadata(vault.join("vault.db")).map_or(0, |m| m.len());
    println!(
        "built {total} resources ({big} in /big/) in {:.1} s; vault.db {} MiB",
        built.as_secs_f64(),
        size >> 20
    );
    let app = Desktop::launch(Launch {
        vault: &vault,
        home: tmp.path(),
    });
    app.wait_for("#unlock-passphrase");
    app.type_into("#unlock-passphrase", PASSPHRASE);
    // The first screen after unlocking is My data, its tree's root listed.
    let unlock = timed(
        &app,
        "[data-path=\"/spread/\"]",
        Act::Click("[data-testid=unlock]"),
    );
    let mut rows: Vec<(String, Duration)> = vec![
        (
            "unlock to My data's root shown, each container counted (scrypt included)".into(),
            unlock,
        ),
        (
            "the same less the vault's opening (scrypt), measured apart".into(),
            unlock.saturating_sub(opened),
        ),
    ];
    let last_of_page = |n: usize| format!("[data-path=\"/big/r{n:07}\"]");
    rows.push((
        format!("open /big/ ({big} members): first 200 shown"),
        timed(
            &app,
            &last_of_page(199),
            Act::Click("[data-path=\"/big/\"]"),
        ),
    ));
    rows.push((
        "Show more: the next 200 of /big/".into(),
        timed(
            &app,
            &last_of_page(399),
            Act::Click("[data-testid=show-more]"),
        ),
    ));
    rows.push((
        "open /spread/ (1,000 sub-containers): first 200 shown, each counted".into(),
        timed(
            &app,
            "[data-path=\"/spread/d199/\"]",
            Act::Click("[data-path=\"/spread/\"]"),
        ),
    ));
    let rare = total - 1;
    let rare_path = large_path(rare, big);
    let rare_name = format!("r{rare:07}");
    rows.push((
        format!("search a rare name ({rare_name}: one match), entered to shown (includes the box's 250 ms pause)"),
        timed(&app, &format!("[data-path=\"{rare_path}\"]"), Act::Enter("#resource-search", &rare_name)),
    ));
    app.set_value("#resource-search", "");
    app.wait_for("[data-path=\"/big/\"]");
    // The first match in path order: the first resource of /spread/d123/.
    let first = (big..total).find(|i| i % 1000 == 123).unwrap();
    rows.push((
        "search a common part (\"d123/\": hundreds of matches), entered to the first shown".into(),
        timed(
            &app,
            &format!("[data-path=\"{}\"]", large_path(first, big)),
            Act::Enter("#resource-search", "d123/"),
        ),
    ));
    std::thread::sleep(Duration::from_secs(3));
    let (app_kb, all_kb) = resident_kb(&app);
    println!("| step ({total} resources) | time |");
    println!("| --- | --- |");
    for (what, d) in rows {
        println!("| {what} | {:.0} ms |", d.as_secs_f64() * 1e3);
    }
    println!(
        "| resident memory: app / app + WebKit | {} MiB / {} MiB |",
        app_kb / 1024,
        all_kb / 1024
    );
    app.quit();
}
