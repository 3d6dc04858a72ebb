//! The data commands' arguments: `put`, `mark`, `get`, `ls`, `history`
//! (and the bare path other commands take).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["json", "file", "stdin"]))]
pub struct PutArgs {
    /// Where to write, e.g. /contact/email.
    pub path: String,
    /// The content as JSON text.
    #[arg(long, value_name = "JSON")]
    pub json: Option<String>,
    /// Read the content from a file (up to 16 GiB; streamed, with a
    /// progress line on a terminal for large files).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// `-` reads the content from standard input.
    #[arg(value_name = "-", value_parser = clap::builder::PossibleValuesParser::new(["-"]))]
    pub stdin: Option<String>,
    /// The category (profile, contact, address, preferences, interests,
    /// purchases, finance, health, location, documents, other); default: from the path.
    #[arg(long, value_name = "CATEGORY")]
    pub category: Option<String>,
    /// The content type; default application/json for JSON (content over
    /// 256 KiB only when the file name ends in .json), else
    /// application/octet-stream.
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,
    /// Mark the resource sensitive even if its category is not. A mark
    /// stays through later edits until you lower it.
    #[arg(long, conflicts_with = "not_sensitive")]
    pub sensitive: bool,
    /// Lower the resource's sensitive mark (logged). Health, finance and
    /// location data stay sensitive whatever the mark.
    #[arg(long)]
    pub not_sensitive: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("mark").args(["sensitive", "not_sensitive"]).required(true))]
pub struct MarkArgs {
    /// The resource, e.g. /documents/passport.
    pub path: String,
    /// Mark it sensitive: no grant reaches it (health, finance and location
    /// data only where you tick that category).
    #[arg(long)]
    pub sensitive: bool,
    /// Lower its sensitive mark (logged).
    #[arg(long)]
    pub not_sensitive: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The resource, e.g. /contact/email.
    pub path: String,
    /// An earlier version (see `custodian history`).
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,
    /// Print metadata and content as JSON (content up to 256 KiB; write
    /// larger content to a file with --output).
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
    /// Write the content to FILE instead of standard output. It appears
    /// under that name only when complete: a failed read leaves no half file.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// The container to list (default: /).
    pub container: Option<String>,
    /// List at most this many members (1 to 5000).
    #[arg(long, default_value_t = custodian_core::data::resource::LIST_DEFAULT as u64,
          value_parser = clap::value_parser!(u64).range(1..=custodian_core::data::resource::LIST_MAX as u64))]
    pub limit: u64,
    /// Start after this member (a name in the container, or its path): the
    /// last one the page before showed.
    #[arg(long, value_name = "NAME")]
    pub after: Option<String>,
    /// Print JSON, for scripts: `{"entries": [...], "next": …}`, `next`
    /// being the `--after` of the next page (null on the last).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PathArg {
    /// The resource, e.g. /contact/email.
    pub path: String,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The resource, e.g. /contact/email.
    pub path: String,
    /// Print JSON, for scripts.
    #[arg(long)]
    pub json: bool,
}
