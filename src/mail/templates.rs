//! Email templates: Logto's shape (subject + HTML content + usage type), the variables filled
//! in, a plain-text part derived from the HTML.
//!
//! The variables ([`CodeMail`]): `{{code}}` the code, `{{product}}` the product name,
//! `{{app}}` the app being signed in to (its name, the host behind the proxy, or the product
//! name when there is none), `{{minutes}}` how long the code works, `{{email}}` the address it
//! was sent to. Naming the product, the app and the address tells a reader which sign-in the
//! code is for, so a code asked for by someone else stands out. Values are HTML-escaped in the
//! body; the subject is one line. Anything else in braces is left as written.
//!
//! Which template a purpose uses, first match wins:
//! 1. the SES connector's `templates` (when sending through SES),
//! 2. `mail.templates` in the configuration,
//! 3. the default embedded from `assets/email/<usageType>.html` with its subject from
//!    `assets/email/subjects.toml`.
//!
//! A configured Generic template is not used in place of a missing SignIn one: a missing template
//! falls back to the built-in default for the same purpose, as the SES validation notes say.

use rust_embed::RustEmbed;

use super::html_text::html_to_text;
use super::{EmailTemplate, MailError, Purpose};

/// The default templates, compiled into the binary.
#[derive(RustEmbed)]
#[folder = "assets/email/"]
struct DefaultTemplates;

/// One template per purpose, resolved once when the mailer is built.
#[derive(Debug, Clone)]
pub(crate) struct TemplateSet {
    /// Indexed by `Purpose::index()`.
    templates: [Template; 4],
}

/// A subject and an HTML body, both with `{{code}}` placeholders.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    pub subject: String,
    pub html: String,
    /// True when this is the embedded default (for status and notes).
    pub is_default: bool,
}

/// What one code email says: the code and the words around it.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeMail {
    pub code: String,
    /// The product name (`[branding] product_name`).
    pub product: String,
    /// The app signed in to (or the host behind the proxy; the product when neither).
    pub app: String,
    /// The code's lifetime, in whole minutes (rounded up).
    pub minutes: u64,
    /// The address the code is sent to.
    pub email: String,
}

impl CodeMail {
    /// The words of `sesame mail test`'s message (no app: the product stands in).
    pub fn test(product: &str, email: &str, code: &str) -> CodeMail {
        CodeMail {
            code: code.to_string(),
            product: product.into(),
            app: product.into(),
            minutes: 10,
            email: email.to_string(),
        }
    }

    fn vars(&self) -> [(&'static str, String); 5] {
        [
            ("code", self.code.clone()),
            ("product", self.product.clone()),
            ("app", self.app.clone()),
            ("minutes", self.minutes.to_string()),
            ("email", self.email.clone()),
        ]
    }
}

/// A message's text, ready for the MIME builder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RenderedEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl TemplateSet {
    /// Empty templates, for a mailer that never sends (a misconfigured one) when even the
    /// embedded defaults cannot be read.
    pub(crate) fn placeholder() -> TemplateSet {
        let empty = || Template {
            subject: String::new(),
            html: String::new(),
            is_default: true,
        };
        TemplateSet {
            templates: [empty(), empty(), empty(), empty()],
        }
    }

    /// Resolves a template for every purpose from the configured layers (most specific first),
    /// then the embedded defaults. Layers must already be validated (`check_templates`).
    pub(crate) fn resolve(layers: &[&[EmailTemplate]]) -> Result<TemplateSet, MailError> {
        let subjects = default_subjects()?;
        let pick = |purpose: Purpose| -> Result<Template, MailError> {
            for layer in layers {
                // The last entry of a layer wins, as later lines of a config file override earlier.
                if let Some(t) = layer
                    .iter()
                    .rev()
                    .find(|t| Purpose::from_usage_type(&t.usage_type) == Some(purpose))
                {
                    return Ok(Template {
                        subject: t.subject.clone(),
                        html: t.content.clone(),
                        is_default: false,
                    });
                }
            }
            default_template(purpose, &subjects)
        };
        Ok(TemplateSet {
            templates: [
                pick(Purpose::Register)?,
                pick(Purpose::SignIn)?,
                pick(Purpose::ForgotPassword)?,
                pick(Purpose::Generic)?,
            ],
        })
    }

    pub(crate) fn get(&self, purpose: Purpose) -> &Template {
        &self.templates[purpose.index()]
    }

    /// The email for `purpose` with the variables filled in.
    pub(crate) fn render(&self, purpose: Purpose, mail: &CodeMail) -> RenderedEmail {
        self.get(purpose).render(mail)
    }
}

