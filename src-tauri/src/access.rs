//! Requests from companies, and the grants the person gave.

use custodian_core::linked::LinkedCompany;
use custodian_core::sharing::grant::Grant;
use custodian_core::sharing::request::{AccessRequest, Approval};
use custodian_core::{parse_path, Category};
use serde::{Deserialize, Serialize};
use tauri::AppHandle;

use crate::error::AppResult;
use crate::state::AppState;
use crate::watch;

/// A grant as the window lists it: with its company, when that company
/// connected by a link (shown verified, with its deliveries).
#[derive(Debug, Serialize)]
pub struct GrantView {
    #[serde(flatten)]
    pub grant: Grant,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<LinkedCompany>,
}

/// The person's answer, as the window sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalInput {
    /// Paths to grant (a subset of those asked); empty = all asked.
    #[serde(default)]
    pub only: Vec<String>,
    /// Seconds, at most what was asked; `None` = as asked.
    #[serde(default)]
    pub lifetime_secs: Option<i64>,
    /// Sensitive categories ticked one by one.
    #[serde(default)]
    pub sensitive: Vec<Category>,
}

impl ApprovalInput {
    fn parse(self) -> AppResult<Approval> {
        let only = self
            .only
            .iter()
            .map(|p| parse_path(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Approval {
            only,
            lifetime: self.lifetime_secs,
            sensitive: self.sensitive,
        })
    }
}

#[tauri::command]
pub fn pending_requests(state: tauri::State<'_, AppState>) -> AppResult<Vec<AccessRequest>> {
    state.with_store(|store| Ok(store.access_requests(false)?))
}

/// Approves as asked or narrower (the core refuses anything wider).
#[tauri::command]
pub fn approve_request(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    id: String,
    approval: ApprovalInput,
) -> AppResult<Grant> {
    let approval = approval.parse()?;
    let grant = state.with_store(|store| Ok(store.approve_request(&id, &approval)?))?;
    state.outbox_changed();
    watch::requests_changed(&app, &state);
    Ok(grant)
}

#[tauri::command]
pub fn deny_request(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    id: String,
) -> AppResult<()> {
    state.with_store(|store| {
        store.deny_request(&id)?;
        Ok(())
    })?;
    state.outbox_changed();
    watch::requests_changed(&app, &state);
    Ok(())
}

/// Every grant: active ones first, then history (expired, revoked).
#[tauri::command]
pub fn list_grants(state: tauri::State<'_, AppState>) -> AppResult<Vec<GrantView>> {
    state.with_store(|store| {
        let mut grants = store.grants()?;
        grants.sort_by_key(|g| g.status != custodian_core::sharing::grant::GrantStatus::Active);
        grants
            .into_iter()
            .map(|grant| {
                let company = store.linked_company(&grant.client_id)?;
                Ok(GrantView { grant, company })
            })
            .collect()
    })
}

#[tauri::command]
pub fn revoke_grant(state: tauri::State<'_, AppState>, id: String) -> AppResult<Grant> {
    let grant = state.with_store(|store| Ok(store.revoke_grant(&id)?))?;
    state.outbox_changed();
    Ok(grant)
}

/// Cuts a company off: every grant it holds is revoked.
#[tauri::command]
pub fn revoke_client(state: tauri::State<'_, AppState>, client_id: String) -> AppResult<usize> {
    let n = state.with_store(|store| Ok(store.revoke_client(&client_id)?))?;
    state.outbox_changed();
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_takes_only_paths_the_normalizer_accepts() {
        let ok = ApprovalInput {
            only: vec!["/contact/".into()],
            lifetime_secs: Some(3600),
            sensitive: vec![Category::Health],
        }
        .parse()
        .unwrap();
        assert_eq!(ok.only[0].as_str(), "/contact/");
        assert_eq!(ok.lifetime, Some(3600));
        let bad = ApprovalInput {
            only: vec!["/contact/../finance/".into()],
            lifetime_secs: None,
            sensitive: vec![],
        }
        .parse()
        .unwrap_err();
        assert_eq!(bad.kind, "path_rejected");
        let json: Result<ApprovalInput, _> =
            serde_json::from_str(r#"{"only": [], "lifetime_secs": null, "wider": true}"#);
        assert!(json.is_err(), "unknown fields are refused");
    }
}
