//! The pages of a sign-in's second step, and signing in with a passkey.
//!
//! - `GET /sign-in/second`: asks for a passkey, an authenticator app's code or a recovery code
//!   (whichever the user has); a user with none sets one up here (an authenticator app: its QR
//!   code, then its first code; or a passkey).
//! - `POST /sign-in/second`: a code (`kind=totp|recovery`).
//! - `POST /sign-in/second/totp`: the first code of the authenticator app set up here; the
//!   answer shows the new recovery codes once (rendered from the POST, `no-store`: they exist
//!   nowhere else in the clear), with a link on.
//! - `POST /sign-in/passkey/options` and `/sign-in/second/passkey/options`: the JSON options
//!   for the browser's WebAuthn call, with a fresh challenge (POST: each makes one, and it
//!   needs the sign-in's CSRF token).
//! - `POST /sign-in/passkey`, `/sign-in/second/passkey`: the browser's answer (a JSON text in
//!   the form field `credential`), then where the sign-in goes on.
//!
//! The passkey parts need `passkey.js` (the WebAuthn API is JavaScript only), a file served
//! from sesame under `script-src 'self'`: only pages that offer a passkey carry it, and every
//! code form works without it.

use super::error_pages::page;
use super::signin_routes::{app_name, failure_page, load, next_page, refuse};
use super::Server;
use crate::factors::passkeys;
use crate::http::cookie::SESSION_COOKIE;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::signin::second::{self, CodeKind};
use crate::signin::{self, SignInError, SignedIn, MAX_CODE_TRIES};
use crate::store::{Flash, Interaction, SignInFor};
use hyper::StatusCode;
use serde_json::json;

/// The second step's page for sign-in `id`.
pub fn second_url(st: &Server, id: &str) -> String {
    format!(
        "{}?interaction={id}",
        st.provider.issuer.local(paths::SIGN_IN_SECOND)
    )
}

/// Whether passkeys work with this issuer (its host is a domain name, not an IP address).
pub fn passkeys_available(st: &Server) -> bool {
    passkeys::relying_party(&st.provider.issuer).is_some()
}

/// The sessions a finished sign-in replaces (as the code form's).
fn old_sessions<'r>(st: &Server, req: &'r Request, i: &Interaction) -> Vec<&'r str> {
    let reauth = matches!(i.purpose, SignInFor::Reauth { .. });
    [
        req.cookie(&st.cookies.name(SESSION_COOKIE)),
        req.cookie(&st.cookies.forward_auth_name())
            .filter(|_| !reauth),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Where a finished sign-in goes, with its new session cookie.
fn signed_in(st: &Server, req: &Request, done: SignedIn) -> Response {
    if done.session_cookie.is_empty() {
        return next_page(st, req, done.next);
    }
    let mut r = next_page(st, req, done.next);
    http::set_cookie(
        &mut r,
        st.cookies.set(
            SESSION_COOKIE,
            &done.session_cookie,
            st.provider.tokens.session_ttl,
        ),
    );
    r
}

/// What the second step's page says about the last refused form.
fn second_error(st: &Server, i: &Interaction) -> Option<String> {
    let now = st.provider.now();
    match &i.flash {
        Some(Flash::SecondRefused) => {
            let tries = i.second.as_ref().map_or(0, |s| s.tries);
            let left = MAX_CODE_TRIES.saturating_sub(tries);
            Some(format!(
                "That code is not right. Check your authenticator app (or recovery codes) and try again ({left} {} left).",
                if left == 1 { "try" } else { "tries" }
            ))
        }
        Some(Flash::SecondHeld { until }) if *until > now => Some(format!(
            "Too many wrong codes for this account. Wait {} minutes, or use a passkey.",
            (until - now).div_ceil(60)
        )),
        Some(Flash::PasskeyRefused { reason }) => Some(format!(
            "{}. Try again, or use another way below.",
            capitalise(reason)
        )),
        _ => None,
    }
}

/// `s` with its first letter in capitals (a refusal's reason, as a page's sentence).
pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// GET /sign-in/second.
pub fn page_get(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, false) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let offer = match tokio::task::block_in_place(|| second::offer(&st.provider, &i)) {
        Ok(Some(o)) => o,
        // Not at the second step (yet): the email page.
        Ok(None) => {
            return http::redirect(&format!(
                "{}?interaction={id}",
                st.provider.issuer.local(paths::SIGN_IN)
            ))
        }
        Err(e) => return super::error_pages::storage_failure(st, e),
    };
    let passkeys_ok = passkeys_available(st);
    let enrol = offer.must_enrol();
    let totp_setup = if enrol {
        match tokio::task::block_in_place(|| signin::passkey::enrol_totp(&st.provider, &id)) {
            Ok(e) => Some(json!({"qr_svg": e.qr_svg, "secret": e.secret_base32})),
            Err(e) => return failure_page(st, &id, &i, e),
        }
    } else {
        None
    };
    let passkeys = if passkeys_ok && !offer.passkey_used {
        offer.passkeys
    } else {
        0
    };
    let with_script = passkeys_ok && (offer.may_add_passkey() || passkeys > 0);
    let issuer = &st.provider.issuer;
    let mut r = page(
        st,
        StatusCode::OK,
        "sign_in_second.html",
        json!({
            "interaction": id,
            "csrf": i.csrf,
            "email": offer.email,
            "app_name": app_name(st, &i),
            "error": second_error(st, &i),
            "enrol": enrol,
            "optional": offer.optional,
            "totp": offer.totp,
            "passkeys": passkeys,
            "passkeys_available": passkeys_ok,
            "recovery_codes": offer.recovery_codes,
            "totp_setup": totp_setup,
            "action": issuer.local(paths::SIGN_IN_SECOND),
            "totp_action": issuer.local(paths::SIGN_IN_SECOND_TOTP),
            "passkey_action": issuer.local(paths::SIGN_IN_PASSKEY),
            "passkey_options": issuer.local(paths::SIGN_IN_PASSKEY_OPTIONS),
            "enrol_passkey_action": issuer.local(paths::SIGN_IN_SECOND_PASSKEY),
            "enrol_passkey_options": issuer.local(paths::SIGN_IN_SECOND_PASSKEY_OPTIONS),
            "with_script": with_script,
        }),
    );
    if with_script {
        http::allow_script_files(&mut r);
    }
    r
}

