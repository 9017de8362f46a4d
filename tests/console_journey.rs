//! Issue 8's "Done when", end to end, at phone size and without the CLI: a homelab owner opens
//! the first-run setup link and becomes admin; in the console they create the app "Immich" and
//! paste its settings into a relying party (the `openidconnect` crate) that signs in through
//! the browser; add a family member, make a `family` group and restrict Immich to it (a user
//! outside the group is refused with the "can't use" page); change the accent colour and product
//! name (seen in the preview before saving, then on the real sign-in page); send a test email
//! (the test SMTP server receives it, the page shows the SMTP replies); and read it all back
//! in the console's audit log.
//!
//! Everything runs for real: `sesame serve` on 127.0.0.1, the test SMTP server (aiosmtpd,
//! STARTTLS + AUTH), headless Chromium through chromedriver with the DevTools protocol's
//! device metrics set to a 390×844 phone, and an app callback server on 127.0.0.1.
//!
//! The audit log is read on the console's own page (`/console/audit`): no CLI call at all.
//!
//! Screenshots of every step go to `$SESAME_ARTEFACTS/journey/NN-step.png`, by default
//! `target/artefacts/journey/` (never the source tree).
//!
//! Run: `cargo test --test console_journey` (needs chromium + chromium-driver, python3 with
//! aiosmtpd; `.ci/run` installs them).

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use openidconnect::core::CoreAuthPrompt;
use serde_json::{json, Value};
use support::flow;
use support::webdriver::{Browser, CallbackServer, ChromeDriver};
use support::{AppCreds, Sesame, SesameOpts};

const OWNER: &str = "owner@home.example";
const FAMILY: &str = "mia@home.example";
const GUEST: &str = "guest@home.example";
const TEST_TO: &str = "postmaster@home.example";
const ACCENT: &str = "#0b7a3e";
const PRODUCT: &str = "Home Sign-in";