impl Template {
    pub(crate) fn render(&self, mail: &CodeMail) -> RenderedEmail {
        let vars = mail.vars();
        let html = fill(&self.html, &vars, |v| {
            crate::pages::escape_html(v).into_owned()
        });
        // A subject is one header line: no line breaks, whatever the template holds.
        let subject = fill(&self.subject, &vars, str::to_string)
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let text = html_to_text(&html);
        RenderedEmail {
            subject,
            html,
            text,
        }
    }
}

/// The template `purpose` uses under `config` alone (its `mail.templates`, else the embedded
/// default): what the console shows as the file's value.
pub fn configured_template(
    config: &[EmailTemplate],
    purpose: Purpose,
) -> Result<(String, String), MailError> {
    let set = TemplateSet::resolve(&[config])?;
    let t = set.get(purpose);
    Ok((t.subject.clone(), t.html.clone()))
}

/// A draft's subject, HTML part and plain-text part with `mail`'s words filled in, as it would
/// be sent (the console's preview): the same rendering as a real send.
pub fn preview(subject: &str, html: &str, mail: &CodeMail) -> (String, String, String) {
    let t = Template {
        subject: subject.into(),
        html: html.into(),
        is_default: false,
    };
    let r = t.render(mail);
    (r.subject, r.html, r.text)
}

/// Checks a template's text compiles: every `{{` closes, and names one of the variables
/// ([`CodeMail`]'s: code, product, app, minutes, email), and `{{code}}` is in the body (an
/// email without its code signs nobody in).
pub fn check_placeholders(text: &str, needs_code: bool) -> Result<(), String> {
    let mut rest = text;
    let mut has_code = false;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("a {{ is never closed with }}".into());
        };
        let name = after[..end].trim();
        if !VARIABLES.contains(&name) {
            return Err(format!(
                "{{{{{name}}}}} is not a variable: use {}",
                VARIABLES.map(|v| format!("{{{{{v}}}}}")).join(", ")
            ));
        }
        has_code |= name == "code";
        rest = &after[end + 2..];
    }
    if needs_code && !has_code {
        return Err("the body must show the code: put {{code}} in it".into());
    }
    Ok(())
}

/// The names a template may use in braces.
const VARIABLES: [&str; 5] = ["code", "product", "app", "minutes", "email"];

/// Checks configured templates: a known usage type, a subject and content. `key` names the list
/// in messages (`templates`, `mail.templates`).
pub(crate) fn check_templates(key: &str, templates: &[EmailTemplate]) -> Result<(), MailError> {
    for (i, t) in templates.iter().enumerate() {
        if Purpose::from_usage_type(&t.usage_type).is_none() {
            return Err(MailError::Invalid {
                key: format!("{key}[{i}].usageType"),
                reason: format!(
                    "unknown usage type {:?}: use one of Register, SignIn, ForgotPassword, Generic",
                    t.usage_type
                ),
            });
        }
        if t.subject.trim().is_empty() {
            return Err(MailError::Invalid {
                key: format!("{key}[{i}].subject"),
                reason: "empty subject".into(),
            });
        }
        if t.content.trim().is_empty() {
            return Err(MailError::Invalid {
                key: format!("{key}[{i}].content"),
                reason: "empty content".into(),
            });
        }
    }
    Ok(())
}

fn default_subjects() -> Result<toml::Table, MailError> {
    let file = DefaultTemplates::get("subjects.toml")
        .ok_or(MailError::DefaultTemplateMissing("subjects.toml"))?;
    let text = std::str::from_utf8(&file.data)
        .map_err(|_| MailError::DefaultTemplateMissing("subjects.toml"))?;
    text.parse::<toml::Table>()
        .map_err(|_| MailError::DefaultTemplateMissing("subjects.toml"))
}

fn default_template(purpose: Purpose, subjects: &toml::Table) -> Result<Template, MailError> {
    let name = purpose.default_file();
    let file = DefaultTemplates::get(name).ok_or(MailError::DefaultTemplateMissing(name))?;
    let html = String::from_utf8(file.data.into_owned())
        .map_err(|_| MailError::DefaultTemplateMissing(name))?;
    let subject = subjects
        .get(purpose.as_str())
        .and_then(|v| v.as_str())
        .ok_or(MailError::DefaultTemplateMissing("subjects.toml"))?;
    Ok(Template {
        subject: subject.to_string(),
        html,
        is_default: true,
    })
}

