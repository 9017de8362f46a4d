//! Checks on values that have the right type but may still be wrong: an issuer that is not an
//! absolute URL, a listen address that is not one, a colour that is not `#rrggbb`, a sender
//! address that does not parse, an SES region that is not one, a declared app without a
//! secret. Each error names the key and where its value came from. Settings that are valid but
//! will not do what they seem to (SMTP settings with the log transport, an issuer on another
//! port than sesame listens on) are warnings.
//!
//! Uses the checks of the parts that own the values, so a value is judged the same way at load
//! as at run time: mail's SES connector validation, apps' client ID and redirect URI rules, the
//! store's app types.

use super::keys::camel_to_snake;
use super::layers::Sources;
use super::{Config, ConfigError};
use crate::mail::MailError;
use crate::store::AppType;
use std::collections::HashSet;
use std::net::SocketAddr;

/// `[sign_up]`: `domains` needs domains, each a host name.
fn sign_up(
    config: &Config,
    fail: &impl Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    config
        .sign_up
        .check()
        .map_err(|e| fail("sign_up.allowed_domains", e))
}

/// Checks the values and returns warnings: settings that are valid but probably not what the
/// operator meant. `issuer_set` says whether anyone set the issuer (else it follows `listen`).
pub(super) fn validate(
    config: &mut Config,
    sources: &Sources,
    issuer_set: bool,
) -> Result<Vec<String>, ConfigError> {
    let fail = |key: &str, message: String| ConfigError::Invalid {
        key: key.to_string(),
        source: sources.of(key),
        message,
    };
    let mut warnings = Vec::new();

    let Ok(listen) = config.listen.parse::<SocketAddr>() else {
        return Err(fail(
            "listen",
            format!(
                "{:?} is not a socket address; expected IP:PORT, e.g. 127.0.0.1:8080 or [::]:8080",
                config.listen
            ),
        ));
    };
    // Unset, the issuer is where sesame listens, as a browser on this machine reaches it. An
    // ephemeral port (0) is not known yet: the default stays.
    if !issuer_set && listen.port() != 0 {
        config.issuer = format!("http://localhost:{}", listen.port());
    }
    config.issuer = issuer(&config.issuer).map_err(|m| fail("issuer", m))?;
    if issuer_set {
        warnings.extend(issuer_port_mismatch(&config.issuer, listen));
    }
    if config.data_dir.as_os_str().is_empty() {
        return Err(fail("data_dir", "must not be empty".into()));
    }

    let b = &config.branding;
    if b.product_name.trim().is_empty() {
        return Err(fail("branding.product_name", "must not be empty".into()));
    }
    if let Err(e) = crate::pages::check_accent(&b.accent_color) {
        return Err(fail("branding.accent_color", e));
    }
    logo(b, &fail)?;

    if let Err(e) = crate::limits::TrustedProxies::parse(&config.limits.trusted_proxies) {
        return Err(fail("limits.trusted_proxies", e.to_string()));
    }
    sign_up(config, &fail)?;
    warnings.extend(mail(config, &fail)?);
    apps(config, sources)?;
    warnings.extend(forward_auth(config, &fail)?);
    Ok(warnings)
}

