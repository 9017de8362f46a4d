//! Whole HTTP requests through `sesame::server::route`, in-process, against a real server
//! (temporary data directory, declared apps and user): a method, a path, a query, a body and
//! the headers that carry credentials, each picked or mutated from valid ones. The valid ones
//! include a live session cookie, real tokens, a management API key and an ID token, so the
//! fuzzing gets past authentication into what each endpoint parses next.

use super::fuzzer::{self, Mutator, Rng};
use super::{headers, not_internal, CONTENT_TYPES, METHODS};
use hyper::header::{HeaderName, AUTHORIZATION, CONTENT_TYPE, COOKIE};
use hyper::{HeaderMap, Method};
use sesame::http::Request;
use sesame::server::Server;
use std::sync::Arc;

const CONFIG: &str = r#"
issuer = "https://id.home.example"
[sign_up]
mode = "open"
[forward_auth]
cookie_domain = "home.example"
[[access]]
domain = "*.home.example"
policy = "allow"
[[app]]
client_id = "fuzz-web"
name = "Fuzz"
client_secret = "s3cret-s3cret"
redirect_uris = ["https://app.example/cb"]
post_logout_redirect_uris = ["https://app.example/"]
[[app]]
client_id = "fuzz-spa"
name = "Fuzz SPA"
app_type = "spa"
redirect_uris = ["https://spa.example/cb"]
[[user]]
email = "ada@example.com"
groups = ["admins"]
"#;

/// Paths, each with the methods it answers (a fuzzed method now and then tries the others).
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/jwks"),
    ("GET POST", "/auth"),
    ("GET POST", "/auth"),
    ("POST", "/token"),
    ("POST", "/token"),
    ("GET POST", "/me"),
    ("GET POST", "/session/end"),
    ("POST", "/token/revocation"),
    ("GET POST", "/sign-in"),
    ("POST", "/sign-in/code"),
    ("GET POST", "/sign-in/second"),
    ("POST", "/sign-in/second/totp"),
    ("POST", "/sign-in/second/passkey"),
    ("POST", "/sign-in/second/passkey/options"),
    ("POST", "/sign-in/passkey"),
    ("POST", "/sign-in/passkey"),
    ("POST", "/sign-in/passkey/options"),
    ("POST", "/account/passkeys"),
    ("POST", "/account/passkeys/options"),
    ("GET", "/healthz"),
    ("GET", "/api/authz/forward-auth"),
    ("GET", "/api/authz/auth-request"),
    ("GET", "/static/sesame.css"),
    ("GET POST", "/api/v1/users"),
    ("GET PATCH DELETE", "/api/v1/users/ada%40example.com"),
    ("GET POST", "/api/v1/apps"),
    ("GET PATCH DELETE", "/api/v1/apps/fuzz-web"),
    ("GET POST", "/api/v1/groups"),
    (
        "PUT DELETE",
        "/api/v1/groups/admins/members/ada%40example.com",
    ),
    ("GET", "/api/v1/audit"),
    ("GET POST", "/api/v1/api-keys"),
    ("GET", "/api/v1/openapi.json"),
    ("GET POST", "/dev/sign-in"),
];

const QUERIES: &[&str] = &[
    super::AUTHORIZE_QUERY,
    "client_id=fuzz-spa&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&response_type=code&scope=openid&prompt=none&id_token_hint=HINT",
    "id_token_hint=HINT&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2F&state=x&client_id=fuzz-web",
    "rd=https%3A%2F%2Fa.home.example%2Fx",
    "interaction=INTERACTION",
    "limit=2&after=a&group=admins&kind=sign_in&since=2026-01-01",
    "",
];

/// Where an `id_token_hint` goes, `HINT` standing for it.
const HINT_QUERIES: &[(&str, &str)] = &[
    ("/auth", "client_id=fuzz-web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid&prompt=none&id_token_hint=HINT"),
    ("/auth", "client_id=fuzz-web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid&id_token_hint=HINT"),
    ("/session/end", "id_token_hint=HINT&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2F&state=x"),
];

