//! Cookies: parsing the `Cookie` header and writing `Set-Cookie` with safe attributes.

use hyper::header::{HeaderMap, COOKIE};
use std::collections::BTreeMap;

/// The session cookie (single sign-on).
pub const SESSION_COOKIE: &str = "sesame_session";
/// The cookie that binds an interaction (a sign-in in progress) to the browser that started it.
pub const INTERACTION_COOKIE: &str = "sesame_interaction";
/// The forward-auth session cookie, set for `[forward_auth] cookie_domain` (see
/// [`crate::forward_auth`]).
pub const FORWARD_AUTH_COOKIE: &str = "sesame_forward_auth";

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

    /// The forward-auth cookie's actual name: with the `__Secure-` prefix when sesame is https
    /// (browsers then take it only with `Secure`; `__Host-` is impossible, it has a `Domain`).
    pub fn forward_auth_name(&self) -> String {
        if self.secure {
            format!("__Secure-{FORWARD_AUTH_COOKIE}")
        } else {
            FORWARD_AUTH_COOKIE.to_string()
        }
    }

    /// The forward-auth cookie: for `domain` and every host under it (`Domain=`), on every
    /// path, HttpOnly, SameSite=Lax (it must come along when a link from elsewhere opens a
    /// protected page), `Secure` when sesame is https.
    pub fn set_forward_auth(&self, domain: &str, value: &str, max_age: u64) -> String {
        format!(
            "{}={value}; Domain={domain}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
            self.forward_auth_name(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// A cookie that removes the forward-auth cookie.
    pub fn clear_forward_auth(&self, domain: &str) -> String {
        self.set_forward_auth(domain, "", 0)
    }
}

/// The values of the `sesame_interaction` cookie, which binds sign-ins to the browser that
/// started them. sesame makes every value itself and adopts a value the browser sends back only
/// when it made it: a value is a random token and its HMAC under a key that lives as long as the
/// process. A value someone planted (cookie tossing from a sibling host, or a link that set it)
/// fails the check and is replaced, so nobody can choose the binding of a sign-in another
/// browser will finish. After a restart, earlier values are replaced at the next sign-in start.
pub struct BrowserIds {
    key: ring::hmac::Key,
}

impl BrowserIds {
    /// A new key from the system's CSPRNG.
    pub fn new() -> BrowserIds {
        let rng = ring::rand::SystemRandom::new();
        // ring's generate only fails when the OS has no randomness at all; the whole process
        // (keys, tokens) depends on it, so that is an invariant, not an input.
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
            .expect("the system CSPRNG works");
        BrowserIds { key }
    }

    /// A fresh value.
    pub fn mint(&self) -> String {
        let random = crate::crypto::random_token();
        let tag = ring::hmac::sign(&self.key, random.as_bytes());
        format!("{random}.{}", crate::crypto::b64url(&tag.as_ref()[..16]))
    }

    /// `value` if this process made it, else a fresh one.
    pub fn adopt_or_mint(&self, value: Option<&str>) -> String {
        match value {
            Some(v) if self.made(v) => v.to_string(),
            _ => self.mint(),
        }
    }

    fn made(&self, value: &str) -> bool {
        let Some((random, tag)) = value.split_once('.') else {
            return false;
        };
        let expected = ring::hmac::sign(&self.key, random.as_bytes());
        crate::crypto::constant_time_eq(
            crate::crypto::b64url(&expected.as_ref()[..16]).as_bytes(),
            tag.as_bytes(),
        )
    }
}

impl Default for BrowserIds {
    fn default() -> Self {
        BrowserIds::new()
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

    #[test]
    fn the_forward_auth_cookie_is_for_the_whole_domain() {
        let https = CookiePolicy {
            path: "/".into(),
            secure: true,
        };
        assert_eq!(
            https.set_forward_auth("home.example.com", "v", 60),
            "__Secure-sesame_forward_auth=v; Domain=home.example.com; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        let http = CookiePolicy {
            path: "/oidc".into(),
            secure: false,
        };
        assert_eq!(
            http.clear_forward_auth("home.localhost"),
            "sesame_forward_auth=; Domain=home.localhost; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn browser_ids_are_ours_or_replaced() {
        let ids = BrowserIds::new();
        let ours = ids.mint();
        assert_eq!(ids.adopt_or_mint(Some(&ours)), ours);
        let planted = "a".repeat(43);
        assert_ne!(ids.adopt_or_mint(Some(&planted)), planted);
        let forged = format!("{}.{}", "a".repeat(43), "b".repeat(22));
        assert_ne!(ids.adopt_or_mint(Some(&forged)), forged);
        assert_ne!(ids.adopt_or_mint(None), ours);
        // Another process's values (another key) are not adopted either.
        assert_ne!(BrowserIds::new().adopt_or_mint(Some(&ours)), ours);
    }
}
