//! `custodian:` links, as the desktop hands them over: the scheme is
//! registered (the .deb's desktop entry carries it; an AppImage or a
//! development build registers itself at start, where `xdg-mime` is
//! installed), a link opened while the
//! app runs reaches the running window (single-instance over D-Bus on
//! Linux, then the deep-link plugin), and a link on the command line at
//! start counts too. The link waits here until the window takes it
//! ([`take_link`]): the window is told by a `connect-link` event, and asks
//! again after unlocking, so a link that arrives while locked is not lost.
//! Nothing is fetched here; Sharing → "Connect a company" does that.

use std::sync::Mutex;

use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::state::lock;

/// The scheme the app answers (also in tauri.conf.json's deep-link plugin
/// configuration, which is what the plugin and the bundler read).
pub const SCHEME: &str = "custodian";

/// The event telling the window that a link is waiting.
pub const EVENT: &str = "connect-link";

/// The link that arrived last and the window has not taken yet.
#[derive(Default)]
pub struct Waiting(Mutex<Option<String>>);

impl Waiting {
    /// Keeps `link` when it is one of ours; the newest link wins.
    fn offer(&self, link: &str) -> bool {
        if !is_ours(link) {
            return false;
        }
        *lock(&self.0) = Some(link.to_string());
        true
    }

    fn take(&self) -> Option<String> {
        lock(&self.0).take()
    }
}

/// Whether `link` uses our scheme (case-insensitive, as URL schemes are).
fn is_ours(link: &str) -> bool {
    link.split_once(':')
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case(SCHEME))
}

/// Adds the two plugins: single-instance first, as its documentation
/// requires (a second instance hands its arguments over, and exits, before
/// anything else starts), then deep-link.
pub fn plugins<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            // With the `deep-link` feature the plugin has already passed the
            // arguments to the deep-link plugin (see `setup`); whatever they
            // were, someone started Custodian again: show the window.
            bring_to_front(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
}

/// At start: registers the scheme where nothing installed it, keeps a link
/// given on the command line, and listens for the next ones.
pub fn setup<R: Runtime>(app: &AppHandle<R>) {
    app.manage(Waiting::default());
    if registers_at_run_time(app.env().appimage.is_some()) {
        if on_path("xdg-mime") {
            if let Err(e) = app.deep_link().register_all() {
                tracing::warn!(error = %e, "could not register the custodian: links with the desktop");
            }
        } else {
            tracing::info!(
                "no xdg-mime (xdg-utils): custodian: links are not registered with the desktop"
            );
        }
    }
    match app.deep_link().get_current() {
        Ok(Some(urls)) => {
            for url in urls {
                app.state::<Waiting>().offer(url.as_str());
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not read the link Custodian was started with"),
    }
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        let mut arrived = false;
        for url in event.urls() {
            arrived |= handle.state::<Waiting>().offer(url.as_str());
        }
        if arrived {
            let _ = handle.emit(EVENT, ());
            bring_to_front(&handle);
        }
    });
}

/// Whether to register the scheme at start (Linux only): an installed
/// package (.deb) registers it through its desktop entry, so only an
/// AppImage and a development build do it themselves, as the plugin's
/// documentation advises for runs that were not installed.
fn registers_at_run_time(appimage: bool) -> bool {
    cfg!(target_os = "linux") && (appimage || cfg!(debug_assertions))
}

/// Whether `program` is on PATH (registering the scheme runs `xdg-mime`).
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn bring_to_front<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The link waiting for the window, if any; taking it clears it.
#[tauri::command]
pub fn take_link(waiting: tauri::State<'_, Waiting>) -> Option<String> {
    waiting.take()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_our_links_and_the_newest() {
        let w = Waiting::default();
        assert!(!w.offer("https://shop.test/req"));
        assert!(!w.offer("custodianx://connect"));
        assert_eq!(w.take(), None);
        assert!(w.offer("custodian://connect?a=1"));
        assert!(w.offer("CUSTODIAN://connect?a=2"));
        assert_eq!(w.take().as_deref(), Some("CUSTODIAN://connect?a=2"));
        assert_eq!(w.take(), None, "taken once");
    }

    #[test]
    fn registers_only_when_not_installed() {
        assert_eq!(
            registers_at_run_time(true),
            cfg!(target_os = "linux"),
            "an AppImage registers itself on Linux"
        );
        assert_eq!(
            registers_at_run_time(false),
            cfg!(target_os = "linux") && cfg!(debug_assertions)
        );
    }
}
