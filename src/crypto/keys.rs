//! Signing keys, compact JWS (one signature), and the JWKS that publishes them.
//!
//! sesame signs ID tokens with ES384 by default (Logto's default), ES256 when an app asks for
//! it, and RS256 (which OIDC Core requires every provider to offer). There is one *active* key
//! per algorithm; it signs everything new. A key's life:
//!
//! ```text
//!   (none) ──load_or_generate──▶ active ──rotate──▶ retired
//!                                  │                   │
//!                                  └── signs, in JWKS  └── in JWKS, verifies; never signs again
//! ```
//!
//! Retired keys are kept (and published) forever so that every token sesame ever issued still
//! verifies; there are three algorithms and rotations are rare, so the set stays small.
//!
//! Keys are stored in the `KEYS` table as PKCS#8 DER and loaded by ring. ring generates ECDSA
//! keys but not RSA keys, so the RS256 key comes from the rsa crate (once, on first start, or on
//! rotation) and is handed to ring as PKCS#8. A `kid` is a [`random_id`].
//!
//! A [`KeySet`] is an immutable snapshot. Rotation writes to the store; the server then loads a
//! fresh `KeySet` and swaps it in whole (`State.keys` is a `RwLock<Arc<KeySet>>`), so a request
//! never sees half a rotation.

use super::{b64url, b64url_decode, random_id, CryptoError};
use crate::store::{KeyRecord, Store, KEYS};
use ring::digest::{self, SHA256, SHA384};
use ring::rand::SystemRandom;
use ring::signature::{
    self, EcdsaKeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey,
};
use serde_json::{json, Map, Value};
use std::fmt;
use std::str::FromStr;

/// A JWS signature algorithm sesame signs ID tokens with (RFC 7518 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384 (the default).
    Es384,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys.
    Rs256,
}

impl Alg {
    /// Every algorithm, each of which always has an active key.
    pub const ALL: [Alg; 3] = [Alg::Es256, Alg::Es384, Alg::Rs256];

    /// The JOSE name: `ES256`, `ES384` or `RS256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Rs256 => "RS256",
        }
    }

    /// The hash the algorithm signs with; also the hash of `at_hash`.
    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Alg::Es256 | Alg::Rs256 => &SHA256,
            Alg::Es384 => &SHA384,
        }
    }

    fn verification(self) -> &'static dyn signature::VerificationAlgorithm {
        match self {
            Alg::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
            Alg::Es384 => &signature::ECDSA_P384_SHA384_FIXED,
            Alg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        }
    }
}

impl FromStr for Alg {
    type Err = CryptoError;