/// Loads the interaction of a form post and checks its CSRF token.
fn posted(st: &Server, req: &Request) -> Result<(String, Interaction), Box<Response>> {
    let (id, i) = load(st, req, true)?;
    if let Err(e) = signin::check_csrf(&i, req.params().first("csrf")) {
        return Err(Box::new(failure_page(st, &id, &i, e)));
    }
    Ok((id, i))
}

/// POST /sign-in/second: an authenticator app's code or a recovery code.
pub fn code_post(st: &Server, req: &Request) -> Response {
    let (id, i) = match posted(st, req) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let form = req.params();
    let old = old_sessions(st, req, &i);
    let kind = match form.first("kind") {
        Some("recovery") => CodeKind::Recovery,
        // "Not now" to the passkey offered.
        Some("skip") => {
            let result = tokio::task::block_in_place(|| {
                second::skip(&st.provider, &id, old.iter().copied())
            });
            return refused_or_on(st, req, &id, &i, result);
        }
        _ => CodeKind::Totp,
    };
    let typed = form.first("code").unwrap_or("");
    let result = tokio::task::block_in_place(|| {
        second::verify(&st.provider, &id, kind, typed, old.iter().copied())
    });
    refused_or_on(st, req, &id, &i, result)
}

/// The end of a second-step form: on to where the sign-in goes, or back to the page saying
/// why not.
fn refused_or_on(
    st: &Server,
    req: &Request,
    id: &str,
    i: &Interaction,
    result: Result<SignedIn, SignInError>,
) -> Response {
    let back = second_url(st, id);
    match result {
        Ok(done) => signed_in(st, req, done),
        Err(SignInError::WrongCode { .. }) => refuse(st, id, Flash::SecondRefused, back),
        Err(SignInError::TooManyCodes { wait }) => {
            let until = st.provider.now() + wait;
            refuse(st, id, Flash::SecondHeld { until }, back)
        }
        Err(SignInError::PasskeyRefused(reason)) => {
            refuse(st, id, Flash::PasskeyRefused { reason }, back)
        }
        Err(e) => failure_page(st, id, i, e),
    }
}

