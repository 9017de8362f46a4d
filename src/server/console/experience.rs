//! The console's sign-in experience: product name, logo URL, accent colour, sign-up mode and
//! allowed domains, and each code email's subject and body, over `sesame.toml`'s values
//! ([`crate::experience`]). The page says which value comes from the file and which from the
//! console; **Reset to file** removes the console's record (`experience.reset`).
//!
//! Saving (`experience.set`) is all or nothing: every field is checked first (as the
//! configuration is), and any refusal re-renders the form, status 422, with each field's error
//! and nothing stored. A value equal to the file's is not stored (it stays "from the file").
//!
//! The preview renders the draft on the server and never saves: without script, the form's
//! **Preview** button re-renders the page with the preview of what was typed; with script,
//! `experience.js` (a file, under `script-src 'self'`) posts the form to `/preview` as you type
//! (debounced) and puts the fragment it answers in place.
//!
//! The preview is the real thing, not a description: the sign-in page's card is the same
//! partial the sign-in page includes (`sign_in_email_form.html`, here with a form that cannot
//! be sent), in the draft accent through `preview.css?accent=%23rrggbb` (a stylesheet setting
//! the theme's variables on `.sign-in-preview` only: the CSP allows no inline style); each
//! email's HTML, rendered as a real send renders it, is a `data:` document in an
//! `<iframe sandbox>` (no script, an opaque origin; the page's CSP frames `data:` only).

use super::{console_page, run, url, Admin};
use crate::admin::{Command, NoArgs};
use crate::experience::{Experience, FieldError};
use crate::http::{self, Request, Response};
use crate::mail::{CodeMail, EmailTemplate, Purpose};
use crate::server::Server;
use crate::users::SignUpMode;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::StatusCode;
use serde_json::{json, Map, Value};

/// The form's values, as typed.
struct Draft {
    product_name: String,
    logo_url: String,
    accent_color: String,
    sign_up_mode: String,
    allowed_domains: String,
    /// Subject and body per purpose, in [`Purpose::ALL`]'s order.
    templates: Vec<(Purpose, String, String)>,
}

/// GET /console/experience: the form with the values in use.
pub fn show(s: &Server, req: &Request, admin: &Admin) -> Response {
    let draft = match current(s) {
        Ok(d) => d,
        Err(e) => return super::storage_failure(s, e),
    };
    page(s, req, admin, StatusCode::OK, &draft, &[], false)
}

/// POST /console/experience (`action` = `save` or `preview`).
pub fn save(s: &Server, req: &Request, admin: &Admin) -> Response {
    let draft = typed(req);
    if req.params().first("action") == Some("preview") {
        return page(s, req, admin, StatusCode::OK, &draft, &[], true);
    }
    let record = match record_of(s, &draft) {
        Ok(r) => r,
        Err(errors) => {
            return page(
                s,
                req,
                admin,
                StatusCode::UNPROCESSABLE_ENTITY,
                &draft,
                &errors,
                true,
            )
        }
    };
    match run(s, admin, Command::ExperienceSet(record)) {
        Ok(Ok(_)) => http::redirect(&format!(
            "{}?notice=experience_saved",
            url(s, "/experience")
        )),
        Ok(Err(e)) => {
            let errors = [FieldError {
                field: "form".into(),
                error: e,
            }];
            page(
                s,
                req,
                admin,
                StatusCode::UNPROCESSABLE_ENTITY,
                &draft,
                &errors,
                true,
            )
        }
        Err(r) => *r,
    }
}

/// POST /console/experience/reset: `experience.reset`, every value from the file again.
pub fn reset(s: &Server, _req: &Request, admin: &Admin) -> Response {
    match run(s, admin, Command::ExperienceReset(NoArgs {})) {
        Ok(Ok(_)) => http::redirect(&format!(
            "{}?notice=experience_reset",
            url(s, "/experience")
        )),
        Ok(Err(e)) => super::storage_failure(s, e),
        Err(r) => *r,
    }
}

/// POST /console/experience/preview: the preview fragment of the typed values. Saves nothing.
pub fn preview(s: &Server, req: &Request, admin: &Admin) -> Response {
    let draft = typed(req);
    let ctx = json!({ "preview": preview_of(s, admin, &draft) });
    let html = s.pages.render("console_experience_preview.html", ctx);
    http::html(StatusCode::OK, html)
}

