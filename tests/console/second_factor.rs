//! The second-factor control on the console's app and group pages (part of `tests/console.rs`,
//! sharing its helpers): a radio pair that works without scripts, saved by each page's edit
//! form with its CSRF token, a misspelt value refused with the reason, and the setting shown
//! read-only on an app and a group declared in the configuration. (Loosening after the
//! ten-minute window asks for a fresh code: `server::console::fresh::tests`, on a fixed clock.)

use super::Sesame;
use super::{admin_console, assert_audited_as_admin, post, ADA};
use crate::support::http::HttpClient;
use crate::support::SesameOpts;

const REQUIRE: &str = "Require a second factor (passkey or authenticator app)";
const RADIO_OPTIONAL: &str = "name=\"second_factor\" value=\"optional\"";
const RADIO_REQUIRED: &str = "name=\"second_factor\" value=\"required\"";

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sets_the_second_factor_of_a_group_and_an_app_and_declared_ones_are_read_only() {
    let env = [
        (
            "SESAME_GROUP",
            r#"[{"name": "ops", "second_factor": "required"}]"#,
        ),
        (
            "SESAME_APP",
            r#"[{"client_id": "nas", "name": "NAS", "client_secret": "s3cret",
                 "redirect_uris": ["https://nas.example/cb"], "second_factor": "required"}]"#,
        ),
    ];
    let sesame = Sesame::start(SesameOpts {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..SesameOpts::default()
    });
    assert!(sesame.cli(&["group", "add", "family"]).status.success());
    let app = sesame.create_web_app("Photos");
    let browser = HttpClient::new();
    let page = admin_console(&sesame, &browser).await;
    let token = page.expect_input("csrf");

    // The group's page: the control, "optional" chosen.
    let group = browser
        .get(&sesame.url("/console/groups/show?name=family"))
        .await;
    assert_eq!(group.status, 200, "{}", group.describe());
    assert!(
        group.body.contains(&format!("{RADIO_OPTIONAL} checked")),
        "{}",
        group.describe()
    );
    assert!(group.body.contains(RADIO_REQUIRED) && group.body.contains(REQUIRE));

    // Required, with the edit form: CSRF checked, then saved and shown chosen.
    let edit = [
        ("name", "family"),
        ("description", ""),
        ("claims", ""),
        ("second_factor", "required"),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/groups/update", &edit)
        .await;
    assert_eq!(
        sesame.cli_json(&["group", "show", "family", "--json"])["second_factor"],
        "optional"
    );
    let r = post(&sesame, &browser, "/console/groups/update", &edit).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let saved = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        saved.body.contains(&format!("{RADIO_REQUIRED} checked")),
        "{}",
        saved.describe()
    );
    assert_eq!(
        sesame.cli_json(&["group", "show", "family", "--json"])["second_factor"],
        "required"
    );
    assert_audited_as_admin(&sesame, "group.update", ADA);

    // A misspelt value: refused with the reason, nothing changes.
    let mut bad = edit;
    bad[3] = ("second_factor", "sometimes");
    let r = post(&sesame, &browser, "/console/groups/update", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(
        r.body.contains("Choose one of the second-factor settings"),
        "{}",
        r.describe()
    );
    // Loosening, within ten minutes of signing in: saved at once.
    let mut looser = edit;
    looser[3] = ("second_factor", "optional");
    let r = post(&sesame, &browser, "/console/groups/update", &looser).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    assert!(
        r.header("location")
            .unwrap_or("")
            .contains("/console/groups/show"),
        "{}",
        r.describe()
    );
    assert_eq!(
        sesame.cli_json(&["group", "show", "family", "--json"])["second_factor"],
        "optional"
    );

    // The app's page: the same control in its edit form.
    let show = format!("/console/apps/show?id={}", app.client_id);
    let page = browser.get(&sesame.url(&show)).await;
    assert!(
        page.body.contains(&format!("{RADIO_OPTIONAL} checked")),
        "{}",
        page.describe()
    );
    let edit = [
        ("id", app.client_id.as_str()),
        ("name", "Photos"),
        ("redirect_uris", app.redirect_uri.as_str()),
        ("post_logout_redirect_uris", ""),
        ("allowed_groups", ""),
        ("alg", "ES384"),
        ("second_factor", "required"),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/apps/update", &edit)
        .await;
    let r = post(&sesame, &browser, "/console/apps/update", &edit).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let saved = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        saved.body.contains(&format!("{RADIO_REQUIRED} checked")),
        "{}",
        saved.describe()
    );
    let stored = sesame.cli_json(&["app", "show", &app.client_id, "--json"]);
    assert_eq!(stored["second_factor"], "required");

    // Declared ones: the setting shown, no control.
    for path in ["/console/groups/show?name=ops", "/console/apps/show?id=nas"] {
        let page = browser.get(&sesame.url(path)).await;
        assert_eq!(page.status, 200, "{}", page.describe());
        assert!(
            page.body
                .contains(&format!("<dd id=\"second-factor\">{REQUIRE}</dd>")),
            "{}",
            page.describe()
        );
        assert!(
            !page.body.contains("name=\"second_factor\""),
            "{}",
            page.describe()
        );
    }
}
