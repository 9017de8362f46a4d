//! The records kept in the store. Times are Unix seconds.

use crate::alg::Alg;
use serde::{Deserialize, Serialize};

/// How an application authenticates at the token endpoint, as Logto names the types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppType {
    /// A server-side web app: confidential, has a client secret.
    Traditional,
    /// A single-page app: public (no secret), PKCE required.
    Spa,
    /// A native or mobile app: public (no secret), PKCE required.
    Native,
    /// A program acting for itself (a backup job, a cron script): confidential, has a client
    /// secret, gets tokens only by the client-credentials grant (RFC 6749 §4.4), never signs a
    /// user in, so it has no redirect URIs (Logto's "machine-to-machine").
    Machine,
}

impl AppType {
    /// Public clients cannot keep a secret, so they must use PKCE.
    pub fn is_public(self) -> bool {
        matches!(self, AppType::Spa | AppType::Native)
    }

    /// Whether the app signs users in (authorization code flow, redirect URIs); only a machine
    /// app does not.
    pub fn signs_in_users(self) -> bool {
        !matches!(self, AppType::Machine)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AppType::Traditional => "traditional",
            AppType::Spa => "spa",
            AppType::Native => "native",
            AppType::Machine => "machine",
        }
    }
}

/// A name that is none of the app types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAppType(pub String);

impl std::fmt::Display for UnknownAppType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown app type {:?}: use traditional, spa, native or machine",
            self.0
        )
    }
}

impl std::error::Error for UnknownAppType {}

impl std::str::FromStr for AppType {
    type Err = UnknownAppType;
    fn from_str(s: &str) -> Result<Self, UnknownAppType> {
        match s.to_ascii_lowercase().as_str() {
            "traditional" | "web" => Ok(AppType::Traditional),
            "spa" | "single-page" => Ok(AppType::Spa),
            "native" => Ok(AppType::Native),
            "machine" | "m2m" => Ok(AppType::Machine),
            other => Err(UnknownAppType(other.to_string())),
        }
    }
}

/// A registered application (an OIDC client).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    pub client_id: String,
    pub name: String,
    pub app_type: AppType,
    /// SHA-256 (base64url) of the client secret; `None` for public clients.
    pub secret_hash: Option<String>,
    /// Exact-match list of allowed `redirect_uri` values.
    pub redirect_uris: Vec<String>,
    /// Exact-match list of allowed `post_logout_redirect_uri` values.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// The algorithm the app asked for its ID tokens; `None` signs with the default (ES384).
    /// Stored as its JOSE name, `"ES384"`.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<Alg>,
    /// The operator allowed `http://` redirect URIs to hosts on the LAN for this app (Jellyfin
    /// and the like, without TLS at home): its codes may travel unencrypted there. Written
    /// only when set, so records of apps without it stay as they were.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure_redirect: bool,
    pub created_at: u64,
    /// Declared in `sesame.toml`: reconciled at every start, not editable from the CLI.
    #[serde(default)]
    pub declared: bool,
    /// When not empty, only members of one of these groups may use the app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_groups: Vec<String>,
    /// Seconds after a rotation during which presenting the rotated refresh token again is a
    /// retry, not theft (see `oidc::grant`); 0 turns retries off. `None`: `[tokens]
    /// refresh_retry_window`. Written only when set, so older records stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_retry_window: Option<u64>,
    /// A machine app only: the API scopes it may get by client credentials, by resource
    /// indicator (`{"https://api.home/": ["read"]}`). Written only when set.
    #[serde(default, skip_serializing_if = "ApiScopes::is_empty")]
    pub api_scopes: ApiScopes,
    /// The app may use the device authorization grant (RFC 8628: a TV or a CLI signs in on
    /// another screen). Written only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub device_flow: bool,
    /// The app's authorization requests must be pushed first (RFC 9126 §5): `/auth` without
    /// a `request_uri` is refused. Written only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// Where sesame POSTs a `logout_token` when a session that signed in to this app ends
    /// (OIDC Back-Channel Logout 1.0 §2.2); `None`: the app is not told. Written only when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// The app needs `sid` in its logout tokens (and ID tokens) to know which session ended;
    /// sesame always sends it, and says so in the app's settings. Written only when off.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub backchannel_logout_session_required: bool,
    /// Whether signing in to this app needs a second factor after the email code (a passkey,
    /// an authenticator app's code or a recovery code). Written only when required.
    #[serde(default, skip_serializing_if = "SecondFactor::is_optional")]
    pub second_factor: SecondFactor,
}

