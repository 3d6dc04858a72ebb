//! Companies on the internet, in the window: connecting one by its link
//! (custodian-link fetches and checks under the network rules, the core
//! stores the request as pending), the deliveries of a linked company's
//! grants and "Send now", and its logo. The vault is reached one short step
//! at a time ([`Unlocked`]), never across a network wait.

use std::collections::HashMap;
use std::sync::Mutex;

use custodian_core::linked::{DeliveryFilter, DeliveryStatus};
use custodian_core::sharing::request::AccessRequest;
use custodian_link::{LinkError, Net, VaultAccess};
use tauri::AppHandle;

use crate::error::{AppError, AppResult};
use crate::state::{lock, AppState};
use crate::watch;

/// The outward door, set up once at start from the environment (the
/// network switches and, in test builds, the test hooks).
pub struct Door {
    net: Result<Net, String>,
    /// Logos already fetched (or found not showable), by client id.
    logos: Mutex<HashMap<String, Option<String>>>,
}

impl Door {
    pub fn from_env() -> Door {
        let net = Net::from_env().map_err(|e| e.to_string());
        if let Err(e) = &net {
            tracing::error!(error = %e, "no outward network: companies cannot connect");
        }
        Door {
            net,
            logos: Mutex::default(),
        }
    }

    pub fn net(&self) -> AppResult<&Net> {
        self.net.as_ref().map_err(|e| {
            AppError::new(
                "network",
                format!(
                    "Custodian cannot reach companies: {e}; restart it, and check its settings"
                ),
            )
        })
    }
}

/// The unlocked vault, lent to the link door one step at a time. A step
/// is not the person's activity (it does not put off auto-lock), and once
/// the vault locks every step fails with [`LinkError::Locked`].
pub struct Unlocked<'a>(pub &'a AppState);

impl VaultAccess for Unlocked<'_> {
    fn with_store<T>(
        &self,
        step: impl FnOnce(&custodian_core::Store) -> custodian_core::Result<T>,
    ) -> Result<T, LinkError> {
        self.0
            .with_store_quietly(step)
            .ok_or(LinkError::Locked)?
            .map_err(LinkError::Core)
    }
}

/// The door's errors in the window's words: the rule or failure first (the
/// link crate says which), then what to do.
pub fn link_error(e: LinkError) -> AppError {
    match e {
        LinkError::Core(e) => AppError::from(e),
        LinkError::Locked => AppError::locked(),
        LinkError::Fetch { .. } | LinkError::Net(_) => AppError::new(
            "network",
            format!("{e}. Nothing was stored; check the link, or ask the company"),
        ),
    }
}

/// Fetches and checks a company's request from its link or request
/// address; the request then waits in Sharing like any other.
#[tauri::command]
pub async fn connect_company(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    door: tauri::State<'_, Door>,
    link: String,
) -> AppResult<AccessRequest> {
    state.touch();
    let net = door.net()?;
    let request = custodian_link::connect(net, &Unlocked(&state), &link)
        .await
        .map_err(link_error)?;
    watch::requests_changed(&app, &state);
    Ok(request)
}

/// The deliveries of one grant (or all), in queue order.
#[tauri::command]
pub fn deliveries(
    state: tauri::State<'_, AppState>,
    grant: Option<String>,
) -> AppResult<Vec<DeliveryStatus>> {
    state.with_store(|store| {
        Ok(store.deliveries(DeliveryFilter {
            grant_id: grant,
            ..DeliveryFilter::default()
        })?)
    })
}

/// "Send now": a grant's (or request's, or one delivery's) queued and
/// failed deliveries become due at once; the delivery task is woken.
#[tauri::command]
pub fn send_now(state: tauri::State<'_, AppState>, id: String) -> AppResult<usize> {
    let n = state.with_store(|store| Ok(store.send_now(&id)?))?;
    state.outbox_changed();
    Ok(n)
}

/// A linked company's logo as a `data:` URL, fetched once under the
/// network rules; `None` when it has none or it cannot be shown.
#[tauri::command]
pub async fn company_logo(
    state: tauri::State<'_, AppState>,
    door: tauri::State<'_, Door>,
    client_id: String,
) -> AppResult<Option<String>> {
    if let Some(known) = lock(&door.logos).get(&client_id) {
        return Ok(known.clone());
    }
    let company = state.with_store(|store| Ok(store.linked_company(&client_id)?))?;
    let Some(logo_uri) = company.and_then(|c| c.logo_uri) else {
        return Ok(None);
    };
    let logo = custodian_link::logo_data_url(door.net()?, &logo_uri).await;
    lock(&door.logos).insert(client_id, logo.clone());
    Ok(logo)
}
