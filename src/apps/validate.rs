//! What an app may register: redirect URIs (the security-critical part), client IDs, names
//! and ID token algorithms. Every write to the registry passes through these checks.

use super::AppError;
use crate::crypto::keys::Alg;
use crate::store::AppType;
use serde::{de, Deserialize, Deserializer};

/// Checks a redirect URI (or post-logout redirect URI) for an app of this type: an absolute
/// URL without a fragment (OAuth 2.0 §3.1.2); https, or http on a loopback host (a developer's
/// machine); a native app may also use its own custom scheme (`com.example.app:/callback`).
pub fn check_redirect_uri(uri: &str, app_type: AppType) -> Result<(), AppError> {
    let invalid = |reason: String| AppError::InvalidRedirectUri {
        uri: uri.to_string(),
        reason,
    };
    let url = url::Url::parse(uri).map_err(|e| invalid(format!("is not an absolute URL ({e})")))?;
    if url.fragment().is_some() {
        return Err(invalid("must not contain a fragment (#...)".into()));
    }
    // `https://good.example.com@evil.example.com/cb` goes to evil.example.com: whoever reads
    // the URI (a person, a log, a naive prefix check) sees the wrong host.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "must not contain a user name or password (user@host); write the host only".into(),
        ));
    }
    // Redirect URIs are matched exactly (OAuth 2.0 Security BCP §4.1.3); a `*` would only
    // ever match itself, and suggests a pattern the operator expects to work.
    if url.host_str().is_some_and(|h| h.contains('*')) {
        return Err(invalid(
            "has a * in its host: wildcards are not supported; register each URI".into(),
        ));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => Err(invalid(
            "uses http; use https (http is allowed only for localhost, 127.0.0.1 and [::1])".into(),
        )),
        "https" => Err(invalid("has no host".into())),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" => {
            Err(invalid(format!("uses the {}: scheme, which is never a redirect target", url.scheme())))
        }
        other if app_type == AppType::Native => {
            // A native app's private-use scheme (RFC 8252 §7.1); it must contain a period so it
            // is a reverse domain name and not a bare word another app could also claim.
            if other.contains('.') {
                Ok(())
            } else {
                Err(invalid(format!(
                    "uses the scheme {other:?}; a native app's own scheme is a reverse domain name, e.g. com.example.app:/callback"
                )))
            }
        }
        other => Err(invalid(format!(
            "uses the scheme {other:?}; only native apps may use their own scheme, others need https"
        ))),
    }
}

/// True when the URL's host is this machine: `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks a declared client ID: 1 to 128 characters of `A-Z a-z 0-9 . _ ~ -` (safe unescaped
/// in URLs, forms and HTTP Basic).
pub fn check_client_id(client_id: &str) -> Result<(), AppError> {
    let invalid = |reason: &str| AppError::InvalidClientId {
        client_id: client_id.to_string(),
        reason: reason.to_string(),
    };
    if client_id.is_empty() || client_id.len() > 128 {
        return Err(invalid("must be 1 to 128 characters long"));
    }
    if !client_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c))
    {
        return Err(invalid("may contain only letters, digits and . _ ~ -"));
    }
    Ok(())
}
pub(super) fn check_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::EmptyName);
    }
    Ok(name.to_string())
}

/// Checks every URI and drops repeats, keeping the order given.
pub(super) fn check_uris(
    uris: &[String],
    app_type: AppType,
    at_least_one: bool,
) -> Result<Vec<String>, AppError> {
    if at_least_one && uris.is_empty() {
        return Err(AppError::NoRedirectUri);
    }
    let mut out: Vec<String> = Vec::with_capacity(uris.len());
    for uri in uris {
        check_redirect_uri(uri, app_type)?;
        if !out.contains(uri) {
            out.push(uri.clone());
        }
    }
    Ok(out)
}

/// Reads an app's `id_token_signed_response_alg` as the control socket receives it: a JOSE
/// name matched ignoring case and surrounding spaces (`rs256`), or null for the default. What
/// the app stores is the [`Alg`], which is always written in its exact name.
pub(super) fn alg_any_case<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Alg>, D::Error> {
    let Some(name) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    Alg::ALL
        .into_iter()
        .find(|alg| alg.as_str().eq_ignore_ascii_case(name.trim()))
        .map(Some)
        .ok_or_else(|| {
            de::Error::custom(format_args!(
                "id_token_signed_response_alg {name:?} is not supported; use one of {}",
                Alg::NAMES.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_is_allowed_in_every_form() {
        for uri in [
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
        ] {
            check_redirect_uri(uri, AppType::Traditional).unwrap_or_else(|e| panic!("{uri}: {e}"));
        }
    }
}
