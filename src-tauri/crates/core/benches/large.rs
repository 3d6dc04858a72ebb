//! Many resources: a vault of 1,000,000 small resources (one container of
//! 100,000 members, the rest spread over 1,000 sub-containers), built in
//! large transactions through the ordinary write path
//! (`Store::put_batched`), then per-operation times: put, get, `ls` of the
//! 100,000-member container (first page and a middle page), `ls` of the
//! root and of the container of 1,000 sub-containers (each with its member
//! count), `status`'s counts, search (a rare and a common part of a path);
//! then 10,000 large resources (300 KiB each, chunked blobs of bytes that
//! never repeat): their put and get, a page of their container, `status`,
//! a million company reads in the access log and the report over them; then export of the whole vault to
//! an age recipient and import into a new vault (each with its own peak
//! memory), the restored database's size.
//!
//! Run: `make bench-large` (that is,
//! `cargo bench -p custodian-core --bench large --features test-support`).
//! `CUSTODIAN_BENCH_RESOURCES` (default 1,000,000) and
//! `CUSTODIAN_BENCH_CONTAINER` (default 100,000), `CUSTODIAN_BENCH_LARGE`
//! (10,000) and `CUSTODIAN_BENCH_LARGE_KIB` (300) change the sizes, e.g. a
//! quick check at 20,000, 5,000, 100 and 300. Needs about twice the
//! vault's size free in `TMPDIR` (the vault and its bundle, then the bundle
//! and the restored vault: about 7 GB at the defaults). Prints a Markdown table for
//! docs/BENCHMARKS.md.

use std::time::{Duration, Instant};

use custodian_core::audit::{Action, Method, NewEntry};
use custodian_core::bundle::{self, Opener, Seal};

use custodian_core::data::resource::LIST_DEFAULT;
use custodian_core::{parse_path, Author, NewMeta, NewResource, PodPath, SecretString, Vault};

#[path = "support/memory.rs"]
mod memory;
use memory::{peak_mib, reset_peak};

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace(['_', ','], "").parse().ok())
        .unwrap_or(default)
}

fn big(i: usize) -> String {
    format!("/big/r{i:07}")
}

fn spread(i: usize) -> String {
    format!("/spread/d{:03}/r{i:07}", i % 1000)
}

/// ~200 bytes of JSON: a small record, like most of a person's resources.
fn doc(i: usize) -> NewResource {
    NewResource::json(&serde_json::json!({
        "id": i,
        "kind": "receipt",
        "shop": format!("Shop number {}", i % 977),
        "total": {"amount": 1000 + i % 9000, "currency": "EUR"},
        "at": "2026-11-30T10:00:00Z",
    }))
}

fn path(s: &str) -> PodPath {
    parse_path(s).expect("path")
}

