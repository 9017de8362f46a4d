//! The rules alone: matching, first-match order, the default deny, what nobody signed in gets,
//! and the checks at compile time.

use super::*;

fn rule(domain: &[&str], policy: Policy) -> AccessRuleDecl {
    AccessRuleDecl {
        domain: Names(domain.iter().map(|d| d.to_string()).collect()),
        resources: Vec::new(),
        policy,
        users: Vec::new(),
        groups: Vec::new(),
    }
}

fn with_resources(mut r: AccessRuleDecl, resources: &[&str]) -> AccessRuleDecl {
    r.resources = resources.iter().map(|s| s.to_string()).collect();
    r
}

fn with_who(mut r: AccessRuleDecl, users: &[&str], groups: &[&str]) -> AccessRuleDecl {
    r.users = users.iter().map(|s| s.to_string()).collect();
    r.groups = groups.iter().map(|s| s.to_string()).collect();
    r
}

fn person(email: &str, username: Option<&str>, groups: &[&str]) -> User {
    let mut u = User::new("u1".into(), email.into(), 1);
    u.username = username.map(str::to_string);
    u.groups = groups.iter().map(|g| g.to_string()).collect();
    u
}

/// A homelab's rules: a public API path, the family's media, admins everywhere, deny the rest.
fn homelab() -> AccessRules {
    AccessRules::compile(&[
        with_resources(
            rule(&["*.home.example.com"], Policy::Bypass),
            &["^/api/", "^/health$"],
        ),
        with_who(
            rule(&["admin.home.example.com"], Policy::Allow),
            &[],
            &["admins"],
        ),
        rule(&["admin.home.example.com"], Policy::Deny),
        with_who(
            rule(
                &["media.home.example.com", "*.media.home.example.com"],
                Policy::Allow,
            ),
            &["Ana@Example.com", "kid"],
            &["family"],
        ),
        with_who(
            rule(&["*.home.example.com"], Policy::Deny),
            &["blocked@example.com"],
            &[],
        ),
        rule(&["wiki.home.example.com"], Policy::Allow),
    ])
    .unwrap()
}

fn verdict(rules: &AccessRules, host: &str, path: &str, who: Who<'_>) -> (Verdict, Option<usize>) {
    let d = rules.decide(host, path, who);
    (d.verdict, d.rule)
}

#[test]
fn the_first_matching_rule_decides_and_nothing_matching_is_denied() {
    let r = homelab();
    let ana = person("ana@example.com", None, &[]);
    let root = person("root@example.com", None, &["admins"]);
    let stranger = person("x@example.com", None, &[]);
    use Verdict::*;
    let cases = [
        // Bypass before anything else, for everyone.
        (
            "media.home.example.com",
            "/api/v1",
            Who::Anonymous,
            Granted,
            Some(0),
        ),
        (
            "admin.home.example.com",
            "/health",
            Who::User(&stranger),
            Granted,
            Some(0),
        ),
        // Allow for a group, then deny for the rest on the same host.
        (
            "admin.home.example.com",
            "/",
            Who::User(&root),
            Granted,
            Some(1),
        ),
        (
            "admin.home.example.com",
            "/",
            Who::User(&ana),
            Denied,
            Some(2),
        ),
        // Nobody signed in matches a rule that names people: sign in first.
        (
            "admin.home.example.com",
            "/",
            Who::Anonymous,
            SignIn,
            Some(1),
        ),
        // Users by address (any case) or username, or a group.
        (
            "media.home.example.com",
            "/",
            Who::User(&ana),
            Granted,
            Some(3),
        ),
        (
            "tv.media.home.example.com",
            "/",
            Who::User(&person("k@example.com", Some("Kid"), &[])),
            Granted,
            Some(3),
        ),
        (
            "media.home.example.com",
            "/",
            Who::User(&person("f@example.com", None, &["family"])),
            Granted,
            Some(3),
        ),
        // Not named: on to a deny that names someone else (no match), to the default deny.
        (
            "media.home.example.com",
            "/",
            Who::User(&stranger),
            Denied,
            None,
        ),
        // A deny naming someone: that someone is refused; nobody signed in must sign in.
        (
            "wiki.home.example.com",
            "/",
            Who::User(&person("blocked@example.com", None, &[])),
            Denied,
            Some(4),
        ),
        (
            "wiki.home.example.com",
            "/",
            Who::Anonymous,
            SignIn,
            Some(4),
        ),
        (
            "wiki.home.example.com",
            "/",
            Who::User(&stranger),
            Granted,
            Some(5),
        ),
        // A host no rule names.
        ("elsewhere.example.com", "/", Who::User(&root), Denied, None),
        ("elsewhere.example.com", "/", Who::Anonymous, Denied, None),
        // *.x does not match x itself.
        ("home.example.com", "/api/x", Who::Anonymous, Denied, None),
    ];
    for (host, path, who, want, rule) in cases {
        assert_eq!(
            verdict(&r, host, path, who),
            (want, rule),
            "{host}{path} {who:?}"
        );
    }
}

