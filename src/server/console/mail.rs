//! The console's mail page: what mail is doing now (the mailer's status, as `/healthz` shows
//! it), the stored connector (`connector.set`, `connector.show`, `connector.delete`) as one of
//! two forms: an SMTP server (`[mail.smtp]`'s fields and `from`; the password is write-only, a
//! blank one keeps the stored password) or Amazon SES (Logto's fields, or pasted connector
//! JSON). At most one connector is stored; it wins over the file's `[mail]`, whose SMTP
//! settings the page shows read-only (they change in `sesame.toml`). And a test message:
//! **Send test** sends one through the mailer in use, **Dry run** walks the SMTP exchange up
//! to RCPT TO without DATA (`mail.test`). The test's report shows each SMTP reply verbatim
//! with what its code means ([`crate::mail::reply_meaning`]).
//!
//! The test's report is rendered in the POST's answer, not redirected: it exists only for
//! that exchange, and a reload repeats the test (the browser asks first).

use super::{console_page, run, url, Admin};
use crate::admin::{self, Command, ConnectorRef, ConnectorSettings, TestMessage};
use crate::http::{self, Request, Response};
use crate::mail::{reply_meaning, Purpose, TlsMode};
use crate::server::Server;
use hyper::StatusCode;
use serde_json::{json, Map, Value};

/// The SES connector's fields the form offers (Logto's names), with their labels, and whether
/// each is required. `accessKeySecret` is a secret: never shown back, blank keeps nothing.
const SES_FIELDS: [(&str, &str, bool); 6] = [
    ("accessKeyId", "Access key ID", true),
    ("accessKeySecret", "Secret access key", true),
    ("region", "Region (for example eu-west-1)", true),
    ("emailAddress", "From address (a verified identity)", false),
    (
        "emailAddressIdentityArn",
        "From address identity ARN",
        false,
    ),
    ("configurationSetName", "Configuration set name", false),
];

/// The SMTP connector's fields the form offers (`[mail.smtp]`'s names, and `from`), with their
/// labels. `password` is write-only: never shown back; blank keeps the stored one.
const SMTP_FIELDS: [(&str, &str); 6] = [
    ("host", "Server host name"),
    ("port", "Port"),
    ("tls", "TLS"),
    ("username", "Username (optional)"),
    ("password", "Password"),
    (
        "from",
        "From address, like noreply@example.com or Name <noreply@example.com>",
    ),
];

/// The connector names this page edits.
const SES: &str = "ses";
const SMTP: &str = "smtp";

/// GET /console/mail.
pub fn show(s: &Server, req: &Request, admin: &Admin) -> Response {
    page(s, req, admin, StatusCode::OK, json!({}))
}

