//! Why a command failed. `main` prints it as `error: <Display>`: one message that says what to
//! do.

use crate::admin::client::ClientError;
use crate::admin::AdminError;
use crate::config::ConfigError;
use crate::mail::MailError;
use crate::store::StoreError;
use std::fmt;
use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The configuration (file, environment, flags) does not load.
    Config(ConfigError),
    /// The async runtime did not start.
    Runtime(std::io::Error),
    /// `sesame serve` stopped with an error; the server says what it was.
    Serve(crate::server::StartError),
    /// The command was carried out and refused, by the running server or on the file: the
    /// text is the control protocol's `error`.
    Refused(String),
    /// A server answers on the control socket, but the exchange failed.
    ServerUnreachable {
        error: ClientError,
        data_dir: PathBuf,
    },
    /// Sending `mail.test` to the running server failed.
    Client(ClientError),
    /// A command that only reads or changes data ran on a data directory without
    /// `sesame.redb`; the data directory is most likely mistyped.
    NoData(PathBuf),
    /// The data directory could not be created.
    CreateDataDir { dir: PathBuf, error: std::io::Error },
    /// The database file could not be opened.
    OpenStore { db: PathBuf, error: StoreError },
    /// A server holds the database file, and this system cannot reach its control socket.
    ServerOutOfReach { db: PathBuf, reason: &'static str },
    /// Another process holds the database file, and no server answers on the socket.
    Locked { db: PathBuf, socket: PathBuf },
    /// A file named on the command line cannot be read.
    ReadFile {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The connector file is not JSON.
    ConnectorNotJson {
        path: PathBuf,
        error: serde_json::Error,
    },
    /// An `update` was given nothing to change; the text lists the flags it takes.
    NothingToChange(&'static str),
    /// The same `--claim` name was given twice.
    RepeatedClaim(String),
    /// The answer to a command does not have the shape the command's result has.
    UnexpectedAnswer(serde_json::Error),
    /// A control command failed here, before anything was sent.
    Admin(AdminError),
    /// The stored mail connector could not be read (`mail test` with no server running).
    StoredConnector(crate::mail::StoredConnectorError),
    /// No mailer can be built from the configuration and the stored connector.
    Mailer(MailError),
    /// The test message was not sent; the report says how far it got.
    MailTestFailed(crate::mail::TestSendError),
    /// The running server's test message failed; its report, as the server sent it.
    MailTestFailedInServer(String),
    /// `restore` was run while a server uses the data directory.
    RestoreWhileRunning(PathBuf),
    /// The backup was not restored; nothing was changed.
    Restore(crate::store::BackupError),
    /// `access check` was given something that is not an http(s) URL with a host.
    NotAUrl(crate::forward_auth::TargetError),
    /// An `[[access]]` rule does not compile (configuration checks this first).
    AccessRule(crate::forward_auth::AccessRuleError),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Config(e) => {
                write!(f, "{e}\n(every key is documented in examples/sesame.toml)")
            }
            CliError::Runtime(e) => write!(f, "cannot start the async runtime: {e}"),
            CliError::Serve(e) => write!(f, "{e}"),
            CliError::Refused(e) => f.write_str(e),
            CliError::ServerUnreachable { error, data_dir } => write!(
                f,
                "{error}\nThe sesame server using {} did not answer properly; check its log, or stop it and retry.",
                data_dir.display()
            ),
            CliError::Client(e) => write!(f, "{e}"),
            CliError::NoData(data_dir) => write!(
                f,
                "no sesame data in {} (sesame.redb is missing): check --data-dir or SESAME_DATA_DIR",
                data_dir.display()
            ),
            CliError::CreateDataDir { dir, error } => write!(
                f,
                "cannot create the data directory {}: {error}",
                dir.display()
            ),
            CliError::OpenStore { db, error } => write!(f, "cannot open {}: {error}", db.display()),
            CliError::ServerOutOfReach { db, reason } => write!(
                f,
                "{} is in use by a sesame server, which cannot be reached: {reason}",
                db.display()
            ),
            CliError::Locked { db, socket } => write!(
                f,
                "{} is in use by another sesame process, but no sesame server answers on {}.\n\
                 If a server is starting, retry in a moment; otherwise stop the other process (only one may \
                 open the data directory at a time) and retry.",
                db.display(),
                socket.display()
            ),
            CliError::ReadFile { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            CliError::ConnectorNotJson { path, error } => write!(
                f,
                "{} is not JSON: {error} (expected the connector's JSON: Logto's AWS SES connector \
                 for ses; host, port, tls, username, password and from for smtp)",
                path.display()
            ),
            CliError::NothingToChange(flags) => write!(f, "nothing to change: give {flags}"),
            CliError::RepeatedClaim(key) => write!(
                f,
                "--claim {key}=... is given twice: give each claim once"
            ),
            CliError::UnexpectedAnswer(e) => write!(f, "unexpected answer: {e}"),
            CliError::Admin(e) => write!(f, "{e}"),
            CliError::StoredConnector(e) => write!(f, "{e}"),
            CliError::Mailer(e) => write!(f, "{e}"),
            CliError::MailTestFailed(report) => write!(f, "the test message failed:\n{report}"),
            CliError::MailTestFailedInServer(report) => {
                write!(f, "the test message failed:\n{report}")
            }
            CliError::NotAUrl(e) => write!(
                f,
                "{e}\n(give the whole URL a browser opens, e.g. https://app.home.example.com/path)"
            ),
            CliError::AccessRule(e) => write!(f, "{e}"),
            CliError::RestoreWhileRunning(dir) => write!(
                f,
                "a sesame server is using {}: stop it first (restore replaces its data file), then run restore again",
                dir.display()
            ),
            CliError::Restore(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CliError {}
