//! The protocol's [`OAuthError`] as a JSON error response (RFC 6749 §5.2, RFC 6750 §3): the one
//! place that maps each error code onto its HTTP status and headers.

use crate::http::{self, Response};
use crate::oidc::error::{ErrorCode, OAuthError};
use hyper::header::HeaderValue;
use hyper::StatusCode;
use serde_json::json;

/// The HTTP status of an error answered directly (as JSON, not by redirect).
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::InvalidRequest
        | ErrorCode::InvalidGrant
        | ErrorCode::UnauthorizedClient
        | ErrorCode::UnsupportedGrantType
        | ErrorCode::UnsupportedResponseType
        | ErrorCode::InvalidScope
        | ErrorCode::InvalidTarget
        | ErrorCode::AccessDenied
        | ErrorCode::LoginRequired
        | ErrorCode::InteractionRequired
        | ErrorCode::AccountSelectionRequired
        | ErrorCode::ConsentRequired
        | ErrorCode::InvalidRequestUri
        | ErrorCode::InvalidRequestObject
        | ErrorCode::RegistrationNotSupported
        | ErrorCode::RequestNotSupported
        | ErrorCode::RequestUriNotSupported
        | ErrorCode::AuthorizationPending
        | ErrorCode::SlowDown
        | ErrorCode::ExpiredToken => StatusCode::BAD_REQUEST,
    }
}

/// The JSON response of the token, revocation and userinfo endpoints. `basic_auth` says the
/// client tried HTTP Basic authentication: a 401 then carries `WWW-Authenticate` (RFC 6749
/// §5.2).
pub fn response(e: &OAuthError, basic_auth: bool) -> Response {
    let mut resp = http::json(
        status(e.code),
        &json!({ "error": e.code.as_str(), "error_description": e.wire_description() }),
    );
    if e.code == ErrorCode::InvalidClient && basic_auth {
        resp.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"sesame\""),
        );
    }
    if e.code == ErrorCode::InvalidToken {
        let v = format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            e.wire_description()
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert("www-authenticate", v);
        }
    }
    resp
}
