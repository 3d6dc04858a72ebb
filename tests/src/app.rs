//! The desktop app end to end: the real `custodian-desktop` window under
//! Xvfb, driven through tauri-driver and WebKitWebDriver (WebDriver), as a
//! person would use it.
//!
//! [`Desktop::launch`] starts Xvfb on a free display (its `-displayfd` line
//! is the readiness signal) and a private D-Bus session bus (the app finds
//! itself running there: [`Desktop::open_link`] starts it a second time
//! with a link, as the desktop does), then tauri-driver with that display,
//! that bus and the vault's location in its environment (WebKitWebDriver starts the app with
//! that environment), waits until the driver accepts connections, and opens
//! a WebDriver session, which opens the app's window. Everything started is
//! ended on drop. The helpers find controls by the selectors fixed in
//! `docs/ui-contract.md` and wait with a deadline, polling the DOM.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::bin;

/// How long a control may take to appear or change (the app unlocks with the
/// full KDF work factor, about a second, and debug builds are slow).
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How often the DOM is polled while waiting.
const POLL: Duration = Duration::from_millis(100);

/// Held by a launch from picking tauri-driver's ports until it listens.
static LAUNCHING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A free loopback TCP port (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Where the end-to-end screenshots go: `target/debug/screenshots/`, or the
/// directory in `CUSTODIAN_SCREENSHOT_DIR` (`make screenshots` points it at
/// the committed `docs/screenshots/`), so a test run leaves the working tree
/// as it was.
pub fn screenshot_dir() -> PathBuf {
    screenshot_dir_set()
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::target_dir().join("screenshots"))
}

fn screenshot_dir_set() -> Option<std::ffi::OsString> {
    std::env::var_os("CUSTODIAN_SCREENSHOT_DIR").filter(|d| !d.is_empty())
}

/// Whether this run takes the screenshots shown in the README.
fn screenshots_committed() -> bool {
    screenshot_dir_set().is_some()
}

