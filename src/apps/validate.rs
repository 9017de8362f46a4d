//! What an app may register: redirect URIs (the security-critical part), client IDs, names
//! and ID token algorithms. Every write to the registry passes through these checks.

use super::lan::{self, HostPlace};
use super::AppError;
use crate::crypto::keys::Alg;
use crate::store::{App, AppType};
use serde::{de, Deserialize, Deserializer};

/// What an app may register beyond https URIs, from its settings: its type decides whether it
/// may use its own scheme, `allow_insecure_redirect` whether it may use http on the LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectRules {
    pub app_type: AppType,
    /// http to hosts on the LAN ([`lan`](super::lan)), for apps that cannot do https there.
    pub allow_insecure_redirect: bool,
}

impl RedirectRules {
    /// The rules a registered app's URIs were checked against.
    pub fn of(app: &App) -> RedirectRules {
        RedirectRules {
            app_type: app.app_type,
            allow_insecure_redirect: app.allow_insecure_redirect,
        }
    }
}

/// Checks a redirect URI (or post-logout redirect URI) for an app with these rules. Each step
/// is one rule; any app may register https URIs, and:
///
/// - http on this machine (loopback, RFC 8252 §7.3), for a developer's app;
/// - http on the LAN when the app sets `allow_insecure_redirect` ([`check_http_host`]);
/// - its own scheme, for native and traditional apps ([`check_own_scheme`]).
///
/// A machine app has none.
pub fn check_redirect_uri(uri: &str, rules: RedirectRules) -> Result<(), AppError> {
    let invalid = |reason: String| AppError::InvalidRedirectUri {
        uri: uri.to_string(),
        reason,
    };
    if !rules.app_type.signs_in_users() {
        return Err(invalid(MACHINE_HAS_NO_REDIRECTS.into()));
    }
    let url = url::Url::parse(uri).map_err(|e| invalid(format!("is not an absolute URL ({e})")))?;
    no_fragment(&url).map_err(invalid)?;
    no_user_info(&url).map_err(invalid)?;
    no_wildcard(&url).map_err(invalid)?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "https" => Err(invalid("has no host".into())),
        "http" => check_http_host(&url, rules.allow_insecure_redirect).map_err(invalid),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" => Err(invalid(format!(
            "uses the {}: scheme, which is never a redirect target",
            url.scheme()
        ))),
        other => check_own_scheme(other, rules.app_type).map_err(invalid),
    }
}

/// Checks a `backchannel_logout_uri` (Back-Channel Logout §2.2) as a redirect URI of the app's
/// rules, and more: it must be http(s) (sesame POSTs to it), and an app that signs nobody in
/// has no sessions to be told about. `None` or `""`: no URI.
pub fn check_backchannel_uri(
    uri: Option<String>,
    rules: RedirectRules,
) -> Result<Option<String>, AppError> {
    let Some(uri) = uri.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let invalid = |reason: &str| AppError::InvalidBackchannelUri {
        uri: uri.clone(),
        reason: reason.to_string(),
    };
    if !rules.app_type.signs_in_users() {
        return Err(invalid(
            "is for apps that sign users in; a machine app has no sessions",
        ));
    }
    let scheme = url::Url::parse(&uri).map(|u| u.scheme().to_string());
    if !matches!(scheme.as_deref(), Ok("https" | "http")) {
        return Err(invalid("must be an https URL (or http on this machine, or on the LAN with allow_insecure_redirect)"));
    }
    check_redirect_uri(&uri, rules).map_err(|e| match e {
        AppError::InvalidRedirectUri { reason, .. } => invalid(&reason),
        other => other,
    })?;
    Ok(Some(uri))
}

