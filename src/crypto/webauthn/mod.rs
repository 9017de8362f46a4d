//! Server-side WebAuthn (Level 2, with Level 3's `crossOrigin` and backup-flag checks): checking
//! what a browser returns from `navigator.credentials.create()` (registering a passkey or a
//! security key) and `navigator.credentials.get()` (signing in with one), on ring.
//!
//! A part, like the rest of `crypto`: it knows nothing of the store, HTTP or configuration. The
//! caller issues the challenge, keeps it for one use, looks up and stores credentials, and
//! compares counters and backup flags with what it stored. Everything here is a pure function
//! of its inputs.
//!
//! # What is verified, step by step
//!
//! Step numbers are Level 2's (<https://www.w3.org/TR/webauthn-2/>); "L3" marks a check
//! Level 3 added. Registration, [`verify_registration`] (§7.1):
//!
//! | step  | check                                                                  | error |
//! |-------|------------------------------------------------------------------------|-------|
//! | 5-6   | `clientDataJSON` is UTF-8 JSON with `type`, `challenge`, `origin`      | `MalformedClientData` |
//! | 7     | `type` is `"webauthn.create"`                                          | `WrongType` |
//! | 8     | `challenge` (base64url) equals ours, compared in constant time         | `ChallengeMismatch` |
//! | 9     | `origin` equals [`RelyingParty::origin`] exactly                       | `OriginMismatch` |
//! | L3    | `crossOrigin` is not true and there is no `topOrigin`                  | `CrossOrigin` |
//! | 12    | the attestation object is strict CBOR `{fmt, attStmt, authData}`       | `MalformedCbor`, `MalformedAttestation` |
//! | 13    | authData's rpIdHash is SHA-256 of [`RelyingParty::id`]                 | `RpIdMismatch` |
//! | 14    | the User Present flag is set                                           | `UserNotPresent` |
//! | 15    | the User Verified flag is set, when the caller requires it             | `UserNotVerified` |
//! | L3    | Backup State is not set without Backup Eligible                        | `MalformedAuthData` |
//! | -     | attested credential data is there (AT flag)                            | `NoCredentialData` |
//! | 16    | the key's `alg` is one of [`SUPPORTED`] and fits its key type          | `UnsupportedAlgorithm`, `MalformedKey` |
//! | 18-19 | `fmt` is `"none"` with an empty `attStmt`, or `"packed"` self attestation whose signature checks with the new key (§8.2) | `UnsupportedAttestation`, `MalformedAttestation`, `BadSignature` |
//! | L3    | the credential ID is at most 1023 bytes                                | `CredentialIdTooLong` |
//!
//! Authentication, [`verify_assertion`] (§7.2): steps 10-14 as 5-10 above with
//! `"webauthn.get"`; 15 rpIdHash; 16 UP; 17 UV when required; Level 3's BS-without-BE check;
//! 20 the signature over `authenticatorData || SHA-256(clientDataJSON)` with the stored key
//! (`BadSignature`). Step 21, the signature counter, needs the stored count: [`counter_ok`]
//! says whether it advanced, and the caller decides.
//!
//! # What is deliberately not verified
//!
//! - **Attestation trust** (§7.1 steps 20-21). sesame asks for `attestation: "none"` and does
//!   not restrict which authenticator models may register, so there is nothing to check a
//!   certificate chain against. Browsers then send `fmt: "none"`. A "packed" statement with
//!   an `x5c` chain, and every other format (tpm, android-key, apple, fido-u2f...), is refused
//!   with `UnsupportedAttestation` rather than accepted unchecked: an attestation we cannot
//!   check should not look checked. Self attestation costs one signature check with the key
//!   being registered, so it is checked and accepted; the AAGUID is then only a claim.
//! - **Token binding** (L2 step 10): no browser ships it; the member is ignored.
//! - **Extensions** (§7.1 step 17, §7.2 step 18): sesame asks for none; authenticator
//!   extensions are parsed only to find where they end.
//! - **Which credential, which user** (§7.1 steps 22-23, §7.2 steps 5-7): the caller's store.
//! - **A change of the backup flags between sign-ins** (L3 §7.2): the caller compares
//!   [`Assertion::backup_eligible`] with what it stored.
//! - **The single use of a challenge**: the caller deletes it before calling these.

pub mod authdata;
pub mod cbor;
mod client_data;
pub mod cose;
mod error;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

pub use error::WebAuthnError;

use authdata::{AuthenticatorData, FLAG_BE, FLAG_BS, FLAG_UP, FLAG_UV};
use cbor::Value;
use client_data::Ceremony;
use cose::CoseKey;
use ring::digest::{digest, SHA256};
use serde::{Deserialize, Serialize};