/// Whether a sign-in needs a second factor (per app and per group; see `factors`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecondFactor {
    /// The email code alone will do; a user may still add a second factor.
    #[default]
    Optional,
    /// After the email code, a passkey, an authenticator app's code or a recovery code; a
    /// user with none enrolled is led to enrol one first.
    Required,
}

impl SecondFactor {
    /// Every value's name, as `as_str` spells it (the config's and the CLI's choices).
    pub const NAMES: [&'static str; 2] = ["optional", "required"];

    pub fn is_optional(&self) -> bool {
        *self == SecondFactor::Optional
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Optional => "optional",
            SecondFactor::Required => "required",
        }
    }
}

impl std::str::FromStr for SecondFactor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "optional" => Ok(SecondFactor::Optional),
            "required" => Ok(SecondFactor::Required),
            other => Err(format!(
                "unknown second_factor {other:?}: use \"optional\" or \"required\""
            )),
        }
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Scopes of registered APIs, by the API's resource indicator: what a group's members or a
/// machine app may be granted (`{"https://api.home/": ["read", "write"]}`).
pub type ApiScopes = std::collections::BTreeMap<String, Vec<String>>;

/// A person who can sign in: added by an administrator, declared in `sesame.toml`, or signed
/// up by email code where the sign-up policy allows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The stable subject identifier (`sub`): random, never reused, even after deletion.
    pub id: String,
    /// As typed, trimmed; compared by its key (see `users::email`).
    pub email: String,
    pub email_verified: bool,
    #[serde(default)]
    pub name: Option<String>,
    /// `preferred_username`; unique, compared ASCII case-insensitively.
    #[serde(default)]
    pub username: Option<String>,
    /// A URL.
    #[serde(default)]
    pub picture: Option<String>,
    /// Names of the groups the user is in, sorted.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Custom claims (a JSON object), released to apps after the groups' own.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// A disabled user cannot sign in, and has no live sessions or refresh tokens.
    #[serde(default)]
    pub disabled: bool,
    /// Declared in `sesame.toml`: reconciled at every start, not editable from the CLI.
    #[serde(default)]
    pub declared: bool,
    pub created_at: u64,
    pub updated_at: u64,
    #[serde(default)]
    pub last_sign_in_at: Option<u64>,
}

impl User {
    /// A new, enabled user with no groups or claims.
    pub fn new(id: String, email: String, now: u64) -> User {
        User {
            id,
            email,
            email_verified: false,
            name: None,
            username: None,
            picture: None,
            groups: Vec::new(),
            claims: serde_json::Map::new(),
            disabled: false,
            declared: false,
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
        }
    }

    /// Whether the user is in the group named `name`.
    pub fn in_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g == name)
    }
}

/// A named group of users. Apps may be restricted to groups, and the `groups` claim names
/// them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Custom claims (a JSON object) every member's tokens carry, before the user's own.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The API scopes the group's members may be granted, by resource indicator. Written only
    /// when set, so older records stay as they were.
    #[serde(default, skip_serializing_if = "ApiScopes::is_empty")]
    pub api_scopes: ApiScopes,
    /// Whether the group's members need a second factor whenever they sign in (to anything:
    /// an app, the console, the account page). Written only when required.
    #[serde(default, skip_serializing_if = "SecondFactor::is_optional")]
    pub second_factor: SecondFactor,
    /// Declared in `sesame.toml`: reconciled at every start, not editable from the CLI.
    #[serde(default)]
    pub declared: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

/// A registered API (a resource server, RFC 8707): apps ask for a token for it with
/// `resource=<indicator>`, and get a JWT access token (RFC 9068) whose `aud` is the indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResource {
    /// The resource indicator: an absolute `https://` or `http://` URI without a fragment.
    pub indicator: String,
    /// What people call it (shown in listings).
    pub name: String,
    /// The scopes it defines, in order.
    #[serde(default)]
    pub scopes: Vec<ApiScope>,
    /// The algorithm its access tokens are signed with.
    pub alg: Alg,
    /// Seconds its access tokens live.
    pub access_token_ttl: u64,
    /// Declared in `sesame.toml`: reconciled at every start, not editable from the CLI.
    #[serde(default)]
    pub declared: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

