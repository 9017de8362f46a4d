//! Fuzzing every parser that reads what a stranger (or a careless operator) sends: the form and
//! query decoder, cookies, the `Authorization` header, the JWS in `id_token_hint`, PKCE values,
//! Logto's SES connector JSON, `sesame.toml`, the control-socket protocol, whole HTTP
//! requests through the router, and WebAuthn responses (CBOR, authenticator data, COSE keys,
//! registrations and assertions). No input may panic (and none may answer 500).
//!
//! `cargo test --test fuzz` runs a short pass (`tests/fuzzer` says how the inputs are made);
//! `SESAME_FUZZ_CASES=1000000 SESAME_FUZZ_SEED=$RANDOM cargo test --test fuzz` a long one
//! (README, "Fuzzing"; dependencies are optimised even in test builds). A failure prints the
//! input and the seed and case that replay it.

mod fuzzer;

use fuzzer::{run, seeds, text};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, COOKIE};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use sesame::oidc::{self, Params};

/// Parameter names the protocol reads, to look up in whatever was decoded.
const PARAM_NAMES: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
    "token",
    "token_type_hint",
    "post_logout_redirect_uri",
];

const FORM_DICT: &[&str] = &[
    "&",
    "=",
    "%",
    "%2",
    "%zz",
    "%00",
    "%ff",
    "%c3%a9",
    "+",
    "&&",
    "==",
    "client_id=",
    "scope=openid",
    "response_type=code",
    "prompt=none",
    "max_age=-1",
    "max_age=99999999999999999999",
    "redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
    "code_challenge_method=plain",
    "grant_type=refresh_token",
    "grant_type=authorization_code",
    "id_token_hint=",
    "state=",
    "nonce=",
    "&client_id=fuzz-web",
];

const AUTHORIZE_QUERY: &str = "client_id=fuzz-web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid%20email%20offline_access&state=s1&nonce=n1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&prompt=login&max_age=30&login_hint=ada%40example.com";
const TOKEN_FORM: &str = "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id=fuzz-spa";
const REFRESH_FORM: &str = "grant_type=refresh_token&refresh_token=abc&scope=openid";

#[test]
fn form_and_query_decoder() {
    let seeds = seeds(&[
        AUTHORIZE_QUERY,
        TOKEN_FORM,
        REFRESH_FORM,
        "a=1&a=2&b=&c=x%20y",
        "",
    ]);
    run("params", &seeds, FORM_DICT, |input| {
        let params = Params::parse(input);
        for name in PARAM_NAMES {
            let _ = params.get(name);
            let _ = params.first(name);
            let _ = params.has(name);
        }
        let _ = oidc::scope::split(params.first("scope").unwrap_or("")).count();
    });
}

#[test]
fn cookies() {
    let seeds = seeds(&[
        "sesame_session=abc; sesame_interaction=def",
        "__Host-sesame_session=x;a=b;;=;c",
        "a=1\nb=2; a=3",
    ]);
    let dict = &[";", "=", " ", "\"", "__Host-", "sesame_session=", "\n"];
    run("cookies", &seeds, dict, |input| {
        let mut headers = HeaderMap::new();
        // Each line is one Cookie header; a line that is not a header value is dropped, as
        // hyper would refuse it before sesame saw it.
        for line in input.split(|b| *b == b'\n') {
            if let Ok(v) = HeaderValue::from_bytes(line) {
                headers.append(COOKIE, v);
            }
        }
        let _ = sesame::http::cookie::parse(&headers);
    });
}

#[test]
fn authorization_header() {
    let seeds = seeds(&[
        "Basic ZnV6ei13ZWI6czNjcmV0LXMzY3JldA==",
        "bearer abc.def",
        "Basic Zm9vJTNBYmFyOmJheiUyNQ==",
        "BASIC    ",
        "Basic ",
    ]);
    let dict = &[" ", ":", "%", "=", "Basic ", "Bearer ", "Zm9v", "\t"];
    let form = Params::parse(b"client_id=fuzz-web");
    let empty = Params::default();
    run("authorization", &seeds, dict, |input| {
        let h = text(input);
        let _ = oidc::params::credentials(&h, "Basic");
        let _ = oidc::params::credentials(&h, "Bearer");
        let _ = oidc::client::ClientCredentials::from_request(Some(&h), &form);
        let _ = oidc::client::ClientCredentials::from_request(Some(&h), &empty);
        let _ = oidc::userinfo::bearer(Some(&h), None);
        let _ = oidc::userinfo::bearer(Some(&h), Some(&form));
    });
}

#[test]
fn pkce_values() {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let seeds = seeds(&[&format!("{challenge}\n{verifier}"), "short\n", "\n"]);
    run("pkce", &seeds, &["~", ".", "-", "_", "\n", "é"], |input| {
        let t = text(input);
        let (c, v) = t.split_once('\n').unwrap_or((&t, ""));
        let _ = oidc::pkce::valid_challenge(c);
        let _ = oidc::pkce::verify(Some(c), Some(v));
        let _ = oidc::pkce::verify(Some(c), None);
        let _ = oidc::pkce::verify(None, Some(v));
    });
}

