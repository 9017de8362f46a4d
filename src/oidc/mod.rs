//! The OpenID Connect protocol: what each endpoint means, apart from how the request arrived.
//!
//! - [`error`]: the one error type, shaped like RFC 6749 errors.
//! - [`issuer`]: the issuer URL and the endpoint URLs under it; discovery metadata.
//! - [`client`]: client authentication at the token and revocation endpoints.
//! - [`authorize`]: validating an authorization request and issuing authorization codes.
//! - [`token`]: the `authorization_code` and `refresh_token` grants, ID tokens.
//! - [`userinfo`], [`revoke`], [`end_session`]: the other endpoints.
//! - [`claims`]: which user claims each scope releases.
//!
//! Flows supported: authorization code only (no implicit, no hybrid), `response_mode=query`,
//! PKCE S256. Every function here takes the server [`State`](crate::server::State) and parsed
//! parameters and returns data; `crate::server` turns that into HTTP.

pub mod authorize;
pub mod claims;
pub mod client;
pub mod end_session;
pub mod error;
pub mod issuer;
pub mod revoke;
pub mod token;
pub mod userinfo;

pub use error::OAuthError;
pub use issuer::Issuer;
