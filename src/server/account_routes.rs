//! The account page (`/account`): any signed-in user sees and changes their own account. Each
//! handler finds the session, checks the form's CSRF token, calls [`crate::account`] (or
//! [`crate::signin`] for the new address's code), and redirects back (Post/Redirect/Get).
//!
//! - No session: a sign-in starts ([`SignInFor::Account`]) that ends back here; the return
//!   target is fixed, never taken from the request.
//! - CSRF: every form carries a token derived from the session cookie's value (a hash of it
//!   under its own label), so it is bound to the session, needs no storage, and another site
//!   cannot compute it. Missing or wrong: a 403 page, nothing changes.
//! - What a redirect says comes from a fixed list of keys (`?notice=`, `?error=`), worded
//!   here; no request text is echoed.
//! - A new email address: the form starts a [`SignInFor::ChangeEmail`] sign-in (bound to this
//!   browser like any other) and mails its code; the code form posts to `/account/email/code`.

use super::error_pages::{self, page, storage_failure};
use super::routes::{email_sign_in, start_sign_in};
use super::Server;
use crate::account::AccountView;
use crate::http::cookie::SESSION_COOKIE;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::signin::{self, SignInError, MAX_CODE_TRIES};
use crate::store::{Flash, SessionKind, SignInFor, User};
use crate::users::UserError;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

mod factors;
mod passkeys;

/// Whether `path` is one of the account page's.
pub fn handles(path: &str) -> bool {
    path == paths::ACCOUNT || path.starts_with("/account/")
}