/// One scope an API defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiScope {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// A sesame session: the browser is signed in as `user_id` (single sign-on across apps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: String,
    /// When the user last proved who they are (OIDC `auth_time`).
    pub auth_time: u64,
    pub expires_at: u64,
    /// Which cookie names it. Written only for forward-auth sessions, so the records of
    /// sesame's own sessions stay as they were.
    #[serde(default, skip_serializing_if = "SessionKind::is_sesame")]
    pub kind: SessionKind,
    /// The session's ID as apps see it (the ID token's and logout token's `sid`): random, not
    /// derived from the cookie, so an app that holds it cannot present it as the cookie.
    /// `None` in records written before sesame kept it (given one when next used by an app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Client IDs of the apps this session signed in to, in the order they first did: they
    /// are told by back-channel logout when it ends. Written only when not empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<String>,
    /// How the user proved who they are at `auth_time` (RFC 8176 `amr` values, see
    /// `factors`). Empty in records written before sesame kept it: an email code then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

impl Session {
    /// When and how the user proved who they are.
    pub fn authn(&self) -> Authn {
        Authn::new(self.auth_time, &self.amr)
    }
}

/// When and how a user proved who they are: OIDC's `auth_time` and RFC 8176's `amr`. Carried
/// from the session into authorization codes and grants, so ID tokens (refreshed ones too) say
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authn {
    pub time: u64,
    /// Never empty: records from before sesame kept it read as an email code (`otp`).
    pub amr: Vec<String>,
}

impl Authn {
    /// `amr` as stored (empty: an email code, the only way to sign in before it was kept).
    pub fn new(time: u64, amr: &[String]) -> Authn {
        let amr = if amr.is_empty() {
            vec!["otp".to_string()]
        } else {
            amr.to_vec()
        };
        Authn { time, amr }
    }

    /// An email code proved the user at `time`.
    pub fn email_code(time: u64) -> Authn {
        Authn::new(time, &[])
    }

    /// Whether two factors were used (RFC 8176 `mfa`).
    pub fn is_multi_factor(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }
}

/// What a session's cookie is for. The two never stand in for each other: the forward-auth
/// cookie goes to every host under the cookie domain (and so to every app behind the proxy),
/// and an app that read it must not be able to present it to sesame as the session its pages,
/// `/auth` and the management API accept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// sesame's own session cookie (host-only, on the issuer's path): single sign-on for apps.
    #[default]
    Sesame,
    /// The forward-auth cookie, set for `[forward_auth] cookie_domain`: read only by the
    /// forward-auth endpoints.
    ForwardAuth,
}

impl SessionKind {
    pub fn is_sesame(&self) -> bool {
        *self == SessionKind::Sesame
    }
}

/// The authorization request parameters sesame keeps while the user signs in, and binds into
/// the authorization code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// PKCE S256 challenge, when the client sent one.
    pub code_challenge: Option<String>,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// The API asked for with `resource=` (RFC 8707), whose scopes `scope` may also hold.
    /// Written only when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The app asked for two factors (`acr_values` naming `urn:sesame:mfa`), as if it required
    /// a second factor. Written only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa: bool,
}

/// Sign-in codes sent to one address in the current one-hour window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AddressSends {
    pub window_start: u64,
    pub count: u32,
}

/// A user's authenticator app (TOTP, see `factors::totp`): the secret both sides share.
///
/// The secret is kept as it is (base64url), not hashed: checking a code needs it. It lives in
/// the data file like the signing keys, so backups of that file must be protected as the file
/// is; encrypting it with a key kept in the same file would add nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpFactor {
    /// The 20-byte secret, base64url.
    pub secret: String,
    /// Whether a code of this secret was entered once (only then does it count as a factor).
    pub confirmed: bool,
    pub created: u64,
    /// The time step of the last code accepted: a code of this step or an earlier one is
    /// refused, so a code seen over a shoulder cannot be used again in its window.
    pub last_used_step: u64,
    /// A new secret being set up while this confirmed one stays in use; it replaces this one
    /// when a code of it is entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingTotp>,
}