/// A small deterministic generator: the same "random" paths every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn median_of(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Fills `buf` with bytes that never repeat across seeds (splitmix64).
fn fill_bytes(buf: &mut [u8], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    for chunk in buf.chunks_mut(8) {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
}

/// The peak memory as the table shows it.
fn peak() -> String {
    let mib = peak_mib();
    if mib.is_nan() {
        "–".into()
    } else {
        format!("{mib:.0} MiB")
    }
}

fn main() {
    let total = env_size("CUSTODIAN_BENCH_RESOURCES", 1_000_000);
    let in_big = env_size("CUSTODIAN_BENCH_CONTAINER", 100_000).min(total);
    let in_spread = total - in_big;
    let tmp = tempfile::tempdir().expect("temp dir");
    let pass = SecretString::from("benchmark passphrase".to_string());
    let dir = tmp.path().join("vault");
    // The work factor only changes the unlock, which is not measured here.
    drop(Vault::create_with_work_factor(&dir, &pass, 10).expect("create"));
    let vault = Vault::open(&dir, &pass).expect("open");
    let store = vault.store();

    let start = Instant::now();
    let items = (0..in_big)
        .map(|i| (path(&big(i)), doc(i)))
        .chain((0..in_spread).map(|i| (path(&spread(i)), doc(i))));
    let written = store.put_batched(items, 10_000).expect("build");
    let build = start.elapsed();
    assert_eq!(written as usize, total);

    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |what: String, value: String| {
        eprintln!("{what}: {value}");
        rows.push((what, value));
    };
    row(
        format!("build: {total} resources in transactions of 10,000"),
        format!(
            "{:.1} s ({:.0} resources/s)",
            build.as_secs_f64(),
            total as f64 / build.as_secs_f64()
        ),
    );

    // put: one transaction each (an fsync each), into the full vault.
    let puts = 1_000;
    let start = Instant::now();
    for i in 0..puts {
        store
            .put(&path(&format!("/new/r{i:05}")), doc(i))
            .expect("put");
    }
    row(
        format!("put, {puts} new resources, one transaction each"),
        format!("{} per op", us(start.elapsed() / puts as u32)),
    );

    // get: random live resources, the first pass from a cache that holds
    // whatever the build left, then the same paths again.
    let mut rng = Lcg(7);
    let gets = 10_000;
    let paths: Vec<PodPath> = (0..gets)
        .map(|_| {
            let i = rng.below(total);
            path(&if i < in_big {
                big(i)
            } else {
                spread(i - in_big)
            })
        })
        .collect();
    for pass_name in ["first pass", "second pass"] {
        let start = Instant::now();
        for p in &paths {
            store.get(p, None).expect("get");
        }
        row(
            format!("get, {gets} random resources, {pass_name}"),
            format!("{} per op", us(start.elapsed() / gets as u32)),
        );
    }

    // ls of the large container, a page of the doors' default size.
    let bigc = path("/big/");
    let first = median_of(9, || {
        let page = store.list_page(&bigc, None, LIST_DEFAULT).expect("ls");
        assert_eq!(page.entries.len(), LIST_DEFAULT.min(in_big));
    });
    row(
        format!("ls /big/ ({in_big} members), first page of {LIST_DEFAULT}"),
        ms(first),
    );
    let middle_after = big(in_big / 2);
    let middle = median_of(9, || {
        store
            .list_page(&bigc, Some(&middle_after), LIST_DEFAULT)
            .expect("ls");
    });
    row(
        format!("ls /big/, a middle page (after {middle_after})"),
        ms(middle),
    );
    let root = median_of(5, || {
        store.list_page(&path("/"), None, LIST_DEFAULT).expect("ls");
    });
    row("ls / (3 sub-containers, each counted)".into(), ms(root));
    let spreadc = median_of(5, || {
        store
            .list_page(&path("/spread/"), None, LIST_DEFAULT)
            .expect("ls");
    });
    row(
        format!(
            "ls /spread/ (1,000 sub-containers of {} each, counted)",
            in_spread / 1000
        ),
        ms(spreadc),
    );

    let status = median_of(3, || {
        store.resource_counts().expect("counts");
    });
    row("status: resource counts".into(), ms(status));

    let rare = median_of(3, || {
        let found = store.search_resources("r0000042", 200).expect("search");
        assert!(!found.results.is_empty());
    });
    row(
        "search, a rare part of a path (walks every path)".into(),
        ms(rare),
    );
    let common = median_of(9, || {
        let found = store.search_resources("/big/r00", 200).expect("search");
        assert!(found.results.len() == 200.min(in_big) || !found.more);
    });
    row(
        "search, a common part of a path (first 200)".into(),
        ms(common),
    );

    // 10,000 large resources (over INLINE_MAX, so each is a chunked blob of
    // its own: the bytes never repeat), written one streamed put each.
    let large = env_size("CUSTODIAN_BENCH_LARGE", 10_000);
    let large_kib = env_size("CUSTODIAN_BENCH_LARGE_KIB", 300);
    let mut body = vec![0u8; large_kib * 1024];
    let start = Instant::now();
    for i in 0..large {
        fill_bytes(&mut body, i as u64);
        store
            .put_stream(
                &path(&format!("/files/f{i:05}")),
                NewMeta::of_type("application/octet-stream"),
                &mut body.as_slice(),
                Some(body.len() as u64),
                &Author::Owner,
                &mut |_| {},
            )
            .expect("put large");
    }
    let took = start.elapsed();
    let large_mb = (large * large_kib * 1024) as f64 / 1e6;
    row(
        format!("put, {large} large resources of {large_kib} KiB ({large_mb:.0} MB), one streamed put each"),
        format!(
            "{:.1} s ({} per op, {:.0} MB/s)",
            took.as_secs_f64(),
            ms(took / large.max(1) as u32),
            large_mb / took.as_secs_f64()
        ),
    );
    let gets = 200.min(large);
    let start = Instant::now();
    for _ in 0..gets {
        let i = rng.below(large);
        let mut reader = store
            .open_content(&path(&format!("/files/f{i:05}")), None)
            .expect("open");
        let n = std::io::copy(&mut reader, &mut std::io::sink()).expect("read");
        assert_eq!(n as usize, large_kib * 1024);
    }
    row(
        format!("get, {gets} random large resources, read whole (ETag checked)"),
        format!("{} per op", ms(start.elapsed() / gets.max(1) as u32)),
    );
    let filesc = path("/files/");
    let files_page = median_of(9, || {
        store.list_page(&filesc, None, LIST_DEFAULT).expect("ls");
    });
    row(
        format!("ls /files/ ({large} large members), first page"),
        ms(files_page),
    );
    let status = median_of(3, || {
        store.resource_counts().expect("counts");
    });
    row(
        "status: resource counts, with the large ones".into(),
        ms(status),
    );
    // The access log: the person's own writes are not logged, so ten
    // companies' reads are (a million entries over random resources, about
    // 95,000 distinct ones each) for the report to read.
    let reads = env_size("CUSTODIAN_BENCH_LOG", 1_000_000);
    let start = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for n in 0..reads {
        let client = format!("cli_bench{:02}", n % 10);
        let i = rng.below(total);
        let p = if i < in_big {
            big(i)
        } else {
            spread(i - in_big)
        };
        let mut entry = NewEntry::client(&client, Action::Read);
        entry.method = Some(Method::Get);
        entry.path = Some(p);
        batch.push(entry);
        if batch.len() == 10_000 || n + 1 == reads {
            store.append_audit(&batch).expect("log");
            batch.clear();
        }
    }
    row(
        format!("log: {reads} company reads appended, 10,000 to a transaction"),
        format!("{:.1} s", start.elapsed().as_secs_f64()),
    );
    let before = peak();
    reset_peak();
    let report = median_of(3, || {
        let r = store.access_report(None).expect("report");
        assert_eq!(r.companies.len(), 10.min(reads));
    });
    row(
        format!("report: every company's reads over the whole log ({reads} entries)"),
        format!("{}, peak {}", ms(report), peak()),
    );

    row(
        "peak memory of everything before the report (VmHWM)".into(),
        before,
    );

    // Export and import of the whole vault, each phase's peak on its own.
    let identity = age::x25519::Identity::generate();
    let seal = Seal::Recipient(Box::new(identity.to_public()));
    let opener = Opener::Identity(Box::new(identity));
    let out = tmp.path().join("bench.custodian.age");
    reset_peak();
    let start = Instant::now();
    let summary = bundle::export_bundle(store, &out, &seal, false, &mut |_| {}).expect("export");
    let export = start.elapsed();
    let export_peak = peak();
    let bundle_mb = summary.file_bytes as f64 / 1e6;
    row(
        format!(
            "export (to a recipient): {} entries, {bundle_mb:.0} MB",
            summary.entries
        ),
        format!(
            "{:.1} s ({:.0} MB/s), peak {export_peak}",
            export.as_secs_f64(),
            bundle_mb / export.as_secs_f64()
        ),
    );
    drop(vault);
    // The vault goes before the import, as a person restoring would have it.
    std::fs::remove_dir_all(&dir).expect("remove the vault");
    reset_peak();
    let start = Instant::now();
    let restored = bundle::restore_bundle(
        &out,
        &opener,
        &tmp.path().join("restored"),
        &pass,
        custodian_core::vault::keys::DEFAULT_WORK_FACTOR,
        &mut |_| {},
    )
    .expect("import");
    let import = start.elapsed();
    let import_peak = peak();
    assert!(restored.manifest.counts.resources >= (total + large) as u64);
    drop(restored);
    row(
        "import (a new vault; its key wrapped at scrypt 2^18, as the command does)".into(),
        format!(
            "{:.1} s ({:.0} MB/s), peak {import_peak}",
            import.as_secs_f64(),
            bundle_mb / import.as_secs_f64()
        ),
    );

    let db_size = std::fs::metadata(tmp.path().join("restored").join("vault.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    row(
        "vault.db size (the restored vault)".into(),
        format!("{:.0} MiB", db_size as f64 / (1 << 20) as f64),
    );

    println!("| measure ({total} resources) | result |");
    println!("| --- | --- |");
    for (what, value) in rows {
        println!("| {what} | {value} |");
    }
}
