//! The issuer URL and everything derived from it: the endpoint paths and URLs under it.
//!
//! Part of the core vocabulary: the protocol (`oidc`, discovery, `iss`), the sign-in pages and
//! the HTTP edge all name endpoints through it. It uses nothing else in the crate.

/// The issuer, parsed once at start from configuration (never from a request's Host header).
#[derive(Debug, Clone)]
pub struct Issuer {
    /// The issuer URL without a trailing slash, exactly as tokens carry it in `iss`.
    pub url: String,
    /// The URL's path without a trailing slash (`""` or `/oidc`): every endpoint lives under it.
    pub base_path: String,
    /// Whether the issuer is https (cookies then get `Secure`).
    pub https: bool,
}

/// Why an issuer URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerError {
    /// It does not parse as a URL.
    NotUrl { issuer: String, reason: String },
    /// Its scheme is neither http nor https.
    NotHttp(String),
    /// It has a query or a fragment, which an issuer identifier must not have.
    QueryOrFragment(String),
}

impl std::fmt::Display for IssuerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssuerError::NotUrl { issuer, reason } => {
                write!(f, "issuer {issuer:?} is not a URL: {reason}")
            }
            IssuerError::NotHttp(i) => write!(f, "issuer {i:?} must be an http or https URL"),
            IssuerError::QueryOrFragment(i) => {
                write!(f, "issuer {i:?} must not have a query or fragment")
            }
        }
    }
}

impl std::error::Error for IssuerError {}

/// Endpoint paths, relative to the issuer.
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const JWKS: &str = "/jwks";
    pub const AUTHORIZE: &str = "/auth";
    pub const TOKEN: &str = "/token";
    pub const USERINFO: &str = "/me";
    pub const END_SESSION: &str = "/session/end";
    pub const REVOCATION: &str = "/token/revocation";
    /// Token introspection (RFC 7662).
    pub const INTROSPECTION: &str = "/token/introspect";
    /// The device authorization endpoint (RFC 8628 §3.1).
    pub const DEVICE_AUTHORIZATION: &str = "/device/code";
    /// Where a device's user enters its code and approves (RFC 8628 §3.3).
    pub const DEVICE: &str = "/device";
    /// The pushed authorization request endpoint (RFC 9126 §2).
    pub const PAR: &str = "/par";
    pub const SIGN_IN: &str = "/sign-in";
    pub const SIGN_IN_CODE: &str = "/sign-in/code";
    /// The second step of a sign-in: a passkey, an authenticator app's code or a recovery
    /// code (or setting one up).
    pub const SIGN_IN_SECOND: &str = "/sign-in/second";
    /// Setting an authenticator app up at the second step (its first code).
    pub const SIGN_IN_SECOND_TOTP: &str = "/sign-in/second/totp";
    /// Setting a passkey up at the second step, and the options for it.
    pub const SIGN_IN_SECOND_PASSKEY: &str = "/sign-in/second/passkey";
    pub const SIGN_IN_SECOND_PASSKEY_OPTIONS: &str = "/sign-in/second/passkey/options";
    /// A passkey's answer, and the options (challenge) for asking one.
    pub const SIGN_IN_PASSKEY: &str = "/sign-in/passkey";
    pub const SIGN_IN_PASSKEY_OPTIONS: &str = "/sign-in/passkey/options";
    /// `prompt=select_account`: continue as the signed-in user, or use another account.
    pub const SIGN_IN_CONTINUE: &str = "/sign-in/continue";
    pub const HEALTH: &str = "/healthz";
    /// The account page, and its forms under it.
    pub const ACCOUNT: &str = "/account";
    /// First run's one-time setup link (`?token=`).
    pub const SETUP: &str = "/setup";
    /// The administrators' console (`admins` group).
    pub const CONSOLE: &str = "/console";
    /// Prometheus metrics (local requests, or with the `[metrics]` token).
    pub const METRICS: &str = "/metrics";
    /// Forward-auth for Caddy `forward_auth` and Traefik `ForwardAuth` (`X-Forwarded-*`).
    pub const FORWARD_AUTH: &str = "/api/authz/forward-auth";
    /// Forward-auth for nginx `auth_request` (`X-Original-URL`).
    pub const AUTH_REQUEST: &str = "/api/authz/auth-request";
    pub const STATIC: &str = "/static/";
    /// `sesame dev` only: its sign-in page and debugger.
    pub const DEV_SIGN_IN: &str = "/dev/sign-in";
    pub const DEV_DEBUGGER: &str = "/dev/debugger";
    pub const DEV_DEBUGGER_CALLBACK: &str = "/dev/debugger/callback";
}

impl Issuer {
    /// Parses an issuer URL (validated by configuration: absolute http(s), no query or fragment).
    pub fn parse(issuer: &str) -> Result<Issuer, IssuerError> {
        let url = url::Url::parse(issuer).map_err(|e| IssuerError::NotUrl {
            issuer: issuer.to_string(),
            reason: e.to_string(),
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(IssuerError::NotHttp(issuer.to_string()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(IssuerError::QueryOrFragment(issuer.to_string()));
        }
        let base_path = url.path().trim_end_matches('/').to_string();
        let text = url.as_str().trim_end_matches('/').to_string();
        Ok(Issuer {
            url: text,
            base_path,
            https: url.scheme() == "https",
        })
    }

    /// The absolute URL of an endpoint path.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// The issuer's origin (`https://auth.example.com`), what a page served on another host
    /// names to load sesame's styles.
    pub fn origin(&self) -> String {
        url::Url::parse(&self.url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// The absolute path (for links and form actions in pages) of an endpoint path.
    pub fn local(&self, path: &str) -> String {
        format!("{}{}", self.base_path, path)
    }

    /// The path below the issuer of a request path, or `None` when the request is outside it.
    pub fn strip<'a>(&self, request_path: &'a str) -> Option<&'a str> {
        if self.base_path.is_empty() {
            return Some(request_path);
        }
        match request_path.strip_prefix(self.base_path.as_str()) {
            Some("") => Some("/"),
            Some(rest) if rest.starts_with('/') => Some(rest),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_with_and_without_path() {
        let i = Issuer::parse("https://auth.example.com/oidc/").unwrap();
        assert_eq!(i.url, "https://auth.example.com/oidc");
        assert_eq!(i.base_path, "/oidc");
        assert!(i.https);
        assert_eq!(
            i.endpoint(paths::TOKEN),
            "https://auth.example.com/oidc/token"
        );
        assert_eq!(i.strip("/oidc/token"), Some("/token"));
        assert_eq!(i.strip("/oidcx/token"), None);
        assert_eq!(i.strip("/token"), None);
        let j = Issuer::parse("http://localhost:8080").unwrap();
        assert_eq!(j.url, "http://localhost:8080");
        assert_eq!(j.base_path, "");
        assert_eq!(j.strip("/token"), Some("/token"));
        assert_eq!(i.origin(), "https://auth.example.com");
        assert_eq!(j.origin(), "http://localhost:8080");
    }
}
