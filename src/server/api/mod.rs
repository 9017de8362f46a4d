//! The management API: `/api/v1/...` under the issuer, JSON in and out, for programs (with an
//! API key) and for administrators' pages (with their session).
//!
//! It is another door to the admin command set, not another implementation: every route
//! parses its request into an admin [`Command`] and carries it out with
//! [`admin::handle_live`], exactly as the control socket does, so the CLI, the socket and the
//! API cannot disagree about what an operation means.
//!
//! A request passes through these steps, in order:
//!
//! 1. the route table, [`ROUTES`] (data, so the OpenAPI document can be checked against it):
//!    no route has the path → 404; none has the method → 405 with `Allow`;
//! 2. who is calling (`auth.rs`): no or bad credentials → 401, not an administrator → 403, a
//!    cookie-authenticated write from elsewhere → 403;
//! 3. the handler (`handlers.rs`): the path, the query and the body (`input.rs`) parsed into
//!    the command's own argument types (a bad member → 400 naming it), then the command;
//! 4. the answer: JSON, or `application/problem+json` ([`Problem`]) with the command's error
//!    mapped onto its status.
//!
//! Lists answer `{"items": [...], "next": "..."}`; `next` (absent on the last page) goes back
//! as `after`. A write that loses a race (two creates of one email) gets the 409 the
//! operation's own check gives: redb runs one write transaction at a time, and the check is
//! inside it.
//!
//! The parts: this file (the route table and dispatch), `handlers.rs` (one small function per
//! route), `auth.rs`, `input.rs` (bodies and queries), `problem.rs` (errors), `openapi.rs`
//! (the published description, `openapi.json`, and the test that keeps it equal to the table).

mod auth;
mod handlers;
mod input;
mod openapi;
mod problem;

#[cfg(test)]
mod tests;

pub use auth::{authenticate, csrf_token, Principal, CSRF_HEADER};
pub use problem::{Kind, Problem};

use super::Server;
use crate::admin::{self, Command};
use crate::http::{Request, Response};
use hyper::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::cell::OnceCell;

/// Where the API lives, below the issuer.
pub const PREFIX: &str = "/api/v1";

/// Whether a path (below the issuer) is the API's.
pub fn handles(path: &str) -> bool {
    path == PREFIX || path.starts_with("/api/v1/")
}

/// The methods the API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    fn of(method: &Method) -> Option<Verb> {
        [Verb::Get, Verb::Post, Verb::Put, Verb::Patch, Verb::Delete]
            .into_iter()
            .find(|v| v.as_str() == method.as_str())
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the OpenAPI document).
    Public,
    /// A holder of an API key, or a signed-in member of `admins`.
    Admin,
}

/// One route: a method, a path template below [`PREFIX`] (`{name}` is one path segment), who
/// may call it, and its handler.
pub struct Route {
    pub verb: Verb,
    pub path: &'static str,
    pub access: Access,
    handler: Handler,
}

