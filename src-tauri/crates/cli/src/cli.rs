//! The command line's shape: every command, flag and help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use custodian_core::limits::transfer::{MIN_RATE_BYTES_PER_SEC, TRANSFERS_PER_COMPANY};

mod data;
pub use data::{GetArgs, HistoryArgs, LsArgs, MarkArgs, PathArg, PutArgs};

/// Custodian: your personal data vault. Keep your data and preferences
/// encrypted on your own machine, and decide who may see what.
#[derive(Debug, Parser)]
#[command(name = "custodian", version)]
#[command(
    after_help = "The vault lives in $XDG_DATA_HOME/custodian unless --vault or CUSTODIAN_VAULT says otherwise.\nThe passphrase comes from --passphrase-file, else CUSTODIAN_PASSPHRASE, else a hidden prompt."
)]
pub struct Cli {
    /// The vault directory.
    #[arg(long, global = true, env = "CUSTODIAN_VAULT", value_name = "DIR")]
    pub vault: Option<PathBuf>,

    /// Read the passphrase from this file (first line) instead of prompting.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// UNSAFE, for developing a company's server only: allow plain http://
    /// to loopback addresses when connecting and delivering
    /// (CUSTODIAN_UNSAFE_ALLOW_HTTP_LOOPBACK=1 does the same).
    #[arg(long, global = true)]
    pub unsafe_allow_http_loopback: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new vault and show its recovery key once.
    Init,
    /// Change the vault's passphrase.
    Passwd(PasswdArgs),
    /// Set a new passphrase with the recovery key, if you forgot yours.
    Recover(RecoverArgs),
    /// Show where the vault is and what it holds.
    Status(JsonFlag),
    /// Check the whole vault: every page of its database, the access log's
    /// chain, and the counts `ls` and `status` show (rebuilt when they
    /// differ). Reads everything: it takes a while on a large vault.
    Verify(JsonFlag),
    /// Write a resource (JSON by default; any bytes with --file or -).
    Put(PutArgs),
    /// Print a resource's content (or, with --json, its metadata too; with
    /// --output, write it to a file).
    Get(GetArgs),
    /// List a container's members.
    Ls(LsArgs),
    /// Delete a resource; its versions stay in its history.
    Rm(PathArg),
    /// Mark a resource sensitive, or lower its mark, keeping its content.
    Mark(MarkArgs),
    /// List every version of a resource.
    History(HistoryArgs),
    /// Show or change communication preferences.
    #[command(subcommand)]
    Prefs(PrefsCommand),
    /// Run the pod API for companies until interrupted (Ctrl-C / SIGTERM).
    Serve(ServeArgs),
    /// Answer companies' requests for access: list, show, approve, deny.
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// See and revoke what companies have been granted.
    #[command(subcommand)]
    Grants(GrantsCommand),
    /// Connect a company on the internet by the link it gave you (or its
    /// https request address): fetches and checks its signed request and
    /// adds it to `requests list`.
    Connect(ConnectArgs),
    /// Send what is due to companies on the internet (answers, updates,
    /// revocations) and take their feeds; --watch keeps going.
    Deliver(DeliverArgs),
    /// What is queued, failed and delivered to companies on the internet;
    /// `deliveries retry ID` sends again now.
    Deliveries(DeliveriesArgs),
    /// Consent receipts: the pod's signed record of every decision about a
    /// company's access (list, show, export, verify).
    #[command(subcommand)]
    Receipts(ReceiptsCommand),
    /// The access log: every request companies made, and what you decided.
    Log(LogArgs),
    /// Per company: grants, requests allowed and denied, what was read.
    Report(ReportArgs),
    /// Write everything in the vault to an encrypted bundle you can open
    /// with `age` and `tar` alone.
    Export(ExportArgs),
    /// Restore a bundle into a new vault (or --merge it into this one).
    Import(ImportArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("seal").args(["recipient", "bundle_passphrase_file", "plain"]))]