/// Routes `/account` and the forms under it.
pub async fn route(s: &Server, req: &Request) -> Response {
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    match req.path.strip_prefix(paths::ACCOUNT).unwrap_or("") {
        "" if get => account_page(s, req),
        "/email" if get => email_code_page(s, req),
        "/email/code" if post => email_code_submit(s, req),
        path if post && passkeys::handles(path) => passkeys::route(s, req, path),
        "/totp" if get => factors::setup_page(s, req),
        "/recovery-codes" if get => factors::codes_page(s, req),
        path @ ("/totp/begin" | "/totp/confirm" | "/totp/remove" | "/recovery-codes") if post => {
            factors::form(s, req, path)
        }
        "/profile" | "/email" | "/sessions/end" | "/apps/revoke" | "/sign-out-everywhere"
            if post =>
        {
            form(s, req).await
        }
        ""
        | "/email"
        | "/email/code"
        | "/profile"
        | "/sessions/end"
        | "/apps/revoke"
        | "/sign-out-everywhere"
        | "/totp"
        | "/totp/begin"
        | "/totp/confirm"
        | "/totp/remove"
        | "/recovery-codes" => super::routes::method_not_allowed(&req.method),
        _ => http::text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn account_url(s: &Server) -> String {
    s.provider.issuer.local(paths::ACCOUNT)
}

/// The CSRF token of the session whose cookie value is `cookie`.
fn csrf_of(cookie: &str) -> String {
    crate::crypto::hash_token(&format!("sesame account form\0{cookie}"))
}

/// The signed-in user and their session cookie's value, or `None`.
fn signed_in<'r>(s: &Server, req: &'r Request) -> Result<Option<(User, &'r str)>, Box<Response>> {
    let cookie = req.cookie(&s.cookies.name(SESSION_COOKIE));
    match crate::session::signed_in(&s.provider, cookie, SessionKind::Sesame) {
        Ok(Some((_, user))) => Ok(cookie.map(|c| (user, c))),
        Ok(None) => Ok(None),
        Err(e) => Err(Box::new(storage_failure(s, e))),
    }
}

/// GET /account: the page, or a sign-in that comes back to it.
fn account_page(s: &Server, req: &Request) -> Response {
    let (user, cookie) = match signed_in(s, req) {
        Ok(Some(x)) => x,
        Ok(None) => return sign_in_first(s, req),
        Err(r) => return *r,
    };
    // A group of the user's requires a second factor their sign-in did not give: first.
    let session = crate::session::current(&s.provider, Some(cookie));
    let needs = session.and_then(|session| {
        let authn = session
            .map(|x| x.authn())
            .unwrap_or_else(|| crate::store::Authn::email_code(0));
        s.provider
            .store
            .read(|tx| crate::factors::needed(tx, &SignInFor::Account, &user, &authn))
    });
    match needs {
        Ok(false) => {}
        Ok(true) => return super::routes::step_up(s, req, SignInFor::Account),
        Err(e) => return storage_failure(s, e),
    }
    let now = s.provider.now();
    let view = match crate::account::view(&s.provider.store, now, &user.id, Some(cookie)) {
        Ok(Some(v)) => v,
        Ok(None) => return sign_in_first(s, req),
        Err(e) => return storage_failure(s, e),
    };
    let q = req.query();
    let sessions = sessions_json(&view);
    let apps = apps_json(&view);
    let two_step = match factors::section(s, &user.id, factors::is_fresh(s, req)) {
        Ok(x) => x,
        Err(e) => return storage_failure(s, e),
    };
    let passkeys_list = match passkeys::list_json(s, &user.id) {
        Ok(x) => x,
        Err(e) => return storage_failure(s, e),
    };
    let mut r = page(
        s,
        StatusCode::OK,
        "account.html",
        json!({
            "base": account_url(s),
            "csrf": csrf_of(cookie),
            "email": view.user.email,
            "name": view.user.name,
            "username": view.user.username,
            "declared": view.user.declared,
            "sessions": sessions,
            "apps": apps,
            "two_step": two_step,
            "passkeys": passkeys_list,
            "passkey": passkeys::page_json(s),
            "fresh_minutes": factors::FRESH_FOR / 60,
            "notice": q.first("notice").and_then(notice_text),
            "error": q.first("error").and_then(error_text),
        }),
    );
    // The passkey form's script (the WebAuthn API is JavaScript only).
    if passkeys::relying_party_ok(s) {
        http::allow_script_files(&mut r);
    }
    r
}

/// The account's live sessions as the pages show them (the account page, and the console's
/// page of a user).
pub(super) fn sessions_json(view: &AccountView) -> Vec<Value> {
    view.sessions
        .iter()
        .map(|x| {
            json!({
                "id": x.id,
                "kind": match x.kind { SessionKind::Sesame => "sesame", SessionKind::ForwardAuth => "forward_auth" },
                "current": x.current,
                "signed_in": crate::clock::utc(x.auth_time),
                "until": crate::clock::utc(x.expires_at),
            })
        })
        .collect()
}

/// The apps holding the account's live tokens, as the pages show them.
pub(super) fn apps_json(view: &AccountView) -> Vec<Value> {
    view.apps
        .iter()
        .map(|(a, name)| {
            json!({
                "client_id": a.client_id,
                "name": name,
                "last_sign_in": crate::clock::utc(a.last_sign_in),
                "scope": a.scope.join(" "),
            })
        })
        .collect()
}

/// A sign-in by email code whose end is the account page.
fn sign_in_first(s: &Server, req: &Request) -> Response {
    email_sign_in(s, req, SignInFor::Account)
}

fn notice_text(key: &str) -> Option<&'static str> {
    if let Some(t) = passkeys::text(key) {
        return Some(t);
    }
    Some(match key {
        "saved" => "Your profile is saved.",
        "email_changed" => "Your email address is changed.",
        "session_ended" => "That session is signed out.",
        "app_revoked" => "The app's access is revoked: it must ask you to sign in again.",
        "totp_added" => {
            "Your authenticator app is set up: sign-ins that ask for a second step take its codes."
        }
        "totp_removed" => "Your authenticator app is removed: its codes no longer work here.",
        _ => return None,
    })
}

fn error_text(key: &str) -> Option<&'static str> {
    if let Some(t) = passkeys::text(key) {
        return Some(t);
    }
    Some(match key {
        "username_taken" => "That username is taken by another account. Choose another.",
        "username_invalid" => "A username may have only letters, digits, dot, underscore and hyphen, up to 64 characters.",
        "declared" => "This account is defined in the server's configuration file: ask the administrator to change it there.",
        "email_invalid" => "That is not an email address. Check it and try again.",
        "email_taken" => "Another account uses that email address.",
        "email_wait" => "A code was sent to that address moments ago, or it has had its codes for now. Wait a few minutes and try again.",
        "email_held" => "Mail is being held back for a moment. Try again in a few minutes.",
        "email_failed" => "The code could not be sent: the mail server did not accept it. Try again later.",
        "email_expired" => "That email change has expired. Ask for a new code.",
        "codes_shown" => "Those recovery codes were shown once already. If you did not save them, make new ones.",
        "totp_expired" => "That setup is no longer in progress. Start again with \"Set up an authenticator app\".",
        _ => return None,
    })
}

fn back(s: &Server, key: &str, value: &str) -> Response {
    http::redirect(&format!("{}?{key}={value}", account_url(s)))
}

/// The form's CSRF token is missing or not this session's: nothing changes.
fn bad_csrf(s: &Server) -> Response {
    error_pages::error_page(
        s,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not the one this page last showed this browser, so nothing was changed.",
        "Open your account page again and repeat what you were doing.",
    )
}

