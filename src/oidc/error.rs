//! One error type for protocol requests: an RFC 6749 / OIDC error code and a description for
//! the developer reading the response. The HTTP edge maps each code onto its status and
//! headers (`server::protocol_errors`), exhaustively.

/// An OAuth 2.0 / OIDC error response.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthError {
    /// The RFC 6749 / OIDC `error` code.
    pub code: ErrorCode,
    /// A sentence for the developer reading the response: what was wrong and what to do.
    pub description: String,
}

/// The error codes sesame returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (unknown client, wrong secret, wrong method).
    InvalidClient,
    /// The code, refresh token or PKCE verifier is invalid, expired, spent or revoked.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not one sesame supports.
    UnsupportedGrantType,
    /// The response type is not `code`.
    UnsupportedResponseType,
    /// The scope is malformed or lacks `openid`.
    InvalidScope,
    /// The `resource` (RFC 8707 §2) is not one sesame issues tokens for.
    InvalidTarget,
    /// The user denied the request.
    AccessDenied,
    /// `prompt=none` but the user is not signed in.
    LoginRequired,
    /// The user must interact with sesame to go on (OIDC Core §3.1.2.6; `sesame dev`'s Error
    /// button).
    InteractionRequired,
    /// The user must choose an account (OIDC Core §3.1.2.6; `sesame dev`'s Error button).
    AccountSelectionRequired,
    /// The user must consent (OIDC Core §3.1.2.6; `sesame dev`'s Error button).
    ConsentRequired,
    /// The `request_uri` is invalid (OIDC Core §3.1.2.6; `sesame dev`'s Error button).
    InvalidRequestUri,
    /// The request object is invalid (OIDC Core §3.1.2.6; `sesame dev`'s Error button).
    InvalidRequestObject,
    /// Dynamic registration parameters are not supported (OIDC Core §3.1.2.6; `sesame dev`'s
    /// Error button).
    RegistrationNotSupported,
    /// `request` objects are not supported.
    RequestNotSupported,
    /// `request_uri` is not supported.
    RequestUriNotSupported,
    /// The bearer token is missing, invalid or expired (RFC 6750).
    InvalidToken,
    /// The device's user has not decided yet: poll again (RFC 8628 §3.5).
    AuthorizationPending,
    /// The device polls faster than its interval, which grew by 5 s (RFC 8628 §3.5).
    SlowDown,
    /// The device code expired, or was polled too often: start again (RFC 8628 §3.5).
    ExpiredToken,
    /// Something failed inside sesame (storage); the request may be retried.
    ServerError,
    /// sesame cannot handle the request right now.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The codes an authorization response may carry back to the client (RFC 6749 §4.1.2.1,
    /// OIDC Core §3.1.2.6): what `sesame dev`'s Error button offers.
    pub const AUTHORIZATION_ERRORS: [ErrorCode; 16] = [
        ErrorCode::AccessDenied,
        ErrorCode::InvalidRequest,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::InvalidScope,
        ErrorCode::ServerError,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::InteractionRequired,
        ErrorCode::LoginRequired,
        ErrorCode::AccountSelectionRequired,
        ErrorCode::ConsentRequired,
        ErrorCode::InvalidRequestUri,
        ErrorCode::InvalidRequestObject,
        ErrorCode::RequestNotSupported,
        ErrorCode::RequestUriNotSupported,
        ErrorCode::RegistrationNotSupported,
    ];

    /// The authorization error named `name` on the wire, if it is one
    /// ([`ErrorCode::AUTHORIZATION_ERRORS`]).
    pub fn authorization_error(name: &str) -> Option<ErrorCode> {
        Self::AUTHORIZATION_ERRORS
            .into_iter()
            .find(|c| c.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::AccountSelectionRequired => "account_selection_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::RegistrationNotSupported => "registration_not_supported",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }

    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
}

impl OAuthError {
    /// The description as RFC 6749 lets it travel (§4.1.2.1, §5.2: only %x20-21 / %x23-5B /
    /// %x5D-7E): a double quote becomes `'`, a backslash `/`, anything else outside the range
    /// (control characters, non-ASCII from a request echoed back) `?`. Every error response and
    /// error redirect sends this, never `description` itself.
    pub fn wire_description(&self) -> String {
        wire_text(&self.description)
    }
}

/// Text made of the characters RFC 6749 allows in `error_description`.
pub fn wire_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!("storage error: {e}");
        OAuthError::new(
            ErrorCode::ServerError,
            "sesame could not read or write its data; try again",
        )
    }
}

impl From<crate::crypto::CryptoError> for OAuthError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        tracing::error!("signing error: {e}");
        OAuthError::new(
            ErrorCode::ServerError,
            "sesame could not sign the token; try again",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6749 §4.1.2.1 and §5.2: `error_description` = 1*( %x20-21 / %x23-5B / %x5D-7E ).
    fn allowed(s: &str) -> bool {
        s.bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
    }

    #[test]
    fn descriptions_travel_in_the_characters_rfc_6749_allows() {
        let e = OAuthError::invalid_request("response_type \"bogus\" is not supported; \\ é \u{7}");
        let wire = e.wire_description();
        assert!(allowed(&wire), "{wire}");
        assert_eq!(wire, "response_type 'bogus' is not supported; / ? ?");
    }
}