const BODIES: &[&str] = &[
    "grant_type=refresh_token&refresh_token=REFRESH",
    "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
    "token=REFRESH&token_type_hint=refresh_token",
    "access_token=ACCESS",
    "interaction=INTERACTION&csrf=CSRF&email=ada%40example.com",
    "interaction=INTERACTION&csrf=CSRF&email=%22a+b%22%40%5B127.0.0.1%5D",
    "interaction=INTERACTION&csrf=CSRF&code=123456",
    "interaction=INTERACTION&csrf=CSRF&resend=1",
    "interaction=INTERACTION&csrf=CSRF&kind=totp&code=123456",
    "interaction=INTERACTION&csrf=CSRF&kind=recovery&code=ABCD-EFGH-JKMN",
    "interaction=INTERACTION&csrf=CSRF&kind=skip",
    "interaction=INTERACTION&csrf=CSRF&platform_authenticator=1&email=ada%40example.com",
    r#"interaction=INTERACTION&csrf=CSRF&credential=%7B%22id%22%3A%22AA%22%2C%22clientDataJson%22%3A%22e30%22%2C%22authenticatorData%22%3A%22AA%22%2C%22signature%22%3A%22AA%22%2C%22userHandle%22%3A%22AA%22%7D"#,
    r#"interaction=INTERACTION&csrf=CSRF&credential=%7B%22id%22%3A%22AA%22%2C%22clientDataJson%22%3A%22e30%22%2C%22attestationObject%22%3A%22oA%22%7D"#,
    r#"{"email":"bob@example.com","name":"Bob","groups":["admins"],"claims":{"a":1}}"#,
    r#"{"name":"Photos","redirect_uris":["https://p.example/cb"],"refresh_retry_window":0}"#,
    r#"{"name":"Renamed","allowed_groups":[]}"#,
    "",
];

/// What a proxy adds for forward-auth: `name: value` lines.
const FORWARDED: &[&str] = &[
    "x-forwarded-proto: https\nx-forwarded-host: app.home.example\nx-forwarded-uri: /photos?album=1\nx-forwarded-method: GET\nx-forwarded-for: 192.0.2.1",
    "x-original-url: https://app.home.example/a/b?c=d\nx-original-method: POST",
    "x-forwarded-proto: http\nx-forwarded-host: [::1]:8080\nx-forwarded-uri: //evil.example/",
];

const DICT: &[&str] = &[
    "&",
    "=",
    "%",
    "%2F",
    "%00",
    "%ff",
    "/",
    "..",
    "//",
    "?",
    "#",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "-1",
    "1e999",
    "admins",
    "ada@example.com",
    "fuzz-web",
    "fuzz-spa",
    "openid",
    "prompt=none",
    "max_age=0",
    "&client_id=fuzz-web",
    "&scope=",
    "&redirect_uri=",
    "response_type=",
];

/// The credentials seeds: filled in once the server has made them.
struct Material {
    /// `Bearer` and the management API key, sent as it is to half the API's requests so that
    /// their bodies get parsed.
    api_key: Vec<u8>,
    /// The claims of a real ID token, as JSON: mutated, then signed with sesame's key, they
    /// reach what `/auth` and `/session/end` do with a hint's claims.
    claims: Vec<Vec<u8>>,
    forwarded: Vec<Vec<u8>>,
    cookies: Vec<Vec<u8>>,
    authorizations: Vec<Vec<u8>>,
    queries: Vec<Vec<u8>>,
    bodies: Vec<Vec<u8>>,
}

