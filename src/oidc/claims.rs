//! Which user claims each scope releases (OIDC Core §5.4).

use super::scope::Scope;
use crate::store::User;
use serde_json::{json, Map, Value};

/// The claims of `user` that `scope` releases, always including `sub`.
pub fn user_claims(user: &User, scope: &[String]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("sub".into(), json!(user.id));
    if Scope::Profile.is_in(scope) {
        // OIDC Core §5.3.2: a claim without a value is left out, not sent as null.
        for (k, v) in [
            ("name", &user.name),
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
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_release_their_claims_only() {
        let u = User {
            id: "u1".into(),
            email: "a@example.com".into(),
            email_verified: true,
            name: None,
            username: Some("a".into()),
            picture: None,
            created_at: 1,
            updated_at: 2,
        };
        let c = user_claims(&u, &["openid".into()]);
        assert_eq!(c.len(), 1);
        let c = user_claims(&u, &["openid".into(), "email".into(), "profile".into()]);
        assert_eq!(c["email"], "a@example.com");
        assert_eq!(c["email_verified"], true);
        assert_eq!(c["username"], "a");
        assert!(
            !c.contains_key("name"),
            "absent claims are left out, not null"
        );
        assert_eq!(c["updated_at"], 2);
    }
}
