//! The client data (WebAuthn §5.8.1): the JSON the browser built and the authenticator signed
//! a hash of, and its checks (§7.1 steps 5-10, §7.2 steps 10-14).

use super::{RelyingParty, WebAuthnError};
use crate::crypto::{b64url_decode, constant_time_eq};
use serde::Deserialize;

/// Which ceremony the client data is for: its `type` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// Registration: "webauthn.create".
    Create,
    /// Authentication: "webauthn.get".
    Get,
}

impl Ceremony {
    fn type_name(self) -> &'static str {
        match self {
            Ceremony::Create => "webauthn.create",
            Ceremony::Get => "webauthn.get",
        }
    }
}

/// The members sesame reads; others (`tokenBinding`, future ones, the spec's example
/// `extraData`) are ignored, as §5.8.1 asks. A repeated member is an error (serde refuses it).
#[derive(Deserialize)]
struct CollectedClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
    #[serde(rename = "topOrigin", default)]
    top_origin: Option<String>,
}

/// Parses `json` and checks it is for `ceremony`, carries `expected_challenge`, and comes from
/// the RP's own origin, not from inside another site's frame.
pub fn check(
    json: &[u8],
    ceremony: Ceremony,
    rp: &RelyingParty,
    expected_challenge: &[u8],
) -> Result<(), WebAuthnError> {
    // §7.1 steps 5-6: UTF-8 JSON (serde_json refuses invalid UTF-8 and trailing data).
    let data: CollectedClientData =
        serde_json::from_slice(json).map_err(|_| WebAuthnError::MalformedClientData)?;
    // Step 7: the ceremony, so an assertion cannot pass as a registration or the reverse.
    if data.kind != ceremony.type_name() {
        return Err(WebAuthnError::WrongType);
    }
    // Step 8: the challenge we issued, base64url without padding. Compared in constant time.
    let challenge = b64url_decode(&data.challenge).ok_or(WebAuthnError::ChallengeMismatch)?;
    if !constant_time_eq(&challenge, expected_challenge) {
        return Err(WebAuthnError::ChallengeMismatch);
    }
    // Step 9: exactly our origin (scheme, host and port); no prefix or case games.
    if data.origin != rp.origin {
        return Err(WebAuthnError::OriginMismatch);
    }
    // Level 3 (§7.1, §7.2): sesame's pages are never framed, so a ceremony run inside another
    // site's iframe (crossOrigin true, or a topOrigin at all) is refused.
    if data.cross_origin == Some(true) || data.top_origin.is_some() {
        return Err(WebAuthnError::CrossOrigin);
    }
    // Step 10 (Level 2): token binding is not checked; no browser ships it.
    Ok(())
}
