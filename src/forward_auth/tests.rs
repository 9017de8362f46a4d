//! Forward-auth's core in-process: a temporary redb, a fixed clock, no HTTP.

use super::*;
use crate::provider::testing::{provider, user, T0};
use crate::store::{Reads, SignInFor, Writes};

/// Hosts under home.example: `/public/` bypasses, app.home.example is for the family;
/// other.example is allowed by a rule but outside the cookie domain.
fn fa() -> ForwardAuth {
    let issuer = Issuer::parse("https://auth.home.example").unwrap();
    let rules = [
        AccessRuleDecl {
            domain: access::Names(vec!["*.home.example".into()]),
            resources: vec!["^/public/".into()],
            policy: Policy::Bypass,
            users: vec![],
            groups: vec![],
        },
        AccessRuleDecl {
            domain: access::Names(vec!["app.home.example".into(), "other.example".into()]),
            resources: vec![],
            policy: Policy::Allow,
            users: vec![],
            groups: vec!["family".into()],
        },
    ];
    let config = ForwardAuthConfig {
        cookie_domain: Some("home.example".into()),
    };
    ForwardAuth::new(&config, &rules, &issuer).unwrap().unwrap()
}

fn target(url: &str) -> Target {
    Target::parse(url).unwrap()
}

/// A user in `groups` with a forward-auth session; returns the user and the cookie value.
fn signed_in(p: &Provider, email: &str, groups: &[&str]) -> (crate::store::User, String) {
    let mut u = user(p, email);
    u.groups = groups.iter().map(|g| g.to_string()).collect();
    u.username = Some("ada".into());
    let cookie = p
        .store
        .write(|tx| {
            tx.put_user(&u)?;
            session::create_forward_auth(tx, &u.id, T0, T0 + 3600)
        })
        .unwrap();
    (u, cookie)
}

#[test]
fn the_check_answers_from_the_session_and_the_rules() {
    let (_d, p) = provider();
    let fa = fa();
    let (_, family) = signed_in(&p, "ada@example.com", &["family", "admins"]);
    let (_, other) = signed_in(&p, "bob@example.com", &[]);
    let app = target("https://app.home.example/x?y=1");

    assert_eq!(
        check(&p, &fa, &app, Some(&family)).unwrap(),
        Answer::Pass(Some(Identity {
            user: "ada".into(),
            groups: "family,admins".into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
        }))
    );
    assert_eq!(
        check(&p, &fa, &app, Some(&other)).unwrap(),
        Answer::Forbidden {
            signed_in: Some(Identity {
                user: "ada".into(),
                groups: String::new(),
                email: "bob@example.com".into(),
                name: "Ada".into(),
            }),
            rule: None,
        }
    );
    for nobody in [None, Some(""), Some("not-a-session")] {
        match check(&p, &fa, &app, nobody).unwrap() {
            Answer::SignIn(back) => assert_eq!(back.as_str(), "https://app.home.example/x?y=1"),
            a => panic!("{nobody:?}: {a:?}"),
        }
    }
    // A bypass needs nobody, and says who it is when someone is signed in.
    let public = target("https://app.home.example/public/a");
    assert_eq!(check(&p, &fa, &public, None).unwrap(), Answer::Pass(None));
    assert!(matches!(
        check(&p, &fa, &public, Some(&family)).unwrap(),
        Answer::Pass(Some(_))
    ));
    // Nothing covers this host: refused, nobody or somebody.
    let closed = target("https://closed.home.example/");
    assert_eq!(
        check(&p, &fa, &closed, None).unwrap(),
        Answer::Forbidden {
            signed_in: None,
            rule: None
        }
    );
}

#[test]
fn a_sign_in_that_could_not_come_back_is_said_so() {
    let (_d, p) = provider();
    let fa = fa();
    // A rule covers other.example, but the cookie domain does not.
    match check(&p, &fa, &target("https://other.example/"), None).unwrap() {
        Answer::CannotReturn(ReturnToError::Elsewhere { .. }) => {}
        a => panic!("{a:?}"),
    }
    // sesame is https: its Secure cookie would never reach an http page.
    match check(&p, &fa, &target("http://app.home.example/"), None).unwrap() {
        Answer::CannotReturn(ReturnToError::Scheme(_)) => {}
        a => panic!("{a:?}"),
    }
}

#[test]
fn the_two_kinds_of_session_never_stand_in_for_each_other() {
    let (_d, p) = provider();
    let fa = fa();
    let (u, forward) = signed_in(&p, "ada@example.com", &["family"]);
    let own = p
        .store
        .write(|tx| session::create(tx, &u.id, T0, 3600))
        .unwrap();
    let app = target("https://app.home.example/");
    assert!(matches!(
        check(&p, &fa, &app, Some(&own)).unwrap(),
        Answer::SignIn(_)
    ));
    assert!(session::current(&p, Some(&forward)).unwrap().is_none());
    assert!(session::current(&p, Some(&own)).unwrap().is_some());
}

