//! The recent-authentication gate through [`crate::server::route`], in-process, on the test
//! provider's fixed clock (the only honest way to be eleven minutes later without waiting):
//! within ten minutes a secret rotates at once; after, nothing changes until a code mailed to
//! the administrator's own address is entered; another address gets no code; the sign-in comes
//! back to the app's page, where the repeated action works.

use super::FRESH_FOR;
use crate::http::cookie::{INTERACTION_COOKIE, SESSION_COOKIE};
use crate::http::{Request, Response};
use crate::mail::Mailer;
use crate::provider::testing::{provider, user, CLIENT};
use crate::server::router::tests::server_of;
use crate::server::{route, Server};
use crate::store::{Reads, Writes};
use crate::users::ADMINS;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use hyper::{Method, StatusCode};
use std::collections::BTreeMap;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// A browser's cookies, as the server set them.
#[derive(Default)]
pub(crate) struct Jar(pub(crate) BTreeMap<String, String>);

impl Jar {
    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        let all: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !all.is_empty() {
            h.insert(COOKIE, HeaderValue::from_str(&all.join("; ")).unwrap());
        }
        h
    }

    fn keep(&mut self, r: &Response) {
        for set in r.headers().get_all(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.0.insert(k.to_string(), v.to_string());
        }
    }

    pub(crate) async fn get(
        &mut self,
        s: &Server,
        path_query: &str,
    ) -> (StatusCode, String, String) {
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        let req = Request::synthetic(Method::GET, path, query, "", self.headers());
        self.answer(route(s, req).await).await
    }

    pub(crate) async fn post(
        &mut self,
        s: &Server,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut h = self.headers();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let req = Request::synthetic(Method::POST, path, "", &body, h);
        self.answer(route(s, req).await).await
    }

    /// Status, `Location` (or empty) and body.
    async fn answer(&mut self, r: Response) -> (StatusCode, String, String) {
        use http_body_util::BodyExt;
        self.keep(&r);
        let status = r.status();
        let location = r
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, location, String::from_utf8(bytes.to_vec()).unwrap())
    }
}

