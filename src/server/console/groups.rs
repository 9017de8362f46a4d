//! The console's groups: the list and the create form (`/console/groups`), and a group's page
//! (`/console/groups/show?name=`) with its description and custom claims, its members (add by
//! email, remove), the apps it may use, and delete with a confirmation step. Each change is an
//! admin command: `group.add`, `group.update`, `group.add-member`, `group.remove-member`,
//! `group.delete`, and `app.update` for an app's allowed groups.
//!
//! An app's allowed groups: an empty list lets everyone in, so allowing the first group
//! restricts the app to that group, and taking the last one off opens it to everyone again;
//! the page says so next to each app. A group or app declared in `sesame.toml` is shown
//! read-only (the commands refuse to change it), with a note saying where it is defined.

use super::{claims_typed, console_page, run, second_factor, url, url_with, Admin};
use crate::admin::{AppChange, AppRef, Command, GroupEdit, GroupRef, Membership};
use crate::apps::AppUpdate;
use crate::http::{self, Request, Response};
use crate::server::error_pages::{error_page, storage_failure};
use crate::server::Server;
use crate::store::ApiScopes;
use crate::users::{GroupChange, ADMINS};
use hyper::StatusCode;
use serde_json::{json, Value};

/// GET /console/groups: the list and the create form.
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
    let mut groups = match super::read(s, admin, Command::GroupList(Default::default())) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    for g in groups.as_array_mut().into_iter().flatten() {
        let name = g["name"].as_str().unwrap_or("").to_string();
        g["show_url"] = json!(url_with(s, "/groups/show", "name", &name));
    }
    let ctx = super::typed_over(json!({ "section": "groups", "groups": groups }), form);
    console_page(s, req, admin, status, "console_groups.html", ctx)
}

/// POST /console/groups (`name`, `description`): `group.add`, then the group's page.
pub fn create(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let name = f.first("name").unwrap_or("").trim().to_string();
    let description = f.first("description").unwrap_or("").trim().to_string();
    let new = json!({ "name": name, "description": description });
    let refused = |message: String| {
        let form = json!({ "name": name, "description": description, "error": message });
        list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
    };
    let new = match serde_json::from_value(new) {
        Ok(n) => n,
        Err(e) => return refused(e.to_string()),
    };
    match run(s, admin, Command::GroupAdd(new)) {
        Ok(Ok(_)) => to_group(s, &name, "group_added"),
        Ok(Err(e)) => refused(e),
        Err(r) => *r,
    }
}

/// The group's page with `notice`.
fn to_group(s: &Server, name: &str, notice: &str) -> Response {
    let page = url_with(s, "/groups/show", "name", name);
    http::redirect(&format!("{page}&notice={notice}"))
}

/// The group the request's `name` names (`group.show`, with its members), or the page saying
/// it is not there.
fn shown(s: &Server, req: &Request, admin: &Admin) -> Result<Value, Box<Response>> {
    let name = req.params().first("name").unwrap_or("").to_string();
    match run(s, admin, Command::GroupShow(GroupRef { name }))? {
        Ok(v) => Ok(v),
        Err(_) => Err(Box::new(error_page(
            s,
            StatusCode::NOT_FOUND,
            "No such group",
            "There is no group with that name: it may have been deleted.",
            "Go back to the console's list of groups.",
        ))),
    }
}

/// GET /console/groups/show?name=: the group's page.
pub fn show(s: &Server, req: &Request, admin: &Admin) -> Response {
    show_page(s, req, admin, StatusCode::OK, None)
}

