//! Large content through the real `custodian` binary: a multi-GiB file in
//! with `put --file` and out with `get --output`, byte for byte, in flat
//! memory (each command's peak measured by `/usr/bin/time`, against the same
//! command on a 1-byte resource), the write-ahead log cut back after the
//! write; a write that fails midway (the vault's files capped with
//! `prlimit --fsize`, as a full disk would) leaves the vault as it was; a
//! file over the maximum is refused before any write or prompt.
//!
//! `CUSTODIAN_TEST_LARGE_GIB` sets the large file's size (default 3). Its
//! files are removed at the end, also when the test fails.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use custodian_e2e::{custodian, run_fail, Cleanup, TestVault, PASSPHRASE};
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The most a command may use above the same command on a 1-byte
/// resource (the unlock's scrypt alone peaks at 256 MiB).
const MEMORY_ALLOWANCE_KIB: u64 = 100 * 1000;

/// The write-ahead log after a large write: cut back to nothing by the
/// checkpoint, and never more than `journal_size_limit` (64 MiB).
const WAL_BOUND: u64 = 64 * MIB;

/// A sparse file of `len` bytes with a few marks written into it, so it
/// is not all zeros (and a misplaced chunk shows).
fn sparse_file(path: &Path, len: u64) {
    let mut f = File::create(path).expect("create");
    f.set_len(len).expect("set_len");
    let mut at = 0;
    let mut n = 0u64;
    while at < len {
        f.seek(SeekFrom::Start(at)).expect("seek");
        let mark = format!("mark {n} at {at};");
        let room = (len - at).min(mark.len() as u64) as usize;
        f.write_all(&mark.as_bytes()[..room]).expect("write");
        n += 1;
        // Marks at uneven places, across chunk boundaries.
        at += 97 * MIB + 12_345 + n * 1_000;
    }
    f.seek(SeekFrom::Start(len - 1)).expect("seek");
    f.write_all(b"!").expect("write");
}

