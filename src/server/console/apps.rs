//! The console's apps: the list, the create form with its type picker, an app's page with the
//! settings to paste into it (the client secret once) and an edit form, rotating the secret,
//! and delete with a confirmation step. Each calls the admin command (`app.list`,
//! `app.create`, `app.show`, `app.update`, `app.rotate-secret`, `app.delete`).

use super::{console_page, run, second_factor, url, Admin};
use crate::admin::{AppChange, AppRef, Command};
use crate::crypto::keys::Alg;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::server::Server;
use crate::store::SecondFactor;
use hyper::StatusCode;
use serde_json::{json, Value};

/// The app types the picker offers: the value `app.create` takes, and what it is called.
const TYPES: [(&str, &str); 3] = [
    (
        "traditional",
        "Traditional web app (has a server: a client secret)",
    ),
    (
        "spa",
        "Single-page app (runs in the browser: no secret, PKCE)",
    ),
    ("native", "Native or mobile app (no secret, PKCE)"),
];

/// GET /console/apps: the list and the create form.
pub fn list(s: &Server, req: &Request, admin: &Admin) -> Response {
    list_page(s, req, admin, StatusCode::OK, json!({}))
}

fn list_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    form: Value,
) -> Response {
    let mut apps = match super::read(s, admin, Command::AppList(Default::default())) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    for a in apps.as_array_mut().into_iter().flatten() {
        a["show_url"] = json!(app_url(
            s,
            "/apps/show",
            a["client_id"].as_str().unwrap_or("")
        ));
    }
    let types: Vec<Value> = TYPES
        .iter()
        .map(|(v, label)| json!({ "value": v, "label": label }))
        .collect();
    let ctx = super::typed_over(
        json!({ "section": "apps", "apps": apps, "types": types }),
        form,
    );
    console_page(s, req, admin, status, "console_apps.html", ctx)
}

/// The redirect URIs typed one per line (or separated by spaces).
fn uri_lines(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// POST /console/apps: `app.create`; then the app's page, which shows the secret once.
pub fn create(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let name = f.first("name").unwrap_or("").trim().to_string();
    let app_type = f.first("type").unwrap_or("traditional").to_string();
    let redirects = f.first("redirect_uris").unwrap_or("").to_string();
    let typed = json!({ "name": name, "type": app_type, "redirect_uris": redirects });
    let refused = |message: String| {
        let mut form = typed.clone();
        form["error"] = json!(message);
        list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
    };
    if name.is_empty() {
        return refused("Give the app a name: people see it when they sign in.".into());
    }
    let new = json!({ "name": name, "type": app_type, "redirect_uris": uri_lines(&redirects) });
    let new = match serde_json::from_value(new) {
        Ok(n) => n,
        Err(_) => return refused("Choose one of the app types below.".into()),
    };
    let created = match run(s, admin, Command::AppCreate(new)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return refused(e),
        Err(r) => return *r,
    };
    let client_id = created["client_id"].as_str().unwrap_or("").to_string();
    if let Some(secret) = created["client_secret"].as_str() {
        let now = s.provider.now();
        s.console_reveals
            .put(admin.cookie, &client_id, secret.to_string(), now);
    }
    http::redirect(&app_url(s, "/apps/show", &client_id))
}

fn app_url(s: &Server, sub: &str, client_id: &str) -> String {
    url(s, &super::path_with(sub, "id", client_id))
}

/// The console path (below `/console`) of the page `sub` of app `client_id`.
/// The app's own page, where a re-authentication for rotating its secret comes back to.
fn show_path(client_id: &str) -> String {
    super::path_with("/apps/show", "id", client_id)
}

/// The app the query's `id` names, or the page saying it is not there.
fn shown(s: &Server, req: &Request, admin: &Admin) -> Result<Value, Box<Response>> {
    let client_id = req.params().first("id").unwrap_or("").to_string();
    match run(s, admin, Command::AppShow(AppRef { client_id })) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(Box::new(super::error_pages::error_page(
            s,
            StatusCode::NOT_FOUND,
            "No such app",
            "There is no app with that client ID: it may have been deleted.",
            "Go back to the console's list of apps.",
        ))),
        Err(r) => Err(r),
    }
}

