/// Every command the app defines; the capability file grants the window
/// each one it uses.
const COMMANDS: &[&str] = &[
    "vault_status",
    "create_vault",
    "unlock",
    "recover",
    "lock_vault",
    "touch",
    "change_passphrase",
    "save_recovery_key",
    "get_settings",
    "save_settings",
    "list_container",
    "search_resources",
    "get_resource",
    "put_resource",
    "import_file_from_path",
    "save_resource_to",
    "delete_resource",
    "set_sensitive",
    "resource_history",
    "restore_version",
    "get_preferences",
    "save_preferences",
    "time_zones",
    "sharing_status",
    "start_sharing",
    "stop_sharing",
    "take_link",
    "connect_company",
    "deliveries",
    "send_now",
    "company_logo",
    "pending_requests",
    "approve_request",
    "deny_request",
    "list_grants",
    "revoke_grant",
    "revoke_client",
    "access_log",
    "access_report",
    "check_vault",
    "list_receipts",
    "open_receipt",
    "default_receipt_path",
    "save_receipt",
    "default_export_path",
    "export_bundle",
    "import_bundle",
    "restore_bundle",
];

fn main() {
    // Generate allow-/deny- permissions for the app's own commands, so the
    // capability file must list each command the window may call (app
    // commands are otherwise allowed by default).
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step");
}
