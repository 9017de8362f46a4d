//! What a request carries, read once: the JSON body (an object, `application/json`), its
//! members parsed into the admin commands' own argument types with the member at fault named
//! when one does not fit, path segments percent-decoded.

use super::problem::{Kind, Problem};
use crate::http::Request;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The body as a JSON object. An empty body is `{}` (a POST with nothing to say); anything
/// else must be `application/json` (or a `+json` type) and a JSON object.
pub fn json_object(req: &Request) -> Result<Map<String, Value>, Problem> {
    let body = req.body();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let media = req.media_type();
    let is_json = media
        .as_deref()
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
    if !is_json {
        return Err(Problem::new(
            Kind::UnsupportedMediaType,
            format!(
                "the body is {}; send JSON with Content-Type: application/json",
                media.as_deref().unwrap_or("without a Content-Type")
            ),
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            Kind::InvalidBody,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    match value {
        Value::Object(object) => Ok(object),
        other => Err(Problem::new(
            Kind::InvalidBody,
            format!(
                "the body must be a JSON object, not {}",
                crate::users::json_kind(&other)
            ),
        )),
    }
}

/// A JSON value parsed into `T`; a member that does not fit is named (`groups[1]`, `email`).
pub fn deserialize<T: DeserializeOwned>(value: Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // A missing member is reported at the object that lacks it; name the member itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (missing, path.as_str()) {
            (Some(m), ".") => m.to_string(),
            (Some(m), p) => format!("{p}.{m}"),
            (None, p) => p.to_string(),
        };
        Problem::invalid(field, message)
    })
}

/// A path segment, percent-decoded; `None` if it does not decode to UTF-8.
pub fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A path segment, percent-encoded (for `Location`): everything but RFC 3986's unreserved
/// characters and `@`.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::NewUser;
    use serde_json::json;

    #[test]
    fn a_member_that_does_not_fit_is_named() {
        let e = deserialize::<NewUser>(json!({"name": "Ana"})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("email"));
        let e = deserialize::<NewUser>(json!({"email": "a@b.example", "groups": ["x", 7]}))
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("groups[1]"), "{}", e.detail);
        let e = deserialize::<NewUser>(json!({"email": 5})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("email"));
    }

    #[test]
    fn path_segments_decode_and_encode() {
        assert_eq!(
            percent_decode("ana%40example.com").as_deref(),
            Some("ana@example.com")
        );
        assert_eq!(percent_decode("a%2"), None);
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_encode("a b/c@d"), "a%20b%2Fc@d");
    }
}
