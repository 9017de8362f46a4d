//! The sign-in pages: the email form, the code form, and "continue as X?" for
//! `prompt=select_account`. Each handler loads the interaction, checks the browser binding and
//! CSRF token, calls [`crate::signin`], and renders the result.
//!
//! Post/Redirect/Get: a form post never renders a page. A refused form stores why in the
//! interaction ([`Flash`]) and redirects (303) to its page, whose GET words the message from
//! the sign-in's current state; so a reload shows the page again instead of resubmitting.

use super::error_pages::{self, page, WayOn};
use super::Server;
use crate::http::cookie::{INTERACTION_COOKIE, SESSION_COOKIE};
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::oidc::authorize::web_origin;
use crate::signin::{self, Email, Next, SignInError, MAX_CODE_TRIES};
use crate::store::{Flash, Interaction, MailBudget, Reads, SignInFor};
use hyper::StatusCode;
use serde_json::json;

/// What the code page says above the form after a redirect (never echoes request text).
const NOTICE_RESENT: &str = "resent";

/// What the sign-in is for, as the pages name it: the app, or the host of the page behind the
/// proxy.
pub(super) fn app_name(st: &Server, i: &Interaction) -> Option<String> {
    match &i.purpose {
        SignInFor::App(request) => st
            .provider
            .store
            .read(|tx| tx.app(&request.client_id))
            .ok()
            .flatten()
            .map(|a| a.name),
        SignInFor::ReturnTo(url) => url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string)),
        SignInFor::Account | SignInFor::ChangeEmail { .. } | SignInFor::FirstAdmin => {
            Some("your account".into())
        }
        SignInFor::Console | SignInFor::Reauth { .. } => Some("the console".into()),
        SignInFor::Device { .. } => Some("your device".into()),
    }
}

fn code_url(st: &Server, id: &str, notice: Option<&str>) -> String {
    let mut u = format!(
        "{}?interaction={id}",
        st.provider.issuer.local(paths::SIGN_IN_CODE)
    );
    if let Some(n) = notice {
        u.push_str("&notice=");
        u.push_str(n);
    }
    u
}

fn email_url(st: &Server, id: &str) -> String {
    format!(
        "{}?interaction={id}",
        st.provider.issuer.local(paths::SIGN_IN)
    )
}

/// Loads the interaction named by the request, or the page explaining why not.
pub(super) fn load(
    st: &Server,
    req: &Request,
    from_form: bool,
) -> Result<(String, Interaction), Box<Response>> {
    let params = if from_form { req.params() } else { req.query() };
    let id = params.first("interaction").unwrap_or("").to_string();
    match signin::load(
        &st.provider,
        &id,
        req.cookie(&st.cookies.name(INTERACTION_COOKIE)),
    ) {
        Ok(i) => Ok((id, i)),
        Err(SignInError::WrongBrowser) => {
            // Another browser's sign-in: this one may still go back to the app and start again.
            let i = st
                .provider
                .store
                .read(|tx| tx.interaction(&id))
                .ok()
                .flatten();
            let way = i.and_then(|i| way_back(st, &i));
            Err(Box::new(error_pages::sign_in(
                st,
                SignInError::WrongBrowser,
                way,
            )))
        }
        Err(e) => Err(Box::new(error_pages::sign_in(st, e, None))),
    }
}

/// A page that ends sign-in `i`, with a way on: to start again for a mail that failed, back to
/// the app otherwise.
pub(super) fn failure_page(st: &Server, id: &str, i: &Interaction, e: SignInError) -> Response {
    let way = match e {
        SignInError::SendFailed => Some(WayOn {
            url: email_url(st, id),
            label: "Try again".into(),
        }),
        _ => way_back(st, i),
    };
    error_pages::sign_in(st, e, way)
}

