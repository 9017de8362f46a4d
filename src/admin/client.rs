//! The CLI end of the control socket.

use super::socket_path::{short_path, ShortPathError, TOO_LONG};
use super::{Command, Response, SOCKET_NAME};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long the CLI waits for an answer. Generous: `keys rotate` generates an RSA key, and
/// `mail test` waits for a remote SMTP server (which has its own, shorter, bound).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a command could not be sent.
#[derive(Debug)]
pub enum ClientError {
    /// No server is listening on the socket (no socket file, or a stale one): open the
    /// database file directly instead.
    NotRunning,
    /// A server is there but the exchange failed (timeout, broken connection, bad answer).
    Failed(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotRunning => {
                write!(f, "no sesame server is listening on the control socket")
            }
            ClientError::Failed(e) => write!(f, "{e}"),
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
                _ => Err(ClientError::Failed(format!(
                    "cannot connect to {}: {e}",
                    path.display()
                ))),
            }
        }
    };
    drop(short);
    let failed =
        |e: std::io::Error| ClientError::Failed(format!("control socket {}: {e}", path.display()));
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(failed)?;
    stream
        .set_write_timeout(Some(ANSWER_TIMEOUT))
        .map_err(failed)?;
    let mut line = serde_json::to_vec(command).map_err(|e| ClientError::Failed(e.to_string()))?;
    line.push(b'\n');
    (&stream).write_all(&line).map_err(failed)?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(failed)?;
    if answer.is_empty() {
        return Err(ClientError::Failed(format!(
            "the server closed the control socket {} without answering",
            path.display()
        )));
    }
    serde_json::from_str(&answer)
        .map_err(|e| ClientError::Failed(format!("the server's answer is not understood: {e}")))
}

/// Why the control socket of `data_dir` cannot be used at all on this system, if that is the
/// case: for the message when the database is locked and no server answered.
pub fn unreachable_reason(data_dir: &Path) -> Option<&'static str> {
    match short_path(data_dir, SOCKET_NAME) {
        Err(ShortPathError::TooLong) => Some(TOO_LONG),
        _ => None,
    }
}
