//! Cookies: parsing the `Cookie` header and writing `Set-Cookie` with safe attributes.

use hyper::header::{HeaderMap, COOKIE};
use std::collections::BTreeMap;

/// The session cookie (single sign-on).
pub const SESSION_COOKIE: &str = "sesame_session";
/// The cookie that binds an interaction (a sign-in in progress) to the browser that started it.
pub const INTERACTION_COOKIE: &str = "sesame_interaction";

/// Parses every `Cookie` header into name → value (the first occurrence of a name wins).
pub fn parse(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for h in headers.get_all(COOKIE) {
        let Ok(s) = h.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, v)) = part.trim().split_once('=') {
                out.entry(k.trim().to_string())
                    .or_insert_with(|| v.trim().to_string());
            }
        }
    }
    out
}

/// How cookies are scoped for this issuer.
#[derive(Debug, Clone)]
pub struct CookiePolicy {
    /// The issuer's path (`/` or `/oidc`): the cookies are sent to sesame's endpoints only.
    pub path: String,
    /// `Secure` is set when the issuer is https.
    pub secure: bool,
}

impl CookiePolicy {
    /// The cookie's actual name. An https issuer at the root of its host gets the `__Host-`
    /// prefix: browsers then accept the cookie only host-only, `Secure` and with `Path=/`, so a
    /// sibling subdomain cannot plant its own session cookie in front of ours (cookie tossing).
    pub fn name(&self, base: &str) -> String {
        if self.secure && self.path == "/" {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// An HttpOnly, SameSite=Lax cookie living `max_age` seconds.
    pub fn set(&self, name: &str, value: &str, max_age: u64) -> String {
        let name = self.name(name);
        format!(
            "{name}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
            self.path,
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// A cookie that removes `name`.
    pub fn clear(&self, name: &str) -> String {
        self.set(name, "", 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn parses_cookie_headers_and_writes_safe_attributes() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; b=two"));
        h.append(COOKIE, HeaderValue::from_static("a=3"));
        let c = parse(&h);
        assert_eq!(c["a"], "1");
        assert_eq!(c["b"], "two");
        let p = CookiePolicy {
            path: "/oidc".into(),
            secure: true,
        };
        let s = p.set("sesame_session", "v", 60);
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Lax") && s.contains("Secure"));
        assert!(s.contains("Path=/oidc"));
        assert!(!CookiePolicy {
            path: "/".into(),
            secure: false
        }
        .set("x", "y", 1)
        .contains("Secure"));
    }
}
