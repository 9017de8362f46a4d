//! Every error of the management API as RFC 9457 `application/problem+json`, and the one place
//! where the admin command set's errors ([`AdminError`], and inside it [`UserError`],
//! [`AppError`], [`ApiKeyError`]) become HTTP statuses, matched exhaustively: a new error is a
//! compile error here until it has its status.
//!
//! The statuses: unknown thing named in the URL → 404; bad input → 400 (with the member at
//! fault in `errors[].field`; an unknown group or app named in the body is bad input, not a
//! 404); a duplicate, or a state that forbids the change (declared in `sesame.toml`, built in,
//! a public client's secret) → 409; storage → 503; anything else the server's fault → 500.

use super::Call;
use crate::admin::AdminError;
use crate::api_keys::ApiKeyError;
use crate::apps::AppError;
use crate::crypto::CryptoError;
use crate::http::{self, Response};
use crate::users::UserError;
use hyper::header::{HeaderName, HeaderValue, ALLOW, WWW_AUTHENTICATE};
use hyper::StatusCode;
use serde_json::{json, Value};

/// What kind of problem: its `type`, `title` and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No credentials, or ones that do not authenticate (401).
    Unauthorized,
    /// Signed in, but not a member of `admins` (403).
    NotAdmin,
    /// A cookie-authenticated write without the right `X-CSRF-Token`, or from another origin (403).
    CsrfFailed,
    /// No such route, or no such user, group, app or key (404).
    NotFound,
    /// The route exists, the method does not (405, with `Allow`).
    MethodNotAllowed,
    /// The body is not JSON, not an object (400).
    InvalidBody,
    /// A member of the body, the query or the path is not acceptable (400).
    InvalidInput,
    /// The body is not `application/json` (415).
    UnsupportedMediaType,
    /// The body is larger than the server reads (413).
    TooLarge,
    /// The body did not arrive in time (408).
    Timeout,
    /// Another record already has this email, username or name (409).
    Duplicate,
    /// The record is declared in `sesame.toml`, or built in: change it there, or not at all (409).
    Declared,
    /// The change does not fit the record's state (409).
    Conflict,
    /// sesame cannot read or write its data right now (503).
    Unavailable,
    /// The server failed (500).
    Internal,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Unauthorized,
        Kind::NotAdmin,
        Kind::CsrfFailed,
        Kind::NotFound,
        Kind::MethodNotAllowed,
        Kind::InvalidBody,
        Kind::InvalidInput,
        Kind::UnsupportedMediaType,
        Kind::TooLarge,
        Kind::Timeout,
        Kind::Duplicate,
        Kind::Declared,
        Kind::Conflict,
        Kind::Unavailable,
        Kind::Internal,
    ];

    /// The last part of the `type` URI.
    pub fn slug(self) -> &'static str {
        self.describe().0
    }

    pub fn status(self) -> StatusCode {
        self.describe().1
    }

    pub fn title(self) -> &'static str {
        self.describe().2
    }

    /// The `type` member: a URN naming the kind (clients match on it; it is not a link).
    pub fn type_uri(self) -> String {
        format!("{TYPE_PREFIX}{}", self.slug())
    }

    fn describe(self) -> (&'static str, StatusCode, &'static str) {
        match self {
            Kind::Unauthorized => (
                "unauthorized",
                StatusCode::UNAUTHORIZED,
                "Authentication required",
            ),
            Kind::NotAdmin => (
                "not-admin",
                StatusCode::FORBIDDEN,
                "Only administrators may use the management API",
            ),
            Kind::CsrfFailed => (
                "csrf-failed",
                StatusCode::FORBIDDEN,
                "The request did not come from a page of this issuer",
            ),
            Kind::NotFound => ("not-found", StatusCode::NOT_FOUND, "Not found"),
            Kind::MethodNotAllowed => (
                "method-not-allowed",
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
            ),
            Kind::InvalidBody => (
                "invalid-body",
                StatusCode::BAD_REQUEST,
                "The request body is not a JSON object",
            ),
            Kind::InvalidInput => ("invalid-input", StatusCode::BAD_REQUEST, "Invalid input"),
            Kind::UnsupportedMediaType => (
                "unsupported-media-type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "The request body must be application/json",
            ),
            Kind::TooLarge => (
                "too-large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large",
            ),
            Kind::Timeout => (
                "timeout",
                StatusCode::REQUEST_TIMEOUT,
                "The request body did not arrive in time",
            ),
            Kind::Duplicate => ("duplicate", StatusCode::CONFLICT, "Already exists"),
            Kind::Declared => (
                "declared",
                StatusCode::CONFLICT,
                "Managed elsewhere: this cannot be changed here",
            ),
            Kind::Conflict => (
                "conflict",
                StatusCode::CONFLICT,
                "The change does not fit the current state",
            ),
            Kind::Unavailable => (
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "sesame cannot read or write its data",
            ),
            Kind::Internal => (
                "internal",
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server failed",
            ),
        }
    }
}

