//! Storage benchmark: unlock time at the default work factor, put/get of
//! 10,000 JSON resources of ~1 KiB through the core, on the encrypted store
//! and on a plain SQLite database with the same schema, and signing and
//! verifying one consent receipt on the encrypted store.
//!
//! Run: `cargo bench -p custodian-core --bench storage --features test-support`
//! (`make bench` does the same). Prints a Markdown table for docs/BENCHMARKS.md.

use std::time::{Duration, Instant};

use custodian_core::sharing::client::ClientRegistration;
use custodian_core::sharing::receipts;
use custodian_core::sharing::scope::parse_requested;
use custodian_core::{parse_path, NewResource, SecretString, Store, Vault};

const RESOURCES: usize = 10_000;
const UNLOCKS: usize = 5;
const RECEIPTS: usize = 1_000;

fn payload(i: usize) -> serde_json::Value {
    // ~1 KiB of realistic JSON: an order with line items.
    let items: Vec<serde_json::Value> = (0..8)
        .map(|n| {
            serde_json::json!({
                "sku": format!("SKU-{i:06}-{n}"),
                "name": format!("Item number {n} of order {i}, a thing someone bought"),
                "quantity": n + 1,
                "unit_price": {"amount": 1999 + n, "currency": "EUR"},
            })
        })
        .collect();
    serde_json::json!({"order": i, "placed_at": "2026-11-02T10:00:00Z", "items": items})
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct Timings {
    put: Duration,
    get: Duration,
}

fn put_get(store: &Store) -> Timings {
    let paths: Vec<_> = (0..RESOURCES)
        .map(|i| parse_path(&format!("/purchases/2026/order-{i:06}")).expect("path"))
        .collect();
    let docs: Vec<_> = (0..RESOURCES)
        .map(|i| NewResource::json(&payload(i)))
        .collect();
    let start = Instant::now();
    for (path, doc) in paths.iter().zip(docs) {
        store.put(path, doc).expect("put");
    }
    let put = start.elapsed();
    let start = Instant::now();
    let mut bytes = 0;
    for path in &paths {
        bytes += store.get(path, None).expect("get").content.len();
    }
    let get = start.elapsed();
    assert!(
        bytes > RESOURCES * 900,
        "payloads are ~1 KiB ({bytes} bytes)"
    );
    Timings { put, get }
}

fn per_op(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6 / RESOURCES as f64)
}

/// One consent receipt, signed and verified `RECEIPTS` times each: the
/// receipt of a real refusal (a company asks, the person denies), its
/// claims signed again by the step a decision uses, and the stored receipt
/// checked as `custodian receipts verify` checks it (signature through
/// jsonwebtoken, claims, the log head in the chain). Returns (sign, verify)
/// per receipt, and the receipt's size.
fn sign_verify(store: &Store) -> (Duration, Duration, usize) {
    let reg: ClientRegistration =
        serde_json::from_value(serde_json::json!({"client_name": "Bench Shop"})).expect("reg");
    let client = store.register_client(&reg).expect("register");
    let details = parse_requested(
        r#"[{"type":"pod_access","paths":["/contact/","/purchases/"],"actions":["read"],"purpose":"Delivering your orders"}]"#,
    )
    .expect("details");
    let asked = store
        .request_access(&client.id, details, 86_400)
        .expect("ask");
    let denied = store.deny_request(&asked.request.id).expect("deny");
    let jws = store
        .receipts_for_request(&denied.id)
        .expect("receipts")
        .remove(0)
        .jws;
    let claims = receipts::decode(&jws).expect("claims");
    let start = Instant::now();
    for _ in 0..RECEIPTS {
        let signed = store.sign_receipt_for_benchmarks(&claims).expect("sign");
        assert_eq!(signed.len(), jws.len());
    }
    let sign = start.elapsed() / RECEIPTS as u32;
    let start = Instant::now();
    for _ in 0..RECEIPTS {
        store.verify_receipt(&jws).expect("verify");
    }
    let verify = start.elapsed() / RECEIPTS as u32;
    (sign, verify, jws.len())
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let pass = SecretString::from("benchmark passphrase".to_string());

    // Unlock at the default work factor.
    let dir = tmp.path().join("vault");
    drop(Vault::create(&dir, &pass).expect("create"));
    let unlocks: Vec<Duration> = (0..UNLOCKS)
        .map(|_| {
            let start = Instant::now();
            drop(Vault::open(&dir, &pass).expect("open"));
            start.elapsed()
        })
        .collect();
    let unlock = median(unlocks.clone());

    // put/get, encrypted.
    let vault = Vault::open(&dir, &pass).expect("open");
    let enc = put_get(vault.store());
    let (sign, verify, receipt_bytes) = sign_verify(vault.store());
    drop(vault);

    // put/get, plain SQLite, same schema and settings.
    let plain_store =
        Store::open_plain_for_benchmarks(&tmp.path().join("plain.db")).expect("plain");
    let plain = put_get(&plain_store);

    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("| measure | encrypted (SQLCipher) | plain SQLite | encrypted / plain |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| unlock (scrypt work factor {}, median of {UNLOCKS}) | {:.0} ms (min {:.0}, max {:.0}) | – | – |",
        custodian_core::vault::keys::DEFAULT_WORK_FACTOR,
        unlock.as_secs_f64() * 1e3,
        unlocks.iter().min().map(|d| d.as_secs_f64() * 1e3).unwrap_or_default(),
        unlocks.iter().max().map(|d| d.as_secs_f64() * 1e3).unwrap_or_default(),
    );
    println!(
        "| put, {RESOURCES} × ~1 KiB JSON, one transaction each | {} per op | {} per op | {:.2}× |",
        per_op(enc.put),
        per_op(plain.put),
        ratio(enc.put, plain.put)
    );
    println!(
        "| get, {RESOURCES} × ~1 KiB JSON | {} per op | {} per op | {:.2}× |",
        per_op(enc.get),
        per_op(plain.get),
        ratio(enc.get, plain.get)
    );
    println!(
        "| consent receipt ({receipt_bytes} bytes), mean of {RECEIPTS}: sign (key read + EdDSA) | {:.1} µs | – | – |",
        sign.as_secs_f64() * 1e6
    );
    println!(
        "| consent receipt, mean of {RECEIPTS}: verify (signature, claims, log head in the chain) | {:.1} µs | – | – |",
        verify.as_secs_f64() * 1e6
    );
}
