//! The console (`/console`): administrators (members of the `admins` group,
//! [`crate::users::ADMINS`]) manage apps and users from a browser. Every change goes through
//! the admin command set ([`admin::handle_live`], the same door the control socket and the
//! management API use), with the signed-in administrator as the audit log's actor
//! ([`Actor::Admin`]): the console has no operations of its own.
//!
//! The gate, for every page and form:
//! - No session: a sign-in starts ([`SignInFor::Console`]) that ends back at `/console`; the
//!   return target is fixed, never taken from the request.
//! - Signed in, not in `admins`: a 403 page saying who may use the console.
//! - CSRF: as on the account page, every form carries a token derived from the session
//!   cookie's value under the console's own label; missing or wrong: a 403 page, nothing
//!   changes.
//! - Forms answer with a redirect (Post/Redirect/Get); what a redirect says comes from a fixed
//!   list of keys (`?notice=`), worded here. A refused command re-renders its form with the
//!   command's own error (the typed values kept), status 422.
//! - Sensitive actions (rotating a secret, creating an API key, adding an administrator,
//!   changing the mail connector, deleting a user, loosening an app's or a group's second-factor
//!   policy) need a sign-in from the last ten minutes, or
//!   a fresh code to the administrator's own address: [`fresh::require`], `fresh.rs`.
//! - A new app's client secret is never put in a URL or cookie: the create form's redirect
//!   leads to the app's page, which takes the secret once from [`reveal::Reveals`] (memory,
//!   minutes, bound to the session that created it). A reload shows it no more.
//!
//! The parts: `apps.rs` (list, create, settings to paste, edit, rotate the secret, delete),
//! `users.rs` (list, search and filter by group, add, sign out everywhere, disable/enable),
//! `user_page.rs` (one user: edit, sessions and apps, delete), `groups.rs` (list, create, edit,
//! members, the apps a group may use, its API scopes, delete), `apis.rs` (the APIs sesame issues
//! JWT access tokens for: list, register, delete), `experience.rs` (branding, sign-up and code
//! emails over the file's, with a live preview), `mail.rs` (status, the SMTP or SES connector, send
//! test and dry run), `keys.rs` (signing keys and rotation), `audit.rs` (the audit log, filtered
//! and paged), `api_keys.rs` (management API keys: create, shown once; list; revoke),
//! `fresh.rs` (recent sign-in for sensitive actions), `reveal.rs` (a secret or key shown
//! once), `second_factor.rs` (the app's and the group's second-factor control).

mod api_keys;
mod apis;
mod apps;
mod audit;
mod experience;
pub(super) mod fresh;
mod groups;
mod keys;
mod mail;
#[cfg(test)]
mod passkey_tests;
pub mod reveal;
mod second_factor;
mod user_page;
mod users;

use super::error_pages::{self, page, storage_failure};
use super::routes::email_sign_in;
use super::Server;
use crate::admin::{self, AdminError, Command};
use crate::audit::Actor;
use crate::http::cookie::SESSION_COOKIE;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::store::{SessionKind, SignInFor, User};
use crate::users::ADMINS;
use hyper::{Method, StatusCode};
use serde_json::Value;

/// Whether `path` is one of the console's.
pub fn handles(path: &str) -> bool {
    path == paths::CONSOLE || path.starts_with("/console/")
}

/// The signed-in administrator a console request acts for.
pub(super) struct Admin<'r> {
    pub user: User,
    /// The session cookie's value (the CSRF token and the shown-once secrets derive from it).
    pub cookie: &'r str,
    /// When this session's user last proved who they are ([`fresh::require`] asks).
    pub auth_time: u64,
}

impl Admin<'_> {
    pub fn csrf(&self) -> String {
        csrf_of(self.cookie)
    }

    pub fn actor(&self) -> Actor {
        Actor::Admin {
            user_id: self.user.id.clone(),
        }
    }
}