/// GET /console/apps/show?id=: the app, and the settings to paste into it. The secret only
/// if this session just created it ([`super::reveal`]).
pub fn show(s: &Server, req: &Request, admin: &Admin) -> Response {
    show_page(s, req, admin, StatusCode::OK, None)
}

/// The app's page; `refused`: the edit form's error and what was typed, kept in the form.
fn show_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    refused: Option<(String, Value)>,
) -> Response {
    let app = match shown(s, req, admin) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let client_id = app["client_id"].as_str().unwrap_or("");
    let secret = s
        .console_reveals
        .take(admin.cookie, client_id, s.provider.now());
    let issuer = &s.provider.issuer;
    let ctx = json!({
        "section": "apps",
        "app": app,
        "secret": secret,
        "public": app["type"] != "traditional",
        "issuer": issuer.url,
        "discovery_url": issuer.endpoint(paths::DISCOVERY),
        "authorize_url": issuer.endpoint(paths::AUTHORIZE),
        "token_url": issuer.endpoint(paths::TOKEN),
        "userinfo_url": issuer.endpoint(paths::USERINFO),
        "callback": app["redirect_uris"].get(0),
        "delete_url": app_url(s, "/apps/delete", client_id),
        "algs": Alg::NAMES,
    });
    let lines = |k: &str| {
        let list = app[k].as_array().into_iter().flatten();
        list.filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let groups = app["allowed_groups"].as_array().into_iter().flatten();
    let groups: Vec<&str> = groups.filter_map(Value::as_str).collect();
    let mut ctx = ctx;
    ctx["edit"] = json!({
        "name": app["name"],
        "redirect_uris": lines("redirect_uris"),
        "post_logout_redirect_uris": lines("post_logout_redirect_uris"),
        "allowed_groups": groups.join(", "),
        "alg": app["id_token_signed_response_alg"],
        "backchannel_logout_uri": app["backchannel_logout_uri"].as_str().unwrap_or(""),
        "device_flow": app["device_flow"],
        "require_par": app["require_pushed_authorization_requests"],
        "second_factor": app["second_factor"],
    });
    if let Some((error, typed)) = refused {
        ctx["error"] = json!(error);
        ctx["edit"] = typed;
    }
    ctx["second_factor"] = second_factor::choices(&ctx["edit"]["second_factor"]);
    ctx["second_factor_help"] =
        json!("Whether signing in to this app needs more than the email code.");
    console_page(s, req, admin, status, "console_app.html", ctx)
}

/// POST /console/apps/update (`id`, then the edit form's fields): `app.update` with every
/// field as typed (a list replaces the stored one), then the app's page.
pub fn update(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let field = |k: &str| f.first(k).unwrap_or("").to_string();
    let client_id = field("id");
    let typed = json!({
        "name": field("name").trim(),
        "redirect_uris": field("redirect_uris"),
        "post_logout_redirect_uris": field("post_logout_redirect_uris"),
        "allowed_groups": field("allowed_groups"),
        "alg": field("alg"),
        "backchannel_logout_uri": field("backchannel_logout_uri").trim(),
        "device_flow": field("device_flow") == "1",
        "require_par": field("require_par") == "1",
        "second_factor": f.first("second_factor"),
    });
    let groups: Vec<String> = field("allowed_groups")
        .split([',', ' '])
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect();
    let change = json!({
        "client_id": client_id,
        "name": field("name").trim(),
        "redirect_uris": uri_lines(&field("redirect_uris")),
        "post_logout_redirect_uris": uri_lines(&field("post_logout_redirect_uris")),
        "allowed_groups": groups,
        "id_token_signed_response_alg": field("alg"),
        // Empty removes it (apps::check_backchannel_uri).
        "backchannel_logout_uri": field("backchannel_logout_uri").trim(),
        // A checkbox sends nothing when cleared: the form always says both.
        "device_flow": field("device_flow") == "1",
        "require_pushed_authorization_requests": field("require_par") == "1",
    });
    let refused = |e: String| {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        show_page(s, req, admin, status, Some((e, typed.clone())))
    };
    let mut change: AppChange = match serde_json::from_value(change) {
        Ok(c) => c,
        Err(_) => return refused("Choose one of the listed ID token algorithms.".into()),
    };
    change.change.second_factor = match second_factor::typed(f.first("second_factor")) {
        Ok(policy) => policy,
        Err(e) => return refused(e),
    };
    if let Err(r) = loosening_needs_fresh(s, req, admin, &client_id, change.change.second_factor) {
        return *r;
    }
    match run(s, admin, Command::AppUpdate(change)) {
        Ok(Ok(_)) => http::redirect(&format!(
            "{}&notice=app_saved",
            app_url(s, "/apps/show", &client_id)
        )),
        Ok(Err(e)) => refused(e),
        Err(r) => *r,
    }
}

/// Loosening the app's second-factor policy needs a recent sign-in ([`second_factor`]); the
/// re-authentication comes back to the app's page.
fn loosening_needs_fresh(
    s: &Server,
    req: &Request,
    admin: &Admin,
    client_id: &str,
    to: Option<SecondFactor>,
) -> Result<(), Box<Response>> {
    let stored = match run(
        s,
        admin,
        Command::AppShow(AppRef {
            client_id: client_id.into(),
        }),
    ) {
        Ok(Ok(app)) => app["second_factor"].clone(),
        // No such app: `app.update` says so.
        Ok(Err(_)) => Value::Null,
        Err(r) => return Err(r),
    };
    let loosens = second_factor::loosens(&stored, to);
    super::fresh_if(loosens, s, req, admin, &show_path(client_id))
}

/// POST /console/apps/rotate (`id`): `app.rotate-secret`; the app's page shows the new secret
/// once, as after creating it. The old secret stops working now.
pub fn rotate(s: &Server, req: &Request, admin: &Admin) -> Response {
    let client_id = req.params().first("id").unwrap_or("").to_string();
    if let Err(r) = super::fresh::require(s, req, admin, &show_path(&client_id)) {
        return *r;
    }
    let rotated = match run(s, admin, Command::AppRotateSecret(AppRef { client_id })) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            return super::error_pages::error_page(
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                "The secret was not changed",
                &e,
                "Go back to the app's page: only a traditional app not defined in sesame.toml has a secret to rotate.",
            )
        }
        Err(r) => return *r,
    };
    let client_id = rotated["client_id"].as_str().unwrap_or("").to_string();
    if let Some(secret) = rotated["client_secret"].as_str() {
        let now = s.provider.now();
        s.console_reveals
            .put(admin.cookie, &client_id, secret.to_string(), now);
    }
    http::redirect(&app_url(s, "/apps/show", &client_id))
}

/// GET /console/apps/delete?id=: "delete this app?", the confirmation step.
pub fn confirm_delete(s: &Server, req: &Request, admin: &Admin) -> Response {
    confirm_page(s, req, admin, StatusCode::OK, None)
}

fn confirm_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let app = match shown(s, req, admin) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let back = app_url(s, "/apps/show", app["client_id"].as_str().unwrap_or(""));
    let ctx = json!({ "section": "apps", "app": app, "error": error, "back_url": back });
    console_page(s, req, admin, status, "console_app_delete.html", ctx)
}

/// POST /console/apps/delete (`id`): `app.delete`, then the list.
pub fn delete(s: &Server, req: &Request, admin: &Admin) -> Response {
    let client_id = req.params().first("id").unwrap_or("").to_string();
    match run(s, admin, Command::AppDelete(AppRef { client_id })) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=app_deleted", url(s, "/apps"))),
        Ok(Err(e)) => confirm_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, Some(e)),
        Err(r) => *r,
    }
}
