//! Random tokens, hashing of secrets, and signing keys — all on ring.
//!
//! This is the one place that makes random values and the one place that hashes secrets:
//!
//! - [`random_token`] (256 bits) for anything that grants access: access and refresh tokens,
//!   authorization codes, session cookies, CSRF tokens, client secrets.
//! - [`random_id`] (128 bits) for identifiers that must be unguessable but are not credentials on
//!   their own: interaction IDs, grant IDs, key IDs, user IDs.
//! - [`random_digits`] for the 6-digit sign-in code a person types.
//! - [`hash_token`] keys every stored secret by its SHA-256, so a copy of the database does not
//!   hand out working tokens. The tokens are 256 random bits, so a plain hash is enough: there is
//!   nothing to guess or precompute.
//! - [`hash_code`] hashes a short sign-in code with a salt (see its doc for why).
//! - [`keys`]: the signing keys, JWS and JWKS.
//! - [`totp`]: time-based one-time passwords (RFC 6238) and their base32 secrets.
//!
//! It uses ring (and the rsa crate, to generate the RSA key), and [`crate::store`] only for the
//! `KEYS` table; it knows nothing of HTTP, configuration or the protocol that carries tokens.
//!
//! All randomness comes from ring's `SystemRandom`, which reads the operating system's CSPRNG
//! (`getrandom(2)` on Linux). It fails only if the OS has no RNG to give, which on any system
//! sesame runs on means the machine is broken; the helpers below that return plain `String`s panic
//! in that case rather than hand out a predictable value. Key generation returns
//! [`CryptoError::Rng`] instead, since it runs where an error can be reported.

pub mod keys;
pub mod totp;
pub mod webauthn;

#[cfg(test)]
mod reference;

use crate::store::StoreError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{digest, Context, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;

/// 32 bytes (256 bits) from the CSPRNG, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    b64url(&bytes)
}

/// 16 bytes (128 bits) from the CSPRNG, base64url without padding (22 characters), starting
/// with a letter or digit: IDs are typed as command-line arguments (`sesame app show ID`), where
/// a leading `-` reads as a flag. Redrawing the 1 in 32 that start otherwise keeps every
/// accepted ID uniform over the IDs that qualify (losing less than a tenth of a bit).
pub fn random_id() -> String {
    loop {
        let mut bytes = [0u8; 16];
        fill_random(&mut bytes);
        let id = b64url(&bytes);
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return id;
        }
    }
}

/// `n` characters of `alphabet` (at most 256 of them), each uniform and independent:
/// rejection sampling as in [`random_digits`].
pub fn random_chars(alphabet: &[u8], n: usize) -> String {
    let len = alphabet.len().clamp(1, 256);
    // The largest multiple of len that fits in a byte's 256 values.
    let accept = 256 - 256 % len;
    let mut out = String::with_capacity(n);
    let mut buf = vec![0u8; n + 8];
    while out.len() < n {
        fill_random(&mut buf);
        for &b in buf.iter().filter(|&&b| usize::from(b) < accept) {
            if out.len() == n {
                break;
            }
            out.push(char::from(alphabet[usize::from(b) % len]));
        }
    }
    out
}

/// `n` decimal digits, each uniform over 0-9 and independent of the others.
///
/// A random byte modulo 10 would favour 0-5 (256 = 25 * 10 + 6), so bytes of 250 and above are
/// rejected and drawn again (rejection sampling); the accepted ones are uniform mod 10.
pub fn random_digits(n: usize) -> String {
    let mut out = String::with_capacity(n);
    // 250/256 of the bytes are accepted, so a few spare bytes almost always finish in one round.
    let mut buf = vec![0u8; n + 8];
    while out.len() < n {
        fill_random(&mut buf);
        for &b in buf.iter().filter(|&&b| b < 250) {
            if out.len() == n {
                break;
            }
            out.push(char::from(b'0' + b % 10));
        }
    }
    out
}

/// SHA-256 of a secret, base64url: the key under which a token, code or secret is stored.
pub fn hash_token(token: &str) -> String {
    b64url(digest(&SHA256, token.as_bytes()).as_ref())
}

/// Salted SHA-256 of a short code (the 6-digit sign-in code), base64url.
///
/// Why a salt: there are only a million 6-digit codes. Unsalted, one table of their million
/// hashes, computed once, would read every stored code straight out of a copied database, and two
/// equal codes would show as equal hashes. With a fresh random salt per code (stored next to the
/// hash) each stored code has to be attacked on its own. A million SHA-256 runs is still cheap,
/// so the salt is not what protects a code: that is its 10-minute life and its 5 tries. The salt
/// only removes the shortcut.
///
/// The input to the hash is `len(salt) as u32 big-endian || salt || code`, so no salt/code split
/// of one string can collide with another.
pub fn hash_code(salt: &str, code: &str) -> String {
    let mut ctx = Context::new(&SHA256);
    // A salt longer than 4 GiB is not a salt; saturating keeps this total without a panic.
    let salt_len = u32::try_from(salt.len()).unwrap_or(u32::MAX);
    ctx.update(&salt_len.to_be_bytes());
    ctx.update(salt.as_bytes());
    ctx.update(code.as_bytes());
    b64url(ctx.finish().as_ref())
}

