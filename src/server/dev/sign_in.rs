//! `/dev/sign-in`: the page `sesame dev` shows instead of the email page. Each handler loads
//! the interaction and checks the browser binding and CSRF token as the email pages do, then
//! calls [`crate::signin::dev`].

use super::super::error_pages;
use super::super::routes::not_allowed;
use super::super::Server;
use crate::apps::dev::DevMode;
use crate::http::cookie::{INTERACTION_COOKIE, SESSION_COOKIE};
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::signin::dev::{self as core, DevSignInError, Persona};
use crate::signin::{self, Next, SignInError};
use crate::store::{Interaction, Reads};
use hyper::StatusCode;
use serde_json::{json, Value};

/// What the form showed, to show again with an error.
#[derive(Default)]
struct Typed {
    email: String,
    name: String,
    username: String,
    groups: String,
    claims: String,
}

/// GET /dev/sign-in: the personas, the form, Deny and Error.
pub fn page(s: &Server, req: &Request) -> Response {
    let (id, i) = match load(s, req, false) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let typed = Typed {
        email: i
            .app_request()
            .and_then(|r| r.login_hint.clone())
            .unwrap_or_default(),
        ..Typed::default()
    };
    render(s, StatusCode::OK, &id, &i, &typed, None)
}

/// POST /dev/sign-in: `action` is `persona` (with `persona`), `sign_in` (the form), `deny` or
/// `error` (with `error` and `error_description`).
pub fn submit(s: &Server, dev: &DevMode, req: &Request) -> Response {
    let (id, i) = match load(s, req, true) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let form = req.params();
    if let Err(e) = signin::check_csrf(&i, form.first("csrf")) {
        return error_pages::sign_in(s, e, None);
    }
    let field = |name: &str| form.first(name).unwrap_or("").to_string();
    let typed = Typed {
        email: field("email"),
        name: field("name"),
        username: field("username"),
        groups: field("groups"),
        claims: field("claims"),
    };
    let persona = match choice(s, &field, &typed) {
        Choice::Answer(error) => return answer(s, dev, &id, &error),
        Choice::Refused(msg) => {
            return render(s, StatusCode::BAD_REQUEST, &id, &i, &typed, Some(msg))
        }
        Choice::SignIn(persona) => persona,
    };
    let result = persona.and_then(|persona| {
        tokio::task::block_in_place(|| {
            let old = req.cookie(&s.cookies.name(SESSION_COOKIE));
            core::sign_in_as(&s.provider, dev, &id, &persona, old)
        })
    });
    match result {
        Ok(done) => {
            let mut r = match done.next {
                Next::Redirect(url) => http::redirect(&url),
                Next::NotAllowed { app_name, request } => not_allowed(s, req, &app_name, request),
                Next::ReturnTo {
                    url,
                    forward_auth_session,
                } => crate::server::forward_auth_routes::signed_in(s, &url, &forward_auth_session),
                Next::Account => http::redirect(&s.provider.issuer.local(paths::ACCOUNT)),
                Next::Console(back) => http::redirect(&crate::server::console::url(s, &back)),
                Next::SecondFactor => http::redirect(&format!(
                    "{}?interaction={id}",
                    s.provider.issuer.local(paths::SIGN_IN_SECOND)
                )),
                Next::Device { user_code } => {
                    http::redirect(&crate::server::device_routes::page_url(s, &user_code))
                }
            };
            let ttl = s.provider.tokens.session_ttl;
            http::set_cookie(
                &mut r,
                s.cookies.set(SESSION_COOKIE, &done.session_cookie, ttl),
            );
            r
        }
        Err(DevSignInError::Expired) => error_pages::sign_in(s, SignInError::Expired, None),
        Err(DevSignInError::Store(e)) => error_pages::storage_failure(s, e),
        Err(e) => render(
            s,
            StatusCode::BAD_REQUEST,
            &id,
            &i,
            &typed,
            Some(e.to_string()),
        ),
    }
}

