//! The command-line grammar: every command and flag as clap parses it, with the help text
//! `sesame --help` prints. Values that have types elsewhere are parsed straight into them
//! ([`Alg`], through the `ValueEnum` below), and `--claim KEY=VALUE` into a [`ClaimArg`].
//! ([`Alg`], through the `ValueEnum` below; the audit log's kinds, cursors and times).

use crate::audit::{self, AuditKind, BadSince, KindFilter};
use crate::crypto::keys::Alg;
use crate::server::dev::DevListen;
use crate::store::AuditKey;
use crate::users::MAX_PAGE;
use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    about = "A self-hosted OpenID Connect provider: sign-in with a code sent by email, in one binary.",
    after_help = "Every setting can also come from sesame.toml or a SESAME_* environment variable; see examples/sesame.toml."
)]
pub(super) struct Cli {
    /// Configuration file [default: ./sesame.toml if it exists; env: SESAME_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    /// Directory holding sesame.redb and the control socket [default: sesame-data; env: SESAME_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub(super) data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// Run the OpenID Connect provider.
    Serve(ServeArgs),
    /// Run a local issuer for development: any client ID, sign in as anyone, no mail, no
    /// setup. Loopback only; never let it face a network.
    #[command(
        after_help = "--data-dir: sesame dev keeps its data in a new temporary directory (removed when it stops) unless --data-dir is given; data_dir in sesame.toml and SESAME_DATA_DIR belong to `sesame serve` and are ignored. From sesame.toml it reads [dev.users], [tokens] and [branding] only."
    )]
    Dev(DevArgs),
    /// Register and manage applications (OIDC clients).
    #[command(subcommand)]
    App(AppCommand),
    /// Store a mail connector: Amazon SES (Logto's connector JSON) or an SMTP server.
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Check the mail setup.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Manage the ID token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Add and manage the people who may sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage groups: who is in them, and the claims their members' tokens carry.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Show the audit log, newest first: sign-ins, codes sent, token reuse, every change made
    /// with these commands. Filters combine: all must match.
    Audit(AuditArgs),
    /// Make, list and revoke keys for the management API (/api/v1).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Register and manage APIs (resource servers) that get JWT access tokens (RFC 9068).
    #[command(subcommand)]
    Api(ApiCommand),
    /// Forward-auth's access rules ([[access]] in sesame.toml).
    #[command(subcommand)]
    Access(AccessCommand),
    /// Write a consistent snapshot of the data to FILE (mode 0600), through the running server
    /// if there is one (it keeps serving), or from the file.
    Backup {
        file: PathBuf,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Replace the data with a backup. Refuses while a server uses the data directory; checks
    /// the backup first; keeps the replaced file as sesame.redb.before-restore.
    Restore { file: PathBuf },
}

#[derive(Subcommand)]
pub(super) enum AccessCommand {
    /// Which rule decides a URL, and why: every rule up to the one that matches, and what it
    /// does. Needs only the configuration (and, with --user, the users: through the running
    /// server, or the data file when it is stopped).
    Check {
        /// The URL a browser opens, e.g. https://app.home.example.com/path.
        #[arg(value_name = "URL")]
        url: String,
        /// As this person (an email address, username or user ID); without it, as somebody
        /// not signed in.
        #[arg(long, value_name = "USER")]
        user: Option<String>,
    },
}

#[derive(Args)]
pub(super) struct AuditArgs {
    /// Only entries about this user: a user ID, or an email address (then also the sign-in
    /// attempts and codes for that address).
    #[arg(long, value_name = "USER_ID_OR_EMAIL")]
    pub(super) user: Option<String>,
    /// Only entries about this app.
    #[arg(long, value_name = "CLIENT_ID")]
    pub(super) app: Option<String>,
    #[arg(long, value_name = "KIND", help = kind_help())]
    pub(super) kind: Option<KindFilter>,
    /// Only entries since then: a duration back from now (90s, 30m, 24h, 7d, 2w), a UTC date
    /// (2026-11-01) or date and time (2026-11-01T09:00), or Unix seconds.
    #[arg(long, value_name = "WHEN", value_parser = since)]
    pub(super) since: Option<u64>,
    /// Only entries before then (the end of a range; not included): the same forms as
    /// `--since`.
    #[arg(long, value_name = "WHEN", value_parser = since)]
    pub(super) until: Option<u64>,
    /// At most N entries [default: 50; at most 1000].
    #[arg(long, value_name = "N")]
    pub(super) limit: Option<usize>,
    /// The page after a previous one: the cursor it printed.
    #[arg(long, value_name = "CURSOR")]
    pub(super) before: Option<AuditKey>,
    #[command(flatten)]
    pub(super) out: JsonFlag,
}

