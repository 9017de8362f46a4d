use super::*;
use crate::crypto::reference;
use std::sync::OnceLock;

/// One key set for the tests that only sign and verify (RSA generation is the slow part).
fn shared() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("keys.redb")).unwrap();
        KeySet::load_or_generate(&store).unwrap()
    })
}

fn claims() -> Value {
    json!({
        "iss": "http://127.0.0.1:8080/oidc",
        "sub": "u_123",
        "aud": "app",
        "iat": 1_700_000_000u64,
        "exp": 1_700_003_600u64,
        "nonce": "n-0S6_WzA2Mj",
        "email": "ana@example.com",
    })
}

fn jwk_for<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} not in {jwks}"))
}

/// Replaces one of the three parts of a compact JWS.
fn with_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}

#[test]
fn each_alg_round_trips_with_the_expected_header() {
    let keys = shared();
    for alg in Alg::ALL {
        let signer = keys.signer(alg).unwrap();
        assert_eq!(signer.alg(), alg);
        let token = signer.sign_jwt(&claims()).unwrap();
        assert_eq!(token.split('.').count(), 3);
        let header: Value =
            serde_json::from_slice(&b64url_decode(token.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            header,
            json!({"alg": alg.as_str(), "typ": "JWT", "kid": signer.kid()})
        );
        assert_eq!(keys.verify_jwt(&token).unwrap(), claims());
    }
}

#[test]
fn published_jwks_verifies_our_tokens_with_an_independent_verifier() {
    // `reference` is textbook ECDSA / RSA on big integers, sharing no code with ring, fed
    // only the JWK from jwks(): this is what a relying party does.
    let keys = shared();
    let jwks = keys.jwks();
    for alg in Alg::ALL {
        let signer = keys.signer(alg).unwrap();
        let jwk = jwk_for(&jwks, signer.kid());
        assert_eq!(jwk["alg"], alg.as_str());
        assert_eq!(jwk["use"], "sig");
        let token = signer.sign_jwt(&claims()).unwrap();
        assert!(reference::verify_jws(jwk, &token), "{alg}");

        let other = keys
            .signer(if alg == Alg::Es256 {
                Alg::Es384
            } else {
                Alg::Es256
            })
            .unwrap();
        let forged = with_part(&token, 1, &b64url(br#"{"sub":"admin"}"#));
        assert!(
            !reference::verify_jws(jwk, &forged),
            "{alg}: forged payload"
        );
        let foreign = other.sign_jwt(&claims()).unwrap();
        assert!(!reference::verify_jws(jwk, &foreign), "{alg}: other key");
    }
}

#[test]
fn jwk_shapes_follow_rfc_7518() {
    let jwks = shared().jwks();
    for (alg, crv, coord) in [(Alg::Es256, "P-256", 32), (Alg::Es384, "P-384", 48)] {
        let jwk = jwk_for(&jwks, shared().signer(alg).unwrap().kid());
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], crv);
        for c in ["x", "y"] {
            let bytes = b64url_decode(jwk[c].as_str().unwrap()).unwrap();
            assert_eq!(
                bytes.len(),
                coord,
                "{alg} {c} keeps leading zeros (fixed size)"
            );
        }
    }
    let jwk = jwk_for(&jwks, shared().signer(Alg::Rs256).unwrap().kid());
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["e"], "AQAB");
    let n = b64url_decode(jwk["n"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256);
    assert!(n[0] >= 0x80, "2048-bit modulus, no leading zero");
    assert!(
        jwk.get("d").is_none() && jwk.get("p").is_none(),
        "no private parts"
    );
}

#[test]
fn tampered_tokens_are_rejected() {
    let keys = shared();
    for alg in Alg::ALL {
        let token = keys.signer(alg).unwrap().sign_jwt(&claims()).unwrap();
        let sig_b64 = token.rsplit('.').next().unwrap();
        let mut sig = b64url_decode(sig_b64).unwrap();
        sig[5] ^= 0x01;
        let bad_sig = with_part(&token, 2, &b64url(&sig));
        assert!(matches!(
            keys.verify_jwt(&bad_sig),
            Err(CryptoError::BadSignature)
        ));

        let mut c = claims();
        c["sub"] = json!("someone-else");
        let bad_payload = with_part(&token, 1, &b64url(c.to_string().as_bytes()));
        assert!(matches!(
            keys.verify_jwt(&bad_payload),
            Err(CryptoError::BadSignature)
        ));

        let no_sig = with_part(&token, 2, "");
        assert!(matches!(
            keys.verify_jwt(&no_sig),
            Err(CryptoError::BadSignature)
        ));
    }
    for malformed in ["", "a.b", "a.b.c.d", "!.e30.AA", "e30.e30.AA"] {
        assert!(
            matches!(
                keys.verify_jwt(malformed),
                Err(CryptoError::MalformedJwt(_))
            ),
            "{malformed}"
        );
    }
}

#[test]
fn unknown_kid_is_rejected() {
    let keys = shared();
    let token = keys
        .signer(Alg::Es384)
        .unwrap()
        .sign_jwt(&claims())
        .unwrap();
    let header = json!({"alg": "ES384", "typ": "JWT", "kid": "not-ours"});
    let token = with_part(&token, 0, &b64url(header.to_string().as_bytes()));
    assert!(matches!(keys.verify_jwt(&token), Err(CryptoError::UnknownKid(k)) if k == "not-ours"));
    // A key of another issuer, with a kid we do not know, does not verify either.
    let (stranger, _) = SigningKey::generate(Alg::Es384).unwrap();
    let token = stranger.sign_jwt(&claims()).unwrap();
    assert!(matches!(
        keys.verify_jwt(&token),
        Err(CryptoError::UnknownKid(_))
    ));
}

#[test]
fn header_alg_must_be_the_keys_alg() {
    let keys = shared();
    let token = keys
        .signer(Alg::Es384)
        .unwrap()
        .sign_jwt(&claims())
        .unwrap();
    let kid = keys.signer(Alg::Es384).unwrap().kid();
    for alg in ["none", "ES256", "RS256", "HS256", "es384"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let forged = with_part(&token, 0, &b64url(header.to_string().as_bytes()));
        assert!(
            matches!(
                keys.verify_jwt(&forged),
                Err(CryptoError::AlgMismatch {
                    key: Alg::Es384,
                    ..
                })
            ),
            "{alg}"
        );
    }
    let header = json!({"alg": "ES384", "kid": kid, "crit": ["exp"]});
    let forged = with_part(&token, 0, &b64url(header.to_string().as_bytes()));
    assert!(matches!(
        keys.verify_jwt(&forged),
        Err(CryptoError::MalformedJwt(_))
    ));
}

#[test]
fn claims_must_be_an_object() {
    let signer = shared().signer(Alg::Es256).unwrap();
    assert!(matches!(
        signer.sign_jwt(&json!([1])),
        Err(CryptoError::ClaimsNotObject)
    ));
}

#[test]
fn keys_persist_across_reopen_and_rotation_keeps_old_keys_verifying() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sesame.redb");
    let (kids, old_token) = {
        let store = Store::open(&path).unwrap();
        let keys = KeySet::load_or_generate(&store).unwrap();
        let kids: Vec<String> = Alg::ALL
            .map(|a| keys.signer(a).unwrap().kid().to_string())
            .into();
        let again = KeySet::load_or_generate(&store).unwrap();
        let again: Vec<String> = Alg::ALL
            .map(|a| again.signer(a).unwrap().kid().to_string())
            .into();
        assert_eq!(kids, again, "a second load generates nothing");
        let token = keys
            .signer(Alg::Es384)
            .unwrap()
            .sign_jwt(&claims())
            .unwrap();
        (kids, token)
    };

    let store = Store::open(&path).unwrap();
    let keys = KeySet::load_or_generate(&store).unwrap();
    let reopened: Vec<String> = Alg::ALL
        .map(|a| keys.signer(a).unwrap().kid().to_string())
        .into();
    assert_eq!(kids, reopened);
    assert_eq!(store.read(|tx| tx.scan(&KEYS)).unwrap().len(), 3);

    let new_kid = KeySet::rotate(&store, Alg::Es384).unwrap();
    let rotated = KeySet::load_or_generate(&store).unwrap();
    assert_eq!(rotated.signer(Alg::Es384).unwrap().kid(), new_kid);
    // `kids` follows `Alg::ALL`: ES384, ES256, RS256.
    assert_ne!(new_kid, kids[0]);
    assert_eq!(
        rotated.signer(Alg::Es256).unwrap().kid(),
        kids[1],
        "other algs untouched"
    );
    assert_eq!(rotated.signer(Alg::Rs256).unwrap().kid(), kids[2]);

    let jwks = rotated.jwks();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
    let old_jwk = jwk_for(&jwks, &kids[0]);
    assert!(reference::verify_jws(old_jwk, &old_token));
    assert_eq!(rotated.verify_jwt(&old_token).unwrap(), claims());
    let new_token = rotated
        .signer(Alg::Es384)
        .unwrap()
        .sign_jwt(&claims())
        .unwrap();
    assert!(reference::verify_jws(jwk_for(&jwks, &new_kid), &new_token));

    let stored = store.read(|tx| tx.scan(&KEYS)).unwrap();
    let old = stored.iter().find(|(k, _)| *k == kids[0]).unwrap();
    assert!(!old.1.active);
    assert_eq!(stored.iter().filter(|(_, r)| r.active).count(), 3);
}