/// Starts the server and fuzzes it.
pub fn fuzz() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sesame.toml");
    let data = dir.path().join("data");
    std::fs::write(&path, format!("data_dir = {data:?}\n{CONFIG}")).unwrap();
    let config = sesame::config::load(Some(&path), &Default::default()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = Arc::new(
        rt.block_on(async { tokio::task::block_in_place(|| Server::open(config)) })
            .unwrap(),
    );
    let m = material(&rt, &server);
    let (seed, cases) = (fuzzer::seed(), fuzzer::cases());
    let mut rng = Rng::new(seed ^ 0x7e57);
    let mut mutators = [
        &m.queries,
        &m.bodies,
        &m.cookies,
        &m.authorizations,
        &m.forwarded,
    ]
    .map(|seeds| Mutator::new(Rng::new(rng.next()), seeds, DICT));
    let paths: Vec<Vec<u8>> = ROUTES.iter().map(|(_, p)| p.as_bytes().to_vec()).collect();
    let mut path_mutator = Mutator::new(Rng::new(rng.next()), &paths, DICT);
    let mut claims_mutator = Mutator::new(Rng::new(rng.next()), &m.claims, DICT);
    let keys = server.provider.keys();
    let signer = keys.signer(sesame::alg::Alg::Es384).unwrap();
    // How the answers spread: a fuzzer stuck on one error would show here.
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    let started = std::time::Instant::now();
    for case in 0..cases {
        let (methods, path) = rng.pick(ROUTES);
        let methods: Vec<&str> = methods.split(' ').collect();
        let mut method = match rng.chance(90) {
            true => rng.pick(&methods).parse().expect("a method"),
            false => rng.pick(METHODS).clone(),
        };
        let mut path = match rng.chance(10) {
            true => fuzzer::text(&path_mutator.input()),
            false => path.to_string(),
        };
        let [mut query, body, cookie, authorization, forwarded] = mutators.each_mut().map(field);
        if rng.chance(10) {
            let claims = serde_json::from_slice(&claims_mutator.input());
            if let Some(hint) = claims.ok().and_then(|c| signer.sign_jwt(&c).ok()) {
                let (at, q) = rng.pick(HINT_QUERIES);
                (method, path) = (Method::GET, at.to_string());
                query = q.replace("HINT", &hint).into_bytes();
            }
        }
        let mut pairs = vec![(CONTENT_TYPE, rng.pick(CONTENT_TYPES).as_bytes().to_vec())];
        if rng.chance(60) {
            pairs.push((COOKIE, cookie));
        }
        if path.starts_with("/api/v1") && rng.chance(50) {
            pairs.push((AUTHORIZATION, m.api_key.clone()));
        } else if rng.chance(50) {
            pairs.push((AUTHORIZATION, authorization));
        }
        if path.starts_with("/api/authz") || rng.chance(10) {
            pairs.extend(header_lines(&forwarded));
        }
        let described = describe(&method, &path, &query, &pairs, &body);
        let (query, body) = (fuzzer::text(&query), fuzzer::text(&body));
        let headers = headers(&pairs);
        fuzzer::check("http_requests", seed, case, &described, || {
            let req = Request::synthetic(method, &path.to_string(), &query, &body, headers);
            let server = server.clone();
            let status = rt.block_on(async move {
                match tokio::spawn(
                    async move { sesame::server::route(&server, req).await.status() },
                )
                .await
                {
                    Ok(status) => status,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                }
            });
            assert!(not_internal(status), "answered {status}");
            *statuses.entry(status.as_u16()).or_default() += 1;
        });
    }
    eprintln!(
        "fuzz http_requests: {cases} cases in {:.1?}, SESAME_FUZZ_SEED={seed}, statuses {statuses:?}",
        started.elapsed()
    );
}

/// A field's value: a seed, mutated (capped: the credentials and parameters are short).
fn field(m: &mut Mutator) -> Vec<u8> {
    let mut data = m.input();
    data.truncate(8 * 1024);
    data
}

/// `name: value` lines as header pairs, dropping lines that are not one.
fn header_lines(block: &[u8]) -> Vec<(HeaderName, Vec<u8>)> {
    block
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let colon = line.iter().position(|b| *b == b':')?;
            let name = HeaderName::from_bytes(&line[..colon]).ok()?;
            Some((name, line[colon + 1..].trim_ascii().to_vec()))
        })
        .collect()
}

