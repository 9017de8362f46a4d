//! The scopes sesame knows: the one list that discovery advertises, the authorization endpoint
//! keeps from a request, and the claims code releases claims for.

/// A scope sesame grants (OIDC Core §5.4, §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Required: this is an OpenID Connect request.
    OpenId,
    /// A refresh token comes with the tokens (OIDC Core §11).
    OfflineAccess,
    /// `name`, `preferred_username`, `username`, `picture`, `updated_at`.
    Profile,
    /// `email`, `email_verified`.
    Email,
    /// `groups`: the names of the user's groups.
    Groups,
}

impl Scope {
    /// Every scope sesame knows, in the order they are advertised and granted.
    pub const ALL: [Scope; 5] = [
        Scope::OpenId,
        Scope::OfflineAccess,
        Scope::Profile,
        Scope::Email,
        Scope::Groups,
    ];

    /// The scope's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::OpenId => "openid",
            Scope::OfflineAccess => "offline_access",
            Scope::Profile => "profile",
            Scope::Email => "email",
            Scope::Groups => "groups",
        }
    }

    /// The names of [`Scope::ALL`] (for discovery's `scopes_supported`).
    pub fn names() -> Vec<&'static str> {
        Scope::ALL.iter().map(|s| s.as_str()).collect()
    }

    /// The known scopes among `asked` (space-separated on the wire, already split), in
    /// [`Scope::ALL`]'s order; unknown ones are dropped (RFC 6749 §3.3 lets the server grant
    /// fewer scopes than asked).
    pub fn known<'a>(asked: impl IntoIterator<Item = &'a str> + Clone) -> Vec<String> {
        Scope::ALL
            .iter()
            .filter(|s| asked.clone().into_iter().any(|a| a == s.as_str()))
            .map(|s| s.as_str().to_string())
            .collect()
    }

    /// Whether a granted scope list (as stored) contains this scope.
    pub fn is_in(self, granted: &[String]) -> bool {
        granted.iter().any(|g| g == self.as_str())
    }
}

/// Splits a space-delimited scope parameter (RFC 6749 §3.3), ignoring repeated spaces.
pub fn split(param: &str) -> impl Iterator<Item = &str> + Clone {
    param.split(' ').filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_scopes_keep_their_order_and_drop_the_rest() {
        let asked = split("email  openid unknown offline_access");
        assert_eq!(Scope::known(asked), ["openid", "offline_access", "email"]);
        assert!(Scope::Email.is_in(&["email".into()]));
        assert_eq!(
            Scope::names(),
            ["openid", "offline_access", "profile", "email", "groups"]
        );
    }
}