#[test]
fn newest_of_two_active_keys_signs_and_the_other_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
    let first = KeySet::load_or_generate(&store).unwrap();
    let old_kid = first.signer(Alg::Es256).unwrap().kid().to_string();
    let token = first
        .signer(Alg::Es256)
        .unwrap()
        .sign_jwt(&claims())
        .unwrap();
    // A second active ES256 key, as a hand-edited or half-migrated store might hold.
    let mut newer = new_record(Alg::Es256, crate::clock::now()).unwrap();
    newer.created_at += 10;
    store.write(|tx| tx.put(&KEYS, &newer.kid, &newer)).unwrap();

    let keys = KeySet::load_or_generate(&store).unwrap();
    assert_eq!(keys.signer(Alg::Es256).unwrap().kid(), newer.kid);
    assert_eq!(keys.verify_jwt(&token).unwrap(), claims());
    assert!(keys.jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == old_kid));
}

#[test]
fn a_stored_key_that_does_not_load_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
    KeySet::load_or_generate(&store).unwrap();
    let (ec_key, ec_der) = SigningKey::generate(Alg::Es256).unwrap();
    let bad = [
        ("bad-b64", Alg::Es256, "***".to_string()),
        ("wrong-curve", Alg::Es384, b64url(&ec_der)),
    ];
    for (kid, alg, pkcs8) in bad {
        let rec = KeyRecord {
            retired_at: None,
            kid: kid.into(),
            alg,
            pkcs8,
            created_at: 0,
            active: false,
        };
        store.write(|tx| tx.put(&KEYS, kid, &rec)).unwrap();
        let err = KeySet::load_or_generate(&store).unwrap_err();
        assert!(
            matches!(&err, CryptoError::CorruptKey { kid: k, .. } if k == kid),
            "{err}"
        );
        store.write(|tx| tx.remove(&KEYS, kid)).unwrap();
    }
    assert!(matches!(
        SigningKey::from_pkcs8(ec_key.kid(), Alg::Rs256, &ec_der),
        Err(CryptoError::KeyRejected(_))
    ));
}

