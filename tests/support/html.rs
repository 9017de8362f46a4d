//! Reading sesame's HTML pages the way a browser would, with plain string search (the pages
//! are simple, server-rendered forms): inputs and their values, attributes, whole forms.

/// One HTML form: where it posts and what it sends.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: Option<String>,
    pub method: String,
    /// Named inputs with their values (hidden and visible), in order.
    pub fields: Vec<(String, String)>,
    /// Named submit buttons with their values.
    pub buttons: Vec<(String, String)>,
    /// Every input's raw tag.
    pub inputs: Vec<String>,
    pub html: String,
}

/// The forms of a page (simple string search: sesame's pages are plain HTML).
pub fn forms(html: &str) -> Vec<Form> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<form") {
        let start = from + i;
        let end = lower[start..]
            .find("</form>")
            .map(|e| start + e + "</form>".len())
            .unwrap_or(html.len());
        let chunk = &html[start..end];
        let form_tag = tags(chunk, "form").into_iter().next().unwrap_or_default();
        let inputs = tags(chunk, "input");
        let mut fields = Vec::new();
        let mut buttons = Vec::new();
        for input in &inputs {
            let Some(name) = attr(input, "name") else {
                continue;
            };
            let kind = attr(input, "type").unwrap_or_default().to_ascii_lowercase();
            let value = attr(input, "value").unwrap_or_default();
            if kind == "submit" {
                buttons.push((name, value));
            } else {
                fields.push((name, value));
            }
        }
        for button in tags(chunk, "button") {
            let kind = attr(&button, "type").unwrap_or_else(|| "submit".into());
            if let (Some(name), true) = (attr(&button, "name"), kind.eq_ignore_ascii_case("submit"))
            {
                buttons.push((name, attr(&button, "value").unwrap_or_default()));
            }
        }
        out.push(Form {
            action: attr(&form_tag, "action"),
            method: attr(&form_tag, "method").unwrap_or_else(|| "get".into()),
            fields,
            buttons,
            inputs,
            html: chunk.to_string(),
        });
        from = end;
    }
    out
}

/// The form that has an input named `field`.
pub fn find_form_with(html: &str, field: &str) -> Option<Form> {
    forms(html)
        .into_iter()
        .find(|f| f.fields.iter().any(|(n, _)| n == field))
}

/// The value of the first `<input ... name="NAME" ... value="...">` in `html` (quotes ' or ").
pub fn input_value(html: &str, name: &str) -> Option<String> {
    input_tags(html)
        .into_iter()
        .find(|tag| attr(tag, "name").as_deref() == Some(name))
        .and_then(|tag| attr(&tag, "value"))
}

/// Every `<input ...>` tag in `html`, as its raw text.
pub fn input_tags(html: &str) -> Vec<String> {
    tags(html, "input")
}

/// Every `<NAME ...>` opening tag in `html`, as its raw text (case-insensitive on the name).
pub fn tags(html: &str, tag_name: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{}", tag_name.to_ascii_lowercase());
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&open) {
        let start = from + i;
        let after = start + open.len();
        let boundary = lower[after..].chars().next();
        let Some(end) = lower[start..].find('>') else {
            break;
        };
        if matches!(boundary, Some(c) if c.is_whitespace() || c == '>' || c == '/') {
            out.push(html[start..start + end + 1].to_string());
        }
        from = start + end + 1;
    }
    out
}

/// The value of attribute `name` in one raw tag, entity-decoded; `Some("")` for a bare attribute.
pub fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&name) {
        let start = from + i;
        let end = start + name.len();
        from = end;
        let before_ok = start > 0
            && lower[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_whitespace());
        if !before_ok {
            continue;
        }
        let rest = &tag[end..];
        let trimmed = rest.trim_start();
        if !trimmed.starts_with('=') {
            let next = rest.chars().next();
            if matches!(next, Some(c) if c.is_whitespace() || c == '>' || c == '/')
                || next.is_none()
            {
                return Some(String::new());
            }
            continue;
        }
        let value = trimmed[1..].trim_start();
        let raw = match value.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &value[1..];
                &inner[..inner.find(q)?]
            }
            _ => {
                let stop = value
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(value.len());
                &value[..stop]
            }
        };
        return Some(html_unescape(raw));
    }
    None
}

/// Decodes the entities a template engine produces in attribute values.
pub fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") || entity.starts_with("#X") => {
                u32::from_str_radix(&entity[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inputs() {
        let html = r#"<form><input type="hidden" name="csrf" value="a&#x2f;b&amp;c">
            <INPUT name='interaction' value=xyz ><input type="email" name="email" autocomplete="email" required></form>"#;
        assert_eq!(input_value(html, "csrf").as_deref(), Some("a/b&c"));
        assert_eq!(input_value(html, "interaction").as_deref(), Some("xyz"));
        assert_eq!(input_value(html, "email"), None);
        let email = input_tags(html)
            .into_iter()
            .find(|t| t.contains("email"))
            .unwrap();
        assert_eq!(attr(&email, "required").as_deref(), Some(""));
        assert_eq!(attr(&email, "autocomplete").as_deref(), Some("email"));
    }

    #[test]
    fn reads_forms() {
        let html = r#"<form method="post" action="/x"><input type="hidden" name="a" value="1">
            <button type="submit" name="resend" value="1">Again</button></form><form><input name=b></form>"#;
        let found = forms(html);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].action.as_deref(), Some("/x"));
        assert_eq!(found[0].fields, vec![("a".to_string(), "1".to_string())]);
        assert_eq!(
            found[0].buttons,
            vec![("resend".to_string(), "1".to_string())]
        );
        assert_eq!(found[1].method, "get");
        assert!(find_form_with(html, "b").is_some());
    }
}
