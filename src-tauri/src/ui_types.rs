//! Tests only: the shapes `ui/src/lib/api.ts` declares by hand are the ones
//! the commands send and take. Each Rust value the window receives is
//! serialised and its field names compared with the TypeScript interface
//! (or inline `Promise<{…}>` type) that stands for it; each input the window
//! sends is built from the TypeScript field names and must deserialise (the
//! inputs refuse unknown fields). Field names only: the types of the fields
//! are not compared.

use std::collections::BTreeSet;
use std::path::Path;

use custodian_core::sharing::client::ClientRegistration;
use custodian_core::sharing::request::Approval;
use custodian_core::sharing::scope;
use custodian_core::{NewResource, PodPath, SecretString, Vault};
use serde::Serialize;
use serde_json::Value;

const API_TS: &str = include_str!("../../ui/src/lib/api.ts");

/// The fields of a TypeScript object type written as `{ a: T; b?: U; … }`
/// (`text` starts at its `{`): each name, and whether it is optional.
/// Nested object types, comments and generics are skipped.
fn object_fields(text: &str) -> Vec<(String, bool)> {
    let mut depth = 0usize;
    let mut top = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                top.push('\n');
            }
            // An arrow inside a function type is not a closing bracket.
            '=' if chars.peek() == Some(&'>') => {
                chars.next();
                continue;
            }
            '{' | '(' | '[' | '<' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '}' | ')' | ']' | '>' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        if depth == 1 {
            top.push(c);
        }
    }
    top.split([';', '\n'])
        .filter_map(|member| {
            let (name, _) = member.split_once(':')?;
            let name = name.trim();
            let (name, optional) = match name.strip_suffix('?') {
                Some(name) => (name, true),
                None => (name, false),
            };
            Some((name.trim().to_string(), optional))
        })
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

/// The fields of `export interface NAME { … }`.
fn interface(name: &str) -> Vec<(String, bool)> {
    let start = format!("export interface {name} {{");
    let at = API_TS
        .find(&start)
        .unwrap_or_else(|| panic!("api.ts has no interface {name}"));
    object_fields(&API_TS[at + start.len() - 1..])
}

/// The fields of the inline type in `export function NAME(…): Promise<{ … }>`.
fn returned(function: &str) -> Vec<(String, bool)> {
    let start = format!("export function {function}(");
    let at = API_TS
        .find(&start)
        .unwrap_or_else(|| panic!("api.ts has no function {function}"));
    let promise = API_TS[at..]
        .find("Promise<{")
        .unwrap_or_else(|| panic!("{function} does not return an inline object type"));
    object_fields(&API_TS[at + promise + "Promise<".len()..])
}

/// Fails unless `value` serialises to an object with exactly the TypeScript
/// fields, leaving out only optional ones.
fn same_fields(ts_name: &str, ts: &[(String, bool)], value: &impl Serialize) {
    let json = serde_json::to_value(value).unwrap();
    let rust: BTreeSet<&str> = json
        .as_object()
        .unwrap_or_else(|| panic!("{ts_name}: not an object: {json}"))
        .keys()
        .map(String::as_str)
        .collect();
    let all: BTreeSet<&str> = ts.iter().map(|(name, _)| name.as_str()).collect();
    let required: BTreeSet<&str> = ts
        .iter()
        .filter(|(_, optional)| !optional)
        .map(|(name, _)| name.as_str())
        .collect();
    let not_in_ts: Vec<_> = rust.difference(&all).collect();
    let not_sent: Vec<_> = required.difference(&rust).collect();
    assert!(
        not_in_ts.is_empty() && not_sent.is_empty(),
        "{ts_name} in api.ts: the app sends {not_in_ts:?} it does not declare, \
         and does not send {not_sent:?} it requires"
    );
}

/// A JSON object with each TypeScript field set from `sample`.
fn input_from(ts: &[(String, bool)], sample: impl Fn(&str) -> Value) -> Value {
    Value::Object(
        ts.iter()
            .map(|(name, _)| (name.clone(), sample(name)))
            .collect(),
    )
}

fn path(p: &str) -> PodPath {
    PodPath::parse(p).unwrap()
}

