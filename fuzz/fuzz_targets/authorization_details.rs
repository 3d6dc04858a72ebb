//! `authorization_details` as a company sends it, then the person's answer:
//! parse the JSON (`scope::parse_requested`), ask with it, and approve it
//! narrowed by fuzzed choices (`Store::approve_request`). A grant that
//! comes out must never reach outside what was asked
//! (`scope::is_within_request`), and what is stored must read back equal.
#![no_main]

use std::cell::RefCell;

use custodian_core::sharing::client::ClientRegistration;
use custodian_core::sharing::request::Approval;
use custodian_core::sharing::scope::{self, PodAccess};
use custodian_core::{Category, PodPath, SecretString, Vault};
use libfuzzer_sys::fuzz_target;

struct World {
    _dir: tempfile::TempDir,
    vault: Vault,
    client: String,
}

fn world() -> World {
    // On tmpfs when there is one: each input is two small transactions.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("temp dir");
    let vault = Vault::create_with_work_factor(
        &dir.path().join("v"),
        &SecretString::from("correct horse battery".to_string()),
        4,
    )
    .expect("vault")
    .vault;
    vault
        .store()
        .execute_for_tests("PRAGMA synchronous = OFF")
        .expect("pragma");
    let client = vault
        .store()
        .register_client(&ClientRegistration {
            client_name: "Fuzz Co".into(),
            client_uri: None,
            contacts: vec![],
        })
        .expect("client")
        .id;
    World {
        _dir: dir,
        vault,
        client,
    }
}

thread_local! {
    static WORLD: RefCell<Option<World>> = const { RefCell::new(None) };
}

const CATEGORIES: [Category; 3] = [Category::Health, Category::Finance, Category::Location];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (choices, json) = data.split_at(3);
    let Ok(json) = std::str::from_utf8(json) else {
        return;
    };
    let Ok(asked) = scope::parse_requested(json) else {
        return;
    };
    // What is stored is the JSON of the parsed details: it must read back.
    let stored = serde_json::to_string(&asked).expect("details serialize");
    let back: Vec<PodAccess> = serde_json::from_str(&stored).expect("stored details parse");
    assert_eq!(back, asked);

    // The person's answer: keep some asked paths, or a parent or a child of
    // one, and tick some sensitive categories.
    let mut candidates: Vec<PodPath> = Vec::new();
    for d in &asked {
        for p in &d.paths {
            candidates.push(p.clone());
            if let Some(parent) = p.parent() {
                candidates.push(parent);
            }
            if p.is_container() {
                if let Ok(child) = PodPath::parse(&format!("{}x", p.as_str())) {
                    candidates.push(child);
                }
            }
        }
    }
    let only: Vec<PodPath> = candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 8 && choices[0] & (1 << i) != 0)
        .map(|(_, p)| p.clone())
        .collect();
    let sensitive: Vec<Category> = CATEGORIES
        .iter()
        .enumerate()
        .filter(|(i, _)| choices[1] & (1 << i) != 0)
        .map(|(_, c)| *c)
        .collect();
    let lifetime = (choices[2] & 1 == 1).then_some(60 + i64::from(choices[2]));
    let approval = Approval {
        only,
        lifetime,
        sensitive,
    };

    WORLD.with(|w| {
        let mut w = w.borrow_mut();
        let w = w.get_or_insert_with(world);
        let store = w.vault.store();
        let Ok(auth) = store.request_access(&w.client, asked.clone(), 3600) else {
            return;
        };
        let id = auth.request.id.clone();
        assert_eq!(
            auth.request.details, asked,
            "the request stores what was asked"
        );
        match store.approve_request(&id, &approval) {
            Ok(grant) => {
                assert!(
                    scope::is_within_request(&grant.details, &asked),
                    "granted {:?}\nasked {:?}\napproval only {:?}",
                    grant.details,
                    asked,
                    approval.only
                );
                assert!(!grant.details.is_empty());
                if !approval.only.is_empty() {
                    for d in &grant.details {
                        for p in &d.paths {
                            assert!(
                                approval
                                    .only
                                    .iter()
                                    .any(|o| p.is_within(o) || o.is_within(p)),
                                "{p:?} granted, the person kept only {:?}",
                                approval.only
                            );
                        }
                    }
                }
            }
            Err(_) => {
                store.deny_request(&id).expect("deny a pending request");
            }
        }
    });
});
