//! receipts list|show|export|verify: the pod's signed record of every
//! decision about a company's access, as the person reads, keeps and
//! checks it. The receipts are the core's (`sharing::receipts`); this only
//! shows them.

use std::collections::HashMap;
use std::path::Path;

use custodian_core::clock::human_duration;
use custodian_core::sharing::receipts::{
    self, LogHeadCheck, Receipt, ReceiptEvent, VerifiedReceipt,
};
use custodian_core::Store;
use serde_json::{json, Value};

use super::Context;
use crate::cli::ReceiptsCommand;
use crate::fail::{code, Fail};
use crate::output::{self, print};

pub fn run(ctx: &Context, cmd: ReceiptsCommand) -> Result<(), Fail> {
    match cmd {
        ReceiptsCommand::List { client, json } => list(ctx, client.as_deref(), json),
        ReceiptsCommand::Show { id, json } => show(ctx, &id, json),
        ReceiptsCommand::Export { id, out, force } => export(ctx, &id, &out, force),
        ReceiptsCommand::Verify { file, json } => verify(ctx, &file, json),
    }
}

fn list(ctx: &Context, client: Option<&str>, json: bool) -> Result<(), Fail> {
    let vault = ctx.unlock()?;
    let store = vault.store();
    let client_id = client
        .map(|c| store.resolve_client(c).map(|c| c.id))
        .transpose()?;
    // Expiry has no event of its own: notice it before listing.
    store.record_expirations()?;
    let list = store.receipts(client_id.as_deref())?;
    if json {
        return output::print_json(&list);
    }
    print(&receipt_table(store, &list, client.is_some())?)
}

