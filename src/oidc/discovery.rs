//! OpenID Provider Metadata (OIDC Discovery 1.0 §3), plus RFC 8414 / 7009 / 7662 / 9207 fields. Every
//! list here is read from the type that the endpoints themselves use, so what is advertised is
//! what is accepted.

use super::grant_type::GrantType;
use super::scope::Scope;
use crate::crypto::keys::Alg;
use crate::issuer::{paths::*, Issuer};
use serde_json::{json, Value};

/// The client authentication methods of the token and revocation endpoints (RFC 6749 §2.3).
pub const CLIENT_AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// The client authentication methods of the introspection endpoint: a confidential app's
/// secret only (`oidc::introspect` refuses public apps).
pub const INTROSPECTION_AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

/// The names of the ID token signing algorithms an app may choose, the default (ES384) first.
pub fn id_token_algs() -> Vec<&'static str> {
    Alg::NAMES.to_vec()
}

/// The discovery document of `issuer`.
pub fn metadata(issuer: &Issuer) -> Value {
    json!({
        "issuer": issuer.url,
        "authorization_endpoint": issuer.endpoint(AUTHORIZE),
        "token_endpoint": issuer.endpoint(TOKEN),
        "userinfo_endpoint": issuer.endpoint(USERINFO),
        "jwks_uri": issuer.endpoint(JWKS),
        "end_session_endpoint": issuer.endpoint(END_SESSION),
        "revocation_endpoint": issuer.endpoint(REVOCATION),
        "introspection_endpoint": issuer.endpoint(INTROSPECTION),
        "device_authorization_endpoint": issuer.endpoint(DEVICE_AUTHORIZATION),
        "pushed_authorization_request_endpoint": issuer.endpoint(PAR),
        // Per app (RFC 9126 §5): an app may require them; the server does not.
        "require_pushed_authorization_requests": false,
        "scopes_supported": Scope::names(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GrantType::names(),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": id_token_algs(),
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": INTROSPECTION_AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "acr", "amr",
            "name", "preferred_username", "username", "picture", "updated_at", "email",
            "email_verified", "groups"
        ],
        // `factors`: the second one asks for two factors.
        "acr_values_supported": crate::factors::ACR_VALUES,
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        // OIDC Back-Channel Logout 1.0 §2.1 (`oidc::backchannel`); logout tokens and ID
        // tokens carry `sid`.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_what_the_endpoints_accept() {
        let i = Issuer::parse("http://localhost:8080").unwrap();
        let d = metadata(&i);
        assert_eq!(d["issuer"], "http://localhost:8080");
        assert_eq!(d["token_endpoint"], "http://localhost:8080/token");
        assert_eq!(
            d["scopes_supported"],
            json!(["openid", "offline_access", "profile", "email", "groups"])
        );
        assert_eq!(
            d["grant_types_supported"],
            json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        assert_eq!(
            d["introspection_endpoint"],
            "http://localhost:8080/token/introspect"
        );
        assert_eq!(
            d["introspection_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post"])
        );
        assert_eq!(
            d["device_authorization_endpoint"],
            "http://localhost:8080/device/code"
        );
        assert_eq!(
            d["pushed_authorization_request_endpoint"],
            "http://localhost:8080/par"
        );
        assert_eq!(d["require_pushed_authorization_requests"], false);
        assert_eq!(
            d["id_token_signing_alg_values_supported"],
            json!(["ES384", "ES256", "RS256"])
        );
    }
}
