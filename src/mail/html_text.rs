//! The plain-text alternative of an HTML email, derived from the HTML (Logto's templates are
//! HTML only). Small on purpose: email HTML is simple, and the text part only has to read well.

/// Derives the plain-text alternative from an HTML body: drops head, style and script, turns
/// block elements and `<br>` into line breaks, list items into `- ` lines, links into
/// `text (url)`, decodes entities and collapses whitespace.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = TextBuilder::default();
    let mut rest = html;
    let mut link: Option<String> = None;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            out.text(&decode_entities(rest));
            break;
        };
        out.text(&decode_entities(&rest[..lt]));
        rest = &rest[lt..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |e| &comment[e + 3..]);
            continue;
        }
        let Some(gt) = tag_end(rest) else {
            // A lone `<` in text.
            out.text("<");
            rest = &rest[1..];
            continue;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match name.as_str() {
            "head" | "style" | "script" | "title" if !closing => {
                let close = format!("</{name}");
                rest = find_ci(rest, &close)
                    .and_then(|i| rest[i..].find('>').map(|g| &rest[i + g + 1..]))
                    .unwrap_or("");
            }
            "br" => out.newline(),
            "li" if !closing => {
                out.newline();
                out.raw("- ");
            }
            "a" if !closing => {
                link = attribute(tag, "href");
                out.mark_link_start();
            }
            "a" => {
                if let Some(href) = link.take() {
                    out.link_end(&href);
                }
            }
            "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "ul" | "ol"
            | "blockquote" | "section" | "article" | "header" | "footer" | "center" | "hr" => {
                out.paragraph()
            }
            "tr" => out.newline(),
            "td" | "th" if closing => out.text(" "),
            _ => {}
        }
    }
    out.finish()
}

/// Accumulates text with collapsed whitespace and at most one blank line in a row.
#[derive(Default)]
struct TextBuilder {
    out: String,
    /// A space is owed before the next word (whitespace seen since the last word).
    pending_space: bool,
    /// Byte offset in `out` where the current link's text begins.
    link_start: usize,
}

impl TextBuilder {
    fn text(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
            } else {
                if self.pending_space && !self.out.is_empty() && !self.out.ends_with('\n') {
                    self.out.push(' ');
                }
                self.pending_space = false;
                self.out.push(c);
            }
        }
    }

    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
        self.pending_space = false;
    }

    fn newline(&mut self) {
        self.trim_trailing_spaces();
        self.out.push('\n');
        self.pending_space = false;
    }

    fn paragraph(&mut self) {
        self.trim_trailing_spaces();
        if self.out.is_empty() || self.out.ends_with("\n\n") {
            return;
        }
        if self.out.ends_with('\n') {
            self.out.push('\n');
        } else {
            self.out.push_str("\n\n");
        }
        self.pending_space = false;
    }

    fn mark_link_start(&mut self) {
        self.link_start = self.out.len();
    }

    fn link_end(&mut self, href: &str) {
        let text = self.out.get(self.link_start..).unwrap_or("").trim();
        let href = href.trim();
        let shown = href.strip_prefix("mailto:").unwrap_or(href);
        if href.is_empty() || href.starts_with('#') || text == shown {
            return;
        }
        self.text(&format!(" ({shown})"));
    }

    fn trim_trailing_spaces(&mut self) {
        while self.out.ends_with(' ') {
            self.out.pop();
        }
    }

    fn finish(self) -> String {
        let mut lines: Vec<&str> = Vec::new();
        for line in self.out.lines().map(str::trim) {
            if line.is_empty() && lines.last().is_some_and(|l: &&str| l.is_empty()) {
                continue;
            }
            lines.push(line);
        }
        lines.join("\n").trim().to_string()
    }
}

/// The index of the `>` closing the tag that starts `s` (quotes respected).
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .to_ascii_lowercase()
        .find(&needle.to_ascii_lowercase())
}

/// The value of attribute `name` in a start tag's text (`a href="x" class=y`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower[search..].find(name) {
        let at = search + found;
        search = at + name.len();
        let before_ok = lower[..at].ends_with(|c: char| c.is_ascii_whitespace());
        let rest = tag[at + name.len()..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value = rest[1..].trim_start();
        let v = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_ascii_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        };
        return Some(decode_entities(v));
    }
    None
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|e| *e <= 10);
        let decoded = end.and_then(|e| decode_entity(&rest[1..e]).map(|c| (c, e)));
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
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

fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "copy" => '©',
        "reg" => '®',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text_keeps_structure() {
        let html = r#"<!DOCTYPE html><html><head><title>T</title><style>p{color:red}</style></head>
            <body><!-- hidden --><h1>Hello&nbsp;there</h1>
            <p>Line one<br>Line   two &amp; more</p>
            <ul><li>first</li><li>second</li></ul>
            <p>Visit <a href="https://example.com/x?a=1&amp;b=2">our site</a> or
            <a href="mailto:help@example.com">help@example.com</a>.</p>
            <table><tr><td>a</td><td>b</td></tr></table>
            <script>alert(1)</script>&#169; &#x263A; 1 < 2</body></html>"#;
        let text = html_to_text(html);
        assert_eq!(
            text,
            "Hello there\n\nLine one\nLine two & more\n\n- first\n- second\n\n\
             Visit our site (https://example.com/x?a=1&b=2) or help@example.com.\n\n\
             a b\n\n© ☺ 1 < 2"
        );
    }
}
