//! Deliveries at scale, for docs/BENCHMARKS.md (`make bench-deliver`).
//! Ignored by `cargo test`: it measures, it does not judge. Every company
//! is a name under `*.bench.test` on one local HTTPS server (the test
//! company of `src/shop`), reached through the test resolver; only
//! loopback traffic. Sizes from the environment, so a tiny run proves the
//! benchmark works: `CUSTODIAN_BENCH_COMPANIES` (default 1,000) and
//! `CUSTODIAN_BENCH_BACKLOG` (default 10,000).
//!
//! 1. One preference change fanned out to N grants at N companies: the
//!    time `custodian deliver` takes until every company has verified its
//!    `updated` delivery, and the CLI's peak memory.
//! 2. A backlog of M `updated` deliveries queued while the company was
//!    down, drained once it is back (the failed head sent again with
//!    `deliveries retry`), in a vault whose only linked company it is.

use std::process::Command;
use std::time::{Duration, Instant};

use custodian_core::{parse_path, NewResource};
use custodian_e2e::company::open;
use custodian_e2e::shop::{Ask, Outage, Seen, Shop};
use custodian_e2e::{run_ok, TestVault};
use serde_json::{json, Value};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cli(v: &TestVault, shop: &Shop, args: &[&str]) -> Command {
    let mut cmd = v.cmd(args);
    shop.env(&mut cmd);
    cmd
}

/// Runs the CLI under `/usr/bin/time -v`: (wall time, peak RSS in KiB).
fn timed(v: &TestVault, shop: &Shop, args: &[&str]) -> (Duration, u64) {
    let inner = cli(v, shop, args);
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-v")
        .arg(inner.get_program())
        .args(inner.get_args());
    for (k, val) in inner.get_envs() {
        match val {
            Some(val) => cmd.env(k, val),
            None => cmd.env_remove(k),
        };
    }
    let t = Instant::now();
    let out = cmd.output().expect("/usr/bin/time");
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let peak = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    (took, peak)
}

/// Links and approves one request from `host` for the preferences.
fn link_and_approve(v: &TestVault, shop: &Shop, host: &str) {
    let ask = Ask::new(
        json!([{"type": "pod_access", "paths": ["/preferences/communication"],
        "actions": ["read"], "datatypes": ["preferences"], "purpose": "Order updates"}]),
    );
    let link = shop.link(host, &shop.publish_request(host, &ask));
    let request: Value =
        serde_json::from_str(&run_ok(cli(v, shop, &["connect", &link, "--json"]))).unwrap();
    run_ok(cli(
        v,
        shop,
        &["requests", "approve", request["id"].as_str().unwrap()],
    ));
}

/// Distinct deliveries of `event` the companies verified.
fn delivered(seen: &Seen, event: &str) -> usize {
    let mut jtis = std::collections::HashSet::new();
    seen.deliveries
        .iter()
        .filter(|r| r.delivery.event() == event && jtis.insert(r.delivery.jti().to_string()))
        .count()
}

/// How long to wait for `n` deliveries before calling it stuck.
fn patience(n: usize) -> Duration {
    Duration::from_secs(30) + Duration::from_millis(200) * n as u32
}

