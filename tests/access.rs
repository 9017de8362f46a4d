//! Who may sign in, end to end: the sign-up policy through the real pages, groups and custom
//! claims as the `openidconnect` crate validates them, apps restricted to groups, disabled
//! users, and users and groups declared in `sesame.toml` across restarts.
//!
//! Real parts: `sesame serve` on 127.0.0.1, a real SMTP server (STARTTLS + AUTH) that the codes
//! are read from, the real pages, the `openidconnect` crate as the relying party. Users and
//! groups come from `SESAME_USER` / `SESAME_GROUP` (what `[[user]]` / `[[group]]` in
//! sesame.toml set) or from the CLI.
//!
//! Run: `cargo test --test access` (needs python3 with aiosmtpd).

mod support;

use openidconnect::core::CoreAuthPrompt;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use std::time::Duration;
use support::flow::{self, Metadata, OidcClient};
use support::http::HttpClient;
use support::{AppCreds, Sesame, SesameOpts};

const SCOPES: &[&str] = &["profile", "email", "groups", "offline_access"];

/// A sesame with the given `SESAME_*` settings and one confidential app.
struct World {
    sesame: Sesame,
    meta: Metadata,
    app: AppCreds,
    client: OidcClient,
}

async fn world(env: &[(&str, &str)], app_flags: &[&str]) -> World {
    let opts = SesameOpts {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..SesameOpts::default()
    };
    let sesame = Sesame::start(opts);
    let app = create_app(&sesame, "Grafana", app_flags);
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    World {
        sesame,
        meta,
        app,
        client,
    }
}

/// `sesame app create` with extra flags (e.g. `--allowed-group family`).
fn create_app(sesame: &Sesame, name: &str, flags: &[&str]) -> AppCreds {
    let redirect = format!("http://127.0.0.1:9/{}/callback", support::slug(name));
    let mut args = vec!["app", "create", "--name", name, "--redirect-uri", &redirect];
    args.extend(flags);
    args.push("--json");
    let json = cli_ok(sesame, &args);
    AppCreds {
        client_id: json["client_id"].as_str().unwrap().to_string(),
        client_secret: json["client_secret"].as_str().map(str::to_string),
        redirect_uri: redirect.clone(),
        json,
    }
}

/// Runs the CLI, panics unless it succeeds, and returns its JSON output.
fn cli_ok(sesame: &Sesame, args: &[&str]) -> serde_json::Value {
    let out = sesame.cli(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "`sesame {}` failed:\n{stdout}\n{stderr}",
        args.join(" ")
    );
    serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null)
}

/// Enters `email` on the email page of a new sign-in and returns the code page. The page is the
/// same whether or not sesame sends a code.
async fn code_page_for(w: &World, browser: &HttpClient, email: &str) -> support::http::Response {
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, browser, start.url.as_str()).await;
    flow::submit_email(&w.sesame, browser, &page, email).await
}

/// No mail arrives for a while (a refused address must get none).
async fn assert_no_mail(sesame: &Sesame) {
    tokio::time::sleep(Duration::from_millis(700)).await;
    if let Some(mail) = sesame.smtp.try_next_message() {
        panic!("a mail was sent to {:?}; none should be", mail.rcpt_tos);
    }
}

/// The whole sign-in with the app's client; returns the validated tokens and ID token claims.
async fn sign_in(w: &World, browser: &HttpClient, email: &str) -> flow::SignedIn {
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let callback = flow::sign_in(&w.sesame, browser, start.url.as_str(), email).await;
    let code = callback.expect_code(&w.sesame, &w.app, Some(start.state.secret()));
    let tokens = flow::exchange(&w.client, &code, start.pkce_verifier).await;
    let (id_token, claims) = flow::validate_id_token(&w.client, &tokens, Some(&start.nonce));
    flow::SignedIn {
        tokens,
        id_token,
        claims,
        callback,
    }
}

