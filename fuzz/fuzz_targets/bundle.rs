//! The bundle reader: what `custodian import` does with a file someone
//! handed the person. The first byte picks the layer fuzzed:
//!
//! - even: the rest is the file itself (the age layer: header, stanzas,
//!   truncation, damage), opened with a fixed identity;
//! - odd: the rest is the tar stream inside, sealed here to that identity, so
//!   the fuzzer reaches the manifest and entry checks behind the encryption.
//!
//! A bundle that passes the check is then merged into a vault. Any result is
//! fine but a panic, a hang or a runaway allocation.
#![no_main]

use std::cell::RefCell;
use std::io::Write;

use custodian_core::bundle::{self, Opener};
use custodian_core::{SecretString, Vault};
use libfuzzer_sys::fuzz_target;

struct World {
    dir: tempfile::TempDir,
    identity: age::x25519::Identity,
    vault: Vault,
}

fn world() -> World {
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
    // Any identity will do: odd inputs are sealed to it here, and even ones
    // (whole files) were sealed to no key of ours, as a stranger's would be.
    let identity = age::x25519::Identity::generate();
    World {
        dir,
        identity,
        vault,
    }
}

thread_local! {
    static WORLD: RefCell<Option<World>> = const { RefCell::new(None) };
}

fn seal(inner: &[u8], to: &age::x25519::Recipient) -> Vec<u8> {
    let recipients = [to as &dyn age::Recipient];
    let encryptor = age::Encryptor::with_recipients(recipients.into_iter()).expect("an encryptor");
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).expect("wrap");
    writer.write_all(inner).expect("encrypt");
    writer.finish().expect("finish");
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    WORLD.with(|w| {
        let mut w = w.borrow_mut();
        let w = w.get_or_insert_with(world);
        let bytes = if mode & 1 == 1 {
            seal(rest, &w.identity.to_public())
        } else {
            rest.to_vec()
        };
        let file = w.dir.path().join("input.custodian.age");
        std::fs::write(&file, &bytes).expect("write the input");
        let opener = Opener::Identity(Box::new(w.identity.clone()));
        let _ = bundle::is_passphrase_bundle(&file);
        if bundle::inspect_bundle(&file, &opener, &mut |_| {}).is_ok() {
            let _ = bundle::merge_bundle(w.vault.store(), &file, &opener, &mut |_| {});
        }
    });
});
