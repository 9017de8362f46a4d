//! The console's APIs (`/console/apis`): the resource servers sesame issues JWT access tokens
//! for (see [`crate::apis`]). The list (indicator, name, scopes, algorithm, token lifetime),
//! the create form (scopes typed one a line, `name` or `name = description`), and delete with
//! a confirmation step. Each is an admin command: `api.list`, `api.create`, `api.delete`.
//! An API declared in `sesame.toml` is listed read-only, with a note saying where it is
//! defined. Who gets which scope is set on a group's page (`groups.rs`).

use super::{console_page, run, url, url_with, Admin};
use crate::admin::{ApiRef, Command};
use crate::alg::Alg;
use crate::apis::{NewApi, DEFAULT_ACCESS_TOKEN_TTL, MAX_ACCESS_TOKEN_TTL};
use crate::http::{self, Request, Response};
use crate::server::error_pages::storage_failure;
use crate::server::Server;
use crate::store::ApiScope;
use hyper::StatusCode;
use serde_json::{json, Value};

/// GET /console/apis: the list and the create form.
pub fn list(s: &Server, req: &Request, admin: &Admin) -> Response {
    list_page(s, req, admin, StatusCode::OK, json!({}))
}

/// Every API, as `api.list` gives them, or the response instead.
pub(super) fn all(s: &Server, admin: &Admin) -> Result<Vec<Value>, Box<Response>> {
    match run(s, admin, Command::ApiList(Default::default()))? {
        Ok(Value::Array(apis)) => Ok(apis),
        Ok(_) => Ok(Vec::new()),
        Err(e) => Err(Box::new(storage_failure(s, e))),
    }
}

fn list_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    form: Value,
) -> Response {
    let mut apis = match all(s, admin) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    for a in &mut apis {
        let indicator = a["indicator"].as_str().unwrap_or("").to_string();
        a["delete_url"] = json!(url_with(s, "/apis/delete", "indicator", &indicator));
    }
    let ctx = super::typed_over(
        json!({
            "section": "apis",
            "apis": apis,
            "algs": Alg::NAMES,
            "alg": Alg::Es256.as_str(),
            "ttl": DEFAULT_ACCESS_TOKEN_TTL,
            "max_ttl": MAX_ACCESS_TOKEN_TTL,
        }),
        form,
    );
    console_page(s, req, admin, status, "console_apis.html", ctx)
}

/// POST /console/apis (`indicator`, `name`, `scopes`, `alg`, `ttl`): `api.create`, then the
/// list.
pub fn create(s: &Server, req: &Request, admin: &Admin) -> Response {
    let f = req.params();
    let field = |k: &str| f.first(k).unwrap_or("").trim().to_string();
    let typed = json!({
        "indicator": field("indicator"),
        "name": field("name"),
        "scopes": f.first("scopes").unwrap_or(""),
        "alg": field("alg"),
        "ttl": field("ttl"),
    });
    let refused = |e: String| {
        let mut form = typed.clone();
        form["error"] = json!(e);
        list_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, form)
    };
    let new = match new_api(&field, f.first("scopes").unwrap_or("")) {
        Ok(n) => n,
        Err(e) => return refused(e),
    };
    match run(s, admin, Command::ApiCreate(new)) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=api_added", url(s, "/apis"))),
        Ok(Err(e)) => refused(e),
        Err(r) => *r,
    }
}

/// The create form's fields as `api.create`'s arguments; an error says which field is wrong.
fn new_api(field: &dyn Fn(&str) -> String, scopes: &str) -> Result<NewApi, String> {
    let alg = field("alg");
    let alg = match alg.as_str() {
        "" => None,
        a => Some(a.parse::<Alg>().map_err(|_| {
            format!("Algorithm: {a:?} is not one sesame signs with; pick one of the list.")
        })?),
    };
    let ttl = field("ttl");
    let access_token_ttl = match ttl.as_str() {
        "" => None,
        t => Some(t.parse::<u64>().map_err(|_| {
            format!("Token lifetime: a whole number of seconds, 1 to {MAX_ACCESS_TOKEN_TTL}.")
        })?),
    };
    Ok(NewApi {
        indicator: field("indicator"),
        name: field("name"),
        scopes: scopes_typed(scopes),
        alg,
        access_token_ttl,
    })
}

/// Scopes as typed in the textarea: one a line, `name` or `name = description`; blank lines
/// skipped. `api.create` checks the names.
fn scopes_typed(text: &str) -> Vec<ApiScope> {
    let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    lines
        .map(|l| {
            let (name, description) = l.split_once('=').unwrap_or((l, ""));
            ApiScope {
                name: name.trim().to_string(),
                description: description.trim().to_string(),
            }
        })
        .collect()
}

/// GET /console/apis/delete?indicator=: "delete this API?", the confirmation step.
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
    let indicator = req.params().first("indicator").unwrap_or("").to_string();
    let api = match run(s, admin, Command::ApiShow(ApiRef { indicator })) {
        Ok(Ok(a)) => a,
        Ok(Err(_)) => {
            return crate::server::error_pages::error_page(
                s,
                StatusCode::NOT_FOUND,
                "No such API",
                "There is no API with that resource indicator: it may have been deleted.",
                "Go back to the console's list of APIs.",
            )
        }
        Err(r) => return *r,
    };
    let indicator = api["indicator"].as_str().unwrap_or("");
    let name = api["name"].as_str().unwrap_or("");
    let c = super::Confirm {
        section: "apis",
        title: format!("Delete the API {name}?"),
        text: format!("Apps can no longer get access tokens for {indicator}; tokens already issued stay valid until they expire. Groups and apps keep the scopes granted for it, unused. This cannot be undone."),
        action: "/apis/delete",
        key: "indicator",
        value: indicator,
        button: format!("Delete {name}"),
        back_url: url(s, "/apis"),
    };
    super::confirm_page(s, req, admin, status, error, c)
}

/// POST /console/apis/delete (`indicator`): `api.delete`, then the list.
pub fn delete(s: &Server, req: &Request, admin: &Admin) -> Response {
    let indicator = req.params().first("indicator").unwrap_or("").to_string();
    match run(s, admin, Command::ApiDelete(ApiRef { indicator })) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=api_deleted", url(s, "/apis"))),
        Ok(Err(e)) => confirm_page(s, req, admin, StatusCode::UNPROCESSABLE_ENTITY, Some(e)),
        Err(r) => *r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_typed_one_a_line_with_an_optional_description() {
        let typed = scopes_typed("read = Read things\n\n  write\r\nadmin=All = of it\n");
        let pairs: Vec<(&str, &str)> = typed
            .iter()
            .map(|s| (s.name.as_str(), s.description.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("read", "Read things"),
                ("write", ""),
                ("admin", "All = of it")
            ]
        );
    }
}