    /// Exact, case-sensitive JOSE names (RFC 7515 §4.1.1: `alg` values are case-sensitive).
    fn from_str(s: &str) -> Result<Alg, CryptoError> {
        Alg::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| CryptoError::UnsupportedAlg(s.to_string()))
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
        if !claims.is_object() {
            return Err(CryptoError::ClaimsNotObject);
        }
        let header = json!({ "alg": self.alg.as_str(), "typ": "JWT", "kid": self.kid });
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
    fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        // The public key in the form ring's verifiers take: the uncompressed point for ECDSA,
        // a DER RSAPublicKey for RSA.
        let public: &[u8] = match &self.pair {
            Pair::Ecdsa(pair) => pair.public_key().as_ref(),
            Pair::Rsa(pair) => pair.public().as_ref(),
        };
        UnparsedPublicKey::new(self.alg.verification(), public)
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

/// All of sesame's signing keys: one active key per algorithm, plus the retired ones.
#[derive(Debug)]
pub struct KeySet {
    // One field per algorithm, so "every algorithm has an active key" holds by construction and
    // `signer` needs no fallback.
    es256: SigningKey,
    es384: SigningKey,
    rs256: SigningKey,
    /// Keys that no longer sign but still verify (and stay in JWKS).
    retired: Vec<SigningKey>,
}

impl KeySet {
    /// Loads the keys from the store, first generating and storing (in one write transaction)
    /// an active key for every algorithm that has none.
    pub fn load_or_generate(store: &Store) -> Result<KeySet, CryptoError> {
        let stored = store.read(|tx| tx.scan(&KEYS))?;
        let missing: Vec<Alg> = Alg::ALL
            .into_iter()
            .filter(|&alg| !has_active(&stored, alg))
            .collect();
        if missing.is_empty() {
            return KeySet::from_records(stored);
        }
        // Generated before the write transaction opens: an RSA key takes a noticeable fraction
        // of a second, and a write transaction holds up every other writer.
        let names: Vec<&str> = missing.iter().map(|a| a.as_str()).collect();
        tracing::info!(
            "generating signing keys ({}); once, on first start (an RSA key can take seconds on a small board)",
            names.join(", ")
        );
        let fresh = missing
            .into_iter()
            .map(new_record)
            .collect::<Result<Vec<_>, _>>()?;
        let records = store.write(|tx| {
            let current = tx.scan(&KEYS)?;
            for rec in &fresh {
                // Another thread may have stored one since our read; keep that one, so there is
                // exactly one active key per algorithm.
                if !current.iter().any(|(_, r)| r.active && r.alg == rec.alg) {
                    tx.put(&KEYS, &rec.kid, rec)?;
                }
            }
            tx.scan(&KEYS)
        })?;
        KeySet::from_records(records)
    }

    /// Makes a new active key for `alg` and retires the old one (kept, still verifying);
    /// returns the new `kid`. Load a new [`KeySet`] afterwards to sign with it.
    pub fn rotate(store: &Store, alg: Alg) -> Result<String, CryptoError> {
        let fresh = new_record(alg)?;
        store.write(|tx| {
            for (kid, mut rec) in tx.scan(&KEYS)? {
                if rec.active && rec.alg == alg.as_str() {
                    rec.active = false;
                    tx.put(&KEYS, &kid, &rec)?;
                }
            }
            tx.put(&KEYS, &fresh.kid, &fresh)
        })?;
        Ok(fresh.kid)
    }

    /// The active key for `alg`: the one that signs new tokens.
    pub fn signer(&self, alg: Alg) -> &SigningKey {
        match alg {
            Alg::Es256 => &self.es256,
            Alg::Es384 => &self.es384,
            Alg::Rs256 => &self.rs256,
        }
    }

    /// The JWK Set to publish: `{"keys": [...]}`, active keys first, then retired ones so
    /// tokens they signed still verify.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.keys().map(SigningKey::public_jwk).collect();
        json!({ "keys": keys })
    }

