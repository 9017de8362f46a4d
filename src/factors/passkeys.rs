//! Passkeys: a user's WebAuthn credentials, registered from the account page (or at a
//! sign-in's second step) and used to sign in, alone or as the second factor.
//!
//! The ceremonies, as the browser and this module share them:
//!
//! ```text
//!  registration: begin_registration ─▶ options (challenge kept for the user, 5 min, one use)
//!                 navigator.credentials.create(options) in the page's script
//!                 finish_registration(response) ─▶ checks (crypto::webauthn) ─▶ stored
//!  sign-in:      the sign-in keeps a challenge (signin::passkey_options), the page asks
//!                 navigator.credentials.get; the response names the user (userHandle: the
//!                 user ID) and credential; [`verify`] checks it against the stored key and
//!                 moves the counter on
//! ```
//!
//! The relying party is the issuer: its host is the RP ID, its origin the only origin
//! accepted. A host that is an IP address cannot be an RP ID (browsers refuse it), so passkeys
//! are offered only when the issuer has a domain name (`localhost` is one).
//!
//! A counter that does not advance (when either side is not zero) means the credential may
//! have been cloned: the sign-in is refused, and the audit log says so.
//!
//! Uses: crypto (webauthn, random), store, audit, users. Never the edge.

use crate::audit::{self, Actor, AuditEntry, AuditEvent};
use crate::crypto::{self, webauthn};
use crate::issuer::Issuer;
use crate::provider::Provider;
use crate::store::{Challenge, Passkey, Reads, StoreError, User, Writes};
use serde::Deserialize;
use serde_json::{json, Value};

#[cfg(test)]
pub mod testing;

/// How long a challenge answers a ceremony (issue 11: 5 minutes).
pub const CHALLENGE_TTL: u64 = 5 * 60;
/// The most passkeys one account keeps.
pub const MAX_PER_USER: usize = 20;
/// The longest name a passkey is given.
pub const MAX_NAME: usize = 64;

/// The names passkey changes carry in the audit log (`command` of an `admin_change`).
pub const COMMANDS: &[&str] = &[
    "passkey.add",
    "passkey.rename",
    "passkey.remove",
    "passkey.cloned",
];

/// Why a passkey was not accepted.
#[derive(Debug)]
pub enum PasskeyError {
    /// The issuer's host is an IP address, which cannot be a WebAuthn relying party.
    Unavailable,
    /// No ceremony is waiting (never begun, already answered, or older than 5 minutes).
    NoChallenge,
    /// The browser's answer is not the JSON the page's script sends.
    Malformed(String),
    /// A check of the WebAuthn specification failed (which, in words).
    Refused(webauthn::WebAuthnError),
    /// No stored passkey has this credential ID (removed, or another account's).
    Unknown,
    /// The counter went backwards: the credential may have been cloned.
    Cloned,
    /// The account already has this credential, or as many passkeys as it may.
    Duplicate,
    TooMany,
    Store(StoreError),
}

impl std::fmt::Display for PasskeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasskeyError::Unavailable => f.write_str("passkeys need the issuer to have a domain name (an IP address cannot be a WebAuthn relying party)"),
            PasskeyError::NoChallenge => f.write_str("this passkey request has expired: try again"),
            PasskeyError::Malformed(why) => write!(f, "the browser's passkey answer could not be read: {why}"),
            PasskeyError::Refused(e) => write!(f, "the passkey was not accepted: {e}"),
            PasskeyError::Unknown => f.write_str("this passkey is not registered here (it may have been removed)"),
            PasskeyError::Cloned => f.write_str("this passkey's counter went backwards, so it may have been copied; it was refused: sign in another way and remove it"),
            PasskeyError::Duplicate => f.write_str("this passkey is already registered"),
            PasskeyError::TooMany => write!(f, "an account keeps at most {MAX_PER_USER} passkeys: remove one first"),
            PasskeyError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl From<StoreError> for PasskeyError {
    fn from(e: StoreError) -> Self {
        PasskeyError::Store(e)
    }
}

/// The relying party the issuer is; `None` when its host is an IP address.
pub fn relying_party(issuer: &Issuer) -> Option<webauthn::RelyingParty> {
    let url = url::Url::parse(&issuer.url).ok()?;
    let host = match url.host()? {
        url::Host::Domain(d) => d.to_string(),
        _ => return None,
    };
    let origin = url.origin().ascii_serialization();
    Some(webauthn::RelyingParty { id: host, origin })
}

