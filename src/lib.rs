//! sesame: an OpenID Connect identity provider in one binary.
//!
//! A map of the crate, in the order a request meets it:
//!
//! - [`cli`]: the command line (`serve`, `app ...`, `mail test`, `connector set`).
//! - [`config`]: `sesame.toml` + `SESAME_*` environment variables + flags, validated once.
//! - [`http`]: the hyper server, our small router, request parsing and response helpers.
//! - [`oidc`]: the protocol: discovery, authorization requests, token grants, userinfo,
//!   end-session, revocation. Pure logic over [`store`] and [`crypto`]; no sockets.
//! - [`signin`]: the email one-time-code sign-in and the sesame session (single sign-on).
//! - [`pages`]: the HTML pages, rendered from embedded minijinja templates.
//! - [`mail`]: mail transports (log, SMTP, Amazon SES over SMTP) and email templates.
//! - [`store`]: everything durable, in one redb file.
//! - [`crypto`]: random tokens, hashing, signing keys, JWS, JWKS (all ring).
//! - [`apps`]: the application registry (create, update, rotate secrets, reconcile `sesame.toml`).
//! - [`admin`]: the local control socket through which the CLI reaches a running server.
//! - [`clock`]: the one place that reads the time.
//! - [`secret`]: [`secret::Secret`], a configured password or key whose `Debug` hides it.

pub mod admin;
pub mod apps;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod http;
pub mod mail;
pub mod oidc;
pub mod pages;
pub mod secret;
pub mod server;
pub mod signin;
pub mod store;
