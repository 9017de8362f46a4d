//! Forward-auth: a reverse proxy (Caddy `forward_auth`, Traefik `ForwardAuth`, nginx
//! `auth_request`) asks sesame about every request to the hosts it protects, and sesame answers
//! from its forward-auth session and the access rules ([`access`]). The contract is Authelia's,
//! so proxy guides written for it work.
//!
//! ```text
//!  browser ──GET app.home.example.com/x──▶ proxy ──"may it?" (cookie, original URL)──▶ sesame
//!                                                                                       │ check
//!    ┌───────────────────────────────────────────────────────────────────────────────────┤
//!    │ let through: 200 + Remote-User, -Groups, -Email, -Name ──▶ proxy adds them, forwards
//!    │ sign in first: redirect to {issuer}/sign-in?rd=<original URL>
//!    │     └─▶ begin: signed in to sesame already? a forward-auth session at once (no page);
//!    │                otherwise the email-code sign-in (an interaction for this URL) ─▶ code
//!    │         ─▶ forward-auth cookie (Domain = cookie_domain) + redirect back to rd ─▶ check
//!    └ refused: 403 and a page saying so (with a way to use another account)
//! ```
//!
//! Why the pieces are as they are:
//! - The check never writes: it reads one session and one user in a snapshot. A proxy asks on
//!   every request, so it must be cheap, and an anonymous flood must cost no fsync. The
//!   interaction is made by `/sign-in?rd=`, which only a browser that follows the redirect
//!   reaches.
//! - The forward-auth cookie is set for the cookie domain, so it reaches every protected host
//!   (one sign-in covers them all) and also the apps behind the proxy, which see the request's
//!   cookies. So it names a session of its own kind ([`crate::store::SessionKind`]), which
//!   sesame's pages, `/auth` and the management API refuse: an app that reads it can pass
//!   forward-auth as that person, not sign in to other apps or administer sesame.
//! - `rd` must be a URL under the cookie domain ([`ReturnTo`]): otherwise the sign-in would be
//!   an open redirect carrying a fresh sign-in to any site.
//! - An original URL that is missing or does not parse is an error, never a pass ([`Target`]).
//!
//! Uses: provider, session, store (users, sessions), users (email keys), issuer. Never the edge:
//! HTTP headers are read by the server module, which hands over plain strings.

pub mod access;
pub mod target;

pub use access::{AccessRuleDecl, AccessRuleError, AccessRules, Decision, Policy, Verdict, Who};
pub use target::{CookieDomain, CookieDomainError, ReturnTo, ReturnToError, Target, TargetError};

