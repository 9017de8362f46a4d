//! Fuzz targets for the WebAuthn checks (`sesame::crypto::webauthn`): the CBOR reader,
//! authenticator data, COSE keys, and whole registrations and assertions, each seeded with
//! the published vectors (the spec's §16 and py_webauthn's recordings) and mutated one part
//! at a time, the other parts left valid so the mutation reaches deep checks. Nothing may
//! panic; and a mutated input must never verify where the original would not have.

use super::fuzzer::run;
use sesame::crypto::webauthn::authdata::AuthenticatorData;
use sesame::crypto::webauthn::cose::CoseKey;
use sesame::crypto::webauthn::{cbor, verify_assertion, verify_registration, RelyingParty};

#[path = "../../src/crypto/webauthn/vectors.rs"]
mod vectors;
use vectors::hex;

/// CBOR heads and WebAuthn's words, as text (the mutator's dictionary is `&str`); single
/// bytes above 0x7f come from the mutator's own interesting bytes.
const DICT: &[&str] = &[
    "\x00",
    "\x01",
    "\x02",
    "\x03",
    "\x06",
    "\x17",
    "\x18",
    "\x19",
    "\x1a",
    "\x1b",
    "\x1c",
    "\x1f",
    "\x20",
    "!",
    "\"",
    "#",
    "&",
    "'",
    "9\x01\x00",
    "8\"",
    "?",
    "@",
    "X ",
    "Y\x01\x00",
    "[\x7f\x00\x00\x00\x00\x00\x00\x00",
    "_",
    "\x7f",
    "cfmt",
    "dnone",
    "fpacked",
    "gattStmt",
    "hauthData",
    "cx5c",
    "calg",
    "csig",
    "\x18\x18",
    "\x1b\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f",
];

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

/// The authData inside an attestation object.
fn auth_data_of(attestation_object: &[u8]) -> Vec<u8> {
    let object = cbor::parse(attestation_object).expect("vector parses");
    object
        .get_text_key("authData")
        .and_then(|v| v.as_bytes())
        .expect("vector has authData")
        .to_vec()
}

fn attestation_objects() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = vectors::SPEC
        .iter()
        .map(|v| hex(v.attestation_object))
        .collect();
    seeds.push(hex(vectors::RECORDED_REGISTRATION.attestation_object));
    seeds
}

fn cose_keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = vectors::RECORDED
        .iter()
        .map(|r| hex(r.public_key))
        .collect();
    for object in attestation_objects() {
        let auth_data = auth_data_of(&object);
        let parsed = AuthenticatorData::parse(&auth_data).expect("vector authData parses");
        keys.push(parsed.attested.expect("AT").public_key_bytes.to_vec());
    }
    keys
}

pub fn cbor_reader() {
    let mut seeds = attestation_objects();
    seeds.extend(cose_keys());
    run("webauthn_cbor", &seeds, DICT, |input| {
        let _ = cbor::parse(input);
        let _ = cbor::parse_prefix(input);
    });
}

pub fn authenticator_data() {
    let mut seeds: Vec<Vec<u8>> = attestation_objects()
        .iter()
        .map(|o| auth_data_of(o))
        .collect();
    seeds.extend(vectors::SPEC.iter().map(|v| hex(v.authenticator_data)));
    run("webauthn_authenticator_data", &seeds, DICT, |input| {
        if let Ok(parsed) = AuthenticatorData::parse(input) {
            let _ = parsed.has(0x41);
        }
    });
}

pub fn cose_key() {
    let message = b"authenticatorData || clientDataHash";
    let signature = hex(vectors::RECORDED_ES256.signature);
    run("webauthn_cose_key", &cose_keys(), DICT, |input| {
        if let Ok(key) = CoseKey::from_bytes(input) {
            let _ = key.verify(message, &signature);
        }
    });
}

/// Registrations with the attestation object mutated (client data valid), then with the
/// client data mutated (attestation object valid).
pub fn registration() {
    let rp = spec_rp();
    let v = &vectors::NONE_ES256;
    let (challenge, client_data) = (hex(v.reg_challenge), hex(v.reg_client_data));
    run(
        "webauthn_registration_attestation",
        &attestation_objects(),
        DICT,
        |input| {
            let _ = verify_registration(&rp, &challenge, &client_data, input, false);
        },
    );
    let object = hex(v.attestation_object);
    let seeds: Vec<Vec<u8>> = vectors::SPEC
        .iter()
        .map(|v| hex(v.reg_client_data))
        .collect();
    run(
        "webauthn_registration_client_data",
        &seeds,
        JSON_DICT,
        |input| {
            let _ = verify_registration(&rp, &challenge, input, &object, false);
        },
    );
}

/// Assertions with authenticator data, signature or client data mutated, the rest valid. A
/// mutated authenticator data or signature must not verify.
pub fn assertion() {
    let rp = recorded_rp();
    let r = &vectors::RECORDED_ES256;
    let (challenge, key, client_data) = (hex(r.challenge), hex(r.public_key), hex(r.client_data));
    let (auth_data, signature) = (hex(r.authenticator_data), hex(r.signature));
    let seeds: Vec<Vec<u8>> = vectors::RECORDED
        .iter()
        .map(|r| hex(r.authenticator_data))
        .collect();
    run("webauthn_assertion_auth_data", &seeds, DICT, |input| {
        let result = verify_assertion(
            &rp,
            &challenge,
            &key,
            &client_data,
            input,
            &signature,
            false,
        );
        assert!(
            result.is_err() || input == auth_data,
            "a changed authData verified"
        );
    });
    let seeds: Vec<Vec<u8>> = vectors::RECORDED.iter().map(|r| hex(r.signature)).collect();
    run("webauthn_assertion_signature", &seeds, DICT, |input| {
        let result = verify_assertion(
            &rp,
            &challenge,
            &key,
            &client_data,
            &auth_data,
            input,
            false,
        );
        assert!(
            result.is_err() || input == signature,
            "a changed signature verified"
        );
    });
    let seeds: Vec<Vec<u8>> = vectors::RECORDED
        .iter()
        .map(|r| hex(r.client_data))
        .collect();
    run(
        "webauthn_assertion_client_data",
        &seeds,
        JSON_DICT,
        |input| {
            let _ = verify_assertion(&rp, &challenge, &key, input, &auth_data, &signature, false);
        },
    );
}

const JSON_DICT: &[&str] = &[
    "{",
    "}",
    "\"",
    ":",
    ",",
    "[",
    "]",
    "null",
    "true",
    "false",
    "\\u0000",
    "\\ud800",
    "\"type\"",
    "\"challenge\"",
    "\"origin\"",
    "\"crossOrigin\"",
    "\"topOrigin\"",
    "\"webauthn.get\"",
    "\"webauthn.create\"",
    "\"http://localhost:5000\"",
    "\"https://example.org\"",
    "\"tokenBinding\":{\"status\":\"present\"}",
    "=",
    "+",
    "/",
];
