//! What signing and verifying an ID token costs per algorithm, what hashing a token costs, and
//! what checking a WebAuthn assertion costs (the signature alone per algorithm, and the whole
//! of `verify_assertion` with its JSON and CBOR parsing).
//!
//! Run: `cargo bench --bench crypto` (add `-- --warm-up-time 1 --measurement-time 2` for a
//! quick look).

use criterion::{criterion_group, criterion_main, Criterion};
use ring::digest::{digest, SHA256};
use serde_json::json;
use sesame::crypto::keys::{at_hash, Alg, KeySet};
use sesame::crypto::webauthn::cose::CoseKey;
use sesame::crypto::webauthn::{verify_assertion, RelyingParty};
use sesame::crypto::{hash_token, random_token};
use sesame::store::Store;
use std::hint::black_box;

fn crypto(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.redb")).expect("open store");
    let keys = KeySet::load_or_generate(&store).expect("keys");
    let access_token = random_token();

    // The claims of a typical ID token for scopes `openid profile email`.
    let id_token_claims = |alg: Alg| {
        json!({
            "iss": "https://auth.example.com/oidc",
            "sub": "VfNlq7ZJrxp5wKqk1Gd3Ag",
            "aud": "bookstore-7Xc2Kq0bNn4",
            "exp": 1_700_003_600u64,
            "iat": 1_700_000_000u64,
            "auth_time": 1_699_999_990u64,
            "nonce": "n-0S6_WzA2Mj",
            "at_hash": at_hash(alg, &access_token),
            "name": "Ana Lima",
            "username": "ana",
            "picture": "https://example.com/ana.png",
            "updated_at": 1_699_000_000u64,
            "email": "ana@example.com",
            "email_verified": true,
        })
    };

    for alg in Alg::ALL {
        let claims = id_token_claims(alg);
        let signer = keys
            .signer(alg)
            .expect("every algorithm has a key after load_or_generate");
        c.bench_function(&format!("sign_jwt {alg}"), |b| {
            b.iter(|| signer.sign_jwt(black_box(&claims)).expect("sign"))
        });
    }

    let token = keys
        .signer(Alg::Es384)
        .expect("ES384 key")
        .sign_jwt(&id_token_claims(Alg::Es384))
        .expect("sign");
    c.bench_function("verify_jwt ES384", |b| {
        b.iter(|| keys.verify_jwt(black_box(&token)).expect("verify"))
    });

    c.bench_function("hash_token", |b| {
        b.iter(|| hash_token(black_box(&access_token)))
    });
}

/// Assertions recorded from real authenticators (py_webauthn's tests): ES256, RS256 (2048-bit)
/// and EdDSA.
#[path = "../src/crypto/webauthn/vectors.rs"]
mod vectors;

fn webauthn(c: &mut Criterion) {
    use vectors::hex;
    for r in vectors::RECORDED {
        let key = CoseKey::from_bytes(&hex(r.public_key)).expect("vector key");
        let mut signed = hex(r.authenticator_data);
        signed.extend_from_slice(digest(&SHA256, &hex(r.client_data)).as_ref());
        let signature = hex(r.signature);
        c.bench_function(&format!("webauthn signature {}", key.alg()), |b| {
            b.iter(|| key.verify(black_box(&signed), &signature).expect("verify"))
        });
    }

    let rp = RelyingParty {
        id: vectors::RECORDED_RP_ID.into(),
        origin: vectors::RECORDED_ORIGIN.into(),
    };
    let r = &vectors::RECORDED_ES256;
    let [challenge, key, client_data, auth_data, signature] = [
        r.challenge,
        r.public_key,
        r.client_data,
        r.authenticator_data,
        r.signature,
    ]
    .map(hex);
    c.bench_function("webauthn verify_assertion ES256", |b| {
        b.iter(|| {
            verify_assertion(
                &rp,
                &challenge,
                &key,
                black_box(&client_data),
                &auth_data,
                &signature,
                false,
            )
            .expect("verify")
        })
    });
}

criterion_group!(benches, crypto, webauthn);
criterion_main!(benches);
