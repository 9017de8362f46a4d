//! The issuer URL and everything derived from it: endpoint URLs and discovery metadata.

use serde_json::{json, Value};

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

/// Endpoint paths, relative to the issuer.
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const JWKS: &str = "/jwks";
    pub const AUTHORIZE: &str = "/auth";
    pub const TOKEN: &str = "/token";
    pub const USERINFO: &str = "/me";
    pub const END_SESSION: &str = "/session/end";
    pub const REVOCATION: &str = "/token/revocation";
    pub const SIGN_IN: &str = "/sign-in";
    pub const SIGN_IN_CODE: &str = "/sign-in/code";
    pub const HEALTH: &str = "/healthz";
    pub const STATIC: &str = "/static/";
}

impl Issuer {
    /// Parses an issuer URL (validated by configuration: absolute http(s), no query or fragment).
    pub fn parse(issuer: &str) -> Result<Issuer, String> {
        let url =
            url::Url::parse(issuer).map_err(|e| format!("issuer {issuer:?} is not a URL: {e}"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(format!("issuer {issuer:?} must be an http or https URL"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "issuer {issuer:?} must not have a query or fragment"
            ));
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

    /// OpenID Provider Metadata (OIDC Discovery 1.0 §3), plus RFC 8414 / 7009 / 9207 fields.
    pub fn discovery(&self, algs: &[&str]) -> Value {
        use paths::*;
        json!({
            "issuer": self.url,
            "authorization_endpoint": self.endpoint(AUTHORIZE),
            "token_endpoint": self.endpoint(TOKEN),
            "userinfo_endpoint": self.endpoint(USERINFO),
            "jwks_uri": self.endpoint(JWKS),
            "end_session_endpoint": self.endpoint(END_SESSION),
            "revocation_endpoint": self.endpoint(REVOCATION),
            "scopes_supported": ["openid", "offline_access", "profile", "email"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algs,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                "name", "username", "picture", "updated_at", "email", "email_verified"
            ],
            "prompt_values_supported": ["none", "login", "consent"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
            "frontchannel_logout_supported": false,
            "backchannel_logout_supported": false,
        })
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
        assert_eq!(j.discovery(&["ES384"])["issuer"], "http://localhost:8080");
    }
}