/// Whether `a` and `b` are equal, taking the same time whatever their contents.
///
/// The lengths are not secret (a code has 6 digits, a hash 43 characters), so unequal lengths
/// return at once. For equal lengths every byte is compared; `black_box` keeps the optimiser from
/// turning the loop back into an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff = std::hint::black_box(diff | (x ^ y));
    }
    diff == 0
}

/// base64url without padding (RFC 4648 §5), as JOSE and our tokens use it.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` for anything else (padding, other alphabets,
/// non-canonical trailing bits).
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// What went wrong in key handling, signing or verification.
#[derive(Debug)]
pub enum CryptoError {
    /// The operating system's random number generator failed (ring's `SystemRandom`).
    Rng,
    /// The rsa crate could not generate an RSA key.
    RsaKeyGeneration(String),
    /// ring refused a private key: not PKCS#8, wrong curve or algorithm, inconsistent or too small.
    KeyRejected(String),
    /// A signing key stored in the database does not load.
    CorruptKey { kid: String, reason: String },
    /// A key set has no active key for an algorithm (a bug: `load_or_generate` creates one).
    NoActiveKey(keys::Alg),
    /// An algorithm name sesame does not sign with.
    UnsupportedAlg(String),
    /// ring failed to compute a signature.
    Signing,
    /// JWT claims must be a JSON object.
    ClaimsNotObject,
    /// A token that is not a well-formed compact JWS; the text says which part is wrong.
    MalformedJwt(&'static str),
    /// The token's `kid` names no key of ours, active or retired.
    UnknownKid(String),
    /// The header's `alg` is not the algorithm of the key its `kid` names (e.g. `none`).
    AlgMismatch { header: String, key: keys::Alg },
    /// The signature does not verify under the key the token names.
    BadSignature,
    /// Reading or writing the key table failed.
    Store(StoreError),
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::Rng => write!(f, "the operating system's random number generator failed"),
            CryptoError::RsaKeyGeneration(e) => write!(f, "generating an RSA key failed: {e}"),
            CryptoError::KeyRejected(e) => write!(f, "private key rejected: {e}"),
            CryptoError::CorruptKey { kid, reason } => {
                write!(f, "stored signing key {kid} does not load: {reason}")
            }
            CryptoError::NoActiveKey(alg) => write!(f, "no active signing key for {alg}"),
            // Names that reach us from outside are printed with {:?} so control characters in
            // them cannot forge log lines.
            CryptoError::UnsupportedAlg(a) => write!(f, "unsupported algorithm {a:?}"),
            CryptoError::Signing => write!(f, "signing failed"),
            CryptoError::ClaimsNotObject => write!(f, "JWT claims must be a JSON object"),
            CryptoError::MalformedJwt(why) => write!(f, "malformed JWT: {why}"),
            CryptoError::UnknownKid(kid) => write!(f, "no signing key with kid {kid:?}"),
            CryptoError::AlgMismatch { header, key } => {
                write!(
                    f,
                    "JWT header alg {header:?} does not match its key's alg {key}"
                )
            }
            CryptoError::BadSignature => write!(f, "JWT signature does not verify"),
            CryptoError::Store(e) => write!(f, "key store: {e}"),
        }
    }
}

impl std::error::Error for CryptoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CryptoError::Store(e) => Some(e),
            CryptoError::Rng
            | CryptoError::RsaKeyGeneration(_)
            | CryptoError::KeyRejected(_)
            | CryptoError::CorruptKey { .. }
            | CryptoError::NoActiveKey(_)
            | CryptoError::UnsupportedAlg(_)
            | CryptoError::Signing
            | CryptoError::ClaimsNotObject
            | CryptoError::MalformedJwt(_)
            | CryptoError::UnknownKid(_)
            | CryptoError::AlgMismatch { .. }
            | CryptoError::BadSignature => None,
        }
    }
}

impl From<StoreError> for CryptoError {
    fn from(e: StoreError) -> Self {
        CryptoError::Store(e)
    }
}

