//! What the server's integration tests share: a test vault and a company
//! granted access through the device flow, and a pod served in a task.

use custodian_core::sharing::client::ClientRegistration;
use custodian_core::sharing::request::{Approval, Poll};
use custodian_core::sharing::scope;
use custodian_core::{ExposeSecret, SecretString, Store, Vault};

/// A new vault in `dir` with a low work factor (the unlock is not tested).
pub fn vault(dir: &std::path::Path) -> Vault {
    Vault::create_with_work_factor(
        &dir.join("v"),
        &SecretString::from("correct horse battery".to_string()),
        2,
    )
    .unwrap()
    .vault
}

/// A company "Acme" granted read and write on `path` (a container) for
/// `purpose`, through the device flow: its client id, grant id and token.
pub fn granted(store: &Store, path: &str, purpose: &str) -> (String, String, String) {
    let client = store
        .register_client(&ClientRegistration {
            client_name: "Acme".into(),
            ..Default::default()
        })
        .unwrap();
    let details = scope::parse_requested(
        &serde_json::json!([{"type": "pod_access", "paths": [path],
            "actions": ["read", "write"], "purpose": purpose}])
        .to_string(),
    )
    .unwrap();
    let auth = store.request_access(&client.id, details, 3600).unwrap();
    let grant = store
        .approve_request(&auth.request.id, &Approval::default())
        .unwrap();
    match store
        .poll_device_code(&client.id, auth.device_code.expose_secret())
        .unwrap()
    {
        Poll::Issued { access_token, .. } => (
            client.id,
            grant.id,
            access_token.expose_secret().to_string(),
        ),
        _ => panic!("no token"),
    }
}

/// Serves `pod` on `listener` in a task of its own until the sender is
/// used or dropped; the task's handle tells how serving ended.
pub fn spawn_pod(
    pod: std::sync::Arc<custodian_server::Pod>,
    listener: tokio::net::TcpListener,
    options: custodian_server::ServeOptions,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        custodian_server::serve_pod(pod, listener, &options, async {
            let _ = stopped.await;
        })
        .await
    });
    (stop, done)
}