const SES_JSON: &str = r#"{
    "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
    "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "region": "eu-west-1",
    "emailAddress": "Bookstore <noreply@bookstore.example>",
    "emailAddressIdentityArn": "arn:aws:ses:eu-west-1:123456789012:identity/bookstore.example",
    "feedbackForwardingEmailAddress": "bounces@bookstore.example",
    "configurationSetName": "sign-in-codes",
    "templates": [
        { "usageType": "SignIn", "subject": "Sign in", "content": "<p>Your code is {{code}}</p>" },
        { "usageType": "Generic", "subject": "Your code", "content": "<p>{{code}}</p>" }
    ],
    "endpoint": { "host": "127.0.0.1", "port": 2525, "tls": "starttls" }
}"#;

const JSON_DICT: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "-1",
    "1e999",
    "18446744073709551616",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "{}",
    "[]",
    "\"x\":",
    "\"region\":",
    "\"templates\":",
];

#[test]
fn ses_connector_json() {
    let seeds = seeds(&[
        SES_JSON,
        r#"{"access_key_id":"A","smtp_password":"p","region":"us-east-1"}"#,
    ]);
    run("ses_json", &seeds, JSON_DICT, |input| {
        let _ = sesame::mail::parse_ses_json(&text(input));
    });
}

#[test]
fn sesame_toml() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds(&[
        include_str!("../examples/sesame.toml"),
        include_str!("../examples/homelab.toml"),
        "[tokens]\nrefresh_retry_window = 0\n[[app]]\nclient_id = \"a\"\nname = \"A\"\napp_type = \"spa\"\nredirect_uris = [\"https://a.example/cb\"]\n",
    ]);
    let dict = &[
        "\n",
        "[",
        "]",
        "[[app]]\n",
        "[tokens]\n",
        "=",
        "\"",
        "'''",
        "\"\"\"",
        "#",
        "0",
        "-1",
        "9223372036854775808",
        "true",
        "{}",
        "[]",
        ".",
        "\\u0000",
        "1979-05-27T07:32:00Z",
    ];
    let mut n = 0;
    run("sesame_toml", &seeds, dict, |input| {
        // A new file each time: rewriting one in place makes ext4 flush it (auto_da_alloc),
        // which costs milliseconds.
        n += 1;
        let path = dir.path().join(format!("{n}.toml"));
        std::fs::write(&path, input).unwrap();
        let _ = sesame::config::load_with_warnings(Some(&path), &Default::default());
        std::fs::remove_file(&path).unwrap();
    });
}

/// One valid request line per command; mutations reach every argument type.
fn control_lines() -> Vec<Vec<u8>> {
    let lines = [
        json!({"cmd": "app.create", "args": {"name": "Books", "type": "spa", "redirect_uris": ["https://b.example/cb"], "refresh_retry_window": 30, "allowed_groups": ["admins"]}}),
        json!({"cmd": "app.update", "args": {"client_id": "x", "id_token_signed_response_alg": "rs256", "post_logout_redirect_uris": []}}),
        json!({"cmd": "app.list"}),
        json!({"cmd": "app.show", "args": {"client_id": "x"}}),
        json!({"cmd": "connector.set", "args": {"name": "ses", "config": serde_json::from_str::<Value>(SES_JSON).unwrap()}}),
        json!({"cmd": "user.add", "args": {"email": "ada@example.com", "name": "Ada", "groups": ["admins"], "claims": {"k": [1]}}}),
        json!({"cmd": "user.list", "args": {"group": "admins", "after": "a", "limit": 5}}),
        json!({"cmd": "user.update", "args": {"user": "ada@example.com", "username": "ada", "picture": "https://p.example/a.png"}}),
        json!({"cmd": "group.add", "args": {"name": "family", "description": "d"}}),
        json!({"cmd": "group.add-member", "args": {"group": "family", "user": "ada@example.com"}}),
        json!({"cmd": "audit.list", "args": {"kind": "sign_in", "since": "2026-11-01", "before": "1793437503-42", "limit": 3}}),
        json!({"cmd": "api-key.create", "args": {"name": "deploy", "expires_in_days": 30}}),
        json!({"cmd": "keys.rotate", "args": {"alg": "ES256"}}),
        json!({"cmd": "mail.test", "args": {"to": "ada@example.com"}}),
    ];
    lines.iter().map(|l| l.to_string().into_bytes()).collect()
}