/// Replaces every `{{name}}` of `vars` (spaces inside the braces allowed, as Logto users write
/// both) with its value passed through `escape`; unknown names stay as written.
fn fill(template: &str, vars: &[(&str, String)], escape: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let inner_end = after.find("}}");
        let var = inner_end.and_then(|end| {
            let name = after[..end].trim();
            vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (end, v))
        });
        match var {
            Some((end, value)) => {
                out.push_str(&escape(value));
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(code: &str) -> CodeMail {
        CodeMail {
            code: code.into(),
            product: "Acme ID".into(),
            app: "Bookstore & Co".into(),
            minutes: 7,
            email: "ana@example.com".into(),
        }
    }

    #[test]
    fn defaults_name_the_product_the_app_the_address_and_the_real_lifetime() {
        let set = TemplateSet::resolve(&[]).unwrap();
        for p in Purpose::ALL {
            let email = set.render(p, &mail("123456"));
            for text in [&email.html, &email.text] {
                assert!(text.contains("Acme ID"), "{p:?}: {text}");
                assert!(text.contains("ana@example.com"), "{p:?}: {text}");
                assert!(text.contains("7 minutes"), "{p:?}: {text}");
                assert!(!text.contains("a few minutes"), "{p:?}: {text}");
            }
        }
        for p in [Purpose::SignIn, Purpose::Register] {
            let email = set.render(p, &mail("123456"));
            assert!(
                email.html.contains("Bookstore &amp; Co"),
                "{p:?}: escaped in HTML"
            );
            assert!(email.text.contains("Bookstore & Co"), "{p:?}");
        }
        assert_eq!(
            set.render(Purpose::SignIn, &mail("123456")).subject,
            "123456 is your Bookstore & Co sign-in code"
        );
    }

    #[test]
    fn custom_templates_get_every_variable() {
        let custom = [t(
            "SignIn",
            "{{ product }}: {{code}} for {{app}}",
            "<p>{{email}} {{minutes}} {{app}} {{nope}}</p>",
        )];
        let set = TemplateSet::resolve(&[&custom]).unwrap();
        let email = set.render(Purpose::SignIn, &mail("42"));
        assert_eq!(email.subject, "Acme ID: 42 for Bookstore & Co");
        assert_eq!(
            email.html,
            "<p>ana@example.com 7 Bookstore &amp; Co {{nope}}</p>"
        );
    }

    fn t(usage: &str, subject: &str, content: &str) -> EmailTemplate {
        EmailTemplate {
            subject: subject.into(),
            content: content.into(),
            usage_type: usage.into(),
        }
    }

    #[test]
    fn defaults_exist_for_every_purpose_and_carry_the_code() {
        let set = TemplateSet::resolve(&[]).unwrap();
        for p in Purpose::ALL {
            let email = set.render(p, &mail("123456"));
            assert!(set.get(p).is_default);
            assert!(email.html.contains("123456"), "{p:?}");
            assert!(email.text.contains("123456"), "{p:?}");
            assert!(email.subject.contains("123456"), "{p:?}");
            assert!(!email.html.contains("{{"), "{p:?}");
            assert!(!email.text.contains('<'), "{p:?}: {}", email.text);
        }
        assert_ne!(
            set.get(Purpose::Register).html,
            set.get(Purpose::SignIn).html
        );
    }

    #[test]
    fn configured_template_wins_and_code_is_escaped_in_html_only() {
        let ses = [t(
            "SignIn",
            "Code {{ code }}",
            "<p>Your code: <b>{{code}}</b></p>",
        )];
        let file = [
            t("SignIn", "ignored", "ignored"),
            t("Generic", "G", "<p>{{code}}</p>"),
        ];
        let set = TemplateSet::resolve(&[&ses, &file]).unwrap();
        let email = set.render(Purpose::SignIn, &mail("<1&2>"));
        assert_eq!(email.subject, "Code <1&2>");
        assert_eq!(email.html, "<p>Your code: <b>&lt;1&amp;2&gt;</b></p>");
        assert_eq!(email.text, "Your code: <1&2>");
        assert_eq!(set.render(Purpose::Generic, &mail("1")).subject, "G");
        // Missing Register: the built-in default, not the configured Generic.
        assert!(set.get(Purpose::Register).is_default);
    }

    #[test]
    fn subject_is_one_line() {
        let tpl = Template {
            subject: "a\r\nBcc: x@y.z\n{{code}}".into(),
            html: String::new(),
            is_default: false,
        };
        assert_eq!(tpl.render(&mail("42")).subject, "a Bcc: x@y.z 42");
    }

    #[test]
    fn placeholder_variants() {
        let vars = [("code", "1".to_string())];
        assert_eq!(
            fill("{{code}}-{{ code }}-{{x}}-{{", &vars, str::to_string),
            "1-1-{{x}}-{{"
        );
    }

    #[test]
    fn unknown_usage_type_is_named() {
        let err = check_templates("templates", &[t("SignIn", "s", "c"), t("Login", "s", "c")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("templates[1].usageType"), "{err}");
        assert!(err.contains("Login"), "{err}");
    }
}
