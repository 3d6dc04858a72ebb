//! Sharing: the pod API for companies, run inside the app on loopback while
//! the person has it switched on. Locking the vault closes its gate (503
//! `vault_locked`) without dropping the address; unlocking reopens it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use custodian_core::Vault;
use custodian_server::{Gate, ServeOptions};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::error::{AppError, AppResult};
use crate::state::{lock, AppState};

/// A running pod API.
pub struct Sharing {
    gate: Arc<Gate>,
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Sharing {
    pub fn open(&self, vault: &Vault) -> custodian_core::Result<()> {
        self.gate.open(vault)
    }

    pub fn close(&self) {
        self.gate.close();
    }
}

impl Drop for Sharing {
    fn drop(&mut self) {
        self.gate.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What the window shows about sharing.
#[derive(Debug, Serialize)]
pub struct SharingStatus {
    pub on: bool,
    pub port: u16,
    pub address: Option<String>,
    pub error: Option<String>,
}

fn status(state: &AppState, error: Option<String>) -> SharingStatus {
    let sharing = lock(&state.sharing);
    let port = lock(&state.settings).sharing_port;
    SharingStatus {
        on: sharing.is_some(),
        port: sharing.as_ref().map(|s| s.address.port()).unwrap_or(port),
        address: sharing.as_ref().map(|s| format!("http://{}", s.address)),
        error,
    }
}

#[tauri::command]
pub fn sharing_status(state: tauri::State<'_, AppState>) -> AppResult<SharingStatus> {
    Ok(status(&state, None))
}

/// Starts the pod API on `127.0.0.1:PORT` (the settings' port unless one is
/// given). A port already taken is reported in `error`, not thrown, so the
/// switch can show it beside itself.
#[tauri::command(async)]
pub fn start_sharing(
    state: tauri::State<'_, AppState>,
    port: Option<u16>,
) -> AppResult<SharingStatus> {
    if !state.is_unlocked() {
        return Err(AppError::locked());
    }
    let mut sharing = lock(&state.sharing);
    if sharing.is_some() {
        drop(sharing);
        return Ok(status(&state, None));
    }
    let port = port.unwrap_or_else(|| lock(&state.settings).sharing_port);
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = match std::net::TcpListener::bind(bind) {
        Ok(l) => l,
        Err(e) => {
            drop(sharing);
            let why = if e.kind() == std::io::ErrorKind::AddrInUse {
                format!("port {port} is in use by another program; choose another port in Settings")
            } else {
                format!("cannot listen on {bind}: {e}")
            };
            return Ok(status(&state, Some(why)));
        }
    };
    listener
        .set_nonblocking(true)
        .map_err(|e| AppError::new("io", format!("cannot listen on {bind}: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| AppError::new("io", format!("cannot listen on {bind}: {e}")))?;
    let gate = Gate::new(
        address,
        ServeOptions {
            bind: address,
            ..ServeOptions::default()
        },
    );
    state.with_vault(|vault| Ok(gate.open(vault)?))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let served = Arc::clone(&gate);
    tauri::async_runtime::spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "sharing could not use its listener");
                return;
            }
        };
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = custodian_server::serve_gated(served, listener, shutdown).await {
            tracing::error!(error = %e, "the pod API stopped");
        }
    });
    tracing::info!(%address, "sharing on");
    *sharing = Some(Sharing {
        gate,
        address,
        stop: Some(stop),
    });
    drop(sharing);
    Ok(status(&state, None))
}

/// Stops the pod API; requests already running finish.
#[tauri::command(async)]
pub fn stop_sharing(state: tauri::State<'_, AppState>) -> AppResult<SharingStatus> {
    let old = lock(&state.sharing).take();
    if old.is_some() {
        tracing::info!("sharing off");
    }
    drop(old);
    Ok(status(&state, None))
}
