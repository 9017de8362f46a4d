//! The console's management API keys (`/console/api-keys`): the list, the create form (a name
//! and an optional expiry; the key is shown once, as an app's secret is, through
//! [`super::reveal`]), and revoke with a confirmation step. Creating one is sensitive
//! ([`super::fresh::require`]). Each calls the admin command (`api-key.list`,
//! `api-key.create`, `api-key.revoke`).

use super::{console_page, run, url, Admin};
use crate::admin::{ApiKeyRef, Command};
use crate::api_keys::{ApiKeyInfo, NewApiKey};
use crate::clock;
use crate::http::{self, Request, Response};
use crate::server::Server;
use hyper::StatusCode;
use serde_json::{json, Value};

/// Where a new key waits in [`super::reveal::Reveals`]: beside the apps' secrets, never
/// mistaken for one (a client ID has no NUL).
fn reveal_id(key_id: &str) -> String {
    format!("api-key\0{key_id}")
}

/// GET /console/api-keys: the list and the create form; `shown`: a key just made, once.
pub fn list(s: &Server, req: &Request, admin: &Admin) -> Response {
    let made = req.query().first("shown").and_then(|id| {
        let key = s
            .console_reveals
            .take(admin.cookie, &reveal_id(id), s.provider.now())?;
        Some(json!({ "id": id, "key": key }))
    });
    list_page(s, req, admin, StatusCode::OK, json!({ "made": made }))
}

fn list_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    form: Value,
) -> Response {
    let keys = match super::read(s, admin, Command::ApiKeyList(Default::default())) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let keys: Vec<ApiKeyInfo> = serde_json::from_value(keys).unwrap_or_default();
    let when = |t: Option<u64>| t.map(clock::utc);
    let rows: Vec<Value> = keys
        .iter()
        .map(|k| {
            let id: String = form_urlencoded::byte_serialize(k.id.as_bytes()).collect();
            json!({
                "id": k.id,
                "name": k.name,
                "state": k.state,
                "created": clock::utc(k.created_at),
                "expires": when(k.expires_at),
                "last_used": when(k.last_used_at),
                "revoke_url": format!("{}?id={id}", url(s, "/api-keys/revoke")),
            })
        })
        .collect();
    let ctx = super::typed_over(
        json!({
            "section": "api-keys",
            "keys": rows,
            "api_url": s.provider.issuer.endpoint(crate::server::api::PREFIX),
        }),
        form,
    );
    console_page(s, req, admin, status, "console_api_keys.html", ctx)
}

/// POST /console/api-keys (`name`, `expires_in_days`): after a recent sign-in,
/// `api-key.create`; then the list, which shows the key once.
pub fn create(s: &Server, req: &Request, admin: &Admin) -> Response {
    if let Err(r) = super::fresh::require(s, req, admin, "/api-keys") {
        return *r;
    }
    let f = req.params();
    let name = f.first("name").unwrap_or("").trim().to_string();
    let days = f.first("expires_in_days").unwrap_or("").trim().to_string();
    let refused = |e: String| {
        let form = json!({ "error": e, "name": name, "expires_in_days": days });
        list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
    };
    let expires_in_days = match days.as_str() {
        "" => None,
        d => match d.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return refused("Expires after: a whole number of days, or leave it empty for a key that does not expire.".into()),
        },
    };
    let new = NewApiKey {
        name: name.clone(),
        expires_in_days,
    };
    let made = match run(s, admin, Command::ApiKeyCreate(new)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return refused(e),
        Err(r) => return *r,
    };
    let id = made["id"].as_str().unwrap_or("").to_string();
    if let Some(key) = made["key"].as_str() {
        let now = s.provider.now();
        s.console_reveals
            .put(admin.cookie, &reveal_id(&id), key.to_string(), now);
    }
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    http::redirect(&format!("{}?shown={id}", url(s, "/api-keys")))
}

/// GET /console/api-keys/revoke?id=: "revoke this key?", the confirmation step.
pub fn confirm_revoke(s: &Server, req: &Request, admin: &Admin) -> Response {
    confirm_page(s, req, admin, StatusCode::OK, None)
}

fn confirm_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let id = req.params().first("id").unwrap_or("");
    let keys = match run(s, admin, Command::ApiKeyList(Default::default())) {
        Ok(Ok(v)) => serde_json::from_value::<Vec<ApiKeyInfo>>(v).unwrap_or_default(),
        Ok(Err(e)) => return super::storage_failure(s, e),
        Err(r) => return *r,
    };
    let Some(key) = keys.into_iter().find(|k| k.id == id) else {
        return super::error_pages::error_page(
            s,
            StatusCode::NOT_FOUND,
            "No such API key",
            "There is no API key with that ID.",
            "Go back to the console's list of API keys.",
        );
    };
    let ctx = json!({
        "section": "api-keys",
        "key": { "id": key.id, "name": key.name },
        "error": error,
        "back_url": url(s, "/api-keys"),
    });
    console_page(s, req, admin, status, "console_api_key_revoke.html", ctx)
}

/// POST /console/api-keys/revoke (`id`): `api-key.revoke`, then the list.
pub fn revoke(s: &Server, req: &Request, admin: &Admin) -> Response {
    let id = req.params().first("id").unwrap_or("").to_string();
    match run(s, admin, Command::ApiKeyRevoke(ApiKeyRef { id })) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=api_key_revoked", url(s, "/api-keys"))),
        Ok(Err(e)) => confirm_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, Some(e)),
        Err(r) => *r,
    }
}
