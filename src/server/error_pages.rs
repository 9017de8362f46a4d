//! The words a person reads when something goes wrong: every core error that ends on a page
//! is worded here (what went wrong, what to do next), matched exhaustively, so a new error is
//! a compile error until it has its page.

use super::Server;
use crate::forward_auth::{Identity, ReturnToError};
use crate::http::{self, Response};
use crate::oidc::authorize::{Untrusted, MAX_PARAM_LEN};
use crate::oidc::end_session::LogoutError;
use crate::signin::SignInError;
use hyper::StatusCode;
use serde_json::json;

/// Renders a page with the keys every page needs.
pub fn page(s: &Server, status: StatusCode, name: &str, mut ctx: serde_json::Value) -> Response {
    ctx["static_base"] = json!(s.provider.issuer.local("/static"));
    ctx["dev_mode"] = json!(s.provider.dev.is_some());
    http::html(
        status,
        s.pages
            .render_as(&s.provider.experience().branding, name, ctx),
    )
}

/// The error page: what went wrong and what to do next.
pub fn error_page(
    s: &Server,
    status: StatusCode,
    title: &str,
    message: &str,
    hint: &str,
) -> Response {
    page(
        s,
        status,
        "error.html",
        json!({ "title": title, "message": message, "hint": hint }),
    )
}

/// What the pages call this service: the configured product name, never "sesame" unless that
/// is the name.
fn product(s: &Server) -> String {
    s.provider.product_name()
}

/// The service could not read or write its data.
pub fn storage_failure(s: &Server, e: impl std::fmt::Display) -> Response {
    tracing::error!("storage error: {e}");
    error_page(
        s,
        StatusCode::SERVICE_UNAVAILABLE,
        "Something went wrong",
        &format!("{} could not read or write its data.", product(s)),
        "Try again in a moment. If it keeps happening, the administrator should check the server's log.",
    )
}

/// The signed-in user is in none of the app's allowed groups.
pub fn not_allowed(s: &Server, app_name: &str, switch_url: &str) -> Response {
    page(
        s,
        StatusCode::FORBIDDEN,
        "error.html",
        json!({
            "title": format!("Your account can't use {app_name}"),
            "message": format!("{app_name} is open only to some of this service's people, and your account is not one of them. No information was sent to {app_name}."),
            "hint": "If you should have access, ask the administrator to add you to the right group. Or sign in with another account.",
            "retry_url": switch_url,
            "retry_label": "Use another account",
        }),
    )
}

/// The error page as forward-auth serves it: through the proxy, on the protected host, so its
/// styles and links name sesame's origin (`retry`: a link and its label).
fn proxied_error_page(
    s: &Server,
    status: StatusCode,
    title: &str,
    message: &str,
    hint: &str,
    retry: Option<(&str, &str)>,
) -> Response {
    let issuer = &s.provider.issuer;
    let mut ctx = json!({ "title": title, "message": message, "hint": hint });
    if let Some((url, label)) = retry {
        ctx["retry_url"] = json!(url);
        ctx["retry_label"] = json!(label);
    }
    ctx["static_base"] = json!(issuer.endpoint("/static"));
    http::html_from(
        status,
        s.pages
            .render_as(&s.provider.experience().branding, "error.html", ctx),
        &issuer.origin(),
    )
}

/// Forward-auth refused a request: the access rules do not let this person (or anyone) open
/// `host`. Someone signed in gets a way to sign in with another account (`switch_url`).
pub fn forward_auth_forbidden(
    s: &Server,
    host: &str,
    signed_in: Option<&Identity>,
    switch_url: &str,
) -> Response {
    match signed_in {
        Some(who) => proxied_error_page(
            s,
            StatusCode::FORBIDDEN,
            &format!("Your account can't use {host}"),
            &format!("{host} is open only to some of this service's people, and your account ({}) is not one of them.", who.email),
            "If you should have access, ask the administrator to add you to the right group. Or sign in with another account.",
            Some((switch_url, "Use another account")),
        ),
        None => proxied_error_page(
            s,
            StatusCode::FORBIDDEN,
            &format!("{host} is closed"),
            "The access rules of this service do not let anyone open this address.",
            "If you think this is a mistake, tell the administrator.",
            None,
        ),
    }
}

/// Forward-auth needs a sign-in for a page a sign-in could not return to (outside the cookie
/// domain, or http while sesame is https): the proxy covers more than sesame does.
pub fn forward_auth_cannot_return(s: &Server, host: &str, e: &ReturnToError) -> Response {
    proxied_error_page(
        s,
        StatusCode::FORBIDDEN,
        &format!("{} cannot sign you in for {host}", product(s)),
        &format!("After signing in, {} could not bring you back here: {e}.", product(s)),
        "Tell the administrator: the host must be under forward_auth.cookie_domain (and use https when the sign-in service does).",
        None,
    )
}

