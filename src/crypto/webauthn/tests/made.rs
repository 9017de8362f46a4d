//! Responses made here with keys ring generates: each variant signed honestly, so it fails
//! for the one reason under test and not on the signature.

use super::published::assert_spec;
use super::{attestation, none_attestation, C};
use crate::crypto::b64url;
use crate::crypto::webauthn::vectors;
use crate::crypto::webauthn::*;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

/// A credential made here: its key pair and COSE key.
enum TestKey {
    P256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl TestKey {
    fn p256() -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        TestKey::P256(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap(),
        )
    }

    fn ed25519() -> TestKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        TestKey::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
    }

    fn cose(&self) -> Vec<u8> {
        match self {
            TestKey::P256(k) => {
                let point = k.public_key().as_ref();
                cose_ec2(-7, &point[1..33], &point[33..])
            }
            TestKey::Ed25519(k) => C::M(vec![
                (C::I(1), C::I(1)),
                (C::I(3), C::I(-8)),
                (C::I(-1), C::I(6)),
                (C::I(-2), C::B(k.public_key().as_ref())),
            ])
            .encode(),
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            TestKey::P256(k) => k
                .sign(&SystemRandom::new(), message)
                .unwrap()
                .as_ref()
                .to_vec(),
            TestKey::Ed25519(k) => k.sign(message).as_ref().to_vec(),
        }
    }
}

fn cose_ec2(alg: i64, x: &[u8], y: &[u8]) -> Vec<u8> {
    C::M(vec![
        (C::I(1), C::I(2)),
        (C::I(3), C::I(alg)),
        (C::I(-1), C::I(1)),
        (C::I(-2), C::B(x)),
        (C::I(-3), C::B(y)),
    ])
    .encode()
}

const FRESH_CHALLENGE: [u8; 32] = [0x42; 32];

fn fresh_rp() -> RelyingParty {
    RelyingParty {
        id: "auth.example.com".into(),
        origin: "https://auth.example.com".into(),
    }
}

fn fresh_client_data(kind: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"{kind}","challenge":"{}","origin":"https://auth.example.com","crossOrigin":false}}"#,
        b64url(&FRESH_CHALLENGE)
    )
    .into_bytes()
}

/// Authenticator data for `rp_id`, with `flags`, `count`, and whatever `tail` holds (attested
/// credential data, extensions).
fn auth_data(rp_id: &str, flags: u8, count: u32, tail: &[u8]) -> Vec<u8> {
    let mut data = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
    data.push(flags);
    data.extend(count.to_be_bytes());
    data.extend_from_slice(tail);
    data
}

fn attested(credential_id: &[u8], cose_key: &[u8]) -> Vec<u8> {
    let mut data = vec![0xaa; 16];
    data.extend((credential_id.len() as u16).to_be_bytes());
    data.extend_from_slice(credential_id);
    data.extend_from_slice(cose_key);
    data
}

/// Signs `auth_data` with a fresh client data for `kind`, as an authenticator would.
fn signed(key: &TestKey, auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
    key.sign(&signed_data(
        auth_data,
        digest(&SHA256, client_data).as_ref(),
    ))
}

fn fresh_assertion(
    key: &TestKey,
    auth_data: &[u8],
    require_uv: bool,
) -> Result<Assertion, WebAuthnError> {
    let client_data = fresh_client_data("webauthn.get");
    let signature = signed(key, auth_data, &client_data);
    verify_assertion(
        &fresh_rp(),
        &FRESH_CHALLENGE,
        &key.cose(),
        &client_data,
        auth_data,
        &signature,
        require_uv,
    )
}

fn fresh_registration(
    attestation_object: &[u8],
    require_uv: bool,
) -> Result<Registration, WebAuthnError> {
    verify_registration(
        &fresh_rp(),
        &FRESH_CHALLENGE,
        &fresh_client_data("webauthn.create"),
        attestation_object,
        require_uv,
    )
}

