//! The desktop app: a Tauri shell. Commands parse, call custodian-core (and
//! custodian-server for sharing), and map errors to `{kind, message}`; no
//! rule lives here. One module per area of the window.

mod access;
mod activity;
mod bundle;
mod companies;
mod courier;
mod data;
mod error;
mod files;
mod links;
mod preferences;
mod receipts;
mod session;
mod settings;
mod sharing;
mod state;
#[cfg(test)]
mod ui_types;
mod watch;

use std::path::PathBuf;

use state::AppState;

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

/// Starts the app on the vault given by `--vault DIR`, else
/// `CUSTODIAN_VAULT`, else the platform data directory. Failing to start is
/// fatal, with the reason on stderr.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CUSTODIAN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let vault_dir =
        match custodian_core::vault::resolve_vault_dir(vault_arg(std::env::args().skip(1))) {
            Ok(dir) => dir,
            Err(e) => {
                eprintln!("custodian-desktop: {e}");
                std::process::exit(1);
            }
        };
    let result = links::plugins(tauri::Builder::default())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::new(vault_dir))
        .manage(watch::Seen::default())
        .manage(companies::Door::from_env())
        .setup(|app| {
            links::setup(app.handle());
            watch::start(app.handle().clone());
            courier::start(app.handle().clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            session::vault_status,
            session::create_vault,
            session::unlock,
            session::recover,
            session::lock_vault,
            session::touch,
            session::change_passphrase,
            session::save_recovery_key,
            session::get_settings,
            session::save_settings,
            data::list_container,
            data::search_resources,
            data::get_resource,
            data::put_resource,
            files::import_file_from_path,
            files::save_resource_to,
            data::delete_resource,
            data::set_sensitive,
            data::resource_history,
            data::restore_version,
            preferences::get_preferences,
            preferences::save_preferences,
            preferences::time_zones,
            sharing::sharing_status,
            sharing::start_sharing,
            sharing::stop_sharing,
            links::take_link,
            companies::connect_company,
            companies::deliveries,
            companies::send_now,
            companies::company_logo,
            access::pending_requests,
            access::approve_request,
            access::deny_request,
            access::list_grants,
            access::revoke_grant,
            access::revoke_client,
            activity::access_log,
            activity::access_report,
            activity::check_vault,
            receipts::list_receipts,
            receipts::open_receipt,
            receipts::default_receipt_path,
            receipts::save_receipt,
            bundle::default_export_path,
            bundle::export_bundle,
            bundle::import_bundle,
            bundle::restore_bundle,
        ])
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
