//! Signing in on `sesame dev`'s page: as anyone, with no mail, or answering the app with an
//! error instead.
//!
//! The dev page answers an interaction (an authorization request waiting for the user) in one
//! of three ways, each ending it:
//!
//! ```text
//!                ┌─ sign in as a persona ─▶ user and groups created or updated,
//!                │                          session, authorization code ──▶ app
//!  [interaction] ┼─ Deny ─────────────────▶ error=access_denied ──────────▶ app
//!                └─ Error ────────────────▶ error=<chosen code>&error_description ─▶ app
//! ```
//!
//! A persona is what the form says (email, name, username, groups, extra claims as JSON) or a
//! preset from `[dev.users]` in `sesame.toml` ([`DevUser`]). The user and the groups it names
//! are written to the directory like any others, so tokens carry them through the normal
//! claims code ([`crate::oidc::claims`]): nothing in a token is made up by dev mode.
//!
//! Every function here takes the [`DevMode`] proof, which only `sesame dev` has: none is
//! reachable from `sesame serve`. Browser binding and CSRF are checked by the caller with
//! [`super::load`] and [`super::check_csrf`], as for the email pages.

use super::{finish, SignedIn};
use crate::apps::dev::DevMode;
use crate::oidc::authorize::error_redirect;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::provider::Provider;
use crate::store::{Reads, StoreError, Writes};
use crate::users::{self, Email, EmailError, NewGroup, NewUser, UserChange, UserError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `[dev]` in `sesame.toml`: what `sesame dev` reads besides `[tokens]` and `[branding]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevConfig {
    /// Personas shown as one-click choices on the dev sign-in page, by a short name
    /// (`[dev.users.alice]`).
    pub users: BTreeMap<String, DevUser>,
}

/// A persona a team shares: `[dev.users.NAME]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevUser {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Custom claims, as `sesame user add --claim` sets them.
    #[serde(default)]
    pub claims: Map<String, Value>,
}

/// Who to sign in as, checked: what the dev page's form or a preset says.
#[derive(Debug, Clone, PartialEq)]
pub struct Persona {
    pub email: Email,
    pub name: Option<String>,
    pub username: Option<String>,
    /// Sorted, without repeats.
    pub groups: Vec<String>,
    pub claims: Map<String, Value>,
}

/// Why the dev page could not sign someone in (shown on the page, next to the form).
#[derive(Debug)]
pub enum DevSignInError {
    /// The interaction is unknown or expired: start again from the app.
    Expired,
    /// The email is not an address.
    InvalidEmail(EmailError),
    /// The extra claims are not a JSON object.
    ClaimsNotJson(String),
    /// The directory refused the persona (a reserved claim, a taken username, a bad group
    /// name, ...).
    Directory(UserError),
    /// The user exists and is disabled.
    Disabled,
    /// Deny and Error answer an app; this sign-in is for a page behind the proxy.
    NotAnApp,
    /// Storage failed.
    Store(StoreError),
}

impl From<StoreError> for DevSignInError {
    fn from(e: StoreError) -> Self {
        DevSignInError::Store(e)
    }
}

impl From<UserError> for DevSignInError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Store(e) => DevSignInError::Store(e),
            e => DevSignInError::Directory(e),
        }
    }
}

impl std::fmt::Display for DevSignInError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DevSignInError::Expired => {
                write!(f, "this sign-in has expired; start again from the app")
            }
            DevSignInError::InvalidEmail(e) => write!(f, "the email is not valid: {e}"),
            DevSignInError::ClaimsNotJson(e) => {
                write!(
                    f,
                    "the extra claims must be a JSON object, like {{\"role\": \"admin\"}}: {e}"
                )
            }
            DevSignInError::Directory(e) => write!(f, "{e}"),
            DevSignInError::Disabled => write!(
                f,
                "this user is disabled (sesame user enable turns them back on)"
            ),
            DevSignInError::NotAnApp => write!(
                f,
                "this sign-in is for a page behind the proxy: Deny and Error answer apps only"
            ),
            DevSignInError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DevSignInError {}