/// The request as bytes, for the failure message.
fn describe(
    method: &Method,
    path: &str,
    query: &[u8],
    headers: &[(HeaderName, Vec<u8>)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {path}?").into_bytes();
    out.extend_from_slice(query);
    for (name, value) in headers {
        out.extend_from_slice(format!("\n{name}: ").as_bytes());
        out.extend_from_slice(value);
    }
    out.extend_from_slice(b"\n\n");
    out.extend_from_slice(body);
    out
}

/// Real credentials: a session cookie for the declared user, the tokens of a code exchanged
/// through the router, an ID token, and a management API key.
fn material(rt: &tokio::runtime::Runtime, server: &Arc<Server>) -> Material {
    let p = &server.provider;
    let user = p
        .store
        .read(|tx| Ok(sesame::users::find(tx, "ada@example.com")))
        .unwrap()
        .unwrap();
    let session = p
        .store
        .write(|tx| sesame::session::create(tx, &user.id, p.now(), 3600))
        .unwrap();
    let forward_auth = p
        .store
        .write(|tx| sesame::session::create_forward_auth(tx, &user.id, p.now(), p.now() + 3600))
        .unwrap();
    let family = sesame::oidc::grant::Family {
        tokens: &p.tokens,
        now: p.now(),
    };
    let request = sesame::store::AuthRequest {
        client_id: "fuzz-web".into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: vec!["openid".into(), "offline_access".into(), "email".into()],
        state: None,
        nonce: Some("n".into()),
        code_challenge: None,
        max_age: None,
        login_hint: None,
        resource: None,
        mfa: false,
    };
    let code = p
        .store
        .write(|tx| {
            family.issue_code(
                tx,
                &request,
                &user.id,
                &sesame::store::Authn::email_code(p.now()),
                None,
            )
        })
        .unwrap();
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&client_id=fuzz-web&client_secret=s3cret-s3cret"
    );
    let (_, _, body) = call(rt, server, Method::POST, "/token", "", &form, None);
    let tokens: serde_json::Value = serde_json::from_str(&body).unwrap();
    let get = |k: &str| {
        tokens[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in {tokens}"))
            .to_string()
    };
    let (access, refresh, id_token) = (get("access_token"), get("refresh_token"), get("id_token"));
    let (_, api_key) = sesame::api_keys::create(
        &p.store,
        p.now(),
        sesame::api_keys::NewApiKey {
            name: "fuzz".into(),
            expires_in_days: None,
        },
    )
    .unwrap();
    let signing_in = sign_in_started(rt, server);
    let fill = |s: &str| {
        s.replace("INTERACTION", &signing_in.id)
            .replace("CSRF", &signing_in.csrf)
            .replace("HINT", &id_token)
            .replace("REFRESH", &refresh)
            .replace("ACCESS", &access)
            .into_bytes()
    };
    let payload = id_token
        .split('.')
        .nth(1)
        .and_then(sesame::crypto::b64url_decode);
    let claims = payload.unwrap_or_else(|| panic!("ID token {id_token}"));
    Material {
        api_key: format!("Bearer {api_key}").into_bytes(),
        claims: vec![
            claims,
            br#"{"iss":"https://id.home.example","sub":["x"],"aud":7}"#.to_vec(),
        ],
        forwarded: FORWARDED.iter().map(|f| f.as_bytes().to_vec()).collect(),
        // The names as an https issuer at the root of its host gives them.
        cookies: vec![
            format!("__Host-sesame_session={session}").into_bytes(),
            format!("__Host-sesame_session={session}; {}", signing_in.cookie).into_bytes(),
            format!("__Secure-sesame_forward_auth={forward_auth}").into_bytes(),
            signing_in.cookie.clone().into_bytes(),
            format!("sesame_session={session}; sesame_interaction=abc").into_bytes(),
        ],
        authorizations: vec![
            b"Basic ZnV6ei13ZWI6czNjcmV0LXMzY3JldA==".to_vec(),
            format!("Bearer {access}").into_bytes(),
            format!("Bearer {api_key}").into_bytes(),
            b"Basic Zm9vOg==".to_vec(),
        ],
        queries: QUERIES.iter().map(|q| fill(q)).collect(),
        bodies: BODIES.iter().map(|b| fill(b)).collect(),
    }
}

/// A sign-in waiting on its email form, as a browser holds it.
struct SigningIn {
    id: String,
    /// `name=value` of the interaction cookie.
    cookie: String,
    csrf: String,
}

/// Starts a sign-in (`/auth` without a session) and opens its email page.
fn sign_in_started(rt: &tokio::runtime::Runtime, server: &Arc<Server>) -> SigningIn {
    let query = "client_id=fuzz-web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid";
    let (_, headers, _) = call(rt, server, Method::GET, "/auth", query, "", None);
    let location = headers["location"].to_str().unwrap();
    let id = location.split("interaction=").nth(1).unwrap().to_string();
    let set_cookie = headers["set-cookie"].to_str().unwrap();
    // `name=value`: the name has the `__Host-` prefix on this https issuer.
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let (status, _, page) = call(
        rt,
        server,
        Method::GET,
        "/sign-in",
        &format!("interaction={id}"),
        "",
        Some(&cookie),
    );
    assert_eq!(status, 200, "{page}");
    let csrf = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no csrf field in {page}"))
        .to_string();
    SigningIn { id, cookie, csrf }
}

/// Routes one request (a form body, an optional `Cookie`); the status, headers and body.
fn call(
    rt: &tokio::runtime::Runtime,
    server: &Arc<Server>,
    method: Method,
    path: &str,
    query: &str,
    form: &str,
    cookie: Option<&str>,
) -> (u16, HeaderMap, String) {
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    if let Some(c) = cookie {
        h.insert(COOKIE, c.parse().unwrap());
    }
    let req = Request::synthetic(method, path, query, form, h);
    let server = server.clone();
    let resp = rt.block_on(async move {
        tokio::spawn(async move { sesame::server::route(&server, req).await })
            .await
            .unwrap()
    });
    let (parts, body) = resp.into_parts();
    let body = rt
        .block_on(http_body_util::BodyExt::collect(body))
        .unwrap()
        .to_bytes();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}
