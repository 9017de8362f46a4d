//! The published vectors (spec §16 and recordings from py_webauthn, in `vectors.rs`), then
//! responses made here with keys ring generates, so that every check can be failed honestly:
//! a tampered response is signed again, and fails for the one reason under test.

use super::vectors::{self, hex, Recorded, SpecVector};
use super::*;
use crate::crypto::b64url;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

fn spec_rp() -> RelyingParty {
    RelyingParty {
        id: vectors::SPEC_RP_ID.into(),
        origin: vectors::SPEC_ORIGIN.into(),
    }
}

fn recorded_rp() -> RelyingParty {
    RelyingParty {
        id: vectors::RECORDED_RP_ID.into(),
        origin: vectors::RECORDED_ORIGIN.into(),
    }
}

fn register_spec(v: &SpecVector) -> Result<Registration, WebAuthnError> {
    verify_registration(
        &spec_rp(),
        &hex(v.reg_challenge),
        &hex(v.reg_client_data),
        &hex(v.attestation_object),
        false,
    )
}

fn assert_spec(v: &SpecVector, key: &[u8]) -> Result<Assertion, WebAuthnError> {
    verify_assertion(
        &spec_rp(),
        &hex(v.auth_challenge),
        key,
        &hex(v.auth_client_data),
        &hex(v.authenticator_data),
        &hex(v.signature),
        false,
    )
}

fn assert_recorded(r: &Recorded, require_uv: bool) -> Result<Assertion, WebAuthnError> {
    verify_assertion(
        &recorded_rp(),
        &hex(r.challenge),
        &hex(r.public_key),
        &hex(r.client_data),
        &hex(r.authenticator_data),
        &hex(r.signature),
        require_uv,
    )
}

/// The COSE key inside a vector's attestation object, read without checking the attestation.
fn key_in_attestation(attestation_object: &[u8]) -> Vec<u8> {
    let object = cbor::parse(attestation_object).unwrap();
    let auth_data = object.get_text_key("authData").unwrap().as_bytes().unwrap();
    let parsed = AuthenticatorData::parse(auth_data).unwrap();
    parsed.attested.unwrap().public_key_bytes.to_vec()
}

// ---- The spec's vectors ----

#[test]
fn spec_none_es256_registers_and_signs_in() {
    let v = &vectors::NONE_ES256;
    let reg = register_spec(v).unwrap();
    assert_eq!(reg.credential_id, hex(v.credential_id));
    assert_eq!(reg.aaguid.to_vec(), hex(v.aaguid));
    assert_eq!(reg.alg, CoseAlg::Es256);
    assert_eq!(reg.sign_count, 0);
    // Flags 0x59: UP, BE, BS, AT.
    assert!(!reg.user_verified && reg.backup_eligible && reg.backed_up);
    assert_eq!(
        reg.public_key,
        key_in_attestation(&hex(v.attestation_object))
    );
    let a = assert_spec(v, &reg.public_key).unwrap();
    // Flags 0x19: UP, BE, BS.
    let expected = Assertion {
        sign_count: 0,
        user_verified: false,
        backup_eligible: true,
        backed_up: true,
    };
    assert_eq!(a, expected);
    assert!(counter_ok(reg.sign_count, a.sign_count));
}

#[test]
fn spec_packed_self_attestation_is_checked_and_accepted() {
    let v = &vectors::PACKED_SELF_ES256;
    let reg = register_spec(v).unwrap();
    assert_eq!(reg.alg, CoseAlg::Es256);
    assert!(reg.user_verified);
    assert_eq!(reg.aaguid.to_vec(), hex(v.aaguid));
    assert!(assert_spec(v, &reg.public_key).is_ok());
    // The self signature covers the client data hash: other client data, same everything else,
    // fails on the attestation signature (the client data checks are met by re-encoding).
    let other = String::from_utf8(hex(v.reg_client_data))
        .unwrap()
        .replace("\"crossOrigin\":false", "\"crossOrigin\":false ");
    let err = verify_registration(
        &spec_rp(),
        &hex(v.reg_challenge),
        other.as_bytes(),
        &hex(v.attestation_object),
        false,
    );
    assert_eq!(err, Err(WebAuthnError::BadSignature));
}

#[test]
fn spec_cross_origin_is_refused_in_both_ceremonies() {
    let v = &vectors::CROSS_ORIGIN_ES256;
    assert_eq!(register_spec(v), Err(WebAuthnError::CrossOrigin));
    let key = key_in_attestation(&hex(v.attestation_object));
    assert_eq!(assert_spec(v, &key), Err(WebAuthnError::CrossOrigin));
}

#[test]
fn spec_1023_byte_credential_id_is_accepted() {
    let v = &vectors::LONG_ID_ES256;
    let reg = register_spec(v).unwrap();
    assert_eq!(reg.credential_id.len(), 1023);
    assert_eq!(reg.credential_id, hex(v.credential_id));
    assert!(assert_spec(v, &reg.public_key).is_ok());
}

