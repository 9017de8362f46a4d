//! The account page's passkeys: add one (the page's script asks the browser), rename, remove.
//!
//! - `POST /account/passkeys/options`: the JSON options for `navigator.credentials.create`,
//!   with a challenge kept for the user (5 minutes, one use).
//! - `POST /account/passkeys`: the browser's answer (`credential`, JSON) and a name.
//! - `POST /account/passkeys/rename`, `/account/passkeys/remove`: by credential ID.
//!
//! Every form carries the account page's CSRF token. Adding and removing need a recent
//! sign-in, as the account page's other second-factor changes do (a stolen session cookie must
//! not be able to swap the account's passkeys).

use super::factors::is_fresh;
use super::{back, bad_csrf, csrf_of, sign_in_first, signed_in};
use crate::audit::Actor;
use crate::factors::passkeys::{self, PasskeyError, RegistrationResponse};
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::server::error_pages::storage_failure;
use crate::server::Server;
use crate::store::User;
use hyper::StatusCode;
use serde_json::json;

/// Whether `path` (below `/account`) is one of these forms.
pub fn handles(path: &str) -> bool {
    matches!(
        path,
        "/passkeys" | "/passkeys/options" | "/passkeys/rename" | "/passkeys/remove"
    )
}

/// The passkeys of the account page, as it shows them.
pub fn list_json(
    s: &Server,
    user_id: &str,
) -> Result<Vec<serde_json::Value>, crate::store::StoreError> {
    Ok(passkeys::list(&s.provider, user_id)?
        .into_iter()
        .map(|pk| {
            json!({
                "id": pk.credential_id,
                "name": pk.name,
                "alg": pk.alg,
                "synced": pk.backed_up,
                "added": crate::clock::utc(pk.created_at),
                "last_used": pk.last_used_at.map(crate::clock::utc),
            })
        })
        .collect())
}

/// Whether passkeys work with this issuer (a domain name, not an IP address).
pub fn relying_party_ok(s: &Server) -> bool {
    passkeys::relying_party(&s.provider.issuer).is_some()
}

/// The options URL and form action the page's passkey form uses.
pub fn page_json(s: &Server) -> serde_json::Value {
    let issuer = &s.provider.issuer;
    json!({
        "available": passkeys::relying_party(issuer).is_some(),
        "options": issuer.local(&format!("{}/passkeys/options", paths::ACCOUNT)),
        "action": issuer.local(&format!("{}/passkeys", paths::ACCOUNT)),
        "rename": issuer.local(&format!("{}/passkeys/rename", paths::ACCOUNT)),
        "remove": issuer.local(&format!("{}/passkeys/remove", paths::ACCOUNT)),
    })
}

/// The POSTs below `/account/passkeys`.
pub fn route(s: &Server, req: &Request, path: &str) -> Response {
    let (user, cookie) = match signed_in(s, req) {
        Ok(Some(x)) => x,
        Ok(None) => return http::redirect(&s.provider.issuer.local(paths::ACCOUNT)),
        Err(r) => return *r,
    };
    let f = req.params();
    let given = f.first("csrf").unwrap_or("");
    if !crate::crypto::constant_time_eq(given.as_bytes(), csrf_of(cookie).as_bytes()) {
        return bad_csrf(s);
    }
    let actor = Actor::User {
        user_id: user.id.clone(),
    };
    let credential_id = f.first("credential_id").unwrap_or("");
    tokio::task::block_in_place(|| match path {
        "/passkeys/options" => options(s, req, &user),
        "/passkeys" => {
            if let Some(r) = recent_enough(s, req) {
                return r;
            }
            let posted = f.first("credential").unwrap_or("");
            let name = f.first("name").unwrap_or("");
            let added = passkeys::parse::<RegistrationResponse>(posted).and_then(|response| {
                passkeys::finish_registration(&s.provider, &user.id, &response, name, actor)
            });
            match added {
                Ok(_) => back(s, "notice", "passkey_added"),
                Err(PasskeyError::Store(e)) => storage_failure(s, e),
                Err(e) => {
                    tracing::info!(sub = %user.id, "passkey not added: {e}");
                    back(s, "error", error_key(&e))
                }
            }
        }
        "/passkeys/rename" => {
            let name = f.first("name").unwrap_or("");
            match passkeys::rename(&s.provider, &user.id, credential_id, name, actor) {
                Ok(_) => back(s, "notice", "passkey_renamed"),
                Err(e) => storage_failure(s, e),
            }
        }
        "/passkeys/remove" => {
            if let Some(r) = recent_enough(s, req) {
                return r;
            }
            match passkeys::remove(&s.provider, &user.id, credential_id, actor) {
                Ok(_) => back(s, "notice", "passkey_removed"),
                Err(e) => storage_failure(s, e),
            }
        }
        _ => http::text(StatusCode::NOT_FOUND, "not found\n"),
    })
}

/// A sign-in first (which comes back to the account page) when the session is older than the
/// account page's second-factor changes allow.
fn recent_enough(s: &Server, req: &Request) -> Option<Response> {
    (!is_fresh(s, req)).then(|| sign_in_first(s, req))
}

/// The JSON options for adding a passkey (the page's script asks with the form's fields).
fn options(s: &Server, req: &Request, user: &User) -> Response {
    if let Some(r) = recent_enough(s, req) {
        let to = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        return http::json(
            StatusCode::FORBIDDEN,
            &json!({"error": "sign in again first (adding a passkey needs a recent sign-in)", "sign_in": to}),
        );
    }
    let product = s.provider.experience().branding.product_name().to_string();
    match passkeys::begin_registration(&s.provider, user, &product) {
        Ok(o) => http::json(StatusCode::OK, &o),
        Err(PasskeyError::Store(e)) => storage_failure(s, e),
        Err(e) => http::json(StatusCode::BAD_REQUEST, &json!({"error": e.to_string()})),
    }
}

/// The `?error=` key for a passkey that was not added.
fn error_key(e: &PasskeyError) -> &'static str {
    match e {
        PasskeyError::Duplicate => "passkey_duplicate",
        PasskeyError::TooMany => "passkey_too_many",
        PasskeyError::NoChallenge => "passkey_expired",
        PasskeyError::Unavailable => "passkey_unavailable",
        _ => "passkey_refused",
    }
}

/// What the account page says for these forms' `?notice=` and `?error=` keys.
pub fn text(key: &str) -> Option<&'static str> {
    Some(match key {
        "passkey_added" => "Your passkey is added: next time, sign in with it.",
        "passkey_renamed" => "The passkey is renamed.",
        "passkey_removed" => "The passkey is removed. Remove it from your device's password manager too.",
        "passkey_duplicate" => "That passkey is already on your account.",
        "passkey_too_many" => "Your account has as many passkeys as it may keep. Remove one first.",
        "passkey_expired" => "Adding the passkey took too long. Try again.",
        "passkey_unavailable" => "Passkeys need this server to be reached by a domain name, not an IP address.",
        "passkey_refused" => "The passkey could not be added (your browser's answer did not pass the checks). Try again.",
        _ => return None,
    })
}
