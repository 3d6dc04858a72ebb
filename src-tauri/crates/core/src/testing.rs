//! Helpers for the core's unit tests.

use crate::vault::keys::VaultKey;
use crate::vault::store::Store;

/// A fresh encrypted store in a temporary directory (kept alive by the
/// returned guard).
pub(crate) fn memory_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = VaultKey::generate().expect("key");
    let conn = crate::vault::db::create_encrypted(
        &dir.path().join("t.db"),
        &key,
        "2026-11-24T10:00:00.000Z",
    )
    .expect("create store");
    (dir, Store::new(conn))
}

/// Two connections to one new encrypted vault in a temporary directory
/// (kept alive by the returned guard): a writer's and another process's.
pub(crate) fn two_stores() -> (tempfile::TempDir, Store, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = VaultKey::generate().expect("key");
    let file = dir.path().join("t.db");
    let at = "2026-11-24T10:00:00.000Z";
    let writer = Store::new(crate::vault::db::create_encrypted(&file, &key, at).expect("create"));
    let other = Store::new(crate::vault::db::open_encrypted(&file, &key, at).expect("open"));
    (dir, writer, other)
}

/// A company registered in `store`, granted reading `/contact/` for an hour,
/// and the token it polled: `(grant id, token)`.
pub(crate) fn granted_token(store: &Store) -> (String, String) {
    granted_token_for(
        store,
        r#"[{"type": "pod_access", "paths": ["/contact/"], "actions": ["read"], "purpose": "Deliveries"}]"#,
    )
}

/// A company registered in `store`, granted `details` (JSON authorization
/// details) for an hour, and the token it polled: `(grant id, token)`.
pub(crate) fn granted_token_for(store: &Store, details: &str) -> (String, String) {
    use crate::sharing::request::{Approval, Poll};
    use secrecy::ExposeSecret;
    let client = store
        .register_client(&crate::sharing::client::ClientRegistration {
            client_name: "Acme".into(),
            ..Default::default()
        })
        .expect("register");
    let details = crate::sharing::scope::parse_requested(details).expect("details");
    let auth = store
        .request_access(&client.id, details, 3600)
        .expect("ask");
    let grant = store
        .approve_request(&auth.request.user_code, &Approval::default())
        .expect("approve");
    match store.poll_device_code(&client.id, auth.device_code.expose_secret()) {
        Ok(Poll::Issued { access_token, .. }) => {
            (grant.id, access_token.expose_secret().to_string())
        }
        _ => panic!("no token issued"),
    }
}

/// The actions in the access log, oldest first.
pub(crate) fn logged_actions(store: &Store) -> Vec<String> {
    store
        .audit_log(&Default::default())
        .expect("read the log")
        .into_iter()
        .map(|e| e.action.to_string())
        .collect()
}

/// Makes every insert into `table` fail (a temporary trigger named
/// `refuse_<table>`, as a full disk or a damaged page would): for proving a
/// step and its log entry or delivery commit together. Undo with
/// [`allow_inserts`].
pub(crate) fn refuse_inserts(store: &Store, table: &str) {
    store
        .conn
        .execute_batch(&format!(
            "CREATE TEMP TRIGGER refuse_{table} BEFORE INSERT ON {table}
             BEGIN SELECT RAISE(ABORT, '{table} full'); END;"
        ))
        .expect("refusing trigger");
}

/// Undoes [`refuse_inserts`].
pub(crate) fn allow_inserts(store: &Store, table: &str) {
    store
        .conn
        .execute_batch(&format!("DROP TRIGGER refuse_{table}"))
        .expect("drop the refusing trigger");
}

/// A reader of `total` bytes that runs `hook` once, before it gives the
/// byte at `hook_at`: something happens in the vault while a large write
/// is under way.
pub(crate) struct Meanwhile<F: FnMut()> {
    total: usize,
    given: usize,
    hook_at: usize,
    hook: Option<F>,
}

impl<F: FnMut()> Meanwhile<F> {
    pub(crate) fn new(total: usize, hook_at: usize, hook: F) -> Self {
        Meanwhile {
            total,
            given: 0,
            hook_at,
            hook: Some(hook),
        }
    }
}

impl<F: FnMut()> std::io::Read for Meanwhile<F> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.given >= self.hook_at {
            if let Some(mut hook) = self.hook.take() {
                hook();
            }
        }
        let limit = if self.given < self.hook_at {
            self.hook_at
        } else {
            self.total
        };
        let n = (limit - self.given).min(out.len());
        out[..n].fill(3);
        self.given += n;
        Ok(n)
    }
}

/// A fresh age X25519 key: the seal a bundle is written to, and the opener
/// that reads it back (no scrypt, so bundle tests stay quick).
pub(crate) fn recipient_pair() -> (crate::bundle::Seal, crate::bundle::Opener) {
    let identity = age::x25519::Identity::generate();
    (
        crate::bundle::Seal::Recipient(Box::new(identity.to_public())),
        crate::bundle::Opener::Identity(Box::new(identity)),
    )
}