use crate::issuer::Issuer;
use crate::provider::Provider;
use crate::session;
use crate::store::{SessionKind, StoreError, User};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `[forward_auth]` in `sesame.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwardAuthConfig {
    /// The domain the forward-auth cookie is set for (`home.example.com`): sesame's own host and
    /// every protected host must be under it. Unset: forward-auth is off.
    pub cookie_domain: Option<String>,
}

/// Forward-auth as the running server uses it.
#[derive(Debug, Clone)]
pub struct ForwardAuth {
    pub cookie_domain: CookieDomain,
    pub rules: AccessRules,
    /// sesame is https: the cookie is `Secure`, and a sign-in returns only to https pages.
    pub https: bool,
}

/// Why the forward-auth settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardAuthError {
    /// `cookie_domain` is not one.
    CookieDomain(CookieDomainError),
    /// The issuer's host is not under `cookie_domain`: the browser would refuse the cookie
    /// sesame sets.
    IssuerOutside { issuer: String, domain: String },
    /// `[[access]]` rules are declared without `cookie_domain`.
    RulesWithoutDomain,
    /// A rule does not compile.
    Rule(AccessRuleError),
}

impl fmt::Display for ForwardAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardAuthError::CookieDomain(e) => write!(f, "{e}"),
            ForwardAuthError::IssuerOutside { issuer, domain } => write!(
                f,
                "{domain:?} does not cover the issuer {issuer}: sesame sets the forward-auth cookie from its own host, so the issuer must be on {domain} or a host under it (e.g. issuer https://auth.{domain})"
            ),
            ForwardAuthError::RulesWithoutDomain => write!(
                f,
                "is required when [[access]] rules are declared: forward-auth needs the domain its cookie is set for, e.g. cookie_domain = \"home.example.com\""
            ),
            ForwardAuthError::Rule(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ForwardAuthError {}

impl ForwardAuth {
    /// Forward-auth from its settings, or `None` when `cookie_domain` is unset (and no rules are
    /// declared).
    pub fn new(
        config: &ForwardAuthConfig,
        rules: &[AccessRuleDecl],
        issuer: &Issuer,
    ) -> Result<Option<ForwardAuth>, ForwardAuthError> {
        let Some(raw) = config.cookie_domain.as_deref() else {
            return match rules.is_empty() {
                true => Ok(None),
                false => Err(ForwardAuthError::RulesWithoutDomain),
            };
        };
        let cookie_domain = CookieDomain::parse(raw).map_err(ForwardAuthError::CookieDomain)?;
        let issuer_host = url::Url::parse(&issuer.url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_end_matches('.').to_string()))
            .unwrap_or_default();
        if !cookie_domain.covers(&issuer_host) {
            return Err(ForwardAuthError::IssuerOutside {
                issuer: issuer.url.clone(),
                domain: cookie_domain.to_string(),
            });
        }
        let rules = AccessRules::compile(rules).map_err(ForwardAuthError::Rule)?;
        Ok(Some(ForwardAuth {
            cookie_domain,
            rules,
            https: issuer.https,
        }))
    }
}

/// Who is signed in, as the identity headers carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `Remote-User`: the username (`preferred_username`), else the email address.
    pub user: String,
    /// `Remote-Groups`: the group names, comma-separated.
    pub groups: String,
    /// `Remote-Email`.
    pub email: String,
    /// `Remote-Name`: the display name, empty when there is none.
    pub name: String,
}

impl Identity {
    pub fn of(user: &User) -> Identity {
        Identity {
            user: user.username.clone().unwrap_or_else(|| user.email.clone()),
            groups: user.groups.join(","),
            email: user.email.clone(),
            name: user.name.clone().unwrap_or_default(),
        }
    }
}

/// What the proxy is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Let the request through; with who it is when someone is signed in.
    Pass(Option<Identity>),
    /// Sign in first, then come back here.
    SignIn(ReturnTo),
    /// Refused by rule `rule` (`None`: no rule matched). `signed_in`: who is refused, when
    /// someone is (the page offers another account).
    Forbidden {
        signed_in: Option<Identity>,
        rule: Option<usize>,
    },
    /// A sign-in is needed but could not return to this URL: its host is outside the cookie
    /// domain, or it is http while sesame is https (the proxy is set up for more than sesame
    /// covers).
    CannotReturn(ReturnToError),
}

/// Decides on one request: the forward-auth session `cookie` names (if any), then the rules.
/// Reads only.
pub fn check(
    p: &Provider,
    fa: &ForwardAuth,
    target: &Target,
    cookie: Option<&str>,
) -> Result<Answer, StoreError> {
    let signed_in = session::signed_in(p, cookie, SessionKind::ForwardAuth)?;
    let who = match &signed_in {
        Some((_, user)) => Who::User(user),
        None => Who::Anonymous,
    };
    let decision = fa.rules.decide(&target.host, &target.path, who);
    let identity = || signed_in.as_ref().map(|(_, u)| Identity::of(u));
    Ok(match decision.verdict {
        Verdict::Granted => Answer::Pass(identity()),
        Verdict::Denied => Answer::Forbidden {
            signed_in: identity(),
            rule: decision.rule,
        },
        Verdict::SignIn => match ReturnTo::check(target.url.clone(), &fa.cookie_domain, fa.https) {
            Ok(back) => Answer::SignIn(back),
            Err(e) => Answer::CannotReturn(e),
        },
    })
}

/// How a sign-in for a page behind the proxy begins (`/sign-in?rd=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The browser is signed in to sesame already: a forward-auth session for the same person,
    /// ending with that session, and straight back; no page.
    Resume {
        /// The forward-auth cookie's value.
        session: String,
        /// Seconds it lives.
        max_age: u64,
        back: ReturnTo,
    },
    /// Sign in (nobody is signed in, or another account was asked for), then back here.
    SignIn(ReturnTo),
}

/// Why a sign-in for a page cannot begin.
#[derive(Debug)]
pub enum BeginError {
    /// `rd` is missing or not a URL sesame may send the browser to.
    ReturnTo(ReturnToError),
    Store(StoreError),
}

impl From<StoreError> for BeginError {
    fn from(e: StoreError) -> Self {
        BeginError::Store(e)
    }
}

/// Begins a sign-in for `rd`. `sesame_session` is the browser's sesame session cookie;
/// `another_account` asks to sign in again even so (the refusal page's "use another account").
pub fn begin(
    p: &Provider,
    fa: &ForwardAuth,
    rd: &str,
    sesame_session: Option<&str>,
    another_account: bool,
) -> Result<Begin, BeginError> {
    let back = ReturnTo::parse(rd, &fa.cookie_domain, fa.https).map_err(BeginError::ReturnTo)?;
    if another_account {
        return Ok(Begin::SignIn(back));
    }
    let Some((s, user)) = session::signed_in(p, sesame_session, SessionKind::Sesame)? else {
        return Ok(Begin::SignIn(back));
    };
    let now = p.now();
    let session = p
        .store
        .write(|tx| session::create_forward_auth(tx, &user.id, s.auth_time, s.expires_at))?;
    Ok(Begin::Resume {
        session,
        max_age: s.expires_at.saturating_sub(now),
        back,
    })
}

#[cfg(test)]
mod tests;
