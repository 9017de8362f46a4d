//! How the CLI prints: app, user and group details and tables for people, pretty JSON for
//! scripts, and one place that writes to standard output.

use super::error::CliError;
use crate::admin::AppInfo;
use crate::audit::{AuditPage, AuditRecord};
use crate::clock::utc;
use crate::store::{Group, SecondFactor, User};
use serde::Deserialize;
use serde_json::{Map, Value};

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
    if info.allowed_groups.is_empty() {
        outln!("  Allowed groups            (everyone)");
    } else {
        outln!(
            "  Allowed groups            {} (only their members may use it)",
            info.allowed_groups.join(", ")
        );
    }
    outln!(
        "  Second factor             {}",
        second_factor(info.second_factor)
    );
    if info.device_flow {
        outln!("  device flow               allowed (RFC 8628: codes approved at /device)");
    }
    if info.require_pushed_authorization_requests {
        outln!("  pushed requests           required (RFC 9126: /auth only with a request_uri from /par)");
    }
    if info.allow_insecure_redirect {
        outln!("  http on the LAN           allowed (allow_insecure_redirect: codes may travel unencrypted)");
    }
    match info.refresh_retry_window {
        None => outln!("  Refresh retry window      the server's ([tokens] refresh_retry_window)"),
        Some(0) => outln!(
            "  Refresh retry window      off (a rotated token presented again revokes its family)"
        ),
        Some(secs) => outln!("  Refresh retry window      {secs}s"),
    }
    if let Some(uri) = &info.backchannel_logout_uri {
        outln!("  Back-channel logout       {uri}");
    }
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

pub(super) fn print_user(user: &User) {
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    outln!("  ID (sub)                  {}", user.id);
    outln!(
        "  Email                     {} ({})",
        user.email,
        if user.email_verified {
            "verified"
        } else {
            "not verified yet"
        }
    );
    outln!("  Name                      {}", or_none(&user.name));
    outln!("  Username                  {}", or_none(&user.username));
    outln!("  Picture                   {}", or_none(&user.picture));
    outln!("  Groups                    {}", list_or_none(&user.groups));
    outln!("  Claims                    {}", claims(&user.claims));
    outln!(
        "  Disabled                  {}",
        if user.disabled { "yes" } else { "no" }
    );
    outln!(
        "  Last sign-in              {}",
        user.last_sign_in_at.map_or("never".into(), utc)
    );
    outln!("  Added                     {}", utc(user.created_at));
    if user.declared {
        outln!("  Declared in sesame.toml   yes (change it there)");
    }
}

pub(super) fn print_user_table(users: &[User]) {
    let rows: Vec<[String; 6]> = users
        .iter()
        .map(|u| {
            [
                u.id.clone(),
                if u.declared {
                    format!("{}*", u.email)
                } else {
                    u.email.clone()
                },
                u.username.clone().unwrap_or_default(),
                u.groups.join(","),
                if u.disabled { "yes" } else { "" }.to_string(),
                u.last_sign_in_at.map_or("never".into(), utc),
            ]
        })
        .collect();
    print_table(
        [
            "ID",
            "EMAIL",
            "USERNAME",
            "GROUPS",
            "DISABLED",
            "LAST SIGN-IN",
        ],
        &rows,
    );
    if users.iter().any(|u| u.declared) {
        outln!("\n* declared in sesame.toml");
    }
}

/// `group.show`'s result: the group and its members.
#[derive(Deserialize)]
pub(super) struct GroupWithMembers {
    #[serde(flatten)]
    pub(super) group: Group,
    #[serde(default)]
    pub(super) members: Vec<Member>,
}

/// A member as `group.show` lists them.
#[derive(Deserialize)]
pub(super) struct Member {
    id: String,
    email: String,
}

/// A group's details, and its members when they are known.
pub(super) fn print_group(group: &Group, members: Option<&[Member]>) {
    outln!("  Name                      {}", group.name);
    outln!(
        "  Description               {}",
        if group.description.is_empty() {
            "(none)"
        } else {
            &group.description
        }
    );
    outln!("  Claims                    {}", claims(&group.claims));
    outln!(
        "  Second factor             {} for every sign-in of its members",
        second_factor(group.second_factor)
    );
    if group.declared {
        outln!("  Declared in sesame.toml   yes (change it there)");
    }
    let Some(members) = members else {
        return;
    };
    if members.is_empty() {
        outln!("  Members                   (none)");
        return;
    }
    outln!("  Members ({})", members.len());
    for m in members {
        outln!("    {} (sub {})", m.email, m.id);
    }
    if members.len() >= crate::users::MAX_PAGE {
        outln!(
            "  (the first {}: `sesame user list --group {}` lists them all)",
            members.len(),
            group.name
        );
    }
}

/// A second-factor policy, in words.
fn second_factor(policy: SecondFactor) -> &'static str {
    match policy {
        SecondFactor::Optional => "optional (the email code is enough)",
        SecondFactor::Required => {
            "required (a passkey or an authenticator app's code after the email code)"
        }
    }
}

pub(super) fn print_group_table(groups: &[Group]) {
    let rows: Vec<[String; 2]> = groups
        .iter()
        .map(|g| {
            [
                if g.declared {
                    format!("{}*", g.name)
                } else {
                    g.name.clone()
                },
                g.description.clone(),
            ]
        })
        .collect();
    print_table(["NAME", "DESCRIPTION"], &rows);
    if groups.iter().any(|g| g.declared) {
        outln!("\n* declared in sesame.toml");
    }
}

/// Prints rows under a header, each column as wide as its widest cell (the last one ragged).
fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out
    };
    outln!("{}", line(header));
    for row in rows {
        outln!("{}", line(row.each_ref().map(String::as_str)));
    }
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}

fn claims(c: &Map<String, Value>) -> String {
    if c.is_empty() {
        "(none)".into()
    } else {
        Value::Object(c.clone()).to_string()
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
            utc(r.at),
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