fn payload(signed_in: &flow::SignedIn) -> serde_json::Value {
    flow::jwt_payload(&signed_in.id_token.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn invite_mode_signs_in_known_users_and_sends_strangers_nothing() {
    let w = world(
        &[
            ("SESAME_SIGN_UP_MODE", "invite"),
            ("SESAME_USER", r#"[{"email": "ada@example.com"}]"#),
        ],
        &[],
    )
    .await;
    // A stranger sees the code page as anyone would, gets no mail, and no code works.
    let stranger = HttpClient::new();
    let page = code_page_for(&w, &stranger, "stranger@example.com").await;
    assert!(
        page.body.contains("stranger@example.com"),
        "{}",
        page.describe()
    );
    assert_no_mail(&w.sesame).await;
    let answer = flow::submit_code(&stranger, &page, "123456").await;
    // Refused forms redirect to their page (Post/Redirect/Get), which says why.
    assert_eq!(answer.status, 303, "{}", answer.describe());
    let answer = stranger.follow_within(answer, &w.sesame.issuer).await;
    assert!(answer.body.contains("not right"), "{}", answer.describe());
    assert!(w.sesame.logs().contains("sign-in refused"));

    // A user who was added signs in as before.
    let ada = HttpClient::new();
    let signed_in = sign_in(&w, &ada, "ADA@example.com").await;
    assert_eq!(
        payload(&signed_in)["email"],
        "ada@example.com",
        "the stored address, whatever the case typed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn domains_mode_admits_new_addresses_only_at_its_domains() {
    let w = world(
        &[
            ("SESAME_SIGN_UP_MODE", "domains"),
            ("SESAME_SIGN_UP_ALLOWED_DOMAINS", r#"["family.example"]"#),
        ],
        &[],
    )
    .await;
    let kid = HttpClient::new();
    let signed_in = sign_in(&w, &kid, "kid@family.example").await;
    assert_eq!(payload(&signed_in)["email"], "kid@family.example");

    let other = HttpClient::new();
    code_page_for(&w, &other, "someone@elsewhere.example").await;
    assert_no_mail(&w.sesame).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn open_mode_lets_anyone_sign_up() {
    let w = world(&[("SESAME_SIGN_UP_MODE", "open")], &[]).await;
    let browser = HttpClient::new();
    let signed_in = sign_in(&w, &browser, "new@anywhere.example").await;
    assert_eq!(payload(&signed_in)["email"], "new@anywhere.example");
}

#[tokio::test(flavor = "multi_thread")]
async fn quoted_and_hidden_character_addresses_are_refused_on_the_page() {
    let w = world(&[], &[]).await;
    let browser = HttpClient::new();
    let start = flow::authorize(&w.client, SCOPES, true, None);
    for (typed, says) in [
        ("\"victim\"@example.com", "quotes"),
        ("vic\u{202E}tim@example.com", "invisible"),
    ] {
        let page = flow::open_email_page(&w.sesame, &browser, start.url.as_str()).await;
        let answer = flow::submit_form(&browser, &page, "email", &[("email", typed)], None).await;
        assert_eq!(answer.status, 303, "{}", answer.describe());
        let answer = browser.follow_within(answer, &w.sesame.issuer).await;
        flow::assert_email_page(&answer);
        assert!(
            answer.body.contains(says),
            "{typed:?}: {}",
            answer.describe()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_and_custom_claims_reach_the_id_token_and_userinfo() {
    let w = world(
        &[
            ("SESAME_SIGN_UP_MODE", "invite"),
            (
                "SESAME_GROUP",
                r#"[{"name": "family", "description": "Family", "claims": {"quota": 10, "role": "member"}}]"#,
            ),
            (
                "SESAME_USER",
                r#"[{"email": "kid@example.com", "name": "Kid", "username": "kid",
                     "groups": ["family"], "claims": {"role": "owner", "is_admin": false}}]"#,
            ),
        ],
        &[],
    )
    .await;
    let browser = HttpClient::new();
    let signed_in = sign_in(&w, &browser, "kid@example.com").await;
    let claims = payload(&signed_in);
    assert_eq!(claims["groups"], serde_json::json!(["family"]));
    assert_eq!(claims["preferred_username"], "kid");
    assert_eq!(claims["name"], "Kid");
    assert_eq!(claims["quota"], 10, "the group's claim");
    assert_eq!(
        claims["role"], "owner",
        "the user's claim wins over the group's"
    );
    assert_eq!(claims["is_admin"], false);
    // openidconnect read the standard claims too.
    assert_eq!(
        signed_in
            .claims
            .preferred_username()
            .map(|u| u.as_str().to_string()),
        Some("kid".to_string())
    );

    let info = flow::userinfo_raw(&w.sesame, signed_in.tokens.access_token().secret()).await;
    assert_eq!(info.status, 200, "{}", info.describe());
    let info = info.json();
    assert_eq!(info["groups"], serde_json::json!(["family"]));
    assert_eq!(info["quota"], 10);
    assert_eq!(info["preferred_username"], "kid");

    // Without the groups scope, no groups claim.
    let start = flow::authorize(&w.client, &["email"], true, None);
    let callback = flow::sso(&w.sesame, &browser, start.url.as_str()).await;
    let code = callback.expect_code(&w.sesame, &w.app, Some(start.state.secret()));
    let tokens = flow::exchange(&w.client, &code, start.pkce_verifier).await;
    let id_token = tokens.id_token().expect("ID token").to_string();
    assert!(flow::jwt_payload(&id_token).get("groups").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_restricted_to_a_group_turns_away_everyone_else() {
    let w = world(
        &[
            ("SESAME_GROUP", r#"[{"name": "family"}]"#),
            (
                "SESAME_USER",
                r#"[{"email": "kid@example.com", "groups": ["family"]},
                    {"email": "guest@example.com"}]"#,
            ),
        ],
        &["--allowed-group", "family"],
    )
    .await;
    assert_eq!(w.app.json["allowed_groups"], serde_json::json!(["family"]));

    // The guest signs in interactively and is told, with a way to switch account.
    let guest = HttpClient::new();
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &guest, start.url.as_str()).await;
    let code_page = flow::submit_email(&w.sesame, &guest, &page, "guest@example.com").await;
    let code = w.sesame.next_code_for("guest@example.com").await;
    let answer = flow::submit_code(&guest, &code_page, &code).await;
    assert_eq!(answer.status, 403, "{}", answer.describe());
    assert!(
        answer.body.contains("can&#39;t use Grafana"),
        "{}",
        answer.describe()
    );
    assert!(answer.body.contains("Use another account"));
    assert!(
        answer.header("location").is_none(),
        "no code goes to the app"
    );

    // With its session, prompt=none gets access_denied at the redirect URI; interactive
    // requests get the page again.
    let start = flow::authorize(&w.client, SCOPES, true, Some(CoreAuthPrompt::None));
    let callback = flow::sso(&w.sesame, &guest, start.url.as_str()).await;
    assert_eq!(callback.error.as_deref(), Some("access_denied"));
    assert!(callback.code.is_none());
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let again = guest.get(start.url.as_str()).await;
    assert_eq!(again.status, 403, "{}", again.describe());

    // "Use another account" leads to the email page of the same request: the member gets in.
    let switch = support::html::tags(&again.body, "a")
        .into_iter()
        .find(|a| a.contains("sign-in?interaction="))
        .and_then(|a| support::html::attr(&a, "href"))
        .expect("a link to sign in with another account");
    let page = guest
        .get_following(again.url.join(&switch).unwrap().as_ref(), &w.sesame.issuer)
        .await;
    flow::assert_email_page(&page);
    let code_page = flow::submit_email(&w.sesame, &guest, &page, "kid@example.com").await;
    let code = w.sesame.next_code_for("kid@example.com").await;
    let answer = flow::submit_code(&guest, &code_page, &code).await;
    let answer = guest.follow_within(answer, &w.sesame.issuer).await;
    let callback = flow::callback(&answer.expect_redirect());
    assert!(callback.code.is_some(), "the member gets a code");
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_a_user_ends_their_sessions_and_refresh_tokens_at_once() {
    let w = world(&[("SESAME_USER", r#"[{"email": "ada@example.com"}]"#)], &[]).await;
    // Not declared users only: the CLI may change them. Add one.
    cli_ok(&w.sesame, &["user", "add", "bob@example.com", "--json"]);
    let browser = HttpClient::new();
    let signed_in = sign_in(&w, &browser, "bob@example.com").await;
    let refresh = signed_in
        .tokens
        .refresh_token()
        .expect("refresh token")
        .clone();
    let first = flow::refresh(&w.client, &refresh).await.expect("refresh");
    let next = first
        .refresh_token()
        .expect("a rotated refresh token")
        .clone();
    assert!(flow::refresh(&w.client, &next).await.is_ok());
    // (Each refresh rotated it, and the successor was used: the first is spent for good.)
    let rotated = flow::refresh_raw(&w.sesame, &w.app, refresh.secret()).await;
    assert_eq!(rotated.status, 400, "a spent token is refused");

    let bob = HttpClient::new();
    let signed_in = sign_in(&w, &bob, "bob@example.com").await;
    let refresh = signed_in.tokens.refresh_token().unwrap().clone();
    let access = signed_in.tokens.access_token().clone();
    cli_ok(&w.sesame, &["user", "disable", "bob@example.com", "--json"]);

    let answer = flow::refresh_raw(&w.sesame, &w.app, refresh.secret()).await;
    flow::assert_oauth_error(&answer, 400, "invalid_grant");
    let info = flow::userinfo_raw(&w.sesame, access.secret()).await;
    assert_eq!(info.status, 401, "{}", info.describe());
    // The session is gone: the app's next request shows the sign-in page, not a code.
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = bob
        .get_following(start.url.as_str(), &w.sesame.issuer)
        .await;
    flow::assert_email_page(&page);
    // Signing in again: a clear page, and no code is sent.
    let answer =
        flow::submit_form(&bob, &page, "email", &[("email", "bob@example.com")], None).await;
    assert_eq!(answer.status, 403, "{}", answer.describe());
    assert!(answer.body.contains("disabled"), "{}", answer.describe());
    assert_no_mail(&w.sesame).await;

    // Enabled again, Bob signs in.
    cli_ok(&w.sesame, &["user", "enable", "bob@example.com", "--json"]);
    sign_in(&w, &HttpClient::new(), "bob@example.com").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_users_and_groups_reconcile_across_restarts() {
    let users =
        r#"[{"email": "me@example.com", "username": "me", "groups": ["admins", "family"]}]"#;
    let groups = r#"[{"name": "family"}]"#;
    let mut w = world(&[("SESAME_USER", users), ("SESAME_GROUP", groups)], &[]).await;
    let browser = HttpClient::new();
    let first = sign_in(&w, &browser, "me@example.com").await;
    let sub = first.sub();
    assert_eq!(
        payload(&first)["groups"],
        serde_json::json!(["admins", "family"])
    );
    // The CLI refuses to change a declared user (the next start would undo it).
    for args in [
        &["user", "update", "me@example.com", "--name", "Other"][..],
        &["user", "disable", "me@example.com"][..],
        &["user", "delete", "me@example.com"][..],
    ] {
        let out = w.sesame.cli(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("sesame.toml"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A restart with the same declarations keeps the sub and the session.
    w.sesame.restart();
    let again = sign_in(&w, &HttpClient::new(), "me@example.com").await;
    assert_eq!(again.sub(), sub);

    // Dropped from the file: kept, as an ordinary user.
    w.sesame.stop();
    w.sesame.set_env("SESAME_USER", "[]");
    w.sesame.start_again();
    assert!(w.sesame.logs().contains("no longer declared"));
    let shown = cli_ok(&w.sesame, &["user", "show", "me@example.com", "--json"]);
    assert_eq!(shown["id"], sub.as_str());
    assert_eq!(shown["declared"], false);
    let _ = &w.meta;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_start_with_no_users_says_how_to_add_the_first() {
    let w = world(&[("SESAME_SIGN_UP_MODE", "invite")], &[]).await;
    let logs = w.sesame.logs();
    assert!(
        logs.contains("no users yet") && logs.contains("sesame user add you@example.com --admin"),
        "{logs}"
    );
    // And once there is one, it says nothing more about it.
    cli_ok(
        &w.sesame,
        &["user", "add", "me@example.com", "--admin", "--json"],
    );
    let mut sesame = w.sesame;
    sesame.restart();
    let after = sesame.logs();
    assert_eq!(after.matches("no users yet").count(), 1, "{after}");
}
