//! The sign-in pages: the email form and the code form. Each handler loads the interaction,
//! checks the browser binding and CSRF token, calls [`crate::signin`], and renders the result.

use super::error_pages::{self, page};
use super::Server;
use crate::http::cookie::{INTERACTION_COOKIE, SESSION_COOKIE};
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::signin::{self, Email, Next, SignInError};
use crate::store::{Interaction, Reads, SignInFor};
use hyper::StatusCode;
use serde_json::json;

/// What the code page says above the form after a redirect (never echoes request text).
const NOTICE_RESENT: &str = "resent";

/// What the sign-in is for, as the pages name it: the app, or the host of the page behind the
/// proxy.
fn app_name(st: &Server, i: &Interaction) -> Option<String> {
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
fn load(
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
        Err(e) => Err(Box::new(failure_page(st, e))),
    }
}

/// Pages for the failures that end the attempt.
fn failure_page(st: &Server, e: SignInError) -> Response {
    error_pages::sign_in(st, e)
}

fn render_email(
    st: &Server,
    status: StatusCode,
    id: &str,
    i: &Interaction,
    email: &str,
    error: Option<String>,
) -> Response {
    page(
        st,
        status,
        "sign_in_email.html",
        json!({
            "action": st.provider.issuer.local(paths::SIGN_IN),
            "interaction": id,
            "csrf": i.csrf,
            "email": email,
            "error": error,
            "app_name": app_name(st, i),
        }),
    )
}