impl Persona {
    /// The persona the dev page's form describes: `groups` comma-separated, `claims` a JSON
    /// object (or empty).
    pub fn from_form(
        email: &str,
        name: &str,
        username: &str,
        groups: &str,
        claims: &str,
    ) -> Result<Persona, DevSignInError> {
        let claims = match claims.trim() {
            "" => Map::new(),
            text => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => m,
                Ok(other) => {
                    return Err(DevSignInError::ClaimsNotJson(format!(
                        "got {}",
                        crate::users::json_kind(&other)
                    )))
                }
                Err(e) => return Err(DevSignInError::ClaimsNotJson(e.to_string())),
            },
        };
        let groups: Vec<String> = groups.split(',').map(str::to_string).collect();
        Persona::new(email, Some(name), Some(username), &groups, claims)
    }

    /// The persona of a `[dev.users]` preset.
    pub fn from_preset(user: &DevUser) -> Result<Persona, DevSignInError> {
        Persona::new(
            &user.email,
            user.name.as_deref(),
            user.username.as_deref(),
            &user.groups,
            user.claims.clone(),
        )
    }

    fn new(
        email: &str,
        name: Option<&str>,
        username: Option<&str>,
        groups: &[String],
        claims: Map<String, Value>,
    ) -> Result<Persona, DevSignInError> {
        let email = Email::parse(email).map_err(DevSignInError::InvalidEmail)?;
        users::check_claims(&claims)?;
        let text = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let mut groups: Vec<String> = groups
            .iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        groups.sort();
        groups.dedup();
        Ok(Persona {
            email,
            name: text(name),
            username: text(username),
            groups,
            claims,
        })
    }
}

/// Signs the browser in as `persona` for interaction `id`: creates the groups it names that do
/// not exist, creates the user or makes the existing one (by email) match the persona, then
/// ends the sign-in as every sign-in ends (`signin::finish`), all in one transaction: a refused
/// persona changes nothing.
pub fn sign_in_as(
    p: &Provider,
    _dev: &DevMode,
    id: &str,
    persona: &Persona,
    old_session: Option<&str>,
) -> Result<SignedIn, DevSignInError> {
    let now = p.now();
    p.store.write(|tx| {
        let Some(i) = tx.interaction(id)?.filter(|i| now < i.expires_at) else {
            return Err(DevSignInError::Expired);
        };
        for name in &persona.groups {
            if tx.group(name)?.is_none() {
                let group = NewGroup {
                    name: name.clone(),
                    description: "made by sesame dev".into(),
                    claims: Map::new(),
                    api_scopes: Default::default(),
                    second_factor: Default::default(),
                };
                users::add_group_in(tx, now, group)?;
            }
        }
        let existing = match tx.user_id_by_email(&persona.email.key)? {
            Some(uid) => tx.user(&uid)?,
            None => None,
        };
        let new_user = existing.is_none();
        let user = match existing {
            Some(u) if u.disabled => return Err(DevSignInError::Disabled),
            Some(u) => {
                // Empty strings remove a name or username the persona no longer has.
                let change = UserChange {
                    name: Some(persona.name.clone().unwrap_or_default()),
                    username: Some(persona.username.clone().unwrap_or_default()),
                    groups: Some(persona.groups.clone()),
                    claims: Some(persona.claims.clone()),
                    ..UserChange::default()
                };
                users::update_in(tx, now, &u.id, change)?
            }
            None => {
                let new = NewUser {
                    email: persona.email.address.clone(),
                    name: persona.name.clone(),
                    username: persona.username.clone(),
                    picture: None,
                    groups: persona.groups.clone(),
                    claims: persona.claims.clone(),
                };
                users::add_in(tx, now, new)?
            }
        };
        let address = persona.email.address.clone();
        // `sesame dev` signs in as anyone without a factor: say it was an email code.
        let done = finish(
            tx,
            p,
            &crate::store::Authn::email_code(now),
            (id, i.purpose),
            &address,
            user,
            new_user,
            old_session,
        )?;
        Ok(done)
    })
}

/// Ends interaction `id` by sending `error` back to the app (the Deny and Error buttons);
/// returns the redirect URL: the app's redirect URI with `error`, `error_description`,
/// `state` and `iss`.
pub fn answer_with_error(
    p: &Provider,
    _dev: &DevMode,
    id: &str,
    error: &OAuthError,
) -> Result<String, DevSignInError> {
    let now = p.now();
    p.store.write(|tx| {
        let Some(i) = tx.interaction(id)?.filter(|i| now < i.expires_at) else {
            return Err(DevSignInError::Expired);
        };
        let Some(r) = i.app_request() else {
            return Err(DevSignInError::NotAnApp);
        };
        tx.remove_interaction(id)?;
        Ok(error_redirect(
            &p.issuer,
            &r.redirect_uri,
            r.state.as_deref(),
            error,
        ))
    })
}

