//! Consent receipts: the signed record the vault keeps of each decision
//! about a company's access. Listed (all, a company's, a grant's or a
//! request's), opened decoded with whether this vault vouches for it, and
//! saved as the compact JWS to a file the person names.

use std::path::PathBuf;

use custodian_core::sharing::receipts::{self, LogHeadCheck, Receipt};
use custodian_core::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Which receipts the window asks for: at most one of the three; none = all.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptQuery {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub grant_id: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
}

/// A receipt with its claims decoded (not verified) for display.
#[derive(Debug, Serialize)]
pub struct DecodedReceipt {
    #[serde(flatten)]
    pub receipt: Receipt,
    /// `null` when the stored JWS does not decode: one damaged receipt
    /// must not hide the others (opening it says what fails).
    pub claims: Value,
}

impl DecodedReceipt {
    pub(crate) fn of(receipt: Receipt) -> DecodedReceipt {
        let claims = receipts::decode(&receipt.jws).unwrap_or(Value::Null);
        DecodedReceipt { receipt, claims }
    }
}

/// Whether this vault vouches for a receipt: its own key signed it and the
/// log head it names is in this vault's chain; else exactly what fails.
#[derive(Debug, Serialize, PartialEq)]
pub struct Verification {
    pub verified: bool,
    pub message: String,
}

/// One receipt as the Receipt view shows it.
#[derive(Debug, Serialize)]
pub struct ReceiptView {
    pub receipt: DecodedReceipt,
    pub verification: Verification,
}

/// Newest first. Grants that reached their end since the last look get
/// their `expired` receipt first (expiry happens with no event).
#[tauri::command]
pub fn list_receipts(
    state: tauri::State<'_, AppState>,
    query: ReceiptQuery,
) -> AppResult<Vec<DecodedReceipt>> {
    state.with_store(|store| find(store, query))
}

fn find(store: &Store, query: ReceiptQuery) -> AppResult<Vec<DecodedReceipt>> {
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let (client, grant, request) = (
        nonempty(query.client_id),
        nonempty(query.grant_id),
        nonempty(query.request_id),
    );
    store.record_expirations()?;
    let found = match (client, grant, request) {
        (client, None, None) => store.receipts(client.as_deref())?,
        (None, Some(grant), None) => store.receipts_for_grant(&grant)?,
        (None, None, Some(request)) => store.receipts_for_request(&request)?,
        _ => {
            return Err(AppError::invalid(
                "ask for a company's, a grant's or a request's receipts, not several at once",
            ))
        }
    };
    Ok(found.into_iter().map(DecodedReceipt::of).collect())
}

/// The receipt decoded, and checked against this vault.
#[tauri::command]
pub fn open_receipt(state: tauri::State<'_, AppState>, id: String) -> AppResult<ReceiptView> {
    state.with_store(|store| {
        let receipt = store.receipt(&id)?;
        let verification = verification(store.verify_receipt(&receipt.jws))?;
        Ok(ReceiptView {
            receipt: DecodedReceipt::of(receipt),
            verification,
        })
    })
}

