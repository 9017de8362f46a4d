//! Request parameters as the protocol sees them: name/value pairs from a query string or a
//! form body, decoded once by the HTTP edge.

/// Request parameters. OAuth forbids repeating a parameter (RFC 6749 §3.1), so lookups
/// distinguish "absent" from "repeated".
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

/// A parameter sent more than once (RFC 6749 §3.1: "Request and response parameters MUST NOT
/// be included more than once").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated(pub String);

impl std::fmt::Display for Repeated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the parameter {} is repeated", self.0)
    }
}

impl Params {
    /// Decodes `application/x-www-form-urlencoded` bytes (a query string or a form body).
    pub fn parse(bytes: &[u8]) -> Params {
        Params(
            form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The single value of `name`; `Err` when it is repeated. Empty values count as absent
    /// (RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were
    /// omitted").
    pub fn get(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut found = None;
        for (k, v) in &self.0 {
            if k == name && !v.is_empty() {
                if found.is_some() {
                    return Err(Repeated(name.to_string()));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// The first value of `name`, for forms where repetition is harmless.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// These parameters without any named `name`.
    pub fn without(mut self, name: &str) -> Params {
        self.0.retain(|(k, _)| k != name);
        self
    }

    /// These parameters with `name` = `value` added when `name` is absent.
    pub fn or_with(mut self, name: &str, value: &str) -> Params {
        if !self.has(name) {
            self.0.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// Form-encoded (`application/x-www-form-urlencoded`): [`Params::parse`] reads it back.
    pub fn to_form(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter())
            .finish()
    }

    /// Every non-empty value of `name`, in order: a form's checkboxes repeat one name by design.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether `name` was sent at all (even empty).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// The credentials of an `Authorization` header in `scheme` (`Basic`, `Bearer`): the scheme
/// is matched case-insensitively (RFC 9110 §11.1), the credentials trimmed. `None` for another
/// scheme or no credentials.
pub fn credentials<'h>(authorization: &'h str, scheme: &str) -> Option<&'h str> {
    let (given, rest) = authorization.trim_start().split_once(' ')?;
    let rest = rest.trim();
    (given.eq_ignore_ascii_case(scheme) && !rest.is_empty()).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_reported_and_empty_ones_are_absent() {
        let p = Params::parse(b"a=1&a=2&b=&c=x%20y");
        assert_eq!(p.get("a"), Err(Repeated("a".into())));
        assert_eq!(p.get("b").unwrap(), None);
        assert_eq!(p.get("c").unwrap(), Some("x y"));
        assert_eq!(p.get("d").unwrap(), None);
        assert!(p.has("b") && !p.has("d"));
        assert_eq!(p.all("a"), ["1", "2"]);
        assert!(p.all("b").is_empty());
    }

    #[test]
    fn authorization_schemes_are_case_insensitive() {
        assert_eq!(credentials("Bearer abc", "Bearer"), Some("abc"));
        assert_eq!(credentials("bEaReR  abc ", "Bearer"), Some("abc"));
        assert_eq!(credentials("BASIC eHk6eg==", "Basic"), Some("eHk6eg=="));
        assert_eq!(credentials("Basic abc", "Bearer"), None);
        assert_eq!(credentials("Bearer", "Bearer"), None);
        assert_eq!(credentials("Bearer ", "Bearer"), None);
    }
}