/// What every `type` starts with.
pub const TYPE_PREFIX: &str = "urn:sesame:problem:";

/// One error response.
#[derive(Debug)]
pub struct Problem {
    pub kind: Kind,
    /// What happened, for a person: says what to do about it.
    pub detail: String,
    /// The member at fault: `email`, `groups[1]`, the query's `limit`, the path's `user`.
    pub field: Option<String>,
    /// `Allow`, `WWW-Authenticate`.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Problem {
        Problem {
            kind,
            detail: detail.into(),
            field: None,
            headers: Vec::new(),
        }
    }

    /// Bad input in the member `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem::new(Kind::InvalidInput, detail).at(field)
    }

    /// The same problem, blaming the member `field`.
    pub fn at(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    /// The same problem with a response header.
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Problem {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// 401 with the RFC 6750 challenge; `error="invalid_token"` when a token was presented.
    pub fn unauthorized(detail: impl Into<String>, token_presented: bool) -> Problem {
        let challenge = if token_presented {
            r#"Bearer realm="sesame", error="invalid_token""#
        } else {
            r#"Bearer realm="sesame""#
        };
        Problem::new(Kind::Unauthorized, detail).with_header(WWW_AUTHENTICATE, challenge)
    }

    /// 405 with the methods the route answers.
    pub fn method_not_allowed(method: &hyper::Method, allow: &str) -> Problem {
        Problem::new(
            Kind::MethodNotAllowed,
            format!("{method} is not allowed here; allowed: {allow}"),
        )
        .with_header(ALLOW, allow)
    }

    /// The body of the response.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "type": self.kind.type_uri(),
            "title": self.kind.title(),
            "status": self.kind.status().as_u16(),
            "detail": self.detail,
        });
        if let Some(field) = &self.field {
            body["errors"] = json!([{ "field": field, "detail": self.detail }]);
        }
        body
    }

    pub fn response(&self) -> Response {
        let mut r = http::json(self.kind.status(), &self.to_json());
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (name, value) in &self.headers {
            r.headers_mut().insert(name.clone(), value.clone());
        }
        r
    }

    /// sesame could not read or write its data.
    pub fn from_store(e: crate::store::StoreError) -> Problem {
        unavailable(e)
    }

    /// A failed admin command, in the terms of the request that sent it (`call` says what the
    /// path and the body named, to tell a 404 from a bad member).
    pub fn from_admin(e: AdminError, call: &Call<'_>) -> Problem {
        let detail = e.to_string();
        match e {
            AdminError::App(e) => app(e, detail, call),
            AdminError::Users(e) => users(e, detail, call),
            AdminError::ApiKey(e) => api_key(e, detail),
            AdminError::Api(e) => api_resource(e, detail),
            AdminError::Store(e) => unavailable(e),
            AdminError::UnknownConnector(_) => Problem::new(Kind::NotFound, detail),
            AdminError::NoConnectorConfig | AdminError::ConnectorNotObject => {
                Problem::new(Kind::InvalidBody, detail)
            }
            AdminError::ExperienceInvalid(_) => Problem::new(Kind::InvalidInput, detail),
            AdminError::ConnectorInvalid(_) | AdminError::ConnectorDoesNotWork(_) => {
                match e.connector_field() {
                    Some(field) => Problem::invalid(field, detail),
                    None => Problem::new(Kind::InvalidInput, detail),
                }
            }
            AdminError::BadArguments { .. } | AdminError::NotJson(_) => {
                Problem::new(Kind::InvalidInput, detail)
            }
            AdminError::RequestTooLong => Problem::new(Kind::TooLarge, detail),
            AdminError::UnknownTemplate(_) => Problem::invalid("template", detail),
            AdminError::UnknownAuditKind(_) => Problem::invalid("kind", detail),
            AdminError::KeyRotation(CryptoError::Store(e))
            | AdminError::KeyReload(CryptoError::Store(e)) => unavailable(e),
            AdminError::KeyRotation(_) | AdminError::KeyReload(_) => internal(detail),
            // Not reachable through the API (no route sends these commands or uses a socket);
            // said plainly if they ever are.
            AdminError::UnknownCommand(_)
            | AdminError::Keys(_)
            | AdminError::ExperienceDoesNotLoad(_)
            | AdminError::Backup(_)
            | AdminError::RelativeBackupPath(_)
            | AdminError::ConnectorEncoding(_)
            | AdminError::MailTestNeedsServer
            | AdminError::MailTestFailed(_)
            | AdminError::Crashed(_)
            | AdminError::Socket { .. }
            | AdminError::SocketPathTooLong(_) => internal(detail),
        }
    }
}