/// Fills `buf` from the OS CSPRNG (the TOTP secret's 20 bytes; the helpers above).
pub(crate) fn fill_random(buf: &mut [u8]) {
    // Invariant: SystemRandom fails only when the OS has no usable RNG (no getrandom(2), no
    // /dev/urandom). Nothing secure can be done on such a machine, and returning a token made of
    // zeros would be worse than stopping, so this is the one place that panics.
    SystemRandom::new()
        .fill(buf)
        .expect("the operating system's random number generator is unavailable");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn random_token_and_id_are_base64url_of_the_right_size_and_differ() {
        let tokens: HashSet<String> = (0..100).map(|_| random_token()).collect();
        assert_eq!(tokens.len(), 100);
        for t in &tokens {
            assert_eq!(t.len(), 43);
            assert_eq!(b64url_decode(t).unwrap().len(), 32);
        }
        let ids: HashSet<String> = (0..100).map(|_| random_id()).collect();
        assert_eq!(ids.len(), 100);
        for id in &ids {
            assert_eq!(id.len(), 22);
            assert_eq!(b64url_decode(id).unwrap().len(), 16);
        }
    }

    #[test]
    fn random_ids_never_start_like_a_command_line_flag() {
        for _ in 0..5000 {
            let id = random_id();
            assert_eq!(id.len(), 22);
            assert!(id.starts_with(|c: char| c.is_ascii_alphanumeric()), "{id}");
        }
    }

    #[test]
    fn random_digits_have_the_asked_length_and_only_digits() {
        for n in [0, 1, 6, 7, 100, 1000] {
            let d = random_digits(n);
            assert_eq!(d.len(), n);
            assert!(d.bytes().all(|b| b.is_ascii_digit()), "{d}");
        }
    }

    #[test]
    fn random_digits_are_uniform_enough() {
        // 200 000 digits; each count is expected at 20 000. Pearson's chi-squared with 9 degrees
        // of freedom exceeds 40 with probability about 7e-6, so a fair generator essentially
        // never fails this, while plain `byte % 10` (which favours 0-5 by 26/25) scores ~300.
        let mut counts = [0u64; 10];
        for _ in 0..(200_000 / 1000) {
            for b in random_digits(1000).bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        let expected = 20_000.0;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 40.0, "chi2 = {chi2}, counts = {counts:?}");
    }

    #[test]
    fn hash_token_is_sha256_base64url() {
        // python3 -c 'import hashlib,base64;print(base64.urlsafe_b64encode(
        //   hashlib.sha256(b"abc").digest()).rstrip(b"=").decode())'
        assert_eq!(
            hash_token("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn hash_code_is_salted_and_matches_a_known_answer() {
        // python3 -c 'import hashlib,base64;s=b"q0Wv2sKcXbM";print(base64.urlsafe_b64encode(
        //   hashlib.sha256(len(s).to_bytes(4,"big")+s+b"123456").digest()).rstrip(b"=").decode())'
        assert_eq!(
            hash_code("q0Wv2sKcXbM", "123456"),
            "E-mpWhiG9rudAD8pU7YKpjz1VPFvC0a68gjN2K2fc7M"
        );
        assert_eq!(hash_code("s1", "123456"), hash_code("s1", "123456"));
        assert_ne!(hash_code("s1", "123456"), hash_code("s2", "123456"));
        assert_ne!(hash_code("s1", "123456"), hash_code("s1", "123457"));
        // The length prefix keeps the salt/code boundary: "ab"+"c" is not "a"+"bc".
        assert_ne!(hash_code("ab", "c"), hash_code("a", "bc"));
        assert_ne!(hash_code("", "123456"), hash_token("123456"));
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"123456", b"123456"));
        assert!(!constant_time_eq(b"123456", b"123457"));
        assert!(!constant_time_eq(b"023456", b"123456"));
        assert!(!constant_time_eq(b"12345", b"123456"));
        assert!(!constant_time_eq(b"123456", b""));
    }

    #[test]
    fn b64url_round_trips_and_rejects_other_encodings() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            let s = b64url(&bytes);
            assert!(!s.contains(['=', '+', '/']), "{s}");
            assert_eq!(b64url_decode(&s), Some(bytes));
        }
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(b64url_decode("-_8="), None, "padding");
        assert_eq!(b64url_decode("+/8"), None, "standard alphabet");
        assert_eq!(b64url_decode("-_9"), None, "non-canonical trailing bits");
        assert_eq!(b64url_decode("a"), None, "impossible length");
        assert_eq!(b64url_decode("a b"), None);
    }

    #[test]
    fn errors_name_their_cause() {
        let e = CryptoError::UnknownKid("x\ny".into());
        assert_eq!(e.to_string(), r#"no signing key with kid "x\ny""#);
        let e = CryptoError::from(StoreError::Locked);
        assert!(e.to_string().starts_with("key store: "));
        assert!(std::error::Error::source(&e).is_some());
    }
}
