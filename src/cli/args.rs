//! The command-line grammar: every command and flag as clap parses it, with the help text
//! `sesame --help` prints. Values that have types elsewhere are parsed straight into them
//! ([`Alg`], through the `ValueEnum` below).

use crate::crypto::keys::Alg;
use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    /// Register and manage applications (OIDC clients).
    #[command(subcommand)]
    App(AppCommand),
    /// Store a mail connector's settings (Logto's AWS SES connector JSON).
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Check the mail setup.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Manage the ID token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Make, list and revoke keys for the management API (/api/v1).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
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
pub(super) struct JsonFlag {
    /// Print the result as JSON.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum AppTypeArg {
    /// A server-side web app: confidential, has a client secret.
    Traditional,
    /// A single-page app: public, PKCE required.
    Spa,
    /// A native or mobile app: public, PKCE required.
    Native,
}

#[derive(Subcommand)]
pub(super) enum AppCommand {
    /// Register an app; prints its client ID and (traditional apps) its client secret.
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
        /// (public clients, PKCE required).
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
    /// Change an app's name, redirect URIs or ID token algorithm (given lists replace the old).
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
        out: JsonFlag,
    },
    /// Delete an app and revoke its tokens.
    Delete {
        /// The app's client ID.
        client_id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Give a traditional app a new client secret (the old one stops working at once).
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
}

#[derive(Subcommand)]
pub(super) enum ConnectorCommand {
    /// Validate and store a connector's JSON; a running server uses it at once.
    Set {
        #[arg(value_enum)]
        name: ConnectorName,
        /// The connector's JSON, as Logto takes it.
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