/// SHA-256 of a file, read a piece at a time.
fn file_hash(path: &Path) -> String {
    let mut f = File::open(path).expect("open");
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

/// Runs `custodian ARGS` under `/usr/bin/time`; returns its peak resident
/// memory in KiB. The command must succeed.
fn peak_kib(v: &TestVault, args: &[&str]) -> u64 {
    let report = v.home().join("time.txt");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(custodian_e2e::bin("custodian"))
        .arg("--vault")
        .arg(&v.dir)
        .args(args)
        .env("HOME", v.home())
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE)
        .env_remove("CUSTODIAN_LOG")
        .stdin(Stdio::null());
    let out = cmd.output().expect("run /usr/bin/time");
    assert!(
        out.status.success(),
        "custodian {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&report).expect("time report");
    text.lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in {text:?}"))
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn a_multi_gib_file_goes_in_and_out_byte_exact_in_flat_memory() {
    let gib: u64 = std::env::var("CUSTODIAN_TEST_LARGE_GIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let v = TestVault::new();
    let big = v.home().join("big.bin");
    let back = v.home().join("out").join("big.bin");
    let tiny = v.home().join("tiny.bin");
    let tiny_back = v.home().join("out").join("tiny.bin");
    let _cleanup = Cleanup(vec![big.clone(), back.clone(), v.dir.clone()]);
    fs::create_dir(v.home().join("out")).expect("out dir");
    fs::write(&tiny, b"x").expect("tiny");
    sparse_file(&big, gib * GIB + 12_345);

    // The same commands on a 1-byte resource: the floor (unlock included).
    let put_floor = peak_kib(
        &v,
        &["put", "/files/tiny", "--file", tiny.to_str().unwrap()],
    );
    let get_floor = peak_kib(
        &v,
        &[
            "get",
            "/files/tiny",
            "--output",
            tiny_back.to_str().unwrap(),
        ],
    );
    assert_eq!(fs::read(&tiny_back).unwrap(), b"x");

    let put_peak = peak_kib(&v, &["put", "/files/big", "--file", big.to_str().unwrap()]);
    let wal = file_len(&v.dir.join("vault.db-wal"));
    println!(
        "{gib} GiB put: peak {put_peak} KiB (1 byte: {put_floor} KiB); WAL after: {wal} bytes; vault.db {} bytes",
        file_len(&v.dir.join("vault.db"))
    );
    assert!(
        put_peak <= put_floor + MEMORY_ALLOWANCE_KIB,
        "put of {gib} GiB peaked at {put_peak} KiB, the 1-byte put at {put_floor} KiB"
    );
    assert!(wal <= WAL_BOUND, "the WAL kept {wal} bytes after the write");

    let get_peak = peak_kib(
        &v,
        &["get", "/files/big", "--output", back.to_str().unwrap()],
    );
    println!("{gib} GiB get --output: peak {get_peak} KiB (1 byte: {get_floor} KiB)");
    assert!(
        get_peak <= get_floor + MEMORY_ALLOWANCE_KIB,
        "get of {gib} GiB peaked at {get_peak} KiB, the 1-byte get at {get_floor} KiB"
    );
    assert_eq!(file_len(&back), file_len(&big));
    assert_eq!(
        file_hash(&back),
        file_hash(&big),
        "the bytes came back different"
    );
    // No partial file was left beside it.
    let names: Vec<String> = fs::read_dir(v.home().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// The vault as a person sees it: its listing, a resource's history, and
/// whether its log verifies.
fn seen(v: &TestVault) -> (String, String, String) {
    (
        v.ok(&["ls", "/files/"]),
        v.ok(&["history", "/files/keep"]),
        v.ok(&["log", "verify"]),
    )
}

#[test]
fn a_write_failing_midway_leaves_the_vault_as_it_was() {
    let v = TestVault::new();
    let big = v.home().join("big.bin");
    let _cleanup = Cleanup(vec![big.clone()]);
    v.ok_with_stdin(&["put", "/files/keep", "-"], b"kept");
    let before = seen(&v);
    let db = v.dir.join("vault.db");
    // Far past what the vault's files may grow to: several batches in.
    sparse_file(&big, 400 * MIB);
    let cap = file_len(&db) + 150 * MIB;

    // Every file the command writes is capped, as a full disk would stop
    // it; SIGXFSZ is ignored, so the write fails with EFBIG instead.
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--fsize={cap}"))
        .arg("sh")
        .arg("-c")
        .arg("trap '' XFSZ; exec \"$@\"")
        .arg("sh")
        .arg(custodian_e2e::bin("custodian"))
        .arg("--vault")
        .arg(&v.dir)
        .args(["put", "/files/big", "--file"])
        .arg(&big)
        .env("HOME", v.home())
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE)
        .env_remove("CUSTODIAN_LOG")
        .stdin(Stdio::null());
    let (code, stderr) = run_fail(cmd);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("could not be written") && stderr.contains("the change was not made"),
        "{stderr}"
    );
    assert!(file_len(&db) <= cap);

    assert_eq!(seen(&v), before, "the vault changed");
    let vault = custodian_e2e::faults::open(&v.dir);
    assert!(vault.store().integrity_check().unwrap().is_empty());
    // Nothing of the write is complete. What it staged stays when even
    // removing it cannot be written (the files are at their cap): it is
    // invisible, and swept once untouched for an hour.
    let count =
        |vault: &custodian_core::Vault, sql: &str| vault.store().count_for_tests(sql).unwrap();
    assert_eq!(
        count(
            &vault,
            "SELECT count(*) FROM blobs WHERE state <> 'staging'"
        ),
        0
    );
    drop(vault);
    let mut vault = custodian_e2e::faults::open(&v.dir);
    let later = custodian_core::clock::ManualClock::new(chrono::Utc::now());
    later.advance(chrono::Duration::minutes(61));
    vault.store_mut().set_clock(std::sync::Arc::new(later));
    vault.store().sweep_staging().unwrap();
    for table in ["blobs", "blob_chunks"] {
        let rows = count(&vault, &format!("SELECT count(*) FROM {table}"));
        assert_eq!(rows, 0, "{table} kept rows of the failed write");
    }
    assert_eq!(seen(&v), before, "the sweep changed what is seen");
    // And the next write goes in.
    drop(vault);
    let small = v.home().join("small.bin");
    fs::write(&small, vec![7u8; 300 * 1024]).unwrap();
    v.ok(&["put", "/files/big", "--file", small.to_str().unwrap()]);
    assert_eq!(v.ok(&["get", "/files/big"]).len(), 300 * 1024);
}

#[test]
fn a_file_over_the_maximum_is_refused_before_any_write_or_prompt() {
    let v = TestVault::new();
    let huge = v.home().join("huge.bin");
    let _cleanup = Cleanup(vec![huge.clone()]);
    File::create(&huge)
        .unwrap()
        .set_len(custodian_core::MAX_CONTENT + 1)
        .unwrap();
    let before = v.snapshot();
    // No passphrase anywhere: asking for it would fail differently.
    let mut cmd = custodian(v.home());
    cmd.arg("--vault")
        .arg(&v.dir)
        .args(["put", "/files/huge", "--file"])
        .arg(&huge);
    let (code, stderr) = run_fail(cmd);
    assert_eq!(code, 6, "{stderr}");
    assert_eq!(
        stderr.trim(),
        "custodian: /files/huge is too large (17179869185 bytes): the vault keeps content up to 16 GiB; nothing was stored"
    );
    assert_eq!(v.snapshot(), before, "the vault was touched");
}

#[test]
fn large_content_is_refused_as_json_and_written_whole_or_not_at_all() {
    let v = TestVault::new();
    let file = v.home().join("scan.pdf");
    fs::write(&file, vec![b'%'; 300 * 1024]).unwrap();
    v.ok(&["put", "/documents/scan", "--file", file.to_str().unwrap()]);
    let (code, stderr) = run_fail(v.cmd(&["get", "/documents/scan", "--json"]));
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains("too large to print as JSON")
            && stderr.contains("custodian get /documents/scan --output FILE"),
        "{stderr}"
    );
    // A folder that does not exist is named before the passphrase is asked.
    let mut cmd = custodian(v.home());
    cmd.arg("--vault")
        .arg(&v.dir)
        .args(["get", "/documents/scan", "-o"])
        .arg(v.home().join("nowhere").join("scan.pdf"));
    let (code, stderr) = run_fail(cmd);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("its folder does not exist"), "{stderr}");
    // Large content without --type is bytes, unless the name says JSON.
    let listed = v.ok(&["ls", "/documents/"]);
    assert!(listed.contains("application/octet-stream"), "{listed}");
    let json = v.home().join("list.json");
    let mut doc = b"[".to_vec();
    while doc.len() < 300 * 1024 {
        doc.extend_from_slice(b"1234567, ");
    }
    doc.extend_from_slice(b"0]");
    fs::write(&json, &doc).unwrap();
    v.ok(&["put", "/documents/list", "--file", json.to_str().unwrap()]);
    let listed = v.ok(&["ls", "/documents/"]);
    assert!(listed.contains("application/json"), "{listed}");
    // Damage found midway leaves no file under the name asked for.
    let vault = custodian_e2e::faults::open(&v.dir);
    vault
        .store()
        .execute_for_tests("UPDATE blob_chunks SET data = randomblob(length(data))")
        .unwrap();
    drop(vault);
    let out = v.home().join("out.pdf");
    let (code, stderr) = run_fail(v.cmd(&["get", "/documents/scan", "-o", out.to_str().unwrap()]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("reads back different"), "{stderr}");
    let left: Vec<_> = fs::read_dir(v.home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("out.pdf"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
