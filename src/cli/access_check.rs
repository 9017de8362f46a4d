//! `sesame access check URL [--user USER]`: which `[[access]]` rule decides a URL, and why.
//!
//! It runs the forward-auth check's own code ([`crate::forward_auth`]: the URL parsed and its
//! path normalised as a proxy's request would be, the rules compiled from the configuration)
//! and prints every rule up to the one that decided. With `--user` it looks the person up
//! like `sesame user show` does (the running server, or the data file); without, it answers
//! for somebody not signed in. It never changes anything.

use super::access::admin_call;
use super::commands::parse;
use super::error::CliError;
use super::output::print_out;
use crate::admin::{Command, UserRef};
use crate::config::Config;
use crate::forward_auth::access::{Hit, Miss, Subject};
use crate::forward_auth::{AccessRules, CookieDomain, Decision, Policy, Target, Verdict, Who};
use crate::store::User;

pub(super) fn check(config: &Config, url: &str, user: Option<&str>) -> Result<(), CliError> {
    let rules = AccessRules::compile(&config.access).map_err(CliError::AccessRule)?;
    let target = Target::parse(url).map_err(CliError::NotAUrl)?;
    let person: Option<User> = match user {
        Some(who) => {
            let (result, _) = admin_call(config, Command::UserShow(UserRef { user: who.into() }))?;
            Some(parse(result)?)
        }
        None => None,
    };
    outln!("{}", target.url);
    outln!(
        "  host {}, path {} (as the rules see it)",
        target.host,
        target.path
    );
    match &person {
        Some(u) if u.disabled => {
            outln!(
                "  as {} (disabled: forward-auth treats them as not signed in)",
                u.email
            )
        }
        Some(u) => outln!("  as {}{}", u.email, groups(u)),
        None => outln!("  as somebody not signed in (--user USER for a person)"),
    }
    let who = match &person {
        Some(u) if !u.disabled => Who::User(u),
        _ => Who::Anonymous,
    };
    if rules.is_empty() {
        outln!("  there are no [[access]] rules");
    }
    let explained = rules.explain(&target.host, &target.path, who);
    for (index, step) in &explained.steps {
        match step {
            Ok(hit) => outln!(
                "  access[{index}] matches: {}",
                matched(hit, rules.policy(*index))
            ),
            Err(miss) => outln!(
                "  access[{index}] does not match: {}",
                missed(*miss, &target)
            ),
        }
    }
    outln!("=> {}", verdict(explained.decision));
    notes(config, &target);
    Ok(())
}

fn groups(u: &User) -> String {
    if u.groups.is_empty() {
        " (in no group)".into()
    } else {
        format!(" (groups: {})", u.groups.join(", "))
    }
}

fn matched(hit: &Hit<'_>, policy: Option<Policy>) -> String {
    let resource = match hit.resource {
        Some(r) => format!("path matches {r:?}"),
        None => "every path".into(),
    };
    let subject = match &hit.subject {
        Subject::Anyone => "anyone".to_string(),
        Subject::User(u) => format!("user {u}"),
        Subject::Group(g) => format!("group {g}"),
        Subject::NotSignedIn => "it names users or groups, and nobody is signed in".into(),
    };
    let policy = policy.map_or("?", Policy::as_str);
    format!(
        "domain {}, {resource}, {subject}; policy {policy}",
        hit.domain
    )
}

fn missed(miss: Miss, target: &Target) -> String {
    match miss {
        Miss::Domain => format!("none of its domains is {}", target.host),
        Miss::Resource => format!("none of its resources matches {}", target.path),
        Miss::Subject => "the user is none of its users and in none of its groups".into(),
    }
}

fn verdict(d: Decision) -> String {
    let rule = d.rule.map(|i| format!("access[{i}]"));
    match (d.verdict, rule) {
        (Verdict::Granted, Some(r)) if d.policy == Some(Policy::Bypass) => {
            format!("let through without asking who ({r}, bypass): 200")
        }
        (Verdict::Granted, Some(r)) => format!("let through with who it is ({r}): 200 and Remote-User"),
        (Verdict::SignIn, Some(r)) => format!(
            "sign in first ({r} depends on who it is): a redirect to sesame's sign-in; run with --user to see what a person gets"
        ),
        (Verdict::Denied, Some(r)) => format!("refused ({r}, deny): 403"),
        (Verdict::Denied, None) => "refused: no rule matches, and what no rule allows is denied: 403".into(),
        (Verdict::Granted | Verdict::SignIn, None) => "refused: 403".into(),
    }
}

/// What the rules alone do not say: forward-auth being off, or a host a sign-in could not
/// come back to.
fn notes(config: &Config, target: &Target) {
    match config.forward_auth.cookie_domain.as_deref().map(CookieDomain::parse) {
        None => outln!(
            "note: forward_auth.cookie_domain is not set, so the server does no forward-auth yet"
        ),
        Some(Ok(d)) if !d.covers(&target.host) => outln!(
            "note: {} is not under forward_auth.cookie_domain ({d}): its visitors could not be signed in",
            target.host
        ),
        _ => {}
    }
}