/// A TOTP secret shown to the user and not yet confirmed with a code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingTotp {
    /// The 20-byte secret, base64url.
    pub secret: String,
    pub created: u64,
}

/// A user's unused recovery codes (see `factors::recovery`), salted and hashed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    /// The salt of every hash below (one per set of codes).
    pub salt: String,
    /// `crypto::hash_code(salt, code)` of each code not yet used; a used one is removed.
    pub hashes: Vec<String>,
    pub created: u64,
}

/// Wrong second-factor codes (TOTP and recovery together) a user's account had in the current
/// one-hour window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FactorGuesses {
    pub window_start: u64,
    pub wrong: u32,
}

/// A pending sign-in: an authorization request, or a page behind the forward-auth proxy,
/// waiting for the user to prove an email address.
///
/// The sign-in module documents its states and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Stored as the key `request` (an app's, as before forward-auth) or `return_to`.
    #[serde(flatten)]
    pub purpose: SignInFor,
    /// Hash of the `sesame_interaction` cookie of the browser that started the sign-in.
    pub browser: String,
    /// Anti-CSRF token every form of this interaction must carry.
    pub csrf: String,
    pub expires_at: u64,
    /// The email-code step, once an address has been entered.
    #[serde(default)]
    pub code: Option<PendingCode>,
    /// The mailboxes (`users::mailbox_key`) this sign-in has mailed a code to, for the limit
    /// on distinct addresses per sign-in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mailed: Vec<String>,
    /// What the sign-in pages say after a refused form (Post/Redirect/Get): the POST stores
    /// it and redirects, the page's GET shows it, so a reload never resubmits the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash: Option<Flash>,
    /// The first factor has proved who the user is and a second one is asked for (see
    /// `signin::second`). Written only then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second: Option<SecondStep>,
    /// The passkey challenge this sign-in's page was given: single use, short-lived. Written
    /// only while one is out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Challenge>,
    /// The browser said it has a platform authenticator (the email page's script asked it):
    /// a user without a passkey is offered to add one, once, after the email code. Written
    /// only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offer_passkey: bool,
}

/// A sign-in waiting for its second factor: who the first proved, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondStep {
    pub user_id: String,
    /// The address the email code proved (for the audit log); the account's address for a
    /// step-up of a live session.
    pub address: String,
    /// The email code created the account.
    #[serde(default)]
    pub new_user: bool,
    /// `amr` of the first factor.
    pub amr: Vec<String>,
    /// Wrong second-factor codes typed in this sign-in: at `signin::MAX_CODE_TRIES` it ends.
    #[serde(default)]
    pub tries: u32,
    /// Not asked for by the policy: the user is offered to add a passkey, and may go on
    /// without ("Not now"). Written only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// A passkey: a WebAuthn credential registered by a user (`factors::passkeys`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passkey {
    pub user_id: String,
    /// The credential ID, base64url.
    pub credential_id: String,
    /// The COSE public key as the authenticator gave it, base64url.
    pub public_key: String,
    /// Its COSE algorithm's JOSE name (`ES256`, `EdDSA`, `RS256`).
    pub alg: String,
    /// The signature counter last seen (0 for authenticators that keep none).
    pub sign_count: u32,
    /// Transports the browser reported (`internal`, `hybrid`, `usb`...), offered back as hints.
    #[serde(default)]
    pub transports: Vec<String>,
    /// What the user calls it.
    pub name: String,
    /// The credential may be synced to other devices (BE), and is (BS): `swk` rather than `hwk`.
    #[serde(default)]
    pub backup_eligible: bool,
    #[serde(default)]
    pub backed_up: bool,
    pub created_at: u64,
    #[serde(default)]
    pub last_used_at: Option<u64>,
}

/// A WebAuthn challenge handed to a page (RFC 4648 base64url of 32 random bytes): it answers
/// one ceremony, and only until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Challenge {
    pub value: String,
    pub expires_at: u64,
}

