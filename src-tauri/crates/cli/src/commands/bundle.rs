//! export and import: the bundle, with a progress bar on a terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use custodian_core::bundle::{self, Counts, Opener, Phase, Progress, Seal};
use custodian_core::ExposeSecret;
use indicatif::{ProgressBar, ProgressStyle};

use super::Context;
use crate::cli::{ExportArgs, ImportArgs};
use crate::fail::{code, Fail};
use crate::output::{self, print};
use crate::secrets;

pub fn export(ctx: &Context, args: ExportArgs) -> Result<(), Fail> {
    // Everything typed is checked before the passphrase is asked for.
    let recipient = args.recipient.as_deref().map(Seal::recipient).transpose()?;
    if args.plain {
        let dir = args.out.clone().unwrap_or_default();
        let vault = ctx.unlock()?;
        eprintln!(
            "custodian: warning: {} will hold your data UNENCRYPTED. Anyone who can read these files can read everything in your vault; delete them when you are done.",
            dir.display()
        );
        let mut bar = Bar::new(args.quiet);
        let summary = bundle::export_plain(vault.store(), &dir, &mut |p| bar.update(p))?;
        bar.finish();
        if args.json {
            return output::print_json(&summary);
        }
        return print(&format!(
            "Wrote {} as plain files into {}.\n",
            describe_counts(&summary.counts),
            dir.display()
        ));
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(bundle::default_file_name(chrono::Local::now().date_naive()))
    });
    if out.exists() && !args.force {
        return Err(Fail::usage(format!(
            "{} already exists: choose another --out, or add --force to replace it",
            out.display()
        )));
    }
    let vault = ctx.unlock()?;
    let (seal, how) = match recipient {
        Some(r) => (
            r,
            "to the recipient you gave; open it with its identity file",
        ),
        None => (
            Seal::passphrase(secrets::new_bundle_passphrase(
                args.bundle_passphrase_file.as_deref(),
            )?),
            "with the bundle passphrase; `age -d` asks for it",
        ),
    };
    let mut bar = Bar::new(args.quiet);
    let summary = bundle::export_bundle(vault.store(), &out, &seal, args.force, &mut |p| {
        bar.update(p)
    })?;
    bar.finish();
    if args.json {
        return output::print_json(&summary);
    }
    print(&format!(
        "Exported {} to {} ({}), encrypted {how}.\n\
         It opens without Custodian: age -d {} | tar x\n",
        describe_counts(&summary.counts),
        summary.path.display(),
        output::size(summary.file_bytes),
        shell_word(&summary.path),
    ))
}

pub fn import(ctx: &Context, args: ImportArgs) -> Result<(), Fail> {
    let file = &args.file;
    if !file.is_file() {
        return Err(Fail::usage(format!(
            "cannot read {}: no such file",
            file.display()
        )));
    }
    if !args.merge {
        // A restore makes a new vault: refuse an occupied place first.
        let dir = ctx.vault_dir()?;
        if std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(dir.exists())
        {
            return Err(Fail::new(
                code::VAULT,
                format!(
                    "{} is not empty: restore into a new directory (--vault NEW-DIR), or add --merge to add the bundle to the vault there",
                    dir.display()
                ),
            ));
        }
    }
    let opener = opener(file, &args)?;
    if args.merge {
        let vault = ctx.unlock()?;
        let mut bar = Bar::new(args.quiet);
        let report = bundle::merge_bundle(vault.store(), file, &opener, &mut |p| bar.update(p))?;
        bar.finish();
        if args.json {
            return output::print_json(&report);
        }
        let mut text = format!(
            "Merged {} into {}: {} resource{} added with their history, {} already here.\n",
            file.display(),
            vault.dir().display(),
            report.added.len(),
            if report.added.len() == 1 { "" } else { "s" },
            report.unchanged
        );
        text.push_str(&format!(
            "Companies added: {}; requests: {}; grants: {}. The bundle's {} log entries stay in the bundle (this vault's log records the merge).\n",
            report.clients_added, report.requests_added, report.grants_added, report.log_entries_not_merged
        ));
        if !report.conflicts.is_empty() {
            text.push_str(&format!(
                "\n{} resource{} differ here and were left as they are:\n",
                report.conflicts.len(),
                if report.conflicts.len() == 1 { "" } else { "s" }
            ));
            for c in &report.conflicts {
                text.push_str(&format!("  {}  ({})\n", c.path, c.reason));
            }
        }
        return print(&text);
    }
    let dir = ctx.vault_dir()?;
    let passphrase = secrets::replacement_passphrase(args.new_passphrase_file.as_deref())?;
    custodian_core::vault::keys::check_new_passphrase(&passphrase)?;
    let mut bar = Bar::new(args.quiet);
    let restored = bundle::restore_bundle(
        file,
        &opener,
        &dir,
        &passphrase,
        custodian_core::vault::keys::DEFAULT_WORK_FACTOR,
        &mut |p| bar.update(p),
    )?;
    bar.finish();
    let key = restored.created.recovery_key.expose();
    if args.json {
        // The recovery key is shown once, on purpose, as `init` does.
        return output::print_json(&serde_json::json!({
            "vault": dir,
            "counts": restored.manifest.counts,
            "from_vault_id": restored.manifest.vault_id,
            "recovery_key": key.expose_secret(),
        }));
    }
    print(&format!(
        "Restored {} into a new vault at {}.\n\n\
         Its recovery key (new, shown once, never stored anywhere):\n\n    {}\n\n\
         Write it down or print it, and keep it offline, somewhere safe.\n\
         Companies' tokens do not travel in a bundle: they ask again to use this vault.\n",
        describe_counts(&restored.manifest.counts),
        dir.display(),
        key.expose_secret()
    ))
}

