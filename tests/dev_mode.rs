//! `sesame dev` end to end: a real `sesame dev` on 127.0.0.1 started with no configuration,
//! its issuer and credentials read from what it prints, the `openidconnect` crate as the app,
//! and an HTTP client posting the dev sign-in page's forms as a browser would. And the other
//! side: `sesame serve` keeps refusing what dev mode accepts.
//!
//! Run: `cargo test --test dev_mode`.

mod support;

use serde_json::json;
use support::dev::{dev_sign_in, open_dev_page, post_dev_form, run_sesame, DevOpts, DevSesame};
use support::flow::{self, OidcClient};
use support::html::find_form_with;
use support::http::{query_param, HttpClient};
use support::{AppCreds, Sesame};

const CALLBACK: &str = "http://127.0.0.1:9/app/callback";
const SCOPES: &[&str] = &["offline_access", "profile", "email", "groups"];

async fn relying_party(dev: &DevSesame, app: &AppCreds) -> OidcClient {
    let meta = flow::discover(&dev.issuer).await;
    flow::client(&meta, app)
}

/// The custom form of the dev page, filled in.
fn anyone(email: &str, groups: &str, claims: &str) -> Vec<(&'static str, String)> {
    vec![
        ("action", "sign_in".into()),
        ("email", email.into()),
        ("name", "Ana Lyst".into()),
        ("username", "ana".into()),
        ("groups", groups.into()),
        ("claims", claims.into()),
    ]
}

