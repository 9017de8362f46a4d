//! The grant types of the token endpoint (RFC 6749 §4.1.3, §4.4, §6), and which apps may use
//! each.

use crate::store::AppType;

/// A `grant_type` sesame accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// Exchanging an authorization code (RFC 6749 §4.1.3).
    AuthorizationCode,
    /// Refreshing, with rotation (RFC 6749 §6, RFC 9700 §4.14.2).
    RefreshToken,
    /// A machine app gets a token for itself (RFC 6749 §4.4).
    ClientCredentials,
    /// A TV or a CLI polls for the tokens its user approved on another screen (RFC 8628
    /// §3.4); only apps with `device_flow` set ([`crate::oidc::device`]).
    DeviceCode,
}

impl GrantType {
    /// Every grant type sesame supports (discovery's `grant_types_supported`).
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
    ];

    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    /// Whether an app of this type may use the grant: machine apps use client credentials
    /// only (a confidential client acting for itself, RFC 6749 §4.4); every other app only the
    /// grants that sign a user in (the device grant also needs the app's `device_flow`).
    pub fn allowed_for(self, app_type: AppType) -> bool {
        match self {
            GrantType::ClientCredentials => app_type == AppType::Machine,
            GrantType::AuthorizationCode | GrantType::RefreshToken | GrantType::DeviceCode => {
                app_type.signs_in_users()
            }
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

    #[test]
    fn only_machine_apps_use_client_credentials_and_only_they() {
        use AppType::*;
        for t in [Traditional, Spa, Native, Machine] {
            assert_eq!(GrantType::ClientCredentials.allowed_for(t), t == Machine);
            assert_eq!(GrantType::AuthorizationCode.allowed_for(t), t != Machine);
            assert_eq!(GrantType::RefreshToken.allowed_for(t), t != Machine);
            assert_eq!(GrantType::DeviceCode.allowed_for(t), t != Machine);
        }
    }
}
