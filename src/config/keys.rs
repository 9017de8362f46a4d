//! The shape of the configuration, as a tree of keys: what each key's value must look like and
//! which keys are required. [`super::layers`] walks it to check a merged table, and it is where
//! environment variable names come from: every key outside an array of tables is `SESAME_` +
//! its path upper-cased with `.` → `_`. Arrays of tables (`app`, `api`, `user`, `group`, `access`,
//! `mail.templates`, `mail.ses.templates`) take a JSON array from their variable, named tables
//! (`dev.users`) a JSON object.
//!
//! Keep it in step with the serde types in [`super`]: a key missing here is refused as unknown.
//! `schema_tests.rs` fails when the two (or `examples/sesame.toml`) drift apart.
//!
//! Owns the key tree, the environment variable names and the spelling of key paths ([`join`],
//! [`camel_to_snake`]). Uses only the mail enums' names (for their `Choice` lists); the rest of
//! config uses it, never the other way around.

/// Prefix of every environment variable sesame reads.
pub const ENV_PREFIX: &str = "SESAME_";
/// The variable naming the configuration file (like `--config`).
pub const ENV_CONFIG: &str = "SESAME_CONFIG";
/// The variable holding Logto's AWS SES connector JSON, written at `mail.ses`.
pub const ENV_SES_JSON: &str = "SESAME_MAIL_SES_JSON";

use super::{MailTransportKind, TlsMode};
use Kind::*;

/// What a key's value must look like.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// Any string.
    Str,
    /// A positive whole number of seconds.
    Secs,
    /// A whole number of seconds, 0 included (0 turns the feature off).
    SecsOrOff,
    /// A positive whole number of something else (days, entries).
    Count,
    /// A TCP port, 1 to 65535.
    Port,
    /// `true` or `false`.
    Bool,
    /// One of these strings (matched ignoring case, stored in this spelling).
    Choice(&'static [&'static str]),
    /// An array of strings.
    Strings,
    /// A string, or an array of strings (`domain = "a"` or `domain = ["a", "b"]`).
    OneOrMore,
    /// A free-form table (custom claims): any keys, any values; JSON from the environment.
    Object,
    /// Scope names by API resource indicator (`{ "https://api.home/" = ["read"] }`); JSON from
    /// the environment.
    ScopesByApi,
    /// A table with its own keys.
    Section(&'static Schema),
    /// An array of tables (`[[app]]`); a JSON array when it comes from the environment.
    Tables(&'static Schema),
    /// Tables by a name the user chooses (`[dev.users.alice]`), each with these keys; a JSON
    /// object of such tables when it comes from the environment.
    Named(&'static Schema),
}

pub(super) struct Key {
    pub name: &'static str,
    pub kind: Kind,
    /// serde has no default for it: say so by name instead of "missing field".
    pub required: bool,
}

pub(super) struct Schema {
    pub keys: &'static [Key],
    /// Logto's connector JSON is camelCase; these tables accept both spellings and we store
    /// snake_case, which the serde types accept as an alias.
    pub camel: bool,
}

const fn key(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        kind,
        required: false,
    }
}

const fn required(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        kind,
        required: true,
    }
}

const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];
const ID_TOKEN_ALGS: &[&str] = &crate::alg::Alg::NAMES;
const USAGE_TYPES: &[&str] = &["Register", "SignIn", "ForgotPassword", "Generic"];
const TLS_MODES: &[&str] = &TlsMode::NAMES;
const SECOND_FACTORS: &[&str] = &crate::store::SecondFactor::NAMES;

static TOKENS: Schema = Schema {
    keys: &[
        key("access_token_ttl", Secs),
        key("id_token_ttl", Secs),
        key("refresh_token_ttl", Secs),
        key("authorization_code_ttl", Secs),
        key("session_ttl", Secs),
        key("sign_in_code_ttl", Secs),
        key("sign_in_code_resend_after", Secs),
        key("sign_in_codes_per_hour", Count),
        key("refresh_retry_window", SecsOrOff),
    ],
    camel: false,
};

