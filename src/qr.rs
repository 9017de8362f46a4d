//! QR codes as inline SVG: the `otpauth://` URI an authenticator app scans (account page).
//!
//! The page's content security policy allows no script and images only from sesame or
//! https; markup in the page is neither, so the code is drawn as an `<svg>` element in the
//! HTML itself: one `<path>` of unit squares over a white square, with the 4-module quiet zone
//! the QR specification asks for, `role="img"` and a label for screen readers. Its size is the
//! stylesheet's (class `qr`): the `viewBox` scales it. Dark on light whatever the page's theme,
//! since scanners expect that.
//!
//! Encoding is qrcodegen's (medium error correction: a phone's camera at a screen needs little).

use qrcodegen::{QrCode, QrCodeEcc};
use std::fmt::Write;

/// Modules of light border on each side (ISO/IEC 18004 §6.3.8).
const QUIET_ZONE: i32 = 4;

/// `data` as a QR code in an `<svg>` element, labelled for screen readers; an empty string if
/// `data` is too long for any QR code (about 2 KB; an `otpauth://` URI is a tenth of that).
pub fn svg(data: &str) -> String {
    let Ok(qr) = QrCode::encode_text(data, QrCodeEcc::Medium) else {
        return String::new();
    };
    let side = qr.size() + 2 * QUIET_ZONE;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                // Writing to a String cannot fail.
                let _ = write!(path, "M{},{}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE);
            }
        }
    }
    format!(
        concat!(
            r#"<svg class="qr" role="img" aria-label="QR code for your authenticator app" "#,
            r#"xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" "#,
            r##"shape-rendering="crispEdges"><rect width="{side}" height="{side}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##
        ),
        side = side,
        path = path
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_otpauth_uri_draws_a_labelled_svg_with_a_quiet_zone() {
        let svg =
            svg("otpauth://totp/Acme:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(
            svg.starts_with(r#"<svg class="qr" role="img" aria-label="#),
            "{svg}"
        );
        // 29 modules (version 3) plus 4 on each side.
        let qr = QrCode::encode_text(
            "otpauth://totp/Acme:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            QrCodeEcc::Medium,
        )
        .unwrap();
        let side = qr.size() + 8;
        assert!(svg.contains(&format!(r#"viewBox="0 0 {side} {side}""#)));
        // The top-left finder pattern's corner sits just inside the quiet zone.
        assert!(svg.contains(r#"d="M4,4h1v1h-1z"#));
        assert!(!svg.contains("M3,"), "nothing drawn in the quiet zone");
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn data_too_long_for_a_qr_code_draws_nothing() {
        assert_eq!(svg(&"x".repeat(5000)), "");
    }
}