#[test]
fn control_socket_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let store = sesame::store::Store::open(&dir.path().join("sesame.redb")).unwrap();
    let mail = sesame::config::MailConfig::default();
    let mut dict: Vec<&str> = JSON_DICT.to_vec();
    dict.extend([
        "\"cmd\":",
        "\"args\":",
        "\"app.delete\"",
        "\"user.delete\"",
        "\"group.update\"",
    ]);
    run("control_socket", &control_lines(), &dict, |input| {
        let Ok(command) = sesame::admin::Command::from_line(input) else {
            return;
        };
        // What decodes is carried out on a scratch store, as the server would; minus what
        // only a running server does or what makes keys (slow, and never about parsing).
        let name = command.name();
        if !["keys.rotate", "mail.test"].contains(&name) {
            let _ = sesame::admin::handle(&store, &mail, &sesame::audit::Actor::Cli, command);
        }
    });
}

mod hint {
    //! The JWS of `id_token_hint`: byte mutations of tokens we signed (header, payload and
    //! signature all in play), and mutated claims signed with our key, so the claims are read
    //! after the signature holds.

    use super::*;
    use sesame::provider::Provider;

    pub fn provider(dir: &std::path::Path) -> Provider {
        let store = sesame::store::Store::open(&dir.join("sesame.redb")).unwrap();
        let (keys, _) = sesame::crypto::keys::KeySet::load_or_generate_ecdsa(&store).unwrap();
        let mailer = sesame::mail::Mailer::build(&Default::default(), None).unwrap();
        let issuer = sesame::issuer::Issuer::parse("https://id.example").unwrap();
        Provider::new(
            store,
            issuer,
            Default::default(),
            keys,
            mailer,
            sesame::clock::Clock::fixed(1_790_000_000),
        )
    }

    fn claims() -> Value {
        json!({"iss": "https://id.example", "sub": "u1", "aud": "fuzz-web", "iat": 1, "exp": 2, "nonce": "n", "email": "a@b.example"})
    }

    #[test]
    fn id_token_hint_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let keys = p.keys();
        let mut tokens = Vec::new();
        for alg in [sesame::alg::Alg::Es384, sesame::alg::Alg::Es256] {
            tokens.push(
                keys.signer(alg)
                    .unwrap()
                    .sign_jwt(&claims())
                    .unwrap()
                    .into_bytes(),
            );
        }
        tokens.push(b"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.".to_vec());
        let dict = &[
            ".",
            "..",
            "=",
            "eyJ",
            "e30",
            "eyJhbGciOiJub25lIn0",
            "-",
            "_",
            "+",
            "/",
        ];
        run("id_token_hint", &tokens, dict, |input| {
            let _ = oidc::token::hint_claims(&p, &text(input));
        });
    }

    #[test]
    fn id_token_hint_signed_claims() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let keys = p.keys();
        let signer = keys.signer(sesame::alg::Alg::Es384).unwrap();
        let seeds = vec![
            claims().to_string().into_bytes(),
            br#"{"iss":["https://id.example"],"sub":{"a":1}}"#.to_vec(),
            b"[]".to_vec(),
        ];
        run("id_token_hint_claims", &seeds, JSON_DICT, |input| {
            let Ok(claims) = serde_json::from_slice::<Value>(input) else {
                return;
            };
            let Ok(token) = signer.sign_jwt(&claims) else {
                return; // not a claims object: nothing to sign
            };
            let _ = oidc::token::hint_claims(&p, &token);
        });
    }
}

#[path = "fuzzer/requests.rs"]
mod requests;

#[path = "fuzzer/webauthn.rs"]
mod webauthn;

#[test]
fn webauthn_cbor_reader() {
    webauthn::cbor_reader();
}

#[test]
fn webauthn_authenticator_data() {
    webauthn::authenticator_data();
}

#[test]
fn webauthn_cose_key() {
    webauthn::cose_key();
}

#[test]
fn webauthn_registration() {
    webauthn::registration();
}

#[test]
fn webauthn_assertion() {
    webauthn::assertion();
}

#[test]
fn http_requests_through_the_router() {
    requests::fuzz();
}

/// The status every fuzzed response must avoid: bad input is the client's fault (4xx) or a
/// page, never an internal error.
fn not_internal(status: StatusCode) -> bool {
    status != StatusCode::INTERNAL_SERVER_ERROR
}

/// Headers from name/value pairs, dropping what is not a header (hyper would refuse it).
fn headers(pairs: &[(HeaderName, Vec<u8>)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_bytes(value) {
            h.append(name.clone(), v);
        }
    }
    h
}

/// The content types a body is sent with.
const CONTENT_TYPES: &[&str] = &[
    "application/x-www-form-urlencoded",
    "application/json",
    "application/merge-patch+json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded; charset=utf-8",
];

/// Methods, weighted as endpoints take them: mostly GET and POST.
const METHODS: &[Method] = &[
    Method::GET,
    Method::GET,
    Method::GET,
    Method::GET,
    Method::POST,
    Method::POST,
    Method::POST,
    Method::POST,
    Method::HEAD,
    Method::OPTIONS,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];