/// Back to where the sign-in came from: the origin of the app's redirect URI (registered, and
/// checked when the sign-in began), or the page behind the proxy (checked likewise). Never a
/// URL from this request. `None` for an app whose redirect URI is not a web address (a
/// native app's custom scheme): its hint says to go back to the app.
fn way_back(st: &Server, i: &Interaction) -> Option<WayOn> {
    let (url, name) = match &i.purpose {
        SignInFor::App(request) => (web_origin(&request.redirect_uri)?, app_name(st, i)?),
        SignInFor::ReturnTo(url) => (url.clone(), app_name(st, i)?),
        SignInFor::Account | SignInFor::ChangeEmail { .. } | SignInFor::FirstAdmin => (
            st.provider.issuer.local(paths::ACCOUNT),
            "your account".into(),
        ),
        SignInFor::Console | SignInFor::Reauth { .. } => (
            st.provider.issuer.local(paths::CONSOLE),
            "the console".into(),
        ),
        SignInFor::Device { .. } => (
            st.provider.issuer.local(paths::DEVICE),
            "the device page".into(),
        ),
    };
    Some(WayOn {
        url,
        label: format!("Back to {name}"),
    })
}

/// Stores why a form was refused and sends the browser to `to` (Post/Redirect/Get).
pub(super) fn refuse(st: &Server, id: &str, flash: Flash, to: String) -> Response {
    match signin::set_flash(&st.provider, id, Some(flash)) {
        Ok(()) => http::redirect(&to),
        Err(e) => error_pages::storage_failure(st, e),
    }
}

fn render_email(
    st: &Server,
    id: &str,
    i: &Interaction,
    email: &str,
    error: Option<String>,
) -> Response {
    // Passkeys sign in from here (a button, and the browser's autofill) where the issuer can
    // be their relying party; the change of email proves an address, never a passkey.
    let passkeys = super::second_routes::passkeys_available(st)
        && !matches!(i.purpose, SignInFor::ChangeEmail { .. });
    // A refused passkey is said beside the passkey button, not as the email field's error
    // (the address typed was not wrong).
    let passkey_error = match &i.flash {
        Some(Flash::PasskeyRefused { reason }) if passkeys => Some(format!(
            "{}. Enter your email address for a code instead, or try again.",
            super::second_routes::capitalise(reason)
        )),
        _ => None,
    };
    let mut r = page(
        st,
        StatusCode::OK,
        "sign_in_email.html",
        json!({
            "action": st.provider.issuer.local(paths::SIGN_IN),
            "interaction": id,
            "csrf": i.csrf,
            "email": email,
            "error": error,
            "app_name": app_name(st, i),
            "passkeys": passkeys,
            "passkey_error": passkey_error,
            "passkey_action": st.provider.issuer.local(paths::SIGN_IN_PASSKEY),
            "passkey_options": st.provider.issuer.local(paths::SIGN_IN_PASSKEY_OPTIONS),
        }),
    );
    if passkeys {
        http::allow_script_files(&mut r);
    }
    r
}

/// What the code page says about the last refused code, from the code's current state.
fn code_refused_message(st: &Server, i: &Interaction) -> Option<String> {
    let pc = i.code.as_ref()?;
    Some(if pc.tries >= MAX_CODE_TRIES {
        "Too many wrong tries: this code no longer works. Send a new code.".into()
    } else if st.provider.now() >= pc.expires_at {
        "This code has expired. Send a new code.".into()
    } else {
        let left = MAX_CODE_TRIES - pc.tries;
        format!(
            "That code is not right. Check the latest email and try again ({left} {} left).",
            if left == 1 { "try" } else { "tries" }
        )
    })
}

