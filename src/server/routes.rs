//! The router: which handler answers which path, and the thin protocol handlers. Each handler
//! parses, calls [`crate::oidc`], and turns the result into HTTP.

use super::signin_routes;
use super::State;
use crate::http::{self, Params, Request, RequestError, Response};
use crate::oidc::authorize::{self, AuthorizeError, Decision};
use crate::oidc::client::ClientCredentials;
use crate::oidc::error::ErrorCode;
use crate::oidc::issuer::paths;
use crate::oidc::{end_session, revoke, token, userinfo, OAuthError};
use crate::signin::session::{self, INTERACTION_COOKIE, SESSION_COOKIE};
use crate::store::App;
use crate::{clock, signin};
use hyper::header::HeaderValue;
use hyper::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;

/// How long a request body may take to arrive.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Routes one request.
pub async fn route(state: Arc<State>, req: hyper::Request<hyper::body::Incoming>) -> Response {
    let Some(rel) = state.issuer.strip(req.uri().path()) else {
        return http::text(
            StatusCode::NOT_FOUND,
            "not found: this server's endpoints are under its issuer URL\n",
        );
    };
    let rel = rel.to_string();
    // Headers have their own timeout (server::run); a body must also arrive in bounded time, so
    // a client that announces a body and sends nothing cannot hold a connection forever.
    let req = match tokio::time::timeout(BODY_TIMEOUT, Request::read(req, rel)).await {
        Err(_) => {
            return http::text(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time\n",
            )
        }
        Ok(r) => r,
    };
    let req = match req {
        Ok(r) => r,
        Err(RequestError::TooLarge) => {
            return http::text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n")
        }
        Err(RequestError::Body(e)) => {
            tracing::debug!("could not read request body: {e}");
            return http::text(StatusCode::BAD_REQUEST, "could not read the request body\n");
        }
    };
    let st = &*state;
    let m = &req.method;
    let get_or_post = *m == Method::GET || *m == Method::POST;
    let path = req.path.as_str();
    if *m == Method::OPTIONS && is_api(path) {
        return cors(http::text(StatusCode::NO_CONTENT, ""));
    }
    match path {
        paths::DISCOVERY if *m == Method::GET => cors(http::json_cacheable(
            &st.issuer.discovery(&crate::crypto::keys::Alg::NAMES),
            300,
        )),
        paths::JWKS if *m == Method::GET => cors(http::json_cacheable(&st.keys().jwks(), 300)),
        paths::HEALTH if *m == Method::GET => health(st),
        paths::AUTHORIZE if get_or_post => authorize_endpoint(st, &req),
        paths::TOKEN if *m == Method::POST => cors(token_endpoint(st, &req)),
        paths::USERINFO if get_or_post => cors(userinfo_endpoint(st, &req)),
        paths::REVOCATION if *m == Method::POST => cors(revocation_endpoint(st, &req)),
        paths::END_SESSION if get_or_post => end_session_endpoint(st, &req),
        paths::SIGN_IN if *m == Method::GET => signin_routes::email_page(st, &req),
        paths::SIGN_IN if *m == Method::POST => signin_routes::email_submit(st, &req).await,
        paths::SIGN_IN_CODE if *m == Method::GET => signin_routes::code_page(st, &req),
        paths::SIGN_IN_CODE if *m == Method::POST => signin_routes::code_submit(st, &req).await,
        p if p.starts_with(paths::STATIC) && *m == Method::GET => {
            static_file(st, &p[paths::STATIC.len()..])
        }
        paths::DISCOVERY
        | paths::JWKS
        | paths::HEALTH
        | paths::TOKEN
        | paths::REVOCATION
        | paths::AUTHORIZE
        | paths::USERINFO
        | paths::END_SESSION
        | paths::SIGN_IN
        | paths::SIGN_IN_CODE => {
            OAuthError::invalid_request(format!("method {m} is not allowed here"))
                .to_response(false)
                .with_status(StatusCode::METHOD_NOT_ALLOWED)
        }
        _ => http::text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

trait WithStatus {
    fn with_status(self, s: StatusCode) -> Self;
}

impl WithStatus for Response {
    fn with_status(mut self, s: StatusCode) -> Self {
        *self.status_mut() = s;
        self
    }
}

fn is_api(path: &str) -> bool {
    matches!(
        path,
        paths::DISCOVERY | paths::JWKS | paths::TOKEN | paths::USERINFO | paths::REVOCATION
    )
}

/// Browser apps (SPAs) call these endpoints cross-origin; they carry no cookies, so any origin
/// may call them.
fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("authorization, content-type, dpop"),
    );
    h.insert("access-control-max-age", HeaderValue::from_static("600"));
    r
}

