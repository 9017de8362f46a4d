//! Why a control command, or the control socket itself, failed. Its `Display` is what the
//! client is told (the `error` of a [`Response`](super::Response)) or what the server logs.

use super::socket_path::TOO_LONG;
use super::CONNECTORS_KNOWN;
use crate::apps::AppError;
use crate::crypto::CryptoError;
use crate::mail::MailError;
use crate::store::StoreError;
use std::fmt;
use std::path::PathBuf;

/// Why a control command, or the control socket, failed.
#[derive(Debug)]
pub enum AdminError {
    /// The request line is not a JSON object with a string `cmd`.
    NotJson(serde_json::Error),
    /// The request line is longer than the server reads.
    RequestTooLong,
    /// `cmd` names no command.
    UnknownCommand(String),
    /// The `args` do not fit the command.
    BadArguments {
        command: String,
        error: serde_json::Error,
    },
    /// The app registry refused the change or failed.
    App(AppError),
    /// The directory (users and groups) refused the change or failed.
    Users(crate::users::UserError),
    /// An API key operation was refused or failed.
    ApiKey(crate::api_keys::ApiKeyError),
    /// The API registry refused the change or failed.
    Api(crate::apis::ApiError),
    /// Reading or writing a stored connector failed.
    Store(StoreError),
    /// No connector has this name (see [`CONNECTORS_KNOWN`]).
    UnknownConnector(String),
    /// `connector.set` came without the connector's settings.
    NoConnectorConfig,
    /// The connector's settings are JSON, but not an object.
    ConnectorNotObject,
    /// The connector's settings are not a valid connector of its kind (SES or SMTP).
    ConnectorInvalid(MailError),
    /// The settings are valid, but no mailer can be built from them with the configured
    /// `[mail]`.
    ConnectorDoesNotWork(MailError),
    /// The connector's settings could not be encoded for storing.
    ConnectorEncoding(serde_json::Error),
    /// `experience.set` was refused: each field and what is wrong with it. Nothing was stored.
    ExperienceInvalid(Vec<crate::experience::FieldError>),
    /// The stored sign-in experience could not be read.
    ExperienceDoesNotLoad(crate::experience::LoadError),
    /// Making or storing a new signing key failed.
    KeyRotation(CryptoError),
    /// The new key is stored, but the running server could not load its key set again.
    KeyReload(CryptoError),
    /// Listing or pruning the signing keys failed.
    Keys(StoreError),
    /// The backup was not written.
    Backup(crate::store::BackupError),
    /// `store.backup` was given a relative path (the server's directory is not the client's).
    RelativeBackupPath(PathBuf),
    /// `audit.list` was asked for the changes of a command that does not exist.
    UnknownAuditKind(String),
    /// `mail.test` was run on the file: only a running server has a mailer to test.
    MailTestNeedsServer,
    /// `mail test --template` names no email template; the text says which exist.
    UnknownTemplate(crate::mail::UnknownPurpose),
    /// The test message was not sent; the report says how far it got.
    MailTestFailed(crate::mail::TestSendError),
    /// The command panicked (or was cancelled) on the server's blocking thread.
    Crashed(tokio::task::JoinError),
    /// The control socket could not be bound or accepted on.
    Socket {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The data directory is too deep for a socket address on this system.
    SocketPathTooLong(PathBuf),
}

impl AdminError {
    /// The connector field a refused `connector.set` names (`host`, `tls`, `region`, ...), for
    /// a form to show the error beside it.
    pub fn connector_field(&self) -> Option<&str> {
        match self {
            AdminError::ConnectorInvalid(e) | AdminError::ConnectorDoesNotWork(e) => e.key(),
            _ => None,
        }
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::NotJson(e) => write!(f, "not a JSON request: {e}"),
            AdminError::ExperienceInvalid(errors) => {
                f.write_str("the sign-in experience was not saved: ")?;
                let each: Vec<String> =
                    errors.iter().map(|e| format!("{}: {}", e.field, e.error)).collect();
                f.write_str(&each.join("; "))
            }
            AdminError::ExperienceDoesNotLoad(e) => write!(f, "{e}"),
            AdminError::RequestTooLong => f.write_str("request too long"),
            AdminError::UnknownCommand(cmd) => write!(f, "unknown command {cmd:?}"),
            AdminError::BadArguments { command, error } => {
                write!(f, "bad arguments for {command}: {error}")
            }
            AdminError::App(e) => write!(f, "{e}"),
            AdminError::Users(e) => write!(f, "{e}"),
            AdminError::ApiKey(e) => write!(f, "{e}"),
            AdminError::Api(e) => write!(f, "{e}"),
            AdminError::Store(e) => write!(f, "{e}"),
            AdminError::UnknownConnector(name) => write!(
                f,
                "unknown connector {name:?}; known: {}",
                CONNECTORS_KNOWN.join(", ")
            ),
            AdminError::NoConnectorConfig => {
                f.write_str("connector.set needs the connector's JSON in \"config\"")
            }
            // Said in the connector's terms; serde would say "invalid type: sequence, expected
            // struct SesConfig".
            AdminError::ConnectorNotObject => f.write_str(
                "the connector's settings must be a JSON object: for ses, Logto's AWS SES \
                 connector (accessKeyId, accessKeySecret or smtpPassword, region, ...); for \
                 smtp, host, port, tls, username, password and from",
            ),
            AdminError::ConnectorInvalid(e) => write!(f, "{e}"),
            AdminError::ConnectorDoesNotWork(e) => write!(f, "the connector does not work: {e}"),
            AdminError::ConnectorEncoding(e) => write!(f, "{e}"),
            AdminError::KeyRotation(e) => write!(f, "key rotation failed: {e}"),
            AdminError::KeyReload(e) => {
                write!(f, "the new key is stored but loading it failed: {e}")
            }
            AdminError::Keys(e) => write!(f, "signing keys: {e}"),
            AdminError::Backup(e) => write!(f, "backup failed: {e}"),
            AdminError::RelativeBackupPath(p) => write!(
                f,
                "the backup path {} must be absolute: the server does not share the client's working directory",
                p.display()
            ),
            AdminError::UnknownAuditKind(name) => {
                write!(f, "{}", crate::audit::UnknownKind(name.clone()))
            }
            AdminError::MailTestNeedsServer => f.write_str("mail.test needs a running server"),
            AdminError::UnknownTemplate(reason) => write!(f, "{reason}"),
            AdminError::MailTestFailed(report) => write!(f, "{report}"),
            AdminError::Crashed(e) => write!(f, "the command failed inside the server: {e}"),
            AdminError::Socket { path, error } => {
                write!(f, "control socket {}: {error}", path.display())
            }
            AdminError::SocketPathTooLong(path) => {
                write!(f, "control socket {}: {TOO_LONG}", path.display())
            }
        }
    }
}

impl std::error::Error for AdminError {}

impl From<crate::users::UserError> for AdminError {
    fn from(e: crate::users::UserError) -> Self {
        AdminError::Users(e)
    }
}

impl From<crate::api_keys::ApiKeyError> for AdminError {
    fn from(e: crate::api_keys::ApiKeyError) -> Self {
        AdminError::ApiKey(e)
    }
}

impl From<crate::apis::ApiError> for AdminError {
    fn from(e: crate::apis::ApiError) -> Self {
        AdminError::Api(e)
    }
}

impl From<AppError> for AdminError {
    fn from(e: AppError) -> Self {
        AdminError::App(e)
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::Store(e)
    }
}