/// Why the last form of a sign-in was refused, kept for the page the browser is sent to. Each
/// page words it from the sign-in's current state (tries left, seconds to wait), so the
/// message is right whenever the page is reloaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Flash {
    /// The email form: `typed` is not an email address, for `reason`.
    InvalidEmail { typed: String, reason: String },
    /// The email form: `typed` has had its codes for the hour, until `until`.
    TooManyCodes { typed: String, until: u64 },
    /// The code form: the code typed was not accepted (wrong, void or expired).
    CodeRefused,
    /// The code form: a new code was asked for, but the address has had its codes for the
    /// hour, until `until`.
    ResendTooMany { until: u64 },
    /// The second step: the code typed was not accepted.
    SecondRefused,
    /// The second step: too many wrong codes for this user this hour, until `until`.
    SecondHeld { until: u64 },
    /// A passkey (or setting one up) was not accepted, and why in words.
    PasskeyRefused { reason: String },
    /// Either form: a mail budget ([`crate::limits`]) held the send to `typed` back until
    /// `until`.
    MailHeld {
        typed: String,
        budget: MailBudget,
        until: u64,
    },
}

/// Which mail budget held a send back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "budget")]
pub enum MailBudget {
    /// The sign-in has mailed `allowed` different mailboxes already.
    Addresses { allowed: u32 },
    /// The client's hourly budget.
    Client,
    /// The global per-minute budget.
    Global,
}

/// What a sign-in is for, and so where it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFor {
    /// An app's authorization request: the sign-in ends at its redirect URI with a code.
    #[serde(rename = "request")]
    App(AuthRequest),
    /// A page behind the forward-auth proxy: the sign-in ends back at this URL, which was
    /// checked to be on a host under `[forward_auth] cookie_domain` when the sign-in began.
    ReturnTo(String),
    /// The account page (`/account`): the sign-in ends there, a fixed local page.
    Account,
    /// The console (`/console`): the sign-in ends there, a fixed local page (whether the user
    /// may use it is the console's question).
    Console,
    /// Proving a new address for the account of `user_id`: the right code changes its email;
    /// nobody is signed in by it.
    ChangeEmail { user_id: String },
    /// First run's setup link: the person signing in becomes the first administrator if there
    /// is still none (`signin::setup`); the sign-in ends on the account page.
    FirstAdmin,
    /// Re-authentication before a sensitive console action: `user_id` (the signed-in
    /// administrator) proves again who they are, with a code mailed to their own address only;
    /// the new session's `auth_time` is now. Ends at the console page `back` (a path below
    /// `/console` that the console chose from its own routes, never one from a request).
    Reauth { user_id: String, back: String },
    /// The device page (`/device`, RFC 8628): the sign-in ends there, with the user code the
    /// person had typed or followed (normalised; empty for none).
    Device { user_code: String },
}

impl Interaction {
    /// The app's authorization request, for an app's sign-in.
    pub fn app_request(&self) -> Option<&AuthRequest> {
        match &self.purpose {
            SignInFor::App(r) => Some(r),
            _ => None,
        }
    }
}

impl SignInFor {
    /// The app's client ID, for an app's sign-in.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            SignInFor::App(r) => Some(&r.client_id),
            _ => None,
        }
    }
}

/// What choosing sign-ins to evict reads of each (see `Writes::evict_sign_ins`): its expiry
/// and whether it has mailed a code, nothing else decoded or kept.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PendingAge {
    pub expires_at: u64,
    #[serde(default, rename = "code")]
    pub mailed: Option<serde::de::IgnoredAny>,
}

/// A sign-in code sent to an address and not yet used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCode {
    pub email: String,
    /// Random salt and salted SHA-256 of the 6-digit code.
    pub salt: String,
    pub code_hash: String,
    pub expires_at: u64,
    pub sent_at: u64,
    /// Wrong entries so far.
    pub tries: u32,
    /// The address had no account: the code signs the person up (Register template).
    pub new_user: bool,
    /// The address may not sign in (sign-up policy): no code was sent, and none is right. The
    /// pages look the same as for a real code, so they do not tell who has an account.
    #[serde(default)]
    pub refused: bool,
}

/// An authorization code issued to a client, single use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthCode {
    pub request: AuthRequest,
    pub user_id: String,
    pub auth_time: u64,
    pub grant_id: String,
    pub expires_at: u64,
    /// Set when the code was exchanged; a second exchange revokes the grant.
    pub used: bool,
    /// The `sid` of the session that signed the user in (the ID token carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the user proved who they are (`amr`; empty: an email code). Written when set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// A grant: the tokens issued from one authorization code (one refresh-token family).
