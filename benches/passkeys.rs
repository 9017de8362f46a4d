//! What a passkey sign-in costs the server, against what an email-code sign-in costs it: each
//! step as the sign-in pages call it, in-process on a temporary redb file (every step that
//! writes commits, with its fsync, as a running server does).
//!
//! - `signin start`: a new sign-in (both kinds begin with it; shown to subtract).
//! - `passkey options`: `signin::passkey::options`, a fresh challenge kept in the sign-in.
//! - `passkey verify ES256`: `signin::passkey::verify`, a sign-in with a passkey alone
//!   (user-verified, so two factors): parse the answer, take the challenge, check the
//!   assertion against the stored key, move its counter on, and sign in (a session).
//! - `email code send (without the mail)`: `signin::reserve_code` then `signin::record_code`,
//!   what `send_code` does around the SMTP conversation.
//! - `email code verify`: `signin::verify_code` with the right code, signing in (a session).
//!
//! The assertion is made here as an authenticator makes it, with a ring-generated P-256 key:
//! `authenticatorData` = SHA-256(RP ID) || flags (UP|UV) || a counter that increases;
//! `clientDataJSON` names `webauthn.get`, the challenge the options gave and the issuer's
//! origin; the signature is over `authenticatorData || SHA-256(clientDataJSON)`. Signing and
//! every step before the one measured are criterion's setup, outside the timing.
//!
//! Run: `cargo bench --locked --bench passkeys` (add `-- --warm-up-time 1 --measurement-time 3`
//! for a quick look).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ring::digest::{digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::json;
use sesame::clock::Clock;
use sesame::crypto::b64url;
use sesame::crypto::keys::KeySet;
use sesame::issuer::Issuer;
use sesame::mail::Mailer;
use sesame::provider::{Provider, TokenConfig};
use sesame::signin;
use sesame::store::{Passkey, SignInFor, Store, User, Writes};
use sesame::users::Email;
use std::cell::Cell;

/// Passkeys need a domain name: `localhost` is one.
const ISSUER: &str = "http://localhost:8080";
const EMAIL: &str = "ana@example.com";
const CREDENTIAL: &str = "YmVuY2gtY3JlZGVudGlhbA";
/// The code the email bench records and types.
const CODE: &str = "123456";
/// Each iteration moves the fixed clock on by more than every hourly window (codes per
/// mailbox, mail budgets), so no limit is met however many iterations criterion runs.
const STEP: u64 = 3_601;

/// A provider on a temporary file with Ana, who has one ES256 passkey of `key`.
fn provider(key: &EcdsaKeyPair) -> (tempfile::TempDir, Provider, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.redb")).expect("open store");
    let (keys, _) = KeySet::load_or_generate_ecdsa(&store).expect("keys");
    let mailer = Mailer::build(&Default::default(), None).expect("log mailer");
    let issuer = Issuer::parse(ISSUER).expect("issuer");
    let p = Provider::new(
        store,
        issuer,
        TokenConfig::default(),
        keys,
        mailer,
        Clock::fixed(1_800_000_000),
    );
    let mut ana = User::new("bench-user-ana".into(), EMAIL.into(), p.now());
    ana.email_verified = true;
    let passkey = Passkey {
        user_id: ana.id.clone(),
        credential_id: CREDENTIAL.into(),
        public_key: b64url(&cose_es256(key.public_key().as_ref())),
        alg: "ES256".into(),
        sign_count: 0,
        transports: vec!["internal".into()],
        name: "Bench".into(),
        backup_eligible: true,
        backed_up: true,
        created_at: p.now(),
        last_used_at: None,
    };
    p.store
        .write(|tx| {
            tx.put_user(&ana)?;
            tx.put_user_email(EMAIL, &ana.id)?;
            tx.put_passkey(&passkey)
        })
        .expect("store Ana and her passkey");
    let id = ana.id;
    (dir, p, id)
}

/// The COSE_Key of a P-256 public key given uncompressed (`04 || x || y`):
/// {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
fn cose_es256(uncompressed: &[u8]) -> Vec<u8> {
    let (x, y) = uncompressed[1..].split_at(32);
    let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
    out.extend_from_slice(x);
    out.extend_from_slice(&[0x22, 0x58, 0x20]);
    out.extend_from_slice(y);
    out
}

/// A new sign-in for the account page.
fn start(p: &Provider) -> String {
    p.clock.advance(STEP);
    signin::start(p, SignInFor::Account, "bench-browser").expect("start")
}

/// What the page's script posts after `navigator.credentials.get` answered `options`.
fn assertion(
    key: &EcdsaKeyPair,
    options: &serde_json::Value,
    counter: u32,
    user_id: &str,
) -> String {
    let rng = SystemRandom::new();
    let challenge = options["challenge"].as_str().expect("a challenge");
    let rp_id = options["rpId"].as_str().expect("an RP ID");
    let mut auth_data = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
    auth_data.push(0x01 | 0x04); // UP | UV
    auth_data.extend_from_slice(&counter.to_be_bytes());
    let client_data = json!({"type": "webauthn.get", "challenge": challenge, "origin": ISSUER})
        .to_string()
        .into_bytes();
    let mut signed = auth_data.clone();
    signed.extend_from_slice(digest(&SHA256, &client_data).as_ref());
    let signature = key.sign(&rng, &signed).expect("sign");
    json!({
        "id": CREDENTIAL,
        "clientDataJson": b64url(&client_data),
        "authenticatorData": b64url(&auth_data),
        "signature": b64url(signature.as_ref()),
        "userHandle": b64url(user_id.as_bytes()),
    })
    .to_string()
}

fn passkeys(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .expect("key");
    let (_dir, p, user_id) = provider(&key);
    let counter = Cell::new(0u32);

    // One sign-in first, outside any timing: the whole ceremony works.
    let id = start(&p);
    let options = signin::passkey::options(&p, &id).expect("options");
    counter.set(counter.get() + 1);
    let posted = assertion(&key, &options, counter.get(), &user_id);
    signin::passkey::verify(&p, &id, &posted, []).expect("a passkey sign-in");

    c.bench_function("signin start", |b| b.iter(|| start(&p)));
    c.bench_function("passkey options", |b| {
        b.iter_batched(
            || start(&p),
            |id| signin::passkey::options(&p, &id).expect("options"),
            BatchSize::PerIteration,
        )
    });
    c.bench_function("passkey verify ES256", |b| {
        b.iter_batched(
            || {
                let id = start(&p);
                let options = signin::passkey::options(&p, &id).expect("options");
                counter.set(counter.get() + 1);
                (id, assertion(&key, &options, counter.get(), &user_id))
            },
            |(id, posted)| signin::passkey::verify(&p, &id, &posted, []).expect("verify"),
            BatchSize::PerIteration,
        )
    });

    let email = Email::parse(EMAIL).expect("email");
    let send = |id: &str| {
        let reservation = signin::reserve_code(&p, id, &email, None).expect("reserve");
        signin::record_code(&p, id, &email, CODE, reservation).expect("record");
    };
    c.bench_function("email code send (without the mail)", |b| {
        b.iter_batched(|| start(&p), |id| send(&id), BatchSize::PerIteration)
    });
    c.bench_function("email code verify", |b| {
        b.iter_batched(
            || {
                let id = start(&p);
                send(&id);
                id
            },
            |id| signin::verify_code(&p, &id, CODE, []).expect("verify"),
            BatchSize::PerIteration,
        )
    });
}

criterion_group!(benches, passkeys);
criterion_main!(benches);
