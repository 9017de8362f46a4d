//! The device flow's endpoints (RFC 8628) and the pushed authorization request endpoint
//! (RFC 9126) as HTTP says them. The protocol is `oidc::device` and `oidc::par`.
//!
//! The device page, for a person (no script, PRG, CSRF on the form):
//!
//! ```text
//!   GET /device[?user_code=X] ── no session ──▶ email sign-in (SignInFor::Device) ──▶ back here
//!        │ session, no code: the code form (a GET form: looking a code up changes nothing)
//!        │ session, a code (counted: limits.device_codes_per_minute): the app, its scopes, and
//!        │   Approve / Deny (a click is always needed, even from verification_uri_complete:
//!        │   RFC 8628 §5.4), or the form again saying the code is not right
//!   POST /device (csrf, user_code, decision; counted too) ──▶ 303 /device?done=approved|...
//! ```

use super::error_pages::{page, storage_failure};
use super::routes::{email_sign_in, with_client};
use super::Server;
use crate::http::cookie::SESSION_COOKIE;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::oidc::device::{self, Decided};
use crate::oidc::par;
use crate::store::{SessionKind, SignInFor};
use hyper::StatusCode;
use serde_json::json;

/// POST /device/code: a device asks for a device code and a user code.
pub fn device_authorization(s: &Server, req: &Request) -> Response {
    with_client(s, req, |app, params| {
        device::start(&s.provider, app, params).map(|body| http::json(StatusCode::OK, &body))
    })
}

/// POST /par: a client pushes an authorization request; 201 with its `request_uri`.
pub fn pushed_authorization_request(s: &Server, req: &Request) -> Response {
    with_client(s, req, |app, params| {
        par::push(&s.provider, app, params).map(|body| http::json(StatusCode::CREATED, &body))
    })
}

/// The device page's URL, with a (normalised) user code when there is one.
pub fn page_url(s: &Server, user_code: &str) -> String {
    let base = s.provider.issuer.local(paths::DEVICE);
    if user_code.is_empty() {
        return base;
    }
    // A normalised code is letters only: nothing to escape.
    format!("{base}?user_code={}", device::display_user_code(user_code))
}

/// The CSRF token of the device form for the session whose cookie value is `cookie`.
fn csrf_of(cookie: &str) -> String {
    crate::crypto::hash_token(&format!("sesame device form\0{cookie}"))
}

/// GET /device.
pub fn device_page(s: &Server, req: &Request) -> Response {
    let q = req.query();
    if let Some(done) = q.first("done") {
        return done_page(s, done);
    }
    let typed = q.first("user_code").map(str::to_string);
    let code = typed.as_deref().and_then(device::normalize_user_code);
    let cookie = req.cookie(&s.cookies.name(SESSION_COOKIE));
    let user = match crate::session::signed_in(&s.provider, cookie, SessionKind::Sesame) {
        Err(e) => return storage_failure(s, e),
        Ok(None) => {
            let user_code = code.unwrap_or_default();
            return email_sign_in(s, req, SignInFor::Device { user_code });
        }
        Ok(Some((_, user))) => user,
    };
    let Some(typed) = typed else {
        return entry_page(s, None, None);
    };
    if let Err(r) = super::limited::check(s, req, crate::limits::Kind::DeviceCode) {
        return *r;
    }
    let Some(code) = code else {
        let why =
            "That is not a device code: it has 8 letters, like BCDF-GHJK. Check it on your device.";
        return entry_page(s, Some(&typed), Some(why));
    };
    match device::lookup(&s.provider, &code) {
        Err(e) => storage_failure(s, e),
        Ok(None) => entry_page(
            s,
            Some(&typed),
            Some("No sign-in is waiting for this code. Check it, or start again on your device: codes last 10 minutes and work once."),
        ),
        Ok(Some(r)) => page(
            s,
            StatusCode::OK,
            "device.html",
            json!({
                "action": s.provider.issuer.local(paths::DEVICE),
                "csrf": csrf_of(cookie.unwrap_or_default()),
                "email": user.email,
                "request": {
                    "user_code": r.user_code,
                    "app_name": r.app_name,
                    "scopes": r.scope.iter().filter_map(|s| scope_words(s)).collect::<Vec<_>>(),
                },
            }),
        ),
    }
}

/// What a scope gives the device, in a person's words (`None`: nothing worth saying).
fn scope_words(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "who you are (your account's ID)",
        "profile" => "your name, username and picture",
        "email" => "your email address",
        "groups" => "the groups you are in",
        "offline_access" => "to stay signed in until you sign it out",
        _ => return None,
    })
}

/// The code form, with what was typed and why it did not work.
fn entry_page(s: &Server, typed: Option<&str>, error: Option<&str>) -> Response {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut ctx = json!({ "action": s.provider.issuer.local(paths::DEVICE) });
    if let Some(t) = typed {
        ctx["user_code"] = json!(t);
    }
    if let Some(e) = error {
        ctx["error"] = json!(e);
    }
    page(s, status, "device.html", ctx)
}

/// After a decision: what it came to (the query names one of a fixed set; nothing is echoed).
fn done_page(s: &Server, done: &str) -> Response {
    let (title, message) = match done {
        "approved" => ("Device signed in", "Your device is signing in now. You can close this page."),
        "denied" => ("Sign-in denied", "The device was not signed in. If you did not start this, nothing else is needed."),
        "not_allowed" => ("Your account can't use this app", "Your account is not in a group allowed to use this app, so the device was not signed in. Ask the administrator if you need it."),
        _ => ("This code no longer works", "The sign-in expired or was already decided. Start again on your device."),
    };
    page(
        s,
        StatusCode::OK,
        "device.html",
        json!({
            "action": s.provider.issuer.local(paths::DEVICE),
            "done": { "title": title, "message": message },
        }),
    )
}

/// POST /device: Approve or Deny.
pub fn device_submit(s: &Server, req: &Request) -> Response {
    let here = s.provider.issuer.local(paths::DEVICE);
    let cookie = req.cookie(&s.cookies.name(SESSION_COOKIE));
    let (session, user) = match crate::session::signed_in(&s.provider, cookie, SessionKind::Sesame)
    {
        Err(e) => return storage_failure(s, e),
        // Signed out meanwhile: the page starts over (nothing was decided).
        Ok(None) => return http::redirect(&here),
        Ok(Some(found)) => found,
    };
    let form = req.params();
    let given = form.first("csrf").unwrap_or_default();
    let expected = csrf_of(cookie.unwrap_or_default());
    if !crate::crypto::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return super::error_pages::error_page(
            s,
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form was not sent from this sign-in's device page, so nothing was decided.",
            "Open the device page again and enter the code.",
        );
    }
    if let Err(r) = super::limited::check(s, req, crate::limits::Kind::DeviceCode) {
        return *r;
    }
    let Some(code) = form
        .first("user_code")
        .and_then(device::normalize_user_code)
    else {
        return http::redirect(&format!("{here}?done=gone"));
    };
    let approve = form.first("decision") == Some("approve");
    let decided = tokio::task::block_in_place(|| {
        device::decide(&s.provider, &code, &user, session.auth_time, approve)
    });
    let done = match decided {
        Err(e) => return storage_failure(s, e),
        Ok(Decided::Approved) => "approved",
        Ok(Decided::Denied) => "denied",
        Ok(Decided::NotAllowed) => "not_allowed",
        Ok(Decided::Gone) => "gone",
    };
    http::redirect(&format!("{here}?done={done}"))
}
