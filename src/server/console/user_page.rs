//! The console's page of one user (`/console/users/show?id=`): the edit form (name, username,
//! groups as checkboxes, custom claims as JSON), sign out everywhere and disable/enable (the
//! list's own forms, coming back here), the user's live sessions and the apps holding their
//! tokens (read as the account page reads them, [`crate::account::view`]), and delete with a
//! confirmation step, and their two-step verification (authenticator app, unused recovery
//! codes, passkeys) with a reset for a lost phone (`user.reset-factors`) and a Remove button
//! per passkey (`user.remove-passkey`), both behind a fresh sign-in like delete. Changes are
//! admin commands (`user.update`, `user.delete`); a user
//! declared in `sesame.toml` is shown read-only, since the commands refuse to change one.

use super::{claims_typed, console_page, path_with, run, url, url_with, Admin};
use crate::admin::{Command, PasskeyRef, UserEdit, UserRef};
use crate::http::{self, Request, Response};
use crate::server::account_routes::{apps_json, sessions_json};
use crate::server::error_pages::{error_page, storage_failure};
use crate::server::Server;
use crate::users::{UserChange, ADMINS};
use hyper::StatusCode;
use serde_json::{json, Value};

/// GET /console/users/show?id=: the user's page.
pub fn show(s: &Server, req: &Request, admin: &Admin) -> Response {
    show_page(s, req, admin, StatusCode::OK, None)
}

/// The page of the user the request's `id` names; `refused`: the edit form's error and the
/// values typed, kept in the form (status 422).
fn show_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    refused: Option<(String, Value)>,
) -> Response {
    let id = req.params().first("id").unwrap_or("").to_string();
    let now = s.provider.now();
    let view = match crate::account::view(&s.provider.store, now, &id, None) {
        Ok(Some(v)) => v,
        Ok(None) => return no_such_user(s),
        Err(e) => return storage_failure(s, e),
    };
    let groups = match group_names(s, admin) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    let factors = match run(s, admin, Command::UserFactors(UserRef { user: id.clone() })) {
        Ok(Ok(f)) => with_dates(f),
        Ok(Err(_)) => return no_such_user(s),
        Err(r) => return *r,
    };
    let user = &view.user;
    let claims = if user.claims.is_empty() {
        String::new()
    } else {
        serde_json::to_string_pretty(&user.claims).unwrap_or_default()
    };
    let mut edit = json!({
        "name": user.name.clone().unwrap_or_default(),
        "username": user.username.clone().unwrap_or_default(),
        "groups": user.groups,
        "claims": claims,
    });
    let mut error = None;
    if let Some((e, typed)) = refused {
        error = Some(e);
        edit = typed;
    }
    let ctx = json!({
        "section": "users",
        "user": user,
        "edit": edit,
        "error": error,
        "all_groups": groups,
        "sessions": sessions_json(&view),
        "apps": apps_json(&view),
        "factors": factors,
        "self": user.id == admin.user.id,
        "delete_url": url_with(s, "/users/delete", "id", &user.id),
    });
    console_page(s, req, admin, status, "console_user.html", ctx)
}

/// `user.factors`'s result with each passkey's times as dates (`added`, `last_used`).
fn with_dates(mut factors: Value) -> Value {
    let date = |v: &Value| v.as_u64().map(crate::clock::utc);
    if let Some(passkeys) = factors["passkeys"].as_array_mut() {
        for pk in passkeys {
            pk["added"] = json!(date(&pk["created_at"]));
            pk["last_used"] = json!(date(&pk["last_used_at"]));
        }
    }
    factors
}

fn no_such_user(s: &Server) -> Response {
    error_page(
        s,
        StatusCode::NOT_FOUND,
        "No such user",
        "There is no user with that ID: they may have been deleted.",
        "Go back to the console's list of users.",
    )
}

/// The names of every group (`group.list`), for the checkboxes and the list's filter.
pub(super) fn group_names(s: &Server, admin: &Admin) -> Result<Vec<String>, Box<Response>> {
    match run(s, admin, Command::GroupList(Default::default()))? {
        Ok(v) => Ok(v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["name"].as_str().map(str::to_string))
            .collect()),
        Err(e) => Err(Box::new(storage_failure(s, e))),
    }
}

