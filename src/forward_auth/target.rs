//! What a proxy asks about, and where a browser may be sent back to, each parsed once into a
//! type whose existence proves the checks passed: [`Target`] (the original request's URL, with
//! the path normalised for the access rules), [`CookieDomain`] and [`ReturnTo`] (a URL under
//! it, which closes the open redirect an unchecked `rd` would be).

use std::fmt;

/// The request the proxy is deciding on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The original URL as the `url` crate parsed it (WHATWG): where a sign-in returns to.
    pub url: url::Url,
    /// Its host, lower-case, without the port or a trailing dot (`[::1]` for IPv6).
    pub host: String,
    /// Its path as the access rules see it ([`normalise_path`]); never the query.
    pub path: String,
}

/// Why the original request's URL is refused. The proxy gets an error, never a 200: a request
/// sesame cannot read is one it cannot allow (Authelia's GHSA-68wm-pfjf-wqp6 let such requests
/// through).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// A header the proxy must send is missing or empty (its name).
    Missing(&'static str),
    /// The URL does not parse as an http(s) URL with a host (what was sent, and why).
    Unparseable { url: String, reason: String },
    /// The path decodes to a control character (`%00`, `%0A`): no upstream should get it, and
    /// no rule should have to think about it.
    Path(String),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Missing(header) => write!(
                f,
                "the proxy sent no {header} header, so sesame cannot tell which URL to decide on"
            ),
            TargetError::Unparseable { url, reason } => {
                write!(f, "the original URL {url:?} is not usable: {reason}")
            }
            TargetError::Path(path) => write!(
                f,
                "the original path {path:?} decodes to a control character"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

impl Target {
    /// The target of a Caddy `forward_auth` or Traefik `ForwardAuth` request, from
    /// `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-URI` (path and query).
    pub fn from_forwarded(
        proto: Option<&str>,
        host: Option<&str>,
        uri: Option<&str>,
    ) -> Result<Target, TargetError> {
        fn present<'a>(v: Option<&'a str>, name: &'static str) -> Result<&'a str, TargetError> {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or(TargetError::Missing(name))
        }
        let proto = present(proto, "X-Forwarded-Proto")?;
        let host = present(host, "X-Forwarded-Host")?;
        let uri = present(uri, "X-Forwarded-URI")?;
        let joined = format!("{proto}://{host}{uri}");
        let unusable = |reason: &str| TargetError::Unparseable {
            url: joined.clone(),
            reason: reason.to_string(),
        };
        if !proto.eq_ignore_ascii_case("http") && !proto.eq_ignore_ascii_case("https") {
            return Err(unusable("X-Forwarded-Proto must be http or https"));
        }
        // Each header is one part: a host that carries a path, a user name or a second host
        // would move the boundary between them.
        if host.contains(['/', '\\', '?', '#', '@']) || host.contains(char::is_whitespace) {
            return Err(unusable(
                "X-Forwarded-Host must be a host name and port only",
            ));
        }
        if !uri.starts_with('/') {
            return Err(unusable("X-Forwarded-URI must be a path starting with /"));
        }
        Target::parse(&joined)
    }

    /// The target of an nginx `auth_request`, from `X-Original-URL` (the whole URL).
    pub fn from_original_url(original: Option<&str>) -> Result<Target, TargetError> {
        let raw = original
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(TargetError::Missing("X-Original-URL"))?;
        Target::parse(raw)
    }

    /// Parses an absolute URL (what `sesame access check` takes, too).
    pub fn parse(raw: &str) -> Result<Target, TargetError> {
        let unusable = |reason: String| TargetError::Unparseable {
            url: raw.to_string(),
            reason,
        };
        let url = url::Url::parse(raw).map_err(|e| unusable(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(unusable("not an http or https URL".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(unusable("it carries a user name or password".into()));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err(unusable("it has no host".into())),
        };
        if host.is_empty() {
            return Err(unusable("it has no host".into()));
        }
        let path = normalise_path(url.path())?;
        Ok(Target { url, host, path })
    }
}

/// The path the access rules match, so that they see the resource the upstream will serve and
/// not a spelling of it. A proxy forwards the path as the client wrote it; the `url` crate has
/// already resolved `.` and `..` segments and `\` as a separator, as browsers do, but percent
/// escapes can still hide them (`/api/%2e%2e/admin`, `/api%2F..%2Fadmin`). So:
///
/// 1. percent escapes are decoded, once, as the upstream will decode them (`%61` is `a`, `%2F`
///    is `/`); a control character (`%00`, `%0A`) refuses the request; bytes that are not
///    UTF-8 become U+FFFD, which is neither a `/` nor a `.`, so it cannot move a segment
///    boundary (a rule sees `/files/�` where the upstream sees the byte 0xFF);
/// 2. empty segments are dropped: `//admin` is `/admin`, as most servers read it;
/// 3. `.` segments are dropped and `..` removes the segment before it (RFC 3986 §5.2.4), never
///    climbing above `/`.
///
/// A trailing `/` stays (`^/api/$` tells `/api/` from `/api`). The query is never part of it:
/// rules match paths only, so no query can make one match.
pub fn normalise_path(raw: &str) -> Result<String, TargetError> {
    let decoded = percent_decode(raw);
    if decoded.chars().any(char::is_control) {
        return Err(TargetError::Path(raw.to_string()));
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    let ends_in_dir = decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    if out.is_empty() || (ends_in_dir && !segments.is_empty()) {
        out.push('/');
    }
    Ok(out)
}

/// `%XX` escapes decoded once, bytes that are not UTF-8 replaced. A `%` not followed by two
/// hex digits stays as it is (as servers read it).
fn percent_decode(raw: &str) -> String {
    let input = raw.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let escape = match input.get(i..i + 3) {
            Some([b'%', h, l]) => hex(*h).zip(hex(*l)),
            _ => None,
        };
        match escape {
            Some((h, l)) => {
                // Two hex digits are at most 0xFF.
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            None => {
                out.push(input[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The domain the forward-auth cookie is set for (`Domain=` in `Set-Cookie`): the browser sends
/// it to that host and every host under it, so one sign-in covers them all; and a sign-in may
/// return only to those hosts ([`ReturnTo`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieDomain(String);

/// Why a `cookie_domain` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieDomainError {
    /// Not a domain name (an IP address, a URL, a wildcard, empty labels).
    NotADomain(String),
    /// A single label (`com`, `localhost`): browsers refuse cookies for it.
    SingleLabel(String),
}

impl fmt::Display for CookieDomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieDomainError::NotADomain(d) => write!(
                f,
                "{d:?} is not a domain name: write the name the protected hosts share, e.g. home.example.com (no scheme, port, path or wildcard; cookies cannot be set for an IP address)"
            ),
            CookieDomainError::SingleLabel(d) => write!(
                f,
                "{d:?} has a single label, and browsers refuse cookies for it: use a name with a dot, e.g. home.example.com (or home.localhost on this machine)"
            ),
        }
    }
}

impl std::error::Error for CookieDomainError {}

impl CookieDomain {
    /// Parses `cookie_domain`: a domain name of two labels or more, in any case; a leading dot
    /// (`.home.example.com`, an old spelling) is dropped. Internationalised names are kept in
    /// their ASCII (punycode) form, as hosts arrive.
    pub fn parse(raw: &str) -> Result<CookieDomain, CookieDomainError> {
        let trimmed = raw.trim();
        let name = trimmed.strip_prefix('.').unwrap_or(trimmed);
        let name = name.strip_suffix('.').unwrap_or(name);
        let not_a_domain = || CookieDomainError::NotADomain(raw.to_string());
        if name.is_empty() || name.contains(['*', '/', ':', '@']) {
            return Err(not_a_domain());
        }
        let ascii = match url::Host::parse(name) {
            Ok(url::Host::Domain(d)) => d,
            _ => return Err(not_a_domain()),
        };
        if ascii.split('.').any(str::is_empty) {
            return Err(not_a_domain());
        }
        if !ascii.contains('.') {
            return Err(CookieDomainError::SingleLabel(raw.to_string()));
        }
        Ok(CookieDomain(ascii))
    }

    /// True when `host` (lower-case, no port) is the domain or a name under it.
    pub fn covers(&self, host: &str) -> bool {
        let d = self.0.as_str();
        host == d
            || (host.len() > d.len()
                && host.ends_with(d)
                && host.as_bytes()[host.len() - d.len() - 1] == b'.')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CookieDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A URL a browser may be sent to after signing in: http or https, no user name or password,
/// on a host the cookie domain covers, and https when sesame is (its cookie is then `Secure`,
/// and would never reach an http page, which would send the browser back to sign in forever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnTo(url::Url);

/// Why a return-to URL (`rd`) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnToError {
    /// Missing or not an absolute URL.
    NotUrl(String),
    /// Not http(s), or http while sesame is https.
    Scheme(String),
    /// It carries a user name or password (`https://good.example@evil.example/`).
    UserInfo(String),
    /// Its host is not the cookie domain or under it.
    Elsewhere { url: String, domain: String },
}

impl fmt::Display for ReturnToError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReturnToError::NotUrl(u) => write!(f, "{u:?} is not an absolute URL"),
            ReturnToError::Scheme(u) => write!(
                f,
                "{u:?} is not an https URL (http only when sesame itself is http)"
            ),
            ReturnToError::UserInfo(u) => {
                write!(f, "{u:?} carries a user name or password")
            }
            ReturnToError::Elsewhere { url, domain } => write!(
                f,
                "{url:?} is not on {domain} or a host under it (forward_auth.cookie_domain)"
            ),
        }
    }
}

impl std::error::Error for ReturnToError {}

impl ReturnTo {
    /// Checks `raw` against the cookie domain; `https_only` when sesame's issuer is https.
    pub fn parse(
        raw: &str,
        domain: &CookieDomain,
        https_only: bool,
    ) -> Result<ReturnTo, ReturnToError> {
        let url = url::Url::parse(raw.trim()).map_err(|_| ReturnToError::NotUrl(raw.into()))?;
        ReturnTo::check(url, domain, https_only)
    }

    /// [`ReturnTo::parse`] for a URL parsed already (a [`Target`]'s).
    pub fn check(
        url: url::Url,
        domain: &CookieDomain,
        https_only: bool,
    ) -> Result<ReturnTo, ReturnToError> {
        match url.scheme() {
            "https" => {}
            "http" if !https_only => {}
            _ => return Err(ReturnToError::Scheme(url.into())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ReturnToError::UserInfo(url.into()));
        }
        let covered = match url.host() {
            Some(url::Host::Domain(d)) => domain.covers(d.trim_end_matches('.')),
            _ => false,
        };
        if !covered {
            return Err(ReturnToError::Elsewhere {
                url: url.into(),
                domain: domain.to_string(),
            });
        }
        Ok(ReturnTo(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host, for the sign-in page's "Sign in to ...".
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_before_rules_see_them() {
        let cases = [
            ("/", "/"),
            ("/api/", "/api/"),
            ("/api", "/api"),
            ("//admin", "/admin"),
            ("/api//v1///x", "/api/v1/x"),
            ("/api/../admin", "/admin"),
            ("/api/%2e%2e/admin", "/admin"),
            ("/api/%2E%2E/admin", "/admin"),
            ("/api%2F..%2Fadmin", "/admin"),
            ("/api%2f%2e%2e%2fadmin", "/admin"),
            ("/%61pi/x", "/api/x"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("/a/b/..", "/a/"),
            ("/a/./b/.", "/a/b/"),
            ("/..", "/"),
            ("/caf%C3%A9", "/café"),
            ("/%FF", "/\u{FFFD}"),
            ("/a%C3/..", "/"),
            ("/100%", "/100%"),
            ("/100%zz", "/100%zz"),
            // Decoded once: a double-encoded dot stays an escape, as the upstream sees it.
            ("/api/%252e%252e/admin", "/api/%2e%2e/admin"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalise_path(raw).as_deref(), Ok(want), "{raw}");
        }
        for bad in ["/a%00b", "/a%0Ab", "/a%0d%0aX-Injected:%201", "/%7F"] {
            assert_eq!(
                normalise_path(bad),
                Err(TargetError::Path(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn forwarded_headers_make_one_url_or_an_error_naming_the_header() {
        let t = Target::from_forwarded(
            Some("https"),
            Some("App.Home.Example.com:8443"),
            Some("/api/%2e%2e/admin?x=1"),
        )
        .unwrap();
        assert_eq!(t.host, "app.home.example.com");
        assert_eq!(t.path, "/admin");
        assert_eq!(
            t.url.as_str(),
            "https://app.home.example.com:8443/admin?x=1"
        );

        // A path that looks like a host stays a path on the forwarded host.
        let t = Target::from_forwarded(Some("https"), Some("a.example"), Some("//evil.example/x"))
            .unwrap();
        assert_eq!(
            (t.host.as_str(), t.path.as_str()),
            ("a.example", "/evil.example/x")
        );

        let missing = |p, h, u| Target::from_forwarded(p, h, u).unwrap_err();
        assert_eq!(
            missing(None, Some("a.example"), Some("/")),
            TargetError::Missing("X-Forwarded-Proto")
        );
        assert_eq!(
            missing(Some("https"), Some(" "), Some("/")),
            TargetError::Missing("X-Forwarded-Host")
        );
        assert_eq!(
            missing(Some("https"), Some("a.example"), None),
            TargetError::Missing("X-Forwarded-URI")
        );
        for (proto, host, uri) in [
            ("ftp", "a.example", "/"),
            ("https", "evil.example@a.example", "/"),
            ("https", "a.example/x", "/"),
            ("https", "a.example", "x"),
            ("https", "a b", "/"),
            ("https", "[::1", "/"),
            ("https", "a.example:99999", "/"),
        ] {
            let e = Target::from_forwarded(Some(proto), Some(host), Some(uri)).unwrap_err();
            assert!(
                matches!(e, TargetError::Unparseable { .. }),
                "{proto} {host} {uri}: {e:?}"
            );
        }
    }

    #[test]
    fn an_original_url_must_be_whole() {
        let t = Target::from_original_url(Some("http://app.home.localhost:8081/x/./y")).unwrap();
        assert_eq!(
            (t.host.as_str(), t.path.as_str()),
            ("app.home.localhost", "/x/y")
        );
        assert_eq!(
            Target::from_original_url(None),
            Err(TargetError::Missing("X-Original-URL"))
        );
        for bad in [
            "/just/a/path",
            "app.example/x",
            "javascript:alert(1)",
            "https://user:pw@app.example/",
            "http://",
            "https://%zz/",
        ] {
            let e = Target::from_original_url(Some(bad)).unwrap_err();
            assert!(matches!(e, TargetError::Unparseable { .. }), "{bad}: {e:?}");
        }
    }

    #[test]
    fn the_cookie_domain_covers_itself_and_names_under_it_only() {
        let d = CookieDomain::parse(".Home.Example.com").unwrap();
        assert_eq!(d.as_str(), "home.example.com");
        for yes in [
            "home.example.com",
            "app.home.example.com",
            "a.b.home.example.com",
        ] {
            assert!(d.covers(yes), "{yes}");
        }
        for no in [
            "example.com",
            "evilhome.example.com",
            "home.example.com.evil.example",
            "xhome.example.com",
            "",
        ] {
            assert!(!d.covers(no), "{no}");
        }
        assert!(CookieDomain::parse("home.localhost").is_ok());
        for bad in [
            "",
            "*.example.com",
            "https://example.com",
            "10.0.0.1",
            "[::1]",
            "a..b",
            "example.com:443",
        ] {
            assert!(
                matches!(
                    CookieDomain::parse(bad),
                    Err(CookieDomainError::NotADomain(_))
                ),
                "{bad}"
            );
        }
        for single in ["com", "localhost"] {
            assert!(
                matches!(
                    CookieDomain::parse(single),
                    Err(CookieDomainError::SingleLabel(_))
                ),
                "{single}"
            );
        }
    }

    #[test]
    fn return_to_urls_stay_under_the_cookie_domain() {
        let d = CookieDomain::parse("home.example.com").unwrap();
        let ok = ReturnTo::parse("https://app.home.example.com/x?y=1", &d, true).unwrap();
        assert_eq!(ok.host(), "app.home.example.com");
        assert!(ReturnTo::parse("http://app.home.example.com/", &d, false).is_ok());
        let cases = [
            ("https://evil.example/", "not on"),
            ("https://home.example.com.evil.example/", "not on"),
            ("https://evilhome.example.com/", "not on"),
            ("https://app.home.example.com@evil.example/", "user name"),
            ("https://evil.example@app.home.example.com/", "user name"),
            (
                "javascript:alert(1)//app.home.example.com",
                "not an https URL",
            ),
            ("//app.home.example.com/", "not an absolute URL"),
            ("/relative", "not an absolute URL"),
            ("http://app.home.example.com/", "not an https URL"),
            ("https://10.0.0.1/", "not on"),
        ];
        for (raw, says) in cases {
            let e = ReturnTo::parse(raw, &d, true).unwrap_err().to_string();
            assert!(e.contains(says), "{raw}: {e}");
        }
    }
}