/// Revoking it (code reuse, refresh-token reuse, revocation) kills every token that points to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    pub user_id: String,
    pub scope: Vec<String>,
    pub auth_time: u64,
    pub revoked: bool,
    /// When the grant record may be swept (the last refresh token's expiry).
    pub expires_at: u64,
    /// The API its access tokens are for (RFC 8707), remembered for refreshes. Written only
    /// when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The `sid` of the session that signed the user in: refreshed ID tokens carry it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the user proved who they are (`amr`; empty: an email code): refreshed ID tokens
    /// say it too. Written when set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// A back-channel logout waiting to be delivered (OIDC Back-Channel Logout 1.0): written in
/// the transaction that ends the session, taken by the delivery task (`oidc::backchannel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogoutNotice {
    pub client_id: String,
    /// The ended session's `sid`.
    pub sid: String,
    /// The session's user (`sub`).
    pub user_id: String,
}

/// A device authorization (RFC 8628 §3.2): what a TV or a CLI asked for, and what its user
/// decided on the `/device` page. Keyed by the hash of its device code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceAuth {
    pub client_id: String,
    pub scope: Vec<String>,
    /// The user code, normalised (upper case, no dash).
    pub user_code: String,
    pub expires_at: u64,
    /// Seconds the client must wait between polls; each `slow_down` adds 5 (RFC 8628 §3.5).
    pub interval: u64,
    /// When the client last polled.
    #[serde(default)]
    pub last_poll: Option<u64>,
    /// How many times it polled (bounded: `oidc::device::MAX_POLLS`).
    #[serde(default)]
    pub polls: u32,
    pub state: DeviceState,
}

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Waiting for the user.
    Pending,
    /// The user approved; the next poll gets the tokens.
    Approved { user_id: String, auth_time: u64 },
    /// The user denied.
    Denied,
    /// The tokens were issued: the device code is spent.
    Used,
}

/// A user code's entry: the device authorization it names (by device code hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCode {
    pub device: String,
    pub expires_at: u64,
}

/// A pushed authorization request (RFC 9126), kept until its `request_uri` is used once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedRequest {
    pub client_id: String,
    /// The validated request parameters, form-encoded.
    pub form: String,
    pub expires_at: u64,
}

/// An opaque access token, stored by hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessToken {
    /// The grant (token family); empty for a client-credentials token, which has none.
    pub grant_id: String,
    pub client_id: String,
    /// The user; empty for a client-credentials token, which acts for its app.
    pub user_id: String,
    pub scope: Vec<String>,
    pub expires_at: u64,
    /// Issued by the client-credentials grant (RFC 6749 §4.4): the token acts for the app
    /// itself, with no user and no grant; it lives until it expires, is revoked, or its app is
    /// deleted. Written only when set, so other tokens' records stay as they were.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_credentials: bool,
    /// When it was issued (introspection's `iat`); absent in records written before sesame
    /// kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<u64>,
}

/// An opaque refresh token, stored by hash; rotated on every use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: Vec<String>,
    pub expires_at: u64,
    /// Set when exchanged for a new one (or superseded by a retry); presenting a spent token
    /// revokes the grant, unless it is a retry (see `oidc::grant`).
    pub spent: bool,
    /// When it was first exchanged. Written only once spent by a rotation; records from before
    /// retries were allowed lack it, and their reuse is theft as it always was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<u64>,
    /// The hash (store key) of the refresh token its rotation issued, the latest one when
    /// retries issued several. Written only with `rotated_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
    /// When it was issued (introspection's `iat`); absent in records written before sesame
    /// kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<u64>,
}

/// A management API key. The key in the clear exists once, in what creating it returns; the
/// store keeps its hash, so a copy of the database holds no working key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Random, public: how the key is listed and revoked.
    pub id: String,
    /// What the operator called it (which program holds it).
    pub name: String,
    /// SHA-256 (base64url) of the key.
    pub key_hash: String,
    pub created_at: u64,
    /// After this the key is refused; `None`: it does not expire.
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// When the key last authenticated a request, to the hour (see `api_keys`).
    #[serde(default)]
    pub last_used_at: Option<u64>,
    /// When the key was revoked; a revoked key is refused and stays listed.
    #[serde(default)]
    pub revoked_at: Option<u64>,
}