/// `--kind`'s help, with the kinds from their one list.
fn kind_help() -> String {
    let kinds: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
    format!(
        "Only entries of this kind: {}; or the changes one command made (app.create, keys.rotate, ...)",
        kinds.join(", ")
    )
}

/// `--since`, against the time the command runs.
fn since(text: &str) -> Result<u64, BadSince> {
    audit::parse_since(text, crate::clock::now())
}

#[derive(Args)]
pub(super) struct ServeArgs {
    /// Issuer URL, e.g. https://auth.example.com [env: SESAME_ISSUER]
    #[arg(long, value_name = "URL")]
    pub(super) issuer: Option<String>,
    /// Address to listen on, e.g. 0.0.0.0:8080 [env: SESAME_LISTEN]
    #[arg(long, value_name = "ADDR")]
    pub(super) listen: Option<String>,
    /// error, warn, info, debug or trace [env: SESAME_LOG_LEVEL]
    #[arg(long, value_name = "LEVEL")]
    pub(super) log_level: Option<String>,
}

#[derive(Args)]
pub(super) struct DevArgs {
    /// Where to listen: localhost:PORT, 127.0.0.1:PORT or [::1]:PORT (loopback only; port 0
    /// picks a free one). The issuer is http://<this address>.
    #[arg(long, value_name = "ADDR", default_value = "localhost:8080")]
    pub(super) listen: DevListen,
    /// Access token lifetime, e.g. 30s, 5m, 2h, 1d [default: [tokens] in sesame.toml, else 1h]
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(super) access_token_ttl: Option<u64>,
    /// ID token lifetime (the `exp` claim) [default: [tokens], else 1h]
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(super) id_token_ttl: Option<u64>,
    /// Refresh token lifetime [default: [tokens], else 14d]
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(super) refresh_token_ttl: Option<u64>,
    /// Session (single sign-on) lifetime [default: [tokens], else 14d]
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(super) session_ttl: Option<u64>,
    /// error, warn, info, debug or trace [default: info]
    #[arg(long, value_name = "LEVEL")]
    pub(super) log_level: Option<String>,
}

/// A lifetime flag: a positive duration (`30s`, `5m`, `2h`, `1d`, `2w`), in seconds.
fn duration(text: &str) -> Result<u64, String> {
    match crate::clock::parse_duration(text) {
        Some(secs) if secs > 0 => Ok(secs),
        _ => Err(format!(
            "{text:?} is not a duration: a positive whole number and a unit, like 30s, 5m, 2h or 1d"
        )),
    }
}

/// A window flag: a duration as for lifetimes, or 0 (off).
fn window(text: &str) -> Result<u64, String> {
    match text.trim() {
        "0" => Ok(0),
        other => crate::clock::parse_duration(other).ok_or_else(|| {
            format!("{text:?} is not a duration: 0, or a whole number and a unit, like 30s or 2m")
        }),
    }
}

#[derive(Args)]
pub(super) struct JsonFlag {
    /// Print the result as JSON.
    #[arg(long)]
    pub(super) json: bool,
}

/// `--allow-insecure-redirect`, the same on `app create` and `app update`: alone it means true,
/// `=false` turns it off (the `=` is required, so the flag never takes the next argument).
#[derive(Args)]
pub(super) struct InsecureRedirectFlag {
    /// Accept http:// redirect URIs to hosts on the LAN (10/8, 172.16/12, 192.168/16, 169.254/16,
    /// fc00::/7, fe80::/10, names ending in .lan, .home.arpa or .local), for apps that cannot use
    /// https there. Their codes travel unencrypted on the LAN. =false turns it off.
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub(super) allow_insecure_redirect: Option<bool>,
}