/// The relying party: sesame, as its users' browsers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID: the issuer's host (no scheme, no port), which credentials are scoped to.
    pub id: String,
    /// The issuer's origin, `scheme://host[:port]`, as browsers write it in client data.
    pub origin: String,
}

/// A signature algorithm sesame accepts for credentials (IANA COSE Algorithms registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoseAlg {
    /// ECDSA on P-256 with SHA-256 (COSE -7): what most passkeys and security keys use.
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519 (COSE -8).
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (COSE -257): Windows Hello.
    #[serde(rename = "RS256")]
    Rs256,
}

/// The algorithms to offer in `pubKeyCredParams`, most preferred first.
pub const SUPPORTED: [CoseAlg; 3] = [CoseAlg::Es256, CoseAlg::EdDsa, CoseAlg::Rs256];

impl CoseAlg {
    /// The COSE algorithm identifier, as `pubKeyCredParams` and COSE keys carry it.
    pub fn cose_id(self) -> i64 {
        match self {
            CoseAlg::Es256 => -7,
            CoseAlg::EdDsa => -8,
            CoseAlg::Rs256 => -257,
        }
    }

    /// The algorithm with COSE identifier `id`, if sesame supports it.
    pub fn from_cose_id(id: i64) -> Option<CoseAlg> {
        SUPPORTED.into_iter().find(|alg| alg.cose_id() == id)
    }

    /// The JOSE-style name: "ES256", "EdDSA", "RS256".
    pub fn as_str(self) -> &'static str {
        match self {
            CoseAlg::Es256 => "ES256",
            CoseAlg::EdDsa => "EdDSA",
            CoseAlg::Rs256 => "RS256",
        }
    }
}

impl std::fmt::Display for CoseAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A credential that passed registration: what to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub credential_id: Vec<u8>,
    /// The COSE_Key bytes exactly as in authData: pass them to [`verify_assertion`].
    pub public_key: Vec<u8>,
    pub alg: CoseAlg,
    /// The counter to compare the next sign-in's with ([`counter_ok`]).
    pub sign_count: u32,
    /// Whether the authenticator verified the user (PIN, biometrics) this time.
    pub user_verified: bool,
    /// Whether the credential may be synced to other devices (a multi-device passkey).
    pub backup_eligible: bool,
    /// Whether it is synced now.
    pub backed_up: bool,
    /// The authenticator model as it claims it: unverified (no attestation trust), and often
    /// all zeros under "none" attestation.
    pub aaguid: [u8; 16],
}

/// A sign-in that passed: what to update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    pub sign_count: u32,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backed_up: bool,
}

/// Checks a registration (`navigator.credentials.create()`'s response) as §7.1 asks; see the
/// table at the top of this module.
pub fn verify_registration(
    rp: &RelyingParty,
    expected_challenge: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
    require_uv: bool,
) -> Result<Registration, WebAuthnError> {
    client_data::check(client_data_json, Ceremony::Create, rp, expected_challenge)?;
    let object = cbor::parse(attestation_object).map_err(WebAuthnError::MalformedCbor)?;
    let (fmt, att_stmt, auth_data_bytes) = attestation_parts(&object)?;
    let auth_data = AuthenticatorData::parse(auth_data_bytes)?;
    check_auth_data(&auth_data, rp, require_uv)?;
    let credential = auth_data
        .attested
        .as_ref()
        .ok_or(WebAuthnError::NoCredentialData)?;
    let client_data_hash = digest(&SHA256, client_data_json);
    check_attestation(
        fmt,
        att_stmt,
        &credential.public_key,
        &signed_data(auth_data_bytes, client_data_hash.as_ref()),
    )?;
    Ok(Registration {
        credential_id: credential.credential_id.to_vec(),
        public_key: credential.public_key_bytes.to_vec(),
        alg: credential.public_key.alg(),
        sign_count: auth_data.sign_count,
        user_verified: auth_data.has(FLAG_UV),
        backup_eligible: auth_data.has(FLAG_BE),
        backed_up: auth_data.has(FLAG_BS),
        aaguid: credential.aaguid,
    })
}

