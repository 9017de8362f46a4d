//! The console's settings pages end to end, on a real `sesame serve` with a real SMTP server:
//! the mail page's status, send test (the message arrives) and dry run (each SMTP reply with
//! its meaning, nothing sent), a connector refused per field with nothing stored; the keys
//! page's rotation (a new key in JWKS) after a confirmation. Every form refuses a missing or
//! wrong CSRF token; a non-admin gets 403.
//!
//! Run: `cargo test --test console_settings` (needs python3 with aiosmtpd).

mod support;

use base64::Engine;
use support::flow;
use support::http::{HttpClient, Response};
use support::Sesame;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// An administrator (made with the CLI) signed in to the console; returns the CSRF token.
async fn admin_console(sesame: &Sesame, browser: &HttpClient) -> String {
    let out = sesame.cli(&["user", "add", ADA, "--admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = flow::sign_in_at(sesame, browser, "/console", ADA).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    page.input_value("csrf").expect("a csrf field")
}

async fn post(
    sesame: &Sesame,
    browser: &HttpClient,
    path: &str,
    form: &[(&str, &str)],
) -> Response {
    browser.post_form(&sesame.url(path), form).await
}

fn assert_console_headers(page: &Response) {
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("cache-control"), Some("no-store"));
}

/// The key IDs JWKS lists now.
async fn jwks_kids(sesame: &Sesame, browser: &HttpClient) -> Vec<String> {
    let r = browser.get(&sesame.url("/jwks")).await;
    let jwks: serde_json::Value = serde_json::from_str(&r.body).expect("JWKS JSON");
    jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sees_mail_status_sends_a_test_and_dry_runs() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let token = admin_console(&sesame, &browser).await;
    let page = browser.get(&sesame.url("/console/mail")).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    assert_console_headers(&page);
    assert!(
        page.body
            .contains("<code id=\"mail-transport\">smtp</code>"),
        "{}",
        page.body
    );

    let to = "carol@example.com";
    let send = [("to", to), ("template", "SignIn"), ("action", "send")];
    sesame
        .assert_csrf_refused(&browser, "/console/mail/test", &send)
        .await;
    let mut form = send.to_vec();
    form.push(("csrf", &token));
    let r = post(&sesame, &browser, "/console/mail/test", &form).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(r.body.contains("Test email: done"), "{}", r.body);
    assert!(
        r.body.contains("done: the server accepted the command"),
        "{}",
        r.body
    );
    let mail = sesame.next_mail().await;
    assert_eq!(mail.rcpt_tos, vec![to.to_string()]);

    let before = sesame.smtp.message_count();
    let dry = [
        ("to", to),
        ("template", "SignIn"),
        ("action", "dry_run"),
        ("csrf", &token),
    ];
    let r = post(&sesame, &browser, "/console/mail/test", &dry).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(r.body.contains("Dry run: done"), "{}", r.body);
    for step in [
        "EHLO",
        "MAIL FROM",
        "RCPT TO:&lt;carol@example.com&gt; 250",
        "QUIT",
    ] {
        assert!(r.body.contains(step), "{step} in {}", r.body);
    }
    assert!(r.body.contains("done: the server accepted the command"));
    assert_eq!(
        sesame.smtp.message_count(),
        before,
        "a dry run sends nothing"
    );

    // A recipient that is not an address: the report says so, as an alert.
    let bad = [
        ("to", "not an address"),
        ("action", "send"),
        ("csrf", &token),
    ];
    let r = post(&sesame, &browser, "/console/mail/test", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\"") && r.body.contains("is not an email address"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connector_with_a_missing_or_wrong_field_is_refused_and_nothing_is_stored() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let token = admin_console(&sesame, &browser).await;
    let fields = [
        ("source", "form"),
        ("accessKeyId", "AKIAIOSFODNN7EXAMPLE"),
        (
            "accessKeySecret",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("region", ""),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/mail/connector", &fields)
        .await;
    sesame
        .assert_csrf_refused(&browser, "/console/mail/connector/delete", &[])
        .await;
    let mut form = fields.to_vec();
    form.push(("csrf", &token));
    let r = post(&sesame, &browser, "/console/mail/connector", &form).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("id=\"ses-region-error\""), "{}", r.body);
    assert!(
        !r.body.contains("wJalrXUtnFEMI"),
        "the secret is not shown back"
    );
    form[3] = ("region", "not a region");
    let r = post(&sesame, &browser, "/console/mail/connector", &form).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("id=\"ses-region-error\"") && r.body.contains("is not an AWS region"));
    let pasted = [
        ("source", "json"),
        ("json", "{\"region\": "),
        ("csrf", &token),
    ];
    let r = post(&sesame, &browser, "/console/mail/connector", &pasted).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("not JSON"), "{}", r.body);
    let out = sesame.cli(&["connector", "show", "ses", "--json"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("\"stored\": false") || shown.contains("\"stored\":false"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_rotates_a_signing_key_after_confirming_and_jwks_has_it() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let token = admin_console(&sesame, &browser).await;
    let page = browser.get(&sesame.url("/console/keys")).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    assert_console_headers(&page);
    for alg in ["ES256", "ES384", "RS256"] {
        assert!(
            page.body.contains(&format!("<h2 id=\"alg-{alg}\">")),
            "{alg}"
        );
    }
    assert!(page.body.contains("<strong>active</strong>"));
    let confirm = browser
        .get(&sesame.url("/console/keys/rotate?alg=ES256"))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.describe());
    assert!(confirm.body.contains("Rotate the ES256 key?"));

    let before = jwks_kids(&sesame, &browser).await;
    sesame
        .assert_csrf_refused(&browser, "/console/keys/rotate", &[("alg", "ES256")])
        .await;
    assert_eq!(
        jwks_kids(&sesame, &browser).await,
        before,
        "nothing rotated"
    );
    let r = post(
        &sesame,
        &browser,
        "/console/keys/rotate",
        &[("alg", "HS256"), ("csrf", &token)],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.describe());
    let r = post(
        &sesame,
        &browser,
        "/console/keys/rotate",
        &[("alg", "ES256"), ("csrf", &token)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        list.body.contains("A new signing key is active"),
        "{}",
        list.describe()
    );
    assert!(list.body.contains("retired"));
    let after = jwks_kids(&sesame, &browser).await;
    assert_eq!(after.len(), before.len() + 1, "{before:?} -> {after:?}");
    assert!(
        before.iter().all(|k| after.contains(k)),
        "the old key stays in JWKS"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_admin_is_refused_the_settings_pages() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let page = flow::sign_in_at(&sesame, &browser, "/console", BOB).await;
    assert_eq!(page.status, 403, "{}", page.describe());
    for path in ["/console/mail", "/console/keys"] {
        let r = browser.get(&sesame.url(path)).await;
        assert_eq!(r.status, 403, "{path}: {}", r.describe());
    }
    let r = post(
        &sesame,
        &browser,
        "/console/keys/rotate",
        &[("alg", "ES256")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.describe());
}

/// The experience form's fields as the page shows them (hidden and text inputs, selects'
/// chosen options, textareas), so a test changes some and posts the rest unchanged.
fn experience_form(page: &Response) -> Vec<(String, String)> {
    let mut fields = support::html::forms(&page.body)
        .into_iter()
        .find(|f| {
            f.action
                .as_deref()
                .is_some_and(|a| a.ends_with("/console/experience"))
        })
        .unwrap_or_else(|| panic!("no experience form: {}", page.describe()))
        .fields;
    // The support parser reads inputs only: add the textareas and the select's choice.
    let mut rest = page.body.as_str();
    while let Some(at) = rest.find("<textarea ") {
        rest = &rest[at..];
        let name = attr(rest, "name").unwrap_or_default();
        let open_end = rest.find('>').expect("textarea tag") + 1;
        let close = rest.find("</textarea>").expect("textarea end");
        fields.push((name, unescape(&rest[open_end..close])));
        rest = &rest[close..];
    }
    let select = page
        .body
        .find("<select id=\"sign_up_mode\"")
        .expect("the mode select");
    let chosen = &page.body[select..];
    let chosen = &chosen[..chosen.find(" selected").expect("a chosen mode")];
    let value = &chosen[chosen.rfind("value=\"").expect("option value") + 7..];
    fields.push((
        "sign_up_mode".into(),
        value.trim_end_matches('"').to_string(),
    ));
    fields
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let tag = &tag[..tag.find('>')?];
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_string())
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

fn with(form: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = form
        .iter()
        .filter(|(n, _)| !changes.iter().any(|(c, _)| c == n))
        .cloned()
        .collect();
    out.extend(changes.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    out
}

async fn post_owned(
    sesame: &Sesame,
    browser: &HttpClient,
    path: &str,
    form: &[(String, String)],
) -> Response {
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    post(sesame, browser, path, &form).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_branding_change_is_previewed_then_saved_and_the_sign_in_page_and_email_follow_it() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    admin_console(&sesame, &browser).await;
    let page = browser.get(&sesame.url("/console/experience")).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(page.body.contains("experience.js") && !page.body.contains("<script>"));
    assert!(page.body.contains("from sesame.toml"));
    let form = experience_form(&page);
    let fields: Vec<&str> = form.iter().map(|(n, _)| n.as_str()).collect();
    for f in [
        "csrf",
        "product_name",
        "accent_color",
        "logo_url",
        "sign_up_mode",
        "allowed_domains",
        "subject_SignIn",
        "content_SignIn",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let js = browser.get(&sesame.url("/static/experience.js")).await;
    assert_eq!(js.status, 200);
    assert!(js
        .header("content-type")
        .unwrap_or("")
        .contains("javascript"));

    let draft = with(
        &form,
        &[
            ("product_name", "Family Cloud"),
            ("accent_color", "#0a7d32"),
            ("subject_SignIn", "Your {{product}} code for {{app}}"),
        ],
    );
    // The preview (button and endpoint) renders the draft and stores nothing.
    let preview = post_owned(
        &sesame,
        &browser,
        "/console/experience",
        &with(&draft, &[("action", "preview")]),
    )
    .await;
    assert_eq!(preview.status, 200, "{}", preview.describe());
    assert!(
        preview
            .body
            .contains("<span id=\"preview-product\">Family Cloud</span>"),
        "{}",
        preview.body
    );
    assert!(preview
        .body
        .contains("<code id=\"preview-accent\">#0a7d32</code>"));
    assert!(preview
        .body
        .contains("Your Family Cloud code for Example app"));
    // The sign-in page itself, in the draft: the real email step's form (which cannot be sent
    // from here), its heading with the draft name, in the draft accent through its own sheet.
    let card = &preview.body[preview
        .body
        .find("id=\"preview-sign-in\"")
        .expect("the card")..];
    assert!(card.contains("<h4>Sign in to Family Cloud</h4>"), "{card}");
    assert!(
        card.contains("<label for=\"email\">Email address</label>"),
        "{card}"
    );
    assert!(card.contains("type=\"email\" name=\"email\""), "{card}");
    assert!(
        card.contains("<button type=\"submit\" disabled>Send code</button>"),
        "{card}"
    );
    assert!(!card[..card.find("</form>").unwrap()].contains("name=\"csrf\""));
    let sheet = "/console/experience/preview.css?accent=%230a7d32";
    assert!(
        preview
            .body
            .contains(&format!("href=\"{}\"", sesame.url(sheet)))
            || preview.body.contains(sheet),
        "{}",
        preview.body
    );
    let css = browser.get(&sesame.url(sheet)).await;
    assert_eq!(css.status, 200, "{}", css.describe());
    assert!(css
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/css"));
    assert!(
        css.body.starts_with(".sign-in-preview{--accent:#0a7d32;"),
        "{}",
        css.body
    );
    let bad = browser
        .get(&sesame.url("/console/experience/preview.css?accent=red"))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.describe());
    // Each email as the recipient sees it: its HTML part, rendered as a send renders it, in a
    // sandboxed frame of a `data:` document, which the page's CSP frames and nothing else.
    let csp = preview.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("frame-src data:;"), "{csp}");
    let at = preview.body.find("sandbox=\"\" title=\"SignIn email as HTML\" src=\"data:text/html;charset=utf-8;base64,").expect("the SignIn email frame");
    let src = &preview.body[at..];
    let b64 = &src[src.find("base64,").unwrap() + 7..src.find("\"></iframe>").unwrap()];
    let html = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap();
    assert!(
        html.contains("<body") && html.contains("123456") && html.contains("Family Cloud"),
        "{html}"
    );
    let fragment = post_owned(&sesame, &browser, "/console/experience/preview", &draft).await;
    assert_eq!(fragment.status, 200, "{}", fragment.describe());
    assert!(fragment.body.contains("Family Cloud") && !fragment.body.contains("<html"));
    let out = sesame.cli(&["audit", "--json"]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("experience.set"),
        "a preview saves nothing"
    );
    let signin = HttpClient::new()
        .get_following(&sesame.url("/console"), &sesame.issuer)
        .await;
    assert!(!signin.body.contains("Family Cloud"), "not saved yet");

    let r = post_owned(
        &sesame,
        &browser,
        "/console/experience",
        &with(&draft, &[("action", "save")]),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let saved = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        saved.body.contains("The sign-in experience is saved"),
        "{}",
        saved.describe()
    );
    assert!(saved.body.contains("set here") && saved.body.contains("Reset to file"));

    // The real sign-in page, in a new browser: the new name, the new accent in theme.css.
    let other = HttpClient::new();
    let signin = other
        .get_following(&sesame.url("/console"), &sesame.issuer)
        .await;
    assert!(
        signin.body.contains("Family Cloud"),
        "{}",
        signin.describe()
    );
    let theme = other.get(&sesame.url("/static/theme.css")).await;
    assert!(theme.body.contains("#0a7d32"), "{}", theme.body);
    // The code email takes the new subject.
    flow::submit_email(&sesame, &other, &signin, ADA).await;
    let mail = sesame.next_mail().await;
    let subject = mail.subject().unwrap_or_default();
    assert!(
        subject.starts_with("Your Family Cloud code for"),
        "{subject}"
    );
    let out = sesame.cli(&["audit", "--kind", "experience.set", "--json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Family Cloud"));

    // Reset: back to the file's values.
    let page = browser.get(&sesame.url("/console/experience")).await;
    let token = page.input_value("csrf").expect("csrf");
    sesame
        .assert_csrf_refused(&browser, "/console/experience/reset", &[])
        .await;
    let r = post(
        &sesame,
        &browser,
        "/console/experience/reset",
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let signin = HttpClient::new()
        .get_following(&sesame.url("/console"), &sesame.issuer)
        .await;
    assert!(
        !signin.body.contains("Family Cloud"),
        "{}",
        signin.describe()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_experience_values_are_refused_per_field_and_nothing_is_saved() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    admin_console(&sesame, &browser).await;
    let page = browser.get(&sesame.url("/console/experience")).await;
    let form = experience_form(&page);
    let bad = with(
        &form,
        &[
            ("action", "save"),
            ("product_name", "Renamed"),
            ("accent_color", "green"),
            ("logo_url", "http://cdn.example/logo.png"),
            ("sign_up_mode", "domains"),
            ("allowed_domains", ""),
            ("content_SignIn", "Hello {{nope}}"),
        ],
    );
    let r = post_owned(&sesame, &browser, "/console/experience", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    for id in [
        "accent_color-error",
        "logo_url-error",
        "allowed_domains-error",
        "content_SignIn-error",
    ] {
        assert!(
            r.body.contains(&format!("id=\"{id}\"")),
            "{id} in {}",
            r.body
        );
    }
    assert!(r.body.contains("role=\"alert\"") && r.body.contains("plain http"));
    assert!(
        r.body.contains("value=\"Renamed\""),
        "the typed values are kept"
    );
    let signin = HttpClient::new()
        .get_following(&sesame.url("/console"), &sesame.issuer)
        .await;
    assert!(!signin.body.contains("Renamed"), "nothing saved");
    let out = sesame.cli(&["audit", "--json"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("experience.set"));

    // The forms refuse a missing or wrong CSRF token.
    let no_csrf: Vec<(String, String)> =
        with(&form, &[("action", "save"), ("product_name", "Sneaky")])
            .into_iter()
            .filter(|(n, _)| n != "csrf")
            .collect();
    let r = post_owned(&sesame, &browser, "/console/experience", &no_csrf).await;
    assert_eq!(r.status, 403);
    let r = post_owned(&sesame, &browser, "/console/experience/preview", &no_csrf).await;
    assert_eq!(r.status, 403);
    let wrong = with(&no_csrf, &[("csrf", "wrong")]);
    let r = post_owned(&sesame, &browser, "/console/experience", &wrong).await;
    assert_eq!(r.status, 403);
}
