//! The console's users: the list, 50 at a time with a "Next page" link (the directory's
//! cursor, keeping the search and the group filter) and a search (email, name or username
//! containing the typed text) done by the directory itself (`user.list`'s `q`); each row is a
//! link to the user's page and their status. The add form (email, name, groups), sign out
//! everywhere, and disable/enable (posted from a user's page, which these forms come back to
//! when they carry `back=show`). Each calls the admin command (`user.list`, `user.add`,
//! `user.sign-out`, `user.disable`, `user.enable`).

use super::{console_page, run, url, url_with, Admin};
use crate::admin::{Command, UserQuery, UserRef};
use crate::http::{self, Request, Response};
use crate::server::Server;
use crate::users::ADMINS;
use hyper::StatusCode;
use serde_json::{json, Value};

/// The most users a page lists; "Next" continues.
const SHOWN: usize = 50;

/// GET /console/users?q=&group=&after=: a page of the list (searched, filtered) and the add
/// form.
pub fn list(s: &Server, req: &Request, admin: &Admin) -> Response {
    list_page(s, req, admin, StatusCode::OK, json!({}))
}

/// What the list shows: a page of users and where the next one starts, or why `user.list`
/// refused (an unknown group in the filter).
type Found = Result<(Vec<Value>, Option<String>), String>;

/// One page of `user.list` (the search and the filter done by the directory, not here), each
/// user with the link to their page.
fn found(s: &Server, admin: &Admin, filter: &Filter) -> Result<Found, Box<Response>> {
    let query = UserQuery {
        group: (!filter.group.is_empty()).then(|| filter.group.clone()),
        q: (!filter.q.is_empty()).then(|| filter.q.clone()),
        after: (!filter.after.is_empty()).then(|| filter.after.clone()),
        limit: Some(SHOWN),
    };
    let mut page = match run(s, admin, Command::UserList(query))? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let next = page["next"].as_str().map(str::to_string);
    let mut users = match page["items"].take() {
        Value::Array(items) => items,
        _ => Vec::new(),
    };
    for u in &mut users {
        let id = u["id"].as_str().unwrap_or("").to_string();
        u["show_url"] = json!(url_with(s, "/users/show", "id", &id));
    }
    Ok(Ok((users, next)))
}

/// The list's query: the search, the group filter and the page's cursor.
struct Filter {
    q: String,
    group: String,
    after: String,
}

impl Filter {
    fn from(req: &Request) -> Filter {
        let query = req.query();
        let get = |k| query.first(k).unwrap_or("").trim().to_string();
        Filter {
            q: get("q"),
            group: get("group"),
            after: get("after"),
        }
    }

    /// The list's URL for this search and filter, from the page after `after` (if any).
    fn link(&self, s: &Server, after: Option<&str>) -> String {
        let mut params = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("q", self.q.as_str()), ("group", &self.group)] {
            if !v.is_empty() {
                params.append_pair(k, v);
            }
        }
        if let Some(a) = after {
            params.append_pair("after", a);
        }
        let params = params.finish();
        let base = url(s, "/users");
        if params.is_empty() {
            base
        } else {
            format!("{base}?{params}")
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
    let filter = Filter::from(req);
    let (listed, all_groups) = match (
        found(s, admin, &filter),
        super::user_page::group_names(s, admin),
    ) {
        (Ok(f), Ok(g)) => (f, g),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let (users, next, filter_error) = match listed {
        Ok((users, next)) => (users, next, None),
        Err(e) => (Vec::new(), None, Some(e)),
    };
    let ctx = super::typed_over(
        json!({
            "section": "users",
            "users": users,
            "next_url": next.as_deref().map(|n| filter.link(s, Some(n))),
            "first_url": (!filter.after.is_empty()).then(|| filter.link(s, None)),
            "q": filter.q,
            "group": filter.group,
            "all_groups": all_groups,
            "error": filter_error,
        }),
        form,
    );
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
    let listed = group_list(&groups);
    let adds_admin = listed.iter().any(|g| g == ADMINS);
    if let Err(r) = super::fresh_if(adds_admin, s, req, admin, "/users") {
        return *r;
    }
    let mut new = json!({ "email": email, "groups": listed });
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
