//! How the CLI prints: app details and tables for people, pretty JSON for scripts, and one
//! place that writes to standard output.

use super::error::CliError;
use crate::admin::AppInfo;
use crate::audit::{AuditPage, AuditRecord};
use serde_json::Value;

pub(super) fn print_app(info: &AppInfo) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.join("\n                            ")
        }
    };
    outln!("  Client ID                 {}", info.client_id);
    if let Some(secret) = &info.client_secret {
        outln!("  Client secret             {secret}");
    }
    outln!("  Name                      {}", info.name);
    outln!("  Type                      {}", info.app_type);
    outln!("  Redirect URIs             {}", list(&info.redirect_uris));
    outln!(
        "  Post-logout redirect URIs {}",
        list(&info.post_logout_redirect_uris)
    );
    outln!(
        "  ID token algorithm        {}",
        info.id_token_signed_response_alg
    );
    if info.declared {
        outln!("  Declared in sesame.toml   yes (change it there)");
    }
}

pub(super) fn print_app_table(infos: &[AppInfo]) {
    let id_w = infos
        .iter()
        .map(|i| i.client_id.len())
        .max()
        .unwrap_or(0)
        .max("CLIENT ID".len());
    let name_w = infos
        .iter()
        .map(|i| i.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("NAME".len());
    outln!(
        "{:<id_w$}  {:<name_w$}  {:<11}  REDIRECT URIS",
        "CLIENT ID",
        "NAME",
        "TYPE"
    );
    for i in infos {
        let mut uris = i.redirect_uris.first().cloned().unwrap_or_default();
        if i.redirect_uris.len() > 1 {
            uris.push_str(&format!(" (+{} more)", i.redirect_uris.len() - 1));
        }
        let kind = if i.declared {
            format!("{}*", i.app_type)
        } else {
            i.app_type.clone()
        };
        outln!(
            "{:<id_w$}  {:<name_w$}  {:<11}  {uris}",
            i.client_id,
            i.name,
            kind
        );
    }
    if infos.iter().any(|i| i.declared) {
        outln!("\n* declared in sesame.toml");
    }
}

/// One line per entry, newest first: UTC time, kind, outcome (the command, for a change),
/// actor, whom it concerns, and the detail; then the cursor of the next page, if any.
pub(super) fn print_audit_page(page: &AuditPage) {
    if page.entries.is_empty() {
        outln!("No audit entries match.");
        return;
    }
    let width = |f: &dyn Fn(&AuditRecord) -> usize| page.entries.iter().map(f).max().unwrap_or(0);
    let kind_w = width(&|r| r.entry.event.kind().as_str().len());
    let outcome_w = width(&|r| r.entry.event.outcome().len());
    let actor_w = width(&|r| r.entry.actor.to_string().len());
    for r in &page.entries {
        let e = &r.entry;
        let about: Vec<String> = [
            ("user", &e.user_id),
            ("app", &e.client_id),
            ("email", &e.email),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name}={v}")))
        .collect();
        let line = format!(
            "{}  {:<kind_w$}  {:<outcome_w$}  {:<actor_w$}  {}  {}",
            crate::clock::utc(r.at),
            e.event.kind().as_str(),
            e.event.outcome(),
            e.actor.to_string(),
            about.join(" "),
            e.event.detail()
        );
        outln!("{}", line.trim_end());
    }
    if let Some(next) = page.next {
        outln!("\nMore entries: repeat the command with --before {next}");
    }
}

/// Writes one line to standard output. A reader that went away (`sesame app list | head -1`)
/// ends the process quietly with status 0: the command itself is done by the time anything is
/// printed, and the reader took what it wanted. Any other write error is reported on stderr.
pub(super) fn print_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

pub(super) fn print_json(v: &Value) -> Result<(), CliError> {
    outln!("{}", pretty(v));
    Ok(())
}

pub(super) fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
