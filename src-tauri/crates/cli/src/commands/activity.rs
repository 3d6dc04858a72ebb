//! log, log verify, log retain, report: what companies did with what they were given.

use std::collections::HashMap;

use custodian_core::audit::report::AccessReport;
use custodian_core::audit::retention::Retention;
use custodian_core::audit::{Actor, AuditEntry, ChainReport, LogFilter, Outcome};

use super::Context;
use crate::cli::{LogArgs, LogCommand, ReportArgs, RetainArgs};
use crate::fail::{code, Fail};
use crate::output::{self, print};
use crate::when;

pub fn log(ctx: &Context, args: LogArgs) -> Result<(), Fail> {
    match args.command {
        Some(LogCommand::Verify(flag)) => return verify(ctx, flag.json),
        Some(LogCommand::Retain(retain_args)) => return retain(ctx, retain_args),
        None => {}
    }
    let since = args
        .since
        .as_deref()
        .map(|s| when::since(s, chrono::Utc::now()))
        .transpose()?
        .flatten();
    let vault = ctx.unlock()?;
    let store = vault.store();
    let client_id = args
        .client
        .as_deref()
        .map(|c| store.resolve_client(c).map(|c| c.id))
        .transpose()?;
    let filter = LogFilter {
        client_id,
        since,
        outcome: args.denied.then_some(Outcome::Denied),
        // One more than shown, to know whether older entries were left out.
        limit: (args.limit > 0).then_some(args.limit + 1),
    };
    if args.limit == 0 {
        return whole_log(store, &filter, args.json);
    }
    let mut entries = store.audit_log(&filter)?;
    let cut = args.limit > 0 && entries.len() as u64 > args.limit;
    if cut {
        entries.remove(0);
    }
    if args.json {
        return output::print_json(&entries);
    }
    if entries.is_empty() {
        return print("No entries match.\n");
    }
    let names: HashMap<String, String> = store
        .clients()?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let mut rows = vec![vec![
        "TIME".into(),
        "WHO".into(),
        "ACTION".into(),
        "PATH".into(),
        "OUTCOME".into(),
        "REASON".into(),
    ]];
    rows.extend(entries.iter().map(|e| log_row(e, &names)));
    let mut text = output::table(&rows);
    if cut {
        text.push_str(&format!(
            "(The newest {} entries; --limit 0 shows all, --since narrows by time.)\n",
            args.limit
        ));
    }
    print(&text)
}

/// Rows laid out together in the whole log's table.
const BLOCK: usize = 1_000;

/// `log --limit 0`: every matching entry, printed as it is read (a long
/// log is never held whole): JSON as one array written an entry at a time,
/// the table in blocks of [`BLOCK`] rows, each laid out on its own.
fn whole_log(store: &custodian_core::Store, filter: &LogFilter, json: bool) -> Result<(), Fail> {
    let names: HashMap<String, String> = store
        .clients()?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let header = || {
        vec![
            "TIME".into(),
            "WHO".into(),
            "ACTION".into(),
            "PATH".into(),
            "OUTCOME".into(),
            "REASON".into(),
        ]
    };
    let mut block: Vec<Vec<String>> = vec![header()];
    let mut failed: Option<Fail> = None;
    let mut printed = 0u64;
    let n = store.audit_log_each(filter, |e| {
        let out = if json {
            serde_json::to_string(&e)
                .map_err(|e| Fail::new(code::ERROR, format!("encoding JSON: {e}")))
                .and_then(|text| {
                    print(&format!(
                        "{}{text}",
                        if printed == 0 { "[\n" } else { ",\n" }
                    ))
                })
        } else {
            block.push(log_row(&e, &names));
            if block.len() > BLOCK {
                let text = output::table(&block);
                block.clear();
                print(&text)
            } else {
                Ok(())
            }
        };
        printed += 1;
        out.map_err(|f| {
            failed = Some(f);
            custodian_core::Error::Internal("output stopped".into())
        })
    });
    if let Some(f) = failed {
        return Err(f);
    }
    n?;
    if json {
        return print(if printed == 0 { "[]\n" } else { "\n]\n" });
    }
    if printed == 0 {
        return print("No entries match.\n");
    }
    if block.is_empty() {
        return Ok(());
    }
    print(&output::table(&block))
}

fn log_row(e: &AuditEntry, names: &HashMap<String, String>) -> Vec<String> {
    let who = match (&e.client_id, &e.actor) {
        (_, Actor::Owner) => "you".to_string(),
        // A company is always shown as one: the name is its own claim.
        (Some(id), _) => format!(
            "{} (company)",
            names.get(id).map(String::as_str).unwrap_or(id)
        ),
        (None, _) => "unknown token".to_string(),
    };
    let action = match &e.method {
        Some(method) => method.to_string(),
        None => e.action.to_string(),
    };
    vec![
        e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
        who,
        action,
        e.path.clone().unwrap_or_default(),
        e.outcome.to_string(),
        e.reason.clone().unwrap_or_default(),
    ]
}