fn render_code(st: &Server, id: &str, i: &Interaction, notice: Option<&str>) -> Response {
    let now = st.provider.now();
    let email = i.code.as_ref().map(|c| c.email.clone()).unwrap_or_default();
    let error = match &i.flash {
        Some(Flash::CodeRefused) => code_refused_message(st, i),
        Some(Flash::ResendTooMany { until }) if *until > now => Some(too_many_message(until - now)),
        Some(Flash::MailHeld { budget, until, .. })
            if *until > now || matches!(budget, MailBudget::Addresses { .. }) =>
        {
            Some(held_message(budget, until.saturating_sub(now)))
        }
        _ => None,
    };
    // A new code may be asked for once the resend interval has passed: until then the page
    // counts down instead of offering a button that would be refused.
    let resend_wait = i
        .code
        .as_ref()
        .map(|c| (c.sent_at + st.provider.tokens.sign_in_code_resend_after).saturating_sub(now))
        .filter(|w| *w > 0);
    // `sesame dev` sends no mail: its outbox kept the code for this page.
    let dev_code = match st.provider.dev {
        Some(_) => st.provider.mailer().outbox_code(&email),
        None => None,
    };
    page(
        st,
        StatusCode::OK,
        "sign_in_code.html",
        json!({
            "action": st.provider.issuer.local(paths::SIGN_IN_CODE),
            "interaction": id,
            "csrf": i.csrf,
            "email": email,
            "error": error,
            "notice": notice,
            "resend_wait": resend_wait,
            "back_url": email_url(st, id),
            "app_name": app_name(st, i),
            "dev_code": dev_code,
        }),
    )
}

fn too_many_message(wait: u64) -> String {
    format!(
        "Too many codes were sent to this mailbox in the last hour (addresses with a +tag count as one). Try again in {}.",
        minutes(wait)
    )
}

/// What the page says when a mail budget held a send back ([`Flash::MailHeld`]): what happened,
/// what to do, and when to try again (`wait` seconds from now).
fn held_message(budget: &MailBudget, wait: u64) -> String {
    match budget {
        MailBudget::Addresses { allowed } => format!(
            "This sign-in has sent codes to {allowed} different addresses, the most one sign-in may. Use one of those addresses, or go back to the app and start a new sign-in."
        ),
        MailBudget::Client => format!(
            "Too many sign-in codes were sent at the request of your network address in the last hour. Try again in {}; a code you already received still works.",
            minutes(wait)
        ),
        MailBudget::Global => format!(
            "Sign-in mail is being held back for a moment so that it keeps working for everyone. Try again in {}.",
            super::limited::seconds(wait)
        ),
    }
}

/// The mail budget behind a refusal, and until when it holds (`None`: not a budget's refusal).
fn mail_held(st: &Server, e: &SignInError) -> Option<(MailBudget, u64)> {
    let now = st.provider.now();
    Some(match e {
        SignInError::TooManyAddresses { allowed } => {
            (MailBudget::Addresses { allowed: *allowed }, now)
        }
        SignInError::ClientMailBudget { wait } => (MailBudget::Client, now + wait),
        SignInError::GlobalMailBudget { wait } => (MailBudget::Global, now + wait),
        _ => return None,
    })
}

/// A send to `typed` refused: by a mail budget, back to `to` saying so ([`Flash::MailHeld`]);
/// for any other reason, the failure page.
fn refuse_held(
    st: &Server,
    id: &str,
    i: &Interaction,
    typed: &str,
    e: SignInError,
    to: String,
) -> Response {
    match mail_held(st, &e) {
        Some((budget, until)) => {
            let typed = typed.to_string();
            let flash = Flash::MailHeld {
                typed,
                budget,
                until,
            };
            refuse_until(st, id, flash, to, until)
        }
        None => failure_page(st, id, i, e),
    }
}

/// Whole minutes, at least one, as a person reads them.
fn minutes(wait: u64) -> String {
    let m = wait.div_ceil(60).max(1);
    format!("{m} {}", if m == 1 { "minute" } else { "minutes" })
}

/// [`refuse`] for a limit that holds until `until`: the redirect also says `Retry-After`.
fn refuse_until(st: &Server, id: &str, flash: Flash, to: String, until: u64) -> Response {
    let mut r = refuse(st, id, flash, to);
    let wait = until.saturating_sub(st.provider.now());
    if wait > 0 {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
    }
    r
}

