//! Why a registration or sign-in was refused: one variant per cause.

use super::cbor::CborError;
use std::fmt;

/// What went wrong checking a WebAuthn response. The words are for logs and for the person at
/// the browser; none of them echoes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebAuthnError {
    /// clientDataJSON's `type` is not the ceremony's ("webauthn.create" / "webauthn.get").
    WrongType,
    /// clientDataJSON's `challenge` is not the one issued for this ceremony.
    ChallengeMismatch,
    /// clientDataJSON's `origin` is not the issuer's origin.
    OriginMismatch,
    /// The ceremony ran inside a frame of another site (`crossOrigin` true or `topOrigin`).
    CrossOrigin,
    /// The authenticator data's rpIdHash is not SHA-256 of our RP ID.
    RpIdMismatch,
    /// The User Present flag is not set.
    UserNotPresent,
    /// User verification was required and the User Verified flag is not set.
    UserNotVerified,
    /// A signature (the assertion's or a packed self attestation's) does not verify.
    BadSignature,
    /// The credential's algorithm is not one of [`super::SUPPORTED`] (or is missing).
    UnsupportedAlgorithm,
    /// An attestation format or kind sesame does not check (anything but "none" and packed
    /// self attestation).
    UnsupportedAttestation,
    /// The attestation object or statement lacks a part, or has one of the wrong kind.
    MalformedAttestation,
    /// The attestation object, the credential key or the extensions are not valid CBOR.
    MalformedCbor(CborError),
    /// The authenticator data is too short, has bytes left over, or inconsistent flags.
    MalformedAuthData,
    /// clientDataJSON is not a JSON object with string `type`, `challenge` and `origin`.
    MalformedClientData,
    /// The COSE key lacks a part, has one of the wrong size, or pairs an algorithm with the
    /// wrong key type or curve.
    MalformedKey,
    /// A registration's authenticator data has no attested credential data (AT flag unset).
    NoCredentialData,
    /// The credential ID is longer than the 1023 bytes §6.5.1 allows.
    CredentialIdTooLong,
}

impl fmt::Display for WebAuthnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebAuthnError::WrongType => {
                f.write_str("the response is for another kind of WebAuthn ceremony")
            }
            WebAuthnError::ChallengeMismatch => {
                f.write_str("the response answers another challenge than the one issued")
            }
            WebAuthnError::OriginMismatch => {
                f.write_str("the response comes from another web origin than this server's")
            }
            WebAuthnError::CrossOrigin => {
                f.write_str("the ceremony ran inside a frame of another site")
            }
            WebAuthnError::RpIdMismatch => {
                f.write_str("the credential is scoped to another site (RP ID hash mismatch)")
            }
            WebAuthnError::UserNotPresent => {
                f.write_str("the authenticator did not confirm the user was present")
            }
            WebAuthnError::UserNotVerified => f.write_str(
                "the authenticator did not verify the user (PIN or biometrics), which is required",
            ),
            WebAuthnError::BadSignature => f.write_str("the signature does not verify"),
            WebAuthnError::UnsupportedAlgorithm => {
                f.write_str("the credential uses a signature algorithm this server does not accept")
            }
            WebAuthnError::UnsupportedAttestation => {
                f.write_str("the attestation format is not one this server accepts")
            }
            WebAuthnError::MalformedAttestation => f.write_str("the attestation is malformed"),
            WebAuthnError::MalformedCbor(e) => write!(f, "malformed CBOR: {e}"),
            WebAuthnError::MalformedAuthData => f.write_str("the authenticator data is malformed"),
            WebAuthnError::MalformedClientData => f.write_str("the client data JSON is malformed"),
            WebAuthnError::MalformedKey => f.write_str("the credential public key is malformed"),
            WebAuthnError::NoCredentialData => {
                f.write_str("the registration carries no credential")
            }
            WebAuthnError::CredentialIdTooLong => {
                f.write_str("the credential ID is longer than 1023 bytes")
            }
        }
    }
}

impl std::error::Error for WebAuthnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WebAuthnError::MalformedCbor(e) => Some(e),
            WebAuthnError::WrongType
            | WebAuthnError::ChallengeMismatch
            | WebAuthnError::OriginMismatch
            | WebAuthnError::CrossOrigin
            | WebAuthnError::RpIdMismatch
            | WebAuthnError::UserNotPresent
            | WebAuthnError::UserNotVerified
            | WebAuthnError::BadSignature
            | WebAuthnError::UnsupportedAlgorithm
            | WebAuthnError::UnsupportedAttestation
            | WebAuthnError::MalformedAttestation
            | WebAuthnError::MalformedAuthData
            | WebAuthnError::MalformedClientData
            | WebAuthnError::MalformedKey
            | WebAuthnError::NoCredentialData
            | WebAuthnError::CredentialIdTooLong => None,
        }
    }
}
