//! Authenticator data (WebAuthn §6.1): what the authenticator signs besides the client data.
//!
//! ```text
//! rpIdHash (32) | flags (1) | signCount (4, big-endian)
//!   [ if AT: aaguid (16) | credentialIdLength (2, big-endian) | credentialId | COSE_Key (CBOR) ]
//!   [ if ED: extensions (a CBOR map) ]
//! ```
//!
//! Nothing may follow the last part (§6.1: its length is implied by the flags and the CBOR).
//! The credential public key is kept as the bytes the authenticator sent, to be stored and
//! parsed again at each sign-in. Extensions are read only to find where they end (and that
//! they are a well-formed map); sesame asks for none.

use super::cbor::{self, Value};
use super::cose::CoseKey;
use super::WebAuthnError;

/// User Present (§6.1, bit 0).
pub const FLAG_UP: u8 = 0x01;
/// User Verified (bit 2).
pub const FLAG_UV: u8 = 0x04;
/// Backup Eligible (bit 3).
pub const FLAG_BE: u8 = 0x08;
/// Backed up, "backup state" (bit 4).
pub const FLAG_BS: u8 = 0x10;
/// Attested credential data included (bit 6).
pub const FLAG_AT: u8 = 0x40;
/// Extension data included (bit 7).
pub const FLAG_ED: u8 = 0x80;

/// §6.5.1: credential IDs are at most 1023 bytes.
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// rpIdHash, flags and signCount.
const FIXED_LEN: usize = 37;

/// Parsed authenticator data, borrowing from the bytes it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData<'a> {
    /// SHA-256 of the RP ID the authenticator scoped the credential to.
    pub rp_id_hash: &'a [u8],
    /// The flags byte (`FLAG_*`).
    pub flags: u8,
    /// The signature counter; 0 for authenticators that keep none.
    pub sign_count: u32,
    /// Present when the AT flag is set (registration).
    pub attested: Option<AttestedCredential<'a>>,
}

/// Attested credential data (§6.5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential<'a> {
    /// The authenticator model's AAGUID, as it claims it.
    pub aaguid: [u8; 16],
    pub credential_id: &'a [u8],
    /// The COSE_Key exactly as sent.
    pub public_key_bytes: &'a [u8],
    /// The same, parsed.
    pub public_key: CoseKey,
}

impl<'a> AuthenticatorData<'a> {
    /// Parses authenticator data; any deviation from §6.1's layout is
    /// [`WebAuthnError::MalformedAuthData`].
    pub fn parse(bytes: &'a [u8]) -> Result<AuthenticatorData<'a>, WebAuthnError> {
        if bytes.len() < FIXED_LEN {
            return Err(WebAuthnError::MalformedAuthData);
        }
        let (fixed, mut rest) = bytes.split_at(FIXED_LEN);
        let flags = fixed[32];
        let sign_count = u32::from_be_bytes([fixed[33], fixed[34], fixed[35], fixed[36]]);
        let attested = if flags & FLAG_AT != 0 {
            let (attested, after) = attested_credential(rest)?;
            rest = after;
            Some(attested)
        } else {
            None
        };
        if flags & FLAG_ED != 0 {
            let (extensions, used) =
                cbor::parse_prefix(rest).map_err(WebAuthnError::MalformedCbor)?;
            if extensions.as_map().is_none() {
                return Err(WebAuthnError::MalformedAuthData);
            }
            rest = &rest[used..];
        }
        if !rest.is_empty() {
            return Err(WebAuthnError::MalformedAuthData);
        }
        Ok(AuthenticatorData {
            rp_id_hash: &fixed[..32],
            flags,
            sign_count,
            attested,
        })
    }

    /// Whether all of `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// Reads attested credential data from the start of `bytes`, returning what follows it.
fn attested_credential(bytes: &[u8]) -> Result<(AttestedCredential<'_>, &[u8]), WebAuthnError> {
    if bytes.len() < 18 {
        return Err(WebAuthnError::MalformedAuthData);
    }
    let (head, rest) = bytes.split_at(18);
    let mut aaguid = [0u8; 16];
    aaguid.copy_from_slice(&head[..16]);
    let id_len = usize::from(u16::from_be_bytes([head[16], head[17]]));
    if id_len > MAX_CREDENTIAL_ID_LEN {
        return Err(WebAuthnError::CredentialIdTooLong);
    }
    if id_len > rest.len() {
        return Err(WebAuthnError::MalformedAuthData);
    }
    let (credential_id, rest) = rest.split_at(id_len);
    let (key_value, used): (Value<'_>, usize) =
        cbor::parse_prefix(rest).map_err(WebAuthnError::MalformedCbor)?;
    let public_key = CoseKey::from_value(&key_value)?;
    let (public_key_bytes, rest) = rest.split_at(used);
    Ok((
        AttestedCredential {
            aaguid,
            credential_id,
            public_key_bytes,
            public_key,
        },
        rest,
    ))
}
