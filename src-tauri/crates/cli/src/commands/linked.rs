//! connect, deliver, deliveries: companies on the internet. The link crate
//! does the wire and the core every rule; this turns their answers into
//! lines for a person (or JSON for scripts).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use custodian_core::linked::{DeliveryFilter, DeliveryStatus, OutgoingDelivery};
use custodian_core::Vault;
use custodian_link::deliver::{deliver_due_with, DeliverySummary};
use custodian_link::{Net, Options, PostOutcome, VaultAccess};
use serde::Serialize;

use super::Context;
use crate::cli::{ConnectArgs, DeliverArgs, DeliveriesArgs, DeliveriesCommand};
use crate::fail::{code, Fail};
use crate::output::{self, print};

/// The longest `deliver --watch` sleeps before looking again: a change made
/// by another program (`custodian put` while it watches) queues deliveries
/// it cannot be told about, and looking is one small query.
const WATCH_POLL: Duration = Duration::from_secs(2);

impl Context {
    /// The outward door, with the developer switch from the flag or the
    /// environment.
    fn net(&self) -> Result<Net, Fail> {
        let mut options = Options::from_env().map_err(|e| Fail::new(code::ERROR, e.to_string()))?;
        if self.allow_http_loopback {
            options.rules.allow_http_loopback = true;
        }
        if options.rules.allow_http_loopback {
            eprintln!(
                "custodian: warning: --unsafe-allow-http-loopback: plain http to loopback addresses is allowed"
            );
        }
        Net::new(options).map_err(|e| Fail::new(code::ERROR, e.to_string()))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Fail> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail::new(code::ERROR, format!("could not start the runtime: {e}")))
}

pub fn connect(ctx: &Context, args: ConnectArgs) -> Result<(), Fail> {
    let net = ctx.net()?;
    // A link that is not one is reported before the passphrase is asked.
    custodian_core::linked::parse_link_with(&args.link, net.allows_http_loopback())?;
    let vault = Mutex::new(ctx.unlock()?);
    let request = runtime()?.block_on(custodian_link::connect(&net, &vault, &args.link))?;
    if args.json {
        return output::print_json(&request);
    }
    let text =
        vault.with_store(|store| Ok(super::sharing::describe_request(store, &request)))??;
    print(&text)
}

