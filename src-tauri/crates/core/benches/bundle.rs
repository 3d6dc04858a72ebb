//! Bundle benchmark: export and import of a vault with 100,000 resources of
//! ~1 KiB (~100 MB of content), with wall time, throughput and peak memory
//! of each direction, beside the floor: `tar c DIR | age -r …` (and
//! `age -d | tar x`) on the same files, with the Go `age` binary.
//!
//! Run: `make bench-bundle` (release build). Prints a Markdown table for
//! docs/BENCHMARKS.md. Needs the `age`, `age-keygen` and `tar` binaries.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use custodian_core::bundle::{self, Opener, Seal};
use custodian_core::{parse_path, NewResource, SecretString, Vault};

#[path = "support/memory.rs"]
mod memory;
use memory::{peak_mib, reset_peak};

const RESOURCES: usize = 100_000;

fn payload(i: usize) -> Vec<u8> {
    // ~1 KiB of JSON that does not repeat.
    let items: Vec<serde_json::Value> = (0..8)
        .map(|n| {
            serde_json::json!({
                "sku": format!("SKU-{i:06}-{n}"),
                "name": format!("Item number {n} of order {i}, a thing someone bought"),
                "quantity": n + 1,
                "unit_price": {"amount": 1999 + n + i % 97, "currency": "EUR"},
            })
        })
        .collect();
    serde_json::to_vec(
        &serde_json::json!({"order": i, "placed_at": "2026-11-02T10:00:00Z", "items": items}),
    )
    .expect("json")
}

fn shell(script: &str) -> Duration {
    let start = Instant::now();
    let status = Command::new("bash")
        .arg("-c")
        .arg(script)
        .status()
        .expect("bash");
    assert!(status.success(), "failed: {script}");
    start.elapsed()
}

fn dir_bytes(dir: &Path) -> u64 {
    let out = Command::new("du").arg("-sb").arg(dir).output().expect("du");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let work = tmp.path();
    let pass = SecretString::from("benchmark passphrase".to_string());
    let created = Vault::create_with_work_factor(&work.join("vault"), &pass, 10).expect("vault");
    let store = created.vault.store();
    eprintln!("filling {RESOURCES} resources…");
    let mut content = 0u64;
    for i in 0..RESOURCES {
        let bytes = payload(i);
        content += bytes.len() as u64;
        store
            .put(
                &parse_path(&format!("/purchases/2026/order-{i:06}")).expect("path"),
                NewResource {
                    content: bytes,
                    content_type: "application/json".into(),
                    category: None,
                    mark: custodian_core::Mark::Keep,
                },
            )
            .expect("put");
    }
    let mb = content as f64 / 1e6;

    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    std::fs::write(
        work.join("key.txt"),
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&identity.to_string())
        ),
    )
    .expect("key");
    let seal = Seal::Recipient(Box::new(identity.to_public()));
    let opener = Opener::Identity(Box::new(identity));

    eprintln!("export…");
    let out = work.join("bench.custodian.age");
    reset_peak();
    let start = Instant::now();
    let summary = bundle::export_bundle(store, &out, &seal, false, &mut |_| {}).expect("export");
    let export = start.elapsed();
    let export_peak = peak_mib();

    eprintln!("import…");
    reset_peak();
    let start = Instant::now();
    // At the work factor `custodian import` wraps the new vault's key with,
    // so the figure includes that scrypt derivation as the real command does.
    let restored = bundle::restore_bundle(
        &out,
        &opener,
        &work.join("restored"),
        &pass,
        custodian_core::vault::keys::DEFAULT_WORK_FACTOR,
        &mut |_| {},
    )
    .expect("import");
    let import = start.elapsed();
    let import_peak = peak_mib();
    assert_eq!(restored.manifest.counts.resources, RESOURCES as u64 + 1);
    drop(restored);

    eprintln!("floor…");
    let plain = work.join("plain");
    bundle::export_plain(store, &plain, &mut |_| {}).expect("plain export");
    let plain_mb = dir_bytes(&plain) as f64 / 1e6;
    let w = work.display();
    let floor_export = shell(&format!(
        "cd {w}/plain && tar c . | age -r {recipient} > {w}/floor.tar.age"
    ));
    std::fs::create_dir_all(work.join("floor-out")).expect("dir");
    let floor_read = shell(&format!(
        "age -d -i {w}/key.txt {w}/floor.tar.age | tar t > /dev/null"
    ));
    let floor_import = shell(&format!(
        "age -d -i {w}/key.txt {w}/floor.tar.age | tar x -C {w}/floor-out"
    ));

    let rate = |d: Duration| mb / d.as_secs_f64();
    println!("Bundle of {RESOURCES} resources, {mb:.1} MB of content ({} entries, {:.1} MB file, {plain_mb:.1} MB as plain files):\n", summary.entries, summary.file_bytes as f64 / 1e6);
    println!(
        "| operation | time | content MB/s | peak memory | floor (`tar`+`age`) | ratio to floor |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| export (`export_bundle`, to a recipient) | {:.2} s | {:.1} | {export_peak:.0} MiB | {:.2} s (`tar c \\| age -r`) | {:.2}× |",
        export.as_secs_f64(), rate(export), floor_export.as_secs_f64(), export.as_secs_f64() / floor_export.as_secs_f64()
    );
    println!(
        "| import (`restore_bundle`, new vault, key wrapped at scrypt 2^18) | {:.2} s | {:.1} | {import_peak:.0} MiB | {:.2} s (`age -d \\| tar t`, read only) | {:.2}× |",
        import.as_secs_f64(), rate(import), floor_read.as_secs_f64(), import.as_secs_f64() / floor_read.as_secs_f64()
    );
    println!(
        "| | | | | {:.2} s (`age -d \\| tar x`, 200,000 files: not like for like) | {:.2}× |",
        floor_import.as_secs_f64(),
        import.as_secs_f64() / floor_import.as_secs_f64()
    );
}
