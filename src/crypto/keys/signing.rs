//! One signing key and what it does on its own: the JWS algorithms, compact JWS signing,
//! signature checks, the public JWK, and the `at_hash` claim. Which keys exist, and which one
//! signs, is the [`KeySet`](super::KeySet)'s business. It uses ring and the rsa crate only.

use crate::crypto::{b64url, random_id, CryptoError};
use ring::digest::{self, SHA256, SHA384};
use ring::rand::SystemRandom;
use ring::signature::{
    self, EcdsaKeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey,
};
use serde_json::{json, Value};
use std::fmt;

pub use crate::alg::Alg;

/// The hash an algorithm signs with; also the hash of `at_hash`.
fn digest(alg: Alg) -> &'static digest::Algorithm {
    match alg {
        Alg::Es256 | Alg::Rs256 => &SHA256,
        Alg::Es384 => &SHA384,
    }
}

fn verification(alg: Alg) -> &'static dyn signature::VerificationAlgorithm {
    match alg {
        Alg::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
        Alg::Es384 => &signature::ECDSA_P384_SHA384_FIXED,
        Alg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

/// A private key that signs JWTs, with its `kid`.
pub struct SigningKey {
    kid: String,
    alg: Alg,
    pair: Pair,
}

/// ring's key pair types differ per family; this keeps the match in one place.
enum Pair {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl SigningKey {
    /// A new key with a fresh `kid`, and its PKCS#8 DER to store.
    pub fn generate(alg: Alg) -> Result<(SigningKey, Vec<u8>), CryptoError> {
        let pkcs8 = match alg {
            Alg::Es256 | Alg::Es384 => {
                EcdsaKeyPair::generate_pkcs8(ecdsa_signing(alg), &SystemRandom::new())
                    .map_err(|_| CryptoError::Rng)?
                    .as_ref()
                    .to_vec()
            }
            Alg::Rs256 => generate_rsa_pkcs8()?,
        };
        let key = SigningKey::from_pkcs8(random_id(), alg, &pkcs8)?;
        Ok((key, pkcs8))
    }

    /// Loads a key from PKCS#8 DER; ring checks that it is a consistent key for `alg`.
    pub fn from_pkcs8(
        kid: impl Into<String>,
        alg: Alg,
        pkcs8: &[u8],
    ) -> Result<SigningKey, CryptoError> {
        let rejected = |e: ring::error::KeyRejected| CryptoError::KeyRejected(e.to_string());
        let pair = match alg {
            Alg::Es256 | Alg::Es384 => Pair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(ecdsa_signing(alg), pkcs8, &SystemRandom::new())
                    .map_err(rejected)?,
            ),
            Alg::Rs256 => Pair::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(rejected)?),
        };
        Ok(SigningKey {
            kid: kid.into(),
            alg,
            pair,
        })
    }

    /// The key ID, as in the JWS header and the JWK.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Signs `claims` (a JSON object) as a compact JWS with header
    /// `{"alg":..,"kid":..,"typ":"JWT"}`.
    pub fn sign_jwt(&self, claims: &Value) -> Result<String, CryptoError> {
        self.sign_jwt_typed(claims, "JWT")
    }

    /// [`SigningKey::sign_jwt`] with another `typ` in the header (`logout+jwt`: a token a
    /// receiver must not mistake for an ID token, Back-Channel Logout §2.4).
    pub fn sign_jwt_typed(&self, claims: &Value, typ: &str) -> Result<String, CryptoError> {
        if !claims.is_object() {
            return Err(CryptoError::ClaimsNotObject);
        }
        let header = json!({ "alg": self.alg.as_str(), "typ": typ, "kid": self.kid });
        let mut jws = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = self.sign(jws.as_bytes())?;
        jws.push('.');
        jws.push_str(&b64url(&sig));
        Ok(jws)
    }

    /// The public key as a JWK (RFC 7517/7518), with `kid`, `alg` and `use: "sig"`.
    pub fn public_jwk(&self) -> Value {
        match &self.pair {
            Pair::Ecdsa(pair) => {
                // ring's public key is the uncompressed SEC 1 point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let coord = (point.len() - 1) / 2;
                let crv = if self.alg == Alg::Es256 {
                    "P-256"
                } else {
                    "P-384"
                };
                json!({
                    "kty": "EC",
                    "crv": crv,
                    "x": b64url(&point[1..1 + coord]),
                    "y": b64url(&point[1 + coord..]),
                    "kid": self.kid,
                    "alg": self.alg.as_str(),
                    "use": "sig",
                })
            }
            Pair::Rsa(pair) => {
                let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                json!({
                    "kty": "RSA",
                    "n": b64url(strip_leading_zeros(&public.n)),
                    "e": b64url(strip_leading_zeros(&public.e)),
                    "kid": self.kid,
                    "alg": self.alg.as_str(),
                    "use": "sig",
                })
            }
        }
    }

    /// The raw signature over `msg`: fixed-size r || s for ECDSA (as JWS wants), PKCS#1 v1.5 for RSA.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&rng, msg)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| CryptoError::Signing),
            Pair::Rsa(pair) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| CryptoError::Signing)?;
                Ok(sig)
            }
        }
    }

    /// Checks a signature over `msg` with this key's public half.
    pub(super) fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        // The public key in the form ring's verifiers take: the uncompressed point for ECDSA,
        // a DER RSAPublicKey for RSA.
        let public: &[u8] = match &self.pair {
            Pair::Ecdsa(pair) => pair.public_key().as_ref(),
            Pair::Rsa(pair) => pair.public().as_ref(),
        };
        UnparsedPublicKey::new(verification(self.alg), public)
            .verify(msg, sig)
            .map_err(|_| CryptoError::BadSignature)
    }
}