fn receipt_table(store: &Store, list: &[Receipt], filtered: bool) -> Result<String, Fail> {
    if list.is_empty() {
        return Ok(if filtered {
            "No receipts for that company yet.\n".into()
        } else {
            "No receipts yet: every answer to a company, and every end of a grant, will have one.\n"
                .into()
        });
    }
    let names: HashMap<String, String> = store
        .clients()?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let mut rows = vec![vec![
        "ID".into(),
        "WHEN".into(),
        "EVENT".into(),
        "COMPANY".into(),
        "GRANT".into(),
    ]];
    for r in list {
        rows.push(vec![
            r.id.clone(),
            output::when(r.issued_at),
            event_words(r.event).into(),
            names
                .get(&r.client_id)
                .cloned()
                .unwrap_or_else(|| r.client_id.clone()),
            r.grant_id.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut text = output::table(&rows);
    text.push_str("\n`custodian receipts show ID` shows one in full; `receipts export ID --out FILE` writes it for the company or an auditor.\n");
    Ok(text)
}

/// The event as the person reads it.
fn event_words(e: ReceiptEvent) -> &'static str {
    match e {
        ReceiptEvent::Given => "given as asked",
        ReceiptEvent::GivenNarrower => "given, narrower than asked",
        ReceiptEvent::Refused => "refused",
        ReceiptEvent::Withdrawn => "withdrawn by you",
        ReceiptEvent::Ended => "ended by the company",
        ReceiptEvent::Expired => "expired",
        ReceiptEvent::CutOff => "company cut off",
    }
}

fn show(ctx: &Context, id: &str, json: bool) -> Result<(), Fail> {
    let vault = ctx.unlock()?;
    let receipt = vault.store().receipt(id)?;
    let header = receipts::decode_header(&receipt.jws)?;
    let claims = receipts::decode(&receipt.jws)?;
    if json {
        return output::print_json(&json!({"header": header, "claims": claims}));
    }
    print(&describe(&receipt, &header, &claims))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn words(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default()
}

/// Each item of a `processing` claim: `read /contact/ (contact data)` and
/// its purpose.
fn processing_rows(label: &str, p: &Value, rows: &mut Vec<Vec<String>>) {
    let items = p["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        rows.push(vec![label.into(), "nothing".into()]);
    }
    for (i, item) in items.iter().enumerate() {
        let mut line = format!(
            "{} {}",
            words(&item["actions"]).join("+"),
            words(&item["paths"]).join(", ")
        );
        let kinds = words(&item["data_categories"]);
        if !kinds.is_empty() {
            line.push_str(&format!(" ({} data)", kinds.join(", ")));
        }
        let sensitive = words(&item["sensitive_categories"]);
        if !sensitive.is_empty() {
            line.push_str(&format!("; sensitive named: {}", sensitive.join(", ")));
        }
        rows.push(vec![if i == 0 { label } else { "" }.into(), line]);
        rows.push(vec![
            "".into(),
            format!("  why: {}", text(&item["purpose"])),
        ]);
    }
    if let Some(secs) = p["lifetime_seconds"].as_i64() {
        rows.push(vec!["".into(), format!("  for: {}", human_duration(secs))]);
    }
}

fn describe(r: &Receipt, header: &Value, c: &Value) -> String {
    let event = &c["event"];
    let controller = &c["controller"];
    let mut rows = vec![
        vec![
            "Receipt:".into(),
            format!("{} ({})", r.id, text(&c["schema_version"])),
        ],
        vec![
            "Event:".into(),
            format!(
                "{} at {} (consent {})",
                event_words(r.event),
                text(&event["time"]),
                text(&event["state"])
            ),
        ],
        vec![
            "Company:".into(),
            format!(
                "{} ({}), {}",
                text(&controller["name"]),
                text(&controller["client_id"]),
                text(&controller["identified_by"])
            ),
        ],
    ];
    if let Some(uri) = controller["uri"].as_str() {
        rows.push(vec!["".into(), uri.to_string()]);
    }
    let given = match r.event {
        ReceiptEvent::Refused => "Refused:",
        ReceiptEvent::Given | ReceiptEvent::GivenNarrower => "Given:",
        _ => "Covered:",
    };
    if !c["processing"].is_null() {
        processing_rows(given, &c["processing"], &mut rows);
    }
    if !c["asked"].is_null() {
        processing_rows("Asked:", &c["asked"], &mut rows);
    }
    let validity = &event["validity"];
    if !validity.is_null() {
        rows.push(vec![
            "Valid:".into(),
            format!(
                "from {} until {}",
                text(&validity["from"]),
                text(&validity["until"])
            ),
        ]);
    }
    if let Some(how) = c["processing"]["how_to_withdraw"].as_str() {
        rows.push(vec!["To withdraw:".into(), how.to_string()]);
    }
    if let Some(req) = c["request"].as_object() {
        rows.push(vec![
            "Request:".into(),
            format!(
                "{} (details SHA-256 {})",
                text(&req["id"]),
                text(&req["details_sha256"])
            ),
        ]);
    }
    if let Some(grant) = c["grant"].as_object() {
        rows.push(vec!["Grant:".into(), text(&grant["id"])]);
    }
    rows.push(vec!["Pod id:".into(), text(&c["iss"])]);
    rows.push(vec![
        "Log head:".into(),
        format!(
            "entry #{}, hash {}",
            text(&c["log_head"]["seq"]),
            text(&c["log_head"]["hash"])
        ),
    ]);
    rows.push(vec![
        "Signed:".into(),
        format!(
            "{} with {} by key {} ({})",
            text(&c["issued_at"]),
            text(&header["alg"]),
            text(&header["kid"]),
            text(&header["typ"])
        ),
    ]);
    let mut out = output::table(&rows);
    out.push_str(&format!(
        "\n`custodian receipts export {} --out FILE` writes the signed receipt; anyone can check it with the pod's key.\n",
        r.id
    ));
    out
}

fn export(ctx: &Context, id: &str, out: &Path, force: bool) -> Result<(), Fail> {
    // Refuse an occupied place before asking for the passphrase.
    if out.exists() && !force {
        return Err(Fail::usage(format!(
            "{} already exists: choose another --out, or add --force to replace it",
            out.display()
        )));
    }
    let vault = ctx.unlock()?;
    let receipt = vault.store().receipt(id)?;
    let bytes = format!("{}\n", receipt.jws);
    if force {
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = out
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Fail::usage(format!("{} is not a file name", out.display())))?;
        custodian_core::fsutil::write_atomic(dir, name, bytes.as_bytes())?;
    } else {
        use std::io::Write;
        let mut file = custodian_core::fsutil::create_private_file(out)?;
        file.write_all(bytes.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Fail::new(code::ERROR, format!("writing {}: {e}", out.display())))?;
    }
    print(&format!(
        "Wrote receipt {} ({}) to {}: a compact JWS that any JOSE library checks with this pod's key (its JWK Set is at /.well-known/jwks.json while `custodian serve` runs).\n",
        receipt.id,
        event_words(receipt.event),
        out.display()
    ))
}

fn verify(ctx: &Context, file: &Path, json: bool) -> Result<(), Fail> {
    if !file.is_file() {
        return Err(Fail::usage(format!(
            "cannot read {}: no such file",
            file.display()
        )));
    }
    let jws = std::fs::read_to_string(file)
        .map_err(|e| Fail::usage(format!("cannot read {}: {e}", file.display())))?;
    let vault = ctx.unlock()?;
    let verified = vault.store().verify_receipt(jws.trim())?;
    if json {
        return output::print_json(&verified);
    }
    print(&format!("valid: {}\n", verified_words(&verified)))
}

/// `given_narrower receipt rcp_… for Acme Shop (cli_…), signed by this
/// pod; its log entry #12 is in this vault's chain`.
fn verified_words(v: &VerifiedReceipt) -> String {
    let company = v.claims["controller"]["name"]
        .as_str()
        .unwrap_or("the company");
    let log = match &v.log_head {
        LogHeadCheck::InChain { seq } => {
            format!("the access-log entry it names (#{seq}) is in this vault's chain")
        }
        LogHeadCheck::RemovedByRetention { seq, through } => format!(
            "the access-log entry it names (#{seq}) was removed by your log retention; the checkpoint standing for entries up to #{through} vouches that it was there"
        ),
    };
    format!(
        "{} receipt {} ({}) for {company} ({}), signed by this pod; {log}",
        v.event.as_str(),
        v.id,
        event_words(v.event),
        v.client_id,
    )
}