#[test]
#[ignore = "a benchmark: make bench-deliver"]
fn fan_out_and_backlog() {
    let companies = size("CUSTODIAN_BENCH_COMPANIES", 1_000);
    let backlog = size("CUSTODIAN_BENCH_BACKLOG", 10_000);
    let hosts: Vec<String> = (0..companies)
        .map(|i| format!("company-{i:04}.bench.test"))
        .collect();
    let mut names: Vec<&str> = hosts.iter().map(String::as_str).collect();
    names.push("backlog.bench.test");
    let shop = Shop::with_names(&names);
    let v = TestVault::new();

    // Set-up (not measured): N linked grants, their `granted` delivered.
    let t = Instant::now();
    for host in &hosts {
        link_and_approve(&v, &shop, host);
    }
    run_ok(cli(&v, &shop, &["deliver"]));
    eprintln!("set-up: {companies} linked and approved");
    shop.wait_for("every granted delivery", patience(companies), |seen| {
        (delivered(seen, "granted") >= companies).then_some(())
    });
    let setup = t.elapsed();

    // 1. One preference change, N deliveries.
    let t = Instant::now();
    run_ok(cli(&v, &shop, &["prefs", "set", "channels.sms", "true"]));
    let queued = t.elapsed();
    let (deliver, peak) = timed(&v, &shop, &["deliver"]);
    shop.wait_for("every updated delivery", patience(companies), |seen| {
        (delivered(seen, "updated") >= companies).then_some(())
    });
    let all = t.elapsed();
    println!("| companies | set-up (link, approve, granted) | prefs set (queues N) | deliver | until all verified | peak RSS (deliver) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {companies} | {:.1} s | {:.2} s | {:.2} s | {:.2} s | {} MiB |",
        setup.as_secs_f64(),
        queued.as_secs_f64(),
        deliver.as_secs_f64(),
        all.as_secs_f64(),
        peak / 1024
    );

    // 2. A backlog queued during an outage, drained once back, in a vault
    // of its own with this one linked company: every write looks at each
    // active linked grant (part 1's `prefs set` is that cost with N of
    // them), which would measure the fill, not the drain.
    let v = TestVault::new();
    let host = "backlog.bench.test";
    let ask = Ask::new(json!([{"type": "pod_access", "paths": ["/notes/"],
        "actions": ["read"], "datatypes": [], "purpose": "Backlog"}]));
    let link = shop.link(host, &shop.publish_request(host, &ask));
    let request: Value =
        serde_json::from_str(&run_ok(cli(&v, &shop, &["connect", &link, "--json"]))).unwrap();
    run_ok(cli(
        &v,
        &shop,
        &["requests", "approve", request["id"].as_str().unwrap()],
    ));
    run_ok(cli(&v, &shop, &["deliver"]));
    shop.wait_for(
        "the backlog's granted delivery",
        Duration::from_secs(60),
        |seen| (!seen.unique_to(host).is_empty()).then_some(()),
    );
    shop.set_outage(Outage::Status {
        code: 503,
        retry_after: None,
    });
    let t = Instant::now();
    {
        let vault = open(&v);
        let store = vault.store();
        for i in 0..backlog {
            store
                .put(
                    &parse_path(&format!("/notes/n-{i:05}")).unwrap(),
                    NewResource::json(&json!({"n": i})),
                )
                .unwrap();
        }
    }
    let fill = t.elapsed();
    run_ok(cli(&v, &shop, &["deliver"]));
    shop.set_outage(Outage::None);
    let grants: Value = serde_json::from_str(&run_ok(cli(
        &v,
        &shop,
        &["grants", "list", "--active", "--json"],
    )))
    .unwrap();
    let grant = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g.to_string().contains("/notes/"))
        .expect("the backlog's grant")["id"]
        .as_str()
        .unwrap()
        .to_string();
    // "Send now" after the outage: `deliveries retry` makes the queue due
    // and sends it, so it is the command timed (a `deliver` after it
    // would find nothing left to send).
    let t = Instant::now();
    let (deliver, peak) = timed(&v, &shop, &["deliveries", "retry", &grant]);
    shop.wait_for("the backlog drained", patience(backlog), |seen| {
        (seen.unique_to(host).len() > backlog).then_some(())
    });
    let all = t.elapsed();
    println!();
    println!("| backlog | queued in (writes) | deliveries retry (sends it) | until all verified | per delivery | peak RSS (retry) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {backlog} | {:.1} s | {:.2} s | {:.2} s | {:.2} ms | {} MiB |",
        fill.as_secs_f64(),
        deliver.as_secs_f64(),
        all.as_secs_f64(),
        all.as_secs_f64() * 1000.0 / backlog.max(1) as f64,
        peak / 1024
    );
}
