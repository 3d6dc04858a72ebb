//! Where passphrases come from: the file a flag names, else the
//! environment, else a hidden prompt on the terminal (an explicit flag wins
//! over a variable left in the environment); recovery keys and age
//! identities from a file or a prompt. Never echoed, never logged.

use std::io::IsTerminal;
use std::path::Path;

use custodian_core::{ExposeSecret, SecretString};

use crate::fail::Fail;

/// The passphrase of an existing vault.
pub fn current_passphrase(file: Option<&Path>) -> Result<SecretString, Fail> {
    if let Some(path) = file {
        return from_file(path, "--passphrase-file");
    }
    if let Some(p) = from_env("CUSTODIAN_PASSPHRASE") {
        return Ok(p);
    }
    prompt_once("Passphrase: ", "CUSTODIAN_PASSPHRASE or --passphrase-file")
}

/// A passphrase for a new vault: as [`current_passphrase`], but a prompt asks
/// twice.
pub fn new_vault_passphrase(file: Option<&Path>) -> Result<SecretString, Fail> {
    if let Some(path) = file {
        return from_file(path, "--passphrase-file");
    }
    if let Some(p) = from_env("CUSTODIAN_PASSPHRASE") {
        return Ok(p);
    }
    prompt_twice(
        "New vault passphrase",
        "CUSTODIAN_PASSPHRASE or --passphrase-file",
    )
}

/// A replacement passphrase (passwd, recover, import).
pub fn replacement_passphrase(file: Option<&Path>) -> Result<SecretString, Fail> {
    if let Some(path) = file {
        return from_file(path, "--new-passphrase-file");
    }
    if let Some(p) = from_env("CUSTODIAN_NEW_PASSPHRASE") {
        return Ok(p);
    }
    prompt_twice(
        "New passphrase",
        "CUSTODIAN_NEW_PASSPHRASE or --new-passphrase-file",
    )
}

/// A passphrase to seal a bundle with: a file, `CUSTODIAN_BUNDLE_PASSPHRASE`,
/// or a prompt that asks twice.
pub fn new_bundle_passphrase(file: Option<&Path>) -> Result<SecretString, Fail> {
    let p = match (file, from_env("CUSTODIAN_BUNDLE_PASSPHRASE")) {
        (Some(path), _) => from_file(path, "--bundle-passphrase-file")?,
        (None, Some(p)) => p,
        (None, None) => prompt_twice(
            "Bundle passphrase",
            "CUSTODIAN_BUNDLE_PASSPHRASE, --bundle-passphrase-file or --recipient",
        )?,
    };
    custodian_core::vault::keys::check_new_passphrase(&p).map_err(Fail::from)?;
    Ok(p)
}

/// The passphrase a bundle was sealed with.
pub fn bundle_passphrase(file: Option<&Path>) -> Result<SecretString, Fail> {
    if let Some(path) = file {
        return from_file(path, "--bundle-passphrase-file");
    }
    if let Some(p) = from_env("CUSTODIAN_BUNDLE_PASSPHRASE") {
        return Ok(p);
    }
    prompt_once(
        "Bundle passphrase: ",
        "CUSTODIAN_BUNDLE_PASSPHRASE or --bundle-passphrase-file",
    )
}

/// An age identity file's text (`age-keygen` output).
pub fn identity_file(path: &Path) -> Result<SecretString, Fail> {
    read_secret_file(path, "--identity-file")
}

/// The recovery key's text, from a file or a hidden prompt.
pub fn recovery_key_text(file: Option<&Path>) -> Result<SecretString, Fail> {
    match file {
        Some(path) => read_secret_file(path, "--recovery-key-file"),
        None => prompt_once("Recovery key (AGE-SECRET-KEY-1…): ", "--recovery-key-file"),
    }
}

fn from_env(name: &str) -> Option<SecretString> {
    std::env::var(name).ok().map(SecretString::from)
}

/// The first line of a file, without its line ending.
fn from_file(path: &Path, flag: &str) -> Result<SecretString, Fail> {
    let all = read_secret_file(path, flag)?;
    let first = all.expose_secret().lines().next().unwrap_or("").to_string();
    Ok(SecretString::from(first))
}

fn read_secret_file(path: &Path, flag: &str) -> Result<SecretString, Fail> {
    std::fs::read_to_string(path)
        .map(SecretString::from)
        .map_err(|e| Fail::usage(format!("cannot read {flag} {}: {e}", path.display())))
}

fn has_terminal() -> bool {
    std::io::stdin().is_terminal() || std::io::stderr().is_terminal()
}

fn no_terminal(alternatives: &str) -> Fail {
    Fail::usage(format!(
        "no passphrase given and no terminal to ask on: set {alternatives}"
    ))
}

fn prompt_once(prompt: &str, alternatives: &str) -> Result<SecretString, Fail> {
    if !has_terminal() {
        return Err(no_terminal(alternatives));
    }
    rpassword::prompt_password(prompt)
        .map(SecretString::from)
        .map_err(|e| Fail::usage(format!("could not read from the terminal: {e}")))
}

fn prompt_twice(what: &str, alternatives: &str) -> Result<SecretString, Fail> {
    let first = prompt_once(&format!("{what}: "), alternatives)?;
    custodian_core::vault::keys::check_new_passphrase(&first).map_err(Fail::from)?;
    let second = prompt_once(&format!("{what} again: "), alternatives)?;
    if first.expose_secret() != second.expose_secret() {
        return Err(Fail::usage(
            "the two passphrases differ; nothing was changed",
        ));
    }
    Ok(first)
}