/// GET /console/experience/preview.css?accent=%23rrggbb: the theme of a draft accent for the
/// preview's card; an accent that is not `#rrggbb` is a 400.
pub fn preview_css(req: &Request) -> Response {
    let accent = req.query().first("accent").unwrap_or("");
    match crate::pages::preview_theme(accent) {
        Some((css, _)) => {
            let mut resp = http::text(StatusCode::OK, css);
            resp.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/css; charset=utf-8"),
            );
            resp
        }
        None => http::text(
            StatusCode::BAD_REQUEST,
            "accent must be a colour in #rrggbb form, e.g. #5d34f2\n",
        ),
    }
}

/// The values in use (file + stored record) as a draft.
fn current(s: &Server) -> Result<Draft, crate::mail::MailError> {
    let e = s.provider.experience();
    let b = &e.effective.branding;
    let stored = e.effective.stored.clone().unwrap_or_default();
    let mut templates = Vec::new();
    for purpose in Purpose::ALL {
        let (subject, content) = match stored.template(purpose) {
            Some(t) => (t.subject.clone(), t.content.clone()),
            None => crate::mail::configured_template(&s.config.mail.templates, purpose)?,
        };
        templates.push((purpose, subject, content));
    }
    Ok(Draft {
        product_name: b.product_name.clone(),
        logo_url: b.logo_url.clone().unwrap_or_default(),
        accent_color: b.accent_color.clone(),
        sign_up_mode: e.effective.sign_up.mode.as_str().into(),
        allowed_domains: e.effective.sign_up.allowed_domains.join(", "),
        templates,
    })
}

/// The form's values.
fn typed(req: &Request) -> Draft {
    let f = req.params();
    let field = |name: &str| f.first(name).unwrap_or("").to_string();
    Draft {
        product_name: field("product_name").trim().into(),
        logo_url: field("logo_url").trim().into(),
        accent_color: field("accent_color").trim().into(),
        sign_up_mode: field("sign_up_mode"),
        allowed_domains: field("allowed_domains"),
        templates: Purpose::ALL
            .iter()
            .map(|p| {
                (
                    *p,
                    field(&format!("subject_{p}")),
                    field(&format!("content_{p}")),
                )
            })
            .collect(),
    }
}

/// The record to store for `draft`: only what differs from the file; or every refused field.
fn record_of(s: &Server, draft: &Draft) -> Result<Experience, Vec<FieldError>> {
    let file = s.provider.experience_file();
    let differs = |typed: &str, file: &str| (typed != file).then(|| typed.to_string());
    let mode = match parse_mode(&draft.sign_up_mode) {
        Some(m) => m,
        None => {
            return Err(vec![FieldError {
                field: "sign_up_mode".into(),
                error: format!("choose one of {}", SignUpMode::NAMES.join(", ")),
            }])
        }
    };
    let domains: Vec<String> = draft
        .allowed_domains
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();
    let mut templates = Vec::new();
    for (purpose, subject, content) in &draft.templates {
        let (file_subject, file_content) =
            crate::mail::configured_template(&s.config.mail.templates, *purpose).map_err(|e| {
                vec![FieldError {
                    field: "form".into(),
                    error: e.to_string(),
                }]
            })?;
        if normalized(subject) != normalized(&file_subject)
            || normalized(content) != normalized(&file_content)
        {
            templates.push(EmailTemplate {
                subject: subject.clone(),
                content: content.clone(),
                usage_type: purpose.as_str().into(),
            });
        }
    }
    let record = Experience {
        product_name: differs(&draft.product_name, &file.branding.product_name),
        logo_url: differs(
            &draft.logo_url,
            file.branding.logo_url.as_deref().unwrap_or(""),
        ),
        accent_color: differs(&draft.accent_color, &file.branding.accent_color),
        sign_up_mode: (mode != file.sign_up.mode).then_some(mode),
        allowed_domains: (domains != file.sign_up.allowed_domains).then_some(domains),
        templates,
    };
    let errors = record.check(&file.sign_up);
    if errors.is_empty() {
        Ok(record)
    } else {
        Err(errors)
    }
}

/// Text as a browser sends a textarea back (CRLF line ends), for comparing with the file's.
fn normalized(text: &str) -> String {
    text.replace("\r\n", "\n").trim().to_string()
}

