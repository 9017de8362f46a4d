//! The grant types of the token endpoint (RFC 6749 §4.1.3, §6).

/// A `grant_type` sesame accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// Exchanging an authorization code (RFC 6749 §4.1.3).
    AuthorizationCode,
    /// Refreshing, with rotation (RFC 6749 §6, RFC 9700 §4.14.2).
    RefreshToken,
}

impl GrantType {
    /// Every grant type sesame supports (discovery's `grant_types_supported`).
    pub const ALL: [GrantType; 2] = [GrantType::AuthorizationCode, GrantType::RefreshToken];

    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    /// The grant type named `s`, if sesame supports it.
    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The names of [`GrantType::ALL`], for discovery and error messages.
    pub fn names() -> Vec<&'static str> {
        GrantType::ALL.iter().map(|g| g.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
        }
        assert_eq!(GrantType::parse("password"), None);
    }
}
