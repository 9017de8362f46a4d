//! APIs and JWT access tokens (RFC 8707, RFC 9068), the README's worked example: a cron job
//! (a machine app) gets a token for a home API with `openidconnect`'s client credentials
//! request plus `resource=`, and calls the API, a small HTTP server in this test that checks
//! the token with sesame's JWKS alone (fetched once over HTTP, verified with ring): `typ`,
//! signature, `iss`, `aud`, `exp`, and the scope it needs.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::CoreClient;
use openidconnect::{ClientId, ClientSecret, Scope};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use support::oidc_http::OidcHttp;

const HOME_API: &str = "https://api.home.test/";
const OTHER_API: &str = "https://photos.home.test/";

/// A resource server that knows only the issuer, its own indicator and the JWKS.
struct HomeApi {
    issuer: String,
    audience: String,
    jwks: Value,
}

impl HomeApi {
    /// Whether `token` is a live access token for this API with `scope`; the reason if not.
    fn check(&self, token: &str, scope: &str, now: u64) -> Result<Value, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [h, p, s] = parts[..] else {
            return Err("not a JWS".into());
        };
        let decode = |b: &str| URL_SAFE_NO_PAD.decode(b).map_err(|e| e.to_string());
        let header: Value = serde_json::from_slice(&decode(h)?).map_err(|e| e.to_string())?;
        if header["typ"] != "at+jwt" {
            return Err(format!("typ {} is not at+jwt (RFC 9068 §4)", header["typ"]));
        }
        let key = self.jwks["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["kid"] == header["kid"]))
            .ok_or("kid not in JWKS")?;
        if header["alg"] != "ES256" || key["crv"] != "P-256" {
            return Err("this API takes ES256 only".into());
        }
        let x = decode(key["x"].as_str().ok_or("no x")?)?;
        let y = decode(key["y"].as_str().ok_or("no y")?)?;
        let public = [&[4u8][..], &x, &y].concat();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, public)
            .verify(format!("{h}.{p}").as_bytes(), &decode(s)?)
            .map_err(|_| "bad signature")?;
        let claims: Value = serde_json::from_slice(&decode(p)?).map_err(|e| e.to_string())?;
        if claims["iss"] != self.issuer.as_str() {
            return Err("another issuer".into());
        }
        if claims["aud"] != self.audience.as_str() {
            return Err(format!("audience {} is not this API", claims["aud"]));
        }
        if claims["exp"].as_u64().is_none_or(|exp| exp <= now) {
            return Err("expired".into());
        }
        let scopes = claims["scope"].as_str().unwrap_or("");
        if !scopes.split(' ').any(|s| s == scope) {
            return Err(format!("scope {scope} missing"));
        }
        Ok(claims)
    }

    /// Serves on 127.0.0.1 until the test ends: `GET /backups` with a bearer token needing
    /// `backups:write`; 200 with the token's `sub`, or 401 with the reason.
    fn serve(self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/backups", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut bearer = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    if let Some(v) = line
                        .to_ascii_lowercase()
                        .strip_prefix("authorization: bearer ")
                    {
                        bearer = line[line.len() - v.len()..].trim().to_string();
                    }
                    line.clear();
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let (status, body) = match self.check(&bearer, "backups:write", now) {
                    Ok(c) => ("200 OK", serde_json::json!({ "sub": c["sub"] })),
                    Err(why) => ("401 Unauthorized", serde_json::json!({ "error": why })),
                };
                let body = body.to_string();
                let _ = write!(
                    &stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }
}