fn page(s: &Server, req: &Request, admin: &Admin, status: StatusCode, form: Value) -> Response {
    let show = |name: &str| {
        let shown = ConnectorRef { name: name.into() };
        super::read(s, admin, Command::ConnectorShow(shown))
    };
    let (ses, smtp) = match (show(SES), show(SMTP)) {
        (Ok(ses), Ok(smtp)) => (ses, smtp),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let mail_status = serde_json::to_value(s.provider.mailer().status()).unwrap_or(Value::Null);
    let stored_kind = [(SMTP, &smtp), (SES, &ses)]
        .into_iter()
        .find(|(_, c)| c["stored"].as_bool().unwrap_or(false));
    let fields: Vec<Value> = SES_FIELDS
        .iter()
        .map(|(name, label, required)| {
            let typed = form["ses"][name].as_str();
            let kept = ses["config"][name]
                .as_str()
                .filter(|_| *name != "accessKeySecret");
            json!({
                "name": name,
                "label": label,
                "required": required,
                "secret": *name == "accessKeySecret",
                "value": typed.or(kept).unwrap_or(""),
                "error": form["field_errors"][name],
            })
        })
        .collect();
    let file = &s.config.mail.smtp;
    let ctx = super::typed_over(
        json!({
            "section": "mail",
            "status": mail_status,
            "stored_kind": stored_kind.map(|(name, _)| name),
            "stored_json": stored_kind.map(|(_, c)| serde_json::to_string_pretty(&c["config"]).unwrap_or_default()),
            "fields": fields,
            "smtp_fields": smtp_fields(&smtp, &form),
            "smtp_password_stored": smtp["config"]["password"].is_string(),
            "ca_file": file.ca_file.as_ref().map(|p| p.display().to_string()),
            "file": {
                "transport": s.config.mail.transport.as_str(),
                "from": s.config.mail.from,
                "host": file.host,
                "port": file.port,
                "tls": file.tls.as_str(),
                "auth": file.username.is_some(),
            },
            "purposes": Purpose::ALL.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        }),
        form,
    );
    console_page(s, req, admin, status, "console_mail.html", ctx)
}

/// The SMTP form's fields: what was typed (on a refusal), else the stored connector's values,
/// else the defaults. Never the password.
fn smtp_fields(stored: &Value, form: &Value) -> Vec<Value> {
    let config = &stored["config"];
    SMTP_FIELDS
        .iter()
        .map(|(name, label)| {
            let kept = match &config[name] {
                _ if *name == "password" => None,
                Value::String(v) => Some(v.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            let default = match *name {
                "port" => "587",
                "tls" => "starttls",
                _ => "",
            };
            let value = match form["smtp"][name].as_str() {
                Some(typed) => typed.to_string(),
                None => kept.unwrap_or_else(|| default.to_string()),
            };
            json!({
                "name": name,
                "label": label,
                "value": value,
                "error": form["field_errors"][name],
            })
        })
        .collect()
}

/// POST /console/mail/connector: `connector.set` from the form's fields (`source=form`) or
/// from pasted JSON (`source=json`). Missing required fields are refused here, per field;
/// the command's refusal names its field, which is shown beside it.
pub fn set_connector(s: &Server, req: &Request, admin: &Admin) -> Response {
    if let Err(r) = super::fresh::require(s, req, admin, "/mail") {
        return *r;
    }
    let f = req.params();
    let pasted = f.first("json").unwrap_or("").trim().to_string();
    let from_json = f.first("source") == Some("json");
    let mut typed = Map::new();
    let mut field_errors = Map::new();
    for (name, label, required) in SES_FIELDS {
        let v = f.first(name).unwrap_or("").trim();
        if v.is_empty() {
            if required && !from_json {
                field_errors.insert(name.into(), json!(format!("{label} is required.")));
            }
            continue;
        }
        typed.insert(name.into(), json!(v));
    }
    let refused = |error: String, field_errors: Map<String, Value>| {
        let mut shown = typed.clone();
        shown.remove("accessKeySecret");
        let form =
            json!({ "error": error, "field_errors": field_errors, "ses": shown, "json": pasted });
        page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
    };
    let config = if from_json {
        match serde_json::from_str::<Value>(&pasted) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return refused(
                    "The pasted connector must be a JSON object ({...}).".into(),
                    Map::new(),
                )
            }
            Err(e) => return refused(format!("The pasted text is not JSON: {e}."), Map::new()),
        }
    } else if !field_errors.is_empty() {
        return refused("Some fields need a value: see below.".into(), field_errors);
    } else {
        Value::Object(typed.clone())
    };
    let settings = ConnectorSettings {
        name: SES.into(),
        config: Some(config),
    };
    match run(s, admin, Command::ConnectorSet(settings)) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=connector_saved", url(s, "/mail"))),
        Ok(Err(e)) => {
            let mut field_errors = Map::new();
            if let Some((name, _, _)) = SES_FIELDS.iter().find(|(n, _, _)| e.contains(n)) {
                field_errors.insert((*name).into(), json!(e));
            }
            refused(e, field_errors)
        }
        Err(r) => *r,
    }
}