#[test]
fn a_stored_key_with_an_algorithm_we_do_not_sign_with_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sesame.redb");
    KeySet::load_or_generate(&Store::open(&path).unwrap()).unwrap();
    // Written past the typed store, as a foreign or future version might have.
    {
        let db = redb::Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("keys");
            let mut table = tx.open_table(def).unwrap();
            let rec =
                br#"{"kid":"bad-alg","alg":"HS256","pkcs8":"","created_at":0,"active":false}"#;
            table.insert("bad-alg", rec.as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    let err = KeySet::load_or_generate(&Store::open(&path).unwrap()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("keys/bad-alg") && text.contains("HS256") && text.contains("ES384"),
        "{text}"
    );
}

#[test]
fn a_first_start_can_have_ecdsa_keys_before_the_rsa_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
    let (early, rsa_missing) = KeySet::load_or_generate_ecdsa(&store).unwrap();
    assert!(rsa_missing);
    assert!(matches!(
        early.signer(Alg::Rs256),
        Err(CryptoError::NoActiveKey(Alg::Rs256))
    ));
    assert_eq!(early.jwks()["keys"].as_array().unwrap().len(), 2);
    let es384 = early.signer(Alg::Es384).unwrap().kid().to_string();

    // The background step: the RSA key joins, the ECDSA keys stay the same.
    let full = KeySet::load_or_generate(&store).unwrap();
    assert!(full.signer(Alg::Rs256).is_ok());
    assert_eq!(full.signer(Alg::Es384).unwrap().kid(), es384);
    assert_eq!(full.jwks()["keys"].as_array().unwrap().len(), 3);
    let (again, rsa_missing) = KeySet::load_or_generate_ecdsa(&store).unwrap();
    assert!(!rsa_missing, "a later start loads the stored RSA key");
    assert!(again.signer(Alg::Rs256).is_ok());
}
