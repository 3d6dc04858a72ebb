//! A vault and a company on the internet side by side, driven through the
//! real CLI: the set-up `tests/links.rs` and `tests/links_refused.rs`
//! share (a vault with data of several kinds, the HTTPS test company of
//! [`crate::shop`], and `custodian` pointed at it by the test hooks).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use custodian_core::{parse_path, NewResource};
use serde_json::{json, Value};

use crate::company::open;
use crate::shop::{Ask, Shop, Verified};
use crate::{run_ok, TestVault};

/// How long a delivery may take to arrive while `deliver --watch` runs.
pub const SOON: Duration = Duration::from_secs(20);

pub fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A vault with data of several kinds, and the company server.
pub struct Linked {
    pub v: TestVault,
    pub shop: Shop,
}

impl Linked {
    pub fn new() -> Self {
        let v = TestVault::new();
        {
            let vault = open(&v);
            let s = vault.store();
            for (path, doc) in [
                ("/contact/email", json!({"email": "ada@example.org"})),
                ("/contact/phone", json!({"phone": "+44 20 7946 0000"})),
                ("/health/allergies", json!(["peanuts"])),
                ("/finance/bank", json!({"iban": "GB00"})),
            ] {
                s.put(&parse_path(path).unwrap(), NewResource::json(&doc))
                    .unwrap();
            }
        }
        Linked {
            v,
            shop: Shop::start(),
        }
    }

    /// `custodian --vault … ARGS` pointed at the test company.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.v.cmd(args);
        self.shop.env(&mut cmd);
        cmd
    }

    pub fn ok(&self, args: &[&str]) -> String {
        run_ok(self.cmd(args))
    }

    /// Publishes `ask` at shop.test and connects its link: the request.
    pub fn connect(&self, ask: &Ask) -> Value {
        let link = self
            .shop
            .link("shop.test", &self.shop.publish_request("shop.test", ask));
        json_of(&self.ok(&["connect", &link, "--json"]))
    }

    pub fn requests(&self) -> Value {
        json_of(&self.ok(&["requests", "list", "--all", "--json"]))
    }

    pub fn deliveries(&self) -> Value {
        json_of(&self.ok(&["deliveries", "--json"]))
    }

    /// `custodian deliver --watch`, killed when dropped.
    pub fn watch(&self) -> Watch {
        let mut cmd = self.cmd(&["deliver", "--watch"]);
        cmd.stdout(Stdio::null()).stderr(Stdio::inherit());
        Watch(cmd.spawn().expect("start custodian deliver --watch"))
    }

    /// A linked request for contact data, health data and the
    /// communication preferences, approved narrower (no health), and its
    /// `granted` delivery as the company verified it.
    pub fn granted(&self, ask: &Ask, extra: &[&str]) -> (Value, Verified) {
        let request = self.connect(ask);
        let id = request["id"]
            .as_str()
            .expect("the request's id")
            .to_string();
        let mut args = vec![
            "requests",
            "approve",
            &id,
            "--only",
            "/contact/",
            "--only",
            "/preferences/communication",
        ];
        args.extend_from_slice(extra);
        self.ok(&args);
        self.ok(&["deliver"]);
        let got = self.shop.wait_for("the granted delivery", SOON, |seen| {
            seen.unique_to("shop.test")
                .into_iter()
                .find(|d| d.state() == ask.state && d.event() == "granted")
        });
        (request, got)
    }
}

pub struct Watch(Child);

impl Watch {
    /// SIGKILL: no clean-up code runs.
    pub fn kill(mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("reap");
        std::mem::forget(self);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` (a CLI read) until it answers, for at most [`SOON`].
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + SOON;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Default for Linked {
    fn default() -> Self {
        Self::new()
    }
}