/// A stored signing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub kid: String,
    /// Stored as its JOSE name, `"ES384"`.
    pub alg: Alg,
    /// PKCS#8 DER, base64url.
    pub pkcs8: String,
    pub created_at: u64,
    /// The key that signs new tokens for its algorithm. Retired keys stay in JWKS so tokens they
    /// signed still verify.
    pub active: bool,
    /// When a rotation retired it (Unix seconds); absent for an active key, and for keys
    /// retired before sesame recorded it (their successor's creation is used instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<u64>,
}

/// Where an audit entry sits in the audit log: its time, then its sequence number (unique and
/// increasing over the life of the data file, so two entries in the same second keep the order
/// they were recorded in). Entries are kept in this order, so it is also the cursor of a page
/// ("entries before this one"). Written `<at>-<seq>`, e.g. `1793437503-42`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditKey {
    pub at: u64,
    pub seq: u64,
}

impl AuditKey {
    /// The key in the redb table: both numbers zero-padded to 20 digits (`u64::MAX` has 20),
    /// so byte order is time order, then sequence order.
    pub(super) fn stored(&self) -> String {
        format!("{:020}-{:020}", self.at, self.seq)
    }

    /// The first stored key at or after time `at`.
    pub(super) fn first_at(at: u64) -> String {
        AuditKey { at, seq: 0 }.stored()
    }

    pub(super) fn from_stored(key: &str) -> Option<AuditKey> {
        key.parse().ok()
    }
}

impl std::fmt::Display for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.at, self.seq)
    }
}

/// Text that is not an audit cursor (`<at>-<seq>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadAuditKey(pub String);

impl std::fmt::Display for BadAuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} is not an audit cursor: expected the `next` of a previous page, like 1793437503-42",
            self.0
        )
    }
}

impl std::error::Error for BadAuditKey {}

impl std::str::FromStr for AuditKey {
    type Err = BadAuditKey;
    fn from_str(s: &str) -> Result<AuditKey, BadAuditKey> {
        let bad = || BadAuditKey(s.to_string());
        let (at, seq) = s.trim().split_once('-').ok_or_else(bad)?;
        let number = |n: &str| match n.bytes().all(|b| b.is_ascii_digit()) {
            true => n.parse::<u64>().map_err(|_| bad()),
            false => Err(bad()),
        };
        Ok(AuditKey {
            at: number(at)?,
            seq: number(seq)?,
        })
    }
}

