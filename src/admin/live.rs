//! A command in a running server: [`handle`](fn@handle) on the running provider's store, then the
//! command's [`Effect`] applied to the provider (new keys, a new mailer). The control socket
//! and the management API both carry out commands through [`handle_live`], so a command
//! changes a running server the same way whichever door it came through.

use super::{handle, AdminError, Command, Done, Effect, KeyWindow, TestMessage};
use crate::audit::{self, Actor, AuditEntry, Changes};
use crate::config::MailConfig;
use crate::crypto::keys::KeySet;
use crate::provider::Provider;
use serde_json::Value;
use std::sync::Arc;

/// Carries out `command` in the running server of `provider`. Blocks on the store (a write
/// waits for its fsync): call it off the async workers.
pub fn handle_live(
    provider: &Provider,
    mail: &MailConfig,
    actor: &Actor,
    command: Command,
) -> Result<Value, AdminError> {
    // How long a retired key stays in JWKS is this server's business, not the client's.
    let window = || KeyWindow {
        token_lifetime: Some(provider.tokens.id_token_ttl),
    };
    let command = match command {
        Command::KeysList(_) => Command::KeysList(window()),
        Command::KeysPrune(_) => Command::KeysPrune(window()),
        other => other,
    };
    let Done { result, effect } = handle(&provider.store, mail, actor, command)?;
    if let Some(effect) = effect {
        apply(provider, effect)?;
    }
    Ok(result)
}

/// `mail.test` in the running server of `provider`: a test message (or with `dry_run` the SMTP
/// exchange without DATA) through the mailer it is using right now. Only a running server
/// answers it, so it is apart from [`handle_live`]; the control socket and the console both
/// come here. A test that was sent (not a dry run) is audited as `mail.test` by `actor`.
pub async fn mail_test(
    provider: &Arc<Provider>,
    actor: &Actor,
    args: TestMessage,
) -> Result<Value, AdminError> {
    let purpose = super::purpose(args.template.as_deref())?;
    let mailer = provider.mailer();
    let sent = crate::mail::test_send(
        &mailer,
        &args.to,
        purpose,
        args.dry_run,
        &provider.product_name(),
    )
    .await;
    if !args.dry_run {
        record_test_send(provider, actor, &args, sent.is_ok()).await?;
    }
    sent.map(|report| serde_json::json!({ "report": report }))
        .map_err(AdminError::MailTestFailed)
}

/// Audits a test message that was sent (or failed): who sent it, to whom, and the outcome. A
/// dry run sends nothing and is not recorded.
async fn record_test_send(
    provider: &Arc<Provider>,
    actor: &Actor,
    args: &TestMessage,
    sent: bool,
) -> Result<(), AdminError> {
    let changes = Changes::of(serde_json::json!({
        "to": args.to,
        "template": args.template,
        "outcome": if sent { "sent" } else { "failed" },
    }));
    let entry = AuditEntry::admin_change(actor.clone(), "mail.test", changes).email(&args.to);
    let provider = provider.clone();
    // A store write waits for its fsync: off the async workers.
    tokio::task::spawn_blocking(move || audit::record_now(&provider.store, provider.now(), entry))
        .await
        .map_err(AdminError::Crashed)?
        .map_err(AdminError::Store)
}

/// Applies what a command left for the running server to do.
fn apply(provider: &Provider, effect: Effect) -> Result<(), AdminError> {
    match effect {
        Effect::ReloadKeys => {
            let keys = KeySet::load_or_generate(&provider.store).map_err(AdminError::KeyReload)?;
            provider.set_keys(keys);
        }
        Effect::SwapMailer(mailer) => provider.set_mailer(*mailer),
        Effect::SetExperience(stored, mailer) => {
            provider.set_experience(stored);
            provider.set_mailer(*mailer);
        }
    }
    Ok(())
}
