//! Access rules: `[[access]]` in `sesame.toml`, in Authelia's shape so its guides carry over.
//!
//! ```toml
//! [[access]]
//! domain = "*.home.example.com"     # exact names or wildcards, one or a list
//! resources = ["^/api/"]            # path regexes; none: every path
//! policy = "bypass"                 # bypass | allow | deny
//! users = ["ana@example.com"]       # who (emails or usernames), with groups; none: anyone
//! groups = ["family"]
//! ```
//!
//! The rules are read in order and the first that matches decides; when none matches, the
//! request is denied. A rule matches when the host matches one of its domains, the normalised
//! path (`target::normalise_path`) one of its resources, and the person is one of its users or
//! in one of its groups. Nobody signed in matches every rule that names users or groups: who
//! they are decides, so they must sign in first (as Authelia does). What each policy then means:
//!
//! | policy   | signed in (and matched)  | not signed in                                        |
//! |----------|--------------------------|------------------------------------------------------|
//! | `bypass` | let through              | let through (a bypass rule may not name anyone)      |
//! | `allow`  | let through, with who    | sign in first                                        |
//! | `deny`   | refused                  | refused; sign in first if the rule names anyone      |
//!
//! Everything is checked when the configuration loads ([`AccessRules::compile`]): a bad regex,
//! domain or address names its key, so a rule never fails at request time.

use crate::store::User;
use crate::users::Email;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// One `[[access]]` table, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRuleDecl {
    /// Host names: exact (`app.home.example.com`) or `*.` and a name (any host under it, at
    /// any depth, but not the name itself).
    pub domain: Names,
    /// Regexes (`regex-lite` syntax: Rust `regex` with ASCII-only `\d \w \s` and `(?i)`, no
    /// `\p{..}`; unanchored: write `^`) matched against the normalised path; empty: every path.
    #[serde(default)]
    pub resources: Vec<String>,
    pub policy: Policy,
    /// Email addresses or usernames.
    #[serde(default)]
    pub users: Vec<String>,
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// One name or a list of names (`domain = "a"` or `domain = ["a", "b"]`); written back as a list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Names(pub Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(Names(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }))
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Let the request through without asking who it is (a public path, an API with its own
    /// keys).
    Bypass,
    /// Let signed-in people through (those the rule names, when it names any).
    Allow,
    /// Refuse.
    Deny,
}

impl Policy {
    pub const NAMES: [&'static str; 3] = ["bypass", "allow", "deny"];

    pub const fn as_str(self) -> &'static str {
        match self {
            Policy::Bypass => "bypass",
            Policy::Allow => "allow",
            Policy::Deny => "deny",
        }
    }
}

/// The rules, checked and compiled, in their order.
#[derive(Debug, Clone, Default)]
pub struct AccessRules {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    domains: Vec<(DomainPattern, String)>,
    resources: Vec<regex_lite::Regex>,
    policy: Policy,
    users: Vec<(Principal, String)>,
    groups: Vec<String>,
}

/// A domain pattern, lower-case ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DomainPattern {
    /// This host exactly.
    Exact(String),
    /// Any host under this name (`*.home.example.com` is `Under("home.example.com")`).
    Under(String),
}

/// A user a rule names, by the key they are compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    /// An email address's comparison key ([`Email`]).
    Email(String),
    /// A username, lower-cased (usernames are unique ASCII case-insensitively).
    Username(String),
}

/// A rule that does not compile: which one, which key, why. Configuration prefixes the key
/// with `access[index].`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRuleError {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for AccessRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "access[{}].{}: {}", self.index, self.field, self.message)
    }
}

impl std::error::Error for AccessRuleError {}

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// Nobody is signed in (or the cookie names no live session).
    Anonymous,
    User(&'a User),
}

/// What the rules say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let the request through.
    Granted,
    /// Who is asking decides it, and nobody is signed in: sign in first.
    SignIn,
    /// Refused.
    Denied,
}

/// The verdict and the rule that gave it (`None`: no rule matched, the default deny).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub rule: Option<usize>,
    /// The matching rule's policy.
    pub policy: Option<Policy>,
}