/// A vault with a resource in two versions, a company, a granted request,
/// a pending one and the log entries they wrote.
fn populated(dir: &Path) -> Vault {
    let vault = Vault::create_with_work_factor(
        &dir.join("v"),
        &SecretString::from("correct horse battery".to_string()),
        2,
    )
    .unwrap()
    .vault;
    let store = vault.store();
    for email in ["ada@example.org", "ada@lovelace.org"] {
        store
            .put(
                &path("/contact/email"),
                NewResource {
                    content: format!(r#"{{"email":"{email}"}}"#).into_bytes(),
                    content_type: "application/json".into(),
                    category: None,
                    mark: custodian_core::Mark::Keep,
                },
            )
            .unwrap();
    }
    let client = store
        .register_client(&ClientRegistration {
            client_name: "Acme".into(),
            client_uri: None,
            contacts: vec![],
        })
        .unwrap();
    let details = || {
        scope::parse_requested(
            r#"[{"type":"pod_access","paths":["/contact/"],"actions":["read"],"purpose":"Orders"}]"#,
        )
        .unwrap()
    };
    for _ in 0..2 {
        store.request_access(&client.id, details(), 3600).unwrap();
    }
    let first = &store.access_requests(false).unwrap()[0];
    store
        .approve_request(&first.id, &Approval::default())
        .unwrap();
    vault
}

/// A linked company as the core describes it.
fn linked_company() -> custodian_core::linked::LinkedCompany {
    custodian_core::linked::LinkedCompany {
        domain: "shop.test".into(),
        verified: true,
        logo_uri: Some("https://shop.test/logo.png".into()),
        policy_uri: Some("https://shop.test/privacy".into()),
        client_uri: None,
        delivery_uri: "https://shop.test/custodian/deliveries".into(),
    }
}

#[test]
fn what_the_commands_send_is_what_api_ts_declares() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = populated(tmp.path());
    let store = vault.store();

    let meta = store.history(&path("/contact/email")).unwrap();
    same_fields("VersionInfo", &interface("VersionInfo"), &meta[0]);
    let resource = store.get(&path("/contact/email"), None).unwrap();
    same_fields("ResourceMeta", &interface("ResourceMeta"), &resource.meta);
    same_fields(
        "ResourceView",
        &interface("ResourceView"),
        &crate::data::ResourceView {
            meta: resource.meta.clone(),
            text: None,
            too_large_to_show: false,
        },
    );

    let page = store.list_page(&path("/"), None, 10).unwrap();
    same_fields("ListPage", &interface("ListPage"), &page);
    let found = store.search_resources("contact", 10).unwrap();
    same_fields("SearchResults", &interface("SearchResults"), &found);

    let pending = store.access_requests(false).unwrap();
    let request = &pending[0];
    same_fields("AccessRequest", &interface("AccessRequest"), request);
    same_fields("AskedItem", &interface("AskedItem"), &request.items[0]);
    let grant = &store.grants().unwrap()[0];
    same_fields("Grant", &interface("Grant"), grant);
    let company = linked_company();
    same_fields(
        "Grant",
        &interface("Grant"),
        &crate::access::GrantView {
            grant: grant.clone(),
            company: Some(company.clone()),
        },
    );
    same_fields("LinkedCompany", &interface("LinkedCompany"), &company);
    let mut linked_request = request.clone();
    linked_request.company = Some(company);
    same_fields(
        "AccessRequest",
        &interface("AccessRequest"),
        &linked_request,
    );
    same_fields(
        "DeliveryStatus",
        &interface("DeliveryStatus"),
        &custodian_core::linked::DeliveryStatus {
            id: "dlv_x".into(),
            client_id: "https://shop.test/custodian/client.json".into(),
            request_id: "req_x".into(),
            grant_id: Some(grant.id.clone()),
            seq: 1,
            event: "granted".into(),
            status: "queued".into(),
            attempts: 0,
            created_at: chrono::Utc::now(),
            next_attempt_at: None,
            last_attempt_at: None,
            last_error: None,
            last_status: None,
            delivered_at: None,
        },
    );
    same_fields("PodAccess", &interface("PodAccess"), &grant.details[0]);

    let receipt = store.receipts(None).unwrap().remove(0);
    let verification = crate::receipts::Verification {
        verified: true,
        message: String::new(),
    };
    same_fields(
        "ReceiptVerification",
        &interface("ReceiptVerification"),
        &verification,
    );
    let decoded = crate::receipts::DecodedReceipt::of(receipt);
    same_fields("Receipt", &interface("Receipt"), &decoded);
    same_fields(
        "ReceiptView",
        &interface("ReceiptView"),
        &crate::receipts::ReceiptView {
            receipt: decoded,
            verification,
        },
    );

    let log = store.audit_log(&Default::default()).unwrap();
    same_fields("AuditEntry", &interface("AuditEntry"), &log[0]);
    let check = store.check_vault().unwrap();
    same_fields("VaultCheck", &interface("VaultCheck"), &check);
    same_fields(
        "ChainReport",
        &interface("ChainReport"),
        &check.log.unwrap(),
    );
    same_fields(
        "CountsCheck",
        &interface("CountsCheck"),
        &check.counts.unwrap(),
    );
    let report = store.access_report(None).unwrap();
    same_fields("AccessReport", &interface("AccessReport"), &report);
    same_fields(
        "CompanyReport",
        &interface("CompanyReport"),
        &report.companies[0],
    );

    let (preferences, saved) = store.communication_preferences().unwrap();
    same_fields(
        "CommunicationPreferences",
        &interface("CommunicationPreferences"),
        &preferences,
    );
    same_fields(
        "getPreferences",
        &returned("getPreferences"),
        &crate::preferences::PreferencesView { preferences, saved },
    );

    same_fields(
        "MergeReport",
        &interface("MergeReport"),
        &custodian_core::bundle::MergeReport::default(),
    );
    same_fields(
        "ExportSummary",
        &interface("ExportSummary"),
        &custodian_core::bundle::ExportSummary {
            path: tmp.path().join("b.custodian.age"),
            counts: Default::default(),
            entries: 0,
            plain_bytes: 0,
            file_bytes: 0,
        },
    );
}

