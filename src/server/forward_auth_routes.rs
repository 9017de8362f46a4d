//! The forward-auth endpoints a reverse proxy calls on every request to a protected host, and
//! the sign-in for a page behind it. Each reads the headers of its proxy's contract into plain
//! strings, calls [`crate::forward_auth`], and answers in that contract's words:
//!
//! | answer          | `/api/authz/forward-auth` (Caddy, Traefik) | `/api/authz/auth-request` (nginx) |
//! |-----------------|--------------------------------------------|-----------------------------------|
//! | let through     | 200 + `Remote-User`, `-Groups`, `-Email`, `-Name` | the same                   |
//! | sign in first   | 302 (GET, HEAD) or 303 to `/sign-in?rd=URL`  | 401 + `Location` (nginx turns it into the redirect) |
//! | refused         | 403 + a page                               | 403 + a page                      |
//! | URL unusable    | 400                                        | 400                               |
//!
//! Both answer whatever method the proxy uses: the original request's method comes in a header.

use super::error_pages::{self, storage_failure};
use super::routes::start_sign_in;
use super::Server;
use crate::forward_auth::{self, Answer, Begin, BeginError, ForwardAuth, Identity, Target};
use crate::http::cookie::SESSION_COOKIE;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::store::SignInFor;
use hyper::header::HeaderValue;
use hyper::StatusCode;

/// How a proxy wants "sign in first" said.
#[derive(Clone, Copy)]
enum SignInAs {
    /// A redirect: 302 when the original request was GET or HEAD, else 303 (so the browser
    /// follows with GET and never re-sends a form to the sign-in page).
    Redirect { get_or_head: bool },
    /// 401 with `Location`: nginx's `auth_request` passes on only the status, and its
    /// `error_page 401 =302 $location` makes the redirect.
    Unauthorized,
}

/// `/api/authz/forward-auth`: the original request from `X-Forwarded-Method`, `-Proto`,
/// `-Host` and `-URI` (`-For` is logged).
pub fn forward_auth(s: &Server, req: &Request) -> Response {
    let Some(fa) = &s.forward_auth else {
        return off();
    };
    let target = Target::from_forwarded(
        req.header("x-forwarded-proto"),
        req.header("x-forwarded-host"),
        req.header("x-forwarded-uri"),
    );
    let method = req
        .header("x-forwarded-method")
        .unwrap_or(req.method.as_str());
    let get_or_head = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    decide(s, fa, req, target, SignInAs::Redirect { get_or_head })
}

/// `/api/authz/auth-request`: the original request from `X-Original-URL` and
/// `X-Original-Method`.
pub fn auth_request(s: &Server, req: &Request) -> Response {
    let Some(fa) = &s.forward_auth else {
        return off();
    };
    let target = Target::from_original_url(req.header("x-original-url"));
    decide(s, fa, req, target, SignInAs::Unauthorized)
}

fn decide(
    s: &Server,
    fa: &ForwardAuth,
    req: &Request,
    target: Result<Target, forward_auth::TargetError>,
    sign_in_as: SignInAs,
) -> Response {
    let client = req.header("x-forwarded-for").unwrap_or("-");
    let target = match target {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(client, "forward-auth refused a request it cannot read: {e}");
            return http::text(StatusCode::BAD_REQUEST, format!("{e}\n"));
        }
    };
    let cookie = req.cookie(&s.cookies.forward_auth_name());
    // One read snapshot, no write and no blocking wait: answered on the connection's task.
    let answer = match forward_auth::check(&s.provider, fa, &target, cookie) {
        Ok(a) => a,
        Err(e) => return storage_failure(s, e),
    };
    match answer {
        Answer::Pass(identity) => pass(identity.as_ref()),
        Answer::SignIn(back) => {
            // A miss costs a redirect, and a sign-in if followed: counted per client.
            if let Err(r) = super::limited::check(s, req, crate::limits::Kind::ForwardAuthMiss) {
                return *r;
            }
            sign_in(s, back.as_str(), sign_in_as)
        }
        Answer::Forbidden { signed_in, rule } => {
            let user = signed_in.as_ref().map_or("-", |i| i.user.as_str());
            let rule = rule.map_or_else(
                || "none (default deny)".to_string(),
                |i| format!("access[{i}]"),
            );
            tracing::info!(client, user, host = %target.host, path = %target.path, %rule, "forward-auth: refused");
            let switch = sign_in_url(s, target.url.as_str(), true);
            error_pages::forward_auth_forbidden(s, &target.host, signed_in.as_ref(), &switch)
        }
        Answer::CannotReturn(e) => {
            tracing::warn!(client, host = %target.host, "forward-auth: a sign-in is needed but could not return: {e}");
            error_pages::forward_auth_cannot_return(s, &target.host, &e)
        }
    }
}