static LIMITS: Schema = Schema {
    keys: &[
        key("trusted_proxies", Strings),
        key("authorize_per_minute", Count),
        key("token_per_minute", Count),
        key("sign_in_per_minute", Count),
        key("forward_auth_misses_per_minute", Count),
        key("device_codes_per_minute", Count),
        key("pending_sign_ins_per_client", Count),
        key("pending_sign_ins", Count),
        key("mail_addresses_per_sign_in", Count),
        key("mail_per_client_per_hour", Count),
        key("mail_per_minute", Count),
        key("tracked_clients", Count),
        key("connections_per_client", Count),
        key("header_timeout", Secs),
        key("busy_header_timeout", Secs),
    ],
    camel: false,
};

static STORE: Schema = Schema {
    keys: &[key("cache_mib", Count)],
    camel: false,
};

static AUDIT: Schema = Schema {
    keys: &[key("retention_days", Count), key("max_entries", Count)],
    camel: false,
};

static BRANDING: Schema = Schema {
    keys: &[
        key("product_name", Str),
        key("logo_url", Str),
        key("logo_file", Str),
        key("accent_color", Str),
    ],
    camel: false,
};

static TEMPLATE: Schema = Schema {
    keys: &[
        required("subject", Str),
        required("content", Str),
        required("usage_type", Choice(USAGE_TYPES)),
    ],
    camel: true,
};

static SMTP: Schema = Schema {
    keys: &[
        key("host", Str),
        key("port", Port),
        key("tls", Choice(TLS_MODES)),
        key("username", Str),
        key("password", Str),
        key("password_file", Str),
        key("ca_file", Str),
    ],
    camel: false,
};

static SES_ENDPOINT: Schema = Schema {
    keys: &[
        key("host", Str),
        key("port", Port),
        key("tls", Choice(TLS_MODES)),
        key("ca_file", Str),
    ],
    camel: true,
};

pub(super) static SES: Schema = Schema {
    keys: &[
        required("access_key_id", Str),
        key("access_key_secret", Str),
        key("smtp_password", Str),
        required("region", Str),
        key("email_address", Str),
        key("email_address_identity_arn", Str),
        key("feedback_forwarding_email_address", Str),
        key("feedback_forwarding_email_address_identity_arn", Str),
        key("configuration_set_name", Str),
        key("templates", Tables(&TEMPLATE)),
        key("endpoint", Section(&SES_ENDPOINT)),
    ],
    camel: true,
};

static MAIL: Schema = Schema {
    keys: &[
        key("transport", Choice(&MailTransportKind::NAMES)),
        key("from", Str),
        key("timeout_secs", Secs),
        key("smtp", Section(&SMTP)),
        key("ses", Section(&SES)),
        key("templates", Tables(&TEMPLATE)),
    ],
    camel: false,
};

static APP: Schema = Schema {
    keys: &[
        required("client_id", Str),
        required("name", Str),
        key(
            "app_type",
            Choice(&["traditional", "spa", "native", "machine"]),
        ),
        key("client_secret", Str),
        key("client_secret_file", Str),
        key("client_secret_env", Str),
        key("redirect_uris", Strings),
        key("post_logout_redirect_uris", Strings),
        key("id_token_signed_response_alg", Choice(ID_TOKEN_ALGS)),
        key("allowed_groups", Strings),
        key("allow_insecure_redirect", Bool),
        key("refresh_retry_window", SecsOrOff),
        key("backchannel_logout_uri", Str),
        key("backchannel_logout_session_required", Bool),
        key("device_flow", Bool),
        key("require_pushed_authorization_requests", Bool),
        key("api_scopes", ScopesByApi),
        key("second_factor", Choice(SECOND_FACTORS)),
    ],
    camel: false,
};

static API_SCOPE: Schema = Schema {
    keys: &[required("name", Str), key("description", Str)],
    camel: false,
};

static API: Schema = Schema {
    keys: &[
        required("indicator", Str),
        required("name", Str),
        key("scopes", Tables(&API_SCOPE)),
        key("alg", Choice(ID_TOKEN_ALGS)),
        key("access_token_ttl", Secs),
    ],
    camel: false,
};

