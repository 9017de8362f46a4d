//! The mail connector commands (`connector.set`, `connector.show`, `connector.delete`): at most
//! one connector is stored (SES or SMTP, see [`crate::mail::StoredConnector`]); storing one
//! removes the other in the same transaction, and each change hands the running server a new
//! mailer ([`Effect::SwapMailer`]).

use super::{mask_secrets, Audit, Done, Effect};
use crate::admin::error::AdminError;
use crate::admin::protocol::{ConnectorRef, ConnectorSettings, CONNECTORS_KNOWN};
use crate::audit::Changes;
use crate::config::MailConfig;
use crate::mail::{Mailer, SmtpConnector, StoredConnector};
use crate::store::{Store, StoreError, CONNECTORS};
use serde_json::{json, Value};

/// `connector.show`: the stored connector of that name, secrets masked.
pub(super) fn show(store: &Store, connector: ConnectorRef) -> Result<Done, AdminError> {
    let ConnectorRef { name } = connector;
    known_connector(&name)?;
    Ok(Done::result(
        match store.read(|tx| tx.get(&CONNECTORS, &name))? {
            Some(v) => json!({ "name": name, "stored": true, "config": mask_secrets(v) }),
            None => json!({ "name": name, "stored": false }),
        },
    ))
}

/// Validates a connector's settings, tries them with the configured `[mail]`, and stores them
/// in place of any other stored connector: at most one is stored, and it is the one that sends.
pub(super) fn set(
    store: &Store,
    mail: &MailConfig,
    audit: &Audit,
    settings: ConnectorSettings,
) -> Result<Done, AdminError> {
    let ConnectorSettings { name, config } = settings;
    known_connector(&name)?;
    let config = config.ok_or(AdminError::NoConnectorConfig)?;
    if !config.is_object() {
        return Err(AdminError::ConnectorNotObject);
    }
    let (connector, stored, mut warnings) = if name == "smtp" {
        let smtp = smtp_connector(store, &config)?;
        let stored = smtp.to_json();
        (StoredConnector::Smtp(smtp), stored, vec![])
    } else {
        let ses = crate::mail::parse_ses_json(&config.to_string())
            .map_err(AdminError::ConnectorInvalid)?;
        let stored = serde_json::to_value(&ses).map_err(AdminError::ConnectorEncoding)?;
        // Defaults used, precedence: what the user should know about what they stored.
        let notes = crate::mail::ses_notes(&ses);
        (StoredConnector::Ses(ses), stored, notes)
    };
    let mail = &crate::experience::mail_config(store, mail);
    let mailer = Mailer::build(mail, Some(connector)).map_err(AdminError::ConnectorDoesNotWork)?;
    let replaced = store.write(|tx| {
        let mut replaced = Vec::new();
        for other in CONNECTORS_KNOWN.iter().filter(|n| **n != name) {
            if tx.remove(&CONNECTORS, other)? {
                replaced.push(*other);
            }
        }
        tx.put(&CONNECTORS, &name, &stored)?;
        let mut set = json!({ "name": name, "config": stored });
        if !replaced.is_empty() {
            set["replaced"] = json!(replaced);
        }
        audit.record(tx, None, Changes::of(set))?;
        Ok::<_, StoreError>(replaced)
    })?;
    for other in replaced {
        warnings.push(format!(
            "the stored {other} connector was removed: one connector is stored at a time"
        ));
    }
    Ok(Done {
        result: json!({
            "name": name,
            "stored": true,
            "config": mask_secrets(stored),
            "mail": mailer.status(),
            "warnings": warnings,
        }),
        effect: Some(Effect::SwapMailer(Box::new(mailer))),
    })
}

/// The SMTP connector in `config`; with a username and no password, the stored SMTP
/// connector's password is kept (a form never shows it back, so it comes back blank).
fn smtp_connector(store: &Store, config: &Value) -> Result<SmtpConnector, AdminError> {
    let mut smtp =
        crate::mail::parse_smtp_connector(config).map_err(AdminError::ConnectorInvalid)?;
    if smtp.smtp.username.is_some() && smtp.smtp.password.is_none() {
        let before = store.read(|tx| tx.get(&CONNECTORS, "smtp"))?;
        smtp.smtp.password = before
            .and_then(|v| crate::mail::parse_smtp_connector(&v).ok())
            .and_then(|before| before.smtp.password);
    }
    Ok(smtp)
}

/// Removes a stored connector. The mailer goes back to the one the configuration file
/// describes (or, if that does not build, to one that fails every send with the reason).
pub(super) fn delete(
    store: &Store,
    mail: &MailConfig,
    audit: &Audit,
    connector: ConnectorRef,
) -> Result<Done, AdminError> {
    let ConnectorRef { name } = connector;
    known_connector(&name)?;
    let removed = store.write(|tx| {
        let removed = tx.remove(&CONNECTORS, &name)?;
        // Deleting what is not there changes nothing, and records nothing.
        if removed {
            audit.record(tx, None, Changes::of(json!({ "name": name })))?;
        }
        Ok::<_, StoreError>(removed)
    })?;
    if !removed {
        return Ok(Done::result(json!({ "name": name, "deleted": false })));
    }
    // As at start-up: a configuration that does not build never falls back to printing codes
    // in the log (log readers could sign in); sends fail with the reason instead.
    let mail = &crate::experience::mail_config(store, mail);
    let (mailer, warnings) = match Mailer::build(mail, None) {
        Ok(m) => (m, vec![]),
        Err(e) => (
            Mailer::misconfigured(e.to_string()),
            vec![format!(
                "the [mail] configuration does not work ({e}): sign-in codes cannot be sent until it is fixed"
            )],
        ),
    };
    Ok(Done {
        result: json!({
            "name": name,
            "deleted": true,
            "mail": mailer.status(),
            "warnings": warnings,
        }),
        effect: Some(Effect::SwapMailer(Box::new(mailer))),
    })
}

fn known_connector(name: &str) -> Result<(), AdminError> {
    if CONNECTORS_KNOWN.contains(&name) {
        Ok(())
    } else {
        Err(AdminError::UnknownConnector(name.to_string()))
    }
}