/// Routes `/console` and the pages and forms under it.
pub async fn route(s: &Server, req: &Request) -> Response {
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    let sub = req.path.strip_prefix(paths::CONSOLE).unwrap_or("");
    if !matches!(
        sub,
        "" | "/confirm"
            | "/apps"
            | "/apps/show"
            | "/apps/delete"
            | "/apps/rotate"
            | "/apps/update"
            | "/users"
            | "/users/sign-out"
            | "/users/disable"
            | "/users/enable"
            | "/users/show"
            | "/users/update"
            | "/users/delete"
            | "/users/reset-factors"
            | "/users/remove-passkey"
            | "/groups"
            | "/groups/show"
            | "/groups/update"
            | "/groups/members/add"
            | "/groups/members/remove"
            | "/groups/apps"
            | "/groups/delete"
            | "/groups/api-scopes"
            | "/apis"
            | "/apis/delete"
            | "/experience"
            | "/experience/reset"
            | "/experience/preview"
            | "/experience/preview.css"
            | "/mail"
            | "/mail/connector"
            | "/mail/connector/delete"
            | "/mail/smtp"
            | "/mail/test"
            | "/keys"
            | "/keys/rotate"
            | "/audit"
            | "/api-keys"
            | "/api-keys/revoke"
    ) {
        return http::text(StatusCode::NOT_FOUND, "not found\n");
    }
    if !(get || post) {
        return super::routes::method_not_allowed(&req.method);
    }
    let admin = match gate(s, req, post) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match (sub, post) {
        ("", false) => http::redirect(&url(s, "/apps")),
        ("/confirm", false) => fresh::confirm_page(s, req, &admin),
        ("/apps", false) => apps::list(s, req, &admin),
        ("/apps", true) => apps::create(s, req, &admin),
        ("/apps/show", false) => apps::show(s, req, &admin),
        ("/apps/delete", false) => apps::confirm_delete(s, req, &admin),
        ("/apps/delete", true) => apps::delete(s, req, &admin),
        ("/apps/rotate", true) => apps::rotate(s, req, &admin),
        ("/apps/update", true) => apps::update(s, req, &admin),
        ("/users", false) => users::list(s, req, &admin),
        ("/users", true) => users::add(s, req, &admin),
        ("/users/sign-out", true) => users::sign_out(s, req, &admin),
        ("/users/disable", true) => users::set_disabled(s, req, &admin, true),
        ("/users/enable", true) => users::set_disabled(s, req, &admin, false),
        ("/users/show", false) => user_page::show(s, req, &admin),
        ("/users/update", true) => user_page::update(s, req, &admin),
        ("/users/delete", false) => user_page::confirm_delete(s, req, &admin),
        ("/users/delete", true) => user_page::delete(s, req, &admin),
        ("/users/reset-factors", true) => user_page::reset_factors(s, req, &admin),
        ("/users/remove-passkey", true) => user_page::remove_passkey(s, req, &admin),
        ("/groups", false) => groups::list(s, req, &admin),
        ("/groups", true) => groups::create(s, req, &admin),
        ("/groups/show", false) => groups::show(s, req, &admin),
        ("/groups/update", true) => groups::update(s, req, &admin),
        ("/groups/members/add", true) => groups::add_member(s, req, &admin),
        ("/groups/members/remove", true) => groups::remove_member(s, req, &admin),
        ("/groups/apps", true) => groups::set_app(s, req, &admin),
        ("/groups/delete", false) => groups::confirm_delete(s, req, &admin),
        ("/groups/delete", true) => groups::delete(s, req, &admin),
        ("/groups/api-scopes", true) => groups::set_api_scopes(s, req, &admin),
        ("/apis", false) => apis::list(s, req, &admin),
        ("/apis", true) => apis::create(s, req, &admin),
        ("/apis/delete", false) => apis::confirm_delete(s, req, &admin),
        ("/apis/delete", true) => apis::delete(s, req, &admin),
        ("/experience", false) => experience::show(s, req, &admin),
        ("/experience", true) => experience::save(s, req, &admin),
        ("/experience/reset", true) => experience::reset(s, req, &admin),
        ("/experience/preview", true) => experience::preview(s, req, &admin),
        ("/experience/preview.css", false) => experience::preview_css(req),
        ("/mail", false) => mail::show(s, req, &admin),
        ("/mail/connector", true) => mail::set_connector(s, req, &admin),
        ("/mail/connector/delete", true) => mail::delete_connector(s, req, &admin),
        ("/mail/smtp", true) => mail::set_smtp(s, req, &admin),
        ("/mail/test", true) => mail::test(s, req, &admin).await,
        ("/keys", false) => keys::list(s, req, &admin),
        ("/keys/rotate", false) => keys::confirm_rotate(s, req, &admin),
        ("/keys/rotate", true) => keys::rotate(s, req, &admin),
        ("/audit", false) => audit::list(s, req, &admin),
        ("/api-keys", false) => api_keys::list(s, req, &admin),
        ("/api-keys", true) => api_keys::create(s, req, &admin),
        ("/api-keys/revoke", false) => api_keys::confirm_revoke(s, req, &admin),
        ("/api-keys/revoke", true) => api_keys::revoke(s, req, &admin),
        _ => super::routes::method_not_allowed(&req.method),
    }
}

