//! Checks on values that have the right type but may still be wrong: an issuer that is not an
//! absolute URL, a listen address that is not one, a colour that is not `#rrggbb`, a declared
//! app without a secret. Each error names the key and where its value came from.

use super::layers::Sources;
use super::{Config, ConfigError};
use crate::store::AppType;
use std::collections::HashSet;
use std::net::SocketAddr;

pub(super) fn validate(config: &mut Config, sources: &Sources) -> Result<(), ConfigError> {
    let fail = |key: &str, message: String| ConfigError::Invalid {
        key: key.to_string(),
        source: sources.of(key),
        message,
    };

    config.issuer = issuer(&config.issuer).map_err(|m| fail("issuer", m))?;
    if config.listen.parse::<SocketAddr>().is_err() {
        return Err(fail(
            "listen",
            format!(
                "{:?} is not a socket address; expected IP:PORT, e.g. 127.0.0.1:8080 or [::]:8080",
                config.listen
            ),
        ));
    }
    if config.data_dir.as_os_str().is_empty() {
        return Err(fail("data_dir", "must not be empty".into()));
    }

    let b = &config.branding;
    if b.product_name.trim().is_empty() {
        return Err(fail("branding.product_name", "must not be empty".into()));
    }
    if !is_hex_colour(&b.accent_color) {
        return Err(fail(
            "branding.accent_color",
            format!(
                "{:?} is not a colour in #rrggbb form, e.g. #5d34f2",
                b.accent_color
            ),
        ));
    }
    if let Some(logo) = &b.logo_url {
        let ok = logo.starts_with('/')
            || url::Url::parse(logo).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return Err(fail(
                "branding.logo_url",
                format!("{logo:?} is not an http(s) URL or a path starting with /"),
            ));
        }
    }

    mail(config, &fail)?;
    apps(config, sources)
}

fn mail(config: &Config, fail: &dyn Fn(&str, String) -> ConfigError) -> Result<(), ConfigError> {
    let m = &config.mail;
    if let Some(from) = &m.from {
        if !from.contains('@') {
            return Err(fail(
                "mail.from",
                format!("{from:?} is not an email address; expected noreply@example.com or Name <noreply@example.com>"),
            ));
        }
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
    Ok(())
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
            Some(t) => t.parse().map_err(|e: String| fail("app_type", e))?,
            None => AppType::Traditional,
        };
        if app.redirect_uris.is_empty() {
            return Err(fail(
                "redirect_uris",
                "needs at least one redirect URI".into(),
            ));
        }
        for uri in &app.redirect_uris {
            crate::apps::check_redirect_uri(uri, app_type)
                .map_err(|e| fail("redirect_uris", e.to_string()))?;
        }
        for uri in &app.post_logout_redirect_uris {
            crate::apps::check_redirect_uri(uri, app_type)
                .map_err(|e| fail("post_logout_redirect_uris", e.to_string()))?;
        }
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
                    "a traditional app needs a secret: set one of client_secret_file, client_secret_env or client_secret".into(),
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
            "{raw:?} uses http; use https (http is allowed only for localhost, 127.0.0.1 and ::1)"
        ));
    }
    Ok(trimmed.to_string())
}

fn is_hex_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}
