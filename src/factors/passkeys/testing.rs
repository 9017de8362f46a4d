//! A software authenticator for tests: a P-256 key made by ring, answering the options sesame
//! gives with the JSON the page's script would post (attestation `none`), honestly signed.

use crate::crypto::b64url;
use ring::digest::{digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};

/// Flags of authenticator data (WebAuthn §6.1).
pub const UP: u8 = 0x01;
pub const UV: u8 = 0x04;
pub const BE: u8 = 0x08;
pub const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// One credential on a software authenticator.
pub struct SoftKey {
    key: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
    /// The user handle it was registered with (the user ID's bytes).
    pub user_handle: Vec<u8>,
    pub counter: u32,
    /// Flags every answer carries (UP, UV, BE, BS as the test wants).
    pub flags: u8,
    /// The origin its client data names.
    pub origin: String,
}

/// A minimal CBOR encoder for what an attestation object holds.
enum C<'a> {
    I(i64),
    B(&'a [u8]),
    T(&'a str),
    M(Vec<(C<'a>, C<'a>)>),
}

impl C<'_> {
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

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            C::I(i) if *i >= 0 => C::head(out, 0, *i as u64),
            C::I(i) => C::head(out, 1, (-1 - *i) as u64),
            C::B(b) => {
                C::head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            C::T(t) => {
                C::head(out, 3, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            C::M(entries) => {
                C::head(out, 5, entries.len() as u64);
                for (k, v) in entries {
                    k.encode_into(out);
                    v.encode_into(out);
                }
            }
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

impl SoftKey {
    /// A new credential for `origin` (`http://localhost:8080`), verifying its user.
    pub fn new(origin: &str) -> SoftKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let credential_id = crate::crypto::random_id().into_bytes();
        SoftKey {
            key,
            credential_id,
            user_handle: Vec::new(),
            counter: 0,
            flags: UP | UV,
            origin: origin.to_string(),
        }
    }

    /// Its public key as a COSE EC2 key.
    pub fn cose(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        C::M(vec![
            (C::I(1), C::I(2)),
            (C::I(3), C::I(-7)),
            (C::I(-1), C::I(1)),
            (C::I(-2), C::B(&point[1..33])),
            (C::I(-3), C::B(&point[33..])),
        ])
        .encode()
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn auth_data(&self, rp_id: &str, flags: u8, tail: &[u8]) -> Vec<u8> {
        let mut data = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        data.extend_from_slice(tail);
        data
    }

    /// Answers `navigator.credentials.create(options)` (sesame's JSON options) as the
    /// script would post it.
    pub fn register(&mut self, options: &Value) -> String {
        let rp_id = options["rp"]["id"].as_str().unwrap();
        let challenge = options["challenge"].as_str().unwrap();
        self.user_handle =
            crate::crypto::b64url_decode(options["user"]["id"].as_str().unwrap()).unwrap();
        let mut tail = vec![0u8; 16];
        tail.extend((self.credential_id.len() as u16).to_be_bytes());
        tail.extend_from_slice(&self.credential_id);
        tail.extend(self.cose());
        let auth_data = self.auth_data(rp_id, self.flags | AT, &tail);
        let attestation = C::M(vec![
            (C::T("fmt"), C::T("none")),
            (C::T("attStmt"), C::M(vec![])),
            (C::T("authData"), C::B(&auth_data)),
        ])
        .encode();
        json!({
            "id": b64url(&self.credential_id),
            "clientDataJson": b64url(&self.client_data("webauthn.create", challenge)),
            "attestationObject": b64url(&attestation),
            "transports": ["internal"],
        })
        .to_string()
    }

    /// Answers `navigator.credentials.get(options)`, the counter moved on by one.
    pub fn assert(&mut self, options: &Value) -> String {
        let rp_id = options["rpId"].as_str().unwrap();
        let challenge = options["challenge"].as_str().unwrap();
        self.counter += 1;
        let auth_data = self.auth_data(rp_id, self.flags, &[]);
        let client_data = self.client_data("webauthn.get", challenge);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(digest(&SHA256, &client_data).as_ref());
        let signature = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": b64url(&self.credential_id),
            "clientDataJson": b64url(&client_data),
            "authenticatorData": b64url(&auth_data),
            "signature": b64url(signature.as_ref()),
            "userHandle": b64url(&self.user_handle),
        })
        .to_string()
    }
}