/// The console's URL for `sub` (`""`, `/apps`, ...).
pub(super) fn url(s: &Server, sub: &str) -> String {
    s.provider.issuer.local(&format!("{}{sub}", paths::CONSOLE))
}

/// The console's URL for `sub` with `?key=value` (the value encoded).
pub(super) fn url_with(s: &Server, sub: &str, key: &str, value: &str) -> String {
    url(s, &path_with(sub, key, value))
}

/// The console path `sub?key=value` (the value URL-encoded), below `/console`: where a
/// re-authentication ([`fresh::require`]) comes back to.
pub(super) fn path_with(sub: &str, key: &str, value: &str) -> String {
    let value: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!("{sub}?{key}={value}")
}

/// Passes [`fresh::require`] when `sensitive`; otherwise `Ok` at once.
pub(super) fn fresh_if(
    sensitive: bool,
    s: &Server,
    req: &Request,
    admin: &Admin,
    back: &str,
) -> Result<(), Box<Response>> {
    if sensitive {
        fresh::require(s, req, admin, back)
    } else {
        Ok(())
    }
}

/// Custom claims as typed in a textarea: a JSON object, or nothing (none). The error says
/// what is wrong and what is expected, for a 422 page.
pub(super) fn claims_typed(text: &str) -> Result<serde_json::Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Default::default());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(format!(
            "Custom claims must be a JSON object, like {{\"team\": \"blue\"}}; this is {}.",
            crate::users::json_kind(&other)
        )),
        Err(e) => Err(format!(
            "Custom claims are not valid JSON ({e}): write an object, like {{\"team\": \"blue\"}}."
        )),
    }
}

/// The CSRF token of the session whose cookie value is `cookie`.
fn csrf_of(cookie: &str) -> String {
    crate::crypto::hash_token(&format!("sesame console form\0{cookie}"))
}

/// The administrator, or the response instead: a sign-in (GET) or back to the console
/// (POST, which changes nothing) without a session, 403 for a non-admin, 403 for a POST
/// without this session's CSRF token.
fn gate<'r>(s: &Server, req: &'r Request, post: bool) -> Result<Admin<'r>, Box<Response>> {
    let cookie = req.cookie(&s.cookies.name(SESSION_COOKIE));
    let signed_in = crate::session::signed_in(&s.provider, cookie, SessionKind::Sesame);
    let (admin, authn) = match (signed_in, cookie) {
        (Ok(Some((session, user))), Some(cookie)) => (
            Admin {
                user,
                cookie,
                auth_time: session.auth_time,
            },
            session.authn(),
        ),
        (Err(e), _) => return Err(Box::new(storage_failure(s, e))),
        _ if post => return Err(Box::new(http::redirect(&url(s, "")))),
        _ => return Err(Box::new(sign_in_first(s, req))),
    };
    if !admin.user.in_group(ADMINS) {
        return Err(Box::new(not_an_admin(s, &admin.user)));
    }
    // A group of the administrator's requires a second factor their sign-in did not give
    // (the policy may have changed since): it is asked for first.
    let needs = s
        .provider
        .store
        .read(|tx| crate::factors::needed(tx, &SignInFor::Console, &admin.user, &authn));
    match needs {
        Ok(false) => {}
        Ok(true) if post => return Err(Box::new(http::redirect(&url(s, "")))),
        Ok(true) => return Err(Box::new(super::routes::step_up(s, req, SignInFor::Console))),
        Err(e) => return Err(Box::new(storage_failure(s, e))),
    }
    if post {
        let given = req.params().first("csrf").unwrap_or("").to_string();
        if !crate::crypto::constant_time_eq(given.as_bytes(), admin.csrf().as_bytes()) {
            return Err(Box::new(bad_csrf(s)));
        }
    }
    Ok(admin)
}

/// A sign-in by email code whose end is the console.
fn sign_in_first(s: &Server, req: &Request) -> Response {
    email_sign_in(s, req, SignInFor::Console)
}

fn not_an_admin(s: &Server, user: &User) -> Response {
    error_pages::error_page(
        s,
        StatusCode::FORBIDDEN,
        "The console is for administrators",
        &format!(
            "Only members of the {ADMINS} group may use the console, and {} is not one of them.",
            user.email
        ),
        "Ask an administrator to add you to the admins group, or sign in with an administrator's account.",
    )
}

/// The form's CSRF token is missing or not this session's: nothing changes.
fn bad_csrf(s: &Server) -> Response {
    error_pages::error_page(
        s,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not the one this page last showed this browser, so nothing was changed.",
        "Open the console again and repeat what you were doing.",
    )
}

