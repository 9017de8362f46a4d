//! The sign-in experience: what the sign-in pages and the code emails look like and who may
//! sign up. `sesame.toml` gives the defaults (`[branding]`, `[sign_up]`, `mail.templates`);
//! the console (or `experience.set` on the control socket and the API) may override any of
//! them with ONE stored record ([`Experience`], key [`RECORD`] of [`SETTINGS`]). A value the
//! record leaves out comes from the file; `experience.reset` removes the record, and every
//! value comes from the file again.
//!
//! Saving is all or nothing: [`Experience::check`] validates every field as the configuration
//! would (the accent `#rrggbb`, no plain-http logo, a domain list for `domains`, templates whose
//! placeholders are known variables and whose body shows the code) and reports each refused
//! field; only a record that passes is written, in one transaction with its audit entry.
//!
//! The running server holds the result ([`Effective`]) in the provider, swapped whole
//! ([`crate::provider::Provider::set_experience`]); the mailer is rebuilt with the record's
//! templates over the file's (a stored SES connector's own templates still come first, as
//! they do over the file's).

use crate::mail::{EmailTemplate, MailConfig, Purpose};
use crate::pages::BrandingConfig;
use crate::store::{Store, StoreError, SETTINGS};
use crate::users::{SignUpConfig, SignUpMode};
use serde::{Deserialize, Serialize};

/// The key of the record in [`SETTINGS`].
pub const RECORD: &str = "experience";

/// The console's overrides of the file's sign-in experience; `None`: the file's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Experience {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// An https URL or a path on this origin; `""` shows no logo URL (a `logo_file` stays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accent_color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_up_mode: Option<SignUpMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    /// Code emails by purpose (Logto's shape); a purpose left out uses the file's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<EmailTemplate>,
}

/// A refused field: its name (as in [`Experience`], templates as `templates.<Purpose>.subject`
/// or `.content`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub error: String,
}

/// What the running server uses: the file's values with the record's over them.
#[derive(Debug, Clone)]
pub struct Effective {
    pub branding: BrandingConfig,
    pub sign_up: SignUpConfig,
    /// The record as stored (`None`: no record, all from the file).
    pub stored: Option<Experience>,
}

impl Experience {
    /// Every refused field (empty: the record may be stored), checked against the file's
    /// `sign_up` for a mode or domains left to it.
    pub fn check(&self, file: &SignUpConfig) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut refuse = |field: &str, error: String| {
            errors.push(FieldError {
                field: field.into(),
                error,
            })
        };
        if let Some(name) = &self.product_name {
            if name.trim().is_empty() {
                refuse("product_name", "must not be empty".into());
            } else if name.chars().count() > 100 {
                refuse("product_name", "is longer than 100 characters".into());
            }
        }
        if let Some(logo) = self.logo_url.as_deref().filter(|l| !l.is_empty()) {
            if let Err(e) = crate::pages::check_logo_url(logo) {
                refuse("logo_url", e);
            }
        }
        if let Some(accent) = &self.accent_color {
            if let Err(e) = crate::pages::check_accent(accent) {
                refuse("accent_color", e);
            }
        }
        if let Err(e) = self.sign_up(file).check() {
            refuse("allowed_domains", e);
        }
        for t in &self.templates {
            let Some(purpose) = Purpose::from_usage_type(&t.usage_type) else {
                refuse(
                    "templates",
                    format!("unknown usage type {:?}: use one of Register, SignIn, ForgotPassword, Generic", t.usage_type),
                );
                continue;
            };
            let field = |part: &str| format!("templates.{purpose}.{part}");
            if t.subject.trim().is_empty() {
                refuse(&field("subject"), "must not be empty".into());
            } else if let Err(e) = crate::mail::check_placeholders(&t.subject, false) {
                refuse(&field("subject"), e);
            }
            if t.content.trim().is_empty() {
                refuse(&field("content"), "must not be empty".into());
            } else if let Err(e) = crate::mail::check_placeholders(&t.content, true) {
                refuse(&field("content"), e);
            }
        }
        errors
    }

    /// The branding: `file` with this record's values over it.
    pub fn branding(&self, file: &BrandingConfig) -> BrandingConfig {
        let mut b = file.clone();
        if let Some(name) = &self.product_name {
            b.product_name = name.trim().to_string();
        }
        if let Some(logo) = &self.logo_url {
            b.logo_url = Some(logo.clone()).filter(|l| !l.is_empty());
        }
        if let Some(accent) = &self.accent_color {
            b.accent_color = accent.clone();
        }
        b
    }

    /// The sign-up policy: `file` with this record's values over it.
    pub fn sign_up(&self, file: &SignUpConfig) -> SignUpConfig {
        SignUpConfig {
            mode: self.sign_up_mode.unwrap_or(file.mode),
            allowed_domains: self
                .allowed_domains
                .clone()
                .unwrap_or_else(|| file.allowed_domains.clone()),
        }
    }

    /// `[mail]` with this record's templates after the file's (the last of a purpose wins).
    pub fn mail(&self, file: &MailConfig) -> MailConfig {
        let mut m = file.clone();
        m.templates.extend(self.templates.iter().cloned());
        m
    }

    /// This record's template for `purpose`, if it has one.
    pub fn template(&self, purpose: Purpose) -> Option<&EmailTemplate> {
        self.templates
            .iter()
            .rev()
            .find(|t| Purpose::from_usage_type(&t.usage_type) == Some(purpose))
    }
}

impl Effective {
    /// The file's values with `stored` over them.
    pub fn of(file: &File, stored: Option<Experience>) -> Effective {
        let e = stored.clone().unwrap_or_default();
        Effective {
            branding: e.branding(&file.branding),
            sign_up: e.sign_up(&file.sign_up),
            stored,
        }
    }
}

/// The file's sign-in experience: the defaults the record overrides.
#[derive(Debug, Clone, Default)]
pub struct File {
    pub branding: BrandingConfig,
    pub sign_up: SignUpConfig,
}

/// The stored record, if any. A record this version cannot read is an error, not ignored.
pub fn load(store: &Store) -> Result<Option<Experience>, LoadError> {
    let stored = store
        .read(|tx| tx.get(&SETTINGS, RECORD))
        .map_err(LoadError::Store)?;
    stored
        .map(|v| serde_json::from_value(v).map_err(LoadError::DoesNotLoad))
        .transpose()
}

/// Why the stored record could not be read.
#[derive(Debug)]
pub enum LoadError {
    /// The store could not be read.
    Store(StoreError),
    /// The record is not one this version reads.
    DoesNotLoad(serde_json::Error),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Store(e) => write!(f, "{e}"),
            LoadError::DoesNotLoad(e) => {
                write!(f, "the stored sign-in experience does not load: {e}")
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// `[mail]` with the stored record's templates over the file's (the file's alone when there is
/// no record or it cannot be read: mail must not stop for the console's templates).
pub fn mail_config(store: &Store, file: &MailConfig) -> MailConfig {
    match load(store) {
        Ok(Some(e)) => e.mail(file),
        Ok(None) => file.clone(),
        Err(err) => {
            tracing::error!("the stored sign-in experience cannot be read ({err}): the file's email templates are used");
            file.clone()
        }
    }
}
