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
    // The unlock's deliberate cost (scrypt at the default work factor), measured
    // here the same way the app unlocks, to take it out of the window's time.
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
