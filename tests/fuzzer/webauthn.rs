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
/// client data mutated (attestation object valid). An input's first byte picks the spec vector
/// whose other parts go with it, so every vector's mutations reach the checks past the client
/// data; a seed is that byte followed by the vector's own part.
pub fn registration() {
    let rp = spec_rp();
    let parts = |input: &[u8]| {
        let (pick, rest) = input.split_first().map_or((0, input), |(p, r)| (*p, r));
        let v = vectors::SPEC[usize::from(pick) % vectors::SPEC.len()];
        (v, rest.to_vec())
    };
    let seeds = |part: fn(&vectors::SpecVector) -> &'static str| -> Vec<Vec<u8>> {
        (0u8..)
            .zip(vectors::SPEC)
            .map(|(i, v)| [vec![i], hex(part(v))].concat())
            .collect()
    };
    run(
        "webauthn_registration_attestation",
        &seeds(|v| v.attestation_object),
        DICT,
        |input| {
            let (v, object) = parts(input);
            let (challenge, client_data) = (hex(v.reg_challenge), hex(v.reg_client_data));
            let _ = verify_registration(&rp, &challenge, &client_data, &object, false);
        },
    );
    run(
        "webauthn_registration_client_data",
        &seeds(|v| v.reg_client_data),
        JSON_DICT,
        |input| {
            let (v, client_data) = parts(input);
            let (challenge, object) = (hex(v.reg_challenge), hex(v.attestation_object));
            let _ = verify_registration(&rp, &challenge, &client_data, &object, false);
        },
    );
}

/// Assertions with authenticator data, signature or client data mutated, the rest valid (an
/// input's first byte picks the recording, as for registrations). A changed authenticator
/// data or signature must not verify, and the unchanged one must.
pub fn assertion() {
    let rp = recorded_rp();
    let parts = |input: &[u8]| {
        let (pick, rest) = input.split_first().map_or((0, input), |(p, r)| (*p, r));
        let r = vectors::RECORDED[usize::from(pick) % vectors::RECORDED.len()];
        let fields = [
            r.challenge,
            r.public_key,
            r.client_data,
            r.authenticator_data,
            r.signature,
        ];
        (fields.map(hex), rest.to_vec())
    };
    let seeds = |part: fn(&vectors::Recorded) -> &'static str| -> Vec<Vec<u8>> {
        (0u8..)
            .zip(vectors::RECORDED)
            .map(|(i, r)| [vec![i], hex(part(r))].concat())
            .collect()
    };
    run(
        "webauthn_assertion_auth_data",
        &seeds(|r| r.authenticator_data),
        DICT,
        |input| {
            let ([challenge, key, client_data, auth_data, signature], mutated) = parts(input);
            let result = verify_assertion(
                &rp,
                &challenge,
                &key,
                &client_data,
                &mutated,
                &signature,
                false,
            );
            assert!(
                result.is_err() || mutated == auth_data,
                "a changed authData verified"
            );
        },
    );
    run(
        "webauthn_assertion_signature",
        &seeds(|r| r.signature),
        DICT,
        |input| {
            let ([challenge, key, client_data, auth_data, signature], mutated) = parts(input);
            let result = verify_assertion(
                &rp,
                &challenge,
                &key,
                &client_data,
                &auth_data,
                &mutated,
                false,
            );
            assert!(
                result.is_err() || mutated == signature,
                "a changed signature verified"
            );
        },
    );
    run(
        "webauthn_assertion_client_data",
        &seeds(|r| r.client_data),
        JSON_DICT,
        |input| {
            let ([challenge, key, _, auth_data, signature], mutated) = parts(input);
            let _ = verify_assertion(
                &rp, &challenge, &key, &mutated, &auth_data, &signature, false,
            );
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