/// The group's page; `refused`: a form's error, and the edit form's typed values if it was
/// that form.
fn show_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    refused: Option<(String, Option<Value>)>,
) -> Response {
    let group = match shown(s, req, admin) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    let name = group["name"].as_str().unwrap_or("").to_string();
    let apps = match apps_for(s, admin, &name) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let apis = match super::apis::all(s, admin) {
        Ok(a) => api_scopes_for(&a, &granted(&group)),
        Err(r) => return *r,
    };
    let claims = match group["claims"].as_object() {
        Some(c) if !c.is_empty() => serde_json::to_string_pretty(c).unwrap_or_default(),
        _ => String::new(),
    };
    let mut members = group["members"].clone();
    for m in members.as_array_mut().into_iter().flatten() {
        let id = m["id"].as_str().unwrap_or("").to_string();
        m["show_url"] = json!(url_with(s, "/users/show", "id", &id));
    }
    let mut ctx = json!({
        "section": "groups",
        "group": group,
        "members": members,
        "apps": apps,
        "apis": apis,
        "edit": {
            "description": group["description"],
            "claims": claims,
            "second_factor": group["second_factor"],
        },
        "second_factor_help": "Whether every sign-in of the group's members (to any app, the console and the account page) needs more than the email code.",
        "builtin": name == ADMINS,
        "delete_url": url_with(s, "/groups/delete", "name", &name),
    });
    if let Some((error, typed)) = refused {
        ctx["error"] = json!(error);
        if let Some(typed) = typed {
            ctx["edit"] = typed;
        }
    }
    ctx["second_factor"] = second_factor::choices(&ctx["edit"]["second_factor"]);
    console_page(s, req, admin, status, "console_group.html", ctx)
}

/// Every app, with whether `group` is among its allowed groups and whether it is open to
/// everyone (no allowed groups).
fn apps_for(s: &Server, admin: &Admin, group: &str) -> Result<Vec<Value>, Box<Response>> {
    let apps = match run(s, admin, Command::AppList(Default::default()))? {
        Ok(v) => v,
        Err(e) => return Err(Box::new(storage_failure(s, e))),
    };
    let apps = apps.as_array().into_iter().flatten().map(|a| {
        let allowed = allowed_groups(a);
        json!({
            "client_id": a["client_id"],
            "name": a["name"],
            "declared": a["declared"],
            "allowed": allowed.iter().any(|g| g == group),
            "open": allowed.is_empty(),
            "others": allowed.iter().filter(|g| *g != group).cloned().collect::<Vec<_>>(),
        })
    });
    Ok(apps.collect())
}

/// An app's allowed groups, as `app.list` or `app.show` gives them.
fn allowed_groups(app: &Value) -> Vec<String> {
    let list = app["allowed_groups"].as_array().into_iter().flatten();
    list.filter_map(Value::as_str).map(str::to_string).collect()
}

/// A group's API scopes, as `group.show` gives them.
fn granted(group: &Value) -> ApiScopes {
    serde_json::from_value(group["api_scopes"].clone()).unwrap_or_default()
}

/// Every registered API with its scopes, each with whether the group grants it and its
/// checkbox's value (`indicator scope`: an indicator has no space).
fn api_scopes_for(apis: &[Value], granted: &ApiScopes) -> Vec<Value> {
    let rows = apis.iter().map(|a| {
        let indicator = a["indicator"].as_str().unwrap_or("");
        let has = granted.get(indicator);
        let scopes = a["scopes"].as_array().into_iter().flatten().map(|sc| {
            let name = sc["name"].as_str().unwrap_or("");
            json!({
                "name": name,
                "description": sc["description"],
                "granted": has.is_some_and(|g| g.iter().any(|n| n == name)),
                "value": format!("{indicator} {name}"),
            })
        });
        json!({ "indicator": indicator, "name": a["name"], "scopes": scopes.collect::<Vec<_>>() })
    });
    rows.collect()
}

