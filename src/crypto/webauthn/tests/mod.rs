//! Tests of the WebAuthn checks: [`published`] runs the published vectors (spec §16 and
//! recordings from py_webauthn, in `vectors.rs`); [`made`] runs responses made here with keys
//! ring generates, so that every check can be failed honestly: a tampered response is signed
//! again, and fails for the one reason under test.

mod made;
mod published;

use super::*;

// ---- A tiny CBOR writer, for building inputs ----

/// A tiny CBOR writer for building test inputs.
pub(super) enum C<'a> {
    I(i64),
    B(&'a [u8]),
    T(&'a str),
    M(Vec<(C<'a>, C<'a>)>),
}

impl C<'_> {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            C::I(n) if *n >= 0 => head(out, 0, *n as u64),
            C::I(n) => head(out, 1, (-1 - *n) as u64),
            C::B(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            C::T(t) => {
                head(out, 3, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            C::M(entries) => {
                head(out, 5, entries.len() as u64);
                for (k, v) in entries {
                    k.write(out);
                    v.write(out);
                }
            }
        }
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

pub(super) fn none_attestation(auth_data: &[u8]) -> Vec<u8> {
    attestation("none", C::M(vec![]), auth_data)
}

pub(super) fn attestation(fmt: &str, att_stmt: C<'_>, auth_data: &[u8]) -> Vec<u8> {
    C::M(vec![
        (C::T("fmt"), C::T(fmt)),
        (C::T("attStmt"), att_stmt),
        (C::T("authData"), C::B(auth_data)),
    ])
    .encode()
}

// ---- Counters, algorithms, errors ----

#[test]
fn counter_ok_follows_section_6_1_1() {
    assert!(counter_ok(0, 0), "no counter on either side");
    assert!(counter_ok(0, 1));
    assert!(counter_ok(41, 42));
    assert!(counter_ok(41, u32::MAX));
    assert!(!counter_ok(42, 42), "did not advance");
    assert!(!counter_ok(42, 41), "went back");
    assert!(!counter_ok(42, 0), "counter dropped to zero");
    assert!(!counter_ok(u32::MAX, u32::MAX));
}

#[test]
fn cose_alg_ids_names_and_serde() {
    assert_eq!(SUPPORTED.map(CoseAlg::cose_id), [-7, -8, -257]);
    assert_eq!(SUPPORTED.map(CoseAlg::as_str), ["ES256", "EdDSA", "RS256"]);
    for alg in SUPPORTED {
        assert_eq!(CoseAlg::from_cose_id(alg.cose_id()), Some(alg));
        let json = serde_json::to_string(&alg).unwrap();
        assert_eq!(json, format!("\"{alg}\""));
        assert_eq!(serde_json::from_str::<CoseAlg>(&json).unwrap(), alg);
    }
    for id in [0, -35, -36, -37, -47, -65535, 1] {
        assert_eq!(CoseAlg::from_cose_id(id), None, "{id}");
    }
}

#[test]
fn errors_say_what_went_wrong() {
    assert_eq!(
        WebAuthnError::OriginMismatch.to_string(),
        "the response comes from another web origin than this server's"
    );
    let e = WebAuthnError::MalformedCbor(cbor::CborError::DuplicateKey);
    assert_eq!(e.to_string(), "malformed CBOR: the same map key twice");
    assert!(std::error::Error::source(&e).is_some());
    assert!(std::error::Error::source(&WebAuthnError::BadSignature).is_none());
}