pub fn deliver(ctx: &Context, args: DeliverArgs) -> Result<(), Fail> {
    let net = ctx.net()?;
    let vault = Mutex::new(ctx.unlock()?);
    let rt = runtime()?;
    if !args.watch {
        let summary = rt.block_on(deliver_once(&net, &vault, args.json))?;
        return report(&summary, args.json);
    }
    if !args.json {
        print("Delivering until Ctrl-C.\n")?;
    }
    rt.block_on(async {
        loop {
            let round = tokio::select! {
                r = deliver_once(&net, &vault, args.json) => r?,
                _ = tokio::signal::ctrl_c() => break,
            };
            if round.attempted() > 0 {
                report(&round, args.json)?;
            }
            let next = vault.with_store(|store| store.next_delivery_at())?;
            let wait = next
                .map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                .map_or(WATCH_POLL, |d| d.min(WATCH_POLL));
            tokio::select! {
                () = tokio::time::sleep(wait) => {},
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        if !args.json {
            print("Stopped. Anything not yet delivered stays queued.\n")?;
        }
        Ok(())
    })
}

/// One pass: everything due now, then the feeds. A line per attempt.
async fn deliver_once(
    net: &Net,
    vault: &Mutex<Vault>,
    json: bool,
) -> Result<DeliverySummary, Fail> {
    let summary = deliver_due_with(net, vault, |d, outcome| {
        if !json {
            let _ = print(&attempt_line(d, outcome));
        }
    })
    .await?;
    Ok(summary)
}

/// `delivered granted (seq via request req_…) to https://… : HTTP 204`.
fn attempt_line(d: &OutgoingDelivery, outcome: &PostOutcome) -> String {
    let what = format!(
        "{} for {} to {}",
        d.event,
        d.grant_id.as_deref().unwrap_or(&d.request_id),
        d.target
    );
    match outcome {
        PostOutcome::Delivered { status } => format!("delivered {what} (HTTP {status})\n"),
        PostOutcome::Retry {
            reason,
            retry_after,
        } => format!(
            "will retry {what}: {reason}{}\n",
            retry_after
                .map(|d| format!(" (the company asked to wait {}s)", d.as_secs()))
                .unwrap_or_default()
        ),
        PostOutcome::Failed { reason } => format!(
            "FAILED {what}: {reason}\n  (`custodian deliveries retry {}` sends it again)\n",
            d.grant_id.as_deref().unwrap_or(&d.request_id)
        ),
    }
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    #[serde(flatten)]
    summary: &'a DeliverySummary,
    attempted: usize,
}

fn report(summary: &DeliverySummary, json: bool) -> Result<(), Fail> {
    if json {
        let line = serde_json::to_string(&SummaryJson {
            summary,
            attempted: summary.attempted(),
        })
        .map_err(|e| Fail::new(code::ERROR, format!("encoding JSON: {e}")))?;
        return print(&format!("{line}\n"));
    }
    if summary.attempted() == 0 {
        return print("Nothing is due.\n");
    }
    print(&format!(
        "{} delivered, {} to retry later, {} failed.\n",
        summary.delivered, summary.retrying, summary.failed
    ))
}

pub fn deliveries(ctx: &Context, args: DeliveriesArgs) -> Result<(), Fail> {
    if let Some(DeliveriesCommand::Retry { id }) = args.command {
        return retry(ctx, &id);
    }
    let vault = ctx.unlock()?;
    let list = vault.store().deliveries(DeliveryFilter {
        grant_id: args.grant.clone(),
        ..DeliveryFilter::default()
    })?;
    if args.json {
        return output::print_json(&list);
    }
    print(&delivery_table(&list))
}

fn retry(ctx: &Context, id: &str) -> Result<(), Fail> {
    let net = ctx.net()?;
    let vault = Mutex::new(ctx.unlock()?);
    let n = vault.with_store(|store| store.send_now(id))?;
    if n == 0 {
        return print(&format!("Nothing is waiting to be sent for {id}.\n"));
    }
    print(&format!(
        "{n} deliver{} for {id} due now; sending.\n",
        if n == 1 { "y" } else { "ies" }
    ))?;
    let summary = runtime()?.block_on(deliver_once(&net, &vault, false))?;
    report(&summary, false)
}

fn delivery_table(list: &[DeliveryStatus]) -> String {
    if list.is_empty() {
        return "Nothing has been queued for companies on the internet.\n".into();
    }
    let mut rows = vec![vec![
        "GRANT/REQUEST".into(),
        "SEQ".into(),
        "EVENT".into(),
        "STATUS".into(),
        "TRIES".into(),
        "WHEN".into(),
        "NOTE".into(),
    ]];
    let mut sorted: Vec<&DeliveryStatus> = list.iter().collect();
    sorted.sort_by(|a, b| {
        (a.grant_id.as_ref().unwrap_or(&a.request_id), a.seq)
            .cmp(&(b.grant_id.as_ref().unwrap_or(&b.request_id), b.seq))
    });
    for d in sorted {
        let when = match (d.delivered_at, d.next_attempt_at, d.last_attempt_at) {
            (Some(at), _, _) => output::when(at),
            (None, Some(next), _) => format!("next {}", output::when(next)),
            (None, None, Some(last)) => format!("last {}", output::when(last)),
            (None, None, None) => output::when(d.created_at),
        };
        rows.push(vec![
            d.grant_id.clone().unwrap_or_else(|| d.request_id.clone()),
            d.seq.to_string(),
            d.event.clone(),
            d.status.clone(),
            d.attempts.to_string(),
            when,
            d.last_error.clone().unwrap_or_default(),
        ]);
    }
    let mut text = output::table(&rows);
    if list.iter().any(|d| d.status == "failed") {
        text.push_str("\n`custodian deliveries retry GRANT` sends a failed delivery again.\n");
    }
    if std::io::stdout().is_terminal() && list.iter().any(|d| d.status == "queued") {
        text.push_str("`custodian deliver` sends what is due.\n");
    }
    text
}