/// The group's API scopes after the form: for each registered API, its scopes ticked in
/// `ticked` (`indicator scope` values) replace the ones it defines; scopes the page did not
/// show (an API not registered, a scope it does not define) are kept as they were.
fn api_scopes_ticked(apis: &[Value], mut granted: ApiScopes, ticked: &[&str]) -> ApiScopes {
    for a in apis {
        let indicator = a["indicator"].as_str().unwrap_or("");
        let defined: Vec<&str> = a["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|sc| sc["name"].as_str())
            .collect();
        let entry = granted.entry(indicator.to_string()).or_default();
        entry.retain(|n| !defined.contains(&n.as_str()));
        let on = |n: &&&str| ticked.contains(&format!("{indicator} {n}").as_str());
        entry.extend(defined.iter().filter(on).map(|n| n.to_string()));
        if entry.is_empty() {
            granted.remove(indicator);
        }
    }
    granted
}

/// POST /console/groups/api-scopes (`name`, `scope`: each ticked `indicator scope`):
/// `group.update` with the group's new API scopes, then the group's page.
pub fn set_api_scopes(s: &Server, req: &Request, admin: &Admin) -> Response {
    let group = match shown(s, req, admin) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    let apis = match super::apis::all(s, admin) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let name = group["name"].as_str().unwrap_or("").to_string();
    let api_scopes = api_scopes_ticked(&apis, granted(&group), &req.params().all("scope"));
    let change = GroupChange {
        api_scopes: Some(api_scopes),
        ..Default::default()
    };
    let edit = GroupEdit {
        name: name.clone(),
        change,
    };
    match run(s, admin, Command::GroupUpdate(edit)) {
        Ok(Ok(_)) => to_group(s, &name, "group_api_scopes_saved"),
        Ok(Err(e)) => show_page(
            s,
            req,
            admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some((e, None)),
        ),
        Err(r) => *r,
    }
}

/// POST /console/groups/update (`name`, `description`, `claims`, `second_factor`):
/// `group.update`, then the group's page. Loosening the second-factor policy needs a recent
/// sign-in (`second_factor.rs`).
pub fn update(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let field = |k: &str| f.first(k).unwrap_or("").to_string();
    let name = field("name");
    let typed = json!({
        "description": field("description"),
        "claims": field("claims"),
        "second_factor": f.first("second_factor"),
    });
    let refused = |e: String| {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        show_page(s, req, admin, status, Some((e, Some(typed.clone()))))
    };
    let claims = match claims_typed(&field("claims")) {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    let policy = match second_factor::typed(f.first("second_factor")) {
        Ok(p) => p,
        Err(e) => return refused(e),
    };
    let stored = match run(
        s,
        admin,
        Command::GroupShow(GroupRef { name: name.clone() }),
    ) {
        Ok(Ok(group)) => group["second_factor"].clone(),
        // No such group: `group.update` says so.
        Ok(Err(_)) => Value::Null,
        Err(r) => return *r,
    };
    let back = super::path_with("/groups/show", "name", &name);
    let loosens = second_factor::loosens(&stored, policy);
    if let Err(r) = super::fresh_if(loosens, s, req, admin, &back) {
        return *r;
    }
    let change = GroupChange {
        description: Some(field("description").trim().to_string()),
        claims: Some(claims),
        // The group's API scopes have their own form (`set_api_scopes`): kept as they are.
        api_scopes: None,
        second_factor: policy,
    };
    let edit = GroupEdit {
        name: name.clone(),
        change,
    };
    match run(s, admin, Command::GroupUpdate(edit)) {
        Ok(Ok(_)) => to_group(s, &name, "group_saved"),
        Ok(Err(e)) => refused(e),
        Err(r) => *r,
    }
}

/// POST /console/groups/members/add (`name`, `email`): `group.add-member`, then the group's
/// page.
pub fn add_member(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let group = f.first("name").unwrap_or("").to_string();
    let user = f.first("email").unwrap_or("").trim().to_string();
    let back = super::path_with("/groups/show", "name", &group);
    if let Err(r) = super::fresh_if(group == ADMINS, s, req, admin, &back) {
        return *r;
    }
    membership(s, req, admin, Membership { group, user }, true)
}

/// POST /console/groups/members/remove (`name`, `user`: the ID): `group.remove-member`, then
/// the group's page.
pub fn remove_member(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let group = f.first("name").unwrap_or("").to_string();
    let user = f.first("user").unwrap_or("").to_string();
    if group == ADMINS && user == admin.user.id {
        let e = "You cannot take yourself out of admins from the console.".to_string();
        return show_page(
            s,
            req,
            admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some((e, None)),
        );
    }
    membership(s, req, admin, Membership { group, user }, false)
}

fn membership(s: &Server, req: &Request, admin: &Admin, m: Membership, add: bool) -> Response {
    let group = m.group.clone();
    let (command, notice) = if add {
        (Command::GroupAddMember(m), "member_added")
    } else {
        (Command::GroupRemoveMember(m), "member_removed")
    };
    match run(s, admin, command) {
        Ok(Ok(_)) => to_group(s, &group, notice),
        Ok(Err(e)) => show_page(
            s,
            req,
            admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some((e, None)),
        ),
        Err(r) => *r,
    }
}

/// POST /console/groups/apps (`name`, `client_id`, `allow`: `yes` or `no`): adds the group to
/// the app's allowed groups or takes it off (`app.show`, then `app.update` with the new list),
/// then the group's page.
pub fn set_app(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let group = f.first("name").unwrap_or("").to_string();
    let client_id = f.first("client_id").unwrap_or("").to_string();
    let allow = f.first("allow") == Some("yes");
    let refused = |e: String| {
        show_page(
            s,
            req,
            admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some((e, None)),
        )
    };
    let app = match run(
        s,
        admin,
        Command::AppShow(AppRef {
            client_id: client_id.clone(),
        }),
    ) {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return refused(e),
        Err(r) => return *r,
    };
    let mut groups = allowed_groups(&app);
    groups.retain(|g| *g != group);
    if allow {
        groups.push(group.clone());
        groups.sort();
    }
    let change = AppChange {
        client_id,
        change: AppUpdate {
            allowed_groups: Some(groups),
            ..Default::default()
        },
    };
    match run(s, admin, Command::AppUpdate(change)) {
        Ok(Ok(_)) => to_group(s, &group, "group_apps_saved"),
        Ok(Err(e)) => refused(e),
        Err(r) => *r,
    }
}

/// GET /console/groups/delete?name=: "delete this group?", the confirmation step.
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
    let group = match shown(s, req, admin) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    let name = group["name"].as_str().unwrap_or("").to_string();
    let c = super::Confirm {
        section: "groups",
        title: format!("Delete the group {name}?"),
        text: "Its members leave it and lose the claims it gave them. Apps that allowed only this group then let none of them in. This cannot be undone.".into(),
        action: "/groups/delete",
        key: "name",
        value: &name,
        button: format!("Delete {name}"),
        back_url: url_with(s, "/groups/show", "name", &name),
    };
    super::confirm_page(s, req, admin, status, error, c)
}

/// POST /console/groups/delete (`name`): `group.delete`, then the list.
pub fn delete(s: &Server, req: &Request, admin: &Admin) -> Response {
    let name = req.params().first("name").unwrap_or("").to_string();
    match run(s, admin, Command::GroupDelete(GroupRef { name })) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=group_deleted", url(s, "/groups"))),
        Ok(Err(e)) => confirm_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, Some(e)),
        Err(r) => *r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticked_scopes_replace_the_shown_ones_and_the_rest_is_kept() {
        let apis =
            [json!({"indicator": "https://a/", "scopes": [{"name": "read"}, {"name": "write"}]})];
        let granted: ApiScopes = serde_json::from_value(json!({
            "https://a/": ["write", "legacy"],
            "https://gone/": ["x"],
        }))
        .unwrap();
        let after = api_scopes_ticked(&apis, granted.clone(), &["https://a/ read"]);
        let want = json!({"https://a/": ["legacy", "read"], "https://gone/": ["x"]});
        assert_eq!(serde_json::to_value(&after).unwrap(), want);
        let none = api_scopes_ticked(&apis, granted, &[]);
        let want = json!({"https://a/": ["legacy"], "https://gone/": ["x"]});
        assert_eq!(serde_json::to_value(&none).unwrap(), want);
        let cleared = api_scopes_ticked(&apis, ApiScopes::new(), &[]);
        assert!(cleared.is_empty(), "no entry left empty");
    }
}