/// The redirect URIs `sesame dev` registers on first use (see `apps::dev`): http or https to
/// this machine, or a custom scheme (a bare word like `myapp` too: on a developer's machine the
/// app under development is the one that claims it); the same structural rules as any app's.
pub(super) fn check_dev_redirect_uri(uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|e| format!("is not an absolute URL ({e})"))?;
    no_fragment(&url)?;
    no_user_info(&url)?;
    no_wildcard(&url)?;
    match url.scheme() {
        "http" | "https" if is_loopback_host(&url) => Ok(()),
        "http" | "https" => Err(format!(
            "is not on this machine: sesame dev registers redirect URIs to localhost, 127.0.0.1 \
             or [::1] (any port), or with a custom scheme (myapp://callback); {} is elsewhere",
            url.host_str().unwrap_or("its host")
        )),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" => Err(format!(
            "uses the {}: scheme, which is never a redirect target",
            url.scheme()
        )),
        _ => Ok(()),
    }
}

/// True when the URL's host is this machine: `localhost` or a name under it (`*.localhost`, RFC
/// 6761 §6.3), `127.0.0.0/8` or `::1`.
pub fn is_loopback_host(url: &url::Url) -> bool {
    url.host().map(lan::place) == Some(HostPlace::Loopback)
}

/// True when `uri` is an http URI to a host that is not this machine: one that only
/// `allow_insecure_redirect` lets an app register.
pub fn is_insecure_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|url| url.scheme() == "http" && !is_loopback_host(&url))
}

/// The redirect response puts the code in the query; a fragment would be dropped or moved
/// (RFC 6749 §3.1.2: "MUST NOT include a fragment component").
fn no_fragment(url: &url::Url) -> Result<(), String> {
    match url.fragment() {
        Some(_) => Err("must not contain a fragment (#...)".into()),
        None => Ok(()),
    }
}

/// `https://good.example.com@evil.example.com/cb` goes to evil.example.com: whoever reads the
/// URI (a person, a log, a naive prefix check) sees the wrong host.
fn no_user_info(url: &url::Url) -> Result<(), String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain a user name or password (user@host); write the host only".into(),
        );
    }
    Ok(())
}

/// Redirect URIs are matched exactly (OAuth 2.0 Security BCP §4.1.3); a `*` would only ever
/// match itself, and suggests a pattern the operator expects to work.
fn no_wildcard(url: &url::Url) -> Result<(), String> {
    if url.host_str().is_some_and(|h| h.contains('*')) {
        return Err("has a * in its host: wildcards are not supported; register each URI".into());
    }
    Ok(())
}

/// http carries the code unencrypted: allowed to this machine, and to the LAN for an app that
/// opted in. Each refusal says what the host is and what would be accepted instead.
fn check_http_host(url: &url::Url, allow_insecure_redirect: bool) -> Result<(), String> {
    const LOOPBACK_ONLY: &str = "http is allowed only for localhost (and *.localhost), 127.0.0.1 \
         and [::1], and for hosts on the LAN when the app sets allow_insecure_redirect";
    const HOW_TO_ALLOW: &str = "if the app cannot use https, allow http on the LAN for it with \
         --allow-insecure-redirect (sesame app create or update) or allow_insecure_redirect = true \
         in its [[app]] table; codes then travel unencrypted on the LAN";
    const LAN_HOSTS: &str = "a private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, \
         169.254.0.0/16, fc00::/7, fe80::/10) or a name ending in .lan, .home.arpa or .local";
    let host = url.host_str().unwrap_or_default();
    match (url.host().map(lan::place), allow_insecure_redirect) {
        (Some(HostPlace::Loopback), _) | (Some(HostPlace::Lan), true) => Ok(()),
        (Some(HostPlace::Lan), false) => Err(format!(
            "uses http to {host}, a host on the LAN; use https, or {HOW_TO_ALLOW}"
        )),
        (Some(HostPlace::BareName), false) => Err(format!(
            "uses http to the bare host name {host:?}; use https ({LOOPBACK_ONLY})"
        )),
        (Some(HostPlace::BareName), true) => Err(format!(
            "uses http to the bare host name {host:?}, which a DNS search domain could resolve \
             anywhere; use https, or name the host as {LAN_HOSTS} (allow_insecure_redirect \
             allows http only to those)"
        )),
        (Some(HostPlace::Elsewhere), false) => {
            Err(format!("uses http; use https ({LOOPBACK_ONLY})"))
        }
        (Some(HostPlace::Elsewhere), true) => Err(format!(
            "uses http to {host}, which is not on the LAN; use https (allow_insecure_redirect \
             allows http only to {LAN_HOSTS})"
        )),
        (None, _) => Err("has no host".into()),
    }
}

