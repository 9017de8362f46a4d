//! Email addresses as sesame compares them: one mailbox, one key.
//!
//! Two spellings reach the same mailbox when they differ only in ASCII case, or in how the
//! domain is written (Unicode or its punycode form). They never do when they differ in a
//! Unicode character that merely *lowercases* alike: the Kelvin sign `K` (U+212A) lowercases to
//! `k` under Unicode rules, but it is another mailbox, and folding it would let a stranger's
//! address reach an existing account. So the key is: the local part with ASCII letters
//! lower-cased and everything else as typed, `@`, the domain in lower-case ASCII (IDNA).
//!
//! Refused, each with its own message: quoted local parts (`"victim"@example.com` is the same
//! mailbox as `victim@example.com` for many servers, and would be a second account), control
//! characters, and zero-width and bidirectional-control characters (which make two addresses
//! look alike on screen).

/// The longest address accepted (RFC 5321 §4.5.3.1.3 bounds a path to 256 octets).
pub const MAX_LEN: usize = 254;

/// A valid email address: as typed (trimmed), and its comparison key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// As typed, trimmed: what mail is sent to and what the user sees.
    pub address: String,
    /// The comparison key: ASCII-lower-cased local part `@` lower-case ASCII domain.
    pub key: String,
}

/// Why a typed address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailError {
    /// Not an address at all (no `@`, no domain, bad characters).
    Invalid,
    /// Longer than [`MAX_LEN`].
    TooLong,
    /// A quoted local part (`"name"@example.com`).
    Quoted,
    /// A control, zero-width or bidirectional-control character.
    HiddenCharacter,
}

impl std::fmt::Display for EmailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EmailError::Invalid => "Enter an email address like name@example.com.",
            EmailError::TooLong => "That email address is too long.",
            EmailError::Quoted => {
                "Addresses with quotes are not accepted. Enter the address without quotation marks."
            }
            EmailError::HiddenCharacter => {
                "The address contains invisible or control characters. Type it again by hand."
            }
        })
    }
}

impl std::error::Error for EmailError {}

/// Characters that are invisible or reorder text: zero-width ones and bidirectional controls.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' // zero-width space, joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{061C}' // Arabic letter mark
            | '\u{FEFF}' // zero-width no-break space
            | '\u{00AD}' // soft hyphen
        )
}

impl Email {
    /// Parses a typed address.
    pub fn parse(typed: &str) -> Result<Email, EmailError> {
        let s = typed.trim();
        if s.chars().any(is_hidden) {
            return Err(EmailError::HiddenCharacter);
        }
        if s.len() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if s.starts_with('"') {
            return Err(EmailError::Quoted);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if local.is_empty() || local.contains('"') || local.contains('@') {
            return Err(if local.contains('"') {
                EmailError::Quoted
            } else {
                EmailError::Invalid
            });
        }
        let ascii_domain = match url::Host::parse(domain) {
            Ok(url::Host::Domain(d)) if !d.is_empty() && !d.ends_with('.') => d,
            _ => return Err(EmailError::Invalid),
        };
        // The syntax check proper (dot-atoms, allowed characters), on the ASCII form.
        if format!("{local}@{ascii_domain}")
            .parse::<lettre::Address>()
            .is_err()
        {
            return Err(EmailError::Invalid);
        }
        Ok(Email {
            address: s.to_string(),
            key: format!("{}@{ascii_domain}", local.to_ascii_lowercase()),
        })
    }

    /// The mailbox the address reaches, for counting what is sent to it: the key without a
    /// `+tag` (`ada+news@example.com` → `ada@example.com`), which most mail servers deliver to
    /// the same inbox. Only for budgets: accounts stay keyed by [`Email::key`].
    /// (Quoted local parts never get this far: [`Email::parse`] refuses them.)
    pub fn mailbox(&self) -> String {
        let (local, domain) = self.key.rsplit_once('@').unwrap_or((&self.key, ""));
        let local = match local.split_once('+') {
            Some((base, _)) if !base.is_empty() => base,
            _ => local,
        };
        format!("{local}@{domain}")
    }

    /// The domain of the key (lower-case ASCII).
    pub fn domain(&self) -> &str {
        self.key.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_case_and_the_domain_form_do_not_matter() {
        let a = Email::parse("  Ada@Example.COM ").unwrap();
        assert_eq!(a.address, "Ada@Example.COM");
        assert_eq!(a.key, "ada@example.com");
        let idn = Email::parse("ada@BÜCHER.example").unwrap();
        let puny = Email::parse("ada@xn--bcher-kva.example").unwrap();
        assert_eq!(idn.key, puny.key);
        assert_eq!(idn.domain(), "xn--bcher-kva.example");
    }

    #[test]
    fn plus_tags_and_case_reach_one_mailbox_for_counting() {
        let m = |a: &str| Email::parse(a).unwrap().mailbox();
        assert_eq!(m("Victim+199@Example.com"), "victim@example.com");
        assert_eq!(m("victim+a+b@example.com"), "victim@example.com");
        assert_eq!(m("VICTIM@example.com"), "victim@example.com");
        assert_eq!(m("+tag@example.com"), "+tag@example.com");
        assert_ne!(m("victim1@example.com"), m("victim@example.com"));
        assert_eq!(
            Email::parse("Victim+1@example.com").unwrap().key,
            "victim+1@example.com"
        );
    }

    #[test]
    fn unicode_lookalikes_are_other_mailboxes() {
        // The Kelvin sign lowercases to "k" under Unicode rules; it must not here.
        let kelvin = Email::parse("\u{212A}im@example.com").unwrap();
        let k = Email::parse("kim@example.com").unwrap();
        assert_ne!(kelvin.key, k.key);
    }

    #[test]
    fn quotes_and_hidden_characters_are_refused_by_name() {
        assert_eq!(
            Email::parse("\"victim\"@example.com"),
            Err(EmailError::Quoted)
        );
        assert_eq!(
            Email::parse("vic\"tim@example.com"),
            Err(EmailError::Quoted)
        );
        for hidden in [
            "\u{200B}", "\u{202E}", "\u{2066}", "\u{FEFF}", "\u{7}", "\u{AD}",
        ] {
            assert_eq!(
                Email::parse(&format!("ad{hidden}a@example.com")),
                Err(EmailError::HiddenCharacter),
                "{hidden:?}"
            );
        }
        assert_eq!(Email::parse("not an address"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("a@"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("@example.com"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("a@[127.0.0.1]"), Err(EmailError::Invalid));
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(260))),
            Err(EmailError::TooLong)
        );
    }
}