fn render_code(
    st: &Server,
    status: StatusCode,
    id: &str,
    i: &Interaction,
    error: Option<String>,
    notice: Option<&str>,
) -> Response {
    let email = i.code.as_ref().map(|c| c.email.clone()).unwrap_or_default();
    // `sesame dev` sends no mail: its outbox kept the code for this page.
    let dev_code = match st.provider.dev {
        Some(_) => st.provider.mailer().outbox_code(&email),
        None => None,
    };
    page(
        st,
        status,
        "sign_in_code.html",
        json!({
            "action": st.provider.issuer.local(paths::SIGN_IN_CODE),
            "interaction": id,
            "csrf": i.csrf,
            "email": email,
            "error": error,
            "notice": notice,
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

/// What the form says when a mail budget refused the send (`None`: not a budget's refusal).
/// Each says what happened, what to do, and when to try again.
fn budget_message(e: &SignInError) -> Option<String> {
    Some(match e {
        SignInError::TooManyCodes { wait } => too_many_message(*wait),
        SignInError::TooManyAddresses { allowed } => format!(
            "This sign-in has sent codes to {allowed} different addresses, the most one sign-in may. Use one of those addresses, or go back to the app and start a new sign-in."
        ),
        SignInError::ClientMailBudget { wait } => format!(
            "Too many sign-in codes were sent at the request of your network address in the last hour. Try again in {}; a code you already received still works.",
            minutes(*wait)
        ),
        SignInError::GlobalMailBudget { wait } => format!(
            "sesame is sending a lot of sign-in mail right now and is holding back so that mail keeps working for everyone. Try again in {}.",
            super::limited::seconds(*wait)
        ),
        _ => return None,
    })
}

/// Whole minutes, at least one, as a person reads them.
fn minutes(wait: u64) -> String {
    let m = wait.div_ceil(60).max(1);
    format!("{m} {}", if m == 1 { "minute" } else { "minutes" })
}

/// 429 with `Retry-After` on a page that refuses for a while.
fn retry_after(mut r: Response, e: &SignInError) -> Response {
    let wait = match e {
        SignInError::TooManyCodes { wait }
        | SignInError::ClientMailBudget { wait }
        | SignInError::GlobalMailBudget { wait }
        | SignInError::ResendTooSoon { wait } => *wait,
        _ => return r,
    };
    if let Ok(v) = hyper::header::HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

fn wait_message(wait: u64) -> String {
    format!(
        "A code was sent to this address moments ago. Wait {wait} seconds, then ask for a new one."
    )
}

/// GET /sign-in: the email form.
pub fn email_page(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, false) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let prefill = i
        .code
        .as_ref()
        .map(|c| c.email.clone())
        .or_else(|| match &i.purpose {
            SignInFor::App(request) => request.login_hint.clone(),
            SignInFor::ReturnTo(_) => None,
        })
        .unwrap_or_default();
    render_email(st, StatusCode::OK, &id, &i, &prefill, None)
}

/// POST /sign-in: mails a code to the address.
pub async fn email_submit(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, true) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let form = req.params();
    if let Err(e) = signin::check_csrf(&i, form.first("csrf")) {
        return failure_page(st, e);
    }
    let typed = form.first("email").unwrap_or("");
    let email = match Email::parse(typed) {
        Ok(e) => e,
        Err(reason) => {
            return render_email(
                st,
                StatusCode::BAD_REQUEST,
                &id,
                &i,
                typed,
                Some(reason.to_string()),
            )
        }
    };
    let client = super::limited::client(st, req);
    match signin::send_code(&st.provider, &id, &email, client).await {
        Ok(()) => http::redirect(&code_url(st, &id, None)),
        Err(SignInError::ResendTooSoon { wait }) => {
            // The same address again in the same sign-in: the code already sent still works.
            let same = i
                .code
                .as_ref()
                .is_some_and(|c| c.email.eq_ignore_ascii_case(&email.address));
            if same {
                http::redirect(&code_url(st, &id, None))
            } else {
                render_email(
                    st,
                    StatusCode::TOO_MANY_REQUESTS,
                    &id,
                    &i,
                    typed,
                    Some(wait_message(wait)),
                )
            }
        }
        Err(e) => match budget_message(&e) {
            Some(message) => {
                let r = render_email(
                    st,
                    StatusCode::TOO_MANY_REQUESTS,
                    &id,
                    &i,
                    typed,
                    Some(message),
                );
                retry_after(r, &e)
            }
            None => failure_page(st, e),
        },
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
    render_code(st, StatusCode::OK, &id, &i, None, notice)
}

/// POST /sign-in/code: checks the code, or sends a new one (`resend`).
pub async fn code_submit(st: &Server, req: &Request) -> Response {
    let (id, i) = match load(st, req, true) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let form = req.params();
    if let Err(e) = signin::check_csrf(&i, form.first("csrf")) {
        return failure_page(st, e);
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
            Err(SignInError::ResendTooSoon { wait }) => render_code(
                st,
                StatusCode::TOO_MANY_REQUESTS,
                &id,
                &i,
                Some(wait_message(wait)),
                None,
            ),
            Err(e) => match budget_message(&e) {
                Some(message) => {
                    let r = render_code(
                        st,
                        StatusCode::TOO_MANY_REQUESTS,
                        &id,
                        &i,
                        Some(message),
                        None,
                    );
                    retry_after(r, &e)
                }
                None => failure_page(st, e),
            },
        };
    }
    let typed = form.first("code").unwrap_or("");
    // The sessions this browser had end: a new sign-in replaces them (another account, too).
    let old_sessions = [
        req.cookie(&st.cookies.name(SESSION_COOKIE)),
        req.cookie(&st.cookies.forward_auth_name()),
    ];
    let result = tokio::task::block_in_place(|| {
        signin::verify_code(&st.provider, &id, typed, old_sessions.into_iter().flatten())
    });
    let retry = |msg: String| {
        // Re-read so the page shows the current state (tries counted).
        let fresh = signin::load(
            &st.provider,
            &id,
            req.cookie(&st.cookies.name(INTERACTION_COOKIE)),
        )
        .unwrap_or_else(|_| i.clone());
        render_code(st, StatusCode::BAD_REQUEST, &id, &fresh, Some(msg), None)
    };
    match result {
        Ok(done) => {
            let mut r = match done.next {
                Next::Redirect(url) => http::redirect(&url),
                Next::NotAllowed { app_name, request } => {
                    super::routes::not_allowed(st, req, &app_name, request)
                }
                Next::ReturnTo {
                    url,
                    forward_auth_session,
                } => super::forward_auth_routes::signed_in(st, &url, &forward_auth_session),
            };
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
        Err(SignInError::WrongCode { tries_left }) => retry(format!(
            "That code is not right. Check the latest email and try again ({tries_left} {} left).",
            if tries_left == 1 { "try" } else { "tries" }
        )),
        Err(SignInError::CodeVoid) => {
            retry("Too many wrong tries: this code no longer works. Send a new code.".into())
        }
        Err(SignInError::CodeExpired) => retry("This code has expired. Send a new code.".into()),
        Err(SignInError::NoCode) => http::redirect(&email_url(st, &id)),
        Err(e) => failure_page(st, e),
    }
}
