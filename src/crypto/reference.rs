//! Test-only reference verifiers for ES256, ES384 and RS256, written from the standards on plain
//! big-integer arithmetic (`rsa::BigUint`), sharing no signature code with ring.
//!
//! The tests feed them a token and a JWK taken from our JWKS, exactly what a relying party has,
//! so they check the signature encoding (fixed-size r || s, PKCS#1 v1.5), the header, and that
//! the published public key is the one that signs. Slow, not constant time, and not for use
//! outside tests. SHA-2 comes from ring's digest: the hash is not what is under test, and no
//! independent SHA-2 crate is a dependency.
//!
//! - ECDSA verification: SEC 1 v2 §4.1.4, affine point arithmetic, curve constants from
//!   SEC 2 / FIPS 186-4 D.1.2 (checked with Python's `cryptography`: G = 1·G, (n−1)·G = −G).
//! - RSA: RFC 8017 §8.2.2 (RSASSA-PKCS1-v1_5-VERIFY) with the SHA-256 DigestInfo of §9.2.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{digest, SHA256, SHA384};
use rsa::BigUint;
use serde_json::Value;

/// Whether `token` is a compact JWS whose header names `jwk`'s `kid` and `alg` and whose
/// signature verifies under `jwk`.
pub fn verify_jws(jwk: &Value, token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, sig_b64] = parts[..] else {
        return false;
    };
    let (Some(header), Some(sig)) = (decode(header_b64), decode(sig_b64)) else {
        return false;
    };
    let Ok(header) = serde_json::from_slice::<Value>(&header) else {
        return false;
    };
    if header["kid"] != jwk["kid"] || header["alg"] != jwk["alg"] {
        return false;
    }
    let input = format!("{header_b64}.{payload_b64}");
    let field = |name: &str| jwk[name].as_str().and_then(decode);
    match (
        jwk["alg"].as_str(),
        jwk["kty"].as_str(),
        jwk["crv"].as_str(),
    ) {
        (Some("ES256"), Some("EC"), Some("P-256")) => {
            let hash = digest(&SHA256, input.as_bytes());
            match (field("x"), field("y")) {
                (Some(x), Some(y)) => ecdsa_verify(&p256(), &x, &y, hash.as_ref(), &sig),
                _ => false,
            }
        }
        (Some("ES384"), Some("EC"), Some("P-384")) => {
            let hash = digest(&SHA384, input.as_bytes());
            match (field("x"), field("y")) {
                (Some(x), Some(y)) => ecdsa_verify(&p384(), &x, &y, hash.as_ref(), &sig),
                _ => false,
            }
        }
        (Some("RS256"), Some("RSA"), None) => {
            let hash = digest(&SHA256, input.as_bytes());
            match (field("n"), field("e")) {
                (Some(n), Some(e)) => rsa_pkcs1_sha256_verify(&n, &e, hash.as_ref(), &sig),
                _ => false,
            }
        }
        _ => false,
    }
}

fn decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// A short Weierstrass curve y² = x³ − 3x + b over F_p, with base point G of prime order n.
struct Curve {
    /// Field elements and scalars are this many bytes.
    size: usize,
    p: BigUint,
    n: BigUint,
    b: BigUint,
    g: (BigUint, BigUint),
}

fn hex(s: &str) -> BigUint {
    BigUint::parse_bytes(s.as_bytes(), 16).unwrap()
}

fn p256() -> Curve {
    Curve {
        size: 32,
        p: hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
        n: hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
        b: hex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"),
        g: (
            hex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"),
            hex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"),
        ),
    }
}

fn p384() -> Curve {
    Curve {
        size: 48,
        p: hex(concat!(
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe",
            "ffffffff0000000000000000ffffffff"
        )),
        n: hex(concat!(
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf",
            "581a0db248b0a77aecec196accc52973"
        )),
        b: hex(concat!(
            "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a",
            "c656398d8a2ed19d2a85c8edd3ec2aef"
        )),
        g: (
            hex(concat!(
                "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38",
                "5502f25dbf55296c3a545e3872760ab7"
            )),
            hex(concat!(
                "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0",
                "0a60b1ce1d7e819d7a431d7c90ea0e5f"
            )),
        ),
    }
}

/// A point in affine coordinates; `None` is the point at infinity.
type Point = Option<(BigUint, BigUint)>;

impl Curve {
    /// a⁻¹ mod m for prime m (Fermat).
    fn inv(a: &BigUint, m: &BigUint) -> BigUint {
        a.modpow(&(m - BigUint::from(2u32)), m)
    }

