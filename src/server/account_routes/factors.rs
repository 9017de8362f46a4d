//! The account page's two-step verification: an authenticator app (set up, confirmed,
//! removed) and recovery codes (regenerated, shown once). The operations are
//! [`crate::factors`]'; this is how the forms reach them.
//!
//! ```text
//!  POST /account/totp/begin ──▶ 303 GET /account/totp (QR code, secret, code form)
//!         ── POST /account/totp/confirm ── wrong: 303 back to /account/totp?error=wrong_code
//!                                        └ right: 303 GET /account/recovery-codes (first app:
//!                                          the new codes, shown once) or /account?notice=
//!  POST /account/recovery-codes ──▶ 303 GET /account/recovery-codes (shown once)
//!  POST /account/totp/remove ──▶ 303 /account?notice=totp_removed
//! ```
//!
//! - Fresh sign-in: every change here, and the setup page (it shows the secret), needs a
//!   session signed in within [`FRESH_FOR`] (the console's ten minutes). Otherwise nothing
//!   changes and the browser goes through the account's email sign-in again, which ends back
//!   on `/account`: a stolen session cookie alone cannot add or remove a factor, nor read a
//!   secret being set up, without the owner's mailbox.
//! - New recovery codes wait for their page in memory, keyed by the session (the console's
//!   shown-once store, [`crate::server::console::reveal`]), taken by the first GET: a reload
//!   shows them no more. Every page here is `Cache-Control: no-store` (as every HTML page).
//! - Forms carry the account page's CSRF token; errors come back as fixed keys.

use super::{account_url, back, bad_csrf, csrf_of, sign_in_first};
use crate::audit::Actor;
use crate::factors::{recovery, totp, FactorError};
use crate::http::cookie::SESSION_COOKIE;
use crate::http::{self, Request, Response};
use crate::server::error_pages::{page, storage_failure};
use crate::server::Server;
use crate::store::{SessionKind, StoreError, User};
use hyper::StatusCode;
use serde_json::json;

pub(super) use crate::server::console::fresh::FRESH_FOR;

/// The key under which new recovery codes wait for their page.
const REVEAL_KEY: &str = "account:recovery-codes";

/// The signed-in user, their session cookie's value, and whether the session is fresh.
struct Signed<'r> {
    user: User,
    cookie: &'r str,
    fresh: bool,
}

/// The signed-in user of `req`, or the response to send instead: the sign-in (no session, or
/// not fresh when `fresh` is asked) or the storage failure.
fn signed<'r>(s: &Server, req: &'r Request, need_fresh: bool) -> Result<Signed<'r>, Box<Response>> {
    let cookie = req.cookie(&s.cookies.name(SESSION_COOKIE));
    let found = crate::session::signed_in(&s.provider, cookie, SessionKind::Sesame)
        .map_err(|e| Box::new(storage_failure(s, e)))?;
    let (Some((session, user)), Some(cookie)) = (found, cookie) else {
        return Err(Box::new(sign_in_first(s, req)));
    };
    let fresh = s.provider.now().saturating_sub(session.auth_time) < FRESH_FOR;
    if need_fresh && !fresh {
        return Err(Box::new(sign_in_first(s, req)));
    }
    Ok(Signed {
        user,
        cookie,
        fresh,
    })
}

/// What the account page's section shows.
pub(super) fn section(
    s: &Server,
    user_id: &str,
    cookie_fresh: bool,
) -> Result<serde_json::Value, StoreError> {
    let (enrolled, pending, remaining) = s.provider.store.read(|tx| {
        Ok((
            totp::enrolled(tx, user_id)?,
            totp::pending(tx, user_id)?,
            recovery::remaining(tx, user_id)?,
        ))
    })?;
    Ok(json!({
        "totp": enrolled,
        "totp_pending": pending,
        "recovery_remaining": remaining,
        "fresh": cookie_fresh,
    }))
}

/// Whether the session behind `req`'s cookie is fresh (for the account page's hint).
pub(super) fn is_fresh(s: &Server, req: &Request) -> bool {
    signed(s, req, false).is_ok_and(|x| x.fresh)
}

