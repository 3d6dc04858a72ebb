//! The harness for end-to-end tests: find the real binaries, make vaults,
//! run commands, and snapshot vault directories.

pub mod app;
pub mod company;
pub mod faults;
pub mod linked;
pub mod screens;
pub mod shop;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

use custodian_core::{SecretString, Vault};
use sha2::{Digest, Sha256};

/// The passphrase of every fixture vault.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A low scrypt work factor for fixture vaults (the default costs ~1 s per
/// unlock). Only creation is cheapened; the binary opens them as any vault.
pub const FAST_WORK_FACTOR: u8 = 10;

/// The directory holding the workspace's built binaries (`target/debug`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> → target/debug
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// The path of a workspace binary, which must have been built first
/// (`make test` runs `cargo build --workspace --bins` before the tests).
pub fn bin(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build -p {}`",
        path.display(),
        if name == "custodian-desktop" {
            name
        } else {
            "custodian"
        }
    );
    path
}

/// A `custodian` command with a clean environment: no inherited vault or
/// passphrase, logs off, a private HOME/XDG dir.
pub fn custodian(home: &Path) -> Command {
    let mut cmd = Command::new(bin("custodian"));
    for var in [
        "CUSTODIAN_VAULT",
        "CUSTODIAN_PASSPHRASE",
        "CUSTODIAN_NEW_PASSPHRASE",
        "CUSTODIAN_BUNDLE_PASSPHRASE",
        "CUSTODIAN_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::null());
    cmd
}

/// A test vault in a temporary directory.
pub struct TestVault {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    /// The recovery key shown at creation.
    pub recovery_key: String,
}

impl TestVault {
    /// A fresh vault (fast KDF) with the default preferences.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("vault");
        let created = Vault::create_with_work_factor(
            &dir,
            &SecretString::from(PASSPHRASE.to_string()),
            FAST_WORK_FACTOR,
        )
        .expect("create fixture vault");
        let recovery_key =
            custodian_core::ExposeSecret::expose_secret(&created.recovery_key.expose()).to_string();
        TestVault {
            tmp,
            dir,
            recovery_key,
        }
    }

    /// A place for files that are not part of the vault.
    pub fn home(&self) -> &Path {
        self.tmp.path()
    }

    /// `custodian --vault DIR ARGS…` with the right passphrase in the environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = custodian(self.home());
        cmd.arg("--vault")
            .arg(&self.dir)
            .args(args)
            .env("CUSTODIAN_PASSPHRASE", PASSPHRASE);
        cmd
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        run_ok(self.cmd(args))
    }

    /// Runs a command with `stdin` as its input.
    pub fn ok_with_stdin(&self, args: &[&str], stdin: &[u8]) -> String {
        let mut cmd = self.cmd(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait");
        assert_success(&out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every file in the vault directory (and the directory itself) with its
    /// bytes and modification time.
    pub fn snapshot(&self) -> Snapshot {
        snapshot(&self.dir)
    }

    /// As [`TestVault::snapshot`] without the directory's own mtime, which
    /// moves whenever the database is opened (its -wal/-shm files come and
    /// go): for failures that happen after a successful unlock.
    pub fn snapshot_files(&self) -> Snapshot {
        let mut s = snapshot(&self.dir);
        s.remove(".");
        s
    }
}

impl Default for TestVault {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().expect("run custodian");
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail; returns (exit code, stderr).
pub fn run_fail(mut cmd: Command) -> (i32, String) {
    let out = cmd.output().expect("run custodian");
    assert!(
        !out.status.success(),
        "expected failure, got success; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "command failed ({}): stderr: {}\nstdout: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Files (by name) → (size and SHA-256 of the bytes, modification time),
/// plus the directory's own modification time under the name ".".
pub type Snapshot = BTreeMap<String, (String, SystemTime)>;

/// Snapshots a directory, one level deep (vaults are flat).
pub fn snapshot(dir: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    let dir_meta = std::fs::metadata(dir).expect("vault dir");
    out.insert(
        ".".to_string(),
        (String::new(), dir_meta.modified().expect("mtime")),
    );
    for entry in std::fs::read_dir(dir).expect("read vault dir") {
        let entry = entry.expect("entry");
        let meta = entry.metadata().expect("metadata");
        let bytes = if meta.is_file() {
            std::fs::read(entry.path()).expect("read")
        } else {
            Vec::new()
        };
        let digest = format!(
            "{} bytes, sha256 {}",
            bytes.len(),
            hex::encode(Sha256::digest(&bytes))
        );
        out.insert(
            entry.file_name().to_string_lossy().into_owned(),
            (digest, meta.modified().expect("mtime")),
        );
    }
    out
}

/// A running `custodian serve` on a free loopback port.
pub struct Server {
    child: std::process::Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

/// An age identity made by the real `age-keygen` in `dir`: (identity file,
/// its recipient `age1…`).
pub fn age_keygen(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("key.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .expect("age-keygen (Debian package `age`)");
    assert!(out.status.success());
    let recipient = Command::new("age-keygen")
        .arg("-y")
        .arg(&key)
        .output()
        .expect("age-keygen -y");
    let recipient = String::from_utf8(recipient.stdout).expect("a recipient");
    (key, recipient.trim().to_string())
}

/// Waits for `custodian serve`'s readiness line on the child's piped
/// stdout and returns the address it names (`127.0.0.1:PORT`); stdout is
/// then drained in the background so the server never blocks on it.
pub fn served_address(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let first = lines
        .next()
        .expect("a readiness line")
        .expect("read stdout");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the address in the readiness line")
        .to_string();
    std::thread::spawn(move || for _ in lines {});
    addr
}

impl Server {
    /// Starts the real binary and waits for its readiness line (no sleeps).
    pub fn start(vault: &TestVault, extra: &[&str]) -> Server {
        let mut cmd = vault.cmd(&["serve", "--bind", "127.0.0.1:0"]);
        cmd.args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start custodian serve");
        let addr = served_address(&mut child);
        Server {
            child,
            base: format!("http://{addr}"),
            addr,
        }
    }

    /// The server process's id (to read its memory from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits; returns whether it exited successfully.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let ok = self.child.wait().map(|s| s.success()).unwrap_or(false);
        std::mem::forget(self);
        ok
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes the files and folders it names however a test ends (large
/// generated files must not stay on a shared disk).
pub struct Cleanup(pub Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_dir_all(path);
        }
    }
}
