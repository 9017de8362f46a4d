//! What signing and verifying an ID token costs per algorithm, and what hashing a token costs.
//!
//! Run: `cargo bench --bench crypto` (add `-- --warm-up-time 1 --measurement-time 2` for a
//! quick look).

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use sesame::crypto::keys::{at_hash, Alg, KeySet};
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

criterion_group!(benches, crypto);
criterion_main!(benches);
