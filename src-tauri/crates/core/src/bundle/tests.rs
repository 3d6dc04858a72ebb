use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use proptest::prelude::*;

use super::*;
use crate::audit::NewEntry;
use crate::client::ClientRegistration;
use crate::request::Approval;
use crate::testing::memory_store;
use crate::{scope, NewResource, PodPath, Store};

fn path(p: &str) -> PodPath {
    PodPath::parse(p).unwrap()
}

fn put(store: &Store, p: &str, content: &[u8]) {
    store
        .put(
            &path(p),
            NewResource {
                content: content.to_vec(),
                content_type: if content.first() == Some(&b'{') {
                    "application/json".into()
                } else {
                    "application/octet-stream".into()
                },
                category: None,
                mark_sensitive: false,
            },
        )
        .unwrap();
}

/// A store with history, a deletion, a company, a request, a grant, a token
/// and log entries.
fn populated() -> (tempfile::TempDir, Store) {
    let (dir, store) = memory_store();
    put(&store, "/contact/email", br#"{"email":"ada@example.org"}"#);
    put(&store, "/contact/email", br#"{"email":"ada@lovelace.org"}"#);
    put(&store, "/profile/card", br#"{"name":"Ada"}"#);
    put(&store, "/notes/old", b"gone soon");
    store.delete(&path("/notes/old")).unwrap();
    put(&store, "/100%25 sure/a b", b"odd path");
    store
        .set_communication_preference("channels.sms", "false")
        .unwrap();
    let client = store
        .register_client(&ClientRegistration {
            client_name: "Acme".into(),
            client_uri: Some("https://acme.example".into()),
            contacts: vec!["privacy@acme.example".into()],
        })
        .unwrap();
    let details = scope::parse_requested(
        r#"[{"type":"pod_access","paths":["/contact/"],"actions":["read"],"purpose":"Orders"}]"#,
    )
    .unwrap();
    let auth = store.request_access(&client.id, details, 3600).unwrap();
    store
        .approve_request(&auth.request.id, &Approval::default())
        .unwrap();
    store
        .poll_device_code(&client.id, auth.device_code.expose_secret())
        .unwrap();
    store
        .append_audit(&[NewEntry {
            actor: client.id.clone(),
            client_id: Some(client.id.clone()),
            action: "read".into(),
            method: Some("GET".into()),
            path: Some("/contact/email".into()),
            ..Default::default()
        }])
        .unwrap();
    (dir, store)
}

fn recipient_pair() -> (Seal, Opener) {
    let identity = age::x25519::Identity::generate();
    (
        Seal::Recipient(Box::new(identity.to_public())),
        Opener::Identity(Box::new(identity)),
    )
}

fn quiet() -> impl FnMut(&Progress) {
    |_| {}
}

fn export(store: &Store, dir: &Path, seal: &Seal) -> PathBuf {
    let out = dir.join(format!("b-{}.custodian.age", uuid::Uuid::new_v4()));
    export_bundle(store, &out, seal, false, &mut quiet()).unwrap();
    out
}

/// The entries that must survive a round trip (the README names the vault
/// and the time of export, which differ).
fn lasting(m: &Manifest) -> Vec<ManifestEntry> {
    m.entries
        .iter()
        .filter(|e| e.name != layout::README)
        .cloned()
        .collect()
}

#[test]
fn round_trip_is_exact() {
    let (dir, store) = populated();
    let (seal, opener) = recipient_pair();
    let first = export(&store, dir.path(), &seal);
    let checked = import::inspect(&first, &opener, &mut quiet()).unwrap();
    let manifest = &checked.manifest;
    assert_eq!(manifest.counts.resources, 4);
    assert_eq!(manifest.counts.versions, 7);
    assert_eq!((manifest.counts.clients, manifest.counts.grants), (1, 1));
    assert!(manifest.counts.audit_entries >= 3, "{:?}", manifest.counts);

    let (_d2, restored) = memory_store();
    import::restore_into(&restored, &first, &opener, &checked, &mut quiet()).unwrap();
    let second = export(&restored, dir.path(), &seal);
    let again = inspect_bundle(&second, &opener, &mut quiet()).unwrap();
    assert_eq!(lasting(&again), lasting(manifest));
    assert_eq!(again.counts, manifest.counts);

    // And it reads as the same vault.
    let email = restored.get(&path("/contact/email"), None).unwrap();
    assert_eq!(email.content, br#"{"email":"ada@lovelace.org"}"#);
    assert_eq!(restored.history(&path("/notes/old")).unwrap().len(), 2);
    assert!(restored.verify_audit_log().unwrap().first_broken.is_none());
    assert_eq!(restored.grants().unwrap().len(), 1);
    assert_eq!(
        restored.communication_preferences().unwrap().0,
        store.communication_preferences().unwrap().0
    );
}

#[test]
fn the_bundle_holds_no_secret() {
    let (dir, store) = populated();
    let (seal, opener) = recipient_pair();
    let bundle = export(&store, dir.path(), &seal);
    let mut names = Vec::new();
    let mut all = Vec::new();
    reader::read_all_for_tests(&bundle, &opener, &mut |name, bytes| {
        names.push(name.to_string());
        all.extend_from_slice(bytes);
    })
    .unwrap();
    assert_eq!(names[0], MANIFEST);
    assert_eq!(names[1], layout::README);
    assert!(names.contains(&"resources/contact/email#v2".to_string()));
    assert!(names.contains(&"resources/notes/old#v2.meta.json".to_string()));
    assert!(
        !names.contains(&"resources/notes/old#v2".to_string()),
        "a deletion has no content"
    );
    let text = String::from_utf8_lossy(&all);
    let token_hash: String = store
        .conn
        .query_row("SELECT hash FROM tokens", [], |r| r.get(0))
        .unwrap();
    let device_hash: String = store
        .conn
        .query_row("SELECT device_code_hash FROM access_requests", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!text.contains(&token_hash) && !text.contains(&device_hash));
    assert!(!text.contains("cst_") && !text.contains("csd_"));
}

#[test]
fn passphrase_bundles_and_wrong_keys() {
    let (dir, store) = populated();
    let seal = Seal::Passphrase {
        passphrase: SecretString::from("bundle passphrase".to_string()),
        work_factor: 4,
    };
    let bundle = export(&store, dir.path(), &seal);
    assert!(is_passphrase_bundle(&bundle).unwrap());
    let right = Opener::Passphrase(SecretString::from("bundle passphrase".to_string()));
    inspect_bundle(&bundle, &right, &mut quiet()).unwrap();
    let wrong = Opener::Passphrase(SecretString::from("not the one".to_string()));
    assert!(matches!(
        inspect_bundle(&bundle, &wrong, &mut quiet()),
        Err(Error::BundleWrongKey {
            what: "passphrase",
            ..
        })
    ));
    let (_, identity) = recipient_pair();
    assert!(matches!(
        inspect_bundle(&bundle, &identity, &mut quiet()),
        Err(Error::BundleKeyKind { .. })
    ));
    let (seal, _) = recipient_pair();
    let other = export(&store, dir.path(), &seal);
    assert!(!is_passphrase_bundle(&other).unwrap());
    assert!(matches!(
        inspect_bundle(&other, &identity, &mut quiet()),
        Err(Error::BundleWrongKey {
            what: "identity",
            ..
        })
    ));
}

#[test]
fn truncated_tampered_and_foreign_files_are_told_apart() {
    let (dir, store) = populated();
    // Enough content for several age chunks (64 KiB each).
    put(&store, "/documents/big", &vec![7u8; 300_000]);
    let (seal, opener) = recipient_pair();
    let bundle = export(&store, dir.path(), &seal);
    let bytes = std::fs::read(&bundle).unwrap();
    let write = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    for cut in [bytes.len() / 2, bytes.len() - 1, bytes.len() - 17, 200] {
        let t = write("cut.age", &bytes[..cut]);
        let e = inspect_bundle(&t, &opener, &mut quiet()).unwrap_err();
        assert!(
            matches!(e, Error::BundleTruncated { .. }),
            "cut at {cut}: {e}"
        );
    }
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 3;
    flipped[middle] ^= 0x40;
    let t = write("flipped.age", &flipped);
    let e = inspect_bundle(&t, &opener, &mut quiet()).unwrap_err();
    assert!(matches!(e, Error::BundleTampered { .. }), "{e}");

    let t = write("photo.jpg", b"\xff\xd8\xff\xe0 not an age file at all");
    let e = inspect_bundle(&t, &opener, &mut quiet()).unwrap_err();
    assert!(matches!(e, Error::BundleFormat { .. }), "{e}");
}

#[test]
fn a_checksum_mismatch_or_newer_format_is_refused() {
    let (dir, store) = populated();
    let (seal, opener) = recipient_pair();
    let Seal::Recipient(recipient) = &seal else {
        unreachable!()
    };
    // A bundle re-sealed by someone holding the recipient key, with a
    // changed resource but the original manifest.
    let bundle = export(&store, dir.path(), &seal);
    let mut entries = Vec::new();
    reader::read_all_for_tests(&bundle, &opener, &mut |name, bytes| {
        entries.push((name.to_string(), bytes.to_vec()));
    })
    .unwrap();
    let forge = |entries: &[(String, Vec<u8>)], name: &str| {
        let mut tar = tar::Builder::new(Vec::new());
        for (n, b) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(b.len() as u64);
            h.set_mode(0o600);
            tar.append_data(&mut h, n, b.as_slice()).unwrap();
        }
        let plain = tar.into_inner().unwrap();
        let enc = age::Encryptor::with_recipients(std::iter::once(
            recipient.as_ref() as &dyn age::Recipient
        ))
        .unwrap();
        let mut out = Vec::new();
        let mut w = enc.wrap_output(&mut out).unwrap();
        std::io::Write::write_all(&mut w, &plain).unwrap();
        w.finish().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, out).unwrap();
        p
    };
    let mut changed = entries.clone();
    let i = changed
        .iter()
        .position(|(n, _)| n == "resources/contact/email#v2")
        .unwrap();
    changed[i].1 = br#"{"email":"evil@example.org"}"#.to_vec();
    let e = inspect_bundle(&forge(&changed, "changed.age"), &opener, &mut quiet()).unwrap_err();
    assert!(
        matches!(&e, Error::BundleTampered { reason, .. } if reason.contains("resources/contact/email#v2")),
        "{e}"
    );

    let mut newer = entries.clone();
    let mut m: serde_json::Value = serde_json::from_slice(&newer[0].1).unwrap();
    m["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
    newer[0].1 = serde_json::to_vec(&m).unwrap();
    let e = inspect_bundle(&forge(&newer, "newer.age"), &opener, &mut quiet()).unwrap_err();
    assert!(
        matches!(&e, Error::BundleFormat { reason, .. } if reason.contains("update Custodian")),
        "{e}"
    );

    let missing: Vec<_> = entries.iter().take(entries.len() - 1).cloned().collect();
    let e = inspect_bundle(&forge(&missing, "missing.age"), &opener, &mut quiet()).unwrap_err();
    assert!(matches!(e, Error::BundleTampered { .. }), "{e}");
}

#[test]
fn a_failed_restore_leaves_no_vault() {
    let (dir, store) = populated();
    // A log whose chain was broken before the export.
    store
        .conn
        .execute("UPDATE audit_log SET reason = 'edited' WHERE seq = 2", [])
        .unwrap();
    let (seal, opener) = recipient_pair();
    let bundle = export(&store, dir.path(), &seal);
    let target = dir.path().join("restored");
    let e = restore_bundle(
        &bundle,
        &opener,
        &target,
        &SecretString::from("new passphrase".to_string()),
        4,
        &mut quiet(),
    )
    .err()
    .unwrap();
    assert!(
        matches!(&e, Error::BundleTampered { reason, .. } if reason.contains("entry 2")),
        "{e}"
    );
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".custodian-init")
        })
        .collect();
    assert!(leftovers.is_empty(), "no staging directory is left");
}