/// POST /sign-in/second/totp: the first code of the authenticator app set up at this step.
pub fn totp_post(st: &Server, req: &Request) -> Response {
    let (id, i) = match posted(st, req) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let typed = req.params().first("code").unwrap_or("").to_string();
    let old = old_sessions(st, req, &i);
    let result = tokio::task::block_in_place(|| {
        signin::passkey::confirm_totp(&st.provider, &id, &typed, old.iter().copied())
    });
    match result {
        Ok((done, Some(codes))) => {
            // The codes exist nowhere else in the clear: shown once, from this answer.
            let on = signed_in(st, req, done);
            let Some(to) = on.headers().get("location").and_then(|v| v.to_str().ok()) else {
                return on;
            };
            let mut r = page(
                st,
                StatusCode::OK,
                "sign_in_recovery_codes.html",
                json!({"codes": codes, "continue_url": to}),
            );
            for c in on.headers().get_all("set-cookie") {
                r.headers_mut().append("set-cookie", c.clone());
            }
            r
        }
        Ok((done, None)) => signed_in(st, req, done),
        Err(e) => refused_or_on(st, req, &id, &i, Err(e)),
    }
}

/// POST /sign-in/passkey/options (`second=1`: the second step's setup): the JSON options for
/// `navigator.credentials.get` or `.create`.
fn options_answer(st: &Server, result: Result<serde_json::Value, SignInError>) -> Response {
    match result {
        Ok(options) => http::json(StatusCode::OK, &options),
        Err(SignInError::Expired) => http::json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "this sign-in has expired: start again from the app"}),
        ),
        Err(e) => {
            tracing::debug!("passkey options refused: {e:?}");
            let _ = st;
            http::json(
                StatusCode::BAD_REQUEST,
                &json!({"error": "a passkey cannot be used for this sign-in"}),
            )
        }
    }
}

/// POST /sign-in/passkey/options.
pub fn options_post(st: &Server, req: &Request) -> Response {
    let (id, _) = match posted(st, req) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let result = tokio::task::block_in_place(|| signin::passkey::options(&st.provider, &id));
    options_answer(st, result)
}

/// POST /sign-in/second/passkey/options.
pub fn enrol_options_post(st: &Server, req: &Request) -> Response {
    let (id, _) = match posted(st, req) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let product = st.provider.experience().branding.product_name().to_string();
    let result =
        tokio::task::block_in_place(|| signin::passkey::enrol_options(&st.provider, &id, &product));
    options_answer(st, result)
}

/// Where a refused passkey sends the browser back to: the second step's page, or the email
/// page where the sign-in began.
fn passkey_back(st: &Server, id: &str, i: &Interaction) -> String {
    match i.second {
        Some(_) => second_url(st, id),
        None => format!(
            "{}?interaction={id}",
            st.provider.issuer.local(paths::SIGN_IN)
        ),
    }
}

/// The browser's passkey answer posted to a sign-in's form, handed to `core` (with the
/// sessions the sign-in replaces), with the sign-in's ID and state.
fn with_credential<T>(
    st: &Server,
    req: &Request,
    core: impl FnOnce(&str, &str, Vec<&str>) -> T,
) -> Result<(String, Interaction, T), Box<Response>> {
    let (id, i) = posted(st, req)?;
    let credential = req.params().first("credential").unwrap_or("").to_string();
    let old = old_sessions(st, req, &i);
    let result = tokio::task::block_in_place(|| core(&id, &credential, old));
    Ok((id, i, result))
}

/// POST /sign-in/passkey: a passkey's answer, alone or at the second step.
pub fn passkey_post(st: &Server, req: &Request) -> Response {
    let p = &st.provider;
    let answered = with_credential(st, req, |id, credential, old| {
        signin::passkey::verify(p, id, credential, old)
    });
    let (id, i, result) = match answered {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match result {
        Ok(done) => signed_in(st, req, done),
        Err(SignInError::PasskeyRefused(reason)) => refuse(
            st,
            &id,
            Flash::PasskeyRefused { reason },
            passkey_back(st, &id, &i),
        ),
        Err(e) => failure_page(st, &id, &i, e),
    }
}

/// POST /sign-in/second/passkey: the passkey set up at the second step.
pub fn enrol_passkey_post(st: &Server, req: &Request) -> Response {
    let p = &st.provider;
    let answered = with_credential(st, req, |id, credential, old| {
        signin::passkey::enrol(p, id, credential, old)
    });
    match answered {
        Ok((id, i, result)) => refused_or_on(st, req, &id, &i, result),
        Err(r) => *r,
    }
}