/// What a redirect's `?notice=` says.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "app_saved" => "The app is saved.",
        "app_deleted" => "The app is deleted; what it was issued is revoked.",
        "user_added" => "The user is added. They sign in with a code sent to their address.",
        "user_disabled" => {
            "The user is disabled: their sessions ended and their apps' tokens are revoked."
        }
        "user_signed_out" => "The user is signed out everywhere: they must sign in again.",
        "user_enabled" => "The user is enabled: they can sign in again.",
        "user_saved" => "The user is saved.",
        "factors_reset" => {
            "Their authenticator app, recovery codes and passkeys are removed: they can set up new ones on their account page."
        }
        "passkey_removed" => "The passkey is removed: it no longer signs them in.",
        "user_deleted" => {
            "The user is deleted: their sessions ended and their apps' tokens are revoked."
        }
        "group_added" => "The group is created.",
        "group_saved" => "The group is saved.",
        "group_deleted" => "The group is deleted: its members left it.",
        "member_added" => "The member is added to the group.",
        "member_removed" => "The member is taken out of the group.",
        "group_apps_saved" => "The app's allowed groups are saved.",
        "group_api_scopes_saved" => {
            "The group's API scopes are saved: members get them in new access tokens."
        }
        "api_added" => "The API is registered: apps may ask for tokens for it.",
        "api_deleted" => "The API is deleted: no new tokens are issued for it.",
        "experience_saved" => {
            "The sign-in experience is saved: the sign-in pages and emails use it now."
        }
        "experience_reset" => "The sign-in experience is back to what sesame.toml says.",
        "connector_saved" => "The SES connector is saved: mail now goes through Amazon SES.",
        "smtp_saved" => "The SMTP connector is saved: mail now goes through that server.",
        "connector_deleted" => "The connector is removed: mail follows sesame.toml again.",
        "key_rotated" => {
            "A new signing key is active; the old one stays in JWKS until its tokens expire."
        }
        "api_key_revoked" => "The API key is revoked: a program holding it is refused.",
        _ => return None,
    })
}

/// A console page: the context gets the nav's and the forms' common keys.
pub(super) fn console_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    name: &str,
    mut ctx: Value,
) -> Response {
    ctx["console"] = Value::String(url(s, ""));
    ctx["csrf"] = Value::String(admin.csrf());
    ctx["admin_email"] = Value::String(admin.user.email.clone());
    if let Some(n) = req.query().first("notice").and_then(notice_text) {
        ctx["notice"] = Value::String(n.into());
    }
    page(s, status, name, ctx)
}

/// A "delete this?" step, shown by [`confirm_page`] (`console_confirm.html`): what it asks,
/// and the one form field (`key` = `value`) it posts to `action` (a console path).
pub(super) struct Confirm<'a> {
    pub section: &'a str,
    pub title: String,
    pub text: String,
    pub action: &'a str,
    pub key: &'a str,
    pub value: &'a str,
    pub button: String,
    /// "Keep it" goes back here (a full URL).
    pub back_url: String,
}

/// The confirmation page for `c`, with the refusal `error` of a first try if any.
pub(super) fn confirm_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    error: Option<String>,
    c: Confirm,
) -> Response {
    let ctx = serde_json::json!({
        "section": c.section,
        "error": error,
        "title": c.title,
        "text": c.text,
        "action": url(s, c.action),
        "key": c.key,
        "value": c.value,
        "button": c.button,
        "back_url": c.back_url,
    });
    console_page(s, req, admin, status, "console_confirm.html", ctx)
}

/// `ctx` with the keys of `form` (what a refused form had typed) set over it.
pub(super) fn typed_over(mut ctx: Value, form: Value) -> Value {
    for (k, v) in form.as_object().into_iter().flatten() {
        ctx[k] = v.clone();
    }
    ctx
}

/// Runs a command that reads for a page (it takes no input from the page, so any refusal is
/// a failure of the store): its value, or the failure page.
pub(super) fn read(s: &Server, admin: &Admin, command: Command) -> Result<Value, Box<Response>> {
    match run(s, admin, command)? {
        Ok(v) => Ok(v),
        Err(e) => Err(Box::new(storage_failure(s, e))),
    }
}

/// Carries out `command` for the administrator, as the control socket and the API do. A
/// storage failure is the storage page; any other refusal is the command's own words.
pub(super) fn run(
    s: &Server,
    admin: &Admin,
    command: Command,
) -> Result<Result<Value, String>, Box<Response>> {
    let actor = admin.actor();
    let result = tokio::task::block_in_place(|| {
        admin::handle_live(&s.provider, &s.config.mail, &actor, command)
    });
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(AdminError::Store(e)) => Err(Box::new(storage_failure(s, e))),
        Err(e) => Ok(Err(e.to_string())),
    }
}
