//! The desktop app: a Tauri shell. Commands parse, call custodian-core, and
//! map its errors to `{kind, message}`; no rule lives here.

mod error;
mod vault;

use std::path::PathBuf;

/// The vault this window shows: `--vault DIR`, else `CUSTODIAN_VAULT`, else
/// the platform data directory.
pub struct AppState {
    pub vault_dir: PathBuf,
}

/// `--vault DIR` or `--vault=DIR` from the command line, if given.
fn vault_arg(args: impl IntoIterator<Item = String>) -> Option<PathBuf> {
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--vault" {
            return args.next().map(PathBuf::from);
        }
        if let Some(dir) = arg.strip_prefix("--vault=") {
            return Some(PathBuf::from(dir));
        }
    }
    None
}

/// Starts the app. Failing to start is fatal, with the reason on stderr.
pub fn run() {
    let vault_dir =
        match custodian_core::vault::resolve_vault_dir(vault_arg(std::env::args().skip(1))) {
            Ok(dir) => dir,
            Err(e) => {
                eprintln!("custodian-desktop: {e}");
                std::process::exit(1);
            }
        };
    let result = tauri::Builder::default()
        .manage(AppState { vault_dir })
        .invoke_handler(tauri::generate_handler![vault::vault_status])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("custodian-desktop: could not start: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_the_vault_flag_in_both_forms() {
        assert_eq!(
            vault_arg(args(&["--vault", "/v"])),
            Some(PathBuf::from("/v"))
        );
        assert_eq!(vault_arg(args(&["--vault=/w"])), Some(PathBuf::from("/w")));
        assert_eq!(vault_arg(args(&["--other"])), None);
        assert_eq!(vault_arg(args(&["--vault"])), None);
    }
}