/// The value of the hidden input `name` on a page.
pub(crate) fn input(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// A server whose mail goes to the outbox (codes readable here), Ada an administrator signed
/// in now (a session made directly: the sign-in itself is tested elsewhere), Bob a user.
pub(crate) fn signed_in_admin() -> (tempfile::TempDir, Server, Jar) {
    let (dir, p) = provider();
    p.set_mailer(Mailer::outbox());
    let mut ada = user(&p, ADA);
    ada.groups = vec![ADMINS.into()];
    user(&p, BOB);
    let now = p.now();
    let ttl = p.tokens.session_ttl;
    let cookie = p
        .store
        .write(|tx| {
            tx.put_user(&ada)?;
            crate::session::create(tx, &ada.id, now, ttl)
        })
        .unwrap();
    let s = server_of(p);
    let mut jar = Jar::default();
    jar.0.insert(s.cookies.name(SESSION_COOKIE), cookie);
    (dir, s, jar)
}

fn secret_hash(s: &Server) -> Option<String> {
    s.provider
        .store
        .read(|tx| tx.app(CLIENT))
        .unwrap()
        .unwrap()
        .secret_hash
}

const SHOW: &str = "/console/apps/show?id=bookstore";

/// Posts the rotate form from the app's page.
async fn rotate(s: &Server, jar: &mut Jar) -> (StatusCode, String, String) {
    let (status, _, page) = jar.get(s, SHOW).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = input(&page, "csrf");
    jar.post(
        s,
        "/console/apps/rotate",
        &[("csrf", &csrf), ("id", CLIENT)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_rotates_within_ten_minutes_and_needs_a_fresh_code_of_the_same_account_after() {
    let (_d, s, mut jar) = signed_in_admin();
    let before = secret_hash(&s);
    let (status, to, _) = rotate(&s, &mut jar).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, SHOW));
    let rotated = secret_hash(&s);
    assert_ne!(rotated, before, "rotated at once: the sign-in is fresh");

    // One second before the window closes, still fresh; at its end, not.
    s.provider.clock.advance(FRESH_FOR - 1);
    let (_, to, _) = rotate(&s, &mut jar).await;
    assert_eq!(to, SHOW);
    let rotated = secret_hash(&s);
    s.provider.clock.advance(1);
    let (status, to, _) = rotate(&s, &mut jar).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/console/confirm?interaction="), "{to}");
    assert_eq!(
        secret_hash(&s),
        rotated,
        "nothing changed without a fresh sign-in"
    );
    assert!(jar.0.contains_key(&s.cookies.name(INTERACTION_COOKIE)));

    // "Confirm it's you" offers a code to Ada's own address.
    let (status, _, page) = jar.get(&s, &to).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Confirm it&#x27;s you") || page.contains("Confirm it's you"),
        "{page}"
    );
    assert_eq!(input(&page, "email"), ADA);
    let interaction = input(&page, "interaction");
    let csrf = input(&page, "csrf");

    // Another mailbox, typed in instead: refused, and no code goes to it.
    let (status, _, page) = jar
        .post(
            &s,
            "/sign-in",
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("email", BOB),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("not your address"), "{page}");
    assert_eq!(s.provider.mailer().outbox_code(BOB), None);

    let (status, to, _) = jar
        .post(
            &s,
            "/sign-in",
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("email", ADA),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/sign-in/code?"), "{to}");
    let code = s
        .provider
        .mailer()
        .outbox_code(ADA)
        .expect("a code for Ada");
    let old_session = jar.0[&s.cookies.name(SESSION_COOKIE)].clone();
    let (status, to, _) = jar
        .post(
            &s,
            "/sign-in/code",
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("code", &code),
            ],
        )
        .await;
    // Back to the app's page, not replayed: the secret is as it was until the admin repeats it.
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, SHOW));
    assert_eq!(secret_hash(&s), rotated);
    assert_ne!(
        jar.0[&s.cookies.name(SESSION_COOKIE)],
        old_session,
        "a new session"
    );

    let (status, to, _) = rotate(&s, &mut jar).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, SHOW));
    assert_ne!(secret_hash(&s), rotated, "the repeated action works");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_confirm_page_is_only_for_the_browser_and_admin_that_started_it() {
    let (_d, s, mut jar) = signed_in_admin();
    s.provider.clock.advance(FRESH_FOR);
    let (_, to, _) = rotate(&s, &mut jar).await;
    assert!(to.starts_with("/console/confirm?interaction="), "{to}");
    // Without the interaction cookie (another browser with Ada's session): refused.
    jar.0.remove(&s.cookies.name(INTERACTION_COOKIE));
    let (status, _, page) = jar.get(&s, &to).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(!page.contains("name=\"email\""));
    // An unknown interaction: refused too.
    let (status, _, _) = jar.get(&s, "/console/confirm?interaction=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_is_made_only_after_a_recent_sign_in_and_the_code_comes_back_to_the_keys() {
    let (_d, s, mut jar) = signed_in_admin();
    s.provider.clock.advance(FRESH_FOR + 3600);
    let (_, _, page) = jar.get(&s, "/console/api-keys").await;
    let csrf = input(&page, "csrf");
    let form = [("csrf", csrf.as_str()), ("name", "deploy")];
    let (status, to, _) = jar.post(&s, "/console/api-keys", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/console/confirm?interaction="), "{to}");
    let keys = crate::api_keys::list(&s.provider.store).unwrap();
    assert!(keys.is_empty(), "no key without a fresh sign-in");

    let (_, _, page) = jar.get(&s, &to).await;
    let (interaction, sign_in_csrf) = (input(&page, "interaction"), input(&page, "csrf"));
    let ids = [
        ("interaction", interaction.as_str()),
        ("csrf", sign_in_csrf.as_str()),
    ];
    let (_, to, _) = jar
        .post(&s, "/sign-in", &[ids[0], ids[1], ("email", ADA)])
        .await;
    assert!(to.starts_with("/sign-in/code?"), "{to}");
    let code = s.provider.mailer().outbox_code(ADA).unwrap();
    let (_, to, _) = jar
        .post(&s, "/sign-in/code", &[ids[0], ids[1], ("code", &code)])
        .await;
    assert_eq!(
        to, "/console/api-keys",
        "back to the page the action was on"
    );
    let (_, _, page) = jar.get(&s, &to).await;
    let csrf = input(&page, "csrf");
    let (status, to, _) = jar
        .post(
            &s,
            "/console/api-keys",
            &[("csrf", &csrf), ("name", "deploy")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/console/api-keys?shown="), "{to}");
    let (_, _, page) = jar.get(&s, &to).await;
    assert!(
        page.contains("id=\"api-key\">sesame_"),
        "shown once: {page}"
    );
}

/// The CSRF token the console's forms carry for this session (any console page shows it).
async fn console_csrf(s: &Server, jar: &mut Jar) -> String {
    let (status, _, page) = jar.get(s, "/console/users").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    input(&page, "csrf")
}

fn bob(s: &Server) -> crate::store::User {
    s.provider
        .store
        .read(|tx| {
            let id = tx.user_id_by_email(BOB)?.expect("bob");
            tx.user(&id)
        })
        .unwrap()
        .unwrap()
}

/// Each of the other sensitive actions, with a stale sign-in, asks for a code (303 to the
/// confirm page) and changes nothing; the same action that is not sensitive (an edit that adds
/// no administrator) goes through.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_user_making_an_admin_and_changing_mail_each_need_a_recent_sign_in() {
    let (_dir, s, mut jar) = signed_in_admin();
    let csrf = console_csrf(&s, &mut jar).await;
    s.provider.clock.advance(FRESH_FOR);
    let id = bob(&s).id;
    let asks = |(status, location, body): (StatusCode, String, String)| {
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert!(
            location.contains("/console/confirm?interaction="),
            "{location}"
        );
    };
    asks(
        jar.post(&s, "/console/users/delete", &[("csrf", &csrf), ("id", &id)])
            .await,
    );
    let admin_edit = [
        ("csrf", &*csrf),
        ("id", &id),
        ("name", "Bob"),
        ("groups", ADMINS),
    ];
    asks(jar.post(&s, "/console/users/update", &admin_edit).await);
    let member = [("csrf", &*csrf), ("name", ADMINS), ("email", BOB)];
    asks(jar.post(&s, "/console/groups/members/add", &member).await);
    let add = [
        ("csrf", &*csrf),
        ("email", "eve@example.com"),
        ("groups", ADMINS),
    ];
    asks(jar.post(&s, "/console/users", &add).await);
    asks(
        jar.post(&s, "/console/mail/connector/delete", &[("csrf", &csrf)])
            .await,
    );
    let json = [("csrf", &*csrf), ("source", "json"), ("json", "{}")];
    asks(jar.post(&s, "/console/mail/connector", &json).await);
    let smtp = [
        ("csrf", &*csrf),
        ("host", "127.0.0.1"),
        ("port", "2525"),
        ("tls", "none"),
        ("from", "noreply@example.com"),
    ];
    asks(jar.post(&s, "/console/mail/smtp", &smtp).await);
    let smtp_gone = [("csrf", &*csrf), ("name", "smtp")];
    asks(
        jar.post(&s, "/console/mail/connector/delete", &smtp_gone)
            .await,
    );
    let stored = s
        .provider
        .store
        .read(|tx| tx.get(&crate::store::CONNECTORS, "smtp"));
    assert!(
        stored.unwrap().is_none(),
        "nothing stored without a recent sign-in"
    );
    // Nothing changed: Bob is there and no administrator; Eve was not added.
    let b = bob(&s);
    assert!(!b.in_group(ADMINS), "{:?}", b.groups);
    let eve = s
        .provider
        .store
        .read(|tx| tx.user_id_by_email("eve@example.com"));
    assert!(eve.unwrap().is_none());
    // An edit that makes no administrator needs no fresh sign-in.
    let plain = [("csrf", &*csrf), ("id", &id), ("name", "Bob B")];
    let (status, location, body) = jar.post(&s, "/console/users/update", &plain).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.contains("notice=user_saved"), "{location}");
    assert_eq!(bob(&s).name.as_deref(), Some("Bob B"));
}

/// Loosening an app's or a group's second-factor policy (required → optional) with a stale
/// sign-in asks for a code and changes nothing; tightening, or saving it unchanged, does not.
#[tokio::test(flavor = "multi_thread")]
async fn loosening_a_second_factor_policy_needs_a_recent_sign_in_and_tightening_does_not() {
    use crate::provider::testing::REDIRECT;
    use crate::store::{SecondFactor, APPS};
    let (_dir, s, mut jar) = signed_in_admin();
    let now = s.provider.now();
    for (name, policy) in [
        ("staff", SecondFactor::Required),
        ("family", SecondFactor::Optional),
    ] {
        let new = crate::users::NewGroup {
            name: name.into(),
            second_factor: policy,
            ..Default::default()
        };
        crate::users::add_group(&s.provider.store, now, new).unwrap();
    }
    s.provider
        .store
        .write(|tx| {
            let mut app: crate::store::App = tx.get(&APPS, CLIENT)?.expect("bookstore");
            app.second_factor = SecondFactor::Required;
            tx.put(&APPS, CLIENT, &app)
        })
        .unwrap();
    let csrf = console_csrf(&s, &mut jar).await;
    s.provider.clock.advance(FRESH_FOR);
    let group_policy = |name: &str| {
        let group = s.provider.store.read(|tx| tx.group(name)).unwrap();
        group.unwrap().second_factor
    };
    let app_policy = || {
        let app = s.provider.store.read(|tx| tx.app(CLIENT)).unwrap();
        app.unwrap().second_factor
    };
    let group_form = |name, policy| {
        [
            ("csrf", csrf.as_str()),
            ("name", name),
            ("description", ""),
            ("claims", ""),
            ("second_factor", policy),
        ]
    };
    let app_form = |policy| {
        [
            ("csrf", csrf.as_str()),
            ("id", CLIENT),
            ("name", CLIENT),
            ("redirect_uris", REDIRECT),
            ("alg", "ES384"),
            ("second_factor", policy),
        ]
    };
    let asks = |(status, location, body): (StatusCode, String, String)| {
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert!(
            location.contains("/console/confirm?interaction="),
            "{location}"
        );
    };
    let saved = |(status, location, body): (StatusCode, String, String), notice: &str| {
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert!(location.contains(notice), "{location}");
    };

    let loosen = group_form("staff", "optional");
    asks(jar.post(&s, "/console/groups/update", &loosen).await);
    assert_eq!(
        group_policy("staff"),
        SecondFactor::Required,
        "nothing changed"
    );
    asks(
        jar.post(&s, "/console/apps/update", &app_form("optional"))
            .await,
    );
    assert_eq!(app_policy(), SecondFactor::Required, "nothing changed");

    // Tightening, and saving a required policy as it is, go through.
    let tighten = group_form("family", "required");
    saved(
        jar.post(&s, "/console/groups/update", &tighten).await,
        "notice=group_saved",
    );
    assert_eq!(group_policy("family"), SecondFactor::Required);
    saved(
        jar.post(&s, "/console/apps/update", &app_form("required"))
            .await,
        "notice=app_saved",
    );
    assert_eq!(app_policy(), SecondFactor::Required);
}

#[tokio::test(flavor = "multi_thread")]
async fn resetting_a_users_two_step_verification_needs_a_fresh_sign_in() {
    use crate::factors::{recovery, totp};
    let (_d, s, mut jar) = signed_in_admin();
    let p = &s.provider;
    let bob = p
        .store
        .read(|tx| tx.user_id_by_email(BOB))
        .unwrap()
        .unwrap();
    recovery::generate(p, &bob).unwrap();
    totp::begin(p, &bob).unwrap();
    let page_path = format!("/console/users/show?id={bob}");
    let (status, _, page) = jar.get(&s, &page_path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Authenticator app: being set up · 10 unused recovery codes"),
        "{page}"
    );
    let csrf = input(&page, "csrf");
    let form = [("csrf", csrf.as_str()), ("id", bob.as_str())];

    // Eleven minutes on: a re-authentication first, and nothing changes.
    p.clock.advance(FRESH_FOR + 60);
    let (status, location, _) = jar.post(&s, "/console/users/reset-factors", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.contains("/console/confirm?interaction="),
        "{location}"
    );
    assert_eq!(
        p.store.read(|tx| recovery::remaining(tx, &bob)).unwrap(),
        10
    );

    // Fresh again (a new session signed in now): the reset happens.
    let ada = p
        .store
        .read(|tx| tx.user_id_by_email(ADA))
        .unwrap()
        .unwrap();
    let (now, ttl) = (p.now(), p.tokens.session_ttl);
    let cookie = p
        .store
        .write(|tx| crate::session::create(tx, &ada, now, ttl))
        .unwrap();
    jar.0.insert(s.cookies.name(SESSION_COOKIE), cookie);
    let (_, _, page) = jar.get(&s, &page_path).await;
    let csrf = input(&page, "csrf");
    let form = [("csrf", csrf.as_str()), ("id", bob.as_str())];
    let (status, location, _) = jar.post(&s, "/console/users/reset-factors", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.ends_with("&notice=factors_reset"), "{location}");
    assert_eq!(p.store.read(|tx| recovery::remaining(tx, &bob)).unwrap(), 0);
    assert!(!p.store.read(|tx| totp::pending(tx, &bob)).unwrap());
    let (_, _, page) = jar.get(&s, &page_path).await;
    assert!(
        page.contains("Authenticator app: none · 0 unused recovery codes"),
        "{page}"
    );
    assert!(
        !page.contains("Reset two-step verification"),
        "nothing to reset"
    );
}

/// Once the `admins` group requires a second factor, an administrator whose session was
/// signed in with the email code alone is asked for one before the console (a step-up that
/// starts at the second step), and a form posted meanwhile changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_asks_for_the_admins_groups_second_factor_first() {
    use crate::store::{Group, SecondFactor};
    let (_dir, s, mut jar) = signed_in_admin();
    let (status, _, page) = jar.get(&s, "/console/apps").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let now = s.provider.now();
    s.provider
        .store
        .write(|tx| {
            let mut g = tx.group(ADMINS)?.unwrap_or(Group {
                name: ADMINS.into(),
                description: String::new(),
                claims: Default::default(),
                api_scopes: Default::default(),
                second_factor: SecondFactor::Optional,
                declared: false,
                created_at: now,
                updated_at: now,
            });
            g.second_factor = SecondFactor::Required;
            tx.put_group(&g)
        })
        .unwrap();
    let (status, location, _) = jar.get(&s, "/console/apps").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.contains("/sign-in/second?interaction="),
        "{location}"
    );
    let (status, location, _) = jar
        .post(&s, "/console/apps", &[("csrf", "whatever"), ("name", "X")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.ends_with("/console"), "{location}");
}