fn cli_ok(sesame: &Sesame, args: &[&str]) -> Value {
    let out = sesame.cli(args);
    assert!(
        out.status.success(),
        "sesame {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_cron_job_gets_a_jwt_for_the_home_api_which_verifies_it_with_jwks_alone() {
    let sesame = Sesame::start_default();
    let job = sesame.create_machine_app("Backup cron");
    let secret = job
        .client_secret
        .clone()
        .expect("a machine app has a secret");
    let api = cli_ok(
        &sesame,
        &[
            "api",
            "create",
            HOME_API,
            "--name",
            "Home API",
            "--scope",
            "backups:write=Upload backups",
            "--scope",
            "admin",
            "--json",
        ],
    );
    assert_eq!(api["alg"], "ES256");
    cli_ok(
        &sesame,
        &[
            "api",
            "create",
            OTHER_API,
            "--name",
            "Photos",
            "--scope",
            "backups:write",
        ],
    );
    let grant = format!("{HOME_API}=backups:write");
    cli_ok(
        &sesame,
        &["app", "update", &job.client_id, "--api-scope", &grant],
    );
    let grant_other = format!("{OTHER_API}=backups:write");
    let shown = cli_ok(
        &sesame,
        &[
            "app",
            "update",
            &job.client_id,
            "--api-scope",
            &grant,
            "--api-scope",
            &grant_other,
            "--json",
        ],
    );
    assert_eq!(
        shown["api_scopes"][HOME_API],
        serde_json::json!(["backups:write"])
    );

    let jwks = HttpClient::new().get(&sesame.url("/jwks")).await.json();
    let home = HomeApi {
        issuer: sesame.issuer.clone(),
        audience: HOME_API.into(),
        jwks,
    }
    .serve();

    // The cron job: client credentials with resource= and the scope it needs.
    let meta = flow::discover(&sesame.issuer).await;
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(job.client_id.clone()),
        Some(ClientSecret::new(secret.clone())),
    );
    let token_for = |resource: &'static str| {
        client
            .exchange_client_credentials()
            .expect("token endpoint in discovery")
            .add_scope(Scope::new("backups:write".into()))
            .add_extra_param("resource", resource)
    };
    let tokens = token_for(HOME_API)
        .request_async(&OidcHttp::new())
        .await
        .unwrap_or_else(|e| panic!("client credentials failed: {}", flow::error_chain(&e)));
    assert_eq!(
        tokens
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        Some(vec!["backups:write".to_string()])
    );
    assert_eq!(tokens.expires_in(), Some(Duration::from_secs(600)));
    let at = tokens.access_token().secret().clone();

    let call = |token: String| {
        let home = home.clone();
        async move {
            HttpClient::new()
                .get_with(&home, &[("authorization", &format!("Bearer {token}"))])
                .await
        }
    };
    let ok = call(at.clone()).await;
    assert_eq!(ok.status, 200, "{}", ok.describe());
    assert_eq!(ok.json()["sub"], job.client_id.as_str());

    // A token for another API is refused by this one (aud), and a tampered one (signature).
    let photos = token_for(OTHER_API)
        .request_async(&OidcHttp::new())
        .await
        .unwrap_or_else(|e| panic!("client credentials failed: {}", flow::error_chain(&e)));
    let wrong_aud = call(photos.access_token().secret().clone()).await;
    assert_eq!(wrong_aud.status, 401, "{}", wrong_aud.describe());
    assert!(wrong_aud.body.contains("audience"), "{}", wrong_aud.body);
    let mut tampered = at.clone();
    tampered.insert(tampered.rfind('.').unwrap() + 1, 'A');
    tampered.pop();
    assert_eq!(call(tampered).await.status, 401);

    // Userinfo does not take a token meant for an API; introspection answers its app.
    flow::assert_oauth_error(
        &flow::userinfo_raw(&sesame, &at).await,
        401,
        "invalid_token",
    );
    let v = HttpClient::new()
        .post_form(
            &sesame.url("/token/introspect"),
            &[
                ("token", &at),
                ("client_id", &job.client_id),
                ("client_secret", &secret),
            ],
        )
        .await
        .json();
    assert_eq!(
        (v["active"].as_bool(), v["aud"].as_str()),
        (Some(true), Some(HOME_API))
    );
}

#[tokio::test]
async fn a_wrong_resource_or_a_scope_the_app_may_not_have_is_refused() {
    let sesame = Sesame::start_default();
    let job = sesame.create_machine_app("Backup cron");
    let secret = job.client_secret.clone().unwrap();
    cli_ok(
        &sesame,
        &[
            "api", "create", HOME_API, "--name", "Home API", "--scope", "read", "--scope", "admin",
        ],
    );
    let grant = format!("{HOME_API}=read");
    cli_ok(
        &sesame,
        &["app", "update", &job.client_id, "--api-scope", &grant],
    );
    let token = |extra: &[(&'static str, &'static str)]| {
        let mut form: Vec<(String, String)> = vec![
            ("grant_type".into(), "client_credentials".into()),
            ("client_id".into(), job.client_id.clone()),
            ("client_secret".into(), secret.clone()),
        ];
        form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let url = sesame.url("/token");
        async move {
            let form: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            HttpClient::new().post_form(&url, &form).await
        }
    };
    let unknown = token(&[("resource", "https://nas.home.test/")]).await;
    flow::assert_oauth_error(&unknown, 400, "invalid_target");
    let two = token(&[("resource", HOME_API), ("resource", HOME_API)]).await;
    flow::assert_oauth_error(&two, 400, "invalid_target");
    let not_allowed = token(&[("resource", HOME_API), ("scope", "admin")]).await;
    flow::assert_oauth_error(&not_allowed, 400, "invalid_scope");
    assert!(
        not_allowed.body.contains("api_scopes"),
        "{}",
        not_allowed.body
    );
    // Asking for one it may have and one it may not: narrowed, and the answer says so.
    let narrowed = token(&[("resource", HOME_API), ("scope", "admin read")]).await;
    assert_eq!(narrowed.status, 200, "{}", narrowed.describe());
    assert_eq!(narrowed.json()["scope"], "read");
}