#[tokio::test(flavor = "multi_thread")]
async fn a_homelab_owner_sets_everything_up_from_a_phone() {
    let sesame = Sesame::start(SesameOpts {
        env: vec![("SESAME_SIGN_UP_MODE".into(), "invite".into())],
        ..Default::default()
    });
    let driver = ChromeDriver::start();
    let shots = Shots::new();
    let owner = phone(&driver).await;

    // 1. The setup link from the log makes the owner the first admin.
    let link = setup_link(&sesame).unwrap_or_else(|| panic!("no setup link:\n{}", sesame.logs()));
    owner.goto(&link).await;
    shots.take(&owner, "setup-email").await;
    enter_email_and_code(&sesame, &owner, OWNER, &shots, "setup-code").await;
    // The new administrator lands in the console.
    owner
        .wait_for_url("the console", |u| u.contains("/console"))
        .await;
    click(&owner, "nav.console-nav a[href$='/console/apps']").await;
    wait_for_text(&owner, "Create an app").await;
    shots.take(&owner, "console-apps").await;

    // 2. Apps: create Immich, read its settings, sign in with them.
    let immich_cb = CallbackServer::start().await;
    let redirect = immich_cb.url("/auth/callback");
    type_into(&owner, "#app-name", "Immich").await;
    let traditional = owner.find("input[name=type][value=traditional]").await;
    owner.click(&traditional).await;
    type_into(&owner, "#redirect-uris", &redirect).await;
    click(
        &owner,
        "form[method=post][action$='/apps'] button[type=submit]",
    )
    .await;
    let secret = text_of(&owner, "#client-secret").await;
    let client_id = text_of(&owner, "#client-id").await;
    let issuer = pasted_setting(&owner, "oidc_issuer_url").await;
    assert_eq!(issuer, sesame.issuer, "the issuer shown to paste");
    assert_eq!(pasted_setting(&owner, "client_id").await, client_id);
    assert_eq!(pasted_setting(&owner, "client_secret").await, secret);
    shots.take(&owner, "app-created").await;
    let immich = AppCreds {
        client_id,
        client_secret: Some(secret),
        redirect_uri: redirect.clone(),
        json: Value::Null,
    };
    // The owner signs in to Immich in the same browser (single sign-on: no pages).
    let owner_sub = sign_in_to_app(&sesame, &owner, &immich, &immich_cb, &issuer, None).await;
    assert!(!owner_sub.is_empty());

    // 3. Users: add the family member and a guest.
    owner.goto(&sesame.url("/console/users")).await;
    for (email, name) in [(FAMILY, "Mia Family"), (GUEST, "Gus Guest")] {
        type_into(&owner, "#email", email).await;
        type_into(&owner, "#name", name).await;
        click(
            &owner,
            "form[method=post][action$='/users'] button[type=submit]",
        )
        .await;
        wait_for_text(&owner, email).await;
        owner.goto(&sesame.url("/console/users")).await;
        wait_for_text(&owner, email).await;
    }
    shots.take(&owner, "users-added").await;

    // Groups: create `family`, add Mia, restrict Immich to it.
    owner.goto(&sesame.url("/console/groups")).await;
    type_into(&owner, "#group-name", "family").await;
    type_into(&owner, "#group-description", "The household").await;
    click(
        &owner,
        "form[method=post][action$='/groups'] button[type=submit]",
    )
    .await;
    // The group's page, once the form's answer has come (the list page itself may already
    // say "family": going on before would race the POST).
    owner
        .wait_for_url("the new group's page", |u| u.contains("/groups/show"))
        .await;
    wait_for_text(&owner, "family").await;
    type_into(&owner, "#member-email", FAMILY).await;
    click(&owner, "form[action$='/groups/members/add'] button").await;
    owner
        .find(&format!("button[aria-label='Remove {FAMILY} from family']"))
        .await;
    click(&owner, "button[aria-label='Restrict to family: Immich']").await;
    owner
        .find("button[aria-label='Stop allowing family in Immich']")
        .await;
    shots.take(&owner, "group-family").await;

    // Mia (in family) signs in to Immich on her own phone; the guest is refused.
    let mia = phone(&driver).await;
    let mia_sub = sign_in_to_app(&sesame, &mia, &immich, &immich_cb, &issuer, Some(FAMILY)).await;
    assert_ne!(mia_sub, owner_sub);
    shots.take(&mia, "family-signed-in").await;
    mia.quit().await;
    let guest = phone(&driver).await;
    let start = flow::authorize(
        &relying_party(&issuer, &immich).await,
        &["email"],
        true,
        None,
    );
    guest.goto(start.url.as_str()).await;
    enter_email_and_code(&sesame, &guest, GUEST, &shots, "guest-code").await;
    wait_for_text(&guest, "can't use Immich").await;
    assert!(
        !immich_cb
            .requests()
            .iter()
            .any(|r| r.contains(start.state.secret())),
        "the guest's sign-in reached the app: {:?}",
        immich_cb.requests()
    );
    shots.take(&guest, "guest-refused").await;
    guest.quit().await;

    // 4. Sign-in experience: the preview shows the new accent and name before saving.
    owner.goto(&sesame.url("/console/experience")).await;
    replace_value(&owner, "#product_name", PRODUCT).await;
    replace_value(&owner, "#accent_color", ACCENT).await;
    click(&owner, "button[name=action][value=preview]").await;
    wait_for_text(
        &owner,
        &format!("<code id=\"preview-accent\">{ACCENT}</code>"),
    )
    .await;
    wait_for_text(
        &owner,
        &format!("<span id=\"preview-product\">{PRODUCT}</span>"),
    )
    .await;
    shots.take(&owner, "experience-preview").await;
    let before = HttpPage::get(&sesame.url("/static/theme.css")).await;
    assert!(!before.contains(ACCENT), "saved before Save: {before}");
    replace_value(&owner, "#product_name", PRODUCT).await;
    replace_value(&owner, "#accent_color", ACCENT).await;
    click(&owner, "button[name=action][value=save]").await;
    wait_for_text(&owner, "set here").await;
    shots.take(&owner, "experience-saved").await;
    // The real sign-in page, in a fresh phone browser.
    let visitor = phone(&driver).await;
    let start = flow::authorize(
        &relying_party(&issuer, &immich).await,
        &["email"],
        true,
        Some(CoreAuthPrompt::Login),
    );
    visitor.goto(start.url.as_str()).await;
    let header = visitor.find("header.brand").await;
    let shown = visitor.property(&header, "textContent").await;
    assert!(
        shown.as_str().unwrap_or_default().contains(PRODUCT),
        "{shown}"
    );
    let accent = visitor
        .execute(
            "return getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();",
            json!([]),
        )
        .await;
    assert_eq!(accent.as_str(), Some(ACCENT), "the sign-in page's --accent");
    shots.take(&visitor, "sign-in-branded").await;
    visitor.quit().await;

    // 5. Mail: send a test; the SMTP server gets it and the page shows the replies.
    owner.goto(&sesame.url("/console/mail")).await;
    replace_value(&owner, "#test-to", TEST_TO).await;
    click(&owner, "button[name=action][value=send]").await;
    let report = text_of(&owner, "#test-report").await;
    let mail = sesame.next_mail().await;
    assert!(
        mail.rcpt_tos.iter().any(|r| r == TEST_TO),
        "{:?}",
        mail.rcpt_tos
    );
    assert!(report.contains("done"), "{report}");
    assert!(report.contains("250"), "the SMTP replies: {report}");
    shots.take(&owner, "mail-test-sent").await;

    // 6. Console → Audit log: each change, made by the owner through the console.
    owner.goto(&sesame.url("/console/audit")).await;
    wait_for_text(&owner, "mail.test").await;
    let log = page_text(&owner).await;
    for command in [
        "setup.first_admin",
        "app.create",
        "user.add",
        "group.add",
        "app.update",
        "experience.set",
        "mail.test",
    ] {
        assert!(
            log.contains(command),
            "no {command} in the audit log:\n{log}"
        );
    }
    assert!(
        log.contains(GUEST),
        "the guest's refusal is in the log:\n{log}"
    );
    shots.take(&owner, "audit-log").await;
    // Filtered by kind: the test email, to its address.
    replace_value(&owner, "#kind", "mail.test").await;
    click(&owner, "form[role=search] button[type=submit]").await;
    owner
        .wait_for_url("the filtered audit log", |u| u.contains("kind=mail.test"))
        .await;
    let filtered = page_text(&owner).await;
    assert!(filtered.contains(TEST_TO), "{filtered}");
    assert!(!filtered.contains("user.add"), "{filtered}");
    shots.take(&owner, "audit-mail-test").await;
    owner.quit().await;
}

