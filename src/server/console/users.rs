//! The console's users: the list with a search (email, name or username containing the typed
//! text), the add form (email, name, groups), sign out everywhere, and disable/enable. Each
//! calls the admin command (`user.list`, `user.add`, `user.sign-out`, `user.disable`,
//! `user.enable`).

use super::{console_page, run, url, Admin};
use crate::admin::{Command, UserQuery, UserRef};
use crate::http::{self, Request, Response};
use crate::server::Server;
use crate::users::MAX_PAGE;
use hyper::StatusCode;
use serde_json::{json, Value};

/// The most users a page lists; the search narrows it.
const SHOWN: usize = 200;

/// GET /console/users?q=: the list (searched) and the add form.
pub fn list(s: &Server, req: &Request, admin: &Admin) -> Response {
    list_page(s, req, admin, StatusCode::OK, json!({}))
}

/// Whether `user` (as `user.list` returns it) has `q` (lowercase) in its email, name or
/// username.
fn matches(user: &Value, q: &str) -> bool {
    ["email", "name", "username"].iter().any(|k| {
        user[k]
            .as_str()
            .is_some_and(|v| v.to_lowercase().contains(q))
    })
}

/// The users `user.list` pages through, those matching `q`, at most [`SHOWN`]; and whether
/// there were more. A refusal of `user.list` (it takes no input from here) is a failure page.
fn found(s: &Server, admin: &Admin, q: &str) -> Result<(Vec<Value>, bool), Box<Response>> {
    let q = q.to_lowercase();
    let mut shown = Vec::new();
    let mut after = None;
    loop {
        let query = UserQuery {
            group: None,
            after: after.take(),
            limit: Some(MAX_PAGE),
        };
        let page = match run(s, admin, Command::UserList(query))? {
            Ok(p) => p,
            Err(e) => return Err(Box::new(super::storage_failure(s, e))),
        };
        for u in page["items"].as_array().into_iter().flatten() {
            if matches(u, &q) {
                if shown.len() == SHOWN {
                    return Ok((shown, true));
                }
                shown.push(u.clone());
            }
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return Ok((shown, false)),
        }
    }
}

fn list_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    form: Value,
) -> Response {
    let q = req.query().first("q").unwrap_or("").trim().to_string();
    let (users, more) = match found(s, admin, &q) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut ctx = json!({
        "section": "users",
        "users": users,
        "more": more,
        "q": q,
        "shown": SHOWN,
    });
    for (k, v) in form.as_object().into_iter().flatten() {
        ctx[k] = v.clone();
    }
    console_page(s, req, admin, status, "console_users.html", ctx)
}

/// The groups typed as a comma- or space-separated list.
fn group_list(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

/// POST /console/users: `user.add`, then the list.
pub fn add(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let email = f.first("email").unwrap_or("").trim().to_string();
    let name = f.first("name").unwrap_or("").trim().to_string();
    let groups = f.first("groups").unwrap_or("").to_string();
    let mut new = json!({ "email": email, "groups": group_list(&groups) });
    if !name.is_empty() {
        new["name"] = json!(name);
    }
    let refused = |message: String| {
        let form = json!({ "email": email, "name": name, "groups": groups, "error": message });
        list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
    };
    let new = match serde_json::from_value(new) {
        Ok(n) => n,
        Err(e) => return refused(e.to_string()),
    };
    match run(s, admin, Command::UserAdd(new)) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=user_added", url(s, "/users"))),
        Ok(Err(e)) => refused(e),
        Err(r) => *r,
    }
}

/// POST /console/users/sign-out (`user`: the ID): `user.sign-out` ends every session of theirs
/// (their apps keep their tokens; disabling revokes those). Then the list.
pub fn sign_out(s: &Server, req: &Request, admin: &Admin) -> Response {
    let user = req.params().first("user").unwrap_or("").to_string();
    match run(s, admin, Command::UserSignOut(UserRef { user })) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=user_signed_out", url(s, "/users"))),
        Ok(Err(e)) => {
            let form = json!({ "error": e });
            list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
        }
        Err(r) => *r,
    }
}

/// POST /console/users/disable or /enable (`user`: the ID): then the list.
pub fn set_disabled(s: &Server, req: &Request, admin: &Admin, disabled: bool) -> Response {
    let user = req.params().first("user").unwrap_or("").to_string();
    if disabled && user == admin.user.id {
        let form = json!({ "error": "You cannot disable your own account from the console." });
        return list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form);
    }
    let r = UserRef { user };
    let (command, notice) = if disabled {
        (Command::UserDisable(r), "user_disabled")
    } else {
        (Command::UserEnable(r), "user_enabled")
    };
    match run(s, admin, command) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice={notice}", url(s, "/users"))),
        Ok(Err(e)) => {
            let form = json!({ "error": e });
            list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
        }
        Err(r) => *r,
    }
}
