//! A small, strict CBOR (RFC 8949) reader for the subset WebAuthn uses: maps, arrays, byte and
//! text strings, unsigned and negative integers, `true`, `false` and `null`.
//!
//! Everything else is refused rather than skipped: indefinite lengths (CTAP2 canonical CBOR has
//! none), tags, floats, `undefined` and other simple values, and the reserved additional-info
//! values 28-30. Map keys must be integers or text (COSE labels and attestation keys are
//! nothing else) and may not repeat, so no two readers can disagree on what a map says.
//!
//! Limits, because the input comes from a stranger: nesting at most [`MAX_DEPTH`] deep (the
//! deepest WebAuthn structure, a packed attestation's `x5c` array inside `attStmt` inside the
//! attestation object, is 3), at most [`MAX_ITEMS`] entries per array or map, and every length
//! is checked against the bytes that remain before anything is sliced or allocated. Strings
//! are borrowed from the input, never copied. Integer encodings need not be minimal (some
//! authenticators' are not), which changes no value.

use std::fmt;

/// The deepest nesting accepted; WebAuthn needs 3.
pub const MAX_DEPTH: usize = 8;

/// The most entries accepted in one array or map; WebAuthn's largest (a COSE key) has 5.
pub const MAX_ITEMS: u64 = 128;

/// One CBOR data item, borrowing its strings from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// An unsigned (major type 0) or negative (major type 1) integer: -2^64 ..= 2^64 - 1.
    Int(i128),
    /// A byte string (major type 2).
    Bytes(&'a [u8]),
    /// A UTF-8 text string (major type 3).
    Text(&'a str),
    /// An array (major type 4).
    Array(Vec<Value<'a>>),
    /// A map (major type 5), entries in the order given; keys are `Int` or `Text`, no repeats.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// `false` or `true` (simple values 20, 21).
    Bool(bool),
    /// `null` (simple value 22).
    Null,
}

impl<'a> Value<'a> {
    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Value<'a>, Value<'a>)]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The text, if this is a text string.
    pub fn as_text(&self) -> Option<&'a str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The value under text key `key`, if this is a map that has it.
    pub fn get_text_key(&self, key: &str) -> Option<&Value<'a>> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }

    /// The value under integer key `key` (a COSE label), if this is a map that has it.
    pub fn get_int_key(&self, key: i128) -> Option<&Value<'a>> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_int() == Some(key))
            .map(|(_, v)| v)
    }
}

/// Why some bytes are not the CBOR we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CborError {
    /// The input ends inside an item.
    UnexpectedEnd,
    /// Bytes follow the item where nothing may.
    TrailingData,
    /// An indefinite-length string, array or map (additional info 31).
    IndefiniteLength,
    /// Additional info 28-30, which RFC 8949 reserves.
    ReservedInfo,
    /// A tag (major type 6), a float, `undefined` or another simple value.
    UnsupportedItem,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// An array or map with more than [`MAX_ITEMS`] entries.
    TooManyItems,
    /// A text string that is not UTF-8.
    InvalidUtf8,
    /// A map key that is neither an integer nor text.
    BadKeyType,
    /// The same key twice in one map.
    DuplicateKey,
}

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CborError::UnexpectedEnd => "the data ends in the middle of an item",
            CborError::TrailingData => "extra bytes follow the data",
            CborError::IndefiniteLength => "an indefinite length, which WebAuthn does not use",
            CborError::ReservedInfo => "a reserved length encoding",
            CborError::UnsupportedItem => "a tag, float or simple value WebAuthn does not use",
            CborError::TooDeep => "nested too deeply",
            CborError::TooManyItems => "an array or map with too many entries",
            CborError::InvalidUtf8 => "a text string that is not UTF-8",
            CborError::BadKeyType => "a map key that is neither an integer nor text",
            CborError::DuplicateKey => "the same map key twice",
        })
    }
}

impl std::error::Error for CborError {}