const UP: u8 = authdata::FLAG_UP;
const UV: u8 = authdata::FLAG_UV;
const BE: u8 = authdata::FLAG_BE;
const BS: u8 = authdata::FLAG_BS;
const AT: u8 = authdata::FLAG_AT;
const ED: u8 = authdata::FLAG_ED;

#[test]
fn fresh_assertions_check_every_flag_honestly_signed() {
    for key in [TestKey::p256(), TestKey::ed25519()] {
        let rp = "auth.example.com";
        let ok = fresh_assertion(&key, &auth_data(rp, UP | UV | BE | BS, 5, &[]), true).unwrap();
        assert_eq!(
            ok,
            Assertion {
                sign_count: 5,
                user_verified: true,
                backup_eligible: true,
                backed_up: true
            }
        );
        let up_only = fresh_assertion(&key, &auth_data(rp, UP, 0, &[]), false).unwrap();
        assert!(!up_only.user_verified && !up_only.backup_eligible && !up_only.backed_up);
        let cases = [
            (
                auth_data(rp, UV, 1, &[]),
                false,
                WebAuthnError::UserNotPresent,
            ),
            (
                auth_data(rp, 0, 1, &[]),
                false,
                WebAuthnError::UserNotPresent,
            ),
            (
                auth_data(rp, UP, 1, &[]),
                true,
                WebAuthnError::UserNotVerified,
            ),
            (
                auth_data(rp, UP | BS, 1, &[]),
                false,
                WebAuthnError::MalformedAuthData,
            ),
            (
                auth_data("example.com", UP, 1, &[]),
                false,
                WebAuthnError::RpIdMismatch,
            ),
            (
                auth_data(rp, UP, 1, &[0]),
                false,
                WebAuthnError::MalformedAuthData,
            ),
            (
                auth_data(rp, UP | ED, 1, &[]),
                false,
                WebAuthnError::MalformedCbor(cbor::CborError::UnexpectedEnd),
            ),
            (
                auth_data(rp, UP | ED, 1, &[0x80]),
                false,
                WebAuthnError::MalformedAuthData,
            ),
            (
                auth_data(rp, UP, 1, &[])[..36].to_vec(),
                false,
                WebAuthnError::MalformedAuthData,
            ),
        ];
        for (data, require_uv, expected) in cases {
            assert_eq!(
                fresh_assertion(&key, &data, require_uv),
                Err(expected),
                "{data:02x?}"
            );
        }
        // Extensions are skipped correctly: a map after the fixed part, then nothing.
        let ext = C::M(vec![(C::T("credProtect"), C::I(2))]).encode();
        assert!(fresh_assertion(&key, &auth_data(rp, UP | ED, 9, &ext), false).is_ok());
        let mut ext_and_more = ext.clone();
        ext_and_more.push(0);
        assert_eq!(
            fresh_assertion(&key, &auth_data(rp, UP | ED, 9, &ext_and_more), false),
            Err(WebAuthnError::MalformedAuthData)
        );
    }
}

#[test]
fn fresh_assertion_signature_over_other_data_fails() {
    let key = TestKey::ed25519();
    let data = auth_data("auth.example.com", UP, 3, &[]);
    let client_data = fresh_client_data("webauthn.get");
    let mut wrong = data.clone();
    wrong[36] = 4;
    for signature in [
        signed(&key, &wrong, &client_data),
        key.sign(&data),
        key.sign(&client_data),
        vec![],
        vec![0; 64],
    ] {
        let result = verify_assertion(
            &fresh_rp(),
            &FRESH_CHALLENGE,
            &key.cose(),
            &client_data,
            &data,
            &signature,
            false,
        );
        assert_eq!(result, Err(WebAuthnError::BadSignature));
    }
}