impl fmt::Debug for SigningKey {
    /// Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}
/// The ID token's `at_hash` (OIDC Core 3.1.3.6): the left half of the hash of the access token
/// (the ASCII of the token as sent), with the hash of the ID token's `alg`, base64url.
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    let hash = digest::digest(digest(alg), access_token.as_bytes());
    let bytes = hash.as_ref();
    b64url(&bytes[..bytes.len() / 2])
}

fn ecdsa_signing(alg: Alg) -> &'static signature::EcdsaSigningAlgorithm {
    if alg == Alg::Es256 {
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING
    } else {
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING
    }
}

/// A 2048-bit RSA key (e = 65537) from the rsa crate, as PKCS#8 DER for ring.
fn generate_rsa_pkcs8() -> Result<Vec<u8>, CryptoError> {
    use rsa::pkcs8::EncodePrivateKey;
    // The rsa crate draws from the OS CSPRNG through getrandom, the same source as ring's.
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| CryptoError::RsaKeyGeneration(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| CryptoError::RsaKeyGeneration(e.to_string()))?;
    Ok(der.as_bytes().to_vec())
}
/// JWK integers are unsigned big-endian with no leading zero bytes (RFC 7518 §6.3.1).
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_jwk_matches_the_generated_private_key() {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let (key, pkcs8) = SigningKey::generate(Alg::Rs256).unwrap();
        let private = rsa::RsaPrivateKey::from_pkcs8_der(&pkcs8).unwrap();
        let jwk = key.public_jwk();
        assert_eq!(jwk["n"], b64url(&private.n().to_bytes_be()));
        assert_eq!(jwk["e"], b64url(&private.e().to_bytes_be()));
        assert_eq!(jwk["kid"], key.kid());
    }
    #[test]
    fn at_hash_matches_known_answers() {
        // The access token of OIDC Core appendix A.4, whose RS256 at_hash the spec gives as
        // "77QmUPtjPfzWtF2AnpK9RQ". The ES384 value comes from
        // python3 -c 'import hashlib,base64;t=b"jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        //   print(base64.urlsafe_b64encode(hashlib.sha384(t).digest()[:24]).rstrip(b"=").decode())'
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(at_hash(Alg::Rs256, token), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(at_hash(Alg::Es256, token), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(
            at_hash(Alg::Es384, token),
            "jtAeDp945y1dDqU3nkIVGNZP1HjH_MFs"
        );
    }

    #[test]
    fn alg_names_round_trip_exactly() {
        for alg in Alg::ALL {
            assert_eq!(alg.as_str().parse::<Alg>().unwrap(), alg);
            assert_eq!(alg.to_string(), alg.as_str());
        }
        for bad in ["es256", "HS256", "none", "", "PS256"] {
            assert!(matches!(bad.parse::<Alg>(), Err(crate::alg::UnknownAlg(_))));
        }
    }

    #[test]
    fn serde_uses_the_jose_names_and_names_them_when_refusing() {
        assert_eq!(Alg::NAMES, ["ES384", "ES256", "RS256"]);
        assert_eq!(Alg::default(), Alg::ALL[0]);
        for (alg, name) in Alg::ALL.into_iter().zip(Alg::NAMES) {
            assert_eq!(serde_json::to_value(alg).unwrap(), json!(name));
            assert_eq!(serde_json::from_value::<Alg>(json!(name)).unwrap(), alg);
        }
        let e = serde_json::from_value::<Alg>(json!("es256")).unwrap_err();
        assert!(e.to_string().contains("`ES384`, `ES256`, `RS256`"), "{e}");
    }
}