type Handler = fn(&Call<'_>) -> Result<Reply, Problem>;

const fn admin(verb: Verb, path: &'static str, handler: Handler) -> Route {
    Route {
        verb,
        path,
        access: Access::Admin,
        handler,
    }
}

use handlers as h;
use Verb::{Delete, Get, Patch, Post, Put};

/// Every route of the API. `openapi.json` describes exactly these (a test checks both ways).
pub const ROUTES: &[Route] = &[
    Route {
        verb: Get,
        path: "/openapi.json",
        access: Access::Public,
        handler: openapi::serve,
    },
    admin(Get, "/session", h::session),
    admin(Get, "/users", h::users_list),
    admin(Post, "/users", h::user_create),
    admin(Get, "/users/{user}", h::user_show),
    admin(Patch, "/users/{user}", h::user_update),
    admin(Delete, "/users/{user}", h::user_delete),
    admin(Post, "/users/{user}/disable", h::user_disable),
    admin(Post, "/users/{user}/enable", h::user_enable),
    admin(Post, "/users/{user}/sign-out", h::user_sign_out),
    admin(Get, "/users/{user}/factors", h::user_factors),
    admin(Post, "/users/{user}/reset-factors", h::user_reset_factors),
    admin(
        Delete,
        "/users/{user}/passkeys/{credential_id}",
        h::user_remove_passkey,
    ),
    admin(Get, "/groups", h::groups_list),
    admin(Post, "/groups", h::group_create),
    admin(Get, "/groups/{name}", h::group_show),
    admin(Patch, "/groups/{name}", h::group_update),
    admin(Delete, "/groups/{name}", h::group_delete),
    admin(Put, "/groups/{name}/members/{user}", h::member_add),
    admin(Delete, "/groups/{name}/members/{user}", h::member_remove),
    admin(Get, "/apps", h::apps_list),
    admin(Post, "/apps", h::app_create),
    admin(Get, "/apps/{client_id}", h::app_show),
    admin(Patch, "/apps/{client_id}", h::app_update),
    admin(Delete, "/apps/{client_id}", h::app_delete),
    admin(
        Post,
        "/apps/{client_id}/rotate-secret",
        h::app_rotate_secret,
    ),
    admin(Get, "/apis", h::apis_list),
    admin(Post, "/apis", h::api_create),
    admin(Get, "/apis/{indicator}", h::api_show),
    admin(Patch, "/apis/{indicator}", h::api_update),
    admin(Delete, "/apis/{indicator}", h::api_delete),
    admin(Get, "/connectors/ses", h::ses_connector_show),
    admin(Put, "/connectors/ses", h::ses_connector_set),
    admin(Delete, "/connectors/ses", h::ses_connector_delete),
    admin(Get, "/connectors/smtp", h::smtp_connector_show),
    admin(Put, "/connectors/smtp", h::smtp_connector_set),
    admin(Delete, "/connectors/smtp", h::smtp_connector_delete),
    admin(Post, "/keys/rotate", h::keys_rotate),
    admin(Get, "/api-keys", h::api_keys_list),
    admin(Post, "/api-keys", h::api_key_create),
    admin(Delete, "/api-keys/{id}", h::api_key_revoke),
    admin(Get, "/audit", h::audit_list),
];

/// Answers a request whose path [`handles`] says is the API's.
pub async fn route(s: &Server, req: &Request) -> Response {
    // Handlers read and write the store, which blocks (a write waits for its fsync).
    let answered = tokio::task::block_in_place(|| answer(s, req));
    match answered {
        Ok(reply) => reply.response(s),
        Err(problem) => problem.response(),
    }
}

/// The answer to a request the server could not read (too large, too slow, broken).
pub fn unreadable(kind: Kind, detail: &str) -> Response {
    Problem::new(kind, detail).response()
}

fn answer(s: &Server, req: &Request) -> Result<Reply, Problem> {
    let rel = req.path.strip_prefix(PREFIX).unwrap_or_default();
    let (route, params) = find(&req.method, rel)?;
    let principal = match route.access {
        Access::Public => None,
        Access::Admin => {
            let principal = auth::authenticate(s, req)?;
            if route.verb != Verb::Get {
                auth::check_csrf(s, req, &principal)?;
            }
            Some(principal)
        }
    };
    let call = Call {
        server: s,
        req,
        route,
        params,
        principal,
        body: OnceCell::new(),
    };
    (route.handler)(&call)
}

/// The route for a method and a path below [`PREFIX`], with the path's parameters.
fn find(method: &Method, rel: &str) -> Result<(&'static Route, Params), Problem> {
    let verb = Verb::of(method);
    let mut allowed: Vec<&str> = Vec::new();
    for route in ROUTES {
        let Some(params) = match_path(route.path, rel) else {
            continue;
        };
        if Some(route.verb) == verb {
            return Ok((route, params));
        }
        allowed.push(route.verb.as_str());
    }
    if allowed.is_empty() {
        return Err(Problem::new(
            Kind::NotFound,
            format!("no such endpoint: {PREFIX}{rel} (GET {PREFIX}/openapi.json lists them)"),
        ));
    }
    Err(Problem::method_not_allowed(method, &allowed.join(", ")))
}

/// A path's parameters by name, percent-decoded.
type Params = Vec<(&'static str, String)>;

/// The parameters of `path` if it fits `template`. A segment that does not percent-decode to
/// UTF-8, or is empty, fits no parameter.
fn match_path(template: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut segments = path.split('/');
    for want in template.split('/') {
        let got = segments.next()?;
        match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) => {
                let value = input::percent_decode(got)?;
                if value.is_empty() {
                    return None;
                }
                params.push((name, value));
            }
            None if want == got => {}
            None => return None,
        }
    }
    segments.next().is_none().then_some(params)
}

