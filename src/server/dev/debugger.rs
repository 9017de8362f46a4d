//! `/dev/debugger`: runs the authorization code flow with PKCE against a client, as an app
//! would, and shows the decoded ID token, the access token and the userinfo answer. Forms only
//! (the pages' CSP forbids scripts):
//!
//! ```text
//!  GET /dev/debugger ── form (client ID, secret, scope)
//!  POST /dev/debugger ── state, nonce, PKCE verifier kept here ──303──▶ /auth?... (the real one)
//!        ... the dev sign-in page ...
//!  GET /dev/debugger/callback?code&state ── the token request (client authentication and the
//!        authorization_code grant, the code the token endpoint runs), the ID token's signature
//!        checked against the JWKS, userinfo ──▶ the results page
//! ```
//!
//! A started run waits in memory ([`Debugger`]), at most [`MAX_RUNS`] of them (the oldest go),
//! until its callback: nothing of it is stored.

use super::super::error_pages;
use super::super::Server;
use crate::apps::dev::{DEV_CLIENT_ID, DEV_CLIENT_SECRET};
use crate::crypto;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::oidc::authorize::with_query;
use crate::oidc::client::ClientCredentials;
use crate::oidc::{token, userinfo, OAuthError, Params};
use hyper::StatusCode;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Mutex;

/// Runs started and not yet called back.
pub const MAX_RUNS: usize = 64;
/// The scope the form starts with: everything sesame releases.
const DEFAULT_SCOPE: &str = "openid profile email groups offline_access";

/// The debugger's runs in progress, by `state`.
#[derive(Default)]
pub struct Debugger {
    runs: Mutex<VecDeque<(String, Run)>>,
}

/// One started flow: what the callback needs to finish it.
#[derive(Clone)]
struct Run {
    client_id: String,
    client_secret: Option<String>,
    verifier: String,
    nonce: String,
}

impl Debugger {
    fn keep(&self, state: String, run: Run) {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        if runs.len() >= MAX_RUNS {
            runs.pop_front();
        }
        runs.push_back((state, run));
    }

    fn take(&self, state: &str) -> Option<Run> {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let at = runs.iter().position(|(s, _)| s == state)?;
        runs.remove(at).map(|(_, run)| run)
    }
}

/// GET /dev/debugger: the form, filled with the printed app.
pub fn page(s: &Server) -> Response {
    render(
        s,
        StatusCode::OK,
        DEV_CLIENT_ID,
        DEV_CLIENT_SECRET,
        DEFAULT_SCOPE,
        None,
        None,
    )
}

