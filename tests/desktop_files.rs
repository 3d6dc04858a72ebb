//! Large files in and out of the desktop app: a ~300 MiB file imported by
//! path (the typed-path fallback of "Import a file…", since WebDriver
//! cannot drive the native dialogs) and saved back with "Save a copy"'s
//! typed path, byte-exact (SHA-256 of both files, streamed). The bytes go
//! between disk and vault in the app; the window only sees progress.
//!
//! Needs Xvfb, WebKitWebDriver and tauri-driver, as `desktop` does.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use custodian_e2e::app::{Desktop, Launch};
use custodian_e2e::screens::{cli_vault_with_email, open_section, scratch_home};
use custodian_e2e::PASSPHRASE;
use sha2::{Digest, Sha256};

const SIZE: u64 = 300 << 20;

/// Writes `size` bytes of a pseudo-random stream (xorshift: no chunk is
/// like another, so nothing is shared or compressed away).
fn generate(path: &Path, size: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = [0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    out.flush().unwrap();
}

/// A file's SHA-256, read a buffer at a time.
fn sha256_of(path: &Path) -> Vec<u8> {
    let mut file = File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher.finalize().to_vec()
}

/// Like `Desktop::wait_until`, for work that takes longer than its
/// deadline on a slow machine (hundreds of MiB through a debug build).
fn wait_long<T>(app: &Desktop, what: &str, mut probe: impl FnMut(&Desktop) -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe(app) {
            return v;
        }
        if let Some(alert) = app
            .texts("[role=alert]")
            .into_iter()
            .find(|t| !t.is_empty())
        {
            panic!("waiting for {what}, the window says: {alert}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_large_file_goes_in_and_out_by_path_byte_exact() {
    let (tmp, home) = scratch_home();
    let vault = tmp.path().join("vault");
    cli_vault_with_email(&home, &vault);
    let source = tmp.path().join("big scan.bin");
    generate(&source, SIZE);
    let copy = tmp.path().join("copy.bin");

    let app = Desktop::launch(Launch {
        vault: &vault,
        home: &home,
    });
    app.type_into("#unlock-passphrase", PASSPHRASE);
    app.click("[data-testid=unlock]");
    app.wait_for("[data-testid=nav-data]");
    open_section(&app, "data", "data");

    app.click("[data-testid=import-file-open]");
    app.type_into("[data-testid=file-source]", source.to_str().unwrap());
    assert_eq!(
        app.value("#file-path"),
        "/documents/big scan.bin",
        "the resource path is suggested from the file name"
    );
    app.click("[data-testid=import-file]");
    // Once stored, the new resource opens: too large to show, offered as a copy.
    let shown = wait_long(&app, "the imported file to open", |d| {
        d.exists("[data-testid=no-preview]")
            .then(|| d.text("[data-testid=no-preview]"))
    });
    assert!(shown.contains("Too large to show"), "{shown}");
    assert!(shown.contains("300 MiB"), "{shown}");

    app.type_into("[data-testid=save-target]", copy.to_str().unwrap());
    app.click("[data-testid=save-typed]");
    wait_long(&app, "the copy to be saved", |d| {
        d.exists("[data-testid=saved-to]").then_some(())
    });
    app.quit();

    assert_eq!(std::fs::metadata(&copy).unwrap().len(), SIZE);
    assert!(
        sha256_of(&copy) == sha256_of(&source),
        "the saved copy is the imported file, byte for byte"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left");
}
