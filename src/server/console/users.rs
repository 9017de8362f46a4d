//! The console's users: the list with a search (email, name or username containing the typed
//! text) and a filter by group, the add form (email, name, groups), sign out everywhere, and
//! disable/enable (from the list or from a user's page, which these forms come back to when
//! they carry `back=show`). Each calls the admin command (`user.list`, `user.add`,
//! `user.sign-out`, `user.disable`, `user.enable`).

use super::{console_page, run, url, url_with, Admin};
use crate::admin::{Command, UserQuery, UserRef};
use crate::http::{self, Request, Response};
use crate::server::Server;
use crate::users::{ADMINS, MAX_PAGE};
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

/// What the list shows: the matching users, whether there were more, or why `user.list`
/// refused (an unknown group in the filter).
type Found = Result<(Vec<Value>, bool), String>;

/// The users `user.list` pages through (the members of `group`, if given), those matching `q`,
/// at most [`SHOWN`]; and whether there were more.
fn found(s: &Server, admin: &Admin, q: &str, group: &str) -> Result<Found, Box<Response>> {
    let q = q.to_lowercase();
    let mut shown = Vec::new();
    let mut after = None;
    loop {
        let query = UserQuery {
            group: (!group.is_empty()).then(|| group.to_string()),
            after: after.take(),
            limit: Some(MAX_PAGE),
        };
        let page = match run(s, admin, Command::UserList(query))? {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        for u in page["items"].as_array().into_iter().flatten() {
            if matches(u, &q) {
                if shown.len() == SHOWN {
                    return Ok(Ok((shown, true)));
                }
                let mut u = u.clone();
                let id = u["id"].as_str().unwrap_or("").to_string();
                u["show_url"] = json!(url_with(s, "/users/show", "id", &id));
                shown.push(u);
            }
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return Ok(Ok((shown, false))),
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
    let query = req.query();
    let q = query.first("q").unwrap_or("").trim().to_string();
    let group = query.first("group").unwrap_or("").trim().to_string();
    let (listed, all_groups) = match (
        found(s, admin, &q, &group),
        super::user_page::group_names(s, admin),
    ) {
        (Ok(f), Ok(g)) => (f, g),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let (users, more, filter_error) = match listed {
        Ok((users, more)) => (users, more, None),
        Err(e) => (Vec::new(), false, Some(e)),
    };
    let mut ctx = json!({
        "section": "users",
        "users": users,
        "more": more,
        "q": q,
        "group": group,
        "all_groups": all_groups,
        "error": filter_error,
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
    let adds_admin = group_list(&groups).iter().any(|g| g == ADMINS);
    if let Err(r) = super::fresh_if(adds_admin, s, req, admin, "/users") {
        return *r;
    }
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

/// Where a form on a user goes when done: the user's page if it came from there (`back=show`),
/// else the list; with `notice`.
fn done(s: &Server, req: &Request, user: &str, notice: &str) -> Response {
    if req.params().first("back") == Some("show") {
        let page = url_with(s, "/users/show", "id", user);
        http::redirect(&format!("{page}&notice={notice}"))
    } else {
        http::redirect(&format!("{}?notice={notice}", url(s, "/users")))
    }
}

/// POST /console/users/sign-out (`user`: the ID): `user.sign-out` ends every session of theirs
/// (their apps keep their tokens; disabling revokes those). Then the list (or their page).
pub fn sign_out(s: &Server, req: &Request, admin: &Admin) -> Response {
    let user = req.params().first("user").unwrap_or("").to_string();
    match run(
        s,
        admin,
        Command::UserSignOut(UserRef { user: user.clone() }),
    ) {
        Ok(Ok(_)) => done(s, req, &user, "user_signed_out"),
        Ok(Err(e)) => {
            let form = json!({ "error": e });
            list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
        }
        Err(r) => *r,
    }
}

/// POST /console/users/disable or /enable (`user`: the ID): then the list (or their page).
pub fn set_disabled(s: &Server, req: &Request, admin: &Admin, disabled: bool) -> Response {
    let user = req.params().first("user").unwrap_or("").to_string();
    if disabled && user == admin.user.id {
        let form = json!({ "error": "You cannot disable your own account from the console." });
        return list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form);
    }
    let r = UserRef { user: user.clone() };
    let (command, notice) = if disabled {
        (Command::UserDisable(r), "user_disabled")
    } else {
        (Command::UserEnable(r), "user_enabled")
    };
    match run(s, admin, command) {
        Ok(Ok(_)) => done(s, req, &user, notice),
        Ok(Err(e)) => {
            let form = json!({ "error": e });
            list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
        }
        Err(r) => *r,
    }
}