/// The POSTs that act on the account: checked for a session and its CSRF token first.
async fn form(s: &Server, req: &Request) -> Response {
    let (user, cookie) = match signed_in(s, req) {
        Ok(Some(x)) => x,
        // No session (it ended, or never was): nothing to change; sign in and try again.
        Ok(None) => return http::redirect(&account_url(s)),
        Err(r) => return *r,
    };
    let f = req.params();
    let given = f.first("csrf").unwrap_or("");
    if !crate::crypto::constant_time_eq(given.as_bytes(), csrf_of(cookie).as_bytes()) {
        return bad_csrf(s);
    }
    let path = req.path.strip_prefix(paths::ACCOUNT).unwrap_or("");
    if path == "/email" {
        return new_email(s, req, &user, f.first("email").unwrap_or("")).await;
    }
    let store = &s.provider.store;
    let now = s.provider.now();
    let result = tokio::task::block_in_place(|| match path {
        "/profile" => profile(s, &user, f.first("name"), f.first("username")),
        "/sessions/end" => {
            let id = f.first("session").unwrap_or("");
            let ended = crate::account::end_session(store, now, &user.id, id);
            ended.map(|_| {
                if crate::crypto::hash_token(cookie) == id {
                    signed_out(s, req)
                } else {
                    back(s, "notice", "session_ended")
                }
            })
        }
        "/apps/revoke" => {
            let client_id = f.first("client_id").unwrap_or("");
            crate::account::revoke_app(store, now, &user.id, client_id)
                .map(|_| back(s, "notice", "app_revoked"))
        }
        "/sign-out-everywhere" => {
            crate::account::sign_out_everywhere(store, now, &user.id).map(|_| signed_out(s, req))
        }
        _ => Ok(http::text(StatusCode::NOT_FOUND, "not found\n")),
    });
    result.unwrap_or_else(|e| storage_failure(s, e))
}

/// The session cookie goes (and forward-auth's); to the root page, which offers to sign in.
fn signed_out(s: &Server, req: &Request) -> Response {
    let mut r = http::redirect(&s.provider.issuer.local("/"));
    http::set_cookie(&mut r, s.cookies.clear(SESSION_COOKIE));
    super::forward_auth_routes::sign_out(s, req, &mut r);
    r
}

fn profile(
    s: &Server,
    user: &User,
    name: Option<&str>,
    username: Option<&str>,
) -> Result<Response, crate::store::StoreError> {
    let now = s.provider.now();
    let name: String = name.unwrap_or("").trim().chars().take(200).collect();
    let username = username.unwrap_or("");
    match crate::account::update_profile(&s.provider.store, now, &user.id, &name, username) {
        Ok(_) => Ok(back(s, "notice", "saved")),
        Err(UserError::Store(e)) => Err(e),
        Err(e) => Ok(back(s, "error", profile_error(&e))),
    }
}

fn profile_error(e: &UserError) -> &'static str {
    match e {
        UserError::DuplicateUsername(_) => "username_taken",
        UserError::Declared(_) => "declared",
        _ => "username_invalid",
    }
}

/// POST /account/email: mails a code to the new address, then shows the code form.
async fn new_email(s: &Server, req: &Request, user: &User, typed: &str) -> Response {
    if user.declared {
        return back(s, "error", "declared");
    }
    let email = match crate::account::check_new_email(&s.provider.store, &user.id, typed) {
        Ok(e) => e,
        Err(UserError::Store(e)) => return storage_failure(s, e),
        Err(UserError::DuplicateEmail(_)) => return back(s, "error", "email_taken"),
        Err(_) => return back(s, "error", "email_invalid"),
    };
    let purpose = SignInFor::ChangeEmail {
        user_id: user.id.clone(),
    };
    let (id, cookie) = match start_sign_in(s, req, purpose) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let client = super::limited::client(s, req);
    let mut r = match signin::send_code(&s.provider, &id, &email, client).await {
        Ok(()) => http::redirect(&email_code_url(s, &id)),
        Err(e) => back(s, "error", send_error(&e)),
    };
    http::set_cookie(&mut r, cookie);
    r
}

fn send_error(e: &SignInError) -> &'static str {
    match e {
        SignInError::ResendTooSoon { .. } | SignInError::TooManyCodes { .. } => "email_wait",
        SignInError::ClientMailBudget { .. }
        | SignInError::GlobalMailBudget { .. }
        | SignInError::TooManyAddresses { .. } => "email_held",
        SignInError::Disabled => "email_taken",
        SignInError::Expired => "email_expired",
        _ => "email_failed",
    }
}

