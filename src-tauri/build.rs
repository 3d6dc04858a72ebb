fn main() {
    // Generate allow-/deny- permissions for the app's own commands, so the
    // capability file must list each command the window may call (app
    // commands are otherwise allowed by default).
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(&["vault_status"])),
    )
    .expect("tauri build step");
}
