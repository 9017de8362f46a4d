//! Recent authentication before a sensitive action: rotating an app's secret, creating an API
//! key, adding an administrator, changing the mail connector, deleting a user, resetting a
//! user's two-step verification, removing a user's passkey. Each such handler
//! calls [`require`] first (after the console's gate: signed in, an administrator, the form's
//! CSRF token right).
//!
//! ```text
//!  POST sensitive ──▶ session's auth_time within FRESH_FOR? ── yes ──▶ the action
//!                            │ no: nothing changes
//!                            ▼
//!     a re-authentication starts (SignInFor::Reauth { the admin, back }), bound to this browser
//!                            ▼
//!  303 GET /console/confirm?interaction= ── "Confirm it's you": Send a code (to the admin's
//!                            │              own address, the only one the sign-in accepts)
//!                            ▼
//!         the usual code page ── right code ──▶ a new session (auth_time = now) ──▶ 303 `back`
//! ```
//!
//! Why so:
//! - Ten minutes ([`FRESH_FOR`]): the window the issue asks for; long enough for a few changes
//!   in a row, short enough that a browser left signed in cannot make them.
//! - The code goes only to the signed-in account's own address, and only that address's code is
//!   accepted (`signin::reserve_code` and `verify_code` both check): a person at an unlocked
//!   browser who owns another mailbox cannot satisfy it.
//! - The sign-in ends on `back`, a console page chosen by the handler (with an ID it read from
//!   the form, URL-encoded below `/console`): never a URL from the request. The action is not
//!   replayed: the admin sees the page again and repeats it, knowingly.
//! - The new session replaces the old (as every sign-in does), so the console's CSRF tokens and
//!   shown-once secrets of the old session end with it; the forward-auth session stays.

use super::{console_page, Admin};
use crate::http::cookie::INTERACTION_COOKIE;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::server::routes::start_sign_in;
use crate::server::{error_pages, Server};
use crate::signin::{self, SignInError};
use crate::store::SignInFor;
use hyper::StatusCode;
use serde_json::json;

/// How long after a sign-in a sensitive action needs no fresh code, in seconds.
pub const FRESH_FOR: u64 = 10 * 60;

/// `Ok` when the administrator signed in within the last [`FRESH_FOR`] seconds; otherwise the
/// response to send instead (nothing has changed): a re-authentication for this administrator
/// that ends on the console page `back` (a path below `/console`, such as
/// `"/apps/show?id=..."`, chosen by the handler, never taken from a URL in the request).
pub(super) fn require(
    s: &Server,
    req: &Request,
    admin: &Admin,
    back: &str,
) -> Result<(), Box<Response>> {
    if s.provider.now().saturating_sub(admin.auth_time) < FRESH_FOR {
        return Ok(());
    }
    let purpose = SignInFor::Reauth {
        user_id: admin.user.id.clone(),
        back: back.to_string(),
    };
    let (id, cookie) = start_sign_in(s, req, purpose)?;
    let mut r = http::redirect(&format!("{}?interaction={id}", super::url(s, "/confirm")));
    http::set_cookie(&mut r, cookie);
    Err(Box::new(r))
}

/// GET /console/confirm?interaction=: "Confirm it's you", offering to send a code to the
/// administrator's own address (the form posts to the sign-in's email step).
pub(super) fn confirm_page(s: &Server, req: &Request, admin: &Admin) -> Response {
    let id = req.query().first("interaction").unwrap_or("").to_string();
    let browser = req.cookie(&s.cookies.name(INTERACTION_COOKIE));
    let i = match signin::load(&s.provider, &id, browser) {
        Ok(i) => i,
        Err(SignInError::Store(e)) => return error_pages::storage_failure(s, e),
        Err(e) => return error_pages::sign_in(s, e, None),
    };
    let back = match &i.purpose {
        SignInFor::Reauth { user_id, back } if *user_id == admin.user.id => back,
        // Another account's, or not a re-authentication: nothing to confirm here.
        _ => return error_pages::sign_in(s, SignInError::Expired, None),
    };
    let ctx = json!({
        "section": "",
        "action": s.provider.issuer.local(paths::SIGN_IN),
        "interaction": id,
        "sign_in_csrf": i.csrf,
        "email": admin.user.email,
        "minutes": FRESH_FOR / 60,
        "back_url": super::url(s, back),
    });
    console_page(s, req, admin, StatusCode::OK, "console_fresh.html", ctx)
}

#[cfg(test)]
pub(crate) mod tests;
