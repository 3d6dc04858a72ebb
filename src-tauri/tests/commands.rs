//! The app's command list is written in four places that must agree:
//! `build.rs` (the permissions Tauri generates), `generate_handler!` in
//! `src/lib.rs` (what the app answers), `capabilities/default.json` (what
//! the window may call) and `ui/src/lib/api.ts` (what the window does call).
//! A command added to one and not the others fails here, not at run time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text between `start` and the first `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let (_, rest) = text
        .split_once(start)
        .unwrap_or_else(|| panic!("no {start:?}"));
    rest.split_once(end)
        .unwrap_or_else(|| panic!("no {end:?} after {start:?}"))
        .0
}

/// Inserts each name once; a name written twice in one list is an error too.
fn set_of(list: &str, names: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for name in names {
        assert!(set.insert(name.clone()), "{list} lists {name} twice");
    }
    assert!(!set.is_empty(), "{list} lists no command");
    set
}

/// `build.rs`: the `COMMANDS` slice of string literals.
fn build_rs(source: &str) -> BTreeSet<String> {
    let list = between(source, "const COMMANDS: &[&str] = &[", "];");
    set_of(
        "build.rs",
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .unwrap_or_else(|| panic!("build.rs: not a string literal: {item}"))
                    .to_string()
            }),
    )
}

/// `src/lib.rs`: the paths in `generate_handler![…]`, by their last segment.
fn handler(source: &str) -> BTreeSet<String> {
    let list = between(source, "tauri::generate_handler![", "]");
    set_of(
        "generate_handler!",
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| item.rsplit("::").next().unwrap_or(item).to_string()),
    )
}

/// `capabilities/default.json`: each `allow-…` permission, as a command
/// name. Anything else must be a core or plugin permission (`x:y`).
fn capability(json: &str) -> BTreeSet<String> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let permissions = value["permissions"].as_array().expect("a permissions list");
    let mut names = Vec::new();
    for p in permissions {
        let p = p.as_str().expect("permissions are strings here");
        match p.strip_prefix("allow-") {
            Some(command) => names.push(command.replace('-', "_")),
            None => assert!(
                p.contains(':'),
                "capability: {p} is neither allow-<command> nor a core/plugin permission"
            ),
        }
    }
    set_of("capabilities/default.json", names)
}

/// `ui/src/lib/api.ts`: the first argument of each `invoke(…)` or
/// `invoke<T>(…)` call.
fn invoked(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in source.match_indices("invoke") {
        let mut rest = &source[at + "invoke".len()..];
        if let Some(generic) = rest.strip_prefix('<') {
            rest = generic.split_once('>').map_or("", |(_, after)| after);
        }
        if let Some(call) = rest.strip_prefix("(\"") {
            let name = call.split_once('"').map_or("", |(name, _)| name);
            // One command may be invoked from two wrappers; the set is what counts.
            names.insert(name.to_string());
        }
    }
    assert!(!names.is_empty(), "api.ts invokes no command");
    names
}

fn the_four() -> [(&'static str, BTreeSet<String>); 4] {
    let dir = manifest_dir();
    [
        ("build.rs", build_rs(&read(&dir.join("build.rs")))),
        ("generate_handler!", handler(&read(&dir.join("src/lib.rs")))),
        (
            "capabilities/default.json",
            capability(&read(&dir.join("capabilities/default.json"))),
        ),
        (
            "ui/src/lib/api.ts",
            invoked(&read(&dir.join("../ui/src/lib/api.ts"))),
        ),
    ]
}

#[test]
fn the_four_command_lists_agree() {
    let lists = the_four();
    let (first, expected) = &lists[0];
    for (name, set) in &lists[1..] {
        let missing: Vec<_> = expected.difference(set).collect();
        let extra: Vec<_> = set.difference(expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name} disagrees with {first}: missing {missing:?}, not in {first} {extra:?}"
        );
    }
}

/// Only `api.ts` calls `invoke`: the window has one typed module for the
/// app's commands, so the list above is every call.
#[test]
fn only_api_ts_invokes_commands() {
    let ui = manifest_dir().join("../ui/src");
    let mut stack = vec![ui.clone()];
    let mut callers = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.ends_with("lib/api.ts") {
                continue;
            } else if read(&path).contains("@tauri-apps/api/core") {
                callers.push(path);
            }
        }
    }
    assert!(callers.is_empty(), "invoke outside api.ts: {callers:?}");
}

// The parsers themselves, on small texts: each list's syntax is read right.
#[test]
fn each_parser_reads_its_list() {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        build_rs("const COMMANDS: &[&str] = &[\n    \"a_b\",\n    \"c\",\n];"),
        names(&["a_b", "c"])
    );
    assert_eq!(
        handler("tauri::generate_handler![\n m::a_b,\n n::c,\n ])"),
        names(&["a_b", "c"])
    );
    assert_eq!(
        capability(r#"{"permissions": ["core:event:default", "allow-a-b", "allow-c"]}"#),
        names(&["a_b", "c"])
    );
    assert_eq!(
        invoked("invoke<T>(\"a_b\"); invoke(\"c\", { x }); import { invoke } from"),
        names(&["a_b", "c"])
    );
}
