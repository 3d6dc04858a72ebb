//! The example company in another language (`examples/company`, Node.js
//! with panva's `jose`), met by the real `custodian` binary over HTTPS: it
//! serves its metadata and a signed request object, verifies every
//! delivery with its own JOSE library before answering 2xx, and publishes
//! an order receipt to its feed once granted. The certificate authority is
//! made here; `shop.test` reaches the company through the test resolver.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use custodian_e2e::shop::issue;
use custodian_e2e::{run_ok, TestVault};
use serde_json::{json, Value};

/// How long the company may take to start, and a step to take effect.
const DEADLINE: Duration = Duration::from_secs(30);

fn example_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/company")
}

/// The Node company, stopped when dropped.
struct Company {
    child: Child,
    origin: String,
    link: String,
    ca_path: std::path::PathBuf,
    port: u16,
    /// Lines it prints after start-up.
    lines: mpsc::Receiver<String>,
}

impl Drop for Company {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Company {
    fn start(dir: &std::path::Path) -> Company {
        let modules = example_dir().join("node_modules");
        assert!(
            modules.is_dir(),
            "{} is missing: run `make setup` (deps-example installs the example company's packages)",
            modules.display()
        );
        let issued = issue(&["shop.test".to_string()]);
        let (ca_path, cert, key) = (
            dir.join("ca.pem"),
            dir.join("cert.pem"),
            dir.join("key.pem"),
        );
        std::fs::write(&ca_path, &issued.ca_pem).unwrap();
        std::fs::write(&cert, issued.chain_pem()).unwrap();
        std::fs::write(&key, issued.key_pem()).unwrap();
        let mut child = Command::new("node")
            .current_dir(example_dir())
            .arg("server.mjs")
            .args(["--host", "shop.test", "--port", "0", "--bind", "127.0.0.1"])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--data-dir")
            .arg(dir.join("company"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node (installed by `make setup`)");
        let stdout = child.stdout.take().unwrap();
        let (link, origin, lines) = read_start(stdout);
        let port = origin
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {origin}"));
        Company {
            child,
            origin,
            link,
            ca_path,
            port,
            lines,
        }
    }

    /// `custodian …` on `v`, pointed at this company by the test hooks.
    fn cmd(&self, v: &TestVault, args: &[&str]) -> Command {
        let mut cmd = v.cmd(args);
        cmd.env("CUSTODIAN_TEST_RESOLVE", "shop.test=127.0.0.1")
            .env("CUSTODIAN_TEST_TRUST_LOOPBACK", "1")
            .env("CUSTODIAN_TEST_CA", &self.ca_path);
        cmd
    }

    fn ok(&self, v: &TestVault, args: &[&str]) -> String {
        run_ok(self.cmd(v, args))
    }

    /// What the company says it received and verified (`GET /received`),
    /// fetched with the test CA and `shop.test` pinned to loopback.
    fn received(&self) -> Value {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&self.ca_path).unwrap()).unwrap();
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(ca)
            .resolve(
                "shop.test",
                std::net::SocketAddr::from(([127, 0, 0, 1], self.port)),
            )
            .no_proxy()
            .build()
            .unwrap();
        client
            .get(format!("{}/received", self.origin))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("GET /received")
    }

    /// Waits until the company has printed a line starting with `prefix`.
    fn wait_line(&self, prefix: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => continue,
                Err(_) => panic!("the company printed no line starting {prefix:?} in {DEADLINE:?}"),
            }
        }
    }
}

/// Reads the start-up lines up to `ready ORIGIN`; the rest go to a channel.
fn read_start(stdout: ChildStdout) -> (String, String, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let end = Instant::now() + DEADLINE;
    let mut link = None;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| {
            panic!("the example company did not print `ready` in {DEADLINE:?}")
        });
        if let Some(l) = line.strip_prefix("link ") {
            link = Some(l.to_string());
        }
        if let Some(origin) = line.strip_prefix("ready ") {
            let link = link.expect("a `link` line before `ready`");
            return (link, origin.to_string(), rx);
        }
    }
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The one connection the company made (its request), as it records it.
fn connection(received: &Value) -> &Value {
    let all = received["connections"].as_object().expect("connections");
    assert_eq!(all.len(), 1, "{received:#}");
    all.values().next().unwrap()
}

#[test]
fn the_node_company_connects_verifies_every_delivery_and_files_a_receipt() {
    let v = TestVault::new();
    let tmp = tempfile::tempdir().unwrap();
    let company = Company::start(tmp.path());
    v.ok(&[
        "put",
        "/contact/email",
        "--json",
        r#"{"email":"ada@example.org"}"#,
    ]);

    // The link: fetched, checked, shown as a verified company.
    let request = json_of(&company.ok(&v, &["connect", &company.link, "--json"]));
    // The domain as the person sees it (a port other than 443 shown).
    let domain = format!("shop.test:{}", company.port);
    assert_eq!(request["company"]["domain"], domain.as_str(), "{request:#}");
    assert_eq!(request["company"]["verified"], true);
    let id = request["id"].as_str().unwrap();

    // Approved as asked: the company verifies the `granted` delivery with
    // jose and, as the grant lets it append to /purchases/, files an order.
    company.ok(&v, &["requests", "approve", id]);
    let sent = json_of(&company.ok(&v, &["deliver", "--json"]));
    assert_eq!(sent["delivered"], 1, "{sent:#}");
    company.wait_line("delivery granted seq=1");
    let received = company.received();
    let c = connection(&received);
    assert_eq!(c["status"], "granted", "{received:#}");
    assert_eq!(
        c["resources"]["/contact/email"]["content"],
        json!({"email": "ada@example.org"})
    );
    let status = json_of(&company.ok(&v, &["status", "--json"]));
    let pod_id = status["pod_id"].as_str().expect("the pod id in status");
    assert_eq!(c["pod_id"], pod_id, "pinned to this pod");
    assert!(received["refused"].as_array().unwrap().is_empty());

    // Its feed, taken in the same run once the deliveries are out: the
    // order receipt it published on `granted` lands under /purchases/.
    assert_eq!(
        sent["feeds"]["stored"],
        json!(["/purchases/order-1001"]),
        "{sent:#}"
    );
    let listed = v.ok(&["ls", "/purchases/"]);
    assert!(listed.contains("order-"), "{listed}");

    // A change the grant covers reaches it; so does the end.
    company.ok(&v, &["prefs", "set", "channels.sms", "true"]);
    company.ok(&v, &["deliver"]);
    company.wait_line("delivery updated seq=2");
    let grant_id = connection(&company.received())["grant_id"]
        .as_str()
        .unwrap()
        .to_string();
    company.ok(&v, &["grants", "revoke", &grant_id]);
    company.ok(&v, &["deliver"]);
    company.wait_line("delivery revoked seq=3");
    let received = company.received();
    let c = connection(&received);
    assert_eq!(c["status"], "revoked", "{received:#}");
    assert_eq!(c["gaps"], json!([]), "no delivery skipped");
    assert!(received["refused"].as_array().unwrap().is_empty());
    assert!(received["duplicates"].as_array().unwrap().is_empty());
}