#[test]
fn each_policy_for_anyone_and_for_nobody_signed_in() {
    let ana = person("ana@example.com", None, &[]);
    let one = |policy, users: &[&str]| {
        AccessRules::compile(&[with_who(rule(&["a.example"], policy), users, &[])]).unwrap()
    };
    use Verdict::*;
    let cases = [
        (Policy::Bypass, &[][..], Granted, Granted),
        (Policy::Allow, &[][..], Granted, SignIn),
        (Policy::Allow, &["ana@example.com"][..], Granted, SignIn),
        (Policy::Deny, &[][..], Denied, Denied),
        (Policy::Deny, &["ana@example.com"][..], Denied, SignIn),
    ];
    for (policy, users, signed_in, anonymous) in cases {
        let r = one(policy, users);
        assert_eq!(
            r.decide("a.example", "/", Who::User(&ana)).verdict,
            signed_in,
            "{policy:?} {users:?}"
        );
        assert_eq!(
            r.decide("a.example", "/", Who::Anonymous).verdict,
            anonymous,
            "{policy:?} {users:?}"
        );
    }
}

#[test]
fn resources_are_unanchored_regexes_on_the_path() {
    let r = AccessRules::compile(&[
        with_resources(
            rule(&["a.example"], Policy::Bypass),
            &["^/public/", "\\.css$"],
        ),
        rule(&["a.example"], Policy::Deny),
    ])
    .unwrap();
    for (path, bypass) in [
        ("/public/x", true),
        ("/public/", true),
        ("/public", false),
        ("/x/public/", false),
        ("/style.css", true),
        ("/style.css/x", false),
    ] {
        let d = r.decide("a.example", path, Who::Anonymous);
        assert_eq!(d.verdict == Verdict::Granted, bypass, "{path}");
    }
}

#[test]
fn domains_are_exact_or_any_depth_under_a_wildcard() {
    let r = AccessRules::compile(&[rule(
        &["*.Home.Example.com.", "App.Other.example", "10.0.0.5"],
        Policy::Bypass,
    )])
    .unwrap();
    for (host, yes) in [
        ("a.home.example.com", true),
        ("a.b.home.example.com", true),
        ("home.example.com", false),
        ("xhome.example.com", false),
        ("a.home.example.com.evil", false),
        ("app.other.example", true),
        ("x.app.other.example", false),
        ("10.0.0.5", true),
    ] {
        assert_eq!(
            r.decide(host, "/", Who::Anonymous).verdict == Verdict::Granted,
            yes,
            "{host}"
        );
    }
}