/// GET /sign-in: the email form.
pub fn email_page(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, false) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let now = st.provider.now();
    let (typed, error) = match &i.flash {
        Some(Flash::InvalidEmail { typed, reason }) => (Some(typed.clone()), Some(reason.clone())),
        Some(Flash::TooManyCodes { typed, until }) if *until > now => {
            (Some(typed.clone()), Some(too_many_message(until - now)))
        }
        Some(Flash::MailHeld {
            typed,
            budget,
            until,
        }) if *until > now || matches!(budget, MailBudget::Addresses { .. }) => (
            Some(typed.clone()),
            Some(held_message(budget, until.saturating_sub(now))),
        ),
        _ => (None, None),
    };
    let prefill = typed
        .or_else(|| i.code.as_ref().map(|c| c.email.clone()))
        .or_else(|| match &i.purpose {
            SignInFor::App(request) => request.login_hint.clone(),
            _ => None,
        })
        .unwrap_or_default();
    render_email(st, &id, &i, &prefill, error)
}

/// POST /sign-in: mails a code to the address.
pub async fn email_submit(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, true) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let form = req.params();
    if let Err(e) = signin::check_csrf(&i, form.first("csrf")) {
        return failure_page(st, &id, &i, e);
    }
    if form.first("platform_authenticator") == Some("1") {
        let noted =
            tokio::task::block_in_place(|| signin::note_platform_authenticator(&st.provider, &id));
        if let Err(e) = noted {
            return error_pages::storage_failure(st, e);
        }
    }
    let typed = form.first("email").unwrap_or("");
    let email = match Email::parse(typed) {
        Ok(e) => e,
        Err(reason) => {
            let flash = Flash::InvalidEmail {
                typed: typed.chars().take(320).collect(),
                reason: reason.to_string(),
            };
            return refuse(st, &id, flash, email_url(st, &id));
        }
    };
    let client = super::limited::client(st, req);
    match signin::send_code(&st.provider, &id, &email, client).await {
        Ok(()) => http::redirect(&code_url(st, &id, None)),
        // The same address again, moments later: the code already sent still works, and the
        // code page counts down to when a new one may be sent.
        Err(SignInError::ResendTooSoon { .. }) => {
            match signin::set_flash(&st.provider, &id, None) {
                Ok(()) => http::redirect(&code_url(st, &id, None)),
                Err(e) => error_pages::storage_failure(st, e),
            }
        }
        Err(SignInError::TooManyCodes { wait }) => {
            let until = st.provider.now() + wait;
            let flash = Flash::TooManyCodes {
                typed: email.address.clone(),
                until,
            };
            refuse_until(st, &id, flash, email_url(st, &id), until)
        }
        Err(e) => refuse_held(st, &id, &i, &email.address, e, email_url(st, &id)),
    }
}

/// GET /sign-in/code: the code form.
pub fn code_page(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, false) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if i.code.is_none() {
        return http::redirect(&email_url(st, &id));
    }
    let notice = match req.query().first("notice") {
        Some(NOTICE_RESENT) => Some("We sent a new code. Codes sent earlier no longer work."),
        _ => None,
    };
    render_code(st, &id, &i, notice)
}