    /// Verifies a compact JWS signed by one of our keys (active or retired) and returns its
    /// claims. The header's `kid` picks the key and its `alg` must be that key's algorithm, so
    /// `none` and algorithm confusion are refused. Does not look at `exp` or any other claim:
    /// the caller decides what a valid token is for its purpose.
    pub fn verify_jwt(&self, token: &str) -> Result<Value, CryptoError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::MalformedJwt("not three dot-separated parts"));
        };
        let header = decode_json_object(header_b64).ok_or(CryptoError::MalformedJwt(
            "header is not a base64url JSON object",
        ))?;
        if header.contains_key("crit") {
            // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid,
            // and we understand none.
            return Err(CryptoError::MalformedJwt(
                "critical header extensions are not supported",
            ));
        }
        let (Some(kid), Some(alg)) = (
            header.get("kid").and_then(Value::as_str),
            header.get("alg").and_then(Value::as_str),
        ) else {
            return Err(CryptoError::MalformedJwt(
                "header lacks a string kid or alg",
            ));
        };
        let key = self
            .keys()
            .find(|k| k.kid == kid)
            .ok_or_else(|| CryptoError::UnknownKid(kid.to_string()))?;
        if alg != key.alg.as_str() {
            return Err(CryptoError::AlgMismatch {
                header: alg.to_string(),
                key: key.alg,
            });
        }
        let sig = b64url_decode(sig_b64)
            .ok_or(CryptoError::MalformedJwt("signature is not base64url"))?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        key.verify(signing_input.as_bytes(), &sig)?;
        let claims = decode_json_object(payload_b64).ok_or(CryptoError::MalformedJwt(
            "payload is not a base64url JSON object",
        ))?;
        Ok(Value::Object(claims))
    }

    /// Every key, active ones first.
    fn keys(&self) -> impl Iterator<Item = &SigningKey> {
        [&self.es256, &self.es384, &self.rs256]
            .into_iter()
            .chain(&self.retired)
    }

    /// Builds the set from stored records. Should a store ever hold two active keys for one
    /// algorithm, the newest signs and the others count as retired.
    fn from_records(records: Vec<(String, KeyRecord)>) -> Result<KeySet, CryptoError> {
        let mut keys: Vec<(bool, u64, SigningKey)> = Vec::with_capacity(records.len());
        for (kid, rec) in records {
            let corrupt = |reason: String| CryptoError::CorruptKey {
                kid: kid.clone(),
                reason,
            };
            let alg: Alg = rec
                .alg
                .parse()
                .map_err(|e: CryptoError| corrupt(e.to_string()))?;
            let der = b64url_decode(&rec.pkcs8)
                .ok_or_else(|| corrupt("pkcs8 is not base64url".to_string()))?;
            let key = SigningKey::from_pkcs8(kid.clone(), alg, &der)
                .map_err(|e| corrupt(e.to_string()))?;
            keys.push((rec.active, rec.created_at, key));
        }
        let mut take_active = |alg: Alg| -> Result<SigningKey, CryptoError> {
            let newest = keys
                .iter()
                .enumerate()
                .filter(|(_, (active, _, k))| *active && k.alg == alg)
                .max_by(|(_, (_, a, ka)), (_, (_, b, kb))| (a, &ka.kid).cmp(&(b, &kb.kid)))
                .map(|(i, _)| i)
                .ok_or(CryptoError::NoActiveKey(alg))?;
            Ok(keys.swap_remove(newest).2)
        };
        let es256 = take_active(Alg::Es256)?;
        let es384 = take_active(Alg::Es384)?;
        let rs256 = take_active(Alg::Rs256)?;
        // What is left is retired; newest first, so a JWKS reader meets recent keys early.
        keys.sort_by(|(_, a, ka), (_, b, kb)| (b, &kb.kid).cmp(&(a, &ka.kid)));
        Ok(KeySet {
            es256,
            es384,
            rs256,
            retired: keys.into_iter().map(|(_, _, k)| k).collect(),
        })
    }
}

/// The ID token's `at_hash` (OIDC Core 3.1.3.6): the left half of the hash of the access token
/// (the ASCII of the token as sent), with the hash of the ID token's `alg`, base64url.
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    let hash = digest::digest(alg.digest(), access_token.as_bytes());
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

/// A fresh active key for `alg`, ready to store.
fn new_record(alg: Alg) -> Result<KeyRecord, CryptoError> {
    let (key, pkcs8) = SigningKey::generate(alg)?;
    Ok(KeyRecord {
        kid: key.kid,
        alg: alg.as_str().to_string(),
        pkcs8: b64url(&pkcs8),
        created_at: crate::clock::now(),
        active: true,
    })
}

fn has_active(records: &[(String, KeyRecord)], alg: Alg) -> bool {
    records
        .iter()
        .any(|(_, r)| r.active && r.alg == alg.as_str())
}

