//! `sesame api create | list | show | update | delete`: each an admin [`Command`] sent through
//! [`super::access`] (the running server, or the file), printed for people or as JSON.

use super::access::admin_call;
use super::args::ApiCommand;
use super::commands::parse;
use super::error::CliError;
use super::output::{print_json, print_out};
use crate::admin::{ApiChange, ApiRef, Command, NoArgs};
use crate::apis::{ApiUpdate, NewApi};
use crate::config::Config;
use crate::store::ApiResource;

pub(super) fn api(config: &Config, command: ApiCommand) -> Result<(), CliError> {
    match command {
        ApiCommand::Create {
            indicator,
            name,
            scopes,
            alg,
            access_token_ttl,
            out,
        } => {
            let new = NewApi {
                indicator,
                name,
                scopes: scopes.into_iter().map(|s| s.0).collect(),
                alg,
                access_token_ttl,
            };
            let (result, _) = admin_call(config, Command::ApiCreate(new))?;
            if out.json {
                return print_json(&result);
            }
            let api: ApiResource = parse(result)?;
            outln!("Registered the API {:?}.\n", api.name);
            print_api(&api);
            outln!(
                "\nGrant its scopes to a group (sesame group update GROUP --api-scope {}=SCOPE) \
                 or a machine app (sesame app update CLIENT_ID --api-scope ...).",
                api.indicator
            );
            Ok(())
        }
        ApiCommand::List { out } => {
            let (result, _) = admin_call(config, Command::ApiList(NoArgs {}))?;
            if out.json {
                return print_json(&result);
            }
            let apis: Vec<ApiResource> = parse(result)?;
            if apis.is_empty() {
                outln!("No APIs yet. Register one with: sesame api create INDICATOR --name NAME");
            }
            for api in &apis {
                outln!(
                    "{}  {}  ({} scopes)",
                    api.indicator,
                    api.name,
                    api.scopes.len()
                );
            }
            Ok(())
        }
        ApiCommand::Show { indicator, out } => {
            let (result, _) = admin_call(config, Command::ApiShow(ApiRef { indicator }))?;
            if out.json {
                return print_json(&result);
            }
            print_api(&parse(result)?);
            Ok(())
        }
        ApiCommand::Update {
            indicator,
            name,
            scopes,
            alg,
            access_token_ttl,
            out,
        } => {
            let change = ApiUpdate {
                name,
                scopes: (!scopes.is_empty()).then(|| scopes.into_iter().map(|s| s.0).collect()),
                alg,
                access_token_ttl,
            };
            if change.changes_nothing() {
                return Err(CliError::NothingToChange(
                    "--name, --scope, --alg or --access-token-ttl",
                ));
            }
            let command = Command::ApiUpdate(ApiChange { indicator, change });
            let (result, _) = admin_call(config, command)?;
            if out.json {
                return print_json(&result);
            }
            print_api(&parse(result)?);
            Ok(())
        }
        ApiCommand::Delete { indicator, out } => {
            let (result, _) = admin_call(config, Command::ApiDelete(ApiRef { indicator }))?;
            if out.json {
                return print_json(&result);
            }
            let api: ApiResource = parse(result)?;
            outln!("Deleted the API {:?} ({}).", api.name, api.indicator);
            Ok(())
        }
    }
}

fn print_api(api: &ApiResource) {
    outln!("  Indicator (aud)     {}", api.indicator);
    outln!("  Name                {}", api.name);
    outln!("  Signing algorithm   {}", api.alg);
    outln!("  Token lifetime      {}s", api.access_token_ttl);
    outln!("  Declared            {}", api.declared);
    for s in &api.scopes {
        outln!("  Scope               {}  {}", s.name, s.description);
    }
}
