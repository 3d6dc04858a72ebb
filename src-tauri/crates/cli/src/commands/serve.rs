//! serve: the pod API on an unlocked vault until Ctrl-C or SIGTERM.

use custodian_core::limits::transfer::TransferLimits;
use custodian_server::ServeOptions;

use super::Context;
use crate::cli::ServeArgs;
use crate::fail::{code, Fail};
use crate::output::print;

pub fn run(ctx: &Context, args: ServeArgs) -> Result<(), Fail> {
    let vault = ctx.unlock()?;
    // The person's retention policy, if any, before companies add entries.
    if let Some(p) = vault.store().apply_log_retention()? {
        eprintln!(
            "custodian: {} old access-log entries were replaced by checkpoint entry {} (log retention)",
            p.removed, p.checkpoint
        );
    }
    // Grants that ended while nothing was serving get their expiry receipts
    // now; the server notices later ends as it runs.
    vault.store().record_expirations()?;
    let runtime = custodian_server::runtime().map_err(|e| {
        Fail::new(
            code::ERROR,
            format!("could not start the server runtime: {e}"),
        )
    })?;
    let options = ServeOptions {
        bind: args.bind,
        public_name: args.public_name,
        max_body_bytes: args.max_body_bytes,
        max_connections: args.max_connections,
        header_read_timeout: args.header_timeout,
        // The listener never lets the busy time-out exceed the one given.
        busy_header_read_timeout: custodian_server::DEFAULT_BUSY_HEADER_READ_TIMEOUT,
        body_read_timeout: args.body_timeout,
        write_timeout: custodian_server::DEFAULT_WRITE_TIMEOUT,
        shutdown_grace: args.shutdown_grace,
        transfers: TransferLimits {
            per_company: args.transfers_per_company,
            min_rate: args.min_transfer_rate.saturating_mul(1024),
            ..TransferLimits::default()
        },
    };
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.bind)
            .await
            .map_err(|e| Fail::new(code::ERROR, format!("cannot listen on {}: {e}", options.bind)))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Fail::new(code::ERROR, format!("cannot listen on {}: {e}", options.bind)))?;
        if !bound.ip().is_loopback() {
            eprintln!("custodian: warning: serving on {bound}, reachable from other machines; companies still need a grant");
        }
        // The first line is the readiness signal scripts and tests wait for.
        print(&format!(
            "Serving the pod API on http://{bound} (metadata: http://{bound}/.well-known/oauth-authorization-server). Ctrl-C stops it.\n"
        ))?;
        custodian_server::serve(&vault, listener, &options, shutdown_signal())
            .await
            .map_err(|e| Fail::new(code::ERROR, format!("the server stopped: {e}")))?;
        print("Stopped. Every request was logged.\n")
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
