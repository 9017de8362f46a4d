//! Time-based one-time passwords (TOTP, RFC 6238) as authenticator apps make them, and the
//! base32 (RFC 4648 §6) their secrets are typed and scanned in.
//!
//! The parameters are the ones every authenticator app supports and most support only:
//! HMAC-SHA-1, 6 digits, a 30-second step ([`DIGITS`], [`STEP`]). SHA-1 is weak for collisions,
//! not as the HMAC of a 160-bit random key (RFC 6238 §5.1 and RFC 2104 need only a PRF), which
//! is why ring offers it for this use alone. A code is accepted for the step of `now` and one
//! step either side ([`ALLOWED_DRIFT`]): a phone's clock a little off, or a code typed as it
//! turned over, still works, while the window stays 90 seconds. Refusing a code used once
//! (RFC 6238 §5.2) is the caller's: [`matching_step`] returns the step that matched so that it
//! can be remembered (see `factors::totp`).
//!
//! The secret is [`SECRET_LEN`] bytes from the CSPRNG: 160 bits, the HMAC-SHA-1 output size
//! RFC 4226 §4 recommends. Base32 is written here rather than taken from a crate: it is twenty
//! lines, and the only other place sesame needs it is the `otpauth://` URI below.

use super::{constant_time_eq, fill_random};
use ring::hmac;

/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Seconds per time step (RFC 6238's X).
pub const STEP: u64 = 30;
/// Bytes in a secret (160 bits).
pub const SECRET_LEN: usize = 20;
/// Steps before and after the current one whose codes are accepted too.
pub const ALLOWED_DRIFT: u64 = 1;

/// A fresh secret from the CSPRNG.
pub fn new_secret() -> [u8; SECRET_LEN] {
    let mut secret = [0u8; SECRET_LEN];
    fill_random(&mut secret);
    secret
}

/// The time step `now` (Unix seconds) falls in (RFC 6238's T, with T0 = 0).
pub fn step_of(now: u64) -> u64 {
    now / STEP
}

/// The `digits`-digit code of `secret` for time step `step` (RFC 4226 §5.3's HOTP with the
/// step as counter), zero-padded. `digits` is at most 9 (a 31-bit value has 10 digits at most).
pub fn code_at(secret: &[u8], step: u64, digits: u32) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    // Dynamic truncation (RFC 4226 §5.4): the low 4 bits of the last byte pick 4 bytes.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bytes = [
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ];
    let value = u32::from_be_bytes(bytes) & 0x7fff_ffff;
    let digits = digits.min(9);
    let code = value % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The step whose [`DIGITS`]-digit code `code` is, among the step of `now` and
/// [`ALLOWED_DRIFT`] steps either side; `None` if none. Every candidate is computed and
/// compared in constant time, whichever matches. `code` must already be trimmed.
pub fn matching_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_of(now);
    let mut found = None;
    for step in current.saturating_sub(ALLOWED_DRIFT)..=current.saturating_add(ALLOWED_DRIFT) {
        if constant_time_eq(code_at(secret, step, DIGITS).as_bytes(), code.as_bytes()) {
            found = Some(step);
        }
    }
    found
}

/// The RFC 4648 §6 base32 alphabet.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 (RFC 4648 §6) without padding, as authenticator apps take a secret.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        // Each input byte gives 8 bits; a partial chunk's last character carries padding bits.
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            let index = (bits >> (35 - 5 * i)) & 0x1f;
            out.push(char::from(BASE32[index as usize]));
        }
    }
    out
}

/// Decodes [`base32`]'s output (upper case, no padding); `None` for anything else.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = BASE32.iter().position(|&a| a == c)?;
        acc = (acc << 5 | value as u32) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // Leftover bits must be padding (zero) and fewer than a character's worth.
    (bits < 5 && acc & ((1 << bits) - 1) == 0).then_some(out)
}

/// The `otpauth://` URI authenticator apps scan (Google Authenticator's "Key Uri Format", which
/// the others follow): the label `issuer:account` and the `issuer` parameter name the entry,
/// and the parameters say what [`code_at`] does.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        percent_encode(issuer),
        percent_encode(account),
        base32(secret),
        percent_encode(issuer),
    )
}

/// Percent-encodes every byte but RFC 3986's unreserved characters (so `:`, `@`, `&`, `?`, `#`,
/// `/` and spaces in a name cannot change the URI's structure).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 key: the 20 ASCII bytes "12345678901234567890".
    const RFC_KEY: &[u8] = b"12345678901234567890";
    /// RFC 6238 Appendix B, the SHA-1 rows: time, 8-digit TOTP.
    const RFC_ROWS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn codes_match_rfc_6238_appendix_b_at_8_and_6_digits() {
        for (time, eight) in RFC_ROWS {
            assert_eq!(code_at(RFC_KEY, step_of(time), 8), eight, "T = {time}");
            // Six digits are the same value modulo 10^6: the last six.
            assert_eq!(
                code_at(RFC_KEY, step_of(time), DIGITS),
                eight[2..],
                "T = {time}"
            );
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let now = 1_234_567_890;
        let step = step_of(now);
        for (offset, expect) in [(-2i64, None), (-1, Some(step - 1)), (0, Some(step))] {
            let at = step.checked_add_signed(offset).unwrap();
            let code = code_at(RFC_KEY, at, DIGITS);
            assert_eq!(matching_step(RFC_KEY, &code, now), expect, "{offset}");
        }
        let ahead = code_at(RFC_KEY, step + 1, DIGITS);
        assert_eq!(matching_step(RFC_KEY, &ahead, now), Some(step + 1));
        let too_far = code_at(RFC_KEY, step + 2, DIGITS);
        assert_eq!(matching_step(RFC_KEY, &too_far, now), None);
        for bad in ["", "12345", "1234567", "12345a", " 005924", "٠٠٥٩٢٤"] {
            assert_eq!(matching_step(RFC_KEY, bad, now), None, "{bad:?}");
        }
        // Step 0 has no step before it.
        let first = code_at(RFC_KEY, 0, DIGITS);
        assert_eq!(matching_step(RFC_KEY, &first, 10), Some(0));
    }

    #[test]
    fn base32_matches_rfc_4648_section_10_without_padding() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base32(RFC_KEY), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let secret = new_secret();
        assert_eq!(base32(&secret).len(), 32);
        assert_eq!(base32_decode(&base32(&secret)), Some(secret.to_vec()));
    }

    #[test]
    fn base32_decode_refuses_other_text() {
        for bad in ["MY======", "my", "MZ", "M", "MZXW6YQ1", "MZ XQ", "MZXR"] {
            assert_eq!(base32_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_uri_names_the_entry_and_escapes_what_would_break_it() {
        let uri = otpauth_uri(RFC_KEY, "Acme ID", "ada+x@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20ID:ada%2Bx%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Acme%20ID&algorithm=SHA1&digits=6&period=30"
        );
        let tricky = otpauth_uri(RFC_KEY, "a:b&c=d", "x?y#z");
        assert!(tricky.starts_with("otpauth://totp/a%3Ab%26c%3Dd:x%3Fy%23z?secret="));
    }

    #[test]
    fn secrets_differ() {
        assert_ne!(new_secret(), new_secret());
    }
}