#[test]
fn spec_packed_x5c_attestation_is_refused_but_its_keys_sign_in() {
    for (v, alg) in [
        (&vectors::PACKED_RS256, CoseAlg::Rs256),
        (&vectors::PACKED_EDDSA, CoseAlg::EdDsa),
    ] {
        assert_eq!(
            register_spec(v),
            Err(WebAuthnError::UnsupportedAttestation),
            "{}",
            v.name
        );
        // The same authenticator data under "none" registers, with the right algorithm.
        let object_bytes = hex(v.attestation_object);
        let object = cbor::parse(&object_bytes).unwrap();
        let auth_data = object.get_text_key("authData").unwrap().as_bytes().unwrap();
        let reg = verify_registration(
            &spec_rp(),
            &hex(v.reg_challenge),
            &hex(v.reg_client_data),
            &none_attestation(auth_data),
            false,
        )
        .unwrap();
        assert_eq!(reg.alg, alg, "{}", v.name);
        assert_eq!(reg.credential_id, hex(v.credential_id));
        assert!(assert_spec(v, &reg.public_key).is_ok(), "{}", v.name);
    }
}

#[test]
fn spec_assertion_fails_under_another_vectors_key() {
    let es256 = key_in_attestation(&hex(vectors::NONE_ES256.attestation_object));
    let other = &vectors::PACKED_SELF_ES256;
    assert_eq!(assert_spec(other, &es256), Err(WebAuthnError::BadSignature));
}

// ---- Recordings from real authenticators (py_webauthn's tests) ----

#[test]
fn recorded_assertions_verify_for_each_algorithm() {
    for r in vectors::RECORDED {
        let a = assert_recorded(r, false).unwrap_or_else(|e| panic!("{}: {e}", r.name));
        assert_eq!(a.sign_count, r.sign_count, "{}", r.name);
        assert!(counter_ok(r.sign_count - 1, a.sign_count));
    }
    // The RS256 one was made with user verification.
    assert!(
        assert_recorded(&vectors::RECORDED_RS256, true)
            .unwrap()
            .user_verified
    );
}

#[test]
fn recorded_none_registration_verifies() {
    let r = &vectors::RECORDED_REGISTRATION;
    let reg = verify_registration(
        &recorded_rp(),
        &hex(r.challenge),
        &hex(r.client_data),
        &hex(r.attestation_object),
        false,
    )
    .unwrap();
    assert_eq!(reg.credential_id, hex(r.credential_id));
    assert_eq!(reg.public_key, hex(r.public_key));
    assert_eq!(reg.sign_count, r.sign_count);
    assert_eq!(reg.aaguid, [0; 16]);
}

#[test]
fn recorded_assertion_without_uv_fails_only_when_uv_is_required() {
    let r = &vectors::RECORDED_ES256_NO_UV;
    assert!(assert_recorded(r, false).is_ok());
    assert_eq!(
        assert_recorded(r, true),
        Err(WebAuthnError::UserNotVerified)
    );
}

#[test]
fn recorded_assertion_fails_under_the_wrong_key() {
    let mut r = vectors::RECORDED_ES256;
    r.public_key = vectors::RECORDED_EDDSA.public_key;
    assert_eq!(assert_recorded(&r, false), Err(WebAuthnError::BadSignature));
    r.public_key = vectors::RECORDED_ES256_NO_UV.public_key;
    assert_eq!(assert_recorded(&r, false), Err(WebAuthnError::BadSignature));
}

#[test]
fn recorded_assertion_fails_when_what_was_signed_changes() {
    // A later counter in the authenticator data.
    let mut auth_data = hex(vectors::RECORDED_EDDSA.authenticator_data);
    auth_data[36] += 1;
    let r = &vectors::RECORDED_EDDSA;
    let result = verify_assertion(
        &recorded_rp(),
        &hex(r.challenge),
        &hex(r.public_key),
        &hex(r.client_data),
        &auth_data,
        &hex(r.signature),
        false,
    );
    assert_eq!(result, Err(WebAuthnError::BadSignature));
    // Client data that still passes every check but is not the bytes that were signed.
    let json = String::from_utf8(hex(r.client_data)).unwrap();
    let json = json.replacen('{', "{ ", 1);
    let result = verify_assertion(
        &recorded_rp(),
        &hex(r.challenge),
        &hex(r.public_key),
        json.as_bytes(),
        &hex(r.authenticator_data),
        &hex(r.signature),
        false,
    );
    assert_eq!(result, Err(WebAuthnError::BadSignature));
}

// ---- Client data checks, on the vectors ----

