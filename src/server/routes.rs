//! The thin protocol handlers: each parses what HTTP carries (cookies, headers, the form),
//! calls the core, and turns the result into HTTP.

use super::error_pages::{self, page, storage_failure};
use super::protocol_errors;
use super::Server;
use crate::http::cookie::{INTERACTION_COOKIE, SESSION_COOKIE};
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::oidc::authorize::{self, AuthorizeError, Outcome};
use crate::oidc::client::ClientCredentials;
use crate::oidc::end_session::{self, LogoutOutcome};
use crate::oidc::{discovery, introspect, revoke, token, userinfo, OAuthError, Params};
use crate::signin;
use crate::store::{App, Pending, SignInFor};
use hyper::header::HeaderValue;
use hyper::{Method, StatusCode};
use serde_json::json;

/// Browser apps (SPAs) call these endpoints cross-origin; they carry no cookies, so any origin
/// may call them.
pub fn cors(mut r: Response) -> Response {
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

/// A known endpoint asked with a method it does not answer.
pub fn method_not_allowed(m: &Method) -> Response {
    let mut r = protocol_errors::response(
        &OAuthError::invalid_request(format!("method {m} is not allowed here")),
        false,
    );
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

pub fn discovery(s: &Server) -> Response {
    cors(http::json_cacheable(
        &discovery::metadata(&s.provider.issuer),
        300,
    ))
}

pub fn jwks(s: &Server) -> Response {
    cors(http::json_cacheable(&s.provider.keys().jwks(), 300))
}

pub fn static_file(s: &Server, name: &str) -> Response {
    match name {
        "theme.css" => {
            return http::asset(
                s.provider.experience().branding.accent_css().into(),
                "text/css; charset=utf-8",
            )
        }
        "favicon.svg" => {
            return http::asset(
                s.provider.experience().branding.favicon_svg().into(),
                "image/svg+xml",
            )
        }
        "logo" => {
            return match s.pages.logo() {
                Some((bytes, ty)) => http::image(bytes.to_vec().into(), ty),
                None => http::text(StatusCode::NOT_FOUND, "not found: no branding.logo_file\n"),
            }
        }
        _ => {}
    }
    if let Some(css) = crate::pages::countdown_css(name) {
        return http::asset(css.into(), "text/css; charset=utf-8");
    }
    match crate::pages::static_asset(name) {
        Some((bytes, ct)) => http::asset(bytes.into_owned().into(), ct),
        None => http::text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// `/`: what this service is, for someone who opens its address.
pub fn home(s: &Server) -> Response {
    page(
        s,
        StatusCode::OK,
        "home.html",
        json!({
            "discovery_url": s.provider.issuer.endpoint(paths::DISCOVERY),
            "account_url": s.provider.issuer.local(paths::ACCOUNT),
            "console_url": s.provider.issuer.local(paths::CONSOLE),
        }),
    )
}

pub fn authorize(s: &Server, req: &Request) -> Response {
    let p = &*s.provider;
    let session = req.cookie(&s.cookies.name(SESSION_COOKIE));
    let outcome = tokio::task::block_in_place(|| authorize::authorize(p, req.params(), session));
    match outcome {
        Ok(Outcome::Redirect(url)) => http::redirect(&url),
        Ok(Outcome::SignIn(request)) => match start_sign_in(s, req, SignInFor::App(request)) {
            Ok((id, cookie)) => {
                let mut r = http::redirect(&sign_in_url(s, &id));
                http::set_cookie(&mut r, cookie);
                r
            }
            Err(r) => *r,
        },
        Ok(Outcome::NotAllowed { app_name, request }) => not_allowed(s, req, &app_name, request),
        Ok(Outcome::SelectAccount(request)) => {
            match start_sign_in(s, req, SignInFor::App(request)) {
                Ok((id, cookie)) => {
                    let url = format!(
                        "{}?interaction={id}",
                        s.provider.issuer.local(paths::SIGN_IN_CONTINUE)
                    );
                    let mut r = http::redirect(&url);
                    http::set_cookie(&mut r, cookie);
                    r
                }
                Err(r) => *r,
            }
        }
        Ok(Outcome::StepUp(request)) => step_up(s, req, SignInFor::App(request)),
        Err(AuthorizeError::Untrusted(u)) => error_pages::untrusted(s, &u),
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        }) => http::redirect(&authorize::error_redirect(
            &p.issuer,
            &redirect_uri,
            state.as_deref(),
            &error,
        )),
        Err(AuthorizeError::Store(e)) => storage_failure(s, e),
    }
}

/// The page that signs in for interaction `id`: the email page, or under `sesame dev` its own
/// sign-in page.
fn sign_in_url(s: &Server, id: &str) -> String {
    let path = match s.provider.dev {
        Some(_) => paths::DEV_SIGN_IN,
        None => paths::SIGN_IN,
    };
    format!("{}?interaction={id}", s.provider.issuer.local(path))
}

/// Starts a sign-in by email code for `purpose` (the account page, the console, the first
/// administrator: ends sesame fixes itself) and sends the browser to its first page.
pub fn email_sign_in(s: &Server, req: &Request, purpose: SignInFor) -> Response {
    match start_sign_in(s, req, purpose) {
        Ok((id, cookie)) => {
            let to = format!(
                "{}?interaction={id}",
                s.provider.issuer.local(paths::SIGN_IN)
            );
            let mut r = http::redirect(&to);
            http::set_cookie(&mut r, cookie);
            r
        }
        Err(r) => *r,
    }
}

/// Starts a sign-in for an app's request or a page behind the proxy in this browser: returns
/// the interaction's ID and the `Set-Cookie` value binding it to the browser, or the page
/// saying why not (this client started too many, or storage failed).
pub fn start_sign_in(
    s: &Server,
    req: &Request,
    purpose: SignInFor,
) -> Result<(String, String), Box<Response>> {
    start_sign_in_at(s, req, purpose, None)
}

/// [`start_sign_in`], at the second step `second` when one factor is proved already.
fn start_sign_in_at(
    s: &Server,
    req: &Request,
    purpose: SignInFor,
    second: Option<crate::store::SecondStep>,
) -> Result<(String, String), Box<Response>> {
    super::limited::check(s, req, crate::limits::Kind::PendingSignIns)?;
    // One value per browser binds its sign-ins to it (see crate::signin); sesame made it.
    let browser = s
        .browser_ids
        .adopt_or_mint(req.cookie(&s.cookies.name(INTERACTION_COOKIE)));
    let id =
        tokio::task::block_in_place(|| signin::start_at(&s.provider, purpose, &browser, second))
            .map_err(|e| Box::new(storage_failure(s, e)))?;
    let cookie = s
        .cookies
        .set(INTERACTION_COOKIE, &browser, signin::INTERACTION_TTL);
    Ok((id, cookie))
}

/// A sign-in for `purpose` by this browser's signed-in user, whose sign-in used one factor
/// where two are needed: it starts at the second step (the page asks for a passkey or a code,
/// or sets one up). Signed out meanwhile: the email page.
pub fn step_up(s: &Server, req: &Request, purpose: SignInFor) -> Response {
    let cookie = req.cookie(&s.cookies.name(SESSION_COOKIE));
    let signed_in = tokio::task::block_in_place(|| {
        crate::session::signed_in(&s.provider, cookie, crate::store::SessionKind::Sesame)
    });
    let second = match signed_in {
        Ok(Some((session, user))) => signin::second::step_up(&session, &user),
        Ok(None) => None,
        Err(e) => return storage_failure(s, e),
    };
    let at_second = second.is_some();
    match start_sign_in_at(s, req, purpose, second) {
        Ok((id, cookie)) => {
            let to = if at_second {
                super::second_routes::second_url(s, &id)
            } else {
                sign_in_url(s, &id)
            };
            let mut r = http::redirect(&to);
            http::set_cookie(&mut r, cookie);
            r
        }
        Err(r) => *r,
    }
}

/// "Your account can't use this app", with a way to sign in with another account for the
/// same request.
pub fn not_allowed(
    s: &Server,
    req: &Request,
    app_name: &str,
    request: crate::store::AuthRequest,
) -> Response {
    match start_sign_in(s, req, SignInFor::App(request)) {
        Ok((id, cookie)) => {
            let switch = sign_in_url(s, &id);
            let mut r = error_pages::not_allowed(s, app_name, &switch);
            http::set_cookie(&mut r, cookie);
            r
        }
        Err(r) => *r,
    }
}

/// The client's credentials, or the response refusing them (token and revocation endpoints).
fn client_credentials(req: &Request) -> Result<ClientCredentials, Box<Response>> {
    ClientCredentials::from_request(req.header("authorization"), req.params()).map_err(|e| {
        Box::new(protocol_errors::response(
            &e,
            req.header("authorization").is_some(),
        ))
    })
}

/// Maps a client endpoint's outcome onto HTTP: every failure onto its RFC 6749 error response.
fn client_answer(creds: &ClientCredentials, result: Result<Response, OAuthError>) -> Response {
    result.unwrap_or_else(|e| {
        tracing::debug!(client_id = %creds.client_id, "request refused: {e}");
        protocol_errors::response(&e, creds.basic)
    })
}

/// Runs `f` for an authenticated client (revocation, introspection, device authorization,
/// pushed requests).
pub(super) fn with_client(
    s: &Server,
    req: &Request,
    f: impl FnOnce(&App, &Params) -> Result<Response, OAuthError>,
) -> Response {
    let creds = match client_credentials(req) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let result = tokio::task::block_in_place(|| {
        let app = creds.authenticate(&s.provider)?;
        f(&app, req.params())
    });
    client_answer(&creds, result)
}

/// The token endpoint. The grant commits (without durability) and the ID token is signed on
/// the async worker itself: no hand-off to a blocking thread. A writer may queue behind the
/// commit thread's fsync (redb serialises write transactions), which blocks this worker for at
/// most that one fsync; measured, that costs less than `block_in_place` did (benches/README.md,
/// "Issue 10"). Then the wait for durability holds no thread. Nothing is sent before what the
/// answer acknowledges (tokens issued, or a family revoked) is durable.
pub async fn token(s: &Server, req: &Request) -> Response {
    let creds = match client_credentials(req) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let (answer, pending) = match creds.authenticate(&s.provider) {
        Ok(app) => token::exchange_pending(&s.provider, &app, req.params()),
        Err(e) => (Err(e), Pending::none()),
    };
    let answer = match s.provider.store.durable(pending).await {
        Ok(()) => answer,
        Err(e) => Err(e.into()),
    };
    client_answer(&creds, answer.map(|body| http::json(StatusCode::OK, &body)))
}

pub fn revocation(s: &Server, req: &Request) -> Response {
    with_client(s, req, |app, params| {
        revoke::revoke(&s.provider, app, params).map(|()| http::json(StatusCode::OK, &json!({})))
    })
}

pub fn introspection(s: &Server, req: &Request) -> Response {
    with_client(s, req, |app, params| {
        introspect::introspect(&s.provider, app, params)
            .map(|body| http::json(StatusCode::OK, &body))
    })
}

pub fn userinfo(s: &Server, req: &Request) -> Response {
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
        .and_then(|t| userinfo::userinfo(&s.provider, &t));
    match result {
        Ok(body) => http::json(StatusCode::OK, &body),
        Err(e) => protocol_errors::response(&e, false),
    }
}

/// The end-session request again, as a GET carrying what it named (the endpoint validates it
/// all again): the way on from a confirmation form that expired.
fn end_session_again(s: &Server, params: &Params) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for name in ["client_id", "post_logout_redirect_uri", "state"] {
        if let Some(value) = params.first(name) {
            query.append_pair(name, value);
        }
    }
    let query = query.finish();
    let path = s.provider.issuer.local(paths::END_SESSION);
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

pub fn end_session(s: &Server, req: &Request) -> Response {
    let params = req.params();
    let cookie = req.cookie(&s.cookies.name(SESSION_COOKIE));
    let confirming = req.method == Method::POST && params.first("confirm") == Some("1");
    let confirm = confirming.then(|| params.first("csrf"));
    let outcome = tokio::task::block_in_place(|| {
        end_session::end_session(&s.provider, params, cookie, confirm)
    });
    match outcome {
        Ok(LogoutOutcome::Confirm { request: v, csrf }) => {
            let mut hidden = vec![json!({"name": "confirm", "value": "1"})];
            for name in ["post_logout_redirect_uri", "state"] {
                if let Some(value) = params.first(name) {
                    hidden.push(json!({ "name": name, "value": value }));
                }
            }
            if let Some(client_id) = &v.client_id {
                hidden.push(json!({ "name": "client_id", "value": client_id }));
            }
            // Staying signed in goes where signing out would have (a registered post-logout
            // URI, checked above), or to this service's own front page: never elsewhere.
            let stay_url = v
                .return_to
                .clone()
                .unwrap_or_else(|| s.provider.issuer.local("/"));
            page(
                s,
                StatusCode::OK,
                "logout_confirm.html",
                json!({
                    "action": s.provider.issuer.local(paths::END_SESSION),
                    "csrf": csrf,
                    "hidden": hidden,
                    "app_name": v.app_name,
                    "stay_url": stay_url,
                }),
            )
        }
        Ok(LogoutOutcome::SignedOut(v)) => {
            let mut r = match &v.return_to {
                Some(url) => http::redirect(url),
                None => page(
                    s,
                    StatusCode::OK,
                    "signed_out.html",
                    json!({
                        "message": format!(
                            "To use apps that sign in with {} again, you will need a new code.",
                            s.provider.product_name()
                        ),
                        "app_name": v.app_name,
                    }),
                ),
            };
            http::set_cookie(&mut r, s.cookies.clear(SESSION_COOKIE));
            super::forward_auth_routes::sign_out(s, req, &mut r);
            r
        }
        Err(e) => error_pages::logout(s, &e, &end_session_again(s, params)),
    }
}
