//! The sign-in experience's live preview in a real browser: headless Chromium signs in to the
//! console as an administrator, opens the sign-in experience page, types a product name, and
//! the preview shows it without a click (`experience.js`, under the page's CSP, which would
//! block it if it were inline); then types an accent colour, and the preview's sign-in form
//! (the real email step's card) draws its button in it, beside each email's HTML in a
//! sandboxed frame, with no CSP violation; nothing is saved.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`, as `tests/browser.rs`.
//!
//! Run: `cargo test --test browser_experience`.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::webdriver::ChromeDriver;
use support::Sesame;

const ADA: &str = "ada@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_a_product_name_updates_the_preview_without_saving() {
    let sesame = Sesame::start_default();
    let out = sesame.cli(&["user", "add", ADA, "--admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let driver = ChromeDriver::start();
    let browser = driver.new_session().await;
    browser.goto(&sesame.url("/console/experience")).await;
    browser.sign_in_by_code(&sesame, ADA).await;
    // A sign-in for the console always ends at the console's first page.
    browser
        .wait_for_url("the console", |url| url.ends_with("/console/apps"))
        .await;
    browser.goto(&sesame.url("/console/experience")).await;

    let name = browser.find("#product_name").await;
    browser.send_keys(&name, " Cloud").await;
    // The script posts the form a moment after the last key; wait for its answer (bounded).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = browser.source().await;
        if page.contains("<span id=\"preview-product\">sesame Cloud</span>") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the preview never showed the typed name: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The preview is the sign-in form itself, and a new accent colours its button: the
    // preview's theme sheet and the email's sandboxed `data:` frame pass the page's CSP.
    browser
        .execute(
            "window.violations = [];\n\
             document.addEventListener('securitypolicyviolation', function (e) {\n\
               window.violations.push(e.violatedDirective + ' ' + e.blockedURI);\n\
             });\n\
             var a = document.getElementById('accent_color');\n\
             a.value = '#0a7d32';\n\
             a.dispatchEvent(new Event('input', { bubbles: true }));",
            json!([]),
        )
        .await;
    let probe = "var b = document.querySelector('#preview-sign-in form button[type=submit]');\n\
                 var f = document.querySelector('iframe.preview-mail-html');\n\
                 var i = document.querySelector('#preview-sign-in input[type=email]');\n\
                 return [b ? b.textContent : '', b ? getComputedStyle(b).backgroundColor : '',\n\
                         i ? 'email' : '', f ? atob(f.src.split(',')[1]) : '',\n\
                         window.violations.join('; ')];";
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = browser.execute(probe, json!([])).await;
        let seen: Vec<String> = serde_json::from_value(seen).unwrap();
        if seen[1] == "rgb(10, 125, 50)" {
            assert_eq!(seen[0], "Send code", "{seen:?}");
            assert_eq!(seen[2], "email", "{seen:?}");
            assert!(
                seen[3].contains("123456") && seen[3].contains("<body"),
                "{seen:?}"
            );
            assert_eq!(seen[4], "", "the CSP blocked part of the preview");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the preview's button never took the typed accent: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = sesame.cli(&["audit", "--json"]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("experience.set"),
        "nothing saved"
    );
    browser.quit().await;
}