/// An executable on PATH, or in cargo's bin directory (where `cargo install`
/// puts tauri-driver even when that is not on PATH).
fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(cargo_home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// A required tool, or a failure saying how to get it. The desktop tests
/// never pass silently without their tools.
fn require_tool(name: &str, from: &str) -> PathBuf {
    find_tool(name).unwrap_or_else(|| {
        panic!(
            "{name} is missing ({from}): the desktop end-to-end tests need it. \
             Run `make setup` (it installs everything the tests need), then rerun."
        )
    })
}

/// The parent of each process, from `/proc/*/stat`.
fn parents() -> Vec<(u32, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid …; comm may hold spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 1..];
            let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// `root` and every process it started, and they started, and so on.
pub fn process_tree(root: u32) -> Vec<u32> {
    let table = parents();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            table
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

/// Ends a process we started and everything it started (tauri-driver,
/// WebKitWebDriver, the app and WebKit's helpers), each by its id.
fn kill_tree(child: &mut Child) {
    let tree = process_tree(child.id());
    for pid in tree.iter().skip(1) {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A private D-Bus session bus for one app (single-instance finds the
/// running app on it), so parallel tests never see each other's app: a
/// `dbus-daemon` of its own, ended with the test. Its address line on
/// stdout is the readiness signal (printed once it accepts connections).
fn start_session_bus() -> (Child, String) {
    let daemon = require_tool("dbus-daemon", "Debian package dbus-daemon");
    let mut bus = Command::new(daemon)
        .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dbus-daemon");
    let mut line = String::new();
    BufReader::new(bus.stdout.take().expect("dbus-daemon stdout"))
        .read_line(&mut line)
        .expect("read the session bus address");
    let address = line.trim().to_string();
    if address.is_empty() {
        let _ = bus.kill();
        let status = bus.wait().ok();
        panic!("dbus-daemon did not start (no address; exit {status:?})");
    }
    (bus, address)
}

/// How the app is started.
pub struct Launch<'a> {
    /// The vault location (`CUSTODIAN_VAULT`); need not exist.
    pub vault: &'a Path,
    /// HOME and XDG directories for the app (kept out of the real ones).
    pub home: &'a Path,
}

/// The running app, its WebDriver session and everything behind it.
pub struct Desktop {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    xvfb: Child,
    bus: Child,
    /// The environment the app runs in (also given to a second start).
    app_env: Vec<(String, std::ffi::OsString)>,
    /// The X display the window is on, e.g. `:99`.
    pub display: String,
    /// From asking for the session (which starts the app) to a window
    /// with a loaded document.
    pub started_in: Duration,
    app_path: PathBuf,
}

impl Desktop {
    /// Starts Xvfb, tauri-driver and the app; returns once its window has
    /// a document.
    pub fn launch(opts: Launch<'_>) -> Desktop {
        Desktop::launch_with(opts, &[], &[])
    }

    /// Like [`Desktop::launch`], with more variables in the app's
    /// environment (e.g. the network test hooks) and arguments on its
    /// command line (e.g. a link, as the desktop starts it).
    pub fn launch_with(
        opts: Launch<'_>,
        env: &[(&str, &std::ffi::OsStr)],
        args: &[&str],
    ) -> Desktop {
        // reqwest is built without a TLS provider of its own: the tests'
        // HTTP clients (the device-flow company, the shop) need the
        // process-wide one, whichever test starts first.
        crate::shop::install_provider();
        // The benchmark drives the release build instead.
        let app = std::env::var_os("CUSTODIAN_DESKTOP_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| bin("custodian-desktop"));
        let xvfb_bin = require_tool("Xvfb", "Debian package xvfb");
        let driver_bin = require_tool("tauri-driver", "cargo install tauri-driver");
        let native = require_tool("WebKitWebDriver", "Debian package webkit2gtk-driver");

        // Xvfb picks a free display and writes its number to fd 1 once it
        // accepts connections.
        let mut xvfb = Command::new(xvfb_bin)
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x900x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut line = String::new();
        BufReader::new(xvfb.stdout.take().expect("Xvfb stdout"))
            .read_line(&mut line)
            .expect("read Xvfb's display number");
        let number = line.trim();
        if number.is_empty() || number.parse::<u32>().is_err() {
            let _ = xvfb.kill();
            let status = xvfb.wait().ok();
            panic!("Xvfb did not start (no display number; exit {status:?})");
        }
        let display = format!(":{number}");
        let (bus, bus_address) = start_session_bus();

        // tauri-driver takes its two ports on the command line and cannot
        // report ports it chose, so they are picked here. The launches in
        // this process take turns from picking them until the driver
        // listens, so parallel tests never pick the same released port.
        // The app's sharing takes any free port itself (0) and shows it;
        // for the committed screenshots (`make screenshots`), the default
        // port a person sees (one app at a time turns sharing on).
        let sharing_port = if screenshots_committed() { "7878" } else { "0" };
        let picking = LAUNCHING.lock().unwrap_or_else(|p| p.into_inner());
        let port = free_port();
        let native_port = free_port();
        let data = opts.home.join("data");
        let config = opts.home.join("config");
        let cache = opts.home.join("cache");
        let runtime = opts.home.join("runtime");
        for d in [&data, &config, &cache, &runtime] {
            std::fs::create_dir_all(d).expect("app home dirs");
        }
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700));
        }
        let mut cmd = Command::new(driver_bin);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(native);
        for var in [
            "CUSTODIAN_VAULT",
            "CUSTODIAN_PASSPHRASE",
            "CUSTODIAN_NEW_PASSPHRASE",
            "CUSTODIAN_BUNDLE_PASSPHRASE",
            "CUSTODIAN_SHARING_PORT",
            "WAYLAND_DISPLAY",
        ] {
            cmd.env_remove(var);
        }
        let mut app_env: Vec<(String, std::ffi::OsString)> = vec![
            ("DISPLAY".into(), display.clone().into()),
            ("GDK_BACKEND".into(), "x11".into()),
            ("WEBKIT_DISABLE_COMPOSITING_MODE".into(), "1".into()),
            // No accessibility bus under Xvfb: don't wait for one.
            ("NO_AT_BRIDGE".into(), "1".into()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), bus_address.into()),
            ("CUSTODIAN_VAULT".into(), opts.vault.into()),
            ("CUSTODIAN_SHARING_PORT".into(), sharing_port.into()),
            ("HOME".into(), opts.home.into()),
            ("XDG_DATA_HOME".into(), data.clone().into()),
            ("XDG_CONFIG_HOME".into(), config.into()),
            ("XDG_CACHE_HOME".into(), cache.into()),
            ("XDG_RUNTIME_DIR".into(), runtime.into()),
        ];
        app_env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_os_string())));
        cmd.envs(app_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let driver = cmd.spawn().expect("start tauri-driver");

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let mut desktop = Desktop {
            rt,
            client: None,
            driver,
            xvfb,
            bus,
            app_env,
            display,
            started_in: Duration::ZERO,
            app_path: app.clone(),
        };
        desktop.wait_for_port(port);
        desktop.wait_for_port(native_port);
        drop(picking);

        let caps: serde_json::Map<String, Value> = json!({
            "browserName": "wry",
            "tauri:options": { "application": app, "args": args },
        })
        .as_object()
        .expect("object")
        .clone();
        let url = format!("http://127.0.0.1:{port}");
        let asked = Instant::now();
        let client = desktop
            .rt
            .block_on(async {
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&url)
                    .await
            })
            .unwrap_or_else(|e| panic!("a WebDriver session with the app: {e}"));
        desktop.client = Some(client);
        desktop.wait_until("the app's page to load", |d| {
            d.script(
                "return document.readyState === 'complete' && !!document.querySelector('body *')",
                vec![],
            )
            .ok()
            .and_then(|v| v.as_bool())
            .filter(|ready| *ready)
        });
        desktop.started_in = asked.elapsed();
        desktop
    }

    /// The app's process id (started by WebKitWebDriver), found by its
    /// executable.
    pub fn app_pid(&self) -> Option<u32> {
        let want = std::fs::canonicalize(&self.app_path).ok()?;
        std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .find_map(|entry| {
                let pid: u32 = entry.file_name().to_string_lossy().parse().ok()?;
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
                (exe == want).then_some(pid)
            })
    }

    fn wait_for_port(&mut self, port: u16) {
        let start = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("tauri-driver exited before listening on {port}: {status}");
            }
            assert!(
                start.elapsed() < DEADLINE,
                "tauri-driver did not listen on port {port} within {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a WebDriver session")
    }

    /// Runs JavaScript in the page; returns its value.
    pub fn script(&self, js: &str, args: Vec<Value>) -> Result<Value, CmdError> {
        self.rt.block_on(self.client().execute(js, args))
    }

    /// Runs asynchronous JavaScript in the page: the script's last argument
    /// is the callback that gives its value back.
    pub fn script_async(&self, js: &str, args: Vec<Value>) -> Result<Value, CmdError> {
        self.rt.block_on(self.client().execute_async(js, args))
    }

    /// Polls `probe` until it returns `Some`, or fails after [`DEADLINE`]
    /// saying what was awaited.
    pub fn wait_until<T>(&self, what: &str, mut probe: impl FnMut(&Self) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = probe(self) {
                return v;
            }
            if start.elapsed() > DEADLINE {
                let shot = self.screenshot_on_failure();
                panic!("timed out after {DEADLINE:?} waiting for {what}{shot}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// On a failure: a screenshot for the person reading the failure, and
    /// the page's visible text.
    fn screenshot_on_failure(&self) -> String {
        let dir = std::env::temp_dir().join("custodian-e2e-failures");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("failure-{}.png", std::process::id()));
        let saved = self
            .png()
            .and_then(|png| std::fs::write(&path, png).ok())
            .map(|_| format!("; screenshot: {}", path.display()))
            .unwrap_or_default();
        let text = self
            .script(
                "return document.body ? document.body.innerText : ''",
                vec![],
            )
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        format!("{saved}\n--- the window's text ---\n{text}\n---")
    }

    /// A PNG of the window. WebKitWebDriver answers a screenshot after the
    /// page's next paint, and an idle page under Xvfb does not paint: so a
    /// 1-pixel, near-transparent mark in the corner flickers for a moment
    /// (invisible in the picture) while the screenshot is taken.
    fn png(&self) -> Option<Vec<u8>> {
        const NUDGE: &str = "let el = document.getElementById('e2e-paint');\
            if (!el) {\
              el = document.createElement('div');\
              el.id = 'e2e-paint';\
              el.setAttribute('aria-hidden', 'true');\
              Object.assign(el.style, {position: 'fixed', left: '0', top: '0', width: '1px',\
                height: '1px', pointerEvents: 'none', zIndex: '2147483647'});\
              document.body.appendChild(el);\
            }\
            let n = 0;\
            const t = setInterval(() => {\
              el.style.background = n % 2 ? 'rgba(0,0,0,0.01)' : 'rgba(0,0,0,0.02)';\
              if (++n > 60) clearInterval(t);\
            }, 50);\
            return true;";
        for _ in 0..3 {
            self.script(NUDGE, vec![]).ok()?;
            let shot = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), self.client().screenshot()).await
            });
            if let Ok(Ok(png)) = shot {
                return Some(png);
            }
        }
        None
    }

    fn find_now(&self, selector: &str) -> Option<Element> {
        self.rt
            .block_on(self.client().find(Locator::Css(selector)))
            .ok()
    }

    /// Waits until `selector` matches an element; returns it.
    pub fn wait_for(&self, selector: &str) -> Element {
        self.wait_until(&format!("`{selector}`"), |d| d.find_now(selector))
    }

    /// Waits until no element matches `selector`.
    pub fn wait_gone(&self, selector: &str) {
        self.wait_until(&format!("`{selector}` to go away"), |d| {
            (d.count(selector) == 0).then_some(())
        })
    }

    /// Whether `selector` matches anything right now.
    pub fn exists(&self, selector: &str) -> bool {
        self.count(selector) > 0
    }

    /// How many elements match `selector` right now.
    pub fn count(&self, selector: &str) -> usize {
        self.rt
            .block_on(self.client().find_all(Locator::Css(selector)))
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Runs `op` on the element `selector` matches, retrying (a re-render
    /// can replace the element, an overlay can be fading) until the
    /// deadline.
    fn with<T>(
        &self,
        selector: &str,
        what: &str,
        mut op: impl FnMut(&Self, Element) -> Result<T, CmdError>,
    ) -> T {
        let start = Instant::now();
        loop {
            let last = match self.find_now(selector) {
                Some(el) => match op(self, el) {
                    Ok(v) => return v,
                    Err(e) => e.to_string(),
                },
                None => "no such element".to_string(),
            };
            if start.elapsed() > DEADLINE {
                let shot = self.screenshot_on_failure();
                panic!("could not {what} `{selector}` within {DEADLINE:?}: {last}{shot}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Clicks the element `selector` matches.
    pub fn click(&self, selector: &str) {
        self.with(selector, "click", |d, el| d.rt.block_on(el.click()))
    }

    /// Clears a text field and types `text` into it, key by key.
    pub fn type_into(&self, selector: &str, text: &str) {
        self.with(selector, "type into", |d, el| {
            d.rt.block_on(async {
                el.clear().await?;
                el.send_keys(text).await
            })
        })
    }

    /// Sets a field's value as the browser would on input (for controls
    /// that keystrokes fill unreliably, like `<input type=time>`): the
    /// value, then `input` and `change` events.
    pub fn set_value(&self, selector: &str, value: &str) {
        self.wait_for(selector);
        let js = "const el = document.querySelector(arguments[0]);\
                  const proto = Object.getPrototypeOf(el);\
                  Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, arguments[1]);\
                  el.dispatchEvent(new Event('input', { bubbles: true }));\
                  el.dispatchEvent(new Event('change', { bubbles: true }));\
                  return el.value;";
        let got = self
            .script(js, vec![json!(selector), json!(value)])
            .unwrap_or_else(|e| panic!("set the value of `{selector}`: {e}"));
        assert_eq!(got, json!(value), "`{selector}` took the value");
    }

    /// Selects the option with this value in a `<select>`.
    pub fn select(&self, selector: &str, value: &str) {
        self.with(selector, "select in", |d, el| {
            d.rt.block_on(el.select_by_value(value))
        })
    }

    /// The rendered text of the element `selector` matches (trimmed).
    pub fn text(&self, selector: &str) -> String {
        self.with(selector, "read the text of", |d, el| {
            d.rt.block_on(el.text())
        })
        .trim()
        .to_string()
    }

    /// The exact `textContent` of the element (no rendering, trimmed).
    pub fn text_content(&self, selector: &str) -> String {
        self.with(selector, "read the textContent of", |d, el| {
            d.rt.block_on(el.prop("textContent"))
        })
        .unwrap_or_default()
        .trim()
        .to_string()
    }

    /// The rendered text of every element `selector` matches right now.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let elements = self
            .rt
            .block_on(self.client().find_all(Locator::Css(selector)))
            .unwrap_or_default();
        elements
            .into_iter()
            .filter_map(|el| self.rt.block_on(el.text()).ok())
            .map(|t| t.trim().to_string())
            .collect()
    }

    /// Waits until some element matching `selector` has text containing
    /// `needle`; returns that text.
    pub fn wait_for_text(&self, selector: &str, needle: &str) -> String {
        self.wait_until(&format!("`{selector}` containing {needle:?}"), |d| {
            d.texts(selector).into_iter().find(|t| t.contains(needle))
        })
    }

    /// An attribute of the element `selector` matches.
    pub fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.with(selector, "read an attribute of", |d, el| {
            d.rt.block_on(el.attr(name))
        })
    }

    /// Whether a checkbox (or radio, or option) is ticked.
    pub fn is_checked(&self, selector: &str) -> bool {
        self.with(selector, "read the state of", |d, el| {
            d.rt.block_on(el.is_selected())
        })
    }

    /// The value of a form field.
    pub fn value(&self, selector: &str) -> String {
        self.with(selector, "read the value of", |d, el| {
            d.rt.block_on(el.prop("value"))
        })
        .unwrap_or_default()
    }

    /// Sets a checkbox to `on` by clicking it if needed, then checks it took.
    pub fn set_checked(&self, selector: &str, on: bool) {
        if self.is_checked(selector) != on {
            self.click(selector);
        }
        self.wait_until(
            &format!(
                "`{selector}` to be {}",
                if on { "ticked" } else { "unticked" }
            ),
            |d| (d.is_checked(selector) == on).then_some(()),
        );
    }

    /// Scrolls the window and every scrolled area back to the top (a
    /// click may have scrolled the screen to its end).
    pub fn scroll_to_top(&self) {
        self.script(
            "window.scrollTo(0, 0);\
             for (const el of document.querySelectorAll('*')) {\
               if (el.scrollTop > 0) el.scrollTop = 0;\
             }\
             return true;",
            vec![],
        )
        .expect("scroll to the top");
    }

    /// The screen's main heading (`main h2`).
    pub fn heading(&self) -> String {
        self.text("main h2")
    }

    /// Saves a PNG of the window to `<name>.png` in [`screenshot_dir`];
    /// returns its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .png()
            .unwrap_or_else(|| panic!("no screenshot {name} from the driver"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Ends the session (closing the window), then everything else.
    pub fn quit(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
        kill_tree(&mut self.driver);
        kill_tree(&mut self.xvfb);
        kill_tree(&mut self.bus);
    }

    /// Opens `link` as the desktop does: starts the app binary a second
    /// time with the link as its only argument, in the running app's
    /// environment. That second start hands the link to the running app
    /// over D-Bus and exits (0 once the running app took it).
    pub fn open_link(&self, link: &str) {
        let mut second = Command::new(&self.app_path)
            .arg(link)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.app_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the app a second time");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = second.try_wait().expect("the second start's status") {
                break status;
            }
            if start.elapsed() > DEADLINE {
                kill_tree(&mut second);
                panic!("the second start did not hand the link over within {DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "the second start handed the link to the running app: {status}"
        );
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        self.shutdown();
    }
}
