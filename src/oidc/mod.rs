//! The OpenID Connect protocol: what each endpoint means, apart from how the request arrived.
//!
//! - [`params`]: request parameters as the protocol reads them (repeated vs absent).
//! - [`error`]: the one error type of the JSON endpoints, shaped like RFC 6749 errors.
//! - [`scope`], [`grant_type`], [`pkce`]: the protocol's vocabulary as types.
//! - [`discovery`]: the provider metadata, read from those types.
//! - [`client`]: client authentication at the token and revocation endpoints.
//! - [`authorize`]: the authorization endpoint: ordered checks, the SSO decision, codes.
//! - [`grant`]: grants and their token families: codes, minting, lifetimes, revocation.
//! - [`token`]: the `authorization_code` and `refresh_token` grants, ID tokens.
//! - [`client_credentials`]: the `client_credentials` grant, for machine apps.
//! - [`introspect`]: token introspection (RFC 7662).
//! - [`resource`]: resource indicators (RFC 8707) and JWT access tokens for APIs (RFC 9068).
//! - [`device`]: the device authorization grant (RFC 8628), for TVs and CLIs.
//! - [`par`]: pushed authorization requests (RFC 9126).
//! - [`userinfo`], [`revoke`], [`end_session`]: the other endpoints.
//! - [`claims`]: which user claims each scope releases.
//! - [`backchannel`]: back-channel logout: logout tokens, delivered to apps when a session
//!   ends.
//!
//! Flows supported: authorization code (no implicit, no hybrid), `response_mode=query`,
//! PKCE S256, requests pushed first (PAR) or not; client credentials for machine apps; the
//! device authorization grant for apps that set `device_flow`. Every function here takes the [`Provider`](crate::provider::Provider) context
//! and parsed parameters and returns data or a typed error; the HTTP edge (`server`) turns
//! that into HTTP. Uses: provider, session, store (typed operations only), crypto, issuer.
//! Never the edge (`server`, `http`), never `signin` (which builds on this module).

pub mod authorize;
pub mod backchannel;
pub mod claims;
pub mod client;
pub mod client_credentials;
pub mod device;
pub mod discovery;
pub mod end_session;
pub mod error;
pub mod grant;
pub mod grant_type;
pub mod introspect;
pub mod par;
pub mod params;
pub mod pkce;
pub mod resource;
pub mod revoke;
pub mod scope;
pub mod token;
pub mod userinfo;

pub use error::OAuthError;
pub use params::Params;

#[cfg(test)]
mod machine_tests;
#[cfg(test)]
mod resource_tests;
#[cfg(test)]
mod retry_tests;
#[cfg(test)]
mod tests;