impl Serialize for AuditKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AuditKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AuditKey, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The audit log's bookkeeping, kept beside its entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct AuditCounter {
    /// The sequence number the next entry gets. Kept rather than derived from the newest entry,
    /// which retention may have removed: a sequence number is never given out twice.
    pub next_seq: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records written before `Alg` was a type held the algorithm as a string: they must decode
    /// to the same values and encode back to the same JSON.
    #[test]
    fn records_with_the_algorithm_as_a_string_decode_unchanged() {
        let app_json = r#"{"client_id":"c1","name":"Books","app_type":"spa","secret_hash":null,"redirect_uris":["http://localhost:3000/cb"],"post_logout_redirect_uris":[],"id_token_signed_response_alg":"RS256","created_at":1700000000,"declared":false}"#;
        let app: App = serde_json::from_str(app_json).unwrap();
        assert_eq!(app.id_token_signed_response_alg, Some(Alg::Rs256));
        assert_eq!(serde_json::to_string(&app).unwrap(), app_json);

        let default_json = app_json.replace(r#""RS256""#, "null");
        let app: App = serde_json::from_str(&default_json).unwrap();
        assert_eq!(app.id_token_signed_response_alg, None);
        assert_eq!(serde_json::to_string(&app).unwrap(), default_json);
        // The oldest records have no such field at all.
        let oldest = r#"{"client_id":"c1","name":"Books","app_type":"traditional","secret_hash":"h","redirect_uris":[],"created_at":1}"#;
        let app: App = serde_json::from_str(oldest).unwrap();
        assert_eq!(app.id_token_signed_response_alg, None);
        assert!(!app.allow_insecure_redirect);

        for (alg, name) in Alg::ALL.into_iter().zip(Alg::NAMES) {
            let key_json = format!(
                r#"{{"kid":"k1","alg":"{name}","pkcs8":"MIGH","created_at":1700000000,"active":true}}"#
            );
            let key: KeyRecord = serde_json::from_str(&key_json).unwrap();
            assert_eq!(key.alg, alg);
            assert_eq!(serde_json::to_string(&key).unwrap(), key_json);
        }
    }

    /// Interactions and sessions stored before forward-auth decode as an app's sign-in and a
    /// sesame session, and encode back unchanged; forward-auth ones carry their own key.
    #[test]
    fn interactions_and_sessions_from_before_forward_auth_decode_unchanged() {
        let old = r#"{"request":{"client_id":"c1","redirect_uri":"https://app.example/cb","scope":["openid"],"state":null,"nonce":null,"code_challenge":null,"max_age":null,"login_hint":null},"browser":"b","csrf":"x","expires_at":9,"code":null}"#;
        let i: Interaction = serde_json::from_str(old).unwrap();
        assert_eq!(i.purpose.client_id(), Some("c1"));
        assert_eq!(serde_json::to_string(&i).unwrap(), old);
        let fa = Interaction {
            mailed: Vec::new(),
            flash: None,
            purpose: SignInFor::ReturnTo("https://app.home.example.com/x".into()),
            ..i
        };
        let json = serde_json::to_string(&fa).unwrap();
        assert!(
            json.starts_with(r#"{"return_to":"https://app.home.example.com/x","#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Interaction>(&json).unwrap(), fa);

        let old = r#"{"user_id":"u","auth_time":1,"expires_at":2}"#;
        let s: Session = serde_json::from_str(old).unwrap();
        assert_eq!(s.kind, SessionKind::Sesame);
        assert_eq!(serde_json::to_string(&s).unwrap(), old);
        let fa = Session {
            kind: SessionKind::ForwardAuth,
            ..s
        };
        let json = serde_json::to_string(&fa).unwrap();
        assert!(json.ends_with(r#""kind":"forward_auth"}"#), "{json}");
        assert_eq!(serde_json::from_str::<Session>(&json).unwrap(), fa);
    }

    /// `allow_insecure_redirect` came later: records without it decode as `false` and encode
    /// back unchanged; it is written only when set.
    #[test]
    fn allow_insecure_redirect_is_written_only_when_set() {
        let app_json = r#"{"client_id":"jf","name":"Jellyfin","app_type":"traditional","secret_hash":"h","redirect_uris":["https://jf.example.com/cb"],"post_logout_redirect_uris":[],"id_token_signed_response_alg":null,"created_at":1,"declared":false}"#;
        let mut app: App = serde_json::from_str(app_json).unwrap();
        assert!(!app.allow_insecure_redirect);
        assert_eq!(serde_json::to_string(&app).unwrap(), app_json);
        app.allow_insecure_redirect = true;
        let with_flag = serde_json::to_string(&app).unwrap();
        assert!(
            with_flag.contains(r#""allow_insecure_redirect":true"#),
            "{with_flag}"
        );
        let back: App = serde_json::from_str(&with_flag).unwrap();
        assert_eq!(back, app);
    }

    /// Refresh tokens stored before retries decode with neither a rotation time nor a
    /// successor, and encode back unchanged; the two are written only once set.
    #[test]
    fn refresh_tokens_from_before_retries_decode_unchanged() {
        let old = r#"{"grant_id":"g","client_id":"c","user_id":"u","scope":["openid"],"expires_at":9,"spent":true}"#;
        let rt: RefreshToken = serde_json::from_str(old).unwrap();
        assert_eq!((rt.rotated_at, rt.successor.as_deref()), (None, None));
        assert_eq!(serde_json::to_string(&rt).unwrap(), old);
        let rotated = RefreshToken {
            rotated_at: Some(5),
            successor: Some("h".into()),
            ..rt
        };
        let json = serde_json::to_string(&rotated).unwrap();
        assert!(
            json.ends_with(r#""spent":true,"rotated_at":5,"successor":"h"}"#),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<RefreshToken>(&json).unwrap(),
            rotated
        );

        let app_json = r#"{"client_id":"c1","name":"Books","app_type":"spa","secret_hash":null,"redirect_uris":[],"post_logout_redirect_uris":[],"id_token_signed_response_alg":null,"created_at":1,"declared":false}"#;
        let app: App = serde_json::from_str(app_json).unwrap();
        assert_eq!(app.refresh_retry_window, None);
        assert_eq!(serde_json::to_string(&app).unwrap(), app_json);
    }
}