/// A sign-in for a page behind the proxy whose `rd` sesame refuses to return to.
pub fn return_to_refused(s: &Server, e: Option<&ReturnToError>) -> Response {
    let message = match e {
        Some(e) => format!(
            "{} will not send you there after signing in: {e}.",
            product(s)
        ),
        None => "The request does not say which page to return to (rd), or says it twice.".into(),
    };
    error_page(
        s,
        StatusCode::BAD_REQUEST,
        "This sign-in would end elsewhere",
        &message,
        "Go back to the page you were opening and try again. If you run this service, check forward_auth.cookie_domain.",
    )
}

/// A sign-in for a page behind a proxy, while forward-auth is off.
pub fn forward_auth_off(s: &Server) -> Response {
    error_page(
        s,
        StatusCode::NOT_FOUND,
        "Forward-auth is not set up",
        "This sign-in is for a page behind a proxy, and this service does not protect any.",
        "If you run this service, set [forward_auth] cookie_domain and [[access]] rules in sesame.toml.",
    )
}

/// An authorization request whose client or redirect URI cannot be trusted.
pub fn untrusted(s: &Server, u: &Untrusted) -> Response {
    const FIX_APP: &str = "The app that sent you here is misconfigured. Tell its administrator; the details are above.";
    let (title, message, hint) = match u {
        Untrusted::Repeated(name) => (
            "This sign-in request is malformed",
            format!("the parameter {name} is repeated"),
            FIX_APP,
        ),
        Untrusted::MissingClientId => (
            "This sign-in request is incomplete",
            "The request has no client_id.".to_string(),
            FIX_APP,
        ),
        Untrusted::UnknownClient(client_id) => (
            "Unknown app",
            format!("No app with client ID {client_id:?} is registered with this sign-in service."),
            "If you run this service, register the app with `sesame app create`, or check the client ID configured in the app.",
        ),
        Untrusted::MachineApp { app_name } => (
            "This app does not sign people in",
            format!("{app_name:?} is a machine app: it gets its tokens itself, with client credentials, and no one signs in to it."),
            "If you run this service and people should sign in to this app, register it as a traditional, spa or native app with `sesame app create`.",
        ),
        Untrusted::MissingRedirectUri => (
            "This sign-in request is incomplete",
            "The request has no redirect_uri.".to_string(),
            FIX_APP,
        ),
        Untrusted::UnregisteredRedirectUri { app_name, redirect_uri, home } => {
            let mut ctx = json!({
                "title": "Redirect URI not registered",
                "message": format!("The app {app_name:?} asked to return to {redirect_uri:?}, which is not one of its registered redirect URIs."),
                "hint": "If you run this service, add the exact URI with `sesame app update CLIENT_ID --redirect-uri URI` (or in sesame.toml).",
            });
            if let Some(home) = home {
                ctx["retry_url"] = json!(home);
                ctx["retry_label"] = json!(format!("Back to {app_name}"));
            }
            return page(s, StatusCode::BAD_REQUEST, "error.html", ctx);
        }
        Untrusted::TooLong(name) => (
            "This sign-in request is malformed",
            format!("The {name} parameter is too long: state, nonce and login_hint may have {MAX_PARAM_LEN} characters together."),
            FIX_APP,
        ),
        Untrusted::DevClientId { client_id, reason } => (
            "This client ID cannot be registered",
            format!("sesame dev registers any client ID on first use, but {client_id:?} {reason}."),
            "Change the client ID configured in the app.",
        ),
        Untrusted::DevRedirectUri { redirect_uri, reason } => (
            "This redirect URI cannot be registered",
            format!("The app asked to return to {redirect_uri:?}, which {reason}."),
            "sesame dev registers redirect URIs to localhost, 127.0.0.1 or [::1] (any port) and custom schemes; change the redirect URI configured in the app.",
        ),
        Untrusted::PushedRequest(r) => (
            "This sign-in request cannot be used",
            format!("The app's pushed request cannot be used: {}.", r.as_str()),
            "A pushed request works once, for a minute. Go back to the app and sign in again.",
        ),
    };
    error_page(s, StatusCode::BAD_REQUEST, title, &message, hint)
}

/// A logout request that cannot be honoured. `again`: the same request as a GET of the
/// end-session endpoint, which asks afresh (for a confirmation form that expired).
pub fn logout(s: &Server, e: &LogoutError, again: &str) -> Response {
    let message = match e {
        LogoutError::FormExpired => {
            return page(
                s,
                StatusCode::FORBIDDEN,
                "error.html",
                json!({
                    "title": "This sign-out form has expired",
                    "message": "The form did not come from this browser's current session.",
                    "hint": "Ask again to sign out, or go back to the app.",
                    "retry_url": again,
                    "retry_label": "Sign out",
                }),
            )
        }
        LogoutError::Store(e) => return storage_failure(s, e),
        LogoutError::Repeated(name) => format!("the parameter {name} is repeated"),
        LogoutError::HintNotOurs => {
            "The sign-out request carries an ID token that this service did not issue.".into()
        }
        LogoutError::HintFromAnotherIssuer => {
            "The sign-out request carries an ID token from another issuer.".into()
        }
        LogoutError::ClientMismatch => "client_id does not match the ID token's audience.".into(),
        LogoutError::UnknownClient(id) => format!("No app with client ID {id:?} is registered."),
        LogoutError::RedirectWithoutClient => format!("post_logout_redirect_uri needs id_token_hint or client_id, so {} can check it is registered.", product(s)),
        LogoutError::UnregisteredRedirect { uri, app_name } => format!(
            "{uri:?} is not a registered post-logout redirect URI of the app {app_name:?}."
        ),
    };
    error_page(
        s,
        StatusCode::BAD_REQUEST,
        "This sign-out request is not valid",
        &message,
        "Go back to the app; if you run this service, check the app's post-logout redirect URIs.",
    )
}