#[test]
fn what_the_app_itself_sends_is_what_api_ts_declares() {
    let tmp = tempfile::tempdir().unwrap();
    let status = crate::session::status_of(&tmp.path().join("none"), false);
    same_fields("VaultStatus", &interface("VaultStatus"), &status);
    let vault = populated(tmp.path());
    let mut open = crate::session::status_of(&tmp.path().join("v"), true);
    assert!(open.id.is_some() && open.format_version.is_some());
    open.pod_id = Some(vault.store().pod_identity().unwrap().id);
    same_fields("VaultStatus", &interface("VaultStatus"), &open);
    same_fields(
        "createVault",
        &returned("createVault"),
        &crate::session::NewVault {
            recovery_key: String::new(),
        },
    );
    same_fields(
        "restoreBundle",
        &returned("restoreBundle"),
        &crate::bundle::RestoredVault {
            recovery_key: String::new(),
            resources: 0,
        },
    );
    same_fields(
        "Settings",
        &interface("Settings"),
        &crate::settings::Settings::defaults(),
    );
    same_fields(
        "SharingStatus",
        &interface("SharingStatus"),
        &crate::sharing::SharingStatus {
            on: false,
            port: 8080,
            address: None,
            error: None,
        },
    );
    same_fields(
        "BundleProgress",
        &interface("BundleProgress"),
        &crate::bundle::ProgressEvent {
            phase: "writing",
            items_done: 0,
            items_total: 0,
            bytes_done: 0,
            bytes_total: 0,
        },
    );
    same_fields(
        "FileProgress",
        &interface("FileProgress"),
        &crate::files::FileProgress {
            path: "/documents/a".into(),
            direction: "import",
            bytes_done: 1,
            bytes_total: 2,
        },
    );
}

#[test]
fn what_api_ts_sends_the_commands_take() {
    // Each input refuses unknown fields, so a field api.ts adds or renames
    // that Rust does not know fails here.
    let approval = input_from(&interface("Approval"), |name| match name {
        "lifetime_secs" => Value::from(60),
        _ => Value::Array(vec![]),
    });
    serde_json::from_value::<crate::access::ApprovalInput>(approval).unwrap();
    let query = input_from(&interface("LogQuery"), |name| match name {
        "client_id" => Value::from("cli_x"),
        "outcome" => Value::from("denied"),
        _ => Value::from(10),
    });
    serde_json::from_value::<crate::activity::LogQuery>(query).unwrap();
    let receipts = input_from(&interface("ReceiptQuery"), |_| Value::from("grt_x"));
    serde_json::from_value::<crate::receipts::ReceiptQuery>(receipts).unwrap();
    let settings = input_from(&interface("Settings"), |_| Value::from(5));
    serde_json::from_value::<crate::settings::Settings>(settings).unwrap();
}

#[test]
fn the_type_parser_reads_nested_and_optional_fields() {
    let fields = object_fields(
        "{\n  /** A comment: with a colon. */\n  a: { x: number; y: string } | null;\n  b?: Category[];\n  c: Record<string, number>; d: (e: string) => void;\n}\nexport",
    );
    let names: Vec<_> = fields.iter().map(|(n, o)| (n.as_str(), *o)).collect();
    assert_eq!(
        names,
        [("a", false), ("b", true), ("c", false), ("d", false)]
    );
}