/// GET /account/totp: the authenticator app being set up (QR code, secret, code form).
pub(super) fn setup_page(s: &Server, req: &Request) -> Response {
    let me = match signed(s, req, true) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let e = match tokio::task::block_in_place(|| totp::pending_enrolment(&s.provider, &me.user.id))
    {
        Ok(Some(e)) => e,
        Ok(None) => return http::redirect(&account_url(s)),
        Err(e) => return factor_failure(s, e),
    };
    let error = match req.query().first("error") {
        Some("wrong_code") => Some("That code is not right. Enter the code your app shows now (it changes every 30 seconds)."),
        _ => None,
    };
    page(
        s,
        StatusCode::OK,
        "account_totp.html",
        json!({
            "base": account_url(s),
            "csrf": csrf_of(me.cookie),
            "qr_svg": e.qr_svg,
            "secret": e.secret_base32,
            "error": error,
        }),
    )
}

/// GET /account/recovery-codes: new recovery codes, once.
pub(super) fn codes_page(s: &Server, req: &Request) -> Response {
    let me = match signed(s, req, false) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let now = s.provider.now();
    let Some(codes) = s.console_reveals.take(me.cookie, REVEAL_KEY, now) else {
        return back(s, "error", "codes_shown");
    };
    let codes: Vec<&str> = codes.lines().collect();
    page(
        s,
        StatusCode::OK,
        "account_recovery_codes.html",
        json!({ "base": account_url(s), "codes": codes }),
    )
}

/// The POSTs of the section: the session, its CSRF token, then its freshness first.
pub(super) fn form(s: &Server, req: &Request, path: &str) -> Response {
    let me = match signed(s, req, false) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let f = req.params();
    let given = f.first("csrf").unwrap_or("");
    if !crate::crypto::constant_time_eq(given.as_bytes(), csrf_of(me.cookie).as_bytes()) {
        return bad_csrf(s);
    }
    // A form from this page but a session too old for it: sign in again, then repeat it.
    if !me.fresh {
        return sign_in_first(s, req);
    }
    let p = &s.provider;
    let id = me.user.id.as_str();
    let result = tokio::task::block_in_place(|| match path {
        "/totp/begin" => {
            totp::begin(p, id).map(|_| http::redirect(&format!("{}/totp", account_url(s))))
        }
        "/totp/confirm" => match totp::confirm(p, id, f.first("code").unwrap_or("")) {
            Ok(Some(codes)) => Ok(show_codes(s, &me, codes)),
            Ok(None) => Ok(back(s, "notice", "totp_added")),
            Err(FactorError::WrongCode) => Ok(http::redirect(&format!(
                "{}/totp?error=wrong_code",
                account_url(s)
            ))),
            Err(FactorError::NothingToConfirm) => Ok(back(s, "error", "totp_expired")),
            Err(e) => Err(e),
        },
        "/totp/remove" => {
            let actor = Actor::User {
                user_id: id.to_string(),
            };
            totp::remove(p, id, actor).map(|_| back(s, "notice", "totp_removed"))
        }
        "/recovery-codes" => recovery::generate(p, id).map(|codes| show_codes(s, &me, codes)),
        _ => Ok(http::text(StatusCode::NOT_FOUND, "not found\n")),
    });
    result.unwrap_or_else(|e| factor_failure(s, e))
}

/// Keeps `codes` for their page and sends the browser there.
fn show_codes(s: &Server, me: &Signed, codes: Vec<String>) -> Response {
    let now = s.provider.now();
    s.console_reveals
        .put(me.cookie, REVEAL_KEY, codes.join("\n"), now);
    http::redirect(&format!("{}/recovery-codes", account_url(s)))
}

/// A failure no form can fix: the account is gone, or storage failed.
fn factor_failure(s: &Server, e: FactorError) -> Response {
    match e {
        FactorError::Store(e) => storage_failure(s, e),
        _ => http::redirect(&account_url(s)),
    }
}

#[cfg(test)]
mod tests;