/// Checks a sign-in (`navigator.credentials.get()`'s response) with the stored `public_key`
/// as §7.2 asks; see the top of this module. The caller then checks the counter with
/// [`counter_ok`].
pub fn verify_assertion(
    rp: &RelyingParty,
    expected_challenge: &[u8],
    public_key: &[u8],
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    require_uv: bool,
) -> Result<Assertion, WebAuthnError> {
    let key = CoseKey::from_bytes(public_key)?;
    client_data::check(client_data_json, Ceremony::Get, rp, expected_challenge)?;
    let auth_data = AuthenticatorData::parse(authenticator_data)?;
    check_auth_data(&auth_data, rp, require_uv)?;
    // Step 19-20: the signature covers authenticatorData || SHA-256(clientDataJSON).
    let client_data_hash = digest(&SHA256, client_data_json);
    key.verify(
        &signed_data(authenticator_data, client_data_hash.as_ref()),
        signature,
    )?;
    Ok(Assertion {
        sign_count: auth_data.sign_count,
        user_verified: auth_data.has(FLAG_UV),
        backup_eligible: auth_data.has(FLAG_BE),
        backed_up: auth_data.has(FLAG_BS),
    })
}

/// Spec §6.1.1 / §7.2 step 21: false when the counter did not advance although one of them is
/// non-zero (a possible clone). Authenticators without a counter send 0 every time, which is
/// fine as long as the stored count is 0 too.
pub fn counter_ok(stored: u32, presented: u32) -> bool {
    (stored == 0 && presented == 0) || presented > stored
}

/// The checks on authenticator data both ceremonies share (§7.1 steps 13-15, §7.2 15-17).
fn check_auth_data(
    auth_data: &AuthenticatorData<'_>,
    rp: &RelyingParty,
    require_uv: bool,
) -> Result<(), WebAuthnError> {
    let expected = digest(&SHA256, rp.id.as_bytes());
    if auth_data.rp_id_hash != expected.as_ref() {
        return Err(WebAuthnError::RpIdMismatch);
    }
    if !auth_data.has(FLAG_UP) {
        return Err(WebAuthnError::UserNotPresent);
    }
    if require_uv && !auth_data.has(FLAG_UV) {
        return Err(WebAuthnError::UserNotVerified);
    }
    // Level 3 §6.1.3: a credential that may not be backed up cannot be backed up.
    if auth_data.has(FLAG_BS) && !auth_data.has(FLAG_BE) {
        return Err(WebAuthnError::MalformedAuthData);
    }
    Ok(())
}

/// `fmt`, `attStmt` and `authData` out of an attestation object (§6.5.4).
fn attestation_parts<'a>(
    object: &'a Value<'a>,
) -> Result<(&'a str, &'a Value<'a>, &'a [u8]), WebAuthnError> {
    let fmt = object.get_text_key("fmt").and_then(Value::as_text);
    let att_stmt = object
        .get_text_key("attStmt")
        .filter(|v| v.as_map().is_some());
    let auth_data = object.get_text_key("authData").and_then(Value::as_bytes);
    match (fmt, att_stmt, auth_data) {
        (Some(fmt), Some(att_stmt), Some(auth_data)) => Ok((fmt, att_stmt, auth_data)),
        _ => Err(WebAuthnError::MalformedAttestation),
    }
}

/// §7.1 steps 18-19 for the formats sesame accepts: "none" (§8.7) and "packed" self
/// attestation (§8.2, no `x5c`).
fn check_attestation(
    fmt: &str,
    att_stmt: &Value<'_>,
    key: &CoseKey,
    signed: &[u8],
) -> Result<(), WebAuthnError> {
    let entries = att_stmt.as_map().unwrap_or_default();
    match fmt {
        "none" if entries.is_empty() => Ok(()),
        "none" => Err(WebAuthnError::MalformedAttestation),
        "packed" => {
            if att_stmt.get_text_key("x5c").is_some() {
                return Err(WebAuthnError::UnsupportedAttestation);
            }
            let alg = att_stmt
                .get_text_key("alg")
                .and_then(Value::as_int)
                .and_then(|a| i64::try_from(a).ok());
            let sig = att_stmt.get_text_key("sig").and_then(Value::as_bytes);
            match (alg, sig) {
                (Some(alg), Some(sig)) if entries.len() == 2 && alg == key.alg().cose_id() => {
                    key.verify(signed, sig)
                }
                _ => Err(WebAuthnError::MalformedAttestation),
            }
        }
        _ => Err(WebAuthnError::UnsupportedAttestation),
    }
}

/// What the authenticator signs: `authData || clientDataHash` (§6.3.3 step 13, §7.2 step 20).
fn signed_data(auth_data: &[u8], client_data_hash: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(auth_data.len() + client_data_hash.len());
    data.extend_from_slice(auth_data);
    data.extend_from_slice(client_data_hash);
    data
}