/// `--device-flow` and `--require-par`, the same on `app create` and `app update`: alone each
/// means true, `=false` turns it off.
#[derive(Args)]
pub(super) struct FlowFlags {
    /// Let the app use the device flow (RFC 8628): a TV or a CLI shows a code that its user
    /// approves at <issuer>/device. =false turns it off.
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub(super) device_flow: Option<bool>,
    /// Accept the app's authorization requests only when pushed first to /par (RFC 9126).
    /// =false turns it off.
    #[arg(
        long = "require-par",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub(super) require_pushed_authorization_requests: Option<bool>,
}

/// `--second-factor`, the same on apps and groups, at creation and at update.
#[derive(Args)]
pub(super) struct SecondFactorFlag {
    /// Whether signing in needs a second factor after the email code: a passkey, an
    /// authenticator app's code or a recovery code (a user without one is led to enrol one
    /// first). On a group it applies to every sign-in of its members [default: optional]
    #[arg(long, value_enum, value_name = "POLICY")]
    pub(super) second_factor: Option<SecondFactorArg>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum SecondFactorArg {
    /// The email code is enough.
    Optional,
    /// A passkey or an authenticator app's code too, after the email code.
    Required,
}

impl From<SecondFactorArg> for crate::store::SecondFactor {
    fn from(arg: SecondFactorArg) -> Self {
        match arg {
            SecondFactorArg::Optional => crate::store::SecondFactor::Optional,
            SecondFactorArg::Required => crate::store::SecondFactor::Required,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum AppTypeArg {
    /// A server-side web app: confidential, has a client secret.
    Traditional,
    /// A single-page app: public, PKCE required.
    Spa,
    /// A native or mobile app: public, PKCE required.
    Native,
    /// A program acting for itself: gets a client secret and tokens by client credentials
    /// only; no redirect URIs.
    Machine,
}

#[derive(Subcommand)]
pub(super) enum AppCommand {
    /// Register an app; prints its client ID and (traditional and machine apps) its client secret.
    Create {
        /// The app's name, shown on the sign-in page.
        #[arg(long)]
        name: String,
        /// Allowed redirect URI (repeat for several).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Allowed post-logout redirect URI (repeat for several).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// The app type: traditional (server-side web app, gets a client secret), spa or native
        /// (public clients, PKCE required), machine (a program acting for itself: a client
        /// secret, client credentials only, no redirect URIs).
        #[arg(
            long = "type",
            value_enum,
            default_value = "traditional",
            value_name = "TYPE"
        )]
        app_type: AppTypeArg,
        /// ID token signing algorithm [default: ES384]
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<Alg>,
        /// Only members of this group may use the app (repeat for several) [default: everyone]
        #[arg(long = "allowed-group", value_name = "GROUP")]
        allowed_groups: Vec<String>,
        #[command(flatten)]
        insecure: InsecureRedirectFlag,
        /// How long after a refresh its token may be presented again as a retry (a response
        /// lost in a crash, tabs refreshing at once), like 60s; 0 turns retries off
        /// [default: [tokens] refresh_retry_window, else 60s]
        #[arg(long, value_name = "DURATION", value_parser = window)]
        refresh_retry_window: Option<u64>,
        /// An API scope the members (or the machine app) may be granted, as INDICATOR=SCOPE
        /// (`https://api.home/=read`); repeat for several.
        #[arg(long = "api-scope", value_name = "INDICATOR=SCOPE")]
        api_scopes: Vec<ApiScopeArg>,
        #[command(flatten)]
        backchannel: BackchannelFlags,
        #[command(flatten)]
        flows: FlowFlags,
        #[command(flatten)]
        second_factor: SecondFactorFlag,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// List the apps.
    List {
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Show one app.
    Show {
        /// The app's client ID.
        client_id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Change an app's name, redirect URIs, ID token algorithm, whether it accepts http on the
    /// LAN, its refresh retry window or its second-factor policy (given lists replace the old).
    Update {
        /// The app's client ID.
        client_id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// Allowed redirect URI (repeat for several); replaces the current list.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Allowed post-logout redirect URI (repeat for several); replaces the current list.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Remove every post-logout redirect URI.
        #[arg(long, conflicts_with = "post_logout_redirect_uris")]
        clear_post_logout_redirect_uris: bool,
        /// A new ID token signing algorithm.
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<Alg>,
        /// Only members of this group may use the app (repeat for several); replaces the list.
        #[arg(long = "allowed-group", value_name = "GROUP")]
        allowed_groups: Vec<String>,
        /// Let everyone use the app again (remove every allowed group).
        #[arg(long, conflicts_with = "allowed_groups")]
        allow_everyone: bool,
        #[command(flatten)]
        insecure: InsecureRedirectFlag,
        /// How long after a refresh its token may be presented again as a retry (a response
        /// lost in a crash, tabs refreshing at once), like 60s; 0 turns retries off
        /// [default: [tokens] refresh_retry_window, else 60s]
        #[arg(long, value_name = "DURATION", value_parser = window)]
        refresh_retry_window: Option<u64>,
        /// The API scopes the members (or the machine app) may be granted, as INDICATOR=SCOPE;
        /// repeat for several; replaces the current ones.
        #[arg(long = "api-scope", value_name = "INDICATOR=SCOPE")]
        api_scopes: Vec<ApiScopeArg>,
        /// Remove every API scope.
        #[arg(long, conflicts_with = "api_scopes")]
        no_api_scopes: bool,
        #[command(flatten)]
        backchannel: BackchannelFlags,
        #[command(flatten)]
        flows: FlowFlags,
        #[command(flatten)]
        second_factor: SecondFactorFlag,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Delete an app and revoke its tokens.
    Delete {
        /// The app's client ID.
        client_id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Give a traditional or machine app a new client secret (the old one stops working at once).
    RotateSecret {
        /// The app's client ID.
        client_id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum ConnectorName {
    /// Amazon SES (Logto's AWS SES connector JSON).
    Ses,
    /// An SMTP server: {"host", "port", "tls", "username", "password", "from"}, as in
    /// [mail.smtp] (the CA file comes from [mail.smtp].ca_file).
    Smtp,
}

impl ConnectorName {
    /// The name the control command and the store use.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ConnectorName::Ses => "ses",
            ConnectorName::Smtp => "smtp",
        }
    }
}

#[derive(Subcommand)]
pub(super) enum ConnectorCommand {
    /// Validate and store a connector's JSON in place of any stored one; a running server uses
    /// it at once. With a username and no password, smtp keeps the stored password.
    Set {
        #[arg(value_enum)]
        name: ConnectorName,
        /// The connector's JSON (for ses, as Logto takes it).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Show the stored connector (secrets masked).
    Show {
        #[arg(value_enum)]
        name: ConnectorName,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Delete the stored connector; mail goes back to what the configuration says.
    Delete {
        #[arg(value_enum)]
        name: ConnectorName,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand)]
pub(super) enum MailCommand {
    /// Send a test message through the configured transport and report each SMTP reply.
    Test {
        /// The recipient.
        #[arg(long, value_name = "ADDR")]
        to: String,
        /// Register, SignIn, ForgotPassword or Generic.
        #[arg(long, default_value = "SignIn")]
        template: String,
        /// Go through EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO and RSET without sending.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub(super) enum KeysCommand {
    /// Make a new signing key for an algorithm; the old one keeps verifying issued tokens.
    Rotate {
        #[arg(long, default_value_t)]
        alg: Alg,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// List the signing keys: algorithm, key ID, when made and retired, and until when a
    /// retired key stays in JWKS (until every ID token it signed has expired).
    List {
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Remove the retired keys whose every token has expired.
    Prune {
        #[command(flatten)]
        out: JsonFlag,
    },
}

/// `USER` in the `user` and `group` commands.
const USER_HELP: &str = "The user: their ID (sub), email address or username";

#[derive(Subcommand)]
pub(super) enum UserCommand {
    /// Add a user (they may then sign in with a code sent to the address).
    Add {
        /// The address they sign in with.
        email: String,
        /// Their name (the `name` claim).
        #[arg(long)]
        name: Option<String>,
        /// A username (`preferred_username`): letters, digits, '.', '_', '-'; unique.
        #[arg(long)]
        username: Option<String>,
        /// A picture: an http(s) URL.
        #[arg(long, value_name = "URL")]
        picture: Option<String>,
        /// Put them in this group (repeat for several; it must exist).
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Make them an administrator: also put them in the built-in `admins` group.
        #[arg(long)]
        admin: bool,
        /// A custom claim for their tokens (repeat for several); VALUE is JSON when it parses
        /// (true, 10, '["a","b"]'), else a string.
        #[arg(long = "claim", value_name = "KEY=VALUE")]
        claims: Vec<ClaimArg>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// List users (in ID order), a page at a time.
    List {
        /// Only the members of this group.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// Only the users whose email, name or username contains this (any case).
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=MAX_PAGE as u64))]
        limit: u64,
        /// Start after this user ID (the cursor the previous page printed).
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Show one user.
    Show {
        #[arg(help = USER_HELP)]
        user: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Change a user (given lists replace the old; an empty --name, --username or --picture
    /// removes it).
    Update {
        #[arg(help = USER_HELP)]
        user: String,
        /// A new email address (unverified until they sign in with it).
        #[arg(long)]
        email: Option<String>,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new username.
        #[arg(long)]
        username: Option<String>,
        /// A new picture URL.
        #[arg(long, value_name = "URL")]
        picture: Option<String>,
        /// Their groups (repeat for several); replaces the current list.
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Take them out of every group.
        #[arg(long, conflicts_with = "groups")]
        no_groups: bool,
        /// Their custom claims (repeat for several); replaces the current ones.
        #[arg(long = "claim", value_name = "KEY=VALUE")]
        claims: Vec<ClaimArg>,
        /// Remove every custom claim.
        #[arg(long, conflicts_with = "claims")]
        no_claims: bool,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Disable a user: they cannot sign in, and their sessions and refresh tokens end now.
    Disable {
        #[arg(help = USER_HELP)]
        user: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Enable a disabled user.
    Enable {
        #[arg(help = USER_HELP)]
        user: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Delete a user: sessions end, refresh tokens are revoked; their ID is never reused.
    Delete {
        #[arg(help = USER_HELP)]
        user: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// End every session of a user (they must sign in again).
    SignOut {
        #[arg(help = USER_HELP)]
        user: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Show a user's second factors: authenticator app, unused recovery codes, passkeys.
    Factors {
        #[arg(help = USER_HELP)]
        user: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Remove a user's authenticator app, recovery codes and passkeys (they lost their phone,
    /// or every device); they set up new ones on their account page.
    ResetFactors {
        #[arg(help = USER_HELP)]
        user: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Remove one of a user's passkeys (a lost or stolen device); `user factors` lists them.
    RemovePasskey {
        #[arg(help = USER_HELP)]
        user: String,
        /// The passkey's credential ID, as `sesame user factors USER` shows it.
        credential_id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand)]
pub(super) enum GroupCommand {
    /// Create a group.
    Add {
        /// Letters, digits, '.', '_', '-'.
        name: String,
        /// What the group is for.
        #[arg(long)]
        description: Option<String>,
        /// A custom claim every member's tokens carry (repeat for several); VALUE is JSON when
        /// it parses, else a string.
        #[arg(long = "claim", value_name = "KEY=VALUE")]
        claims: Vec<ClaimArg>,
        /// An API scope the members (or the machine app) may be granted, as INDICATOR=SCOPE
        /// (`https://api.home/=read`); repeat for several.
        #[arg(long = "api-scope", value_name = "INDICATOR=SCOPE")]
        api_scopes: Vec<ApiScopeArg>,
        #[command(flatten)]
        second_factor: SecondFactorFlag,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// List the groups.
    List {
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Show a group and its members.
    Show {
        name: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Change a group's description, claims, API scopes or second-factor policy.
    Update {
        name: String,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// The group's custom claims (repeat for several); replaces the current ones.
        #[arg(long = "claim", value_name = "KEY=VALUE")]
        claims: Vec<ClaimArg>,
        /// Remove every custom claim.
        #[arg(long, conflicts_with = "claims")]
        no_claims: bool,
        /// The API scopes the members (or the machine app) may be granted, as INDICATOR=SCOPE;
        /// repeat for several; replaces the current ones.
        #[arg(long = "api-scope", value_name = "INDICATOR=SCOPE")]
        api_scopes: Vec<ApiScopeArg>,
        /// Remove every API scope.
        #[arg(long, conflicts_with = "api_scopes")]
        no_api_scopes: bool,
        #[command(flatten)]
        second_factor: SecondFactorFlag,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Delete a group; its members leave it.
    Delete {
        name: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Put a user in a group.
    AddMember {
        group: String,
        #[arg(help = USER_HELP)]
        user: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Take a user out of a group.
    RemoveMember {
        group: String,
        #[arg(help = USER_HELP)]
        user: String,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand)]
pub(super) enum ApiKeyCommand {
    /// Make a key for a program; prints it once (only its hash is kept).
    Create {
        /// Which program will hold the key.
        #[arg(long)]
        name: String,
        /// The key stops working this many days from now [default: never]
        #[arg(long, value_name = "DAYS")]
        expires: Option<u64>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// List the keys (never the keys themselves).
    List {
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Revoke a key: requests with it are refused from now on.
    Revoke {
        /// The key's ID (`sesame api-key list` shows it).
        id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
}

/// One `--claim KEY=VALUE`. VALUE is taken as JSON when it parses (`is_admin=true`,
/// `quota=10`, `roles=["a","b"]`) and as a string otherwise (`team=blue`), so the common case
/// needs no shell quoting of JSON strings.
#[derive(Debug, Clone)]
pub(super) struct ClaimArg {
    pub(super) key: String,
    pub(super) value: Value,
}

/// Why a `--claim` was refused before anything was sent.
#[derive(Debug)]
pub(super) enum BadClaim {
    /// No `=` between the name and the value.
    NoEquals,
    /// Nothing before the `=`.
    EmptyKey,
}

impl FromStr for ClaimArg {
    type Err = BadClaim;

    fn from_str(s: &str) -> Result<ClaimArg, BadClaim> {
        let (key, value) = s.split_once('=').ok_or(BadClaim::NoEquals)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(BadClaim::EmptyKey);
        }
        let value =
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        Ok(ClaimArg {
            key: key.to_string(),
            value,
        })
    }
}

impl std::fmt::Display for BadClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadClaim::NoEquals => "expected KEY=VALUE, like is_admin=true or team=blue",
            BadClaim::EmptyKey => "the claim's name (before '=') is empty",
        })
    }
}

impl std::error::Error for BadClaim {}

/// Algorithms are written as their JOSE names (`--alg ES384`), exactly as they appear in
/// tokens and discovery; the derive would lower-case them.
impl ValueEnum for Alg {
    fn value_variants<'a>() -> &'a [Self] {
        &Alg::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::{BadClaim, ClaimArg};
    use serde_json::json;

    fn claim(s: &str) -> (String, serde_json::Value) {
        let c: ClaimArg = s.parse().unwrap();
        (c.key, c.value)
    }

    #[test]
    fn claim_values_are_json_when_they_parse_and_strings_otherwise() {
        assert_eq!(claim("is_admin=true"), ("is_admin".into(), json!(true)));
        assert_eq!(claim("quota=10"), ("quota".into(), json!(10)));
        assert_eq!(
            claim(r#"roles=["a","b"]"#),
            ("roles".into(), json!(["a", "b"]))
        );
        assert_eq!(claim("team=blue"), ("team".into(), json!("blue")));
        assert_eq!(claim("note=a=b"), ("note".into(), json!("a=b")));
        assert_eq!(claim("empty="), ("empty".into(), json!("")));
        assert_eq!(claim(r#"quoted="10""#), ("quoted".into(), json!("10")));
    }

    #[test]
    fn a_claim_needs_a_name_and_an_equals_sign() {
        assert!(matches!(
            "quota".parse::<ClaimArg>(),
            Err(BadClaim::NoEquals)
        ));
        assert!(matches!("=1".parse::<ClaimArg>(), Err(BadClaim::EmptyKey)));
    }
}

/// `--api-scope INDICATOR=SCOPE`: one scope of one API (split at the last `=`, since scope
/// names have none and an indicator's query may).
#[derive(Clone, Debug)]
pub(super) struct ApiScopeArg {
    pub(super) indicator: String,
    pub(super) scope: String,
}

impl FromStr for ApiScopeArg {
    type Err = String;

    fn from_str(s: &str) -> Result<ApiScopeArg, String> {
        match s.rsplit_once('=') {
            Some((i, sc)) if !i.trim().is_empty() && !sc.trim().is_empty() => Ok(ApiScopeArg {
                indicator: i.trim().to_string(),
                scope: sc.trim().to_string(),
            }),
            _ => Err("expected INDICATOR=SCOPE, like https://api.home/=read".into()),
        }
    }
}

/// Gathers `--api-scope` flags into the map the registry keeps.
pub(super) fn api_scope_map(args: Vec<ApiScopeArg>) -> crate::store::ApiScopes {
    let mut map = crate::store::ApiScopes::new();
    for a in args {
        let scopes = map.entry(a.indicator).or_default();
        if !scopes.contains(&a.scope) {
            scopes.push(a.scope);
        }
    }
    map
}

/// `--scope NAME[=DESCRIPTION]`: one scope an API defines.
#[derive(Clone, Debug)]
pub(super) struct ScopeArg(pub(super) crate::store::ApiScope);

impl FromStr for ScopeArg {
    type Err = String;

    fn from_str(s: &str) -> Result<ScopeArg, String> {
        let (name, description) = s.split_once('=').unwrap_or((s, ""));
        Ok(ScopeArg(crate::store::ApiScope {
            name: name.trim().to_string(),
            description: description.trim().to_string(),
        }))
    }
}

#[derive(Subcommand)]
pub(super) enum ApiCommand {
    /// Register an API: apps ask for tokens for it with resource=INDICATOR.
    Create {
        /// The resource indicator: an absolute https:// or http:// URI, no fragment; tokens
        /// carry it as `aud`.
        indicator: String,
        /// What people call it.
        #[arg(long)]
        name: String,
        /// A scope it defines, NAME or NAME=DESCRIPTION (repeat for several).
        #[arg(long = "scope", value_name = "NAME[=DESCRIPTION]")]
        scopes: Vec<ScopeArg>,
        /// The access tokens' signing algorithm [default: ES256]
        #[arg(long, value_name = "ALG")]
        alg: Option<Alg>,
        /// The access tokens' lifetime in seconds [default: 600]
        #[arg(long, value_name = "SECONDS")]
        access_token_ttl: Option<u64>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// List the APIs.
    List {
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Show one API.
    Show {
        indicator: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Change an API's name, scopes (replaced), algorithm or token lifetime.
    Update {
        indicator: String,
        #[arg(long)]
        name: Option<String>,
        /// A scope it defines (repeat for several); replaces the current ones.
        #[arg(long = "scope", value_name = "NAME[=DESCRIPTION]")]
        scopes: Vec<ScopeArg>,
        #[arg(long, value_name = "ALG")]
        alg: Option<Alg>,
        #[arg(long, value_name = "SECONDS")]
        access_token_ttl: Option<u64>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Delete an API: no token is issued for it again (issued ones live out their minutes).
    Delete {
        indicator: String,
        #[command(flatten)]
        out: JsonFlag,
    },
}

/// Back-channel logout (OIDC Back-Channel Logout 1.0): where sesame tells the app that a
/// session it signed in with has ended.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct BackchannelFlags {
    /// URL sesame POSTs a logout token to when a session that signed in to the app ends (https,
    /// or http on this machine); on update, "" removes it
    #[arg(long, value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// Whether the app needs the session ID (sid) in logout tokens; sesame always sends it
    /// [default: true]
    #[arg(long, value_name = "BOOL")]
    pub backchannel_logout_session_required: Option<bool>,
}
