//! PKCE (RFC 7636), S256 only: the challenge an authorization request carries and the verifier
//! the token request proves it with. `plain` is refused (RFC 9700 §2.1.1).

use crate::crypto;

/// RFC 7636 §4.1 / §4.2: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
/// The verifier and an S256 challenge (a base64url SHA-256, 43 characters) both fit this.
fn well_formed(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Whether `challenge` is a well-formed S256 challenge (RFC 7636 §4.2).
pub fn valid_challenge(challenge: &str) -> bool {
    well_formed(challenge)
}

/// Why a token request's PKCE proof failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceError {
    /// A verifier came for a code issued without a challenge (a PKCE downgrade, RFC 9700 §2.1.1).
    UnexpectedVerifier,
    /// The code was issued with a challenge and no verifier came (RFC 7636 §4.5).
    MissingVerifier,
    /// The verifier does not hash to the challenge (RFC 7636 §4.6).
    Mismatch,
}

/// Checks a verifier against the stored S256 challenge (RFC 7636 §4.6).
pub fn verify(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), PkceError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(PkceError::UnexpectedVerifier),
        (Some(_), None) => Err(PkceError::MissingVerifier),
        (Some(c), Some(v)) => {
            let computed =
                crypto::b64url(ring::digest::digest(&ring::digest::SHA256, v.as_bytes()).as_ref());
            if well_formed(v) && crypto::constant_time_eq(computed.as_bytes(), c.as_bytes()) {
                Ok(())
            } else {
                Err(PkceError::Mismatch)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_known_answer_and_downgrade() {
        // RFC 7636 Appendix B.
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_challenge(c));
        assert_eq!(verify(Some(c), Some(v)), Ok(()));
        let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx";
        assert_eq!(verify(Some(c), Some(wrong)), Err(PkceError::Mismatch));
        assert_eq!(verify(Some(c), None), Err(PkceError::MissingVerifier));
        assert_eq!(verify(None, Some(v)), Err(PkceError::UnexpectedVerifier));
        assert_eq!(verify(None, None), Ok(()));
    }

    #[test]
    fn challenges_are_checked_for_length_and_alphabet() {
        assert!(!valid_challenge("short"));
        assert!(!valid_challenge(&"a".repeat(129)));
        assert!(!valid_challenge(&format!("{}+", "a".repeat(43))));
        assert!(valid_challenge(&"a".repeat(128)));
    }
}