#[test]
fn client_data_checks_refuse_each_mismatch() {
    let v = &vectors::NONE_ES256;
    let key = key_in_attestation(&hex(v.attestation_object));
    let rp = spec_rp();
    let run = |rp: &RelyingParty, challenge: &[u8], client_data: &[u8]| {
        verify_assertion(
            rp,
            challenge,
            &key,
            client_data,
            &hex(v.authenticator_data),
            &hex(v.signature),
            false,
        )
    };
    let (challenge, client_data) = (hex(v.auth_challenge), hex(v.auth_client_data));
    assert!(run(&rp, &challenge, &client_data).is_ok());

    let wrong_origin = RelyingParty {
        origin: "https://example.org:8443".into(),
        ..spec_rp()
    };
    assert_eq!(
        run(&wrong_origin, &challenge, &client_data),
        Err(WebAuthnError::OriginMismatch)
    );
    let wrong_rp_id = RelyingParty {
        id: "example.com".into(),
        ..spec_rp()
    };
    assert_eq!(
        run(&wrong_rp_id, &challenge, &client_data),
        Err(WebAuthnError::RpIdMismatch)
    );
    // Another challenge: the registration's, and one byte off.
    assert_eq!(
        run(&rp, &hex(v.reg_challenge), &client_data),
        Err(WebAuthnError::ChallengeMismatch)
    );
    let mut off_by_one = challenge.clone();
    off_by_one[31] ^= 1;
    assert_eq!(
        run(&rp, &off_by_one, &client_data),
        Err(WebAuthnError::ChallengeMismatch)
    );
    assert_eq!(
        run(&rp, &challenge[..31], &client_data),
        Err(WebAuthnError::ChallengeMismatch)
    );
    // The registration's client data offered as an assertion's, and the reverse.
    assert_eq!(
        run(&rp, &hex(v.reg_challenge), &hex(v.reg_client_data)),
        Err(WebAuthnError::WrongType)
    );
    let as_registration = verify_registration(
        &rp,
        &challenge,
        &client_data,
        &hex(v.attestation_object),
        false,
    );
    assert_eq!(as_registration, Err(WebAuthnError::WrongType));
    for bad in [&b"not json"[..], b"{}", b"[1]", b"{\"type\":1}", b"\xff"] {
        assert_eq!(
            run(&rp, &challenge, bad),
            Err(WebAuthnError::MalformedClientData)
        );
    }
}

#[test]
fn client_data_details() {
    let rp = RelyingParty {
        id: "auth.example.com".into(),
        origin: "https://auth.example.com".into(),
    };
    let challenge = [7u8; 32];
    let check = |json: &str| {
        client_data::check(json.as_bytes(), client_data::Ceremony::Get, &rp, &challenge)
    };
    let c = b64url(&challenge);
    let ok = format!(
        r#"{{"type":"webauthn.get","challenge":"{c}","origin":"https://auth.example.com"}}"#
    );
    assert_eq!(check(&ok), Ok(()));
    // tokenBinding and unknown members are ignored; crossOrigin false is fine.
    let extra = ok.replace(
        "}",
        r#","crossOrigin":false,"tokenBinding":{"status":"present","id":"x"},"other":[1]}"#,
    );
    assert_eq!(check(&extra), Ok(()));
    let cases = [
        (
            ok.replace("https://auth", "http://auth"),
            WebAuthnError::OriginMismatch,
        ),
        (
            ok.replace(".com\"", ".com/\""),
            WebAuthnError::OriginMismatch,
        ),
        (
            ok.replace("https://auth", "HTTPS://AUTH"),
            WebAuthnError::OriginMismatch,
        ),
        (
            ok.replace('}', r#","crossOrigin":true}"#),
            WebAuthnError::CrossOrigin,
        ),
        (
            ok.replace('}', r#","topOrigin":"https://evil.example"}"#),
            WebAuthnError::CrossOrigin,
        ),
        (
            ok.replace(&c, &format!("{c}=")),
            WebAuthnError::ChallengeMismatch,
        ),
        (
            ok.replace(&c, &b64url(&challenge).replace('H', "+")),
            WebAuthnError::ChallengeMismatch,
        ),
        (
            ok.replace("webauthn.get", "webauthn.create"),
            WebAuthnError::WrongType,
        ),
        (
            ok.replace("webauthn.get", "payment.get"),
            WebAuthnError::WrongType,
        ),
        (
            ok.replace('}', r#","type":"webauthn.get"}"#),
            WebAuthnError::MalformedClientData,
        ),
        (
            ok.replace("\"origin\"", "\"origen\""),
            WebAuthnError::MalformedClientData,
        ),
        (format!("{ok}x"), WebAuthnError::MalformedClientData),
    ];
    for (json, expected) in cases {
        assert_eq!(check(&json), Err(expected), "{json}");
    }
    // Whitespace around the object is still the same JSON.
    assert_eq!(check(&format!(" {ok}\n")), Ok(()));
}

// ---- Responses made here, with ring's keys ----

/// A tiny CBOR writer for building test inputs.
enum C<'a> {
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

fn none_attestation(auth_data: &[u8]) -> Vec<u8> {
    attestation("none", C::M(vec![]), auth_data)
}

fn attestation(fmt: &str, att_stmt: C<'_>, auth_data: &[u8]) -> Vec<u8> {
    C::M(vec![
        (C::T("fmt"), C::T(fmt)),
        (C::T("attStmt"), att_stmt),
        (C::T("authData"), C::B(auth_data)),
    ])
    .encode()
}

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
