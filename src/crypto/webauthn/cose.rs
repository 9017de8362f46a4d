//! Credential public keys as COSE_Key (RFC 9052 §7, RFC 9053) and checking a signature with
//! one, on ring.
//!
//! Three key shapes are accepted, each only with the one algorithm that fits it (WebAuthn
//! §5.8.5 asks the key's `alg` to be one the RP offered; a key whose `alg` does not match its
//! type is refused, so a P-256 key can never be used as if it were something else):
//!
//! | COSE `alg` | `kty`      | other labels                       | ring                          |
//! |------------|------------|------------------------------------|-------------------------------|
//! | -7 ES256   | 2 (EC2)    | crv (-1) = 1 P-256, x (-2), y (-3) | `ECDSA_P256_SHA256_ASN1`      |
//! | -8 EdDSA   | 1 (OKP)    | crv (-1) = 6 Ed25519, x (-2)       | `ED25519`                     |
//! | -257 RS256 | 3 (RSA)    | n (-1), e (-2)                     | `RSA_PKCS1_2048_8192_SHA256`  |
//!
//! ES256 signatures in WebAuthn are ASN.1 DER (§6.5.6), EdDSA ones the raw 64 bytes, RS256
//! ones PKCS#1 v1.5. Labels other than these are ignored (RFC 9052 lets a key carry `kid`,
//! `key_ops` and so on). Whether the point is on the curve is left to ring, which checks it
//! on every verification: a bad key registers but never signs in.

use super::cbor::{self, Value};
use super::{CoseAlg, WebAuthnError};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

/// COSE labels (RFC 9052 §7.1, RFC 9053 §7).
const KTY: i128 = 1;
const ALG: i128 = 3;
const CRV_OR_N: i128 = -1;
const X_OR_E: i128 = -2;
const Y: i128 = -3;

const KTY_OKP: i128 = 1;
const KTY_EC2: i128 = 2;
const KTY_RSA: i128 = 3;
const CRV_P256: i128 = 1;
const CRV_ED25519: i128 = 6;

/// ring accepts RSA moduli of 2048 to 8192 bits for PKCS#1 v1.5 verification.
const RSA_MIN_BYTES: usize = 256;
const RSA_MAX_BYTES: usize = 1024;

/// A parsed credential public key: its algorithm and what ring needs to check a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoseKey {
    /// P-256 public point, uncompressed: `0x04 || x || y`.
    Es256 { point: [u8; 65] },
    /// Ed25519 public key.
    EdDsa { x: [u8; 32] },
    /// RSA modulus and exponent, big-endian.
    Rs256 { n: Vec<u8>, e: Vec<u8> },
}

impl CoseKey {
    /// Parses exactly one COSE_Key from `bytes` (as stored after registration).
    pub fn from_bytes(bytes: &[u8]) -> Result<CoseKey, WebAuthnError> {
        let value = cbor::parse(bytes).map_err(WebAuthnError::MalformedCbor)?;
        CoseKey::from_value(&value)
    }

    /// Reads a COSE_Key out of a parsed CBOR map.
    pub fn from_value(value: &Value<'_>) -> Result<CoseKey, WebAuthnError> {
        if value.as_map().is_none() {
            return Err(WebAuthnError::MalformedKey);
        }
        let int = |label| value.get_int_key(label).and_then(Value::as_int);
        let bytes = |label| value.get_int_key(label).and_then(Value::as_bytes);
        let kty = int(KTY).ok_or(WebAuthnError::MalformedKey)?;
        let alg = int(ALG)
            .and_then(|a| i64::try_from(a).ok())
            .and_then(CoseAlg::from_cose_id)
            .ok_or(WebAuthnError::UnsupportedAlgorithm)?;
        match (alg, kty) {
            (CoseAlg::Es256, KTY_EC2) => {
                if int(CRV_OR_N) != Some(CRV_P256) {
                    return Err(WebAuthnError::MalformedKey);
                }
                let x = fixed::<32>(bytes(X_OR_E))?;
                let y = fixed::<32>(bytes(Y))?;
                let mut point = [0u8; 65];
                point[0] = 0x04;
                point[1..33].copy_from_slice(&x);
                point[33..].copy_from_slice(&y);
                Ok(CoseKey::Es256 { point })
            }
            (CoseAlg::EdDsa, KTY_OKP) => {
                if int(CRV_OR_N) != Some(CRV_ED25519) {
                    return Err(WebAuthnError::MalformedKey);
                }
                Ok(CoseKey::EdDsa {
                    x: fixed::<32>(bytes(X_OR_E))?,
                })
            }
            (CoseAlg::Rs256, KTY_RSA) => {
                let n = bytes(CRV_OR_N).ok_or(WebAuthnError::MalformedKey)?;
                let e = bytes(X_OR_E).ok_or(WebAuthnError::MalformedKey)?;
                if !(RSA_MIN_BYTES..=RSA_MAX_BYTES).contains(&n.len()) || e.is_empty() {
                    return Err(WebAuthnError::MalformedKey);
                }
                Ok(CoseKey::Rs256 {
                    n: n.to_vec(),
                    e: e.to_vec(),
                })
            }
            // An algorithm we know on a key type it does not belong to.
            _ => Err(WebAuthnError::MalformedKey),
        }
    }

    /// The key's algorithm.
    pub fn alg(&self) -> CoseAlg {
        match self {
            CoseKey::Es256 { .. } => CoseAlg::Es256,
            CoseKey::EdDsa { .. } => CoseAlg::EdDsa,
            CoseKey::Rs256 { .. } => CoseAlg::Rs256,
        }
    }

    /// Checks `signature` over `message` with this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), WebAuthnError> {
        let result = match self {
            CoseKey::Es256 { point } => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
                    .verify(message, signature)
            }
            CoseKey::EdDsa { x } => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature)
            }
            CoseKey::Rs256 { n, e } => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
        };
        result.map_err(|_| WebAuthnError::BadSignature)
    }
}

/// A byte string of exactly `N` bytes.
fn fixed<const N: usize>(bytes: Option<&[u8]>) -> Result<[u8; N], WebAuthnError> {
    bytes
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or(WebAuthnError::MalformedKey)
}