fn api_resource(e: crate::apis::ApiError, detail: String) -> Problem {
    use crate::apis::ApiError;
    match e {
        ApiError::NotFound(_) => Problem::new(Kind::NotFound, detail),
        ApiError::Duplicate(_) => Problem::new(Kind::Duplicate, detail).at("indicator"),
        ApiError::Declared(_) => Problem::new(Kind::Declared, detail),
        ApiError::InvalidIndicator { .. } => Problem::invalid("indicator", detail),
        ApiError::EmptyName => Problem::invalid("name", detail),
        ApiError::InvalidScope(_) => Problem::invalid("scopes", detail),
        ApiError::InvalidLifetime(_) => Problem::invalid("access_token_ttl", detail),
        ApiError::Store(e) => unavailable(e),
    }
}

fn unavailable(e: impl std::fmt::Display) -> Problem {
    tracing::error!("management API: storage error: {e}");
    Problem::new(
        Kind::Unavailable,
        "sesame could not read or write its data; try again in a moment (the server's log says why)",
    )
}

fn internal(detail: String) -> Problem {
    tracing::error!("management API: {detail}");
    Problem::new(Kind::Internal, detail)
}

fn users(e: UserError, detail: String, call: &Call<'_>) -> Problem {
    match e {
        UserError::InvalidEmail { .. } => Problem::invalid("email", detail),
        UserError::DuplicateEmail(_) => Problem::new(Kind::Duplicate, detail).at("email"),
        UserError::DuplicateUsername(_) => Problem::new(Kind::Duplicate, detail).at("username"),
        UserError::InvalidUsername(_) => Problem::invalid("username", detail),
        UserError::InvalidPicture(_) => Problem::invalid("picture", detail),
        UserError::ReservedClaim(c) => Problem::invalid(format!("claims.{c}"), detail),
        UserError::UnknownUser(_) | UserError::UnknownPasskey { .. } => {
            Problem::new(Kind::NotFound, detail)
        }
        UserError::UnknownGroup(g) => {
            if call.path_names(&g) {
                Problem::new(Kind::NotFound, detail)
            } else if call.query_names("group", &g) {
                Problem::invalid("group", detail)
            } else {
                Problem::invalid(call.body_member_holding("groups", &g), detail)
            }
        }
        UserError::DuplicateGroup(_) => Problem::new(Kind::Duplicate, detail).at("name"),
        UserError::InvalidGroupName(_) => Problem::invalid("name", detail),
        UserError::BuiltInGroup => Problem::new(Kind::Declared, detail),
        UserError::Declared(_) => Problem::new(Kind::Declared, detail),
        UserError::Store(e) => unavailable(e),
    }
}

fn app(e: AppError, detail: String, call: &Call<'_>) -> Problem {
    match e {
        AppError::NotFound(_) => Problem::new(Kind::NotFound, detail),
        AppError::Declared(_) => Problem::new(Kind::Declared, detail),
        AppError::PublicClient(_) => Problem::new(Kind::Conflict, detail),
        AppError::UnknownType(_) => Problem::invalid("type", detail),
        AppError::UnknownGroup(g) => {
            Problem::invalid(call.body_member_holding("allowed_groups", &g), detail)
        }
        AppError::EmptyName => Problem::invalid("name", detail),
        AppError::NoRedirectUri => Problem::invalid("redirect_uris", detail),
        AppError::InvalidRedirectUri { uri, .. } => {
            let field = match call.body_member_holding("post_logout_redirect_uris", &uri) {
                f if f.contains('[') => f,
                _ => call.body_member_holding("redirect_uris", &uri),
            };
            Problem::invalid(field, detail)
        }
        AppError::InvalidClientId { .. } => Problem::invalid("client_id", detail),
        AppError::InvalidBackchannelUri { .. } => {
            Problem::invalid("backchannel_logout_uri", detail)
        }
        AppError::InsecureRedirectStillRegistered { uri } => {
            Problem::invalid(call.body_member_holding("redirect_uris", &uri), detail)
        }
        // Only declared apps have secrets in files; the API never declares one.
        AppError::Secret { .. } => internal(detail),
        AppError::Store(e) => unavailable(e),
    }
}

fn api_key(e: ApiKeyError, detail: String) -> Problem {
    match e {
        ApiKeyError::EmptyName | ApiKeyError::NameTooLong => Problem::invalid("name", detail),
        ApiKeyError::BadExpiry(_) => Problem::invalid("expires_in_days", detail),
        ApiKeyError::UnknownKey(_) => Problem::new(Kind::NotFound, detail),
        ApiKeyError::Store(e) => unavailable(e),
    }
}
