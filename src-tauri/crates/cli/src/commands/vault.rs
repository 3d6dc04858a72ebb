//! init, passwd, recover, status, verify.

use custodian_core::data::resource::counts::Counted;
use custodian_core::{ExposeSecret, RecoveryKey, Vault};

use super::Context;
use crate::cli::{PasswdArgs, RecoverArgs};
use crate::fail::{code, Fail};
use crate::output::{self, print};
use crate::secrets;

pub fn init(ctx: &Context) -> Result<(), Fail> {
    let dir = ctx.vault_dir()?;
    // Refuse an occupied location before asking for a passphrase.
    if std::fs::read_dir(&dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(dir.is_file())
    {
        return Err(custodian_core::Error::VaultExists { path: dir }.into());
    }
    let passphrase = secrets::new_vault_passphrase(ctx.passphrase_file.as_deref())?;
    let created = Vault::create(&dir, &passphrase)?;
    let key = created.recovery_key.expose();
    print(&format!(
        "Created a vault at {}.\n\n\
         Your recovery key (shown once, never stored anywhere):\n\n    {}\n\n\
         Write it down or print it, and keep it offline, somewhere safe. It is the only\n\
         way back in if you forget your passphrase: `custodian recover` takes it.\n",
        dir.display(),
        key.expose_secret()
    ))
}

pub fn passwd(ctx: &Context, args: PasswdArgs) -> Result<(), Fail> {
    let dir = ctx.vault_dir()?;
    custodian_core::vault::inspect(&dir)?;
    // Gather and check both passphrases before touching the vault.
    let current = secrets::current_passphrase(ctx.passphrase_file.as_deref())?;
    let new = secrets::replacement_passphrase(args.new_passphrase_file.as_deref())?;
    custodian_core::vault::keys::check_new_passphrase(&new)?;
    let vault = Vault::open(&dir, &current)?;
    vault.change_passphrase(&new)?;
    print("Passphrase changed. The recovery key is unchanged.\n")
}

pub fn recover(ctx: &Context, args: RecoverArgs) -> Result<(), Fail> {
    let dir = ctx.vault_dir()?;
    custodian_core::vault::inspect(&dir)?;
    let text = secrets::recovery_key_text(args.recovery_key_file.as_deref())?;
    let key = RecoveryKey::parse(text.expose_secret())?;
    let new = secrets::replacement_passphrase(args.new_passphrase_file.as_deref())?;
    Vault::recover(&dir, &key, &new)?;
    print("New passphrase set. The recovery key stays the same: keep it safe.\n")
}

pub fn status(ctx: &Context, json: bool) -> Result<(), Fail> {
    let vault = ctx.unlock()?;
    let status = vault.status()?;
    if json {
        return output::print_json(&status);
    }
    let by_category = status
        .resources
        .by_category
        .iter()
        .map(|(c, n)| format!("{n} {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let resources = if by_category.is_empty() {
        "0".to_string()
    } else {
        format!("{} ({by_category})", status.resources.resources)
    };
    let rows = vec![
        vec!["Vault:".into(), status.path.display().to_string()],
        vec!["Id:".into(), status.id.to_string()],
        vec![
            "Pod id:".into(),
            format!("{} (signs your consent receipts)", status.pod_id),
        ],
        vec![
            "Format:".into(),
            format!(
                "vault format {}, schema {}",
                status.format_version, status.schema_version
            ),
        ],
        vec!["Created:".into(), output::when(status.created_at)],
        vec!["Resources:".into(), resources],
        vec![
            "Versions kept:".into(),
            status.resources.versions.to_string(),
        ],
        vec![
            "Sharing:".into(),
            format!(
                "{} pending request{}, {} active grant{}",
                status.pending_requests,
                plural(status.pending_requests),
                status.active_grants,
                plural(status.active_grants)
            ),
        ],
    ];
    print(&output::table(&rows))
}

/// `verify`: the whole-vault check. Counts that differed are rebuilt and
/// said so (exit 0); a damaged page or a broken log chain fails.
pub fn verify(ctx: &Context, json: bool) -> Result<(), Fail> {
    let vault = ctx.unlock()?;
    let check = vault.store().check_vault()?;
    if json {
        output::print_json(&check)?;
    }
    if !check.pages.is_empty() {
        return Err(Fail::new(
            code::ERROR,
            format!(
                "the vault's database is damaged: {} of its pages fail their check ({}). Restore it from a bundle you exported.",
                check.pages.len(),
                check.pages[0]
            ),
        ));
    }
    if let Some(seq) = check.log.as_ref().and_then(|l| l.first_broken) {
        return Err(super::activity::broken_log(seq));
    }
    if json {
        return Ok(());
    }
    let mut text = String::from("Every page of the vault's database authenticates.\n");
    if let Some(log) = &check.log {
        text.push_str(&super::activity::intact(log));
    }
    match &check.counts {
        Some(counts) if counts.repaired => {
            text.push_str(&format!(
                "{} of the counts `ls` and `status` show differed from a fresh count; they were rebuilt:\n",
                counts.differing
            ));
            for d in &counts.differences {
                text.push_str(&format!(
                    "  {}: {} kept, {} counted\n",
                    counted(&d.counted),
                    d.stored,
                    d.scanned
                ));
            }
            if counts.differing > counts.differences.len() as u64 {
                text.push_str(&format!(
                    "  and {} more\n",
                    counts.differing - counts.differences.len() as u64
                ));
            }
        }
        _ => text.push_str("The counts `ls` and `status` show match a fresh count.\n"),
    }
    print(&text)
}

fn counted(c: &Counted) -> String {
    match c {
        Counted::Container(path) => format!("resources under {path}"),
        Counted::Category(name) => format!("{name} resources"),
        Counted::Versions => "versions kept".into(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