/// What a posted dev form asks for.
enum Choice {
    /// Deny or Error: send this back to the app.
    Answer(OAuthError),
    /// Sign in as this persona (or why it does not parse).
    SignIn(Result<Persona, DevSignInError>),
    /// Nothing that can be done: say why on the form.
    Refused(String),
}

/// Reads the form's `action` (and what goes with it) into a [`Choice`].
fn choice(s: &Server, field: &impl Fn(&str) -> String, typed: &Typed) -> Choice {
    match field("action").as_str() {
        "deny" => Choice::Answer(core::denied()),
        "error" => match ErrorCode::authorization_error(&field("error")) {
            Some(code) => {
                let description = match field("error_description") {
                    d if d.trim().is_empty() => "sesame dev was asked to fail".to_string(),
                    d => d,
                };
                Choice::Answer(OAuthError::new(code, description))
            }
            None => Choice::Refused("Choose one of the listed error codes.".into()),
        },
        "persona" => {
            let name = field("persona");
            match s.config.dev.users.get(&name) {
                Some(user) => Choice::SignIn(Persona::from_preset(user)),
                None => Choice::Refused(format!("There is no persona {name:?} in [dev.users].")),
            }
        }
        _ => Choice::SignIn(Persona::from_form(
            &typed.email,
            &typed.name,
            &typed.username,
            &typed.groups,
            &typed.claims,
        )),
    }
}

/// Ends the sign-in with `error` sent back to the app.
fn answer(s: &Server, dev: &DevMode, id: &str, error: &OAuthError) -> Response {
    let result =
        tokio::task::block_in_place(|| core::answer_with_error(&s.provider, dev, id, error));
    match result {
        Ok(url) => http::redirect(&url),
        Err(DevSignInError::Store(e)) => error_pages::storage_failure(s, e),
        Err(_) => error_pages::sign_in(s, SignInError::Expired, None),
    }
}

/// Loads the interaction named by the request (query for GET, form for POST), bound to this
/// browser, or the page explaining why not.
fn load(
    s: &Server,
    req: &Request,
    from_form: bool,
) -> Result<(String, Interaction), Box<Response>> {
    let params = if from_form { req.params() } else { req.query() };
    let id = params.first("interaction").unwrap_or("").to_string();
    let browser = req.cookie(&s.cookies.name(INTERACTION_COOKIE));
    match signin::load(&s.provider, &id, browser) {
        Ok(i) => Ok((id, i)),
        Err(e) => Err(Box::new(error_pages::sign_in(s, e, None))),
    }
}

fn render(
    s: &Server,
    status: StatusCode,
    id: &str,
    i: &Interaction,
    typed: &Typed,
    error: Option<String>,
) -> Response {
    let (client_id, redirect_uri) = i
        .app_request()
        .map(|r| (r.client_id.clone(), r.redirect_uri.clone()))
        .unwrap_or_default();
    let app_name = s
        .provider
        .store
        .read(|tx| tx.app(&client_id))
        .ok()
        .flatten()
        .map(|a| a.name)
        .filter(|n| *n != client_id);
    let personas: Vec<Value> = s
        .config
        .dev
        .users
        .iter()
        .map(|(key, u)| json!({ "key": key, "email": u.email, "groups": u.groups.join(", ") }))
        .collect();
    let codes: Vec<&str> = ErrorCode::AUTHORIZATION_ERRORS
        .iter()
        .map(|c| c.as_str())
        .collect();
    error_pages::page(
        s,
        status,
        "dev_sign_in.html",
        json!({
            "action": s.provider.issuer.local(paths::DEV_SIGN_IN),
            "interaction": id,
            "csrf": i.csrf,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "app_name": app_name,
            "personas": personas,
            "email": typed.email,
            "name": typed.name,
            "username": typed.username,
            "groups": typed.groups,
            "claims": typed.claims,
            "error": error,
            "error_codes": codes,
            "email_url": format!("{}?interaction={id}", s.provider.issuer.local(paths::SIGN_IN)),
        }),
    )
}