/// A fresh challenge, valid [`CHALLENGE_TTL`] from `now`.
pub fn challenge(now: u64) -> Challenge {
    Challenge {
        // 32 random bytes, base64url: what the browser is given and signs over.
        value: crypto::random_token(),
        expires_at: now + CHALLENGE_TTL,
    }
}

/// How many passkeys the user has.
pub fn count(tx: &impl Reads, user_id: &str) -> Result<usize, StoreError> {
    Ok(tx.passkeys_of(user_id)?.len())
}

/// The user's passkeys, newest first.
pub fn list(p: &Provider, user_id: &str) -> Result<Vec<Passkey>, StoreError> {
    Ok(newest_first(p.store.read(|tx| tx.passkeys_of(user_id))?))
}

/// Passkeys sorted newest first.
pub fn newest_first(mut all: Vec<Passkey>) -> Vec<Passkey> {
    all.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    all
}

/// Starts registering a passkey for `user`: keeps a challenge for them (replacing an older
/// one) and returns the options for `navigator.credentials.create` (the JSON form of
/// `PublicKeyCredentialCreationOptions`, binary values base64url).
pub fn begin_registration(p: &Provider, user: &User, product: &str) -> Result<Value, PasskeyError> {
    let rp = relying_party(&p.issuer).ok_or(PasskeyError::Unavailable)?;
    let c = challenge(p.now());
    let existing = p.store.write(|tx| {
        tx.put_passkey_registration(&user.id, &c)?;
        tx.passkeys_of(&user.id)
    })?;
    let exclude: Vec<Value> = existing.iter().map(descriptor).collect();
    let params: Vec<Value> = webauthn::SUPPORTED
        .iter()
        .map(|a| json!({"type": "public-key", "alg": a.cose_id()}))
        .collect();
    Ok(json!({
        "rp": {"id": rp.id, "name": product},
        "user": {
            "id": crypto::b64url(user.id.as_bytes()),
            "name": user.email,
            "displayName": user.name.clone().unwrap_or_else(|| user.email.clone()),
        },
        "challenge": c.value,
        "pubKeyCredParams": params,
        "timeout": CHALLENGE_TTL * 1000,
        "excludeCredentials": exclude,
        "authenticatorSelection": {"residentKey": "required", "requireResidentKey": true, "userVerification": "preferred"},
        "attestation": "none",
    }))
}

/// A stored passkey as a `PublicKeyCredentialDescriptor` (for allow and exclude lists).
pub fn descriptor(pk: &Passkey) -> Value {
    json!({"type": "public-key", "id": pk.credential_id, "transports": pk.transports})
}

/// The options for `navigator.credentials.get` with `challenge`: any discoverable passkey when
/// `allow` is empty (the user is not known yet), else one of these.
pub fn request_options(rp: &webauthn::RelyingParty, c: &Challenge, allow: &[Passkey]) -> Value {
    json!({
        "rpId": rp.id,
        "challenge": c.value,
        "timeout": CHALLENGE_TTL * 1000,
        "userVerification": "preferred",
        "allowCredentials": allow.iter().map(descriptor).collect::<Vec<_>>(),
    })
}

/// What the page's script posts after `navigator.credentials.create`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResponse {
    pub id: String,
    pub client_data_json: String,
    pub attestation_object: String,
    #[serde(default)]
    pub transports: Vec<String>,
}

/// What the page's script posts after `navigator.credentials.get`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponse {
    pub id: String,
    pub client_data_json: String,
    pub authenticator_data: String,
    pub signature: String,
    /// The user ID the credential was registered with (base64url); discoverable credentials
    /// always return it.
    #[serde(default)]
    pub user_handle: Option<String>,
}

/// Parses what the script posted (a JSON text in a form field).
pub fn parse<T: serde::de::DeserializeOwned>(posted: &str) -> Result<T, PasskeyError> {
    serde_json::from_str(posted).map_err(|e| PasskeyError::Malformed(e.to_string()))
}

fn bytes(field: &str, b64: &str) -> Result<Vec<u8>, PasskeyError> {
    crypto::b64url_decode(b64)
        .ok_or_else(|| PasskeyError::Malformed(format!("{field} is not base64url")))
}

