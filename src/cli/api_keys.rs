//! `sesame api-key create | list | revoke`: each an admin [`Command`] sent through
//! [`super::access`] (the running server, or the file), printed for people or as JSON.

use super::access::admin_call;
use super::args::ApiKeyCommand;
use super::error::CliError;
use super::output::{print_json, print_out};
use crate::admin::{ApiKeyRef, Command, NoArgs};
use crate::api_keys::{ApiKeyInfo, KeyState, NewApiKey};
use crate::config::Config;
use serde_json::Value;

pub(super) fn api_key(config: &Config, command: ApiKeyCommand) -> Result<(), CliError> {
    match command {
        ApiKeyCommand::Create { name, expires, out } => {
            let new = NewApiKey {
                name,
                expires_in_days: expires,
            };
            let (result, _) = admin_call(config, Command::ApiKeyCreate(new))?;
            if out.json {
                return print_json(&result);
            }
            let info: ApiKeyInfo = parse(result)?;
            outln!("Created API key {:?} (ID {}).\n", info.name, info.id);
            outln!("  {}\n", info.key.as_deref().unwrap_or_default());
            outln!("It is shown only now and cannot be shown again: store it safely.");
            outln!("Send it as `Authorization: Bearer <key>` to the management API (/api/v1).");
            match info.expires_at {
                Some(t) => outln!("It stops working at {} (Unix time).", t),
                None => outln!(
                    "It does not expire; `sesame api-key revoke {}` ends it.",
                    info.id
                ),
            }
            Ok(())
        }
        ApiKeyCommand::List { out } => {
            let (result, _) = admin_call(config, Command::ApiKeyList(NoArgs {}))?;
            if out.json {
                return print_json(&result);
            }
            let keys: Vec<ApiKeyInfo> = parse(result)?;
            if keys.is_empty() {
                outln!("No API keys yet. Make one with: sesame api-key create --name NAME");
                return Ok(());
            }
            print_table(&keys);
            Ok(())
        }
        ApiKeyCommand::Revoke { id, out } => {
            let (result, _) = admin_call(config, Command::ApiKeyRevoke(ApiKeyRef { id }))?;
            if out.json {
                return print_json(&result);
            }
            let info: ApiKeyInfo = parse(result)?;
            outln!(
                "Revoked API key {:?} ({}): requests with it are refused.",
                info.name,
                info.id
            );
            Ok(())
        }
    }
}

fn print_table(keys: &[ApiKeyInfo]) {
    let id_w = keys.iter().map(|k| k.id.len()).max().unwrap_or(0).max(2);
    let name_w = keys
        .iter()
        .map(|k| k.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("NAME".len());
    let time = |t: Option<u64>| t.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
    outln!(
        "{:<id_w$}  {:<name_w$}  {:<7}  {:<10}  {:<10}  LAST USED",
        "ID",
        "NAME",
        "STATE",
        "CREATED",
        "EXPIRES"
    );
    for k in keys {
        let state = match k.state {
            KeyState::Active => "active",
            KeyState::Expired => "expired",
            KeyState::Revoked => "revoked",
        };
        outln!(
            "{:<id_w$}  {:<name_w$}  {:<7}  {:<10}  {:<10}  {}",
            k.id,
            k.name,
            state,
            k.created_at,
            time(k.expires_at),
            time(k.last_used_at)
        );
    }
    outln!("\nTimes are Unix seconds.");
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, CliError> {
    serde_json::from_value(v).map_err(CliError::UnexpectedAnswer)
}
