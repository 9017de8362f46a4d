//! What each command does once parsed: builds the control [`Command`], sends it through
//! [`super::access`], and prints the answer (as text, or as JSON with `--json`). `mail test`
//! with no server running builds a mailer itself ([`crate::mail`]).

use super::access::{admin_call, open_store, Opened, Via};
use super::args::{api_scope_map, AppCommand, AppTypeArg, AuditArgs, ConnectorCommand};
use super::error::CliError;
use super::output::{pretty, print_app, print_app_table, print_audit_page, print_json, print_out};
use crate::admin::{
    self, client, AppChange, AppInfo, AppRef, Command, ConnectorRef, ConnectorSettings,
    KeyRotation, NoArgs, TestMessage,
};
use crate::apps::{self, AppUpdate, NewApp};
use crate::audit::{AuditPage, AuditQuery};
use crate::config::Config;
use crate::crypto::keys::Alg;
use crate::store::AppType;
use serde_json::Value;

pub(super) fn app(config: &Config, command: AppCommand) -> Result<(), CliError> {
    match command {
        AppCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            app_type,
            id_token_alg,
            allowed_groups,
            insecure,
            refresh_retry_window,
            api_scopes,
            backchannel,
            flows,
            second_factor,
            out,
        } => {
            let app_type = match app_type {
                AppTypeArg::Traditional => AppType::Traditional,
                AppTypeArg::Spa => AppType::Spa,
                AppTypeArg::Native => AppType::Native,
                AppTypeArg::Machine => AppType::Machine,
            };
            let new = NewApp {
                name,
                app_type,
                redirect_uris,
                post_logout_redirect_uris,
                id_token_signed_response_alg: id_token_alg,
                allowed_groups,
                allow_insecure_redirect: insecure.allow_insecure_redirect.unwrap_or(false),
                refresh_retry_window,
                api_scopes: api_scope_map(api_scopes),
                backchannel_logout_uri: backchannel.backchannel_logout_uri,
                backchannel_logout_session_required: backchannel
                    .backchannel_logout_session_required,
                device_flow: flows.device_flow.unwrap_or(false),
                require_pushed_authorization_requests: flows
                    .require_pushed_authorization_requests
                    .unwrap_or(false),
                second_factor: second_factor
                    .second_factor
                    .map(Into::into)
                    .unwrap_or_default(),
            };
            let (result, _) = admin_call(config, Command::AppCreate(new))?;
            warn_if_insecure(&result);
            if out.json {
                return print_json(&result);
            }
            let info: AppInfo = parse(result)?;
            outln!("Created app {:?} ({}).\n", info.name, info.app_type);
            print_app(&info);
            match &info.client_secret {
                Some(_) => outln!(
                    "\nThe client secret is shown only now and cannot be shown again: store it safely.\n\
                     (`sesame app rotate-secret {}` makes a new one.)",
                    info.client_id
                ),
                None => outln!("\nA public client: no secret; it must use PKCE (S256)."),
            }
            Ok(())
        }
        AppCommand::List { out } => {
            let (result, _) = admin_call(config, Command::AppList(NoArgs {}))?;
            if out.json {
                return print_json(&result);
            }
            let infos: Vec<AppInfo> = parse(result)?;
            if infos.is_empty() {
                outln!("No apps yet. Register one with: sesame app create --name NAME --redirect-uri URI");
                return Ok(());
            }
            print_app_table(&infos);
            Ok(())
        }
        AppCommand::Show { client_id, out } => {
            let (result, _) = admin_call(config, Command::AppShow(AppRef { client_id }))?;
            if out.json {
                return print_json(&result);
            }
            print_app(&parse(result)?);
            Ok(())
        }
        AppCommand::Update {
            client_id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            clear_post_logout_redirect_uris,
            id_token_alg,
            allowed_groups,
            allow_everyone,
            insecure,
            refresh_retry_window,
            api_scopes,
            no_api_scopes,
            backchannel,
            flows,
            second_factor,
            out,
        } => {
            let change = AppUpdate {
                name,
                redirect_uris: (!redirect_uris.is_empty()).then_some(redirect_uris),
                post_logout_redirect_uris: (!post_logout_redirect_uris.is_empty()
                    || clear_post_logout_redirect_uris)
                    .then_some(post_logout_redirect_uris),
                id_token_signed_response_alg: id_token_alg,
                allowed_groups: (!allowed_groups.is_empty() || allow_everyone)
                    .then_some(allowed_groups),
                allow_insecure_redirect: insecure.allow_insecure_redirect,
                refresh_retry_window,
                api_scopes: (!api_scopes.is_empty() || no_api_scopes)
                    .then(|| api_scope_map(api_scopes)),
                backchannel_logout_uri: backchannel.backchannel_logout_uri,
                backchannel_logout_session_required: backchannel
                    .backchannel_logout_session_required,
                device_flow: flows.device_flow,
                require_pushed_authorization_requests: flows.require_pushed_authorization_requests,
                second_factor: second_factor.second_factor.map(Into::into),
            };
            if change.changes_nothing() {
                return Err(CliError::NothingToChange(
                    "--name, --redirect-uri, --post-logout-redirect-uri, \
                     --clear-post-logout-redirect-uris, --id-token-alg, --allowed-group, \
                     --allow-everyone, --allow-insecure-redirect, --refresh-retry-window, --api-scope, \
                     --no-api-scopes, --device-flow, --require-par, --backchannel-logout-uri, \
                     --backchannel-logout-session-required or --second-factor",
                ));
            }
            let (result, _) =
                admin_call(config, Command::AppUpdate(AppChange { client_id, change }))?;
            warn_if_insecure(&result);
            if out.json {
                return print_json(&result);
            }
            let info: AppInfo = parse(result)?;
            outln!("Updated app {:?}.\n", info.name);
            print_app(&info);
            Ok(())
        }
        AppCommand::Delete { client_id, out } => {
            let (result, _) = admin_call(config, Command::AppDelete(AppRef { client_id }))?;
            if out.json {
                return print_json(&result);
            }
            let info: AppInfo = parse(result)?;
            outln!(
                "Deleted app {:?} ({}); its tokens are revoked.",
                info.name,
                info.client_id
            );
            Ok(())
        }
        AppCommand::RotateSecret { client_id, out } => {
            let command = Command::AppRotateSecret(AppRef {
                client_id: client_id.clone(),
            });
            let (result, _) = admin_call(config, command)?;
            if out.json {
                return print_json(&result);
            }
            let secret = result
                .get("client_secret")
                .and_then(Value::as_str)
                .unwrap_or_default();
            outln!("New client secret for {client_id}:\n\n  {secret}\n");
            outln!("The old secret no longer works. This one is shown only now and cannot be shown again: store it safely.");
            Ok(())
        }
    }
}