#[test]
fn fresh_registrations_for_each_key_type() {
    for (key, alg) in [
        (TestKey::p256(), CoseAlg::Es256),
        (TestKey::ed25519(), CoseAlg::EdDsa),
    ] {
        let cose = key.cose();
        let tail = attested(b"credential-1", &cose);
        let data = auth_data("auth.example.com", UP | UV | BE | AT, 0, &tail);
        let reg = fresh_registration(&none_attestation(&data), true).unwrap();
        assert_eq!(reg.credential_id, b"credential-1");
        assert_eq!(reg.public_key, cose);
        assert_eq!(reg.alg, alg);
        assert_eq!(reg.aaguid, [0xaa; 16]);
        assert!(reg.user_verified && reg.backup_eligible && !reg.backed_up);

        // Extensions after the key.
        let mut with_ext = tail.clone();
        with_ext.extend(C::M(vec![(C::T("credProtect"), C::I(1))]).encode());
        let data = auth_data("auth.example.com", UP | AT | ED, 0, &with_ext);
        assert_eq!(
            fresh_registration(&none_attestation(&data), false)
                .unwrap()
                .public_key,
            cose
        );

        // Packed self attestation, signed with the new key.
        let data = auth_data("auth.example.com", UP | AT, 0, &tail);
        let client_data = fresh_client_data("webauthn.create");
        let sig = signed(&key, &data, &client_data);
        let packed = |alg: i64, sig: &[u8]| {
            attestation(
                "packed",
                C::M(vec![(C::T("alg"), C::I(alg)), (C::T("sig"), C::B(sig))]),
                &data,
            )
        };
        assert!(fresh_registration(&packed(alg.cose_id(), &sig), false).is_ok());
        let wrong_alg = if alg == CoseAlg::Es256 { -8 } else { -7 };
        assert_eq!(
            fresh_registration(&packed(wrong_alg, &sig), false),
            Err(WebAuthnError::MalformedAttestation)
        );
        let other_sig = key.sign(b"something else");
        assert_eq!(
            fresh_registration(&packed(alg.cose_id(), &other_sig), false),
            Err(WebAuthnError::BadSignature)
        );
    }
}

#[test]
fn fresh_registration_refusals() {
    let key = TestKey::p256();
    let cose = key.cose();
    let rp = "auth.example.com";
    let good = auth_data(rp, UP | AT, 0, &attested(b"id", &cose));
    let stmt = |entries| C::M(entries);
    let cases: Vec<(Vec<u8>, bool, WebAuthnError)> = vec![
        (
            none_attestation(&good),
            true,
            WebAuthnError::UserNotVerified,
        ),
        (
            none_attestation(&auth_data(rp, AT, 0, &attested(b"id", &cose))),
            false,
            WebAuthnError::UserNotPresent,
        ),
        (
            none_attestation(&auth_data(
                "other.example",
                UP | AT,
                0,
                &attested(b"id", &cose),
            )),
            false,
            WebAuthnError::RpIdMismatch,
        ),
        (
            none_attestation(&auth_data(rp, UP, 0, &[])),
            false,
            WebAuthnError::NoCredentialData,
        ),
        (
            none_attestation(&auth_data(rp, UP | AT, 0, &attested(&[1; 1024], &cose))),
            false,
            WebAuthnError::CredentialIdTooLong,
        ),
        (
            none_attestation(&auth_data(rp, UP | AT, 0, &attested(b"id", &cose)[..40])),
            false,
            WebAuthnError::MalformedCbor(cbor::CborError::UnexpectedEnd),
        ),
        (
            attestation("none", stmt(vec![(C::T("alg"), C::I(-7))]), &good),
            false,
            WebAuthnError::MalformedAttestation,
        ),
        (
            attestation("tpm", stmt(vec![]), &good),
            false,
            WebAuthnError::UnsupportedAttestation,
        ),
        (
            attestation("fido-u2f", stmt(vec![]), &good),
            false,
            WebAuthnError::UnsupportedAttestation,
        ),
        (
            attestation("packed", stmt(vec![(C::T("x5c"), C::M(vec![]))]), &good),
            false,
            WebAuthnError::UnsupportedAttestation,
        ),
        (
            attestation("packed", stmt(vec![]), &good),
            false,
            WebAuthnError::MalformedAttestation,
        ),
        (
            C::M(vec![
                (C::T("fmt"), C::T("none")),
                (C::T("authData"), C::B(&good)),
            ])
            .encode(),
            false,
            WebAuthnError::MalformedAttestation,
        ),
        (
            C::M(vec![
                (C::T("fmt"), C::T("none")),
                (C::T("attStmt"), C::I(0)),
                (C::T("authData"), C::B(&good)),
            ])
            .encode(),
            false,
            WebAuthnError::MalformedAttestation,
        ),
        (
            [none_attestation(&good), vec![0]].concat(),
            false,
            WebAuthnError::MalformedCbor(cbor::CborError::TrailingData),
        ),
    ];
    assert!(fresh_registration(&none_attestation(&good), false).is_ok());
    for (object, require_uv, expected) in cases {
        assert_eq!(
            fresh_registration(&object, require_uv),
            Err(expected),
            "{object:02x?}"
        );
    }
}