#[test]
fn restore_makes_a_new_vault_that_opens_with_the_new_passphrase() {
    let (dir, store) = populated();
    let (seal, opener) = recipient_pair();
    let bundle = export(&store, dir.path(), &seal);
    let target = dir.path().join("restored");
    let pass = SecretString::from("new passphrase".to_string());
    let restored = restore_bundle(&bundle, &opener, &target, &pass, 4, &mut quiet()).unwrap();
    assert_eq!(restored.manifest.counts.resources, 4);
    drop(restored);
    let vault = crate::Vault::open(&target, &pass).unwrap();
    assert_eq!(
        vault
            .store()
            .get(&path("/profile/card"), None)
            .unwrap()
            .content,
        br#"{"name":"Ada"}"#
    );
    let e = restore_bundle(&bundle, &opener, &target, &pass, 4, &mut quiet())
        .err()
        .unwrap();
    assert!(matches!(e, Error::VaultExists { .. }), "{e}");
}

#[test]
fn merge_adds_what_is_missing_and_reports_conflicts() {
    let (dir, source) = populated();
    let (seal, opener) = recipient_pair();
    let bundle = export(&source, dir.path(), &seal);

    let (_d2, here) = memory_store();
    put(&here, "/contact/email", br#"{"email":"ada@example.org"}"#);
    put(&here, "/contact/email", br#"{"email":"ada@lovelace.org"}"#);
    put(&here, "/profile/card", br#"{"name":"Someone else"}"#);
    put(&here, "/mine/only", b"stays");
    let before_log = here.verify_audit_log().unwrap().entries;

    let report = merge_bundle(&here, &bundle, &opener, &mut quiet()).unwrap();
    assert_eq!(report.unchanged, 1, "{report:?}");
    assert_eq!(
        report
            .conflicts
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>(),
        ["/profile/card"]
    );
    assert!(report.added.contains(&"/notes/old".to_string()));
    assert!(report.added.contains(&"/100% sure/a b".to_string()));
    assert_eq!((report.clients_added, report.grants_added), (1, 1));
    assert!(report.log_entries_not_merged >= 3);
    // Nothing here was overwritten.
    assert_eq!(
        here.get(&path("/profile/card"), None).unwrap().content,
        br#"{"name":"Someone else"}"#
    );
    assert_eq!(
        here.get(&path("/mine/only"), None).unwrap().content,
        b"stays"
    );
    assert_eq!(here.history(&path("/notes/old")).unwrap().len(), 2);
    let chain = here.verify_audit_log().unwrap();
    assert!(chain.first_broken.is_none());
    assert_eq!(chain.entries, before_log + 1, "one entry records the merge");

    // Merging again adds nothing.
    let again = merge_bundle(&here, &bundle, &opener, &mut quiet()).unwrap();
    assert!(again.added.is_empty());
    assert_eq!((again.clients_added, again.grants_added), (0, 0));
}

#[test]
fn plain_export_writes_the_same_files() {
    let (dir, store) = populated();
    let out = dir.path().join("plain");
    let summary = export_plain(&store, &out, &mut quiet()).unwrap();
    assert_eq!(summary.counts.resources, 4);
    let email = std::fs::read(out.join("resources/contact/email#v2")).unwrap();
    assert_eq!(email, br#"{"email":"ada@lovelace.org"}"#);
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(out.join(MANIFEST)).unwrap()).unwrap();
    for e in &manifest.entries {
        let bytes = std::fs::read(out.join(&e.name)).unwrap();
        assert_eq!(bytes.len() as u64, e.size, "{}", e.name);
    }
    assert!(
        export_plain(&store, &out, &mut quiet()).is_err(),
        "never into a non-empty directory"
    );
}

#[test]
fn progress_is_reported_to_the_end() {
    let (dir, store) = populated();
    let (seal, opener) = recipient_pair();
    let out = dir.path().join("p.custodian.age");
    let mut last = None;
    export_bundle(&store, &out, &seal, false, &mut |p| last = Some(*p)).unwrap();
    let p = last.unwrap();
    assert_eq!(p.phase, Phase::Writing);
    assert_eq!((p.items_done, p.bytes_done), (p.items_total, p.bytes_total));
    let mut last = None;
    inspect_bundle(&out, &opener, &mut |p| last = Some(*p)).unwrap();
    let p = last.unwrap();
    assert_eq!((p.items_done, p.bytes_done), (p.items_total, p.bytes_total));
    assert!(
        export_bundle(&store, &out, &seal, false, &mut quiet()).is_err(),
        "an existing file is not replaced unless asked"
    );
}

#[derive(Debug, Clone)]
enum Op {
    Put(usize, Vec<u8>),
    Delete(usize),
}

const PATHS: [&str; 5] = ["/a", "/a/b", "/contact/x", "/health/h", "/docs/é"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0..PATHS.len(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(i, b)| Op::Put(i, b)),
        (0..PATHS.len()).prop_map(Op::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_vault_round_trips(ops in proptest::collection::vec(op(), 0..20)) {
        let (dir, store) = memory_store();
        for op in &ops {
            match op {
                Op::Put(i, bytes) => put(&store, PATHS[*i], bytes),
                Op::Delete(i) => {
                    let _ = store.delete(&path(PATHS[*i]));
                }
            }
        }
        let (seal, opener) = recipient_pair();
        let first = export(&store, dir.path(), &seal);
        let checked = import::inspect(&first, &opener, &mut quiet()).unwrap();
        let manifest = &checked.manifest;
        let (_d2, restored) = memory_store();
        import::restore_into(&restored, &first, &opener, &checked, &mut quiet()).unwrap();
        let second = export(&restored, dir.path(), &seal);
        let again = inspect_bundle(&second, &opener, &mut quiet()).unwrap();
        prop_assert_eq!(lasting(&again), lasting(manifest));
    }
}
