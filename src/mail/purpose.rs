//! [`Purpose`]: why a code is sent, in Logto's usage types (`Register`, `SignIn`,
//! `ForgotPassword`, `Generic`); it picks the email template.

use std::fmt;
use std::str::FromStr;

use super::UnknownPurpose;

/// Why a code is sent; picks the email template (Logto's usage types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// First sign-in of a new address (sign-up by code).
    Register,
    /// Sign-in of a known address.
    SignIn,
    ForgotPassword,
    /// Any other verification.
    Generic,
}

impl Purpose {
    pub const ALL: [Purpose; 4] = [
        Purpose::Register,
        Purpose::SignIn,
        Purpose::ForgotPassword,
        Purpose::Generic,
    ];

    /// Logto's `usageType` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "Register",
            Purpose::SignIn => "SignIn",
            Purpose::ForgotPassword => "ForgotPassword",
            Purpose::Generic => "Generic",
        }
    }

    /// Exactly Logto's `usageType` names (what connector JSON holds).
    pub fn from_usage_type(s: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }

    pub(super) fn default_file(self) -> &'static str {
        match self {
            Purpose::Register => "Register.html",
            Purpose::SignIn => "SignIn.html",
            Purpose::ForgotPassword => "ForgotPassword.html",
            Purpose::Generic => "Generic.html",
        }
    }
}

/// Lenient parsing for the command line: `SignIn`, `signin`, `sign-in`, `sign_in` all work.
impl FromStr for Purpose {
    type Err = UnknownPurpose;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        Purpose::ALL
            .into_iter()
            .find(|p| p.as_str().to_ascii_lowercase() == folded)
            .ok_or_else(|| UnknownPurpose(s.to_string()))
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_parse_leniently_from_the_command_line() {
        assert_eq!("SignIn".parse::<Purpose>(), Ok(Purpose::SignIn));
        assert_eq!("sign-in".parse::<Purpose>(), Ok(Purpose::SignIn));
        assert_eq!(
            "forgot_password".parse::<Purpose>(),
            Ok(Purpose::ForgotPassword)
        );
        assert!("Login".parse::<Purpose>().is_err());
        assert_eq!(Purpose::from_usage_type("signin"), None);
    }
}
