//! The console's audit log (`/console/audit`): the entries newest first, filtered by user
//! (email address or user ID), app (client ID), kind (an entry kind or an admin command's
//! name) and a range of UTC dates, a page at a time ("Older entries" carries the page's
//! cursor and the filters). A GET form: the filters are in the URL, so a page can be
//! bookmarked and reloaded. It calls `audit.list`, as `sesame audit` and the API do.

use super::{console_page, run, url, Admin};
use crate::admin::Command;
use crate::audit::{AuditKind, AuditPage, AuditQuery, AuditRecord, KindFilter, DEFAULT_PAGE};
use crate::clock::{self, DAY};
use crate::http::{Request, Response};
use crate::server::Server;
use crate::store::{AuditKey, Reads};
use hyper::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The filters as typed (kept in the form and in the "Older entries" link).
const FILTERS: [&str; 5] = ["user", "app", "kind", "from", "to"];

/// GET /console/audit: the filter form and a page of entries.
pub fn list(s: &Server, req: &Request, admin: &Admin) -> Response {
    let q = req.query();
    let typed: HashMap<&str, String> = FILTERS
        .iter()
        .map(|k| (*k, q.first(k).unwrap_or("").trim().to_string()))
        .collect();
    let mut ctx = json!({
        "section": "audit",
        "typed": typed,
        "kinds": AuditKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "commands": Command::NAMES,
    });
    let refused = |mut ctx: Value, e: String| {
        ctx["error"] = json!(e);
        let status = StatusCode::BAD_REQUEST;
        console_page(s, req, admin, status, "console_audit.html", ctx)
    };
    let query = match query_of(&typed, q.first("before")) {
        Ok(query) => query,
        Err(e) => return refused(ctx, e),
    };
    let page = match run(s, admin, Command::AuditList(query)) {
        Ok(Ok(v)) => serde_json::from_value::<AuditPage>(v),
        Ok(Err(e)) => return refused(ctx, e),
        Err(r) => return *r,
    };
    // `audit.list` answers an `AuditPage` that `handle_live` serialized, so it reads back; if
    // it ever did not, the page says so rather than show a log with entries missing.
    let Ok(page) = page else {
        let e = crate::store::StoreError::Db("audit.list's answer did not read back".into());
        return super::storage_failure(s, e);
    };
    let emails = emails_of(s, &page.entries);
    ctx["entries"] = page.entries.iter().map(|r| row(r, &emails)).collect();
    ctx["older_url"] = json!(page.next.map(|next| older_url(s, &typed, next)));
    // A page after the first: a way back to the newest entries.
    ctx["paged"] = json!(q.first("before").is_some());
    ctx["newest_url"] = json!(filtered_url(s, &typed));
    console_page(s, req, admin, StatusCode::OK, "console_audit.html", ctx)
}

/// The query for the typed filters: `from` is the start of its UTC day (or the time given),
/// `to` the end of its day (inclusive), or the time given.
fn query_of(typed: &HashMap<&str, String>, before: Option<&str>) -> Result<AuditQuery, String> {
    let given = |k: &str| Some(typed[k].clone()).filter(|v| !v.is_empty());
    let kind = match given("kind") {
        Some(k) => Some(k.parse::<KindFilter>().map_err(|e| e.to_string())?),
        None => None,
    };
    let date = |k: &str, label: &str| -> Result<Option<(u64, bool)>, String> {
        let Some(text) = given(k) else {
            return Ok(None);
        };
        let at = clock::parse_utc(&text).ok_or_else(|| {
            format!("{label} “{text}” is not a date: write it as 2026-11-01, or 2026-11-01T09:00 (UTC).")
        })?;
        let whole_day = !text.contains(['T', 't', ' ']);
        Ok(Some((at, whole_day)))
    };
    let since = date("from", "From")?.map(|(at, _)| at);
    let until = date("to", "To")?.map(|(at, day)| if day { at + DAY } else { at });
    let before = match before {
        Some(b) => Some(b.parse::<AuditKey>().map_err(|_| {
            "That page of the log does not exist: start again from the newest entries.".to_string()
        })?),
        None => None,
    };
    Ok(AuditQuery {
        user: given("user"),
        app: given("app"),
        kind,
        since,
        until,
        before,
        limit: Some(DEFAULT_PAGE),
    })
}

/// The addresses of the users the entries name (actor or subject), for reading them.
fn emails_of(s: &Server, entries: &[AuditRecord]) -> HashMap<String, String> {
    let mut ids: Vec<&str> = entries
        .iter()
        .flat_map(|r| [r.entry.user_id.as_deref(), r.entry.actor.user_id()])
        .flatten()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let found = s.provider.store.read(|tx| {
        let mut out = HashMap::new();
        for id in ids {
            if let Some(u) = tx.user(id)? {
                out.insert(id.to_string(), u.email);
            }
        }
        Ok(out)
    });
    // A deleted user is shown by ID; a failed read, likewise (the page still lists the log).
    found.unwrap_or_default()
}

/// One entry as the page shows it.
fn row(r: &AuditRecord, emails: &HashMap<String, String>) -> Value {
    let e = &r.entry;
    let who = |id: &str| emails.get(id).cloned().unwrap_or_else(|| id.to_string());
    let actor = match &e.actor {
        crate::audit::Actor::Cli => "the command line".to_string(),
        crate::audit::Actor::ApiKey { name, .. } => format!("API key “{name}”"),
        crate::audit::Actor::Admin { user_id } => format!("admin {}", who(user_id)),
        crate::audit::Actor::User { user_id } => who(user_id),
        crate::audit::Actor::Anonymous => "someone not signed in".to_string(),
    };
    json!({
        "time": clock::utc(r.at),
        "kind": e.event.kind().as_str(),
        "outcome": e.event.outcome(),
        "actor": actor,
        "user": e.user_id.as_deref().map(who),
        "app": e.client_id,
        "email": e.email,
        "detail": e.event.detail(),
    })
}

/// The log with the typed filters, newest first.
fn filtered_url(s: &Server, typed: &HashMap<&str, String>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for k in FILTERS {
        if !typed[k].is_empty() {
            q.append_pair(k, &typed[k]);
        }
    }
    let q = q.finish();
    match q.is_empty() {
        true => url(s, "/audit"),
        false => format!("{}?{q}", url(s, "/audit")),
    }
}

/// The next page: the same filters, before `next`.
fn older_url(s: &Server, typed: &HashMap<&str, String>, next: AuditKey) -> String {
    let base = filtered_url(s, typed);
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}before={}-{}", next.at, next.seq)
}