static SIGN_UP: Schema = Schema {
    keys: &[
        key("mode", Choice(&crate::users::SignUpMode::NAMES)),
        key("allowed_domains", Strings),
    ],
    camel: false,
};

static USER: Schema = Schema {
    keys: &[
        required("email", Str),
        key("name", Str),
        key("username", Str),
        key("picture", Str),
        key("groups", Strings),
        key("claims", Object),
        key("disabled", Bool),
    ],
    camel: false,
};

static GROUP: Schema = Schema {
    keys: &[
        required("name", Str),
        key("description", Str),
        key("claims", Object),
        key("api_scopes", ScopesByApi),
        key("second_factor", Choice(SECOND_FACTORS)),
    ],
    camel: false,
};

static DEV_USER: Schema = Schema {
    keys: &[
        required("email", Str),
        key("name", Str),
        key("username", Str),
        key("groups", Strings),
        key("claims", Object),
    ],
    camel: false,
};

static FORWARD_AUTH: Schema = Schema {
    keys: &[key("cookie_domain", Str)],
    camel: false,
};

static ACCESS: Schema = Schema {
    keys: &[
        required("domain", OneOrMore),
        key("resources", Strings),
        required("policy", Choice(&crate::forward_auth::Policy::NAMES)),
        key("users", Strings),
        key("groups", Strings),
    ],
    camel: false,
};

static METRICS: Schema = Schema {
    keys: &[key("allow_loopback", Bool), key("token", Str)],
    camel: false,
};

static KEYS: Schema = Schema {
    keys: &[key("rotate_after_days", Count)],
    camel: false,
};

static DEV: Schema = Schema {
    keys: &[key("users", Named(&DEV_USER))],
    camel: false,
};

/// The whole configuration's shape.
pub(super) static ROOT: Schema = Schema {
    keys: &[
        key("issuer", Str),
        key("listen", Str),
        key("data_dir", Str),
        key("log_level", Choice(LOG_LEVELS)),
        key("tokens", Section(&TOKENS)),
        key("limits", Section(&LIMITS)),
        key("store", Section(&STORE)),
        key("audit", Section(&AUDIT)),
        key("branding", Section(&BRANDING)),
        key("mail", Section(&MAIL)),
        key("app", Tables(&APP)),
        key("api", Tables(&API)),
        key("sign_up", Section(&SIGN_UP)),
        key("user", Tables(&USER)),
        key("group", Tables(&GROUP)),
        key("dev", Section(&DEV)),
        key("forward_auth", Section(&FORWARD_AUTH)),
        key("access", Tables(&ACCESS)),
        key("metrics", Section(&METRICS)),
        key("keys", Section(&KEYS)),
    ],
    camel: false,
};

/// One environment variable and the key it sets.
pub struct EnvKey {
    pub var: String,
    /// Dotted key path, e.g. `mail.smtp.port`.
    pub path: String,
    pub(super) kind: Kind,
}

/// Every environment variable that sets a key, in schema order (plus `SESAME_MAIL_SES_JSON`,
/// which is handled on its own).
pub fn env_keys() -> Vec<EnvKey> {
    fn walk(schema: &Schema, prefix: &str, out: &mut Vec<EnvKey>) {
        for key in schema.keys {
            let path = join(prefix, key.name);
            match key.kind {
                Section(inner) => walk(inner, &path, out),
                kind => out.push(EnvKey {
                    var: env_var_for(&path),
                    path,
                    kind,
                }),
            }
        }
    }
    let mut out = Vec::new();
    walk(&ROOT, "", &mut out);
    out
}

/// The environment variable for a dotted key path: `mail.smtp.port` → `SESAME_MAIL_SMTP_PORT`.
pub fn env_var_for(path: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        path.replace('.', "_").to_ascii_uppercase()
    )
}

/// The dotted path of `name` inside `prefix` (`mail.smtp` + `port` → `mail.smtp.port`).
pub(super) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A key name as Logto's camelCase JSON spells it, in snake_case (`accessKeyId` →
/// `access_key_id`).
pub(super) fn camel_to_snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