/// How a rule matched: the pattern, regex and person (or group) it matched with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'r> {
    pub domain: &'r str,
    /// `None`: the rule has no resources (every path).
    pub resource: Option<&'r str>,
    pub subject: Subject<'r>,
}

/// Whom a rule matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject<'r> {
    /// The rule names nobody: it is about the request alone.
    Anyone,
    /// The user, as the rule names them.
    User(&'r str),
    /// A group of theirs the rule names.
    Group(&'r str),
    /// The rule names users or groups and nobody is signed in.
    NotSignedIn,
}

/// Why a rule did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// None of its domains is the host.
    Domain,
    /// None of its resources matches the path.
    Resource,
    /// The user is none of its users and in none of its groups.
    Subject,
}

/// Every rule up to the one that decided, and what each did: what `sesame access check` prints.
#[derive(Debug, Clone)]
pub struct Explanation<'r> {
    pub steps: Vec<(usize, Result<Hit<'r>, Miss>)>,
    pub decision: Decision,
}

impl AccessRules {
    /// Checks and compiles the declared rules, in order.
    pub fn compile(decls: &[AccessRuleDecl]) -> Result<AccessRules, AccessRuleError> {
        let rules = decls
            .iter()
            .enumerate()
            .map(|(index, d)| {
                Rule::compile(d).map_err(|(field, message)| AccessRuleError {
                    index,
                    field,
                    message,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(AccessRules { rules })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first matching rule's verdict, or denied. `host` is lower-case without a port,
    /// `path` normalised ([`super::Target`] has both).
    pub fn decide(&self, host: &str, path: &str, who: Who<'_>) -> Decision {
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.test(host, path, who).is_ok() {
                return rule.decision(i, who);
            }
        }
        Decision {
            verdict: Verdict::Denied,
            rule: None,
            policy: None,
        }
    }

    /// [`AccessRules::decide`], with what every rule up to the deciding one did.
    pub fn explain(&self, host: &str, path: &str, who: Who<'_>) -> Explanation<'_> {
        let mut steps = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let outcome = rule.test(host, path, who);
            let hit = outcome.is_ok();
            steps.push((i, outcome));
            if hit {
                return Explanation {
                    steps,
                    decision: rule.decision(i, who),
                };
            }
        }
        Explanation {
            steps,
            decision: Decision {
                verdict: Verdict::Denied,
                rule: None,
                policy: None,
            },
        }
    }

    /// The policy of rule `index`, as declared.
    pub fn policy(&self, index: usize) -> Option<Policy> {
        self.rules.get(index).map(|r| r.policy)
    }
}

impl Rule {
    fn compile(d: &AccessRuleDecl) -> Result<Rule, (&'static str, String)> {
        if d.domain.0.is_empty() {
            return Err((
                "domain",
                "names no domain: give at least one, e.g. \"*.home.example.com\"".into(),
            ));
        }
        let domains = d
            .domain
            .0
            .iter()
            .map(|raw| domain_pattern(raw).map(|p| (p, raw.trim().to_string())))
            .collect::<Result<_, _>>()
            .map_err(|m| ("domain", m))?;
        let resources = d
            .resources
            .iter()
            .map(|r| {
                // regex-lite's messages are one line ("unrecognized escape sequence").
                regex_lite::Regex::new(r)
                    .map_err(|e| format!("{r:?} is not a regular expression sesame takes ({e})"))
            })
            .collect::<Result<_, _>>()
            .map_err(|m| ("resources", m))?;
        let users = d
            .users
            .iter()
            .map(|u| principal(u).map(|p| (p, u.trim().to_string())))
            .collect::<Result<_, _>>()
            .map_err(|m| ("users", m))?;
        for g in &d.groups {
            if g.trim().is_empty() || g.contains(char::is_whitespace) {
                return Err(("groups", format!("{g:?} is not a group name")));
            }
        }
        let rule = Rule {
            domains,
            resources,
            policy: d.policy,
            users,
            groups: d.groups.iter().map(|g| g.trim().to_string()).collect(),
        };
        if rule.policy == Policy::Bypass && rule.names_anyone() {
            return Err((
                if rule.users.is_empty() { "groups" } else { "users" },
                "a bypass rule lets requests through without asking who sends them, so it cannot name users or groups: use policy = \"allow\"".into(),
            ));
        }
        Ok(rule)
    }

    fn names_anyone(&self) -> bool {
        !self.users.is_empty() || !self.groups.is_empty()
    }

    /// Whether the rule matches, each criterion in turn.
    fn test<'r>(&'r self, host: &str, path: &str, who: Who<'_>) -> Result<Hit<'r>, Miss> {
        let domain = self
            .domains
            .iter()
            .find(|(p, _)| p.matches(host))
            .map(|(_, raw)| raw.as_str())
            .ok_or(Miss::Domain)?;
        let resource = if self.resources.is_empty() {
            None
        } else {
            let r = self
                .resources
                .iter()
                .find(|r| r.is_match(path))
                .ok_or(Miss::Resource)?;
            Some(r.as_str())
        };
        let subject = match who {
            _ if !self.names_anyone() => Subject::Anyone,
            Who::Anonymous => Subject::NotSignedIn,
            Who::User(user) => self.subject(user).ok_or(Miss::Subject)?,
        };
        Ok(Hit {
            domain,
            resource,
            subject,
        })
    }

    fn subject<'r>(&'r self, user: &User) -> Option<Subject<'r>> {
        if !self.users.is_empty() {
            // Parsed only for rules that name users (the stored address always parses).
            let email_key = Email::parse(&user.email).map(|e| e.key).ok();
            let found = self.users.iter().find(|(p, _)| match p {
                Principal::Email(key) => email_key.as_deref() == Some(key.as_str()),
                Principal::Username(name) => user
                    .username
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(name)),
            });
            if let Some((_, raw)) = found {
                return Some(Subject::User(raw));
            }
        }
        self.groups
            .iter()
            .find(|g| user.in_group(g))
            .map(|g| Subject::Group(g))
    }

    fn decision(&self, index: usize, who: Who<'_>) -> Decision {
        let signed_in = matches!(who, Who::User(_));
        let verdict = match self.policy {
            Policy::Bypass => Verdict::Granted,
            Policy::Allow if signed_in => Verdict::Granted,
            Policy::Allow => Verdict::SignIn,
            Policy::Deny if !signed_in && self.names_anyone() => Verdict::SignIn,
            Policy::Deny => Verdict::Denied,
        };
        Decision {
            verdict,
            rule: Some(index),
            policy: Some(self.policy),
        }
    }
}

impl DomainPattern {
    fn matches(&self, host: &str) -> bool {
        match self {
            DomainPattern::Exact(h) => host == h,
            DomainPattern::Under(d) => {
                host.len() > d.len() + 1
                    && host.ends_with(d.as_str())
                    && host.as_bytes()[host.len() - d.len() - 1] == b'.'
            }
        }
    }
}

/// `app.home.example.com` or `*.home.example.com`, lower-cased (IDNA for Unicode names); an
/// IP address only exactly.
fn domain_pattern(raw: &str) -> Result<DomainPattern, String> {
    let t = raw.trim();
    let t = t.strip_suffix('.').unwrap_or(t);
    let bad = || {
        format!(
            "{raw:?} is not a host name or a wildcard: write app.home.example.com, or *.home.example.com for every host under home.example.com (no scheme, port or path)"
        )
    };
    let (wildcard, name) = match t.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if name.is_empty()
        || name.contains(['*', '/', '@'])
        || (name.contains(':') && !name.starts_with('['))
    {
        return Err(bad());
    }
    let host = match url::Host::parse(name).map_err(|_| bad())? {
        url::Host::Domain(d) if !d.split('.').any(str::is_empty) => d,
        url::Host::Domain(_) => return Err(bad()),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) if wildcard => return Err(bad()),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
    };
    Ok(if wildcard {
        DomainPattern::Under(host)
    } else {
        DomainPattern::Exact(host)
    })
}

fn principal(raw: &str) -> Result<Principal, String> {
    let t = raw.trim();
    if t.contains('@') {
        return Email::parse(t)
            .map(|e| Principal::Email(e.key))
            .map_err(|e| format!("{raw:?} is not an email address: {e}"));
    }
    if t.is_empty() || t.contains(char::is_whitespace) {
        return Err(format!(
            "{raw:?} is neither an email address nor a username"
        ));
    }
    Ok(Principal::Username(t.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests;