/// Where a page that ends a sign-in can send the person on: a URL this service already trusts
/// (the origin of the app's registered redirect URI, the page behind the proxy the sign-in was
/// for, or the sign-in's own email page) and the button's words.
pub struct WayOn {
    pub url: String,
    pub label: String,
}

/// The sign-in failures that end the attempt (the others are messages on the form, worded in
/// `signin_routes`, which sends only these here). `way_on`, when the sign-in is known, is a
/// button back to the app or to start again; without it the hint says where to go.
pub fn sign_in(s: &Server, e: SignInError, way_on: Option<WayOn>) -> Response {
    let product = product(s);
    let (status, title, message, hint) = match e {
        SignInError::Expired => (
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "A sign-in must be finished within 30 minutes, and can be finished only once.".to_string(),
            "Go back to the app and choose Sign in again.",
        ),
        SignInError::WrongBrowser => (
            StatusCode::BAD_REQUEST,
            "This sign-in started in another browser",
            format!("{product} could not find this sign-in's cookie in this browser."),
            "Open the app in this browser and sign in again. If this keeps happening, allow cookies for this site.",
        ),
        SignInError::BadCsrf => (
            StatusCode::FORBIDDEN,
            "This form has expired",
            format!("The form was not the one {product} last showed this browser."),
            "Go back to the app and sign in again.",
        ),
        SignInError::SendFailed => (
            StatusCode::SERVICE_UNAVAILABLE,
            "We could not send the code",
            "The mail server did not accept the message. Nothing was used up.".to_string(),
            "Try again in a minute. If it keeps failing, tell the administrator (the reason is in the server's log).",
        ),
        SignInError::Disabled => (
            StatusCode::FORBIDDEN,
            "This account is disabled",
            "The administrator has disabled this account, so it cannot sign in. No code was sent.".to_string(),
            "If you think this is a mistake, ask the administrator of this service.",
        ),
        SignInError::EmailChangeRefused(why) => (
            StatusCode::CONFLICT,
            "The email address was not changed",
            format!("The code was right, but the address cannot be used: {why}."),
            "Go back to your account page; your email address is as it was.",
        ),
        SignInError::NotTheSameAccount => (
            StatusCode::FORBIDDEN,
            "That is not your address",
            "Confirming it's you takes a code sent to the signed-in account's own address; no code was sent to this one.".to_string(),
            "Go back to the console and choose Send a code: it goes to your own address.",
        ),
        SignInError::SecondVoid => (
            StatusCode::FORBIDDEN,
            "Too many wrong codes",
            "This sign-in took 5 wrong codes at its second step, so it has ended.".to_string(),
            "Start again from the app. If you have lost your authenticator app and your recovery codes, ask the administrator to reset them.",
        ),
        SignInError::NoSecondStep => (
            StatusCode::BAD_REQUEST,
            "This step is not open",
            "This sign-in is not waiting for a second factor, or it cannot be set up here (one is set up already: use it).".to_string(),
            "Go back to the app and sign in again.",
        ),
        SignInError::PasskeyRefused(why) => (
            StatusCode::BAD_REQUEST,
            "The passkey was not accepted",
            format!("{why}."),
            "Go back to the app and sign in again, with your email code.",
        ),
        SignInError::Store(e) => return storage_failure(s, e),
        // Answered on the forms themselves; reaching here is a routing slip, said plainly.
        SignInError::InvalidEmail(_)
        | SignInError::ResendTooSoon { .. }
        | SignInError::TooManyCodes { .. }
        | SignInError::TooManyAddresses { .. }
        | SignInError::ClientMailBudget { .. }
        | SignInError::GlobalMailBudget { .. }
        | SignInError::NoCode
        | SignInError::WrongCode { .. }
        | SignInError::CodeVoid
        | SignInError::CodeExpired => {
            tracing::error!("sign-in failure without a page: {e:?}");
            (
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                "Something went wrong.".to_string(),
                "Go back to the app and sign in again.",
            )
        }
    };
    let mut ctx = json!({ "title": title, "message": message, "hint": hint });
    if let Some(way) = way_on {
        ctx["retry_url"] = json!(way.url);
        ctx["retry_label"] = json!(way.label);
    }
    page(s, status, "error.html", ctx)
}
