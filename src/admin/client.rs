//! The CLI end of the control socket: sends one [`Command`] and reads its [`Response`], with
//! std's blocking socket (no async runtime needed). It uses nothing outside the protocol and
//! `socket_path.rs`.

use super::socket_path::{short_path, ShortPathError, TOO_LONG};
use super::{Command, Response, SOCKET_NAME};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the CLI waits for an answer. Generous: `keys rotate` generates an RSA key, and
/// `mail test` waits for a remote SMTP server (which has its own, shorter, bound).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a command could not be sent, or its answer not read.
#[derive(Debug)]
pub enum ClientError {
    /// No server is listening on the socket (no socket file, or a stale one): open the
    /// database file directly instead.
    NotRunning,
    /// A socket is there but connecting failed for another reason (permissions, say).
    Connect {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Sending the command or reading the answer failed, or timed out.
    Exchange {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The server closed the connection without answering.
    NoAnswer(PathBuf),
    /// The command could not be encoded as JSON.
    Encode(serde_json::Error),
    /// The answer is not a [`Response`].
    BadAnswer(serde_json::Error),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotRunning => {
                write!(f, "no sesame server is listening on the control socket")
            }
            ClientError::Connect { path, error } => {
                write!(f, "cannot connect to {}: {error}", path.display())
            }
            ClientError::Exchange { path, error } => {
                write!(f, "control socket {}: {error}", path.display())
            }
            ClientError::NoAnswer(path) => write!(
                f,
                "the server closed the control socket {} without answering",
                path.display()
            ),
            ClientError::Encode(e) => write!(f, "{e}"),
            ClientError::BadAnswer(e) => write!(f, "the server's answer is not understood: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Sends one command to the server running on `data_dir` and returns its answer.
///
/// No data directory, no socket file, a stale socket, or a socket path too long for this
/// system all mean [`ClientError::NotRunning`]: the caller opens the database file instead
/// (and, if a server holds it, [`unreachable_reason`] says why the socket could not be used).
pub fn call(data_dir: &Path, command: &Command) -> Result<Response, ClientError> {
    let path = data_dir.join(SOCKET_NAME);
    let short = match short_path(data_dir, SOCKET_NAME) {
        Ok(short) => short,
        Err(ShortPathError::Dir(_) | ShortPathError::TooLong) => {
            return Err(ClientError::NotRunning)
        }
    };
    let stream = match UnixStream::connect(short.path()) {
        Ok(s) => s,
        Err(e) => {
            return match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                    Err(ClientError::NotRunning)
                }
                _ => Err(ClientError::Connect { path, error: e }),
            }
        }
    };
    drop(short);
    let failed = |error: std::io::Error| ClientError::Exchange {
        path: path.clone(),
        error,
    };
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(failed)?;
    stream
        .set_write_timeout(Some(ANSWER_TIMEOUT))
        .map_err(failed)?;
    let mut line = serde_json::to_vec(command).map_err(ClientError::Encode)?;
    line.push(b'\n');
    (&stream).write_all(&line).map_err(failed)?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(failed)?;
    if answer.is_empty() {
        return Err(ClientError::NoAnswer(path));
    }
    serde_json::from_str(&answer).map_err(ClientError::BadAnswer)
}

/// Why the control socket of `data_dir` cannot be used at all on this system, if that is the
/// case: for the message when the database is locked and no server answered.
pub fn unreachable_reason(data_dir: &Path) -> Option<&'static str> {
    match short_path(data_dir, SOCKET_NAME) {
        Err(ShortPathError::TooLong) => Some(TOO_LONG),
        Ok(_) | Err(ShortPathError::Dir(_)) => None,
    }
}
