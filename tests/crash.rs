//! Crash safety: processes writing to the vault are killed with SIGKILL at
//! random moments, and after each kill the vault must open, hold every write
//! that was acknowledged before the kill, and keep a whole access log.
//!
//! A bounded number of kills runs in `make test`; `make crash` runs the long
//! version (`CUSTODIAN_CRASH_KILLS` and friends). Each test prints its seed;
//! `CUSTODIAN_FAULT_SEED=N` replays the same kill moments.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use custodian_core::sharing::request::Approval;
use custodian_core::{parse_path, NewResource, SecretString, Vault};
use custodian_e2e::company::{http, Company};
use custodian_e2e::faults::{
    count, log_verifies, logged_writes, missing_writes, open, Killable, Rng,
};
use custodian_e2e::{TestVault, PASSPHRASE};
use serde_json::json;

/// What one writer acknowledged, and the write it had sent when it died.
#[derive(Default)]
struct Acks {
    acked: Vec<(String, String)>,
    in_flight: Option<(String, String)>,
}

/// A company with a write grant on `/crash/`, and its token.
fn writing_company(v: &TestVault) -> String {
    let server = Killable::serve(v);
    let company = Company::at(&server.base, "Crash Writer");
    let auth = company.ask(
        json!([{"type": "pod_access", "paths": ["/crash/"], "actions": ["read", "write"],
                "purpose": "Writing until it is killed"}]),
        86_400,
    );
    open(&v.dir)
        .store()
        .approve_request(auth.user_code().secret(), &Approval::default())
        .expect("approve");
    let token = company.access_token(&auth);
    server.kill();
    token
}

/// PUTs one write after another until the server stops answering. A write
/// counts as acknowledged once its 2xx status has arrived.
fn write_until_killed(base: &str, token: &str, round: usize, acks: Arc<Mutex<Acks>>) {
    let client = http();
    for n in 0.. {
        // Two new resources, then a new version of one that keeps changing.
        let path = if n % 3 == 2 {
            "/crash/hot".to_string()
        } else {
            format!("/crash/s{round}-{n}")
        };
        let content = json!({"round": round, "n": n}).to_string();
        acks.lock().unwrap().in_flight = Some((path.clone(), content.clone()));
        let sent = client
            .put(format!("{base}/pod{path}"))
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body(content.clone())
            .send();
        match sent {
            Ok(r) if r.status().is_success() => {
                let mut a = acks.lock().unwrap();
                a.acked.push((path, content));
                a.in_flight = None;
            }
            Ok(r) => panic!("PUT {path}: unexpected {}", r.status()),
            Err(_) => return,
        }
    }
}

/// One round: the server writes under a company's requests and is killed
/// `delay` after it said it was ready.
fn kill_the_server(v: &TestVault, token: &str, round: usize, delay: Duration) -> Acks {
    let server = Killable::serve(v);
    let acks = Arc::new(Mutex::new(Acks::default()));
    let writer = {
        let (base, token, acks) = (server.base.clone(), token.to_string(), acks.clone());
        std::thread::spawn(move || write_until_killed(&base, &token, round, acks))
    };
    // The random moment of the kill is the point of this wait.
    std::thread::sleep(delay);
    server.kill();
    writer.join().expect("writer thread");
    Arc::try_unwrap(acks)
        .ok()
        .expect("writer done")
        .into_inner()
        .unwrap()
}

/// One round: `custodian put` is killed `delay` after it started; it counts
/// as acknowledged if it had already printed "Saved" and exited 0.
fn kill_a_cli_put(v: &TestVault, round: usize, delay: Duration) -> Acks {
    let path = format!("/crash/c{round}");
    let content = json!({"cli": round}).to_string();
    let mut child = v
        .cmd(&["put", &path, "--json", &content])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn custodian put");
    std::thread::sleep(delay);
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait");
    let mut acks = Acks::default();
    if out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("Saved") {
        acks.acked.push((path, content));
    } else {
        acks.in_flight = Some((path, content));
    }
    acks
}