/// One request on its way through a handler: what it asked, who asked, and the body once read.
pub struct Call<'a> {
    server: &'a Server,
    req: &'a Request,
    route: &'static Route,
    params: Params,
    /// `None` only on public routes.
    principal: Option<Principal>,
    /// The JSON body, once a handler has read it: errors name the member at fault from it.
    body: OnceCell<Value>,
}

impl Call<'_> {
    /// A path parameter (the route table guarantees the handler's template has it).
    fn param(&self, name: &str) -> String {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// A query parameter; sent twice is refused (which one would count?).
    fn query(&self, name: &str) -> Result<Option<String>, Problem> {
        match self.req.query().get(name) {
            Ok(v) => Ok(v.map(str::to_string)),
            Err(_) => Err(Problem::invalid(
                name,
                format!("the query parameter {name} is repeated"),
            )),
        }
    }

    /// The body as a JSON object whose members the route's request schema names.
    fn body_object(&self) -> Result<serde_json::Map<String, Value>, Problem> {
        let object = input::json_object(self.req)?;
        openapi::check_members(self.route, &object)?;
        let _ = self.body.set(Value::Object(object.clone()));
        Ok(object)
    }

    /// The body, parsed into a command's argument type.
    fn body<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        input::deserialize(Value::Object(self.body_object()?))
    }

    /// Carries out `command` in the running server; its error in this request's terms.
    fn run(&self, command: Command) -> Result<Value, Problem> {
        let (name, only_reads) = (command.name(), command.only_reads());
        let s = self.server;
        let actor = match &self.principal {
            Some(p) => p.actor(),
            None => crate::audit::Actor::Anonymous,
        };
        let result = admin::handle_live(&s.provider, &s.config.mail, &actor, command)
            .map_err(|e| Problem::from_admin(e, self))?;
        let by = self.principal.as_ref().map(ToString::to_string);
        let by = by.as_deref().unwrap_or("anonymous");
        if only_reads {
            tracing::debug!("management API: {name} by {by}");
        } else {
            tracing::info!("management API: {name} by {by}");
        }
        Ok(result)
    }

    /// Whether a path parameter is `value` (an unknown thing named in the URL is a 404).
    fn path_names(&self, value: &str) -> bool {
        self.params.iter().any(|(_, v)| v.trim() == value)
    }

    /// Whether the query parameter `name` is `value`.
    fn query_names(&self, name: &str, value: &str) -> bool {
        self.req
            .query()
            .first(name)
            .is_some_and(|v| v.trim() == value)
    }

    /// `member[i]` when the body's list `member` holds `value` at `i`, else `member`.
    fn body_member_holding(&self, member: &str, value: &str) -> String {
        let at = self
            .body
            .get()
            .and_then(|b| b.get(member))
            .and_then(Value::as_array)
            .and_then(|items| {
                items
                    .iter()
                    .position(|v| v.as_str().is_some_and(|s| s.trim() == value))
            });
        match at {
            Some(i) => format!("{member}[{i}]"),
            None => member.to_string(),
        }
    }
}

/// A successful answer.
struct Reply {
    status: StatusCode,
    body: Value,
    /// For 201: the new resource's path below [`PREFIX`].
    location: Option<String>,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
            location: None,
        }
    }

    fn created(body: Value, location: Option<String>) -> Reply {
        Reply {
            status: StatusCode::CREATED,
            body,
            location,
        }
    }

    fn response(self, s: &Server) -> Response {
        let mut r = crate::http::json(self.status, &self.body);
        if let Some(path) = self.location {
            let url = s.provider.issuer.local(&format!("{PREFIX}{path}"));
            if let Ok(v) = hyper::header::HeaderValue::from_str(&url) {
                r.headers_mut().insert(hyper::header::LOCATION, v);
            }
        }
        r
    }
}