/// `[branding]`'s logo: a URL the pages' CSP lets the browser load (`img-src 'self' https:`),
/// or a local file sesame serves itself. A plain-http logo is refused rather than allowed by
/// the CSP: on an https sign-in page it is mixed content, and anyone on the path could swap
/// the image the sign-in page shows; a logo on a plain-http host is served with `logo_file`.
fn logo(
    b: &crate::pages::BrandingConfig,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    if let Some(logo) = &b.logo_url {
        crate::pages::check_logo_url(logo).map_err(|e| fail("branding.logo_url", e))?;
    }
    if let Some(path) = &b.logo_file {
        if b.logo_url.is_some() {
            return Err(fail(
                "branding.logo_file",
                "set branding.logo_url or branding.logo_file, not both".into(),
            ));
        }
        if crate::pages::logo_type(path).is_none() {
            return Err(fail(
                "branding.logo_file",
                format!(
                    "{} is not a .png, .svg, .jpg, .webp or .gif file",
                    path.display()
                ),
            ));
        }
        match std::fs::metadata(path) {
            Err(e) => {
                return Err(fail(
                    "branding.logo_file",
                    format!("{} cannot be read: {e}", path.display()),
                ))
            }
            Ok(m) if m.len() > crate::pages::MAX_LOGO_BYTES => {
                return Err(fail(
                    "branding.logo_file",
                    format!(
                        "{} is {} KiB; a logo may be at most {} KiB",
                        path.display(),
                        m.len().div_ceil(1024),
                        crate::pages::MAX_LOGO_BYTES / 1024
                    ),
                ))
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// `[forward_auth]` and `[[access]]`, checked as the server will build them: the cookie domain
/// must cover the issuer, and every rule must compile (a bad regex, domain or address names its
/// key).
fn forward_auth(
    config: &Config,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Vec<String>, ConfigError> {
    use crate::forward_auth::{ForwardAuth, ForwardAuthError};
    let issuer =
        crate::issuer::Issuer::parse(&config.issuer).map_err(|e| fail("issuer", e.to_string()))?;
    match ForwardAuth::new(&config.forward_auth, &config.access, &issuer) {
        Ok(Some(fa)) if fa.rules.is_empty() => Ok(vec![format!(
            "forward_auth.cookie_domain is set but there are no [[access]] rules: forward-auth refuses every request until a rule allows it (add e.g. [[access]] domain = \"*.{}\" policy = \"allow\")",
            fa.cookie_domain
        )]),
        Ok(_) => Ok(Vec::new()),
        Err(ForwardAuthError::Rule(e)) => Err(fail(
            &format!("access[{}].{}", e.index, e.field),
            e.message,
        )),
        Err(
            e @ (ForwardAuthError::CookieDomain(_)
            | ForwardAuthError::IssuerOutside { .. }
            | ForwardAuthError::RulesWithoutDomain),
        ) => Err(fail("forward_auth.cookie_domain", e.to_string())),
    }
}

/// A warning when the issuer is on this machine but at another port than sesame listens on:
/// browsers and apps sent to the issuer would not reach it (unless a local proxy forwards).
fn issuer_port_mismatch(issuer: &str, listen: SocketAddr) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    let issuer_port = url.port_or_known_default()?;
    if listen.port() == 0 || issuer_port == listen.port() || !crate::apps::is_loopback_host(&url) {
        return None;
    }
    Some(format!(
        "issuer {issuer} is on this machine at port {issuer_port}, but sesame listens on port {} \
         (listen = {listen}): apps and browsers sent to the issuer will not reach sesame unless \
         something on port {issuer_port} forwards to it; make the ports agree, e.g. \
         issuer = \"http://localhost:{}\" (or leave the issuer unset: it follows listen)",
        listen.port(),
        listen.port()
    ))
}

/// Checks `[mail]` as far as it can be without files or network, and returns warnings for
/// settings that will not be used.
fn mail(
    config: &Config,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Vec<String>, ConfigError> {
    let m = &config.mail;
    let mut warnings = Vec::new();
    if let Some(from) = &m.from {
        // A line break would let the value add headers of its own to every message.
        if from.contains(['\r', '\n']) {
            return Err(fail(
                "mail.from",
                "must be one line (no carriage return or line feed)".into(),
            ));
        }
        if let Err(e) = from.parse::<lettre::message::Mailbox>() {
            return Err(fail(
                "mail.from",
                format!("{from:?} is not an email address ({e}); expected noreply@example.com or Name <noreply@example.com>"),
            ));
        }
    }
    if m.transport == super::MailTransportKind::Log {
        if !m.smtp.host.trim().is_empty() {
            warnings.push(
                "mail.smtp.host is set but mail.transport is \"log\" (the default): sign-in codes \
                 are printed to the log, not sent; set mail.transport = \"smtp\" \
                 (or SESAME_MAIL_TRANSPORT=smtp) to send through the relay"
                    .to_string(),
            );
        }
        if m.ses.is_some() {
            warnings.push(
                "[mail.ses] is set but mail.transport is \"log\" (the default): sign-in codes are \
                 printed to the log, not sent; set mail.transport = \"ses\" \
                 (or SESAME_MAIL_TRANSPORT=ses) to send through Amazon SES"
                    .to_string(),
            );
        }
    }
    if let Some(ses) = &m.ses {
        ses_config(ses, fail)?;
    }
    if m.transport == super::MailTransportKind::Smtp && m.smtp.host.trim().is_empty() {
        return Err(fail(
            "mail.smtp.host",
            "is required when mail.transport = \"smtp\" (the relay's host name)".into(),
        ));
    }
    if m.smtp.password.is_some() && m.smtp.password_file.is_some() {
        return Err(fail(
            "mail.smtp.password_file",
            "set either mail.smtp.password or mail.smtp.password_file, not both".into(),
        ));
    }
    Ok(warnings)
}

/// Checks `[mail.ses]` with the SES connector's own validation (the one `sesame connector set`
/// uses), so a bad region or address is an error at load naming the key, not a mail failure
/// later.
fn ses_config(
    ses: &super::SesConfig,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let json = serde_json::to_string(ses).map_err(|e| fail("mail.ses", e.to_string()))?;
    // The mail module names fields as the connector JSON spells them (camelCase); here they are
    // configuration keys.
    let key = |field: &str| format!("mail.ses.{}", camel_to_snake(field));
    match crate::mail::parse_ses_json(&json) {
        Ok(_) => Ok(()),
        Err(MailError::Invalid { key: field, reason }) => Err(fail(&key(&field), reason)),
        Err(MailError::Missing { key: field, reason }) => {
            Err(fail(&key(&field), format!("is missing: {reason}")))
        }
        Err(
            e @ (MailError::Json(_)
            | MailError::SmtpConnectorJson(_)
            | MailError::File { .. }
            | MailError::DefaultTemplateMissing(_)),
        ) => Err(fail("mail.ses", e.to_string())),
    }
}

fn apps(config: &Config, sources: &Sources) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (i, app) in config.apps.iter().enumerate() {
        let fail = |field: &str, message: String| {
            let key = format!("app[{i}].{field}");
            ConfigError::Invalid {
                source: sources.of(&key),
                key,
                message: format!("(app {:?}) {message}", app.client_id),
            }
        };
        crate::apps::check_client_id(&app.client_id)
            .map_err(|e| fail("client_id", e.to_string()))?;
        if !seen.insert(app.client_id.as_str()) {
            return Err(fail("client_id", "is declared twice".into()));
        }
        if app.name.trim().is_empty() {
            return Err(fail("name", "must not be empty".into()));
        }
        let app_type: AppType = match &app.app_type {
            Some(t) => t
                .parse()
                .map_err(|e: crate::store::UnknownAppType| fail("app_type", e.to_string()))?,
            None => AppType::Traditional,
        };
        if app.redirect_uris.is_empty() && app_type.signs_in_users() {
            return Err(fail(
                "redirect_uris",
                "needs at least one redirect URI".into(),
            ));
        }
        let rules = crate::apps::RedirectRules {
            app_type,
            allow_insecure_redirect: app.allow_insecure_redirect,
        };
        for uri in &app.redirect_uris {
            crate::apps::check_redirect_uri(uri, rules)
                .map_err(|e| fail("redirect_uris", e.to_string()))?;
        }
        for uri in &app.post_logout_redirect_uris {
            crate::apps::check_redirect_uri(uri, rules)
                .map_err(|e| fail("post_logout_redirect_uris", e.to_string()))?;
        }
        crate::apps::check_backchannel_uri(app.backchannel_logout_uri.clone(), rules)
            .map_err(|e| fail("backchannel_logout_uri", e.to_string()))?;
        let secret_sources = [
            app.client_secret.is_some(),
            app.client_secret_file.is_some(),
            app.client_secret_env.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        match (app_type.is_public(), secret_sources) {
            (false, 1) | (true, 0) => {}
            (false, 0) => {
                return Err(fail(
                    "client_secret",
                    format!("a {} app needs a secret: set one of client_secret_file, client_secret_env or client_secret", app_type.as_str()),
                ))
            }
            (false, _) => {
                return Err(fail(
                    "client_secret",
                    "set only one of client_secret, client_secret_file and client_secret_env".into(),
                ))
            }
            (true, _) => {
                return Err(fail(
                    "client_secret",
                    format!("a {} app is public and has no secret; remove the secret", app_type.as_str()),
                ))
            }
        }
    }
    Ok(())
}

/// Checks the issuer and returns it without a trailing slash.
fn issuer(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|e| {
        format!("{raw:?} is not an absolute URL ({e}); expected e.g. https://auth.example.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{raw:?} must start with https:// (or http:// for localhost)"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{raw:?} must not have a query (?...) or a fragment (#...)"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{raw:?} must not carry a user name or password"));
    }
    if url.scheme() == "http" && !crate::apps::is_loopback_host(&url) {
        return Err(format!(
            "{raw:?} uses http; use https (http is allowed only for localhost and names under it, 127.0.0.1 and ::1)"
        ));
    }
    Ok(trimmed.to_string())
}