/// POST /console/users/update (`id`, `name`, `username`, `groups` repeated, `claims`):
/// `user.update` with each as typed (the groups and claims replace the stored ones), then the
/// user's page.
pub fn update(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let field = |k: &str| f.first(k).unwrap_or("").to_string();
    let id = field("id");
    let groups: Vec<String> = f.all("groups").into_iter().map(str::to_string).collect();
    let typed = json!({
        "name": field("name").trim(),
        "username": field("username").trim(),
        "groups": groups,
        "claims": field("claims"),
    });
    let refused = |e: String| {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        show_page(s, req, admin, status, Some((e, typed.clone())))
    };
    let claims = match claims_typed(&field("claims")) {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    if id == admin.user.id && !groups.iter().any(|g| g == ADMINS) {
        return refused("You cannot take yourself out of admins from the console.".into());
    }
    let change = UserChange {
        name: Some(field("name").trim().to_string()),
        username: Some(field("username").trim().to_string()),
        groups: Some(groups.clone()),
        claims: Some(claims),
        ..Default::default()
    };
    let edit = UserEdit {
        user: id.clone(),
        change,
    };
    // Making someone an administrator is sensitive; other edits are not.
    let was_admin = match run(s, admin, Command::UserShow(UserRef { user: id.clone() })) {
        Ok(Ok(u)) => u["groups"]
            .as_array()
            .is_some_and(|g| g.iter().any(|g| g == ADMINS)),
        Ok(Err(_)) => return no_such_user(s),
        Err(r) => return *r,
    };
    let makes_admin = !was_admin && groups.iter().any(|g| g == ADMINS);
    let back = path_with("/users/show", "id", &id);
    if let Err(r) = super::fresh_if(makes_admin, s, req, admin, &back) {
        return *r;
    }
    match run(s, admin, Command::UserUpdate(edit)) {
        Ok(Ok(_)) => http::redirect(&format!(
            "{}&notice=user_saved",
            url_with(s, "/users/show", "id", &id)
        )),
        Ok(Err(e)) => refused(e),
        Err(r) => *r,
    }
}

/// GET /console/users/delete?id=: "delete this user?", the confirmation step.
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
    let id = req.params().first("id").unwrap_or("").to_string();
    let user = match run(s, admin, Command::UserShow(UserRef { user: id.clone() })) {
        Ok(Ok(u)) => u,
        Ok(Err(_)) => return no_such_user(s),
        Err(r) => return *r,
    };
    let email = user["email"].as_str().unwrap_or("");
    let c = super::Confirm {
        section: "users",
        title: format!("Delete {email}?"),
        text: "Their sessions end, every token their apps hold is revoked, and the account is gone: the same address signing in again gets a new account with a new ID. This cannot be undone.".into(),
        action: "/users/delete",
        key: "id",
        value: &id,
        button: format!("Delete {email}"),
        back_url: url_with(s, "/users/show", "id", &id),
    };
    super::confirm_page(s, req, admin, status, error, c)
}

/// POST /console/users/delete (`id`): `user.delete`, then the list. An administrator cannot
/// delete themselves from here (they would lose the console mid-action).
pub fn delete(s: &Server, req: &Request, admin: &Admin) -> Response {
    let id = req.params().first("id").unwrap_or("").to_string();
    if id == admin.user.id {
        let e = "You cannot delete your own account from the console.".to_string();
        return confirm_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, Some(e));
    }
    if let Err(r) = super::fresh::require(s, req, admin, &path_with("/users/show", "id", &id)) {
        return *r;
    }
    match run(s, admin, Command::UserDelete(UserRef { user: id })) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=user_deleted", url(s, "/users"))),
        Ok(Err(e)) => confirm_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, Some(e)),
        Err(r) => *r,
    }
}

/// POST /console/users/reset-factors (`id`): `user.reset-factors` (their authenticator app and
/// recovery codes go: a lost phone), after a fresh sign-in; then their page.
pub fn reset_factors(s: &Server, req: &Request, admin: &Admin) -> Response {
    let id = req.params().first("id").unwrap_or("").to_string();
    let back = path_with("/users/show", "id", &id);
    if let Err(r) = super::fresh::require(s, req, admin, &back) {
        return *r;
    }
    match run(
        s,
        admin,
        Command::UserResetFactors(UserRef { user: id.clone() }),
    ) {
        Ok(Ok(_)) => http::redirect(&format!(
            "{}&notice=factors_reset",
            url_with(s, "/users/show", "id", &id)
        )),
        Ok(Err(_)) => no_such_user(s),
        Err(r) => *r,
    }
}

/// POST /console/users/remove-passkey (`id`, `credential_id`): `user.remove-passkey` (a lost
/// or stolen device), after a fresh sign-in; then their page.
pub fn remove_passkey(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let id = f.first("id").unwrap_or("").to_string();
    let credential_id = f.first("credential_id").unwrap_or("").to_string();
    let back = path_with("/users/show", "id", &id);
    if let Err(r) = super::fresh::require(s, req, admin, &back) {
        return *r;
    }
    let target = PasskeyRef {
        user: id.clone(),
        credential_id,
    };
    match run(s, admin, Command::UserRemovePasskey(target)) {
        Ok(Ok(_)) => http::redirect(&format!(
            "{}&notice=passkey_removed",
            url_with(s, "/users/show", "id", &id)
        )),
        Ok(Err(e)) => error_page(
            s,
            StatusCode::NOT_FOUND,
            "No such passkey",
            &e,
            "Go back to the user's page: it lists the passkeys they have now.",
        ),
        Err(r) => *r,
    }
}