#[test]
fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let kills = count("CUSTODIAN_CRASH_KILLS", 60);
    let (mut rng, seed) = Rng::from_env("crash");
    let v = TestVault::new();
    let token = writing_company(&v);
    let mut acked: BTreeMap<String, String> = BTreeMap::new();
    let mut api_acked = std::collections::BTreeSet::new();
    let (mut api_writes, mut cli_writes, mut cli_killed) = (0usize, 0usize, 0usize);
    // How long one `custodian put` lives: its kills land anywhere in that
    // span and a little after.
    let started = Instant::now();
    v.ok(&["put", "/crash/first", "--json", "0"]);
    let put_span = started.elapsed();
    acked.insert("/crash/first".into(), "0".into());
    for round in 0..kills {
        let by_cli = rng.below(4) == 0;
        let acks = if by_cli {
            let delay = put_span.mul_f64(rng.below(1_200) as f64 / 1_000.0);
            kill_a_cli_put(&v, round, delay)
        } else {
            kill_the_server(&v, &token, round, Duration::from_micros(rng.below(60_000)))
        };
        let fail = |what: String| -> ! {
            panic!("round {round} of {kills} (seed {seed}, replay with CUSTODIAN_FAULT_SEED={seed}): {what}")
        };
        if by_cli {
            cli_writes += acks.acked.len();
            cli_killed += usize::from(acks.in_flight.is_some());
        } else {
            api_writes += acks.acked.len();
            api_acked.extend(acks.acked.iter().map(|(p, _)| p.clone()));
        }
        let mut this_round: BTreeMap<String, String> = acks.acked.into_iter().collect();
        let maybe: BTreeMap<String, String> = acks.in_flight.into_iter().collect();
        // A write in flight that did land is now the content to keep.
        let vault = Vault::open(&v.dir, &SecretString::from(PASSPHRASE.to_string()))
            .unwrap_or_else(|e| fail(format!("the vault does not open after the kill: {e}")));
        for (path, content) in &maybe {
            let landed = vault
                .store()
                .get(&parse_path(path).unwrap(), None)
                .map(|r| r.content == content.as_bytes())
                .unwrap_or(false);
            if landed {
                this_round.insert(path.clone(), content.clone());
            }
        }
        acked.extend(this_round.clone());
        // Every round checks its own writes (and /crash/hot); every 20th
        // round and the last check everything acknowledged so far.
        let full = round % 20 == 19 || round + 1 == kills;
        let to_check = if full { &acked } else { &this_round };
        if let Some(lost) = missing_writes(&vault, to_check, &maybe) {
            fail(format!("an acknowledged write is lost: {lost}"));
        }
        if full {
            let logged = logged_writes(&vault);
            if let Some(p) = api_acked.iter().find(|p| !logged.contains(*p)) {
                fail(format!("the write to {p} was acknowledged but not logged"));
            }
            let problems = vault.store().integrity_check().expect("integrity check");
            if !problems.is_empty() {
                fail(format!("integrity check: {problems:?}"));
            }
        }
        drop(vault);
        if let Err(e) = log_verifies(&v) {
            fail(e);
        }
    }
    eprintln!(
        "crash: {kills} kills in {:.1} s: {api_writes} API writes and {cli_writes} CLI puts acknowledged, \
         {cli_killed} CLI puts killed before their answer (a put lives {put_span:?}), {} resources checked, none lost (seed {seed})",
        started.elapsed().as_secs_f64(),
        acked.len()
    );
    assert!(
        api_writes > 0,
        "the server never acknowledged a write: the kills came too early to test anything"
    );
}

/// The two passphrases `passwd` alternates between.
const PASSPHRASES: [&str; 2] = [PASSPHRASE, "a second passphrase, quite long"];