#[test]
fn a_disabled_user_or_an_expired_session_is_nobody() {
    let (_d, p) = provider();
    let fa = fa();
    let app = target("https://app.home.example/");
    let (mut u, cookie) = signed_in(&p, "ada@example.com", &["family"]);
    u.disabled = true;
    p.store.write(|tx| tx.put_user(&u)).unwrap();
    assert!(matches!(
        check(&p, &fa, &app, Some(&cookie)).unwrap(),
        Answer::SignIn(_)
    ));

    let (u, _) = signed_in(&p, "bob@example.com", &["family"]);
    let expired = p
        .store
        .write(|tx| session::create_forward_auth(tx, &u.id, T0 - 10, T0))
        .unwrap();
    assert!(matches!(
        check(&p, &fa, &app, Some(&expired)).unwrap(),
        Answer::SignIn(_)
    ));
}

#[test]
fn begin_resumes_a_sesame_session_or_asks_for_a_sign_in() {
    let (_d, p) = provider();
    let fa = fa();
    let u = user(&p, "ada@example.com");
    let own = p
        .store
        .write(|tx| session::create(tx, &u.id, T0 - 100, 1000))
        .unwrap();
    let rd = "https://app.home.example/page";
    match begin(&p, &fa, rd, Some(&own), false).unwrap() {
        Begin::Resume {
            session: s,
            max_age,
            back,
        } => {
            assert_eq!(back.as_str(), rd);
            // It ends with the sesame session it came from.
            assert_eq!(max_age, 900);
            let (stored, _) = session::signed_in(&p, Some(&s), SessionKind::ForwardAuth)
                .unwrap()
                .unwrap();
            assert_eq!((stored.auth_time, stored.expires_at), (T0 - 100, T0 + 900));
        }
        b => panic!("{b:?}"),
    }
    assert_eq!(
        begin(&p, &fa, rd, None, false).unwrap(),
        Begin::SignIn(ReturnTo::parse(rd, &fa.cookie_domain, true).unwrap())
    );
    // "Use another account": a sign-in even with a session.
    assert!(matches!(
        begin(&p, &fa, rd, Some(&own), true).unwrap(),
        Begin::SignIn(_)
    ));
    for bad in [
        "https://evil.example/",
        "javascript:alert(1)",
        "",
        "http://app.home.example/",
    ] {
        assert!(
            matches!(
                begin(&p, &fa, bad, Some(&own), false),
                Err(BeginError::ReturnTo(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn a_sign_in_for_a_page_ends_with_a_forward_auth_session() {
    let (_d, p) = provider();
    let fa = fa();
    let u = user(&p, "ada@example.com");
    let old_forward = p
        .store
        .write(|tx| session::create_forward_auth(tx, &u.id, T0, T0 + 60))
        .unwrap();
    let rd = "https://app.home.example/page";
    let id =
        crate::signin::start(&p, SignInFor::ReturnTo(rd.into()), "b".repeat(40).as_str()).unwrap();
    let email = crate::users::Email::parse("ada@example.com").unwrap();
    let reservation = crate::signin::reserve_code(&p, &id, &email, None).unwrap();
    crate::signin::record_code(&p, &id, &email, "123456", reservation).unwrap();
    let done = crate::signin::verify_code(&p, &id, "123456", [old_forward.as_str()]).unwrap();
    let crate::signin::Next::ReturnTo {
        url,
        forward_auth_session,
    } = done.next
    else {
        panic!("{:?}", done.next);
    };
    assert_eq!(url, rd);
    // The new forward-auth session works; the one the browser had is gone; the sesame session
    // made alongside is sesame's own kind.
    let u2 = {
        let mut u = u.clone();
        u.groups = vec!["family".into()];
        u
    };
    p.store.write(|tx| tx.put_user(&u2)).unwrap();
    let app = target(rd);
    assert!(matches!(
        check(&p, &fa, &app, Some(&forward_auth_session)).unwrap(),
        Answer::Pass(Some(_))
    ));
    assert!(matches!(
        check(&p, &fa, &app, Some(&old_forward)).unwrap(),
        Answer::SignIn(_)
    ));
    assert!(session::current(&p, Some(&done.session_cookie))
        .unwrap()
        .is_some());
    // The audit log has the sign-in, with no app.
    let page = p
        .store
        .read(|tx| crate::audit::list(tx, &Default::default()))
        .unwrap();
    let last = page.entries.first().unwrap();
    assert_eq!(last.entry.client_id, None);
    assert_eq!(p.store.read(|tx| tx.interaction(&id)).unwrap(), None);
}
