//! Helpers for the fault tests (`tests/crash.rs`, `tests/damage.rs`,
//! `tests/concurrency.rs`): a seeded random source whose seed is printed, a
//! server that can be killed, and a look into a vault after the fact.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use custodian_core::audit::{Action, LogFilter, Outcome};
use custodian_core::{parse_path, SecretString, Vault};

use crate::{TestVault, PASSPHRASE};

/// A small seeded generator (SplitMix64): the fault tests choose their kill
/// moments with it, so a failure names a seed that replays the same choices.
pub struct Rng(u64);

impl Rng {
    /// The seed from `CUSTODIAN_FAULT_SEED`, else one from the clock; printed
    /// either way so a failing run can be replayed.
    pub fn from_env(test: &str) -> (Rng, u64) {
        let seed = std::env::var("CUSTODIAN_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{test}: seed {seed} (replay with CUSTODIAN_FAULT_SEED={seed})");
        (Rng(seed), seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A count from the environment (the long runs raise it), else `default`.
pub fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `custodian serve` on a free loopback port, to be killed with SIGKILL.
pub struct Killable {
    pub child: Child,
    pub base: String,
}

impl Killable {
    /// Starts the server and waits for its readiness line.
    pub fn serve(v: &TestVault) -> Killable {
        let mut child = v
            .cmd(&["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start custodian serve");
        let addr = crate::served_address(&mut child);
        Killable {
            child,
            base: format!("http://{addr}"),
        }
    }

    /// SIGKILL, and reap it.
    pub fn kill(self) {
        drop(self);
    }
}

impl Drop for Killable {
    /// A test that fails leaves no server behind (it would hold the test's
    /// output pipe open).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens a vault with the fixture passphrase, in this process.
pub fn open(dir: &Path) -> Vault {
    Vault::open(dir, &SecretString::from(PASSPHRASE.to_string()))
        .unwrap_or_else(|e| panic!("the vault at {} does not open: {e}", dir.display()))
}

/// Each acknowledged write (path → content) must read back exactly; `maybe`
/// is the one write that was in flight when the writer died, which may or
/// may not have landed. Returns the first difference.
pub fn missing_writes(
    vault: &Vault,
    acked: &BTreeMap<String, String>,
    maybe: &BTreeMap<String, String>,
) -> Option<String> {
    for (path, content) in acked {
        let parsed = parse_path(path).expect("a test path");
        match vault.store().get(&parsed, None) {
            Ok(r) if r.content == content.as_bytes() => {}
            Ok(r) if maybe.get(path).map(String::as_bytes) == Some(&r.content[..]) => {}
            Ok(r) => {
                return Some(format!(
                    "{path}: acknowledged {content:?}, found {:?}",
                    String::from_utf8_lossy(&r.content)
                ))
            }
            Err(e) => return Some(format!("{path}: acknowledged {content:?}, found {e}")),
        }
    }
    None
}

/// `custodian log verify` through the real binary: the chain is whole.
pub fn log_verifies(v: &TestVault) -> Result<(), String> {
    let out = v
        .cmd(&["log", "verify", "--json"])
        .output()
        .expect("run custodian");
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "log verify failed ({}): {}{text}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let report: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("log verify --json: {e}: {text}"))?;
    if !report["first_broken"].is_null() {
        return Err(format!("the log's chain breaks: {text}"));
    }
    Ok(())
}

/// The paths of every allowed API write in the log.
pub fn logged_writes(vault: &Vault) -> std::collections::BTreeSet<String> {
    vault
        .store()
        .audit_log(&LogFilter::default())
        .expect("read the log")
        .into_iter()
        .filter(|e| e.action == Action::Write && e.outcome == Outcome::Allowed)
        .filter_map(|e| e.path)
        .collect()
}

/// The same command, started by bash under `ulimit -f` (RLIMIT_FSIZE) with
/// SIGXFSZ ignored: a write that would grow any file past `limit_bytes`
/// fails with EFBIG ("File too large"), as a write to a full disk fails with
/// ENOSPC. That is how the tests fill "the disk" without root or a mount.
pub fn under_file_size_limit(cmd: &Command, limit_bytes: u64) -> Command {
    // bash counts `ulimit -f` in 1024-byte blocks (dash in 512: not used).
    let mut sh = Command::new("bash");
    sh.arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {}; exec \"$0\" \"$@\"",
            limit_bytes.div_ceil(1024)
        ))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, val) in cmd.get_envs() {
        match val {
            Some(val) => sh.env(k, val),
            None => sh.env_remove(k),
        };
    }
    sh.stdin(Stdio::null());
    sh
}
