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
use custodian_link::{poll_feeds, FeedSummary, Net, Options, PostOutcome, VaultAccess};
use serde::Serialize;

use super::Context;
use crate::cli::{ConnectArgs, DeliverArgs, DeliveriesArgs, DeliveriesCommand};
use crate::fail::{code, Fail};
use crate::output::{self, print};

/// The longest `deliver --watch` sleeps before looking again: a change made
/// by another program (`custodian put` while it watches) queues deliveries
/// it cannot be told about, and looking is one small query.
const WATCH_POLL: Duration = Duration::from_secs(2);
/// How often `deliver --watch` fetches companies' feeds.
const FEED_INTERVAL: Duration = Duration::from_secs(60);

/// What one pass did: deliveries, and the feeds taken (if it took them).
#[derive(Debug, Default, Serialize)]
struct Round {
    #[serde(flatten)]
    deliveries: DeliverySummary,
    attempted: usize,
    feeds: Option<FeedSummary>,
}

impl Round {
    fn did_anything(&self) -> bool {
        self.attempted > 0
            || self.feeds.as_ref().is_some_and(|f| {
                !(f.stored.is_empty() && f.refused.is_empty() && f.failed.is_empty())
            })
    }
}

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
        let round = rt.block_on(deliver_once(&net, &vault, args.json, true))?;
        return report(&round, args.json);
    }
    if !args.json {
        print("Delivering until Ctrl-C.\n")?;
    }
    rt.block_on(async {
        // Ctrl-C or SIGTERM, whichever comes first, ends the watch.
        let stop = super::serve::shutdown_signal();
        tokio::pin!(stop);
        let mut feeds_due = tokio::time::Instant::now();
        loop {
            let take_feeds = tokio::time::Instant::now() >= feeds_due;
            if take_feeds {
                feeds_due += FEED_INTERVAL;
            }
            let round = tokio::select! {
                r = deliver_once(&net, &vault, args.json, take_feeds) => r?,
                () = &mut stop => break,
            };
            if round.did_anything() {
                report(&round, args.json)?;
            }
            let next = vault.with_store(|store| store.next_delivery_at())?;
            let wait = custodian_link::wait_until(next, Utc::now(), WATCH_POLL);
            tokio::select! {
                () = tokio::time::sleep(wait) => {},
                () = &mut stop => break,
            }
        }
        if !args.json {
            print("Stopped. Anything not yet delivered stays queued.\n")?;
        }
        Ok(())
    })
}

/// One pass: everything due now, then (when `take_feeds`) the feeds. A
/// line per attempt and per feed item.
async fn deliver_once(
    net: &Net,
    vault: &Mutex<Vault>,
    json: bool,
    take_feeds: bool,
) -> Result<Round, Fail> {
    let deliveries = deliver_due_with(net, vault, |d, outcome| {
        if !json {
            let _ = print(&attempt_line(d, outcome));
        }
    })
    .await?;
    let feeds = if take_feeds {
        let feeds = poll_feeds(net, vault).await?;
        if !json {
            print(&feed_lines(&feeds))?;
        }
        Some(feeds)
    } else {
        None
    };
    Ok(Round {
        attempted: deliveries.attempted(),
        deliveries,
        feeds,
    })
}

fn feed_lines(f: &FeedSummary) -> String {
    let mut text = String::new();
    for path in &f.stored {
        text.push_str(&format!("stored {path} from a company's feed\n"));
    }
    for reason in &f.refused {
        text.push_str(&format!("refused a feed item: {reason}\n"));
    }
    for reason in &f.failed {
        text.push_str(&format!("could not take a feed: {reason}\n"));
    }
    text
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

fn report(round: &Round, json: bool) -> Result<(), Fail> {
    if json {
        let line = serde_json::to_string(round)
            .map_err(|e| Fail::new(code::ERROR, format!("encoding JSON: {e}")))?;
        return print(&format!("{line}\n"));
    }
    let d = &round.deliveries;
    let mut text = if round.attempted == 0 {
        "Nothing was due to be delivered.".to_string()
    } else {
        format!(
            "{} delivered, {} to retry later, {} failed.",
            d.delivered, d.retrying, d.failed
        )
    };
    if let Some(f) = &round.feeds {
        if f.feeds > 0 || !f.failed.is_empty() {
            text.push_str(&format!(
                " Feeds: {} item{} stored, {} refused.",
                f.stored.len(),
                if f.stored.len() == 1 { "" } else { "s" },
                f.refused.len()
            ));
        }
    }
    print(&format!("{text}\n"))
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
    let round = runtime()?.block_on(deliver_once(&net, &vault, false, false))?;
    report(&round, false)
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
