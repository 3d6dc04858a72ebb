//! `custodian`: the command line over custodian-core. Each command parses
//! its arguments, calls the core, and prints; every rule lives in the core.

mod cli;
mod commands;
mod fail;
mod output;
mod secrets;
mod when;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    init_logging();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            eprintln!("custodian: {}", fail.message);
            ExitCode::from(u8::try_from(fail.code).unwrap_or(1))
        }
    }
}

/// Diagnostics go to stderr, off by default; `CUSTODIAN_LOG=info` (or any
/// tracing filter) turns them on. Secrets are never logged at any level.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CUSTODIAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