/// 200 with who it is; the proxy copies these onto the request it forwards (and its
/// configuration drops any the client sent). Nobody signed in (a bypass) gets the four headers
/// empty rather than absent: Caddy 2.6's `copy_headers` forwards a header the answer lacks as
/// its unreplaced placeholder text (`{http.reverse_proxy.header.Remote-User}`), which an app
/// could take for a user name; an empty one it forwards empty, and nginx not at all.
fn pass(identity: Option<&Identity>) -> Response {
    let mut r = http::text(StatusCode::OK, "");
    let empty = String::new();
    let values = match identity {
        Some(who) => [&who.user, &who.groups, &who.email, &who.name],
        None => [&empty; 4],
    };
    let h = r.headers_mut();
    for (name, value) in REMOTE_HEADERS.into_iter().zip(values) {
        // UTF-8 names travel as they are (obs-text); a value with a control character (none
        // can be stored, but) is left out rather than sent broken.
        if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
            h.insert(name, v);
        }
    }
    r
}

/// The identity headers, in Authelia's names.
const REMOTE_HEADERS: [&str; 4] = [
    "remote-user",
    "remote-groups",
    "remote-email",
    "remote-name",
];

/// sesame's sign-in for `url`, as an absolute URL (the browser is on another host).
/// `another_account`: sign in again even when sesame knows this browser.
fn sign_in_url(s: &Server, url: &str, another_account: bool) -> String {
    let rd: String = form_urlencoded::byte_serialize(url.as_bytes()).collect();
    let prompt = if another_account { "&prompt=login" } else { "" };
    format!(
        "{}?rd={rd}{prompt}",
        s.provider.issuer.endpoint(paths::SIGN_IN)
    )
}

fn sign_in(s: &Server, back: &str, sign_in_as: SignInAs) -> Response {
    let location = sign_in_url(s, back, false);
    let mut r = http::redirect(&location);
    *r.status_mut() = match sign_in_as {
        SignInAs::Redirect { get_or_head: true } => StatusCode::FOUND,
        SignInAs::Redirect { get_or_head: false } => StatusCode::SEE_OTHER,
        SignInAs::Unauthorized => StatusCode::UNAUTHORIZED,
    };
    r
}

fn off() -> Response {
    http::text(
        StatusCode::NOT_FOUND,
        "forward-auth is off: set [forward_auth] cookie_domain and [[access]] rules in sesame.toml\n",
    )
}

/// `GET /sign-in?rd=URL[&prompt=login]`: a sign-in for a page behind the proxy. A browser
/// signed in to sesame gets its forward-auth cookie at once; otherwise the email-code sign-in
/// starts, for this URL.
pub fn begin(s: &Server, req: &Request) -> Response {
    let Some(fa) = &s.forward_auth else {
        return error_pages::forward_auth_off(s);
    };
    let query = req.query();
    // A repeated rd is refused: which one a check read and which one a redirect used must
    // never differ.
    let Ok(Some(rd)) = query.get("rd") else {
        return error_pages::return_to_refused(s, None);
    };
    let another_account = query.first("prompt") == Some("login");
    let session = req.cookie(&s.cookies.name(SESSION_COOKIE));
    let begun = tokio::task::block_in_place(|| {
        forward_auth::begin(&s.provider, fa, rd, session, another_account)
    });
    match begun {
        Ok(Begin::Resume {
            session,
            max_age,
            back,
        }) => {
            let mut r = http::redirect(back.as_str());
            let cookie = s
                .cookies
                .set_forward_auth(fa.cookie_domain.as_str(), &session, max_age);
            http::set_cookie(&mut r, cookie);
            r
        }
        Ok(Begin::SignIn(back)) => {
            let purpose = SignInFor::ReturnTo(back.as_str().to_string());
            match start_sign_in(s, req, purpose) {
                Ok((id, cookie)) => {
                    let mut r = http::redirect(&format!(
                        "{}?interaction={id}",
                        s.provider.issuer.local(paths::SIGN_IN)
                    ));
                    http::set_cookie(&mut r, cookie);
                    r
                }
                Err(r) => *r,
            }
        }
        Err(BeginError::ReturnTo(e)) => error_pages::return_to_refused(s, Some(&e)),
        Err(BeginError::Store(e)) => storage_failure(s, e),
    }
}

/// After the right code in a sign-in for a page: the forward-auth cookie, and back to the page.
pub fn signed_in(s: &Server, url: &str, session: &str) -> Response {
    let mut r = http::redirect(url);
    // Forward-auth may have been turned off since the sign-in began: then there is no domain
    // to set the cookie for, and the page will say so itself.
    if let Some(fa) = &s.forward_auth {
        let cookie = s.cookies.set_forward_auth(
            fa.cookie_domain.as_str(),
            session,
            s.provider.tokens.session_ttl,
        );
        http::set_cookie(&mut r, cookie);
    }
    r
}

/// Signing out of sesame signs out of forward-auth too: the session its cookie names ends, and
/// the cookie goes (the browser sends it to sesame, which is under the cookie domain).
pub fn sign_out(s: &Server, req: &Request, r: &mut Response) {
    let Some(fa) = &s.forward_auth else {
        return;
    };
    let cookie = req.cookie(&s.cookies.forward_auth_name());
    if cookie.is_some() {
        if let Err(e) = tokio::task::block_in_place(|| crate::session::end(&s.provider, cookie)) {
            tracing::warn!("could not end the forward-auth session at sign-out: {e}");
        }
        http::set_cookie(r, s.cookies.clear_forward_auth(fa.cookie_domain.as_str()));
    }
}

#[cfg(test)]
mod tests;