/// A Chromium session with the DevTools protocol's device metrics of a 390×844 phone.
async fn phone(driver: &ChromeDriver) -> Browser {
    let browser = driver.new_session().await;
    let metrics = json!({ "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true });
    browser
        .cdp("Emulation.setDeviceMetricsOverride", metrics)
        .await;
    browser
}

/// Runs an authorization code sign-in of `app` with `openidconnect` through `browser`; when
/// `email` is given the browser fills the sign-in pages for it (else its session signs in).
/// Returns the validated ID token's `sub`.
async fn sign_in_to_app(
    sesame: &Sesame,
    browser: &Browser,
    app: &AppCreds,
    callback: &CallbackServer,
    issuer: &str,
    email: Option<&str>,
) -> String {
    let client = relying_party(issuer, app).await;
    let start = flow::authorize(&client, &["email", "profile"], true, None);
    browser.goto(start.url.as_str()).await;
    if let Some(email) = email {
        let shots = Shots::new();
        enter_email_and_code(sesame, browser, email, &shots, "family-code").await;
    }
    let landed = wait_until("the app's callback with this state", || async {
        callback
            .requests()
            .into_iter()
            .find(|r| r.contains(&format!("state={}", start.state.secret())))
    })
    .await;
    let url = url::Url::parse(&callback.url(&landed)).expect("callback URL");
    let code = flow::callback(&url).expect_code_at(issuer, app, Some(start.state.secret()));
    let tokens = flow::exchange(&client, &code, start.pkce_verifier).await;
    let (_, claims) = flow::validate_id_token(&client, &tokens, Some(&start.nonce));
    if let Some(email) = email {
        assert_eq!(
            claims.email().map(|e| e.as_str()),
            Some(email),
            "the ID token's email"
        );
    }
    claims.subject().to_string()
}

/// An `openidconnect` client from discovery at `issuer`, with the settings the console showed.
async fn relying_party(issuer: &str, app: &AppCreds) -> flow::OidcClient {
    let meta = flow::discover(issuer).await;
    flow::client(&meta, app)
}

/// Fills the email page, then the code page with the code the SMTP server received.
async fn enter_email_and_code(
    sesame: &Sesame,
    browser: &Browser,
    email: &str,
    shots: &Shots,
    shot: &str,
) {
    type_into(browser, "input[type=email][name=email]", email).await;
    click(browser, "form button[type=submit]").await;
    browser
        .wait_for_url("the code page", |u| u.contains("/sign-in/code"))
        .await;
    let code = sesame.next_code_for(email).await;
    type_into(browser, "input[name=code]", &code).await;
    shots.take(browser, shot).await;
    click(browser, "form button[type=submit]:not([name=resend])").await;
}

async fn type_into(browser: &Browser, css: &str, text: &str) {
    let element = browser.find(css).await;
    browser.send_keys(&element, text).await;
}

/// Empties a field (by script) and types `text` into it, so input events fire as for a person.
async fn replace_value(browser: &Browser, css: &str, text: &str) {
    browser
        .execute(
            "document.querySelector(arguments[0]).value = '';",
            json!([css]),
        )
        .await;
    type_into(browser, css, text).await;
}

async fn click(browser: &Browser, css: &str) {
    let element = browser.find(css).await;
    browser.click(&element).await;
}

/// The text of the element at `css` (waiting for it to appear).
async fn text_of(browser: &Browser, css: &str) -> String {
    let element = browser.find(css).await;
    let text = browser.property(&element, "textContent").await;
    text.as_str().unwrap_or_default().trim().to_string()
}

/// A value from the oauth2-proxy settings block the app page shows to paste
/// (`key = "value"`).
async fn pasted_setting(browser: &Browser, key: &str) -> String {
    let blocks = browser
        .execute(
            "return Array.from(document.querySelectorAll('pre')).map(p => p.textContent);",
            json!([]),
        )
        .await;
    let prefix = format!("{key} = \"");
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .flat_map(str::lines)
        .find_map(|l| l.strip_prefix(&prefix)?.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no {key} in the settings to paste: {blocks}"))
        .to_string()
}

/// Waits (bounded) until the page's source contains `text`.
async fn wait_for_text(browser: &Browser, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = browser.source().await;
        if page.contains(text) {
            return;
        }
        if Instant::now() > deadline {
            let shown = browser
                .execute("return document.body.innerText;", json!([]))
                .await;
            panic!(
                "the page at {} never showed {text:?}; it shows:\n{}",
                browser.current_url().await,
                shown.as_str().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `probe` (bounded) until it answers something.
async fn wait_until<T, F, Fut>(what: &str, probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "never saw {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The body of a plain GET (what a browser without a session gets).
struct HttpPage;

impl HttpPage {
    async fn get(url: &str) -> String {
        support::http::HttpClient::new().get(url).await.body
    }
}

/// The setup link sesame printed at start, if any.
fn setup_link(sesame: &Sesame) -> Option<String> {
    let logs = sesame.logs();
    let at = logs.find("/setup?token=")?;
    let start = logs[..at].rfind("http")?;
    let end = logs[at..]
        .find(|c: char| c.is_whitespace() || c == '"')
        .map_or(logs.len(), |e| at + e);
    Some(logs[start..end].to_string())
}

/// What the page shows, as text.
async fn page_text(browser: &Browser) -> String {
    let text = browser
        .execute("return document.body.innerText;", json!([]))
        .await;
    text.as_str().unwrap_or_default().to_string()
}

/// Numbered screenshots under `$SESAME_ARTEFACTS/journey`.
struct Shots {
    dir: PathBuf,
}

static SHOT_NUMBER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

impl Shots {
    fn new() -> Shots {
        let root = std::env::var_os("SESAME_ARTEFACTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
                tmp.parent().unwrap_or(&tmp).join("artefacts")
            });
        let dir = root.join("journey");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Shots { dir }
    }

    /// Saves the phone's screen as `NN-step.png`: what the person sees, not the whole page
    /// (DevTools' whole-page capture resizes the layout, and on the experience page, with its
    /// preview frames, it hung past WebDriver's 30 s in CI).
    async fn take(&self, browser: &Browser, step: &str) {
        let n = SHOT_NUMBER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let png = browser.screenshot().await;
        let path = self.dir.join(format!("{n:02}-{step}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