/// A sign-up mode by its name.
fn parse_mode(name: &str) -> Option<SignUpMode> {
    SignUpMode::ALL.into_iter().find(|m| m.as_str() == name)
}

/// The preview's context: the header as the sign-in page shows it, and each email.
fn preview_of(s: &Server, admin: &Admin, draft: &Draft) -> Value {
    let product = if draft.product_name.is_empty() {
        s.provider.experience_file().branding.product_name.clone()
    } else {
        draft.product_name.clone()
    };
    let theme = crate::pages::preview_theme(&draft.accent_color);
    let logo_ok =
        !draft.logo_url.is_empty() && crate::pages::check_logo_url(&draft.logo_url).is_ok();
    let sample = CodeMail {
        code: "123456".into(),
        product: product.clone(),
        app: "Example app".into(),
        minutes: s.provider.tokens.sign_in_code_ttl.div_ceil(60),
        email: admin.user.email.clone(),
    };
    let emails: Vec<Value> = draft
        .templates
        .iter()
        .map(|(purpose, subject, content)| {
            let (subject, html, text) = crate::mail::preview(subject, content, &sample);
            let html_url = format!("data:text/html;charset=utf-8;base64,{}", STANDARD.encode(html));
            json!({ "purpose": purpose.as_str(), "subject": subject, "html_url": html_url, "text": text })
        })
        .collect();
    json!({
        "product_name": product,
        "logo_url": logo_ok.then(|| draft.logo_url.clone()),
        "accent_color": draft.accent_color,
        "theme_url": theme.is_some().then(|| format!(
            "{}?accent=%23{}",
            url(s, "/experience/preview.css"),
            &draft.accent_color[1..]
        )),
        "mark": theme.map(|(_, mark)| mark),
        "emails": emails,
    })
}

/// The page for `draft`, with `errors` beside their fields, and the preview when asked.
fn page(
    s: &Server,
    req: &Request,
    admin: &Admin,
    status: StatusCode,
    draft: &Draft,
    errors: &[FieldError],
    with_preview: bool,
) -> Response {
    let stored = s
        .provider
        .experience()
        .effective
        .stored
        .clone()
        .unwrap_or_default();
    let source = |console: bool| if console { "console" } else { "file" };
    let mut field_errors = Map::new();
    for e in errors {
        field_errors.insert(e.field.clone(), json!(e.error));
    }
    let templates: Vec<Value> = draft
        .templates
        .iter()
        .map(|(p, subject, content)| {
            json!({
                "purpose": p.as_str(),
                "subject": subject,
                "content": content,
                "source": source(stored.template(*p).is_some()),
                "subject_error": field_errors.get(&format!("templates.{p}.subject")),
                "content_error": field_errors.get(&format!("templates.{p}.content")),
            })
        })
        .collect();
    let modes: Vec<&str> = SignUpMode::NAMES.to_vec();
    let ctx = json!({
        "section": "experience",
        "draft": {
            "product_name": draft.product_name,
            "logo_url": draft.logo_url,
            "accent_color": draft.accent_color,
            "sign_up_mode": draft.sign_up_mode,
            "allowed_domains": draft.allowed_domains,
        },
        "sources": {
            "product_name": source(stored.product_name.is_some()),
            "logo_url": source(stored.logo_url.is_some()),
            "accent_color": source(stored.accent_color.is_some()),
            "sign_up_mode": source(stored.sign_up_mode.is_some()),
            "allowed_domains": source(stored.allowed_domains.is_some()),
        },
        "stored": s.provider.experience().effective.stored.is_some(),
        "modes": modes,
        "templates": templates,
        "field_errors": field_errors,
        "error": (!errors.is_empty()).then_some("Nothing was saved: correct the fields marked below."),
        "preview": with_preview.then(|| preview_of(s, admin, draft)),
    });
    let mut resp = console_page(s, req, admin, status, "console_experience.html", ctx);
    http::allow_own_scripts(&mut resp);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mode_is_one_of_the_names() {
        assert_eq!(parse_mode("domains"), Some(SignUpMode::Domains));
        assert_eq!(parse_mode("everyone"), None);
    }

    #[test]
    fn text_from_a_textarea_compares_equal_to_the_file() {
        assert_eq!(normalized("a\r\nb\r\n"), normalized("a\nb"));
    }
}