#[test]
fn cose_keys_must_match_their_algorithm() {
    let x = [1u8; 32];
    let cases: Vec<(Vec<u8>, WebAuthnError)> = vec![
        // EC2 P-256 coordinates labelled EdDSA or RS256.
        (cose_ec2(-8, &x, &x), WebAuthnError::MalformedKey),
        (cose_ec2(-257, &x, &x), WebAuthnError::MalformedKey),
        // ES384, ES512, PS256: not offered.
        (cose_ec2(-35, &x, &x), WebAuthnError::UnsupportedAlgorithm),
        (cose_ec2(-36, &x, &x), WebAuthnError::UnsupportedAlgorithm),
        (cose_ec2(-37, &x, &x), WebAuthnError::UnsupportedAlgorithm),
        // Short coordinates, another curve, no alg.
        (cose_ec2(-7, &x[..31], &x), WebAuthnError::MalformedKey),
        (
            C::M(vec![
                (C::I(1), C::I(2)),
                (C::I(3), C::I(-7)),
                (C::I(-1), C::I(2)),
                (C::I(-2), C::B(&x)),
                (C::I(-3), C::B(&x)),
            ])
            .encode(),
            WebAuthnError::MalformedKey,
        ),
        (
            C::M(vec![(C::I(1), C::I(2)), (C::I(-1), C::I(1))]).encode(),
            WebAuthnError::UnsupportedAlgorithm,
        ),
        // OKP with X25519's curve, RSA with a short modulus.
        (
            C::M(vec![
                (C::I(1), C::I(1)),
                (C::I(3), C::I(-8)),
                (C::I(-1), C::I(4)),
                (C::I(-2), C::B(&x)),
            ])
            .encode(),
            WebAuthnError::MalformedKey,
        ),
        (
            C::M(vec![
                (C::I(1), C::I(3)),
                (C::I(3), C::I(-257)),
                (C::I(-1), C::B(&[0xff; 128])),
                (C::I(-2), C::B(&[1, 0, 1])),
            ])
            .encode(),
            WebAuthnError::MalformedKey,
        ),
        (C::I(5).encode(), WebAuthnError::MalformedKey),
        (
            vec![],
            WebAuthnError::MalformedCbor(cbor::CborError::UnexpectedEnd),
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(
            cose::CoseKey::from_bytes(&bytes),
            Err(expected),
            "{bytes:02x?}"
        );
    }
    // A stored key that does not parse fails the sign-in before anything else.
    let v = &vectors::NONE_ES256;
    assert_eq!(
        assert_spec(v, &cose_ec2(-8, &x, &x)),
        Err(WebAuthnError::MalformedKey)
    );
    // A point not on the curve parses, and fails at the signature.
    assert_eq!(
        assert_spec(v, &cose_ec2(-7, &x, &x)),
        Err(WebAuthnError::BadSignature)
    );
}