/// Finishes registering a passkey for `user_id`, named `name` (empty: a name from its kind):
/// checks the answer against the kept challenge (used up either way), stores the passkey and
/// records it in the audit log, in one transaction.
pub fn finish_registration(
    p: &Provider,
    user_id: &str,
    response: &RegistrationResponse,
    name: &str,
    actor: Actor,
) -> Result<Passkey, PasskeyError> {
    let rp = relying_party(&p.issuer).ok_or(PasskeyError::Unavailable)?;
    let client_data = bytes("clientDataJSON", &response.client_data_json)?;
    let attestation = bytes("attestationObject", &response.attestation_object)?;
    let now = p.now();
    p.store.write(|tx| {
        let Some(c) = tx.passkey_registration(user_id)? else {
            return Ok(Err(PasskeyError::NoChallenge));
        };
        tx.remove_passkey_registration(user_id)?;
        if now >= c.expires_at {
            return Ok(Err(PasskeyError::NoChallenge));
        }
        let Some(expected) = crypto::b64url_decode(&c.value) else {
            return Ok(Err(PasskeyError::NoChallenge));
        };
        let reg = match webauthn::verify_registration(
            &rp,
            &expected,
            &client_data,
            &attestation,
            false,
        ) {
            Ok(r) => r,
            Err(e) => return Ok(Err(PasskeyError::Refused(e))),
        };
        let existing = tx.passkeys_of(user_id)?;
        let credential_id = crypto::b64url(&reg.credential_id);
        if existing.iter().any(|k| k.credential_id == credential_id) {
            return Ok(Err(PasskeyError::Duplicate));
        }
        if existing.len() >= MAX_PER_USER {
            return Ok(Err(PasskeyError::TooMany));
        }
        let passkey = Passkey {
            user_id: user_id.to_string(),
            credential_id,
            public_key: crypto::b64url(&reg.public_key),
            alg: reg.alg.as_str().to_string(),
            sign_count: reg.sign_count,
            transports: clean_transports(&response.transports),
            name: clean_name(name, reg.backup_eligible, existing.len() + 1),
            backup_eligible: reg.backup_eligible,
            backed_up: reg.backed_up,
            created_at: now,
            last_used_at: None,
        };
        tx.put_passkey(&passkey)?;
        record(tx, now, actor, user_id, "passkey.add", &passkey)?;
        Ok::<_, StoreError>(Ok(passkey))
    })?
}

/// Known transport names only (they are echoed back to browsers).
fn clean_transports(given: &[String]) -> Vec<String> {
    const KNOWN: [&str; 6] = ["usb", "nfc", "ble", "internal", "hybrid", "smart-card"];
    given
        .iter()
        .filter(|t| KNOWN.contains(&t.as_str()))
        .take(KNOWN.len())
        .cloned()
        .collect()
}

/// The name as given, trimmed and bounded; a default from its kind when blank.
pub fn clean_name(name: &str, synced: bool, n: usize) -> String {
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    if !name.is_empty() {
        return name;
    }
    if synced {
        format!("Passkey {n}")
    } else {
        format!("Security key {n}")
    }
}

/// A passkey that passed the checks, as the sign-in uses it.
#[derive(Debug, Clone)]
pub struct Verified {
    pub user_id: String,
    /// The authenticator verified the person (UV): the passkey is two factors.
    pub user_verified: bool,
    /// Backed up (synced): `swk` rather than `hwk`.
    pub synced: bool,
}