/// How to open this bundle: its kind decides which secret is needed.
fn opener(file: &Path, args: &ImportArgs) -> Result<Opener, Fail> {
    if let Some(path) = &args.identity_file {
        let text = secrets::identity_file(path)?;
        return Ok(Opener::identity_file(text.expose_secret())?);
    }
    if args.bundle_passphrase_file.is_some() || bundle::is_passphrase_bundle(file)? {
        return Ok(Opener::Passphrase(secrets::bundle_passphrase(
            args.bundle_passphrase_file.as_deref(),
        )?));
    }
    Err(Fail::usage(format!(
        "{} is encrypted to a recipient key: give the matching --identity-file",
        file.display()
    )))
}

fn describe_counts(c: &Counts) -> String {
    format!(
        "{} resource{} ({} version{}, {}), {} compan{}, {} grant{} and {} log entr{}",
        c.resources,
        plural(c.resources, "", "s"),
        c.versions,
        plural(c.versions, "", "s"),
        output::size(c.content_bytes),
        c.clients,
        plural(c.clients, "y", "ies"),
        c.grants,
        plural(c.grants, "", "s"),
        c.audit_entries,
        plural(c.audit_entries, "y", "ies"),
    )
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A path as it can be pasted into a shell.
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A progress bar on stderr when it is a terminal; silent otherwise.
struct Bar {
    bar: Option<ProgressBar>,
    phase: Option<Phase>,
}

impl Bar {
    fn new(quiet: bool) -> Bar {
        Bar {
            bar: (!quiet && std::io::stderr().is_terminal()).then(ProgressBar::hidden),
            phase: None,
        }
    }

    fn update(&mut self, p: &Progress) {
        let Some(bar) = &mut self.bar else { return };
        if self.phase != Some(p.phase) {
            bar.finish_and_clear();
            *bar = if p.bytes_total == 0 {
                let b = ProgressBar::new_spinner();
                b.set_style(
                    ProgressStyle::with_template("{spinner} {msg}: {pos} items")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b
            } else {
                let b = ProgressBar::new(p.bytes_total);
                b.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} · {prefix} items · {eta} left",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                b
            };
            bar.set_message(match p.phase {
                Phase::Hashing => "Reading the vault",
                Phase::Writing => "Writing",
                Phase::Verifying => "Checking the bundle",
                Phase::Staging => "Checking the bundle and staging its content",
                Phase::Restoring => "Restoring",
            });
            self.phase = Some(p.phase);
        }
        if p.bytes_total == 0 {
            bar.set_position(p.items_done);
        } else {
            bar.set_position(p.bytes_done);
            bar.set_prefix(format!("{}/{}", p.items_done, p.items_total));
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