pub(super) fn connector(config: &Config, command: ConnectorCommand) -> Result<(), CliError> {
    match command {
        ConnectorCommand::Set { name, file, out } => {
            let text = std::fs::read_to_string(&file).map_err(|error| CliError::ReadFile {
                path: file.clone(),
                error,
            })?;
            let json: Value =
                serde_json::from_str(&text).map_err(|error| CliError::ConnectorNotJson {
                    path: file.clone(),
                    error,
                })?;
            let name = name.as_str();
            let command = Command::ConnectorSet(ConnectorSettings {
                name: name.into(),
                config: Some(json),
            });
            let (result, via) = admin_call(config, command)?;
            if out.json {
                return print_json(&result);
            }
            outln!("Stored the {name} connector (secrets masked):");
            outln!("{}", pretty(result.get("config").unwrap_or(&Value::Null)));
            for w in result
                .get("warnings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                outln!("note: {}", w.as_str().unwrap_or_default());
            }
            match via {
                Via::Server => outln!("The running server uses it from now on."),
                Via::File => outln!(
                    "sesame uses it from its next start. Try it with: sesame mail test --to ADDR"
                ),
            }
            Ok(())
        }
        ConnectorCommand::Show { name, out } => {
            let name = name.as_str();
            let command = Command::ConnectorShow(ConnectorRef { name: name.into() });
            let (result, _) = admin_call(config, command)?;
            if out.json {
                return print_json(&result);
            }
            match result.get("config") {
                Some(c) => outln!("{}", pretty(c)),
                None => outln!("No {name} connector stored. Store one with: sesame connector set {name} --file {name}.json"),
            }
            Ok(())
        }
        ConnectorCommand::Delete { name, out } => {
            let name = name.as_str();
            let command = Command::ConnectorDelete(ConnectorRef { name: name.into() });
            let (result, via) = admin_call(config, command)?;
            if out.json {
                return print_json(&result);
            }
            if result.get("deleted") != Some(&Value::Bool(true)) {
                outln!("No {name} connector stored: nothing to delete.");
                return Ok(());
            }
            outln!("Deleted the stored {name} connector.");
            for w in result
                .get("warnings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                outln!("warning: {}", w.as_str().unwrap_or_default());
            }
            let transport = result
                .pointer("/mail/transport")
                .and_then(Value::as_str)
                .unwrap_or("log");
            match via {
                Via::Server => outln!(
                    "The running server sends mail as the configuration says again (transport: {transport})."
                ),
                Via::File => outln!(
                    "sesame sends mail as the configuration says from its next start (transport: {transport})."
                ),
            }
            Ok(())
        }
    }
}