/// POST /console/mail/smtp: `connector.set smtp` from the form's fields. A missing host or From,
/// a port that is not a number or a TLS mode that is not one of ours is refused here, per
/// field; the command's refusal (`tls = none` to another machine, an address that does not
/// parse) is shown beside the field it names. A blank password keeps the stored one (the
/// command does that: it keeps the stored password when a username comes without one).
pub fn set_smtp(s: &Server, req: &Request, admin: &Admin) -> Response {
    if let Err(r) = super::fresh::require(s, req, admin, "/mail") {
        return *r;
    }
    let f = req.params();
    let mut typed = Map::new();
    for (name, _) in SMTP_FIELDS {
        typed.insert(name.into(), json!(f.first(name).unwrap_or("").trim()));
    }
    let text = |name: &str| typed[name].as_str().unwrap_or("").to_string();
    let mut field_errors = Map::new();
    for (name, what) in [
        ("host", "the server's host name"),
        ("from", "the sender address"),
    ] {
        if text(name).is_empty() {
            field_errors.insert(name.into(), json!(format!("Give {what}.")));
        }
    }
    let port = text("port").parse::<u16>().ok().filter(|p| *p > 0);
    if port.is_none() {
        field_errors.insert(
            "port".into(),
            json!("The port is a number from 1 to 65535 (usually 587, or 465 for TLS)."),
        );
    }
    if !TlsMode::NAMES.contains(&text("tls").as_str()) {
        field_errors.insert("tls".into(), json!("Choose one of the TLS modes."));
    }
    let refused = |error: String, field_errors: Map<String, Value>| {
        let mut shown = typed.clone();
        shown.remove("password");
        let form = json!({ "error": error, "field_errors": field_errors, "smtp": shown });
        page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
    };
    if !field_errors.is_empty() {
        return refused("Some fields need a change: see below.".into(), field_errors);
    }
    let mut config = json!({
        "host": text("host"),
        "port": port,
        "tls": text("tls"),
        "from": text("from"),
    });
    for optional in ["username", "password"] {
        let v = f.first(optional).unwrap_or("");
        if !v.is_empty() {
            config[optional] = json!(if optional == "password" { v } else { v.trim() });
        }
    }
    let settings = ConnectorSettings {
        name: SMTP.into(),
        config: Some(config),
    };
    let actor = admin.actor();
    let result = tokio::task::block_in_place(|| {
        admin::handle_live(
            &s.provider,
            &s.config.mail,
            &actor,
            Command::ConnectorSet(settings),
        )
    });
    match result {
        Ok(_) => http::redirect(&format!("{}?notice=smtp_saved", url(s, "/mail"))),
        Err(admin::AdminError::Store(e)) => super::storage_failure(s, e),
        Err(e) => {
            let mut field_errors = Map::new();
            if let Some(field) = e.connector_field().filter(|k| typed.contains_key(*k)) {
                field_errors.insert(field.into(), json!(e.to_string()));
            }
            refused(e.to_string(), field_errors)
        }
    }
}

/// POST /console/mail/connector/delete (`name`: `ses`, the default, or `smtp`):
/// `connector.delete`; mail goes back to `[mail]`.
pub fn delete_connector(s: &Server, req: &Request, admin: &Admin) -> Response {
    if let Err(r) = super::fresh::require(s, req, admin, "/mail") {
        return *r;
    }
    let name = match req.params().first("name") {
        Some(SMTP) => SMTP,
        _ => SES,
    };
    let gone = ConnectorRef { name: name.into() };
    match run(s, admin, Command::ConnectorDelete(gone)) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=connector_deleted", url(s, "/mail"))),
        Ok(Err(e)) => page(
            s,
            req,
            admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "error": e }),
        ),
        Err(r) => *r,
    }
}

/// POST /console/mail/test (`to`, `template`, `action` = `send` or `dry_run`): `mail.test`,
/// its report on the page, each SMTP reply with its meaning.
pub async fn test(s: &Server, req: &Request, admin: &Admin<'_>) -> Response {
    let f = req.params();
    let to = f.first("to").unwrap_or("").trim().to_string();
    let template = f.first("template").map(str::to_string);
    let dry_run = f.first("action") == Some("dry_run");
    let args = TestMessage {
        to: to.clone(),
        template: template.clone(),
        dry_run,
    };
    let outcome = admin::mail_test(&s.provider, &admin.actor(), args).await;
    let (status, report, ok) = match outcome {
        Ok(v) => (
            StatusCode::OK,
            v["report"].as_str().unwrap_or("").to_string(),
            true,
        ),
        Err(admin::AdminError::Store(e)) => return super::storage_failure(s, e),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string(), false),
    };
    let form = json!({
        "test_to": to,
        "test_template": template,
        "test_ok": ok,
        "test_kind": if dry_run { "Dry run" } else { "Test email" },
        "test_lines": report_lines(&report),
    });
    page(s, req, admin, status, form)
}

/// The report's lines, each with the meaning of the SMTP reply it carries, if it carries one
/// (a line's first word after the step that is three digits, e.g. `RCPT TO:<a@b> 250 OK`).
fn report_lines(report: &str) -> Vec<Value> {
    report
        .lines()
        .map(|line| {
            let code = line
                .split_whitespace()
                .find_map(|w| w.parse::<u16>().ok().filter(|c| (200..600).contains(c)));
            json!({ "text": line, "meaning": code.map(reply_meaning) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_line_gets_its_meaning_and_a_plain_line_none() {
        let lines = report_lines("EHLO     ok: smtp.example\nRCPT TO:<a@example.com> 550 5.1.1 no such user\nresult   ok");
        assert_eq!(lines[0]["meaning"], Value::Null);
        assert!(lines[1]["meaning"].as_str().unwrap().contains("refused"));
        assert_eq!(lines[2]["meaning"], Value::Null);
    }
}