/// A verification's outcome in words: what was checked, or the one check
/// that failed. Any other error (the database, say) is an error, not a
/// verdict on the receipt.
fn verification(
    outcome: custodian_core::Result<receipts::VerifiedReceipt>,
) -> AppResult<Verification> {
    match outcome {
        Ok(verified) => Ok(Verification {
            verified: true,
            message: match verified.log_head {
                LogHeadCheck::InChain { seq } => format!(
                    "signed by this vault's key, and the access-log entry it names (#{seq}) is in this vault's log, intact up to it"
                ),
                LogHeadCheck::RemovedByRetention { seq, through } => format!(
                    "signed by this vault's key; the access-log entry it names (#{seq}) was removed by the log's retention (a checkpoint stands for entries up to #{through}), so only that it was there can be checked"
                ),
            },
        }),
        Err(custodian_core::Error::ReceiptInvalid { fault }) => Ok(Verification {
            verified: false,
            message: fault.to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// The file name a receipt is offered under.
fn file_name(id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("custodian-receipt-{safe}.jws")
}

/// `custodian-receipt-ID.jws` in the documents folder (or home).
#[tauri::command]
pub fn default_receipt_path(id: String) -> AppResult<String> {
    let dir = dirs::document_dir()
        .filter(|d| d.is_dir())
        .or_else(dirs::home_dir)
        .unwrap_or_else(std::env::temp_dir);
    Ok(dir.join(file_name(&id)).display().to_string())
}

/// Writes the receipt's compact JWS, exactly, to `out`; an existing file
/// only when `replace` (the person confirmed it in the save dialog), then
/// written beside it and renamed over it. Returns where it went.
#[tauri::command(async)]
pub fn save_receipt(
    state: tauri::State<'_, AppState>,
    id: String,
    out: String,
    replace: bool,
) -> AppResult<String> {
    let path = PathBuf::from(out.trim());
    if path.as_os_str().is_empty() {
        return Err(AppError::invalid("choose a file to save the receipt to"));
    }
    if path.is_relative() {
        return Err(AppError::invalid(format!(
            "give the full path of the file, e.g. /home/you/{}",
            file_name(&id)
        )));
    }
    if path.exists() && !replace {
        return Err(AppError::invalid(format!(
            "{} already exists; choose another name, or choose it with \"Choose…\" and confirm replacing it",
            path.display()
        )));
    }
    let receipt = state.with_store(|store| Ok(store.receipt(&id)?))?;
    let saved = if replace {
        custodian_core::fsutil::write_streamed(&path, &mut receipt.jws.as_bytes(), &mut |_| {})
            .map(|_| ())
            .map_err(|e| match e {
                custodian_core::fsutil::StreamedWrite::Read(e)
                | custodian_core::fsutil::StreamedWrite::Write(e) => e,
            })
    } else {
        crate::session::write_private(&path, receipt.jws.as_bytes())
    };
    saved.map_err(|e| AppError::new("io", format!("could not save to {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use custodian_core::clock::{Clock, ManualClock, SystemClock};
    use custodian_core::sharing::client::ClientRegistration;
    use custodian_core::sharing::receipts::ReceiptEvent;
    use custodian_core::sharing::request::Approval;
    use custodian_core::sharing::scope;
    use custodian_core::{SecretString, Vault};
    use std::sync::Arc;

    /// A store on a new vault, its clock in the test's hands, with one grant
    /// for an hour (as asked); returns the grant's id.
    fn granted(dir: &std::path::Path) -> (Vault, Store, Arc<ManualClock>, String) {
        let vault = Vault::create_with_work_factor(
            &dir.join("v"),
            &SecretString::from("correct horse battery".to_string()),
            2,
        )
        .unwrap()
        .vault;
        let mut store = vault.open_store().unwrap();
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        store.set_clock(clock.clone());
        let client = store
            .register_client(&ClientRegistration {
                client_name: "Acme".into(),
                client_uri: None,
                contacts: vec![],
            })
            .unwrap();
        let details = scope::parse_requested(
            r#"[{"type":"pod_access","paths":["/contact/"],"actions":["read"],"purpose":"Orders"}]"#,
        )
        .unwrap();
        let request = store.request_access(&client.id, details, 3600).unwrap();
        let grant = store
            .approve_request(&request.request.id, &Approval::default())
            .unwrap();
        (vault, store, clock, grant.id)
    }

    fn query(grant: Option<&str>, request: Option<&str>) -> ReceiptQuery {
        ReceiptQuery {
            client_id: None,
            grant_id: grant.map(str::to_string),
            request_id: request.map(str::to_string),
        }
    }

    #[test]
    fn a_grant_that_ran_out_has_its_expired_receipt_when_listed() {
        let tmp = tempfile::tempdir().unwrap();
        let (_vault, store, clock, grant) = granted(tmp.path());
        let events = |store: &Store| -> Vec<ReceiptEvent> {
            find(store, query(Some(&grant), None))
                .unwrap()
                .into_iter()
                .map(|r| r.receipt.event)
                .collect()
        };
        assert_eq!(events(&store), [ReceiptEvent::Given]);
        clock.advance(chrono::Duration::hours(2));
        assert_eq!(
            events(&store),
            [ReceiptEvent::Expired, ReceiptEvent::Given],
            "newest first"
        );
        let all = find(&store, ReceiptQuery::default()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].claims["controller"]["name"], "Acme");
        assert_eq!(
            find(&store, query(Some(&grant), Some("req_x")))
                .unwrap_err()
                .kind,
            "invalid_request"
        );
    }

    #[test]
    fn a_damaged_receipt_is_listed_with_no_claims() {
        let tmp = tempfile::tempdir().unwrap();
        let (_vault, store, _clock, grant) = granted(tmp.path());
        let mut receipt = store.receipts_for_grant(&grant).unwrap().remove(0);
        assert!(DecodedReceipt::of(receipt.clone()).claims.is_object());
        receipt.jws = "not.a.jws".into();
        assert_eq!(DecodedReceipt::of(receipt.clone()).claims, Value::Null);
        let verdict = verification(store.verify_receipt(&receipt.jws)).unwrap();
        assert!(!verdict.verified);
        assert!(
            verdict.message.contains("not a compact JWS"),
            "{}",
            verdict.message
        );
    }

    #[test]
    fn a_verdict_names_what_was_checked_or_what_failed() {
        let fault = receipts::ReceiptFault::BadSignature;
        let failed = verification(Err(custodian_core::Error::ReceiptInvalid {
            fault: fault.clone(),
        }))
        .unwrap();
        assert_eq!(
            failed,
            Verification {
                verified: false,
                message: fault.to_string()
            }
        );
        let other = verification(Err(custodian_core::Error::UnknownReceipt {
            id: "rcp_x".into(),
        }));
        assert_eq!(other.unwrap_err().kind, "unknown_receipt");
    }

    #[test]
    fn a_receipt_file_name_keeps_to_safe_characters() {
        assert_eq!(file_name("rcp_Ab-9"), "custodian-receipt-rcp_Ab-9.jws");
        assert_eq!(file_name("../x y"), "custodian-receipt-___x_y.jws");
    }

    #[test]
    fn a_query_takes_its_three_fields_and_no_other() {
        let q: ReceiptQuery = serde_json::from_str(r#"{"grant_id": "grt_1"}"#).unwrap();
        assert_eq!(q.grant_id.as_deref(), Some("grt_1"));
        assert!(serde_json::from_str::<ReceiptQuery>(r#"{"event": "given"}"#).is_err());
    }
}