pub(super) async fn mail_test(
    config: &Config,
    to: &str,
    template: &str,
    dry_run: bool,
) -> Result<(), CliError> {
    let purpose = admin::purpose(Some(template)).map_err(CliError::Admin)?;
    let command = Command::MailTest(TestMessage {
        to: to.to_string(),
        template: Some(template.to_string()),
        dry_run,
    });
    let answered = match client::call(&config.data_dir, &command) {
        Ok(r) => r,
        Err(client::ClientError::NotRunning) => match open_store(config, &command)? {
            Opened::ServerAnswered(r) => r,
            Opened::Store(store) => {
                // No server: build the mailer here, from the configuration and any stored
                // connector (the store is closed first: sending may take a while).
                let stored =
                    crate::mail::stored_connector(&store).map_err(CliError::StoredConnector)?;
                drop(store);
                let mailer =
                    crate::mail::Mailer::build(&config.mail, stored).map_err(CliError::Mailer)?;
                let report = crate::mail::test_send(
                    &mailer,
                    to,
                    purpose,
                    dry_run,
                    &config.branding.product_name,
                )
                .await
                .map_err(CliError::MailTestFailed)?;
                outln!("{report}");
                return Ok(());
            }
        },
        Err(e) => return Err(CliError::Client(e)),
    };
    if !answered.ok {
        return Err(CliError::MailTestFailedInServer(
            answered.error.unwrap_or_default(),
        ));
    }
    let report = answered
        .result
        .as_ref()
        .and_then(|v| v.get("report"))
        .and_then(Value::as_str);
    outln!("{}", report.unwrap_or("sent"));
    Ok(())
}

pub(super) fn keys_rotate(config: &Config, alg: Alg, json_out: bool) -> Result<(), CliError> {
    let (result, via) = admin_call(config, Command::KeysRotate(KeyRotation { alg }))?;
    if json_out {
        return print_json(&result);
    }
    let kid = result
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    outln!("New {alg} signing key: kid {kid}. Tokens signed with the old key still verify (it stays in JWKS).");
    if via == Via::File {
        outln!("sesame signs with it from its next start.");
    }
    Ok(())
}
/// Says on stderr what a running server logs (and what no one would see when the command ran
/// on the file): the app takes codes over http on the LAN.
fn warn_if_insecure(result: &Value) {
    let Ok(info) = serde_json::from_value::<AppInfo>(result.clone()) else {
        return;
    };
    if let Some(warning) = apps::insecure_redirect_warning(&info.client_id, &info.redirect_uris) {
        eprintln!("warning: {warning}");
    }
}

pub(super) fn audit(config: &Config, args: AuditArgs) -> Result<(), CliError> {
    let AuditArgs {
        user,
        app,
        kind,
        since,
        until,
        limit,
        before,
        out,
    } = args;
    let query = AuditQuery {
        user,
        app,
        kind,
        since,
        until,
        before,
        limit,
    };
    let (result, _) = admin_call(config, Command::AuditList(query))?;
    if out.json {
        return print_json(&result);
    }
    let page: AuditPage = parse(result)?;
    print_audit_page(&page);
    Ok(())
}

/// Reads a command's result into the shape it has.
pub(super) fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, CliError> {
    serde_json::from_value(v).map_err(CliError::UnexpectedAnswer)
}