#[test]
fn every_mistake_is_found_at_compile_time_and_names_its_key() {
    let bad = [
        (
            with_resources(rule(&["a.example"], Policy::Allow), &["("]),
            0,
            "resources",
            "not a regular expression",
        ),
        (rule(&[], Policy::Allow), 0, "domain", "names no domain"),
        (
            rule(&["a.*.example"], Policy::Allow),
            0,
            "domain",
            "not a host name or a wildcard",
        ),
        (
            rule(&["*.10.0.0.1"], Policy::Allow),
            0,
            "domain",
            "not a host name",
        ),
        (
            rule(&["https://a.example/"], Policy::Allow),
            0,
            "domain",
            "no scheme",
        ),
        (
            rule(&["a.example:8080"], Policy::Allow),
            0,
            "domain",
            "not a host name",
        ),
        (
            with_who(
                rule(&["a.example"], Policy::Bypass),
                &["ana@example.com"],
                &[],
            ),
            0,
            "users",
            "bypass",
        ),
        (
            with_who(
                rule(&["a.example"], Policy::Allow),
                &["not an address"],
                &[],
            ),
            0,
            "users",
            "neither",
        ),
        (
            with_who(rule(&["a.example"], Policy::Allow), &["@example.com"], &[]),
            0,
            "users",
            "not an email address",
        ),
        (
            with_who(rule(&["a.example"], Policy::Allow), &[], &["two words"]),
            0,
            "groups",
            "not a group name",
        ),
    ];
    for (decl, index, field, says) in bad {
        let e = AccessRules::compile(&[rule(&["ok.example"], Policy::Allow), decl]).unwrap_err();
        assert_eq!((e.index, e.field), (index + 1, field), "{e}");
        assert!(e.message.contains(says), "{e}");
    }
}

#[test]
fn the_explanation_walks_every_rule_up_to_the_one_that_decided() {
    let r = homelab();
    let ana = person("ana@example.com", None, &[]);
    let e = r.explain("media.home.example.com", "/shows", Who::User(&ana));
    let outcomes: Vec<_> = e.steps.iter().map(|(i, o)| (*i, o.clone())).collect();
    assert_eq!(
        outcomes,
        [
            (0, Err(Miss::Resource)),
            (1, Err(Miss::Domain)),
            (2, Err(Miss::Domain)),
            (
                3,
                Ok(Hit {
                    domain: "media.home.example.com",
                    resource: None,
                    subject: Subject::User("Ana@Example.com"),
                })
            ),
        ]
    );
    assert_eq!(e.decision.verdict, Verdict::Granted);
    assert_eq!(e.decision.policy, Some(Policy::Allow));

    let nobody = r.explain("elsewhere.example", "/", Who::Anonymous);
    assert_eq!(nobody.steps.len(), 6);
    assert_eq!(nobody.decision.rule, None);
    assert_eq!(nobody.decision.verdict, Verdict::Denied);
}

#[test]
fn regexes_have_ascii_classes_and_ascii_case_folding() {
    // regex-lite (see Cargo.toml): \d is [0-9], as in Go's regexp, which Authelia uses; (?i)
    // folds ASCII case; the `u` flag is accepted and ignored, so (?i-u) from older configs works.
    let r = AccessRules::compile(&[with_resources(
        rule(&["a.example"], Policy::Bypass),
        &[r"^/v\d+/", r"(?i-u)^/static/", r"(?i)^/icons/"],
    )])
    .unwrap();
    for (path, yes) in [
        ("/v2/x", true),
        ("/v\u{663}/x", false), // ARABIC-INDIC DIGIT THREE is not \d
        ("/STATIC/a.css", true),
        ("/Icons/a.svg", true),
        ("/\u{130}cons/a.svg", false), // no Unicode case folding: İ is not i
        ("/vx/", false),
    ] {
        assert_eq!(
            r.decide("a.example", path, Who::Anonymous).verdict == Verdict::Granted,
            yes,
            "{path}"
        );
    }
    // Unicode classes are not built in: the error names the key and says why, at start.
    let e = AccessRules::compile(&[with_resources(
        rule(&["a.example"], Policy::Bypass),
        &[r"^/\p{L}+"],
    )])
    .unwrap_err();
    assert_eq!(e.field, "resources", "{e}");
    assert!(
        e.message
            .contains("Unicode character classes are not supported"),
        "{e}"
    );
}