fn refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn openidconnect_signs_in_as_anyone_and_validates_custom_claims_and_groups() {
    let dev = DevSesame::start();
    assert!(dev.printed.contains("DEV MODE"), "{}", dev.printed);
    assert!(
        dev.printed
            .contains(&format!("{}/.well-known/openid-configuration", dev.issuer)),
        "{}",
        dev.printed
    );
    assert_eq!(
        (dev.client_id.as_str(), dev.client_secret.as_str()),
        ("dev-client", "dev-secret")
    );
    let app = dev.app(CALLBACK);
    let client = relying_party(&dev, &app).await;
    let start = flow::authorize(&client, SCOPES, true, None);
    let browser = HttpClient::new();

    let page = open_dev_page(&dev.issuer, &browser, start.url.as_str()).await;
    assert!(
        page.body.contains("<strong>DEV MODE</strong>"),
        "banner: {}",
        page.describe()
    );
    let fields = anyone(
        "ana@example.com",
        "admin, staff",
        r#"{"role": "owner", "tier": 3}"#,
    );
    let answer = post_dev_form(&browser, &page, &refs(&fields)).await;
    let callback = flow::callback(
        &browser
            .follow_within(answer, &dev.issuer)
            .await
            .expect_redirect(),
    );
    assert!(
        callback.url.as_str().starts_with(CALLBACK),
        "{}",
        callback.url
    );
    assert_eq!(callback.iss.as_deref(), Some(dev.issuer.as_str()));
    let code = callback.code.clone().expect("a code");
    assert_eq!(
        callback.state.as_deref(),
        Some(start.state.secret().as_str())
    );

    let tokens = flow::exchange(&client, &code, start.pkce_verifier).await;
    // Signature with the JWKS, iss, aud, exp, nonce, at_hash: as in production.
    let (id_token, claims) = flow::validate_id_token(&client, &tokens, Some(&start.nonce));
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ana@example.com"));
    let payload = flow::jwt_payload(&id_token.to_string());
    assert_eq!(payload["groups"], json!(["admin", "staff"]), "{payload}");
    assert_eq!(payload["role"], "owner", "{payload}");
    assert_eq!(payload["tier"], 3, "{payload}");
    assert_eq!(payload["preferred_username"], "ana", "{payload}");
    assert_eq!(payload["name"], "Ana Lyst", "{payload}");
    assert_eq!(flow::jwt_header(&id_token.to_string())["alg"], "ES384");

    use openidconnect::OAuth2TokenResponse;
    let me = flow::userinfo_raw_at(&dev.issuer, tokens.access_token().secret())
        .await
        .json();
    assert_eq!(me["role"], "owner", "{me}");
    assert_eq!(me["groups"], json!(["admin", "staff"]), "{me}");
    let refreshed = flow::refresh(&client, tokens.refresh_token().expect("refresh token")).await;
    assert!(refreshed.is_ok(), "{refreshed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn any_client_id_is_registered_on_first_use_with_any_secret_but_the_printed_secret_is_checked(
) {
    let dev = DevSesame::start();
    let app = AppCreds {
        client_id: "my-next-app".into(),
        client_secret: Some("anything-at-all".into()),
        redirect_uri: "http://localhost:3000/api/auth/callback/sesame".into(),
        json: serde_json::Value::Null,
    };
    let client = relying_party(&dev, &app).await;
    let start = flow::authorize(&client, SCOPES, true, None);
    let browser = HttpClient::new();
    let fields = anyone("bo@example.com", "", "");
    let callback = dev_sign_in(&dev.issuer, &browser, start.url.as_str(), &refs(&fields)).await;
    assert!(
        callback.url.as_str().starts_with(&app.redirect_uri),
        "{}",
        callback.url
    );
    let tokens = flow::exchange(
        &client,
        callback.code.as_deref().unwrap(),
        start.pkce_verifier,
    )
    .await;
    let (_, claims) = flow::validate_id_token(&client, &tokens, Some(&start.nonce));
    assert_eq!(claims.audiences()[0].as_str(), "my-next-app");

    // The printed app has its secret: a wrong one is refused.
    let wrong = flow::token_form_at(
        &dev.issuer,
        &[("grant_type", "authorization_code"), ("code", "x")],
        ("dev-client", "wrong"),
    )
    .await;
    flow::assert_oauth_error(&wrong, 401, "invalid_client");
    // A redirect URI off this machine is never registered, and never redirected to.
    let evil = flow::auth_url_at(
        &dev.issuer,
        &[
            ("client_id", "my-next-app"),
            ("redirect_uri", "https://evil.example/cb"),
            ("response_type", "code"),
            ("scope", "openid"),
        ],
    );
    let page = browser.get(&evil).await;
    assert_eq!(page.status, 400, "{}", page.describe());
    assert!(page.header("location").is_none());
    assert!(
        page.body.contains("not on this machine") && page.body.contains("DEV MODE"),
        "{}",
        page.describe()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deny_and_error_buttons_arrive_at_the_redirect_uri_with_the_right_error() {
    let dev = DevSesame::start();
    let client = relying_party(&dev, &dev.app(CALLBACK)).await;
    let browser = HttpClient::new();

    let start = flow::authorize(&client, SCOPES, true, None);
    let callback = dev_sign_in(
        &dev.issuer,
        &browser,
        start.url.as_str(),
        &[("action", "deny")],
    )
    .await;
    assert!(
        callback.url.as_str().starts_with(CALLBACK),
        "{}",
        callback.url
    );
    assert_eq!(callback.error.as_deref(), Some("access_denied"));
    assert_eq!(
        callback.state.as_deref(),
        Some(start.state.secret().as_str())
    );
    assert_eq!(callback.iss.as_deref(), Some(dev.issuer.as_str()));
    assert_eq!(callback.code, None);

    let start = flow::authorize(&client, SCOPES, true, None);
    let fields = [
        ("action", "error"),
        ("error", "consent_required"),
        ("error_description", "the test wants consent"),
    ];
    let callback = dev_sign_in(&dev.issuer, &browser, start.url.as_str(), &fields).await;
    assert_eq!(callback.error.as_deref(), Some("consent_required"));
    assert_eq!(
        query_param(&callback.url, "error_description").as_deref(),
        Some("the test wants consent")
    );
    assert_eq!(
        callback.state.as_deref(),
        Some(start.state.secret().as_str())
    );

    // Every code the select offers is one the page takes.
    let start = flow::authorize(&client, SCOPES, true, None);
    let page = open_dev_page(&dev.issuer, &browser, start.url.as_str()).await;
    for code in [
        "access_denied",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
    ] {
        assert!(
            page.body.contains(&format!("<option value=\"{code}\">")),
            "{code}"
        );
    }
    let bad = post_dev_form(
        &browser,
        &page,
        &[("action", "error"), ("error", "made_up")],
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_email_code_flow_shows_the_code_on_the_page_instead_of_sending_it() {
    let dev = DevSesame::start();
    let app = dev.app(CALLBACK);
    let client = relying_party(&dev, &app).await;
    let start = flow::authorize(&client, SCOPES, true, None);
    let browser = HttpClient::new();
    let page = open_dev_page(&dev.issuer, &browser, start.url.as_str()).await;
    let link = support::html::tags(&page.body, "a")
        .into_iter()
        .find(|a| a.contains("/sign-in?interaction="))
        .and_then(|a| support::html::attr(&a, "href"))
        .unwrap_or_else(|| panic!("no email-code link: {}", page.describe()));
    let email_page = browser.get(page.url.join(&link).unwrap().as_str()).await;
    flow::assert_email_page(&email_page);
    let answer = flow::submit_form(
        &browser,
        &email_page,
        "email",
        &[("email", "cy@example.com")],
        None,
    )
    .await;
    let code_page = browser.follow_within(answer, &dev.issuer).await;
    flow::assert_code_page(&code_page);
    assert!(code_page.body.contains("DEV MODE"));
    const MARK: &str = "<strong id=\"dev-code\">";
    let at = code_page
        .body
        .find(MARK)
        .unwrap_or_else(|| panic!("no code: {}", code_page.describe()));
    let code = code_page.body[at + MARK.len()..]
        .chars()
        .take(6)
        .collect::<String>();
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let answer = flow::submit_code(&browser, &code_page, &code).await;
    let callback = flow::callback(
        &browser
            .follow_within(answer, &dev.issuer)
            .await
            .expect_redirect(),
    );
    let code = callback.expect_code_at(&dev.issuer, &app, Some(start.state.secret()));
    let tokens = flow::exchange(&client, &code, start.pkce_verifier).await;
    let (_, claims) = flow::validate_id_token(&client, &tokens, Some(&start.nonce));
    assert_eq!(claims.email().map(|e| e.as_str()), Some("cy@example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preset_from_dev_users_signs_in_with_one_click() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sesame.toml");
    std::fs::write(
        &config,
        "[dev.users.alice]\nemail = \"alice@example.com\"\nname = \"Alice\"\ngroups = [\"admin\"]\nclaims = { role = \"owner\", beta = true }\n\n[dev.users.bob]\nemail = \"bob@example.com\"\n",
    )
    .unwrap();
    let dev = DevSesame::start_with(DevOpts {
        config: Some(config),
        ..DevOpts::default()
    });
    assert!(
        dev.printed.contains("personas       alice, bob"),
        "{}",
        dev.printed
    );
    let client = relying_party(&dev, &dev.app(CALLBACK)).await;
    let start = flow::authorize(&client, SCOPES, true, None);
    let browser = HttpClient::new();
    let page = open_dev_page(&dev.issuer, &browser, start.url.as_str()).await;
    assert!(page.body.contains("alice@example.com") && page.body.contains("bob@example.com"));
    let answer = post_dev_form(
        &browser,
        &page,
        &[("action", "persona"), ("persona", "alice")],
    )
    .await;
    let callback = flow::callback(
        &browser
            .follow_within(answer, &dev.issuer)
            .await
            .expect_redirect(),
    );
    let tokens = flow::exchange(
        &client,
        callback.code.as_deref().unwrap(),
        start.pkce_verifier,
    )
    .await;
    let (id_token, claims) = flow::validate_id_token(&client, &tokens, Some(&start.nonce));
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    let payload = flow::jwt_payload(&id_token.to_string());
    assert_eq!(payload["groups"], json!(["admin"]), "{payload}");
    assert_eq!(payload["role"], "owner");
    assert_eq!(payload["beta"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_debugger_runs_the_flow_and_shows_the_decoded_id_token() {
    let dev = DevSesame::start();
    let browser = HttpClient::new();
    let form_page = browser.get(&dev.url("/dev/debugger")).await;
    assert_eq!(form_page.status, 200, "{}", form_page.describe());
    assert!(form_page.body.contains("DEV MODE") && !form_page.body.contains("<script"));
    let form = find_form_with(&form_page.body, "client_id").expect("the debugger form");
    let fields: Vec<(&str, &str)> = form
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert!(fields.contains(&("client_id", "dev-client")), "{fields:?}");
    let answer = browser.post_form(&dev.url("/dev/debugger"), &fields).await;
    let page = browser.follow_within(answer, &dev.issuer).await;
    assert!(
        find_form_with(&page.body, "groups").is_some(),
        "the dev sign-in page: {}",
        page.describe()
    );
    let fields = anyone("dee@example.com", "testers", r#"{"plan": "pro"}"#);
    let answer = post_dev_form(&browser, &page, &refs(&fields)).await;
    let result = browser.follow_within(answer, &dev.issuer).await;
    assert_eq!(result.status, 200, "{}", result.describe());
    let body = support::html::html_unescape(&result.body);
    let section = |id: &str| {
        let at = body
            .find(&format!("<pre id=\"{id}\">"))
            .unwrap_or_else(|| panic!("no {id}: {body}"));
        body[at..].split("</pre>").next().unwrap().to_string()
    };
    assert!(
        section("id-token-header").contains("\"alg\": \"ES384\""),
        "{body}"
    );
    let claims = section("id-token-claims");
    for expected in [
        "\"email\": \"dee@example.com\"",
        "\"plan\": \"pro\"",
        "\"testers\"",
        "\"aud\": \"dev-client\"",
    ] {
        assert!(claims.contains(expected), "{expected} in {claims}");
    }
    assert!(
        body.contains("Signature verified against the JWKS; the nonce matches."),
        "{body}"
    );
    assert!(section("userinfo").contains("\"plan\": \"pro\""), "{body}");
    assert!(!section("access-token").is_empty());
}

#[test]
fn dev_refuses_to_listen_off_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    for addr in ["0.0.0.0:0", "[::]:0", "192.168.1.20:8080"] {
        let (status, stderr) = run_sesame(&["dev", "--listen", addr], dir.path());
        assert!(!status.success(), "{addr}: {status}");
        assert!(
            stderr.contains("not a loopback address") && stderr.contains("never face a network"),
            "{addr}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_still_refuses_unknown_clients_and_has_no_dev_pages() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let url = flow::auth_url(
        &sesame,
        &[
            ("client_id", "my-next-app"),
            (
                "redirect_uri",
                "http://localhost:3000/api/auth/callback/sesame",
            ),
            ("response_type", "code"),
            ("scope", "openid"),
        ],
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, 400, "{}", page.describe());
    assert!(
        page.body.contains("Unknown app") && !page.body.contains("DEV MODE"),
        "{}",
        page.describe()
    );
    for path in ["/dev/sign-in", "/dev/debugger", "/dev/debugger/callback"] {
        let r = browser.get(&sesame.url(path)).await;
        assert_eq!(r.status, 404, "{path}: {}", r.describe());
    }
    let r = flow::token_form(
        &sesame,
        &[("grant_type", "authorization_code"), ("code", "x")],
        Some(("my-next-app", "anything")),
    )
    .await;
    flow::assert_oauth_error(&r, 401, "invalid_client");
}

#[test]
fn dev_and_serve_never_share_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let dev_dir = dir.path().join("dev-data");
    let mut dev = DevSesame::start_with(DevOpts {
        data_dir: Some(dev_dir.clone()),
        ..DevOpts::default()
    });
    assert_eq!(dev.data_dir(), dev_dir);
    assert!(dev.printed.contains("(kept)"), "{}", dev.printed);
    assert!(dev.stop());
    assert!(dev_dir.join("sesame.redb").exists(), "--data-dir is kept");
    let port = support::free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let dev_dir_arg = dev_dir.to_str().unwrap();
    let (status, stderr) = run_sesame(
        &["serve", "--listen", &listen, "--data-dir", dev_dir_arg],
        dir.path(),
    );
    assert!(
        !status.success() && stderr.contains("was made by `sesame dev`"),
        "{status}: {stderr}"
    );

    // A temporary data directory goes when dev stops.
    let mut dev = DevSesame::start();
    let tmp = dev.data_dir();
    assert!(tmp.join("sesame.redb").exists(), "{}", tmp.display());
    assert!(dev.stop());
    assert!(!tmp.exists(), "{} is left behind", tmp.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ttl_flags_set_the_token_lifetimes() {
    let dev = DevSesame::start_with(DevOpts {
        args: ["--access-token-ttl", "30s", "--id-token-ttl", "5m"]
            .map(String::from)
            .to_vec(),
        ..DevOpts::default()
    });
    let client = relying_party(&dev, &dev.app(CALLBACK)).await;
    let start = flow::authorize(&client, SCOPES, true, None);
    let browser = HttpClient::new();
    let fields = anyone("ed@example.com", "", "");
    let callback = dev_sign_in(&dev.issuer, &browser, start.url.as_str(), &refs(&fields)).await;
    let tokens = flow::exchange(
        &client,
        callback.code.as_deref().unwrap(),
        start.pkce_verifier,
    )
    .await;
    use openidconnect::OAuth2TokenResponse;
    assert_eq!(tokens.expires_in().map(|d| d.as_secs()), Some(30));
    let (id_token, _) = flow::validate_id_token(&client, &tokens, Some(&start.nonce));
    let payload = flow::jwt_payload(&id_token.to_string());
    assert_eq!(
        payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(),
        300
    );
}