fn verify(ctx: &Context, json: bool) -> Result<(), Fail> {
    let vault = ctx.unlock()?;
    let report = vault.store().verify_audit_log()?;
    if json {
        output::print_json(&report)?;
    }
    match report.first_broken {
        None => {
            if !json {
                print(&intact(&report))?;
            }
            Ok(())
        }
        Some(seq) => Err(broken_log(seq)),
    }
}

/// The failure for a log whose chain breaks at entry `seq`.
pub(super) fn broken_log(seq: u64) -> Fail {
    let before = match seq {
        0 | 1 => "No entry before it is left to trust.".to_string(),
        2 => "Entry 1 is intact.".to_string(),
        _ => format!("Entries 1 to {} are intact.", seq - 1),
    };
    Fail::new(
        code::ERROR,
        format!(
            "the access log is broken at entry {seq}: it was changed, or an entry before it was removed or inserted. {before}"
        ),
    )
}

pub(super) fn intact(report: &ChainReport) -> String {
    let mut text = format!(
        "The access log is intact: {} entries, each hash following from the one before.\n",
        report.entries
    );
    if let Some(c) = report.checkpoint {
        let removed = match c.through {
            1 => "Entry 1 was".to_string(),
            n => format!("Entries 1 to {n} were"),
        };
        text.push_str(&format!(
            "{removed} removed by the retention policy; checkpoint entry {} stands for what was removed, and the chain follows from it.\n",
            c.entry
        ));
    }
    text
}

/// `log retain`: shows the policy, or sets it and applies it at once.
fn retain(ctx: &Context, args: RetainArgs) -> Result<(), Fail> {
    let policy = match (&args.older_than, args.keep_all) {
        (Some(text), _) => Some(Retention::For(when::duration_secs(text, "--older-than")?)),
        (None, true) => Some(Retention::Everything),
        (None, false) => None,
    };
    let vault = ctx.unlock()?;
    let store = vault.store();
    let Some(policy) = policy else {
        let current = store.log_retention()?;
        return print(&format!(
            "Log retention: {current}.\nChange it with `custodian log retain --older-than 1y`, or `--keep-all`.\n"
        ));
    };
    store.set_log_retention(policy)?;
    let mut text = format!("Log retention set: {policy}.\n");
    if policy != Retention::Everything {
        match store.apply_log_retention()? {
            Some(p) => {
                let (noun, verb) = if p.removed == 1 {
                    ("entry", "was")
                } else {
                    ("entries", "were")
                };
                text.push_str(&format!(
                    "{} older {noun} (up to entry {}) {verb} replaced by checkpoint entry {}; `custodian log verify` checks the chain from there.\n",
                    p.removed, p.through, p.checkpoint
                ))
            }
            None => text.push_str("No entry is that old yet.\n"),
        }
    }
    print(&text)
}

pub fn report(ctx: &Context, args: ReportArgs) -> Result<(), Fail> {
    let since = when::since(&args.since, chrono::Utc::now())?;
    let vault = ctx.unlock()?;
    let report = vault.store().access_report(since)?;
    if args.json {
        return output::print_json(&report);
    }
    print(&describe_report(&report))
}

fn describe_report(r: &AccessReport) -> String {
    let window = match r.since {
        Some(s) => format!("{} to {}", output::when(s), output::when(r.until)),
        None => format!("everything until {}", output::when(r.until)),
    };
    let mut text = format!("Data access report: {window}\n");
    if r.companies.is_empty() {
        text.push_str("\nNo company has asked for or read anything.\n");
    }
    for c in &r.companies {
        text.push_str(&format!("\n{} ({})\n", c.client_name, c.client_id));
        let mut rows = vec![
            vec![
                "  Grants:".into(),
                format!("{} active, {} in all", c.grants_active, c.grants_total),
            ],
            vec![
                "  Requests:".into(),
                format!("{} allowed, {} denied", c.allowed, c.denied),
            ],
        ];
        let read = if c.top_resources.is_empty() {
            "nothing".to_string()
        } else {
            let top: Vec<String> = c
                .top_resources
                .iter()
                .map(|t| format!("{} ({}×)", t.path, t.reads))
                .collect();
            let more = c.distinct_resources_read as usize - top.len();
            format!(
                "{} distinct resource{}: {}{}",
                c.distinct_resources_read,
                if c.distinct_resources_read == 1 {
                    ""
                } else {
                    "s"
                },
                top.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        };
        rows.push(vec!["  Read:".into(), read]);
        if let Some(at) = c.last_request_at {
            rows.push(vec!["  Last request:".into(), output::when(at)]);
        }
        text.push_str(&output::table(&rows));
    }
    if r.unidentified_denied > 0 {
        text.push_str(&format!(
            "\nRefused requests with tokens nobody holds: {}\n",
            r.unidentified_denied
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::broken_log;

    #[test]
    fn a_broken_log_says_which_entries_before_the_break_still_hold() {
        assert!(broken_log(1)
            .message
            .ends_with("No entry before it is left to trust."));
        assert!(broken_log(2).message.ends_with("Entry 1 is intact."));
        assert!(broken_log(6)
            .message
            .ends_with("Entries 1 to 5 are intact."));
    }
}
