//! The console's signing keys: every key by algorithm (`keys.list`) with when it was made,
//! retired and may leave JWKS, and rotating an algorithm's key (`keys.rotate`) after a
//! confirmation step (a GET page with the POST form; the list's button only leads there).

use super::{console_page, run, url, Admin};
use crate::admin::{Command, KeyRotation, KeyWindow};
use crate::clock::utc;
use crate::crypto::keys::Alg;
use crate::http::{self, Request, Response};
use crate::server::Server;
use hyper::StatusCode;
use serde_json::{json, Value};

/// GET /console/keys: the keys, grouped by algorithm.
pub fn list(s: &Server, req: &Request, admin: &Admin) -> Response {
    list_page(s, req, admin, StatusCode::OK, json!({}))
}

fn list_page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    form: Value,
) -> Response {
    let keys = match super::read(s, admin, Command::KeysList(KeyWindow::default())) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let keys = keys.as_array().cloned().unwrap_or_default();
    let groups: Vec<Value> = Alg::NAMES
        .iter()
        .map(|alg| {
            let of_alg: Vec<Value> = keys
                .iter()
                .filter(|k| k["alg"].as_str() == Some(alg))
                .map(shown)
                .collect();
            json!({ "alg": alg, "keys": of_alg })
        })
        .collect();
    let ctx = super::typed_over(json!({ "section": "keys", "algs": groups }), form);
    console_page(s, req, admin, status, "console_keys.html", ctx)
}

/// A key as `keys.list` gives it, with its times as UTC dates.
fn shown(key: &Value) -> Value {
    let date = |k: &str| key[k].as_u64().map(utc);
    json!({
        "kid": key["kid"],
        "active": key["active"],
        "created": date("created_at"),
        "retired": date("retired_at"),
        "in_jwks_until": date("in_jwks_until"),
    })
}

/// The algorithm named by the form's `alg`, if it is one.
fn alg_of(req: &Request) -> Option<Alg> {
    req.query()
        .first("alg")
        .or(req.params().first("alg"))
        .and_then(|a| a.parse().ok())
}

/// GET /console/keys/rotate?alg=: the confirmation page.
pub fn confirm_rotate(s: &Server, req: &Request, admin: &Admin) -> Response {
    match alg_of(req) {
        Some(alg) => {
            let ctx = json!({ "section": "keys", "confirm_alg": alg.as_str() });
            console_page(s, req, admin, StatusCode::OK, "console_keys.html", ctx)
        }
        None => unknown_alg(s, req, admin),
    }
}

/// POST /console/keys/rotate (`alg`): `keys.rotate`, then the list.
pub fn rotate(s: &Server, req: &Request, admin: &Admin) -> Response {
    let Some(alg) = alg_of(req) else {
        return unknown_alg(s, req, admin);
    };
    match run(s, admin, Command::KeysRotate(KeyRotation { alg })) {
        Ok(Ok(_)) => http::redirect(&format!("{}?notice=key_rotated", url(s, "/keys"))),
        Ok(Err(e)) => list_page(
            s,
            req,
            admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "error": e }),
        ),
        Err(r) => *r,
    }
}

fn unknown_alg(s: &Server, req: &Request, admin: &Admin) -> Response {
    let error = format!(
        "Choose one of the algorithms listed: {}.",
        Alg::NAMES.join(", ")
    );
    list_page(
        s,
        req,
        admin,
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({ "error": error }),
    )
}