/// What the Deny button sends.
pub fn denied() -> OAuthError {
    OAuthError::new(
        ErrorCode::AccessDenied,
        "the user denied the request (sesame dev)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::claims::user_claims;
    use crate::provider::testing::{provider, request, CLIENT};
    use crate::signin::{start, Next};
    use crate::store::SignInFor;

    fn dev() -> DevMode {
        DevMode::on_loopback("127.0.0.1:8080".parse().unwrap()).unwrap()
    }

    #[test]
    fn a_persona_from_the_form_is_parsed_once() {
        let p = Persona::from_form(
            " Ana@Example.com ",
            "Ana",
            "",
            "admin, , staff,admin",
            r#"{"role": "owner", "quota": 10}"#,
        )
        .unwrap();
        assert_eq!(p.email.address, "Ana@Example.com");
        assert_eq!(p.username, None);
        assert_eq!(p.groups, ["admin", "staff"]);
        assert_eq!(p.claims["quota"], 10);
        assert!(matches!(
            Persona::from_form("a@example.com", "", "", "", "[1]"),
            Err(DevSignInError::ClaimsNotJson(_))
        ));
        assert!(matches!(
            Persona::from_form("a@example.com", "", "", "", "{\"email\": \"x\"}"),
            Err(DevSignInError::Directory(UserError::ReservedClaim(_)))
        ));
        assert!(matches!(
            Persona::from_form("nope", "", "", "", ""),
            Err(DevSignInError::InvalidEmail(_))
        ));
    }

    #[test]
    fn signing_in_as_a_persona_writes_the_directory_and_issues_a_code() {
        let (_d, p) = provider();
        let scope = "openid profile email groups";
        let id = start(
            &p,
            SignInFor::App(request(CLIENT, scope, None)),
            "browser-1",
        )
        .unwrap();
        let persona = Persona::from_form(
            "ana@example.com",
            "Ana",
            "ana",
            "admin",
            r#"{"role": "owner"}"#,
        )
        .unwrap();
        let done = sign_in_as(&p, &dev(), &id, &persona, None).unwrap();
        assert!(matches!(&done.next, Next::Redirect(u) if u.contains("code=")));
        let user = users::get(&p.store, "ana@example.com").unwrap();
        let groups = p.store.read(|tx| tx.groups_of(&user)).unwrap();
        let claims = user_claims(&user, &groups, &request(CLIENT, scope, None).scope);
        assert_eq!(claims["groups"], serde_json::json!(["admin"]));
        assert_eq!(claims["role"], "owner");
        assert_eq!(claims["preferred_username"], "ana");
        assert!(
            matches!(
                sign_in_as(&p, &dev(), &id, &persona, None),
                Err(DevSignInError::Expired)
            ),
            "the interaction is spent"
        );

        // The same address again: the user now matches the new persona.
        let id = start(
            &p,
            SignInFor::App(request(CLIENT, scope, None)),
            "browser-1",
        )
        .unwrap();
        let persona = Persona::from_form("ana@example.com", "", "", "staff", "").unwrap();
        sign_in_as(&p, &dev(), &id, &persona, None).unwrap();
        let again = users::get(&p.store, "ana@example.com").unwrap();
        assert_eq!(again.id, user.id, "same sub");
        assert_eq!((again.name, again.username), (None, None));
        assert_eq!(again.groups, ["staff"]);
        assert!(again.claims.is_empty());
    }

    #[test]
    fn a_refused_persona_changes_nothing() {
        let (_d, p) = provider();
        let id = start(&p, SignInFor::App(request(CLIENT, "openid", None)), "b").unwrap();
        users::add(
            &p.store,
            1,
            NewUser {
                email: "taken@example.com".into(),
                username: Some("ana".into()),
                ..NewUser::default()
            },
        )
        .unwrap();
        let persona = Persona::from_form("ana@example.com", "", "ana", "newgroup", "").unwrap();
        assert!(matches!(
            sign_in_as(&p, &dev(), &id, &persona, None),
            Err(DevSignInError::Directory(UserError::DuplicateUsername(_)))
        ));
        assert!(
            users::get_group(&p.store, "newgroup").is_err(),
            "no group made"
        );
        assert!(
            p.store.read(|tx| tx.interaction(&id)).unwrap().is_some(),
            "still pending"
        );
    }

    #[test]
    fn deny_and_error_go_back_to_the_app_with_state() {
        let (_d, p) = provider();
        let mut r = request(CLIENT, "openid", None);
        r.state = Some("st".into());
        let id = start(&p, SignInFor::App(r.clone()), "b").unwrap();
        let url = answer_with_error(&p, &dev(), &id, &denied()).unwrap();
        assert!(
            url.starts_with("https://app.example/cb?error=access_denied&"),
            "{url}"
        );
        assert!(url.contains("state=st"), "{url}");
        let id = start(&p, SignInFor::App(r), "b").unwrap();
        let e = OAuthError::new(
            ErrorCode::authorization_error("consent_required").unwrap(),
            "why",
        );
        let url = answer_with_error(&p, &dev(), &id, &e).unwrap();
        assert!(
            url.contains("error=consent_required&error_description=why"),
            "{url}"
        );
        assert!(answer_with_error(&p, &dev(), &id, &e).is_err(), "spent");
    }
}