/// Checks a sign-in's passkey answer against challenge `c` (the caller has taken it: one use),
/// inside the caller's transaction. `expected_user`: the user a second step is for (the
/// credential must be theirs); `None` for a sign-in with the passkey alone. On success the
/// counter and last use are stored; a counter that went backwards is refused and audited.
pub fn verify(
    tx: &impl Writes,
    rp: &webauthn::RelyingParty,
    c: &Challenge,
    now: u64,
    response: &AssertionResponse,
    expected_user: Option<&str>,
) -> Result<Result<Verified, PasskeyError>, StoreError> {
    if now >= c.expires_at {
        return Ok(Err(PasskeyError::NoChallenge));
    }
    let decoded = (|| {
        Ok::<_, PasskeyError>((
            bytes("challenge", &c.value)?,
            bytes("clientDataJSON", &response.client_data_json)?,
            bytes("authenticatorData", &response.authenticator_data)?,
            bytes("signature", &response.signature)?,
        ))
    })();
    let (expected, client_data, auth_data, signature) = match decoded {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    let from_handle = response
        .user_handle
        .as_deref()
        .and_then(crypto::b64url_decode)
        .and_then(|b| String::from_utf8(b).ok());
    let user_id = match (expected_user, from_handle) {
        (Some(u), Some(h)) if u != h => return Ok(Err(PasskeyError::Unknown)),
        (Some(u), _) => u.to_string(),
        (None, Some(h)) => h,
        (None, None) => return Ok(Err(PasskeyError::Unknown)),
    };
    let Some(mut pk) = tx.passkey(&user_id, &response.id)? else {
        return Ok(Err(PasskeyError::Unknown));
    };
    let Some(key) = crypto::b64url_decode(&pk.public_key) else {
        return Err(StoreError::Db("stored passkey key is not base64url".into()));
    };
    let a = match webauthn::verify_assertion(
        rp,
        &expected,
        &key,
        &client_data,
        &auth_data,
        &signature,
        false,
    ) {
        Ok(a) => a,
        Err(e) => return Ok(Err(PasskeyError::Refused(e))),
    };
    if !webauthn::counter_ok(pk.sign_count, a.sign_count) {
        let entry = AuditEntry::new(Actor::Anonymous, change("passkey.cloned", &pk)).user(&user_id);
        audit::record(tx, now, entry)?;
        tracing::warn!(sub = %user_id, passkey = %pk.name, stored = pk.sign_count, presented = a.sign_count, "passkey refused: its signature counter did not advance (a cloned authenticator?)");
        return Ok(Err(PasskeyError::Cloned));
    }
    pk.sign_count = a.sign_count;
    pk.backed_up = a.backed_up;
    pk.last_used_at = Some(now);
    tx.put_passkey(&pk)?;
    Ok(Ok(Verified {
        user_id,
        user_verified: a.user_verified,
        synced: a.backed_up,
    }))
}

/// Renames a passkey of `user_id`; `false`: it does not exist.
pub fn rename(
    p: &Provider,
    user_id: &str,
    credential_id: &str,
    name: &str,
    actor: Actor,
) -> Result<bool, StoreError> {
    let now = p.now();
    p.store.write(|tx| {
        let Some(mut pk) = tx.passkey(user_id, credential_id)? else {
            return Ok(false);
        };
        pk.name = clean_name(name, pk.backup_eligible, 1);
        tx.put_passkey(&pk)?;
        record(tx, now, actor, user_id, "passkey.rename", &pk)?;
        Ok(true)
    })
}

/// Removes a passkey of `user_id` (the user's own choice, or an administrator's); `false`: it
/// does not exist.
pub fn remove(
    p: &Provider,
    user_id: &str,
    credential_id: &str,
    actor: Actor,
) -> Result<bool, StoreError> {
    let now = p.now();
    p.store.write(|tx| {
        let Some(pk) = remove_in(tx, user_id, credential_id)? else {
            return Ok(false);
        };
        record(tx, now, actor, user_id, "passkey.remove", &pk)?;
        Ok(true)
    })
}

/// Removes a passkey of `user_id` in the caller's transaction (which audits it); returns it,
/// or `None` when the user has no such passkey.
pub fn remove_in(
    tx: &impl Writes,
    user_id: &str,
    credential_id: &str,
) -> Result<Option<Passkey>, StoreError> {
    let found = tx.passkey(user_id, credential_id)?;
    if found.is_some() {
        tx.remove_passkey(user_id, credential_id)?;
    }
    Ok(found)
}

/// Whether `user`, just proved by an email code in a browser with a platform authenticator,
/// is offered to add a passkey: passkeys work with this issuer, the user has none, and was
/// never offered before. Recorded as offered (in the caller's transaction) when yes: once.
pub fn offer_once(
    tx: &impl Writes,
    issuer: &Issuer,
    user_id: &str,
    now: u64,
) -> Result<bool, StoreError> {
    if relying_party(issuer).is_none()
        || tx.passkey_offered(user_id)?.is_some()
        || count(tx, user_id)? > 0
    {
        return Ok(false);
    }
    tx.put_passkey_offered(user_id, now)?;
    Ok(true)
}

fn change(command: &str, pk: &Passkey) -> AuditEvent {
    AuditEvent::AdminChange {
        command: command.to_string(),
        changes: audit::Changes::of(json!({
            "passkey": pk.name,
            "alg": pk.alg,
            "credential_id": pk.credential_id,
        })),
    }
}

fn record(
    tx: &impl Writes,
    now: u64,
    actor: Actor,
    user_id: &str,
    command: &str,
    pk: &Passkey,
) -> Result<(), StoreError> {
    audit::record(
        tx,
        now,
        AuditEntry::new(actor, change(command, pk)).user(user_id),
    )
}
