//! The spec's §16 test vectors and py_webauthn's recordings of real authenticators.

use super::none_attestation;
use crate::crypto::b64url;
use crate::crypto::webauthn::vectors::{self, hex, Recorded, SpecVector};
use crate::crypto::webauthn::*;

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

pub(super) fn assert_spec(v: &SpecVector, key: &[u8]) -> Result<Assertion, WebAuthnError> {
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