fn health(st: &State) -> Response {
    let store_ok = st
        .store
        .read(|tx| tx.get(&crate::store::CODE_SENDS, ""))
        .is_ok();
    let mail = st.mailer().status();
    let status = if !store_ok {
        "error"
    } else if mail["ok"] == false {
        "degraded"
    } else {
        "ok"
    };
    let body = json!({
        "status": status,
        "issuer": st.issuer.url,
        "store": if store_ok { "ok" } else { "error" },
        "mail": mail,
    });
    // 503 only when sesame cannot serve at all; a mail problem is "degraded" (200).
    let code = if store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    http::json(code, &body)
}

fn static_file(st: &State, name: &str) -> Response {
    if name == "theme.css" {
        return http::asset(st.pages.accent_css().into(), "text/css; charset=utf-8");
    }
    match crate::pages::static_asset(name) {
        Some((bytes, ct)) => http::asset(bytes.into_owned().into(), ct),
        None => http::text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Renders a page with the keys every page needs.
pub(super) fn page(
    st: &State,
    status: StatusCode,
    name: &str,
    mut ctx: serde_json::Value,
) -> Response {
    ctx["static_base"] = json!(st.issuer.local("/static"));
    http::html(status, st.pages.render(name, ctx))
}

/// The error page: what went wrong and what to do next.
pub(super) fn error_page(
    st: &State,
    status: StatusCode,
    title: &str,
    message: &str,
    hint: &str,
) -> Response {
    page(
        st,
        status,
        "error.html",
        json!({ "title": title, "message": message, "hint": hint }),
    )
}

pub(super) fn storage_failure(st: &State, e: impl std::fmt::Display) -> Response {
    tracing::error!("storage error: {e}");
    error_page(
        st,
        StatusCode::SERVICE_UNAVAILABLE,
        "Something went wrong",
        "sesame could not read or write its data.",
        "Try again in a moment. If it keeps happening, the administrator should check sesame's log.",
    )
}

fn authorize_endpoint(st: &State, req: &Request) -> Response {
    let params = req.params();
    let v = match tokio::task::block_in_place(|| authorize::validate(&st.store, params)) {
        Ok(v) => v,
        Err(AuthorizeError::Page {
            title,
            message,
            hint,
        }) => return error_page(st, StatusCode::BAD_REQUEST, &title, &message, &hint),
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        }) => {
            return http::redirect(&authorize::error_redirect(
                &st.issuer,
                &redirect_uri,
                state.as_deref(),
                &error,
            ))
        }
    };
    let session = match session::current(st, req.cookie(&st.cookies.name(SESSION_COOKIE))) {
        Ok(s) => s,
        Err(e) => return storage_failure(st, e),
    };
    let now = clock::now();
    match authorize::decide(&v, session.as_ref(), now) {
        Decision::Issue => {
            let s = session
                .as_ref()
                .map(|s| (s.user_id.clone(), s.auth_time))
                .unwrap_or_default();
            let ttl = st.config.tokens.authorization_code_ttl;
            let code = tokio::task::block_in_place(|| {
                st.store
                    .write(|tx| authorize::issue_code(tx, &v.request, &s.0, s.1, now, ttl))
            });
            match code {
                Ok(code) => {
                    http::redirect(&authorize::success_redirect(&st.issuer, &v.request, &code))
                }
                Err(e) => storage_failure(st, e),
            }
        }
        Decision::LoginRequired => {
            let e = OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in");
            http::redirect(&authorize::error_redirect(
                &st.issuer,
                &v.request.redirect_uri,
                v.request.state.as_deref(),
                &e,
            ))
        }
        Decision::SignIn => {
            // One random value per browser binds its sign-ins to it (see crate::signin).
            let browser = req
                .cookie(&st.cookies.name(INTERACTION_COOKIE))
                .filter(|v| v.len() >= 32)
                .map(str::to_string)
                .unwrap_or_else(crate::crypto::random_token);
            match tokio::task::block_in_place(|| signin::start(st, v.request, &browser)) {
                Ok(id) => {
                    let mut r = http::redirect(&format!(
                        "{}?interaction={id}",
                        st.issuer.local(paths::SIGN_IN)
                    ));
                    http::set_cookie(
                        &mut r,
                        st.cookies
                            .set(INTERACTION_COOKIE, &browser, signin::INTERACTION_TTL),
                    );
                    r
                }
                Err(e) => storage_failure(st, e),
            }
        }
    }
}