    fn on_curve(&self, x: &BigUint, y: &BigUint) -> bool {
        let p = &self.p;
        let lhs = (y * y) % p;
        let three_x = (x * BigUint::from(3u32)) % p;
        let rhs = ((x * x % p) * x + (p - three_x) + &self.b) % p;
        x < p && y < p && lhs == rhs
    }

    fn add(&self, a: &Point, b: &Point) -> Point {
        let p = &self.p;
        let ((x1, y1), (x2, y2)) = match (a, b) {
            (None, q) | (q, None) => return q.clone(),
            (Some(a), Some(b)) => (a, b),
        };
        let lambda = if x1 == x2 {
            if (y1 + y2) % p == BigUint::from(0u32) {
                return None; // P + (−P)
            }
            // Doubling: λ = (3x² + a) / 2y with a = −3.
            let num = (x1 * x1 * BigUint::from(3u32) + p - BigUint::from(3u32)) % p;
            num * Self::inv(&((y1 * BigUint::from(2u32)) % p), p) % p
        } else {
            let num = (y2 + p - y1) % p;
            num * Self::inv(&((x2 + p - x1) % p), p) % p
        };
        let x3 = (&lambda * &lambda + p * BigUint::from(2u32) - x1 - x2) % p;
        let y3 = (lambda * ((x1 + p - &x3) % p) + p - y1) % p;
        Some((x3, y3))
    }

    /// k·P by double-and-add, most significant bit first.
    fn mul(&self, k: &BigUint, point: &Point) -> Point {
        let mut acc: Point = None;
        for byte in k.to_bytes_be() {
            for bit in (0..8).rev() {
                acc = self.add(&acc, &acc);
                if (byte >> bit) & 1 == 1 {
                    acc = self.add(&acc, point);
                }
            }
        }
        acc
    }
}

/// SEC 1 §4.1.4 with a fixed-size r || s signature (RFC 7518 §3.4). The hash is as long as the
/// curve order for both ES256 and ES384, so no truncation step is needed.
fn ecdsa_verify(c: &Curve, x: &[u8], y: &[u8], hash: &[u8], sig: &[u8]) -> bool {
    if x.len() != c.size || y.len() != c.size || sig.len() != 2 * c.size {
        return false;
    }
    let (qx, qy) = (BigUint::from_bytes_be(x), BigUint::from_bytes_be(y));
    if !c.on_curve(&qx, &qy) {
        return false;
    }
    let r = BigUint::from_bytes_be(&sig[..c.size]);
    let s = BigUint::from_bytes_be(&sig[c.size..]);
    let zero = BigUint::from(0u32);
    if r == zero || s == zero || r >= c.n || s >= c.n {
        return false;
    }
    let e = BigUint::from_bytes_be(hash);
    let w = Curve::inv(&s, &c.n);
    let u1 = e * &w % &c.n;
    let u2 = &r * w % &c.n;
    let g = Some(c.g.clone());
    let q = Some((qx, qy));
    match c.add(&c.mul(&u1, &g), &c.mul(&u2, &q)) {
        None => false,
        Some((x, _)) => x % &c.n == r,
    }
}

/// RFC 8017 §8.2.2: s^e mod n must equal 0x00 01 FF..FF 00 || DigestInfo(SHA-256) || H.
fn rsa_pkcs1_sha256_verify(n: &[u8], e: &[u8], hash: &[u8], sig: &[u8]) -> bool {
    const SHA256_DIGEST_INFO: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let k = n.len();
    if sig.len() != k || k < SHA256_DIGEST_INFO.len() + hash.len() + 11 {
        return false;
    }
    let (n, e, s) = (
        BigUint::from_bytes_be(n),
        BigUint::from_bytes_be(e),
        BigUint::from_bytes_be(sig),
    );
    if s >= n {
        return false;
    }
    let m = s.modpow(&e, &n).to_bytes_be();
    let mut em = vec![0u8; k - m.len()];
    em.extend_from_slice(&m);
    let mut expected = vec![0x00, 0x01];
    expected.resize(k - SHA256_DIGEST_INFO.len() - hash.len() - 1, 0xff);
    expected.push(0x00);
    expected.extend_from_slice(&SHA256_DIGEST_INFO);
    expected.extend_from_slice(hash);
    em == expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_constants_are_consistent() {
        for c in [p256(), p384()] {
            let g = Some(c.g.clone());
            assert!(c.on_curve(&c.g.0, &c.g.1));
            // n·G = O, and (n−1)·G = −G.
            assert_eq!(c.mul(&c.n, &g), None);
            let minus_g = c.mul(&(&c.n - BigUint::from(1u32)), &g).unwrap();
            assert_eq!(minus_g.0, c.g.0);
            assert_eq!(minus_g.1, &c.p - &c.g.1);
        }
    }
}