/// POST /dev/debugger: starts a flow and sends the browser to the authorization endpoint.
pub fn start(s: &Server, req: &Request) -> Response {
    let form = req.params();
    let client_id = form
        .first("client_id")
        .unwrap_or(DEV_CLIENT_ID)
        .trim()
        .to_string();
    let scope = form
        .first("scope")
        .unwrap_or(DEFAULT_SCOPE)
        .trim()
        .to_string();
    let run = Run {
        client_id: client_id.clone(),
        client_secret: form.first("client_secret").map(str::to_string),
        verifier: crypto::random_token(),
        nonce: crypto::random_token(),
    };
    let challenge = crypto::b64url(
        ring::digest::digest(&ring::digest::SHA256, run.verifier.as_bytes()).as_ref(),
    );
    let state = crypto::random_token();
    let url = with_query(
        &s.provider.issuer.endpoint(paths::AUTHORIZE),
        &[
            ("client_id", &client_id),
            ("redirect_uri", &callback_uri(s)),
            ("response_type", "code"),
            ("scope", &scope),
            ("state", &state),
            ("nonce", &run.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    s.debugger.keep(state, run);
    http::redirect(&url)
}

/// GET /dev/debugger/callback: finishes the flow and shows what came back.
pub fn callback(s: &Server, req: &Request) -> Response {
    let q = req.query();
    let Some(run) = q.first("state").and_then(|st| s.debugger.take(st)) else {
        let msg = "This callback matches no flow the debugger started (or it was used already): start again.";
        return again(s, StatusCode::BAD_REQUEST, None, msg.into());
    };
    if let Some(error) = q.first("error") {
        let description = q.first("error_description").unwrap_or("");
        let msg = format!("The authorization endpoint answered error={error}: {description}");
        return again(s, StatusCode::OK, Some(&run), msg);
    }
    let Some(code) = q.first("code") else {
        return again(
            s,
            StatusCode::BAD_REQUEST,
            Some(&run),
            "The callback has no code.".into(),
        );
    };
    match tokio::task::block_in_place(|| exchange(s, &run, code)) {
        Ok(result) => render(
            s,
            StatusCode::OK,
            &run.client_id,
            run.client_secret.as_deref().unwrap_or(""),
            DEFAULT_SCOPE,
            None,
            Some(result),
        ),
        Err(e) => again(
            s,
            StatusCode::OK,
            Some(&run),
            format!("The token request failed: {e}"),
        ),
    }
}

/// The token request, the ID token's checks and userinfo, through the code the endpoints run.
fn exchange(s: &Server, run: &Run, code: &str) -> Result<Value, OAuthError> {
    let p = &s.provider;
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &callback_uri(s))
        .append_pair("code_verifier", &run.verifier)
        .finish();
    let creds = ClientCredentials {
        client_id: run.client_id.clone(),
        secret: run.client_secret.clone().filter(|c| !c.is_empty()),
        basic: false,
    };
    let app = creds.authenticate(p)?;
    let tokens = token::exchange(p, &app, &Params::parse(body.as_bytes()))?;
    let id_token = tokens["id_token"].as_str().unwrap_or("");
    let access_token = tokens["access_token"].as_str().unwrap_or("");
    let signature = match p.keys().verify_jwt(id_token) {
        Ok(claims) if claims["nonce"] == run.nonce.as_str() => {
            "Signature verified against the JWKS; the nonce matches.".to_string()
        }
        Ok(_) => "Signature verified against the JWKS, but the nonce does not match!".to_string(),
        Err(e) => format!("The signature did NOT verify: {e}"),
    };
    let userinfo = userinfo::userinfo(p, access_token).unwrap_or_else(
        |e| json!({ "error": e.code.as_str(), "error_description": e.description }),
    );
    Ok(json!({
        "header": pretty(&jwt_part(id_token, 0)),
        "claims": pretty(&jwt_part(id_token, 1)),
        "signature": signature,
        "access_token": access_token,
        "refresh_token": tokens["refresh_token"].as_str(),
        "userinfo": pretty(&userinfo),
        "token_response": pretty(&tokens),
    }))
}

/// The form again, filled as the run had it, with a message.
fn again(s: &Server, status: StatusCode, run: Option<&Run>, message: String) -> Response {
    let (id, secret) = match run {
        Some(r) => (
            r.client_id.as_str(),
            r.client_secret.as_deref().unwrap_or(""),
        ),
        None => (DEV_CLIENT_ID, DEV_CLIENT_SECRET),
    };
    render(s, status, id, secret, DEFAULT_SCOPE, Some(message), None)
}

fn render(
    s: &Server,
    status: StatusCode,
    client_id: &str,
    client_secret: &str,
    scope: &str,
    error: Option<String>,
    result: Option<Value>,
) -> Response {
    error_pages::page(
        s,
        status,
        "dev_debugger.html",
        json!({
            "action": s.provider.issuer.local(paths::DEV_DEBUGGER),
            "redirect_uri": callback_uri(s),
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
            "error": error,
            "result": result,
        }),
    )
}

fn callback_uri(s: &Server) -> String {
    s.provider.issuer.endpoint(paths::DEV_DEBUGGER_CALLBACK)
}

/// A JWT's header (0) or payload (1), decoded; what could not be decoded says so.
fn jwt_part(jwt: &str, index: usize) -> Value {
    jwt.split('.')
        .nth(index)
        .and_then(crypto::b64url_decode)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| json!("(not a JWT part)"))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}
