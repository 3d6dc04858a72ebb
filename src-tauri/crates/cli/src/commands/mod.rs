//! One module per group of commands; this one dispatches and holds the
//! shared steps (finding and unlocking the vault).

mod activity;
mod bundle;
mod content;
mod data;
mod linked;
mod prefs;
mod receipts;
mod serve;
mod sharing;
mod vault;

use std::path::PathBuf;

use custodian_core::vault::resolve_vault_dir;
use custodian_core::{PodPath, Vault};

use crate::cli::{Cli, Command};
use crate::fail::Fail;
use crate::secrets;

pub fn run(cli: Cli) -> Result<(), Fail> {
    let ctx = Context {
        vault: cli.vault,
        passphrase_file: cli.passphrase_file,
        allow_http_loopback: cli.unsafe_allow_http_loopback,
    };
    match cli.command {
        Command::Init => vault::init(&ctx),
        Command::Passwd(args) => vault::passwd(&ctx, args),
        Command::Recover(args) => vault::recover(&ctx, args),
        Command::Status(args) => vault::status(&ctx, args.json),
        Command::Verify(args) => vault::verify(&ctx, args.json),
        Command::Put(args) => data::put(&ctx, args),
        Command::Get(args) => data::get(&ctx, args),
        Command::Ls(args) => data::ls(&ctx, args),
        Command::Rm(args) => data::rm(&ctx, &args.path),
        Command::Mark(args) => data::mark(&ctx, args),
        Command::History(args) => data::history(&ctx, args),
        Command::Prefs(cmd) => prefs::run(&ctx, cmd),
        Command::Serve(args) => serve::run(&ctx, args),
        Command::Requests(cmd) => sharing::requests(&ctx, cmd),
        Command::Grants(cmd) => sharing::grants(&ctx, cmd),
        Command::Connect(args) => linked::connect(&ctx, args),
        Command::Deliver(args) => linked::deliver(&ctx, args),
        Command::Deliveries(args) => linked::deliveries(&ctx, args),
        Command::Receipts(cmd) => receipts::run(&ctx, cmd),
        Command::Log(args) => activity::log(&ctx, args),
        Command::Report(args) => activity::report(&ctx, args),
        Command::Export(args) => bundle::export(&ctx, args),
        Command::Import(args) => bundle::import(&ctx, args),
    }
}

/// The global options every command shares.
pub struct Context {
    vault: Option<PathBuf>,
    passphrase_file: Option<PathBuf>,
    /// `--unsafe-allow-http-loopback`.
    allow_http_loopback: bool,
}

impl Context {
    /// The vault directory these options name.
    fn vault_dir(&self) -> Result<PathBuf, Fail> {
        Ok(resolve_vault_dir(self.vault.clone())?)
    }

    /// Finds the vault, then asks for the passphrase and unlocks it. A missing
    /// or foreign vault is reported before anyone is asked for anything.
    fn unlock(&self) -> Result<Vault, Fail> {
        let dir = self.vault_dir()?;
        custodian_core::vault::inspect(&dir)?;
        let passphrase = secrets::current_passphrase(self.passphrase_file.as_deref())?;
        Ok(Vault::open(&dir, &passphrase)?)
    }
}

/// Parses a path given on the command line with the core's one normalizer.
fn parse_path(raw: &str) -> Result<PodPath, Fail> {
    Ok(custodian_core::parse_path(raw)?)
}