/// An app's own scheme (`com.example.app:/callback`, RFC 8252 §7.1): a mobile or desktop app
/// claims it on the device. Native apps use it, and so do traditional apps whose mobile client
/// shares the server's client ID (Immich's `app.immich:///oauth-callback`): their code is of no
/// use without the client secret, which stays on the server. A single-page app runs in a
/// browser and has no such scheme. The scheme must contain a period, so it is a reverse domain
/// name and not a bare word another app could also claim.
fn check_own_scheme(scheme: &str, app_type: AppType) -> Result<(), String> {
    match app_type {
        AppType::Spa => Err(format!(
            "uses the scheme {scheme:?}; a single-page app needs https (only native and \
             traditional apps may use their own scheme)"
        )),
        AppType::Native | AppType::Traditional if scheme.contains('.') => Ok(()),
        AppType::Native | AppType::Traditional => Err(format!(
            "uses the scheme {scheme:?}; an app's own scheme is a reverse domain name, e.g. \
             com.example.app:/callback"
        )),
        // Refused before: check_redirect_uri's first step.
        AppType::Machine => Err(MACHINE_HAS_NO_REDIRECTS.into()),
    }
}

/// Why a machine app's redirect URI is refused.
pub const MACHINE_HAS_NO_REDIRECTS: &str =
    "is not needed: a machine app signs no user in (client credentials only), so it has no redirect URIs";

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
    rules: RedirectRules,
    at_least_one: bool,
) -> Result<Vec<String>, AppError> {
    if at_least_one && uris.is_empty() && rules.app_type.signs_in_users() {
        return Err(AppError::NoRedirectUri);
    }
    let mut out: Vec<String> = Vec::with_capacity(uris.len());
    for uri in uris {
        check_redirect_uri(uri, rules)?;
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

    const ALL_TYPES: [AppType; 3] = [AppType::Traditional, AppType::Spa, AppType::Native];

    fn rules(app_type: AppType, allow_insecure_redirect: bool) -> RedirectRules {
        RedirectRules {
            app_type,
            allow_insecure_redirect,
        }
    }

    fn refusal(uri: &str, rules: RedirectRules) -> String {
        check_redirect_uri(uri, rules).expect_err(uri).to_string()
    }

    #[test]
    fn loopback_http_is_allowed_in_every_form_without_the_flag() {
        for uri in [
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
        ] {
            for app_type in ALL_TYPES {
                check_redirect_uri(uri, rules(app_type, false))
                    .unwrap_or_else(|e| panic!("{uri}: {e}"));
            }
        }
    }

    const LAN_URIS: [&str; 9] = [
        "http://10.1.2.3/cb",
        "http://172.20.0.5:8080/cb",
        "http://192.168.1.10:8096/sso/OID/redirect/sesame",
        "http://169.254.7.7/cb",
        "http://[fd00::10]:8096/cb",
        "http://[fe80::1]/cb",
        "http://jellyfin.lan:8096/cb",
        "http://nas.home.arpa/cb",
        "http://printer.local/cb",
    ];

    #[test]
    fn lan_http_is_allowed_only_with_the_flag_and_the_refusal_names_it() {
        for uri in LAN_URIS {
            for app_type in ALL_TYPES {
                check_redirect_uri(uri, rules(app_type, true))
                    .unwrap_or_else(|e| panic!("{uri} with the flag: {e}"));
                let e = refusal(uri, rules(app_type, false));
                assert!(
                    e.contains("a host on the LAN")
                        && e.contains("--allow-insecure-redirect")
                        && e.contains("allow_insecure_redirect = true")
                        && e.contains("use https"),
                    "{uri}: {e}"
                );
            }
        }
    }

    #[test]
    fn http_off_the_lan_is_refused_even_with_the_flag_saying_why() {
        let public = [
            "http://jellyfin.example.com/cb",
            "http://8.8.8.8/cb",
            "http://172.32.0.1/cb",
            "http://[2001:db8::1]/cb",
            "http://jellyfin.lan.example.com/cb",
        ];
        for uri in public {
            let e = refusal(uri, rules(AppType::Traditional, true));
            assert!(
                e.contains("is not on the LAN")
                    && e.contains("use https")
                    && e.contains(".home.arpa"),
                "{uri}: {e}"
            );
            let e = refusal(uri, rules(AppType::Traditional, false));
            assert!(e.contains("uses http; use https"), "{uri}: {e}");
        }
        for uri in ["http://jellyfin:8096/cb", "http://nas/cb"] {
            let e = refusal(uri, rules(AppType::Traditional, true));
            assert!(
                e.contains("bare host name") && e.contains("192.168.0.0/16") && e.contains(".lan"),
                "{uri}: {e}"
            );
            let e = refusal(uri, rules(AppType::Traditional, false));
            assert!(
                e.contains("bare host name") && e.contains("use https"),
                "{uri}: {e}"
            );
        }
    }

    #[test]
    fn own_schemes_are_for_native_and_traditional_apps() {
        for app_type in [AppType::Native, AppType::Traditional] {
            for uri in ["app.immich:///oauth-callback", "com.example.app:/callback"] {
                check_redirect_uri(uri, rules(app_type, false))
                    .unwrap_or_else(|e| panic!("{uri} for {app_type:?}: {e}"));
            }
            let e = refusal("myapp:/cb", rules(app_type, false));
            assert!(e.contains("reverse domain name"), "{e}");
        }
        let e = refusal("app.immich:///oauth-callback", rules(AppType::Spa, true));
        assert!(
            e.contains("single-page app needs https") && e.contains("only native and traditional"),
            "{e}"
        );
    }

    #[test]
    fn dangerous_schemes_and_fragments_are_refused_for_every_app() {
        let cases = [
            ("javascript:alert(1)", "never a redirect target"),
            ("data:text/html,<b>hi</b>", "never a redirect target"),
            ("file:///etc/passwd", "never a redirect target"),
            ("vbscript:msgbox", "never a redirect target"),
            ("blob:https://a.example.com/0b1c", "never a redirect target"),
            ("about:blank", "never a redirect target"),
            ("https://a.example.com/cb#x", "fragment"),
            ("http://192.168.1.10/cb#x", "fragment"),
            ("app.immich:///oauth-callback#x", "fragment"),
        ];
        for (uri, says) in cases {
            for app_type in ALL_TYPES {
                for allow in [false, true] {
                    let e = refusal(uri, rules(app_type, allow));
                    assert!(e.contains(says), "{uri} ({app_type:?}, {allow}): {e}");
                }
            }
        }
    }

    #[test]
    fn only_non_loopback_http_is_insecure() {
        assert!(is_insecure_redirect("http://192.168.1.10:8096/cb"));
        assert!(is_insecure_redirect("http://jellyfin.lan/cb"));
        assert!(!is_insecure_redirect("http://localhost:3000/cb"));
        assert!(!is_insecure_redirect("https://192.168.1.10/cb"));
        assert!(!is_insecure_redirect("app.immich:///oauth-callback"));
        assert!(!is_insecure_redirect("not a url"));
    }
}