/// Runs `f` for an authenticated client (token and revocation endpoints), mapping every
/// failure onto its RFC 6749 error response.
fn with_client(
    st: &State,
    req: &Request,
    f: impl FnOnce(&App, &Params) -> Result<Response, OAuthError>,
) -> Response {
    let params = req.params();
    let creds = match ClientCredentials::from_request(req.header("authorization"), params) {
        Ok(c) => c,
        Err(e) => return e.to_response(req.header("authorization").is_some()),
    };
    let result = tokio::task::block_in_place(|| {
        let app = creds.authenticate(&st.store)?;
        f(&app, params)
    });
    result.unwrap_or_else(|e| {
        tracing::debug!(client_id = %creds.client_id, "request refused: {e}");
        e.to_response(creds.basic)
    })
}

fn token_endpoint(st: &State, req: &Request) -> Response {
    with_client(st, req, |app, params| {
        token::exchange(st, app, params).map(|body| http::json(StatusCode::OK, &body))
    })
}

fn revocation_endpoint(st: &State, req: &Request) -> Response {
    with_client(st, req, |app, params| {
        revoke::revoke(st, app, params).map(|()| http::json(StatusCode::OK, &json!({})))
    })
}

fn userinfo_endpoint(st: &State, req: &Request) -> Response {
    let form = (req.method == Method::POST).then(|| req.params());
    let no_credentials =
        req.header("authorization").is_none() && form.is_none_or(|f| !f.has("access_token"));
    if no_credentials {
        // RFC 6750 §3.1: a request with no credentials gets the challenge without an error code.
        let mut r = http::json(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "invalid_token", "error_description": "no access token: send Authorization: Bearer <token>" }),
        );
        r.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Bearer realm=\"sesame\""),
        );
        return r;
    }
    let result = userinfo::bearer(req.header("authorization"), form)
        .and_then(|t| userinfo::userinfo(st, &t));
    match result {
        Ok(body) => http::json(StatusCode::OK, &body),
        Err(e) => e.to_response(false),
    }
}

fn end_session_endpoint(st: &State, req: &Request) -> Response {
    let params = req.params();
    let cookie = req
        .cookie(&st.cookies.name(SESSION_COOKIE))
        .filter(|c| !c.is_empty());
    let confirming = req.method == Method::POST && params.first("confirm") == Some("1");
    if confirming {
        let ok = cookie.zip(params.first("csrf")).is_some_and(|(c, t)| {
            crate::crypto::constant_time_eq(end_session::confirm_token(c).as_bytes(), t.as_bytes())
        });
        if !ok && cookie.is_some() {
            return error_page(
                st,
                StatusCode::FORBIDDEN,
                "This sign-out form has expired",
                "The form did not come from this browser's current session.",
                "Go back to the app and sign out again.",
            );
        }
    }
    let v = match end_session::validate(st, params) {
        Ok(v) => v,
        Err(e) => {
            return error_page(
                st,
                StatusCode::BAD_REQUEST,
                "This sign-out request is not valid",
                &e.message,
                "Go back to the app; if you run this service, check the app's post-logout redirect URIs.",
            )
        }
    };
    let current = match session::current(st, cookie) {
        Ok(s) => s,
        Err(e) => return storage_failure(st, e),
    };
    // RP-Initiated Logout §2: ask unless the hint is the signed-in user's own ID token.
    let hinted_for_this_user = current
        .as_ref()
        .is_some_and(|s| v.hint_sub.as_deref() == Some(s.user_id.as_str()));
    if current.is_some() && !hinted_for_this_user && !confirming {
        let mut hidden = vec![json!({"name": "confirm", "value": "1"})];
        for name in ["post_logout_redirect_uri", "state"] {
            if let Some(value) = params.first(name) {
                hidden.push(json!({ "name": name, "value": value }));
            }
        }
        if let Some(client_id) = &v.client_id {
            hidden.push(json!({ "name": "client_id", "value": client_id }));
        }
        return page(
            st,
            StatusCode::OK,
            "logout_confirm.html",
            json!({
                "action": st.issuer.local(paths::END_SESSION),
                "csrf": end_session::confirm_token(cookie.unwrap_or_default()),
                "hidden": hidden,
                "app_name": v.app_name,
            }),
        );
    }
    if let Err(e) = tokio::task::block_in_place(|| session::end(st, cookie)) {
        return storage_failure(st, e);
    }
    let mut r = match &v.return_to {
        Some(url) => http::redirect(url),
        None => page(
            st,
            StatusCode::OK,
            "signed_out.html",
            json!({ "message": "You are signed out.", "app_name": v.app_name }),
        ),
    };
    http::set_cookie(&mut r, st.cookies.clear(SESSION_COOKIE));
    r
}
