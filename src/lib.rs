//! sesame: an OpenID Connect identity provider in one binary.
//!
//! Three layers, each using only those below it (and the CLI on top of all):
//!
//! ```text
//!  cli ──▶ HTTP edge:  server (router, handlers, error pages), http (request parsing, responses),
//!                      admin (the control socket)
//!            │
//!            ▼
//!          core:       oidc (the protocol), signin (email codes), session (single sign-on),
//!                      forward_auth (a reverse proxy's "may this request through?"),
//!                      provider (the context the core runs in), apps (the app registry),
//!                      users (the directory), audit (the audit log), limits (abuse), api_keys
//!                      (management API keys), issuer (endpoint URLs), account (what a
//!                      user does to their own account), experience (the sign-in experience
//!                      the console overrides), factors (passkeys, authenticator apps,
//!                      recovery codes, the second-factor policy, amr/acr)
//!            │
//!            ▼
//!          parts:      store (redb), crypto (ring), mail (lettre), pages (minijinja), clock,
//!                      alg, secret, metrics (prometheus-client), outbound (POSTs to apps),
//!                      qr (qrcodegen)
//! ```
//!
//! `config` sits beside the edge: it reads file, environment and flags into the settings types
//! that the core and the parts own (`TokenConfig` in provider, `AppDecl` in apps, `AuditConfig`
//! in audit, `MailConfig` in mail, `BrandingConfig` in pages, `ForwardAuthConfig` and
//! `AccessRuleDecl` in forward_auth); nothing below it imports it.
//!
//! The modules, in the order a request meets them:
//!
//! - [`cli`]: the command line (`serve`, `dev`, `app ...`, `api ...`, `user ...`, `group ...`,
//!   `mail test`, `connector set`, `keys rotate|list|prune`, `backup`, `restore`, `audit`,
//!   `access check`).
//! - [`config`]: `sesame.toml` + `SESAME_*` environment variables + flags, validated once.
//! - [`server`]: the running server: start-up, the accept loop, the router and its handlers,
//!   the words of every error page, the management API (`/api/v1`), the forward-auth
//!   endpoints (`/api/authz/...`); `server::dev` is `sesame dev` (its start-up, sign-in page
//!   and debugger).
//! - [`http`]: request parsing (once, at the edge), cookies, response helpers.
//! - [`admin`]: the local control socket through which the CLI reaches a running server.
//! - [`provider`]: the core's context (store, issuer, lifetimes, keys, mailer, clock).
//! - [`oidc`]: the protocol: authorization requests, grants and token families, userinfo,
//!   end-session, revocation, discovery.
//! - [`signin`]: the email one-time-code sign-in, and `sesame dev`'s sign-in as anyone
//!   (`signin::dev`).
//! - [`session`]: the sesame session (single sign-on across apps), and the forward-auth session
//!   beside it.
//! - [`factors`]: second factors (passkeys, authenticator apps, recovery codes), the policy
//!   that asks for them, and the `amr`/`acr` an ID token carries.
//! - [`account`]: what a signed-in user does to their own account (the account page's
//!   operations: view, rename, end sessions, revoke an app; the email change is a sign-in).
//! - [`forward_auth`]: forward-auth for Caddy, Traefik and nginx (Authelia's contract): the
//!   access rules (`[[access]]`), the original request's URL and where a sign-in may return,
//!   the check a proxy asks on every request.
//! - [`limits`]: limits under abuse: per-client rates (GCRA, bounded memory), who the client
//!   is (`trusted_proxies`, `X-Forwarded-For`), the mail and pending sign-in budgets' settings,
//!   and the count of refusals per kind.
//! - [`issuer`]: the issuer URL and the endpoint paths under it.
//! - [`apps`]: the application registry (create, update, rotate secrets, reconcile `sesame.toml`),
//!   and `sesame dev`'s policy for unknown clients (`apps::dev::DevMode`, which the provider
//!   holds only under `sesame dev`).
//! - [`users`]: the directory: users, groups, the built-in `admins` group, who may use which
//!   app, the sign-up policy.
//! - [`audit`]: the audit log: what is recorded (sign-ins, codes sent, token reuse, changes),
//!   recording inside the caller's transaction, retention, and listing.
//! - [`apis`]: the API registry: resource servers sesame issues JWT access tokens for
//!   (RFC 9068), by resource indicator (RFC 8707).
//! - [`api_keys`]: the keys programs present to the management API (made, listed, revoked,
//!   checked; stored hashed).
//! - [`pages`]: the HTML pages, rendered from embedded minijinja templates.
//! - [`qr`]: QR codes as inline SVG (the authenticator app's setup on the account page).
//! - [`mail`]: mail transports (log, SMTP, Amazon SES over SMTP) and email templates.
//! - [`metrics`]: the counters and histograms `/metrics` shows (Prometheus text format).
//! - [`store`]: everything durable, in one redb file, and the typed operations the core uses.
//! - [`alg`]: the JOSE signature algorithms (ES384, ES256, RS256) as a type.
//! - [`crypto`]: random tokens, hashing, signing keys, JWS, JWKS (all ring).
//! - [`outbound`]: the one HTTP request sesame makes itself: a form POST to an app (back-channel
//!   logout), over TCP or rustls.
//! - [`clock`]: the one place that reads the time; a fixed clock for tests.
//! - [`secret`]: [`secret::Secret`], a configured password or key whose `Debug` hides it, and
//!   [`secret::mask`], which hides secrets in JSON that is shown or kept.

pub mod account;
pub mod admin;
pub mod alg;
pub mod api_keys;
pub mod apis;
pub mod apps;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod experience;
pub mod factors;
pub mod forward_auth;
pub mod http;
pub mod issuer;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod outbound;
pub mod pages;
pub mod provider;
pub mod qr;
pub mod secret;
pub mod server;
pub mod session;
pub mod signin;
pub mod store;
pub mod users;
