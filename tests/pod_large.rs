//! A large file through the real `custodian serve`: a company granted
//! `/files/` through the device flow puts a generated 1 GiB file with one
//! `PUT`, reads it back with `GET` and a part of its middle with `Range`,
//! each compared by hash as it streams (never held whole here either); the
//! server's peak memory stays within 100 MB of its peak after a tiny
//! request. The vault (and so the stored file) lives in the test vault's
//! temporary directory, removed when the test ends, passing or not.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use custodian_core::sharing::request::Approval;
use custodian_e2e::company::{open, Company};
use custodian_e2e::{Server, TestVault};
use reqwest::blocking::{Body, Client};
use reqwest::header;
use serde_json::json;
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;
/// The file's size: 1 GiB and a bit, so its last chunk is a short one.
const SIZE: u64 = 1024 * MIB + 12_345;
/// What the server may grow by beyond a tiny request's peak.
const ALLOWANCE_KB: u64 = 100_000;

/// The file's bytes from `pos` to `end`, made as they are read: a random
/// MiB (from SHA-256 in counter mode) repeated, each copy starting with its
/// own number, so a piece out of place or shifted would not match.
struct Generated {
    base: Vec<u8>,
    pos: u64,
    end: u64,
}

impl Generated {
    fn new(pos: u64, end: u64) -> Self {
        let base = (0u32..(MIB / 32) as u32)
            .flat_map(|i| Sha256::digest(i.to_le_bytes()))
            .collect();
        Generated { base, pos, end }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let block = self.pos / MIB;
        let offset = (self.pos % MIB) as usize;
        let n = (buf.len() as u64)
            .min(self.end - self.pos)
            .min(MIB - offset as u64) as usize;
        buf[..n].copy_from_slice(&self.base[offset..offset + n]);
        let number = block.to_le_bytes();
        for (i, b) in buf[..n].iter_mut().enumerate() {
            match number.get(offset + i) {
                Some(d) => *b = *d,
                None => break,
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// SHA-256 and length of everything `reader` yields, a MiB at a time.
fn digest(mut reader: impl Read) -> (String, u64) {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; MIB as usize];
    let mut total = 0;
    loop {
        match reader.read(&mut buf).expect("read") {
            0 => return (hex::encode(hash.finalize()), total),
            n => {
                hash.update(&buf[..n]);
                total += n as u64;
            }
        }
    }
}

/// The server's peak resident memory so far (VmHWM), in kB.
fn peak_kb(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap()
}

#[test]
fn a_gib_goes_in_and_out_of_the_pod_api_in_flat_memory() {
    let v = TestVault::new();
    let server = Server::start(&v, &[]);
    let company = Company::new(&server, "Archive");
    let auth = company.ask(
        json!([{"type": "pod_access", "paths": ["/files/"], "actions": ["read", "write"],
                "purpose": "Keeping your scans"}]),
        3600,
    );
    open(&v)
        .store()
        .approve_request(auth.user_code().secret(), &Approval::default())
        .unwrap();
    let token = company.access_token(&auth);
    let url = |path: &str| format!("{}/pod{path}", server.base);
    let http = client();

    // A tiny request first: the peak every later one is measured against.
    let tiny = http
        .put(url("/files/tiny"))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "text/plain")
        .body("tiny")
        .send()
        .unwrap();
    assert_eq!(tiny.status(), 201);
    let got = http
        .get(url("/files/tiny"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(got.text().unwrap(), "tiny");
    let floor = peak_kb(&server);

    let started = Instant::now();
    let put = http
        .put(url("/files/scan.bin"))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::sized(Generated::new(0, SIZE), SIZE))
        .send()
        .unwrap();
    assert_eq!(put.status(), 201, "{:?}", put.text());
    eprintln!("PUT of {SIZE} bytes: {:?}", started.elapsed());

    let started = Instant::now();
    let got = http
        .get(url("/files/scan.bin"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.content_length(), Some(SIZE));
    let (sent, _) = digest(Generated::new(0, SIZE));
    let (back, len) = digest(got);
    assert_eq!(len, SIZE);
    assert_eq!(back, sent, "the file came back changed");
    eprintln!("GET and both hashes: {:?}", started.elapsed());

    // A part of the middle, across a chunk boundary.
    let (start, end) = (SIZE / 2 - 12_345, SIZE / 2 + 3 * MIB);
    let part = http
        .get(url("/files/scan.bin"))
        .bearer_auth(&token)
        .header(header::RANGE, format!("bytes={start}-{}", end - 1))
        .send()
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()[header::CONTENT_RANGE],
        format!("bytes {start}-{}/{SIZE}", end - 1).as_str()
    );
    assert_eq!(digest(part), digest(Generated::new(start, end)));

    let peak = peak_kb(&server);
    eprintln!("server peak: {floor} kB after a tiny request, {peak} kB after the GiB");
    assert!(
        peak <= floor + ALLOWANCE_KB,
        "the server grew from {floor} kB to {peak} kB"
    );
}