fn email_code_url(s: &Server, id: &str) -> String {
    format!("{}/email?interaction={id}", account_url(s))
}

/// The email change `id` of this browser and of the signed-in user, or the page saying why
/// not.
fn load_change(
    s: &Server,
    req: &Request,
    id: &str,
) -> Result<(crate::store::Interaction, String), Box<Response>> {
    let (user, cookie) = match signed_in(s, req) {
        Ok(Some(x)) => x,
        Ok(None) => return Err(Box::new(http::redirect(&account_url(s)))),
        Err(r) => return Err(r),
    };
    let browser = req.cookie(&s.cookies.name(crate::http::cookie::INTERACTION_COOKIE));
    let i = match signin::load(&s.provider, id, browser) {
        Ok(i) => i,
        Err(SignInError::Store(e)) => return Err(Box::new(storage_failure(s, e))),
        Err(_) => return Err(Box::new(back(s, "error", "email_expired"))),
    };
    match &i.purpose {
        SignInFor::ChangeEmail { user_id } if *user_id == user.id && i.code.is_some() => {
            Ok((i, csrf_of(cookie)))
        }
        _ => Err(Box::new(back(s, "error", "email_expired"))),
    }
}

/// GET /account/email?interaction=ID: the new address's code form.
fn email_code_page(s: &Server, req: &Request) -> Response {
    let id = req.query().first("interaction").unwrap_or("").to_string();
    let (i, csrf) = match load_change(s, req, &id) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let error = match (&i.flash, &i.code) {
        (Some(Flash::CodeRefused), Some(pc)) => Some(if pc.tries >= MAX_CODE_TRIES {
            "Too many wrong tries: this code no longer works. Go back and ask for a new one."
                .to_string()
        } else if s.provider.now() >= pc.expires_at {
            "This code has expired. Go back and ask for a new one.".to_string()
        } else {
            let left = MAX_CODE_TRIES - pc.tries;
            format!("That code is not right. Check the latest email and try again ({left} left).")
        }),
        _ => None,
    };
    page(
        s,
        StatusCode::OK,
        "account_email_code.html",
        json!({
            "action": format!("{}/email/code", account_url(s)),
            "interaction": id,
            "csrf": csrf,
            "email": i.code.as_ref().map(|c| c.email.clone()),
            "error": error,
            "account_url": account_url(s),
        }),
    )
}

/// POST /account/email/code: the right code changes the address; a wrong one counts a try.
fn email_code_submit(s: &Server, req: &Request) -> Response {
    let f = req.params();
    let id = f.first("interaction").unwrap_or("").to_string();
    let (_, csrf) = match load_change(s, req, &id) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let given = f.first("csrf").unwrap_or("");
    if !crate::crypto::constant_time_eq(given.as_bytes(), csrf.as_bytes()) {
        return bad_csrf(s);
    }
    let typed = f.first("code").unwrap_or("");
    let result = tokio::task::block_in_place(|| signin::verify_code(&s.provider, &id, typed, []));
    match result {
        Ok(_) => back(s, "notice", "email_changed"),
        Err(SignInError::WrongCode { .. } | SignInError::CodeVoid | SignInError::CodeExpired) => {
            match signin::set_flash(&s.provider, &id, Some(Flash::CodeRefused)) {
                Ok(()) => http::redirect(&email_code_url(s, &id)),
                Err(e) => storage_failure(s, e),
            }
        }
        Err(SignInError::Store(e)) => storage_failure(s, e),
        Err(e @ SignInError::EmailChangeRefused(_)) => error_pages::sign_in(s, e, None),
        Err(_) => back(s, "error", "email_expired"),
    }
}

/// GET /setup?token=T: first run's one-time link. Right and within its hour, it is used up and
/// a sign-in starts whose user becomes the first administrator (if there is still none).
pub fn setup(s: &Server, req: &Request) -> Response {
    use crate::signin::setup::SetupError;
    let token = req.query().first("token").unwrap_or("");
    match s.setup.take(token, s.provider.now()) {
        Ok(()) => email_sign_in(s, req, SignInFor::FirstAdmin),
        Err(e) => {
            let message = match e {
                SetupError::Expired => "This setup link is more than an hour old.",
                SetupError::NoneOrUsed | SetupError::Wrong => {
                    "This setup link has been used already, or is not the one this server printed."
                }
            };
            error_pages::error_page(
                s,
                StatusCode::NOT_FOUND,
                "This setup link does not work",
                message,
                "Restart the server while it has no administrator to print a new link, or run `sesame user add you@example.com --admin`.",
            )
        }
    }
}