fn passwd_cmd(v: &TestVault, from: usize) -> std::process::Command {
    let mut cmd = v.cmd(&["passwd"]);
    cmd.env("CUSTODIAN_PASSPHRASE", PASSPHRASES[from])
        .env("CUSTODIAN_NEW_PASSPHRASE", PASSPHRASES[1 - from])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn opens_with(dir: &Path, i: usize) -> Result<Vault, custodian_core::Error> {
    Vault::open(dir, &SecretString::from(PASSPHRASES[i].to_string()))
}

#[test]
fn passwd_killed_at_any_moment_leaves_the_old_or_the_new_passphrase() {
    let kills = count("CUSTODIAN_CRASH_PASSWD_KILLS", 4);
    let (mut rng, seed) = Rng::from_env("crash-passwd");
    let v = TestVault::new();
    open(&v.dir)
        .store()
        .put(
            &parse_path("/contact/email").unwrap(),
            NewResource::json(&json!("ada@example.org")),
        )
        .unwrap();
    // One whole run, to learn how long the span to kill in is.
    let started = Instant::now();
    let out = passwd_cmd(&v, 0).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let span = started.elapsed();
    let mut current = 1;
    let (mut old_kept, mut new_taken) = (0, 0);
    for round in 0..kills {
        let mut child = passwd_cmd(&v, current).spawn().unwrap();
        let delay = span.mul_f64(rng.below(1_200) as f64 / 1_000.0);
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let vault = match opens_with(&v.dir, current) {
            Ok(vault) => {
                old_kept += 1;
                vault
            }
            Err(old) => match opens_with(&v.dir, 1 - current) {
                Ok(vault) => {
                    new_taken += 1;
                    current = 1 - current;
                    vault
                }
                Err(new) => panic!(
                    "round {round} (seed {seed}): killed after {delay:?}, neither passphrase opens the vault: old: {old}; new: {new}"
                ),
            },
        };
        let email = vault
            .store()
            .get(&parse_path("/contact/email").unwrap(), None)
            .unwrap_or_else(|e| panic!("round {round} (seed {seed}): {e}"));
        assert_eq!(email.content, b"\"ada@example.org\"");
    }
    eprintln!(
        "crash-passwd: {kills} kills over a {span:?} passwd: the old passphrase kept {old_kept} times, the new one taken {new_taken} times, never neither (seed {seed})"
    );
}

#[test]
fn import_killed_at_any_moment_leaves_no_half_vault() {
    let kills = count("CUSTODIAN_CRASH_IMPORT_KILLS", 4);
    let (mut rng, seed) = Rng::from_env("crash-import");
    let source = TestVault::new();
    let mut expected = BTreeMap::new();
    {
        let vault = open(&source.dir);
        for i in 0..200 {
            let path = format!("/notes/n{i}");
            let doc = json!({"note": i, "text": "x".repeat(i * 10)});
            vault
                .store()
                .put(&parse_path(&path).unwrap(), NewResource::json(&doc))
                .unwrap();
            expected.insert(path, doc.to_string());
        }
    }
    let (identity, recipient) = custodian_e2e::age_keygen(source.home());
    let bundle = source.home().join("all.custodian.age");
    source.ok(&[
        "export",
        "--recipient",
        &recipient,
        "--out",
        bundle.to_str().unwrap(),
        "--quiet",
    ]);
    let import = |target: &Path| {
        let mut cmd = custodian_e2e::custodian(source.home());
        cmd.arg("--vault")
            .arg(target)
            .args(["import", "--quiet", "--identity-file"])
            .arg(&identity)
            .arg(&bundle)
            .env("CUSTODIAN_NEW_PASSPHRASE", PASSPHRASE)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    };
    let places = source.home().join("restored");
    std::fs::create_dir(&places).unwrap();
    let started = Instant::now();
    let out = import(&places.join("whole")).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let span = started.elapsed();
    let (mut nothing, mut whole) = (0, 0);
    for round in 0..kills {
        let target = places.join(format!("r{round}"));
        let mut child = import(&target).spawn().unwrap();
        let delay = span.mul_f64(rng.below(1_200) as f64 / 1_000.0);
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let fail = |what: String| -> ! {
            panic!("round {round} (seed {seed}), killed after {delay:?}: {what}")
        };
        if !target.exists() {
            nothing += 1;
            continue;
        }
        let vault = Vault::open(&target, &SecretString::from(PASSPHRASE.to_string()))
            .unwrap_or_else(|e| fail(format!("a half vault at {}: {e}", target.display())));
        if let Some(lost) = missing_writes(&vault, &expected, &BTreeMap::new()) {
            fail(format!("the restored vault lacks {lost}"));
        }
        let chain = vault.store().verify_audit_log().unwrap();
        if chain.first_broken.is_some() {
            fail(format!("the restored log breaks: {chain:?}"));
        }
        whole += 1;
    }
    // A kill leaves its staging directory (`.custodian-init-…`, encrypted,
    // beside the target): count them for the record, they are not vaults.
    let staging = std::fs::read_dir(&places)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".custodian-init-")
        })
        .count();
    eprintln!(
        "crash-import: {kills} kills over a {span:?} import: {nothing} left nothing at the target, {whole} a whole vault, never a half one; {staging} staging directories left beside it (seed {seed})"
    );
}
