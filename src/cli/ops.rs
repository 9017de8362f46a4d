//! The operator's commands: `keys list`, `keys prune`, `backup FILE` and `restore FILE`.
//!
//! `keys list`, `keys prune` and `backup` go through the running server when one answers (a
//! backup is then the server's consistent snapshot, written while it keeps serving), or run on
//! the file. `restore` runs only with the server stopped: it refuses while a server answers on
//! the control socket or holds the data file's lock, and otherwise replaces the file (see
//! [`crate::store::restore`]).

use super::access::{admin_call, create_data_dir, Via};
use super::error::CliError;
use super::output::{print_json, print_out};
use crate::admin::{client, BackupTo, Command, KeyWindow};
use crate::clock::utc;
use crate::config::Config;
use crate::crypto::keys::KeyInfo;
use crate::store::{Store, StoreError};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `sesame keys list`.
pub(super) fn keys_list(config: &Config, json_out: bool) -> Result<(), CliError> {
    let (result, _) = admin_call(config, Command::KeysList(window(config)))?;
    if json_out {
        return print_json(&result);
    }
    let keys: Vec<KeyInfo> = serde_json::from_value(result).map_err(CliError::UnexpectedAnswer)?;
    outln!(
        "{:<6}  {:<22}  {:<20}  {:<20}  IN JWKS UNTIL",
        "ALG",
        "KID",
        "CREATED",
        "RETIRED"
    );
    for k in keys {
        outln!(
            "{:<6}  {:<22}  {:<20}  {:<20}  {}",
            k.alg.as_str(),
            k.kid,
            utc(k.created_at),
            k.retired_at.map_or("- (active)".into(), utc),
            k.in_jwks_until.map_or("while active".into(), utc),
        );
    }
    Ok(())
}

/// `sesame keys prune`.
pub(super) fn keys_prune(config: &Config, json_out: bool) -> Result<(), CliError> {
    let (result, _) = admin_call(config, Command::KeysPrune(window(config)))?;
    if json_out {
        return print_json(&result);
    }
    let pruned: Vec<KeyInfo> =
        serde_json::from_value(result["pruned"].clone()).map_err(CliError::UnexpectedAnswer)?;
    if pruned.is_empty() {
        outln!("No key to prune: every retired key may still have signed a valid token.");
    }
    for k in pruned {
        outln!(
            "Pruned {} key {} (retired {}).",
            k.alg.as_str(),
            k.kid,
            k.retired_at.map_or("?".into(), utc)
        );
    }
    Ok(())
}

/// The window the CLI sends: its configuration's ID token lifetime (a running server uses its
/// own).
fn window(config: &Config) -> KeyWindow {
    KeyWindow {
        token_lifetime: Some(config.tokens.id_token_ttl),
    }
}

/// `sesame backup FILE`.
pub(super) fn backup(config: &Config, file: &Path, json_out: bool) -> Result<(), CliError> {
    let path = absolute(file)?;
    let (result, via) = admin_call(config, Command::Backup(BackupTo { path }))?;
    if json_out {
        return print_json(&result);
    }
    let field = |name: &str| result.get(name).and_then(Value::as_u64).unwrap_or(0);
    outln!(
        "Wrote {} ({} bytes, {} records in {} tables){}. Keep it as you keep the data directory: it holds the signing keys.",
        result.get("path").and_then(Value::as_str).unwrap_or_default(),
        field("bytes"),
        field("records"),
        field("tables"),
        if via == Via::Server { ", a snapshot taken by the running server" } else { "" }
    );
    Ok(())
}

/// `sesame restore FILE`.
pub(super) fn restore(config: &Config, file: &Path) -> Result<(), CliError> {
    let file = absolute(file)?;
    if client::call(&config.data_dir, &Command::KeysList(KeyWindow::default())).is_ok() {
        return Err(CliError::RestoreWhileRunning(config.data_dir.clone()));
    }
    create_data_dir(&config.data_dir)?;
    let db = config.db_path();
    // Holding the file's lock keeps a server from starting on it while it is replaced, and
    // proves no server has it now.
    let _held = if db.exists() {
        match Store::open(&db) {
            Ok(store) => Some(store),
            Err(StoreError::Locked) => {
                return Err(CliError::RestoreWhileRunning(config.data_dir.clone()))
            }
            // A damaged file is what a restore is for: replace it.
            Err(_) => None,
        }
    } else {
        None
    };
    let kept = crate::store::restore(&file, &db).map_err(CliError::Restore)?;
    outln!("Restored {} from {}.", db.display(), file.display());
    if let Some(kept) = kept {
        outln!("The file it replaced is kept as {}.", kept.display());
    }
    Ok(())
}

fn absolute(file: &Path) -> Result<PathBuf, CliError> {
    std::path::absolute(file).map_err(|error| CliError::ReadFile {
        path: file.to_path_buf(),
        error,
    })
}
