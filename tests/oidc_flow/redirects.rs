//! Redirect URIs as homelab clients use them: http on the LAN for an app registered with
//! `--allow-insecure-redirect` (Jellyfin without TLS), and a confidential app's mobile client
//! at its own scheme (Immich's `app.immich:///oauth-callback`). The redirects are never
//! followed: the tests read the `Location` sesame sends the browser to, so nothing needs to
//! listen at 192.168.1.10 or handle `app.immich:`.

use super::*;

const JELLYFIN: &str = "http://192.168.1.10:8096/cb";
const IMMICH_WEB: &str = "https://photos.example.com/auth/login";
const IMMICH_MOBILE: &str = "app.immich:///oauth-callback";

/// Waits until sesame's log contains `needle` (the log is read on another thread).
async fn wait_for_log(sesame: &Sesame, needle: &str) {
    for _ in 0..100 {
        if sesame.logs().contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("sesame never logged {needle:?}");
}

#[tokio::test]
async fn a_lan_app_allowed_insecure_redirects_completes_the_code_flow_over_http() {
    let sesame = Sesame::start_default();

    // Without the flag the CLI refuses the URI (through the running server), naming the flag.
    let refused = sesame.cli(&[
        "app",
        "create",
        "--name",
        "Jellyfin",
        "--redirect-uri",
        JELLYFIN,
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains(JELLYFIN) && stderr.contains("--allow-insecure-redirect"),
        "{stderr}"
    );

    // With it: registered, shown, and warned about by the CLI and the server's log.
    let out = sesame.cli(&[
        "app",
        "create",
        "--name",
        "Jellyfin",
        "--redirect-uri",
        JELLYFIN,
        "--allow-insecure-redirect",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["allow_insecure_redirect"], true, "{json}");
    let app = AppCreds {
        client_id: json["client_id"].as_str().expect("client_id").to_string(),
        client_secret: json["client_secret"].as_str().map(str::to_string),
        redirect_uri: JELLYFIN.to_string(),
        json,
    };
    let warning = format!(
        "app {} accepts insecure http redirect URIs on the LAN: codes travel unencrypted",
        app.client_id
    );
    assert!(stderr.contains(&warning), "{stderr}");
    wait_for_log(&sesame, &warning).await;
    let shown = sesame.cli(&["app", "show", &app.client_id]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("http on the LAN") && shown.contains("allowed"),
        "{shown}"
    );

    // The whole flow: the code comes back to the LAN URI over http, and the exchange works.
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let browser = HttpClient::new();
    let signed_in = flow::full_sign_in(&sesame, &browser, &client, &app, ADA).await;
    let callback = signed_in.callback.url.as_str();
    assert!(
        callback.starts_with(&format!("{JELLYFIN}?")),
        "the code went to {callback}"
    );
    assert_eq!(signed_in.claims.audiences()[0].as_str(), app.client_id);
    assert_eq!(
        signed_in.claims.email().map(|e| e.as_str()),
        Some(ADA),
        "the ID token is for the person who signed in"
    );
}

#[tokio::test]
async fn a_confidential_apps_mobile_client_gets_its_code_at_its_own_scheme() {
    let sesame = Sesame::start_default();
    let app = sesame.create_app(&AppSpec::new("Immich", IMMICH_MOBILE).redirect(IMMICH_WEB));
    let secret = app
        .client_secret
        .clone()
        .expect("a traditional app has a secret");
    assert_eq!(app.json["type"], "traditional");
    assert_eq!(
        app.json["redirect_uris"],
        serde_json::json!([IMMICH_MOBILE, IMMICH_WEB])
    );

    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let browser = HttpClient::new();
    let start = flow::authorize(&client, SCOPES, true, None);
    let callback = flow::sign_in(&sesame, &browser, start.url.as_str(), ADA).await;
    assert!(
        callback
            .url
            .as_str()
            .starts_with(&format!("{IMMICH_MOBILE}?")),
        "the code went to {}",
        callback.url
    );
    let code = callback.expect_code(&sesame, &app, Some(start.state.secret()));

    // The code alone is not enough: without the secret the token endpoint refuses the client.
    let verifier = start.pkce_verifier.expect("PKCE was used");
    let anonymous = flow::token_form(
        &sesame,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", IMMICH_MOBILE),
            ("client_id", &app.client_id),
            ("code_verifier", verifier.secret()),
        ],
        None,
    )
    .await;
    flow::assert_oauth_error(&anonymous, 401, "invalid_client");

    // With it (client_secret_basic, through openidconnect) the exchange succeeds.
    assert!(!secret.is_empty());
    let tokens = flow::exchange(&client, &code, Some(verifier)).await;
    let (_, claims) = flow::validate_id_token(&client, &tokens, Some(&start.nonce));
    assert_eq!(claims.audiences()[0].as_str(), app.client_id);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(ADA));
}