/// POST /sign-in/code: checks the code, or sends a new one (`resend`).
pub async fn code_submit(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, true) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let form = req.params();
    if let Err(e) = signin::check_csrf(&i, form.first("csrf")) {
        return failure_page(st, &id, &i, e);
    }
    let Some(pending) = i.code.clone() else {
        return http::redirect(&email_url(st, &id));
    };
    if form.has("resend") {
        let email = match Email::parse(&pending.email) {
            Ok(e) => e,
            Err(_) => return http::redirect(&email_url(st, &id)),
        };
        let client = super::limited::client(st, req);
        return match signin::send_code(&st.provider, &id, &email, client).await {
            Ok(()) => http::redirect(&code_url(st, &id, Some(NOTICE_RESENT))),
            // Not an error: the page counts down to when the button comes back.
            Err(SignInError::ResendTooSoon { .. }) => http::redirect(&code_url(st, &id, None)),
            Err(SignInError::TooManyCodes { wait }) => {
                let until = st.provider.now() + wait;
                let flash = Flash::ResendTooMany { until };
                refuse_until(st, &id, flash, code_url(st, &id, None), until)
            }
            Err(e) => refuse_held(st, &id, &i, &email.address, e, code_url(st, &id, None)),
        };
    }
    let typed = form.first("code").unwrap_or("");
    // The sessions this browser had end: a new sign-in replaces them (another account, too).
    // A re-authentication proves the same account again: the apps behind the proxy keep theirs.
    let reauth = matches!(i.purpose, SignInFor::Reauth { .. });
    let old_sessions = [
        req.cookie(&st.cookies.name(SESSION_COOKIE)),
        req.cookie(&st.cookies.forward_auth_name())
            .filter(|_| !reauth),
    ];
    let result = tokio::task::block_in_place(|| {
        signin::verify_code(&st.provider, &id, typed, old_sessions.into_iter().flatten())
    });
    match result {
        Ok(done) if done.session_cookie.is_empty() => next_page(st, req, done.next),
        Ok(done) => {
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
        Err(SignInError::WrongCode { .. } | SignInError::CodeVoid | SignInError::CodeExpired) => {
            refuse(st, &id, Flash::CodeRefused, code_url(st, &id, None))
        }
        Err(SignInError::NoCode) => http::redirect(&email_url(st, &id)),
        Err(e) => failure_page(st, &id, &i, e),
    }
}

/// Where a finished sign-in goes: the app with its code, "your account can't use this app",
/// or the page behind the proxy.
pub(super) fn next_page(st: &Server, req: &Request, next: Next) -> Response {
    match next {
        Next::Redirect(url) => http::redirect(&url),
        Next::NotAllowed { app_name, request } => {
            super::routes::not_allowed(st, req, &app_name, request)
        }
        Next::ReturnTo {
            url,
            forward_auth_session,
        } => super::forward_auth_routes::signed_in(st, &url, &forward_auth_session),
        Next::Account => http::redirect(&st.provider.issuer.local(paths::ACCOUNT)),
        Next::Console(back) => http::redirect(&super::console::url(st, &back)),
        Next::Device { user_code } => {
            http::redirect(&super::device_routes::page_url(st, &user_code))
        }
        Next::SecondFactor => http::redirect(&super::second_routes::second_url(st, &id_of(req))),
    }
}

/// The interaction a sign-in form named (its hidden field, or the page's query).
fn id_of(req: &Request) -> String {
    let form = req.params();
    form.first("interaction")
        .or_else(|| req.query().first("interaction"))
        .unwrap_or("")
        .to_string()
}

/// GET /sign-in/continue: "continue as X, or another account?", for an app's
/// `prompt=select_account` while this browser is signed in.
pub fn select_account_page(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, false) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let session = req.cookie(&st.cookies.name(SESSION_COOKIE));
    let who = crate::session::signed_in(&st.provider, session, crate::store::SessionKind::Sesame);
    let email = match who {
        Ok(Some((_, user))) => user.email,
        // Signed out meanwhile: there is no account to continue as.
        Ok(None) => return http::redirect(&email_url(st, &id)),
        Err(e) => return error_pages::storage_failure(st, e),
    };
    page(
        st,
        StatusCode::OK,
        "select_account.html",
        json!({
            "action": st.provider.issuer.local(paths::SIGN_IN_CONTINUE),
            "interaction": id,
            "csrf": i.csrf,
            "email": email,
            "other_url": email_url(st, &id),
            "app_name": app_name(st, &i),
        }),
    )
}

/// POST /sign-in/continue: continue as the signed-in user.
pub fn continue_submit(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, true) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Err(e) = signin::check_csrf(&i, req.params().first("csrf")) {
        return failure_page(st, &id, &i, e);
    }
    let session = req.cookie(&st.cookies.name(SESSION_COOKIE));
    let result =
        tokio::task::block_in_place(|| signin::continue_session(&st.provider, &id, session));
    match result {
        Ok(Some(next)) => next_page(st, req, next),
        // The session ended meanwhile: sign in with a code.
        Ok(None) => http::redirect(&email_url(st, &id)),
        Err(e) => failure_page(st, &id, &i, e),
    }
}
