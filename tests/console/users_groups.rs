//! The console's user page and groups, end to end (part of `tests/console.rs`, sharing its
//! helpers): a non-admin is refused on each new page; an administrator filters the users by
//! group, edits a user (name, username, groups, claims; bad JSON refused with the reason, the
//! typed values kept), signs them out everywhere from their page and deletes them after a
//! confirmation; creates a group, edits it, adds and removes members, restricts an app to it
//! and sees a non-member refused at `/auth` while a member gets in, and deletes it. Every form
//! refuses a missing and a wrong CSRF token; the store is checked through the CLI.

use super::{admin_console, assert_audited_as_admin, assert_strict_headers, post, ADA, BOB};
use super::{sign_in_to_console, Sesame};
use crate::support::flow;
use crate::support::http::HttpClient;
use crate::support::SesameOpts;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_edits_a_user_on_their_page_signs_them_out_and_deletes_them() {
    let sesame = Sesame::start_default();
    assert!(sesame.cli(&["group", "add", "family"]).status.success());
    // Bob signs in (refused the console): he has a session the admin's page shows.
    let bob_browser = HttpClient::new();
    let refused = sign_in_to_console(&sesame, &bob_browser, BOB).await;
    assert_eq!(refused.status, 403, "{}", refused.describe());
    let bob = sesame.cli_json(&["user", "show", BOB, "--json"]);
    let bob_id = bob["id"].as_str().expect("id").to_string();
    let page_path = format!("/console/users/show?id={bob_id}");
    for path in [
        page_path.as_str(),
        "/console/groups",
        "/console/groups/show?name=family",
    ] {
        let r = bob_browser.get(&sesame.url(path)).await;
        assert_eq!(r.status, 403, "{path} for a non-admin: {}", r.describe());
    }

    let browser = HttpClient::new();
    let page = admin_console(&sesame, &browser).await;
    let token = page.expect_input("csrf");

    // The filter by group: admins lists Ada, not Bob; family lists nobody yet.
    let admins = browser
        .get(&sesame.url("/console/users?group=admins"))
        .await;
    assert_eq!(admins.status, 200, "{}", admins.describe());
    assert!(admins.body.contains("<option value=\"admins\" selected>"));
    assert!(!admins.body.contains(BOB), "{}", admins.describe());
    assert!(admins
        .body
        .contains("<strong class=\"address\">ada@example.com</strong>"));
    let family = browser
        .get(&sesame.url("/console/users?group=family"))
        .await;
    assert!(!family.body.contains(BOB), "{}", family.describe());
    assert!(family.body.contains("No user matches in the group family"));

    // The page: his session, the edit form, the group checkboxes.
    let shown = browser.get(&sesame.url(&page_path)).await;
    assert_eq!(shown.status, 200, "{}", shown.describe());
    assert_strict_headers(&shown);
    assert!(shown.body.contains("Where they are signed in") && shown.body.contains("Signed in 20"));
    assert!(shown.body.contains("name=\"groups\" value=\"family\""));

    let edit = [
        ("id", bob_id.as_str()),
        ("name", "Bob Builder"),
        ("username", "bobby"),
        ("groups", "family"),
        ("claims", "{\"team\": \"blue\"}"),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/users/update", &edit)
        .await;
    assert!(sesame.cli_json(&["user", "show", BOB, "--json"])["name"].is_null());
    // Claims that are not a JSON object: 422 with the reason, what was typed kept.
    let mut bad = edit;
    bad[4] = ("claims", "[\"blue\"]");
    let r = post(&sesame, &browser, "/console/users/update", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\"") && r.body.contains("must be a JSON object"));
    assert!(
        r.body.contains("Bob Builder") && r.body.contains("[&quot;blue&quot;]"),
        "{}",
        r.describe()
    );
    bad[4] = ("claims", "{team: blue");
    let r = post(&sesame, &browser, "/console/users/update", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("not valid JSON"), "{}", r.describe());
    // Saved: the store has every field.
    let r = post(&sesame, &browser, "/console/users/update", &edit).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let saved = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        saved.body.contains("The user is saved."),
        "{}",
        saved.describe()
    );
    let stored = sesame.cli_json(&["user", "show", BOB, "--json"]);
    assert_eq!(stored["name"], "Bob Builder");
    assert_eq!(stored["username"], "bobby");
    assert_eq!(stored["groups"], json!(["family"]));
    assert_eq!(stored["claims"], json!({"team": "blue"}));
    let family = browser
        .get(&sesame.url("/console/users?group=family"))
        .await;
    assert!(family.body.contains(BOB), "{}", family.describe());

    // Sign out everywhere from his page comes back to it, with no session left.
    let out = [
        ("user", bob_id.as_str()),
        ("back", "show"),
        ("csrf", token.as_str()),
    ];
    let r = post(&sesame, &browser, "/console/users/sign-out", &out).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let back = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        back.url.as_str().contains("/console/users/show?id="),
        "{}",
        back.describe()
    );
    assert!(back.body.contains("signed out everywhere") && back.body.contains("No live session."));

    // Delete: a confirmation page, the CSRF check, then gone.
    let confirm = browser
        .get(&sesame.url(&format!("/console/users/delete?id={bob_id}")))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.describe());
    assert!(confirm.body.contains("Delete bob@example.com?"));
    let delete = [("id", bob_id.as_str()), ("csrf", token.as_str())];
    sesame
        .assert_csrf_refused(&browser, "/console/users/delete", &delete)
        .await;
    assert!(
        sesame.cli(&["user", "show", BOB]).status.success(),
        "still there"
    );
    let r = post(&sesame, &browser, "/console/users/delete", &delete).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        list.body.contains("The user is deleted"),
        "{}",
        list.describe()
    );
    assert!(!sesame.cli(&["user", "show", BOB]).status.success(), "gone");
    // Ada cannot delete herself here.
    let ada = sesame.cli_json(&["user", "show", ADA, "--json"]);
    let me = [
        ("id", ada["id"].as_str().expect("id")),
        ("csrf", token.as_str()),
    ];
    let r = post(&sesame, &browser, "/console/users/delete", &me).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("cannot delete your own account"));

    // Nor take herself out of admins.
    let me = [
        ("id", ada["id"].as_str().expect("id")),
        ("name", ""),
        ("username", ""),
        ("claims", ""),
        ("csrf", token.as_str()),
    ];
    let r = post(&sesame, &browser, "/console/users/update", &me).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("cannot take yourself out of admins"));
    let ada = sesame.cli_json(&["user", "show", ADA, "--json"]);
    assert_eq!(ada["groups"], json!(["admins"]));

    for command in ["user.update", "user.sign-out", "user.delete"] {
        assert_audited_as_admin(&sesame, command, ADA);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_makes_a_group_restricts_an_app_to_it_and_a_non_member_is_refused() {
    let sesame = Sesame::start_default();
    let app = sesame.create_web_app("Immich");
    assert!(sesame
        .cli(&["user", "add", "guest@example.com"])
        .status
        .success());
    let browser = HttpClient::new();
    let page = admin_console(&sesame, &browser).await;
    let token = page.expect_input("csrf");
    let groups = browser.get(&sesame.url("/console/groups")).await;
    assert_eq!(groups.status, 200, "{}", groups.describe());
    assert_strict_headers(&groups);
    assert!(
        groups.body.contains("aria-current=\"page\">Groups"),
        "the nav"
    );

    // Create: CSRF checked, a bad name refused with the form kept, then created.
    let create = [
        ("name", "family"),
        ("description", "Home"),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/groups", &create)
        .await;
    let bad = [
        ("name", "no spaces"),
        ("description", "Home"),
        ("csrf", token.as_str()),
    ];
    let r = post(&sesame, &browser, "/console/groups", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\"") && r.body.contains("value=\"no spaces\""));
    let r = post(&sesame, &browser, "/console/groups", &create).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let shown = browser.follow_within(r, &sesame.issuer).await;
    assert_eq!(shown.status, 200, "{}", shown.describe());
    assert_strict_headers(&shown);
    assert!(shown.body.contains("The group is created.") && shown.body.contains("<h1>family</h1>"));

    // Edit: bad claims refused, then saved.
    let edit = [
        ("name", "family"),
        ("description", "The family"),
        ("claims", "{\"role\": \"viewer\"}"),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/groups/update", &edit)
        .await;
    let mut bad = edit;
    bad[2] = ("claims", "42");
    let r = post(&sesame, &browser, "/console/groups/update", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("must be a JSON object") && r.body.contains("The family"));
    let r = post(&sesame, &browser, "/console/groups/update", &edit).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let stored = sesame.cli_json(&["group", "show", "family", "--json"]);
    assert_eq!(stored["description"], "The family");
    assert_eq!(stored["claims"], json!({"role": "viewer"}));

    // A member, added by email through the users page's add form and the group's.
    let add = [
        ("email", "kid@example.com"),
        ("name", ""),
        ("groups", ""),
        ("csrf", token.as_str()),
    ];
    assert_eq!(
        post(&sesame, &browser, "/console/users", &add).await.status,
        303
    );
    let member = [
        ("name", "family"),
        ("email", "kid@example.com"),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/groups/members/add", &member)
        .await;
    let r = post(&sesame, &browser, "/console/groups/members/add", &member).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let shown = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        shown.body.contains("kid@example.com"),
        "{}",
        shown.describe()
    );
    let kid = sesame.cli_json(&["user", "show", "kid@example.com", "--json"]);
    assert_eq!(kid["groups"], json!(["family"]));
    let nobody = [
        ("name", "family"),
        ("email", "nobody@example.com"),
        ("csrf", token.as_str()),
    ];
    let r = post(&sesame, &browser, "/console/groups/members/add", &nobody).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\""));

    // Restrict Immich to family.
    let allow = [
        ("name", "family"),
        ("client_id", app.client_id.as_str()),
        ("allow", "yes"),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/groups/apps", &allow)
        .await;
    let r = post(&sesame, &browser, "/console/groups/apps", &allow).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let shown = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        shown.body.contains("Allowed: only this group"),
        "{}",
        shown.describe()
    );
    let stored = sesame.cli_json(&["app", "show", &app.client_id, "--json"]);
    assert_eq!(stored["allowed_groups"], json!(["family"]));

    // The guest (not a member) is refused at /auth; the kid gets in.
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let guest = HttpClient::new();
    let start = flow::authorize(&client, &["openid", "email"], true, None);
    let email_page = flow::open_email_page(&sesame, &guest, start.url.as_str()).await;
    let code_page = flow::submit_email(&sesame, &guest, &email_page, "guest@example.com").await;
    let code = sesame.next_code_for("guest@example.com").await;
    let answer = flow::submit_code(&guest, &code_page, &code).await;
    assert_eq!(answer.status, 403, "{}", answer.describe());
    assert!(
        answer.body.contains("can&#39;t use Immich"),
        "{}",
        answer.describe()
    );
    assert!(
        answer.header("location").is_none(),
        "no code goes to the app"
    );
    let kid_browser = HttpClient::new();
    let signed_in =
        flow::full_sign_in(&sesame, &kid_browser, &client, &app, "kid@example.com").await;
    assert_eq!(signed_in.sub(), kid["id"].as_str().expect("id"));

    // Remove the member, open the app again, delete the group after a confirmation.
    let kid_id = kid["id"].as_str().expect("id");
    let remove = [
        ("name", "family"),
        ("user", kid_id),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/groups/members/remove", &remove)
        .await;
    let r = post(&sesame, &browser, "/console/groups/members/remove", &remove).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let kid = sesame.cli_json(&["user", "show", "kid@example.com", "--json"]);
    assert_eq!(kid["groups"], json!([]));
    let mut open = allow;
    open[2] = ("allow", "no");
    let r = post(&sesame, &browser, "/console/groups/apps", &open).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let stored = sesame.cli_json(&["app", "show", &app.client_id, "--json"]);
    assert_eq!(stored["allowed_groups"], json!([]));

    let confirm = browser
        .get(&sesame.url("/console/groups/delete?name=family"))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.describe());
    assert!(confirm.body.contains("Delete the group family?"));
    let delete = [("name", "family"), ("csrf", token.as_str())];
    sesame
        .assert_csrf_refused(&browser, "/console/groups/delete", &delete)
        .await;
    let r = post(&sesame, &browser, "/console/groups/delete", &delete).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        list.body.contains("The group is deleted"),
        "{}",
        list.describe()
    );
    assert!(
        !sesame.cli(&["group", "show", "family"]).status.success(),
        "gone"
    );

    for command in [
        "group.add",
        "group.update",
        "group.add-member",
        "group.remove-member",
        "app.update",
        "group.delete",
    ] {
        assert_audited_as_admin(&sesame, command, ADA);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_and_groups_declared_in_the_configuration_are_read_only_with_a_note() {
    let env = [
        (
            "SESAME_GROUP",
            r#"[{"name": "team", "description": "Declared"}]"#,
        ),
        (
            "SESAME_USER",
            r#"[{"email": "dec@example.com", "groups": ["team"]}]"#,
        ),
    ];
    let sesame = Sesame::start(SesameOpts {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..SesameOpts::default()
    });
    let browser = HttpClient::new();
    let page = admin_console(&sesame, &browser).await;
    let token = page.expect_input("csrf");

    let group = browser
        .get(&sesame.url("/console/groups/show?name=team"))
        .await;
    assert_eq!(group.status, 200, "{}", group.describe());
    assert!(group
        .body
        .contains("defined in the server's configuration file (sesame.toml)"));
    assert!(!group.body.contains("/groups/update") && !group.body.contains("Delete this group"));
    assert!(group.body.contains("dec@example.com"), "members listed");
    // A forged edit is the command's refusal, nothing changes.
    let edit = [
        ("name", "team"),
        ("description", "Changed"),
        ("claims", ""),
        ("csrf", &token),
    ];
    let r = post(&sesame, &browser, "/console/groups/update", &edit).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(
        r.body.contains("declared in sesame.toml"),
        "{}",
        r.describe()
    );
    let stored = sesame.cli_json(&["group", "show", "team", "--json"]);
    assert_eq!(stored["description"], "Declared");

    let dec = sesame.cli_json(&["user", "show", "dec@example.com", "--json"]);
    let dec_id = dec["id"].as_str().expect("id");
    let user = browser
        .get(&sesame.url(&format!("/console/users/show?id={dec_id}")))
        .await;
    assert_eq!(user.status, 200, "{}", user.describe());
    assert!(user
        .body
        .contains("defined in the server's configuration file (sesame.toml)"));
    assert!(!user.body.contains("/users/update") && !user.body.contains("Delete this user"));
}

/// The `href` of the page's link with `rel="next"`, if any (unescaped).
fn next_link(page: &crate::support::http::Response) -> Option<String> {
    crate::support::html::tags(&page.body, "a")
        .into_iter()
        .find(|a| crate::support::html::attr(a, "rel").as_deref() == Some("next"))
        .and_then(|a| crate::support::html::attr(&a, "href"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_users_list_pages_by_50_keeping_the_search_and_the_filter() {
    let sesame = Sesame::start_default();
    assert!(sesame.cli(&["group", "add", "family"]).status.success());
    let browser = HttpClient::new();
    admin_console(&sesame, &browser).await;
    // 53 family members whose address has "pager", and 2 others in the family.
    for i in 0..55 {
        let local = if i < 53 { "pager" } else { "other" };
        let email = format!("{local}{i:02}@example.com");
        let out = sesame.cli(&["user", "add", &email, "--group", "family"]);
        assert!(out.status.success(), "{email}");
    }
    let rows = |page: &crate::support::http::Response| page.body.matches("/users/show?id=").count();
    let all = browser.get(&sesame.url("/console/users")).await;
    assert_eq!(all.status, 200, "{}", all.describe());
    assert_eq!(rows(&all), 50, "{}", all.describe());
    assert!(!all.body.contains("/users/disable"), "no forms in the rows");

    let first = browser
        .get(&sesame.url("/console/users?q=PAGER&group=family"))
        .await;
    assert_eq!(rows(&first), 50, "{}", first.describe());
    assert!(!first.body.contains("other"), "{}", first.describe());
    let next = next_link(&first).expect("a Next link");
    assert!(
        next.contains("q=PAGER") && next.contains("group=family") && next.contains("after="),
        "{next}"
    );
    let second = browser
        .get(first.url.join(&next).expect("a URL").as_str())
        .await;
    assert_eq!(second.status, 200, "{}", second.describe());
    assert_eq!(rows(&second), 3, "{}", second.describe());
    assert!(next_link(&second).is_none(), "the last page");
    assert!(second.body.contains("First page"), "{}", second.describe());
    // Users on the first page are not on the second.
    let ids = |page: &crate::support::http::Response| -> Vec<String> {
        page.body
            .split("/users/show?id=")
            .skip(1)
            .map(|s| s.chars().take_while(|c| *c != '"').collect())
            .collect()
    };
    let firsts = ids(&first);
    assert!(ids(&second).iter().all(|id| !firsts.contains(id)));
}