fn decode_json_object(b64: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&b64url_decode(b64)?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// JWK integers are unsigned big-endian with no leading zero bytes (RFC 7518 §6.3.1).
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::reference;
    use std::sync::OnceLock;

    /// One key set for the tests that only sign and verify (RSA generation is the slow part).
    fn shared() -> &'static KeySet {
        static KEYS: OnceLock<KeySet> = OnceLock::new();
        KEYS.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("keys.redb")).unwrap();
            KeySet::load_or_generate(&store).unwrap()
        })
    }

    fn claims() -> Value {
        json!({
            "iss": "http://127.0.0.1:8080/oidc",
            "sub": "u_123",
            "aud": "app",
            "iat": 1_700_000_000u64,
            "exp": 1_700_003_600u64,
            "nonce": "n-0S6_WzA2Mj",
            "email": "ana@example.com",
        })
    }

    fn jwk_for<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .unwrap_or_else(|| panic!("kid {kid} not in {jwks}"))
    }

    /// Replaces one of the three parts of a compact JWS.
    fn with_part(token: &str, index: usize, part: &str) -> String {
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[index] = part;
        parts.join(".")
    }

    #[test]
    fn each_alg_round_trips_with_the_expected_header() {
        let keys = shared();
        for alg in Alg::ALL {
            let signer = keys.signer(alg);
            assert_eq!(signer.alg(), alg);
            let token = signer.sign_jwt(&claims()).unwrap();
            assert_eq!(token.split('.').count(), 3);
            let header: Value =
                serde_json::from_slice(&b64url_decode(token.split('.').next().unwrap()).unwrap())
                    .unwrap();
            assert_eq!(
                header,
                json!({"alg": alg.as_str(), "typ": "JWT", "kid": signer.kid()})
            );
            assert_eq!(keys.verify_jwt(&token).unwrap(), claims());
        }
    }

    #[test]
    fn published_jwks_verifies_our_tokens_with_an_independent_verifier() {
        // `reference` is textbook ECDSA / RSA on big integers, sharing no code with ring, fed
        // only the JWK from jwks(): this is what a relying party does.
        let keys = shared();
        let jwks = keys.jwks();
        for alg in Alg::ALL {
            let signer = keys.signer(alg);
            let jwk = jwk_for(&jwks, signer.kid());
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["use"], "sig");
            let token = signer.sign_jwt(&claims()).unwrap();
            assert!(reference::verify_jws(jwk, &token), "{alg}");

            let other = keys.signer(if alg == Alg::Es256 {
                Alg::Es384
            } else {
                Alg::Es256
            });
            let forged = with_part(&token, 1, &b64url(br#"{"sub":"admin"}"#));
            assert!(
                !reference::verify_jws(jwk, &forged),
                "{alg}: forged payload"
            );
            let foreign = other.sign_jwt(&claims()).unwrap();
            assert!(!reference::verify_jws(jwk, &foreign), "{alg}: other key");
        }
    }

    #[test]
    fn jwk_shapes_follow_rfc_7518() {
        let jwks = shared().jwks();
        for (alg, crv, coord) in [(Alg::Es256, "P-256", 32), (Alg::Es384, "P-384", 48)] {
            let jwk = jwk_for(&jwks, shared().signer(alg).kid());
            assert_eq!(jwk["kty"], "EC");
            assert_eq!(jwk["crv"], crv);
            for c in ["x", "y"] {
                let bytes = b64url_decode(jwk[c].as_str().unwrap()).unwrap();
                assert_eq!(
                    bytes.len(),
                    coord,
                    "{alg} {c} keeps leading zeros (fixed size)"
                );
            }
        }
        let jwk = jwk_for(&jwks, shared().signer(Alg::Rs256).kid());
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["e"], "AQAB");
        let n = b64url_decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);
        assert!(n[0] >= 0x80, "2048-bit modulus, no leading zero");
        assert!(
            jwk.get("d").is_none() && jwk.get("p").is_none(),
            "no private parts"
        );
    }

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
    fn tampered_tokens_are_rejected() {
        let keys = shared();
        for alg in Alg::ALL {
            let token = keys.signer(alg).sign_jwt(&claims()).unwrap();
            let sig_b64 = token.rsplit('.').next().unwrap();
            let mut sig = b64url_decode(sig_b64).unwrap();
            sig[5] ^= 0x01;
            let bad_sig = with_part(&token, 2, &b64url(&sig));
            assert!(matches!(
                keys.verify_jwt(&bad_sig),
                Err(CryptoError::BadSignature)
            ));

            let mut c = claims();
            c["sub"] = json!("someone-else");
            let bad_payload = with_part(&token, 1, &b64url(c.to_string().as_bytes()));
            assert!(matches!(
                keys.verify_jwt(&bad_payload),
                Err(CryptoError::BadSignature)
            ));

            let no_sig = with_part(&token, 2, "");
            assert!(matches!(
                keys.verify_jwt(&no_sig),
                Err(CryptoError::BadSignature)
            ));
        }
        for malformed in ["", "a.b", "a.b.c.d", "!.e30.AA", "e30.e30.AA"] {
            assert!(
                matches!(
                    keys.verify_jwt(malformed),
                    Err(CryptoError::MalformedJwt(_))
                ),
                "{malformed}"
            );
        }
    }

    #[test]
    fn unknown_kid_is_rejected() {
        let keys = shared();
        let token = keys.signer(Alg::Es384).sign_jwt(&claims()).unwrap();
        let header = json!({"alg": "ES384", "typ": "JWT", "kid": "not-ours"});
        let token = with_part(&token, 0, &b64url(header.to_string().as_bytes()));
        assert!(
            matches!(keys.verify_jwt(&token), Err(CryptoError::UnknownKid(k)) if k == "not-ours")
        );
        // A key of another issuer, with a kid we do not know, does not verify either.
        let (stranger, _) = SigningKey::generate(Alg::Es384).unwrap();
        let token = stranger.sign_jwt(&claims()).unwrap();
        assert!(matches!(
            keys.verify_jwt(&token),
            Err(CryptoError::UnknownKid(_))
        ));
    }

    #[test]
    fn header_alg_must_be_the_keys_alg() {
        let keys = shared();
        let token = keys.signer(Alg::Es384).sign_jwt(&claims()).unwrap();
        let kid = keys.signer(Alg::Es384).kid();
        for alg in ["none", "ES256", "RS256", "HS256", "es384"] {
            let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
            let forged = with_part(&token, 0, &b64url(header.to_string().as_bytes()));
            assert!(
                matches!(
                    keys.verify_jwt(&forged),
                    Err(CryptoError::AlgMismatch {
                        key: Alg::Es384,
                        ..
                    })
                ),
                "{alg}"
            );
        }
        let header = json!({"alg": "ES384", "kid": kid, "crit": ["exp"]});
        let forged = with_part(&token, 0, &b64url(header.to_string().as_bytes()));
        assert!(matches!(
            keys.verify_jwt(&forged),
            Err(CryptoError::MalformedJwt(_))
        ));
    }

    #[test]
    fn claims_must_be_an_object() {
        let signer = shared().signer(Alg::Es256);
        assert!(matches!(
            signer.sign_jwt(&json!([1])),
            Err(CryptoError::ClaimsNotObject)
        ));
    }

    #[test]
    fn keys_persist_across_reopen_and_rotation_keeps_old_keys_verifying() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sesame.redb");
        let (kids, old_token) = {
            let store = Store::open(&path).unwrap();
            let keys = KeySet::load_or_generate(&store).unwrap();
            let kids: Vec<String> = Alg::ALL.map(|a| keys.signer(a).kid().to_string()).into();
            let again = KeySet::load_or_generate(&store).unwrap();
            let again: Vec<String> = Alg::ALL.map(|a| again.signer(a).kid().to_string()).into();
            assert_eq!(kids, again, "a second load generates nothing");
            let token = keys.signer(Alg::Es384).sign_jwt(&claims()).unwrap();
            (kids, token)
        };

        let store = Store::open(&path).unwrap();
        let keys = KeySet::load_or_generate(&store).unwrap();
        let reopened: Vec<String> = Alg::ALL.map(|a| keys.signer(a).kid().to_string()).into();
        assert_eq!(kids, reopened);
        assert_eq!(store.read(|tx| tx.scan(&KEYS)).unwrap().len(), 3);

        let new_kid = KeySet::rotate(&store, Alg::Es384).unwrap();
        let rotated = KeySet::load_or_generate(&store).unwrap();
        assert_eq!(rotated.signer(Alg::Es384).kid(), new_kid);
        assert_ne!(new_kid, kids[1]);
        assert_eq!(
            rotated.signer(Alg::Es256).kid(),
            kids[0],
            "other algs untouched"
        );
        assert_eq!(rotated.signer(Alg::Rs256).kid(), kids[2]);

        let jwks = rotated.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
        let old_jwk = jwk_for(&jwks, &kids[1]);
        assert!(reference::verify_jws(old_jwk, &old_token));
        assert_eq!(rotated.verify_jwt(&old_token).unwrap(), claims());
        let new_token = rotated.signer(Alg::Es384).sign_jwt(&claims()).unwrap();
        assert!(reference::verify_jws(jwk_for(&jwks, &new_kid), &new_token));

        let stored = store.read(|tx| tx.scan(&KEYS)).unwrap();
        let old = stored.iter().find(|(k, _)| *k == kids[1]).unwrap();
        assert!(!old.1.active);
        assert_eq!(stored.iter().filter(|(_, r)| r.active).count(), 3);
    }

    #[test]
    fn newest_of_two_active_keys_signs_and_the_other_still_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
        let first = KeySet::load_or_generate(&store).unwrap();
        let old_kid = first.signer(Alg::Es256).kid().to_string();
        let token = first.signer(Alg::Es256).sign_jwt(&claims()).unwrap();
        // A second active ES256 key, as a hand-edited or half-migrated store might hold.
        let mut newer = new_record(Alg::Es256).unwrap();
        newer.created_at += 10;
        store.write(|tx| tx.put(&KEYS, &newer.kid, &newer)).unwrap();

        let keys = KeySet::load_or_generate(&store).unwrap();
        assert_eq!(keys.signer(Alg::Es256).kid(), newer.kid);
        assert_eq!(keys.verify_jwt(&token).unwrap(), claims());
        assert!(keys.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == old_kid));
    }

    #[test]
    fn a_stored_key_that_does_not_load_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
        KeySet::load_or_generate(&store).unwrap();
        let (ec_key, ec_der) = SigningKey::generate(Alg::Es256).unwrap();
        let bad = [
            ("bad-alg", "HS256", b64url(&ec_der)),
            ("bad-b64", "ES256", "***".to_string()),
            ("wrong-curve", "ES384", b64url(&ec_der)),
        ];
        for (kid, alg, pkcs8) in bad {
            let rec = KeyRecord {
                kid: kid.into(),
                alg: alg.into(),
                pkcs8,
                created_at: 0,
                active: false,
            };
            store.write(|tx| tx.put(&KEYS, kid, &rec)).unwrap();
            let err = KeySet::load_or_generate(&store).unwrap_err();
            assert!(
                matches!(&err, CryptoError::CorruptKey { kid: k, .. } if k == kid),
                "{err}"
            );
            store.write(|tx| tx.remove(&KEYS, kid)).unwrap();
        }
        assert!(matches!(
            SigningKey::from_pkcs8(ec_key.kid(), Alg::Rs256, &ec_der),
            Err(CryptoError::KeyRejected(_))
        ));
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
            assert!(matches!(
                bad.parse::<Alg>(),
                Err(CryptoError::UnsupportedAlg(_))
            ));
        }
    }
}