/// Reads exactly one item from `input`; anything after it is [`CborError::TrailingData`].
pub fn parse(input: &[u8]) -> Result<Value<'_>, CborError> {
    let (value, used) = parse_prefix(input)?;
    if used != input.len() {
        return Err(CborError::TrailingData);
    }
    Ok(value)
}

/// Reads one item from the start of `input` and says how many bytes it took: for CBOR that is
/// followed by other data, as the credential public key in authenticator data is.
pub fn parse_prefix(input: &[u8]) -> Result<(Value<'_>, usize), CborError> {
    let mut reader = Reader { input, pos: 0 };
    let value = reader.item(0)?;
    Ok((value, reader.pos))
}

/// A cursor over the input.
struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.input.get(self.pos).ok_or(CborError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `len` bytes, after checking they are there.
    fn take(&mut self, len: u64) -> Result<&'a [u8], CborError> {
        let len = usize::try_from(len).map_err(|_| CborError::UnexpectedEnd)?;
        if len > self.remaining() {
            return Err(CborError::UnexpectedEnd);
        }
        let bytes = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    /// The argument that follows an initial byte's additional info (RFC 8949 §3).
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        let width = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            28..=30 => return Err(CborError::ReservedInfo),
            _ => return Err(CborError::IndefiniteLength),
        };
        let bytes = self.take(width)?;
        Ok(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        if major == 7 {
            return simple(info);
        }
        let arg = self.argument(info)?;
        match major {
            0 => Ok(Value::Int(i128::from(arg))),
            1 => Ok(Value::Int(-1 - i128::from(arg))),
            2 => Ok(Value::Bytes(self.take(arg)?)),
            3 => {
                let bytes = self.take(arg)?;
                let text = std::str::from_utf8(bytes).map_err(|_| CborError::InvalidUtf8)?;
                Ok(Value::Text(text))
            }
            4 => self.array(arg, depth),
            5 => self.map(arg, depth),
            _ => Err(CborError::UnsupportedItem),
        }
    }

    /// Checks an array or map's entry count before reserving room for it: each item takes at
    /// least one byte, so a count beyond the remaining input cannot be honest.
    fn count(&self, count: u64, bytes_per_entry: u64) -> Result<usize, CborError> {
        if count > MAX_ITEMS {
            return Err(CborError::TooManyItems);
        }
        let needed = count.saturating_mul(bytes_per_entry);
        if needed > self.remaining() as u64 {
            return Err(CborError::UnexpectedEnd);
        }
        // count <= MAX_ITEMS, so it fits in usize.
        Ok(count as usize)
    }

    fn array(&mut self, count: u64, depth: usize) -> Result<Value<'a>, CborError> {
        let count = self.count(count, 1)?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(self.item(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, count: u64, depth: usize) -> Result<Value<'a>, CborError> {
        let count = self.count(count, 2)?;
        let mut entries: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(count);
        for _ in 0..count {
            let key = self.item(depth + 1)?;
            if !matches!(key, Value::Int(_) | Value::Text(_)) {
                return Err(CborError::BadKeyType);
            }
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(CborError::DuplicateKey);
            }
            let value = self.item(depth + 1)?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

/// Major type 7: only `false`, `true` and `null`.
fn simple(info: u8) -> Result<Value<'static>, CborError> {
    match info {
        20 => Ok(Value::Bool(false)),
        21 => Ok(Value::Bool(true)),
        22 => Ok(Value::Null),
        31 => Err(CborError::IndefiniteLength),
        _ => Err(CborError::UnsupportedItem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_the_rfc_8949_appendix_a_examples_it_supports() {
        let cases: &[(&str, Value)] = &[
            ("00", Value::Int(0)),
            ("17", Value::Int(23)),
            ("1818", Value::Int(24)),
            ("1903e8", Value::Int(1000)),
            ("1a000f4240", Value::Int(1_000_000)),
            ("1bffffffffffffffff", Value::Int(18_446_744_073_709_551_615)),
            ("20", Value::Int(-1)),
            ("3863", Value::Int(-100)),
            (
                "3bffffffffffffffff",
                Value::Int(-18_446_744_073_709_551_616),
            ),
            ("40", Value::Bytes(b"")),
            ("4401020304", Value::Bytes(&[1, 2, 3, 4])),
            ("6449455446", Value::Text("IETF")),
            ("62c3bc", Value::Text("\u{fc}")),
            ("f4", Value::Bool(false)),
            ("f5", Value::Bool(true)),
            ("f6", Value::Null),
            ("80", Value::Array(vec![])),
            (
                "8301820203820405",
                Value::Array(vec![
                    Value::Int(1),
                    Value::Array(vec![Value::Int(2), Value::Int(3)]),
                    Value::Array(vec![Value::Int(4), Value::Int(5)]),
                ]),
            ),
            ("a0", Value::Map(vec![])),
            (
                "a201020304",
                Value::Map(vec![
                    (Value::Int(1), Value::Int(2)),
                    (Value::Int(3), Value::Int(4)),
                ]),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(parse(&hex(bytes)).as_ref(), Ok(expected), "{bytes}");
        }
    }

    #[test]
    fn refuses_what_webauthn_does_not_use() {
        let cases: &[(&str, CborError)] = &[
            ("", CborError::UnexpectedEnd),
            ("18", CborError::UnexpectedEnd),
            ("1a0000", CborError::UnexpectedEnd),
            ("0000", CborError::TrailingData),
            ("5f42010243030405ff", CborError::IndefiniteLength),
            ("9fff", CborError::IndefiniteLength),
            ("bfff", CborError::IndefiniteLength),
            ("ff", CborError::IndefiniteLength),
            ("1c", CborError::ReservedInfo),
            (
                "c074323031332d30332d32315432303a30343a30305a",
                CborError::UnsupportedItem,
            ),
            ("f93c00", CborError::UnsupportedItem),
            ("fb3ff199999999999a", CborError::UnsupportedItem),
            ("f7", CborError::UnsupportedItem),
            ("f0", CborError::UnsupportedItem),
            ("62c328", CborError::InvalidUtf8),
            ("a1410100", CborError::BadKeyType),
            ("a1f600", CborError::BadKeyType),
            ("a2616101616102", CborError::DuplicateKey),
            ("a201010102", CborError::DuplicateKey),
            ("44010203", CborError::UnexpectedEnd),
        ];
        for (bytes, expected) in cases {
            assert_eq!(parse(&hex(bytes)), Err(*expected), "{bytes}");
        }
    }

    #[test]
    fn lengths_are_checked_before_anything_is_allocated() {
        // A byte string and an array claiming 2^64 - 1 entries, with nothing behind them.
        assert_eq!(
            parse(&hex("5bffffffffffffffff")),
            Err(CborError::UnexpectedEnd)
        );
        assert_eq!(
            parse(&hex("9bffffffffffffffff")),
            Err(CborError::TooManyItems)
        );
        // 100 entries claimed, 3 bytes there.
        assert_eq!(parse(&hex("9864010203")), Err(CborError::UnexpectedEnd));
        let mut many = vec![0x98, 129];
        many.extend(std::iter::repeat_n(0u8, 129));
        assert_eq!(parse(&many), Err(CborError::TooManyItems));
    }

    #[test]
    fn nesting_is_limited() {
        let mut ok = vec![0x81; MAX_DEPTH];
        ok.push(0);
        assert!(parse(&ok).is_ok());
        let mut deep = vec![0x81; MAX_DEPTH + 1];
        deep.push(0);
        assert_eq!(parse(&deep), Err(CborError::TooDeep));
        // Deep enough to overflow the stack if the limit were missing.
        let mut very_deep = vec![0x81; 100_000];
        very_deep.push(0);
        assert_eq!(parse(&very_deep), Err(CborError::TooDeep));
    }

    #[test]
    fn parse_prefix_says_where_the_item_ends() {
        let data = hex("a10102ffee");
        let (value, used) = parse_prefix(&data).unwrap();
        assert_eq!(used, 3);
        assert_eq!(value.get_int_key(1), Some(&Value::Int(2)));
        assert_eq!(value.get_int_key(2), None);
        assert_eq!(value.get_text_key("a"), None);
    }
}
