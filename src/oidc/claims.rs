//! Which user claims each scope releases (OIDC Core §5.4), and custom claims.
//!
//! - `openid`: `sub`.
//! - `profile`: `name`, `preferred_username` (and `username`, as Logto names it), `picture`,
//!   `updated_at`.
//! - `email`: `email`, `email_verified`.
//! - `groups`: `groups`, the names of the user's groups (what Grafana, oauth2-proxy,
//!   Jellyfin's SSO plugin, Nextcloud, Proxmox and Portainer read).
//!
//! Custom claims come with every token and userinfo answer, merged in this order, later ones
//! winning: each of the user's groups in name order, then the user's own. They never override a
//! registered claim ([`crate::users::REGISTERED_CLAIMS`]): those are refused when the claims are
//! set, and skipped here too, so a record written otherwise cannot override them either.

use super::scope::Scope;
use crate::store::{Group, User};
use crate::users::REGISTERED_CLAIMS;
use serde_json::{json, Map, Value};

/// The claims of `user` that `scope` releases, always including `sub`. `groups` are the user's
/// group records (for their custom claims).
pub fn user_claims(user: &User, groups: &[Group], scope: &[String]) -> Map<String, Value> {
    let mut m = Map::new();
    let mut sorted: Vec<&Group> = groups.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for claims in sorted.iter().map(|g| &g.claims).chain([&user.claims]) {
        for (k, v) in claims {
            if !REGISTERED_CLAIMS.contains(&k.as_str()) {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    m.insert("sub".into(), json!(user.id));
    if Scope::Profile.is_in(scope) {
        // OIDC Core §5.3.2: a claim without a value is left out, not sent as null.
        for (k, v) in [
            ("name", &user.name),
            ("preferred_username", &user.username),
            ("username", &user.username),
            ("picture", &user.picture),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        m.insert("updated_at".into(), json!(user.updated_at));
    }
    if Scope::Email.is_in(scope) {
        m.insert("email".into(), json!(user.email));
        m.insert("email_verified".into(), json!(user.email_verified));
    }
    if Scope::Groups.is_in(scope) {
        m.insert("groups".into(), json!(user.groups));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        let mut u = User::new("u1".into(), "a@example.com".into(), 1);
        u.email_verified = true;
        u.username = Some("a".into());
        u.updated_at = 2;
        u
    }

    #[test]
    fn scopes_release_their_claims_only() {
        let u = user();
        let c = user_claims(&u, &[], &["openid".into()]);
        assert_eq!(c.len(), 1);
        let c = user_claims(
            &u,
            &[],
            &["openid".into(), "email".into(), "profile".into()],
        );
        assert_eq!(c["email"], "a@example.com");
        assert_eq!(c["email_verified"], true);
        assert_eq!(c["username"], "a");
        assert_eq!(c["preferred_username"], "a");
        assert!(
            !c.contains_key("name"),
            "absent claims are left out, not null"
        );
        assert_eq!(c["updated_at"], 2);
        assert!(!c.contains_key("groups"));
    }

    #[test]
    fn groups_come_with_their_scope_and_custom_claims_merge_in_order() {
        let mut u = user();
        u.groups = vec!["admins".into(), "family".into()];
        u.claims.insert("role".into(), json!("owner"));
        u.claims.insert("sub".into(), json!("forged"));
        let group = |name: &str, claims: Value| Group {
            name: name.into(),
            description: String::new(),
            claims: claims.as_object().cloned().unwrap(),
            api_scopes: Default::default(),
            second_factor: Default::default(),
            declared: false,
            created_at: 0,
            updated_at: 0,
        };
        let groups = [
            group(
                "family",
                json!({ "role": "member", "quota": 10, "is_admin": false }),
            ),
            group(
                "admins",
                json!({ "is_admin": true, "email": "x@evil.example" }),
            ),
        ];
        let c = user_claims(
            &u,
            &groups,
            &["openid".into(), "groups".into(), "email".into()],
        );
        assert_eq!(c["groups"], json!(["admins", "family"]));
        // Groups by name (admins, then family), then the user: later ones win.
        assert_eq!(c["is_admin"], false);
        assert_eq!(c["quota"], 10);
        assert_eq!(c["role"], "owner");
        // Registered claims are never overridden.
        assert_eq!(c["sub"], "u1");
        assert_eq!(c["email"], "a@example.com");
    }
}