pub struct ExportArgs {
    /// The bundle to write (default: custodian-YYYY-MM-DD.custodian.age here);
    /// with --plain, a new directory.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Encrypt to this age recipient (age1…) instead of a passphrase.
    #[arg(long, value_name = "AGE1…")]
    pub recipient: Option<String>,
    /// Read the bundle's passphrase from this file (else
    /// CUSTODIAN_BUNDLE_PASSPHRASE, else a prompt that asks twice).
    #[arg(long, value_name = "FILE")]
    pub bundle_passphrase_file: Option<PathBuf>,
    /// Write plain, UNENCRYPTED files into a new directory instead.
    #[arg(long, requires = "out")]
    pub plain: bool,
    /// Replace the file at --out if there is one.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("key").args(["identity_file", "bundle_passphrase_file"]))]
pub struct ImportArgs {
    /// The bundle (*.custodian.age).
    pub file: PathBuf,
    /// The age identity file for a bundle encrypted to a recipient.
    #[arg(long, value_name = "FILE")]
    pub identity_file: Option<PathBuf>,
    /// Read the bundle's passphrase from this file (else
    /// CUSTODIAN_BUNDLE_PASSPHRASE, else a prompt).
    #[arg(long, value_name = "FILE")]
    pub bundle_passphrase_file: Option<PathBuf>,
    /// Add what this vault is missing instead of making a new vault; never
    /// overwrites, and lists what differs.
    #[arg(long)]
    pub merge: bool,
    /// The new vault's passphrase from this file (else
    /// CUSTODIAN_NEW_PASSPHRASE, else a prompt that asks twice).
    #[arg(long, value_name = "FILE", conflicts_with = "merge")]
    pub new_passphrase_file: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// List requests waiting for your answer (--all: every request).
    List {
        /// Include answered and expired requests.
        #[arg(long)]
        all: bool,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Show who asks, for what, why and for how long.
    Show {
        /// The request's id (req_…) or the user code the company shows (WDJB-MJHT).
        id: String,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Grant the request as asked, or narrower.
    Approve(ApproveArgs),
    /// Refuse the request; the company is told on its next poll.
    Deny {
        /// The request's id (req_…) or user code.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The request's id (req_…) or user code.
    pub id: String,
    /// Grant only this path (within what was asked); repeat for several.
    #[arg(long, value_name = "PATH")]
    pub only: Vec<String>,
    /// Make the grant end sooner than asked, e.g. 1h, 7d, 2w.
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
    /// Also grant a sensitive category that was asked for (health, finance,
    /// location); never granted unless named here. Repeat for several.
    #[arg(long, value_name = "CATEGORY")]
    pub allow_sensitive: Vec<String>,
    /// Print the grant as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// List grants: active ones first, then expired and revoked as history.
    List {
        /// Only grants in force now.
        #[arg(long)]
        active: bool,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Show one grant in full.
    Show {
        /// The grant's id (grt_…).
        id: String,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a grant, or with --client every grant a company holds. Takes
    /// effect on the company's very next request.
    #[command(group = clap::ArgGroup::new("which").required(true).args(["id", "client"]))]
    Revoke {
        /// The grant's id (grt_…).
        id: Option<String>,
        /// Cut a company off entirely: its client id (cli_…) or its name.
        #[arg(long, value_name = "CLIENT")]
        client: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// List receipts, newest first: what was given, refused, withdrawn or
    /// ended, and when.
    List {
        /// Only this company: its client id (cli_…) or its name.
        #[arg(long, value_name = "CLIENT")]
        client: Option<String>,
        /// Print JSON, for scripts (each with its compact JWS).
        #[arg(long)]
        json: bool,
    },
    /// Show one receipt decoded: the decision, the company, what was given
    /// (and asked), why, for how long, how to withdraw.
    Show {
        /// The receipt's id (rcp_…).
        id: String,
        /// Print the receipt's header and claims as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a receipt's compact JWS to a file, to keep or hand to anyone
    /// who wants to check it.
    Export {
        /// The receipt's id (rcp_…).
        id: String,
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace the file at --out if there is one.
        #[arg(long)]
        force: bool,
    },
    /// Check a receipt file: signed by this pod's key, and its log head in
    /// this vault's access log. Says exactly what fails.
    Verify {
        /// A file holding a receipt's compact JWS.
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LogArgs {
    #[command(subcommand)]
    pub command: Option<LogCommand>,
    /// Only this company: its client id (cli_…) or its name.
    #[arg(long, value_name = "CLIENT")]
    pub client: Option<String>,
    /// Only entries since then: a duration back from now (30m, 12h, 7d) or a
    /// date (2026-11-01) or time (2026-11-01T09:00:00Z).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only refused requests.
    #[arg(long)]
    pub denied: bool,
    /// Show at most this many of the newest entries (0: all).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: u64,
    /// Print JSON, for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Check the log's hash chain; names the first broken entry, if any.
    Verify(JsonFlag),
    /// Show or set how long entries are kept (by default, all of them for
    /// ever). Older entries are replaced by one checkpoint entry that keeps
    /// the chain verifiable; `custodian serve` applies the policy when it
    /// starts.
    Retain(RetainArgs),
}

#[derive(Debug, Args)]
pub struct RetainArgs {
    /// Keep entries this recent (90d, 1y, …) and replace older ones by a
    /// checkpoint, now and from now on.
    #[arg(long, value_name = "DURATION", conflicts_with = "keep_all")]
    pub older_than: Option<String>,
    /// Keep every entry for ever again (the default).
    #[arg(long)]
    pub keep_all: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The window: a duration back from now (30d, 1w), a date, or `all`.
    #[arg(long, value_name = "WHEN", default_value = "30d")]
    pub since: String,
    /// Print JSON, for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON, for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// Read the new passphrase from this file instead of CUSTODIAN_NEW_PASSPHRASE or a prompt.
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The file holding the recovery key (AGE-SECRET-KEY-1…); prompts if omitted.
    #[arg(long, value_name = "FILE")]
    pub recovery_key_file: Option<PathBuf>,
    /// Read the new passphrase from this file instead of CUSTODIAN_NEW_PASSPHRASE or a prompt.
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; loopback by default. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = custodian_server::DEFAULT_BIND)]
    pub bind: std::net::SocketAddr,
    /// A public host name the pod also answers to (besides its loopback names).
    #[arg(long, value_name = "HOST")]
    pub public_name: Option<String>,
    /// Largest request body the OAuth endpoints accept, in bytes (larger
    /// gets 413); a write under /pod/ may be as large as the vault keeps.
    #[arg(long, value_name = "BYTES", default_value_t = custodian_server::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Connections served at once; more wait in the backlog.
    #[arg(long, value_name = "N", default_value_t = custodian_server::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65_536))]
    pub max_connections: usize,
    /// How long a connection has to send a request's header (less while
    /// the pod is busy); an idle kept-alive connection is closed after it.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = positive_duration)]
    pub header_timeout: std::time::Duration,
    /// How long a request's body may take to arrive (then 408); a large
    /// body under /pod/ may take longer but never pause this long.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration)]
    pub body_timeout: std::time::Duration,
    /// How long stopping waits for requests still running.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = positive_duration)]
    pub shutdown_grace: std::time::Duration,
    /// Large transfers (a resource over 256 KiB read or written under
    /// /pod/) one company may have under way at once; one more gets 429.
    /// At most half the pod's stream slots (4 slots, so at most 2): a
    /// company at its cap always leaves the other half to the others.
    #[arg(long, value_name = "N", default_value_t = TRANSFERS_PER_COMPANY,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new()
              .range(1..=custodian_server::MAX_TRANSFERS_PER_COMPANY as u64))]
    pub transfers_per_company: usize,
    /// The slowest average rate a large transfer may keep, in KiB per
    /// second, judged every 30 s after the first 30 s; slower is cut (an
    /// upload gets 408 and stores nothing). 0 turns the floor off.
    #[arg(long, value_name = "KIB_PER_SEC", default_value_t = MIN_RATE_BYTES_PER_SEC / 1024)]
    pub min_transfer_rate: u64,
}

/// A duration people type (`500ms`, `10s`, `2m`), more than zero.
fn positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be more than zero".into()),
        Err(e) => Err(format!("{e}; write a duration such as 500ms, 10s or 2m")),
    }
}

#[derive(Debug, Subcommand)]
pub enum PrefsCommand {
    /// Show the communication preferences.
    Show(JsonFlag),
    /// Change one preference, e.g. `channels.sms false`,
    /// `quiet_hours 21:00-08:00 Europe/London`, `frequency_cap 2/week`,
    /// `topics orders,offers`, `personalisation light`, `do_not_sell true`.
    Set {
        /// channels.email|sms|phone|post|push, quiet_hours, frequency_cap,
        /// topics, personalisation, do_not_sell.
        key: String,
        /// The new value (several words are joined with spaces).
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        value: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The link (custodian://connect?client_id=…&request_uri=…) or the
    /// https address of the company's request.
    pub link: String,
    /// Print the request as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// Keep going until Ctrl-C (or SIGTERM), waking when the next delivery
    /// is due.
    #[arg(long)]
    pub watch: bool,
    /// Print the summary as JSON (with --watch: one line per round).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DeliveriesArgs {
    #[command(subcommand)]
    pub command: Option<DeliveriesCommand>,
    /// Only this grant's deliveries.
    #[arg(long, value_name = "ID")]
    pub grant: Option<String>,
    /// Print JSON, for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// Send a grant's or request's failed and waiting deliveries now.
    Retry {
        /// A grant id (grt_…) or request id (req_…).
        id: String,
    },
}

#[cfg(test)]
mod tests;
