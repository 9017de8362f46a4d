//! The server end of the control socket.
//!
//! It reads [`Command`]s and carries them out with [`handle_live`] on a
//! blocking thread (which applies their [`Effect`](super::Effect) to the running provider: new
//! keys, a new mailer); `mail.test` is answered here with the mailer the server is using.
//!
//! Only the user running sesame can connect (the socket is 0600), but a stuck or misbehaving
//! local client must still not tie the server up: each connection has [`LINE_TIMEOUT`] to send
//! each request line and at most [`MAX_LINE`] bytes for it, and at most [`MAX_CONNECTIONS`] are
//! served at once.

use super::socket_path::{short_path, ShortPathError};
use super::{handle_live, AdminError, Command, Response, SOCKET_NAME};
use crate::audit::Actor;
use crate::config::MailConfig;
use crate::provider::Provider;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

/// The longest request line accepted. Commands are small; a connector's JSON with its email
/// templates is the largest and stays far below this.
const MAX_LINE: u64 = 1 << 20;

/// How long a connection may take to send one request line (counted from the previous answer,
/// or from connecting). The CLI sends its line at once; a connection idle longer is dropped.
const LINE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections served at once. The CLI opens one per command; beyond this the server stops
/// accepting (the kernel's backlog holds the rest) instead of piling up tasks.
const MAX_CONNECTIONS: usize = 16;

/// The bound control socket, not yet answering.
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

/// Listens on `<data_dir>/sesame.sock` and answers commands until the process ends.
pub async fn serve(
    provider: Arc<Provider>,
    mail: MailConfig,
    data_dir: &Path,
) -> Result<(), AdminError> {
    let socket = bind(data_dir)?;
    serve_on(provider, mail, socket).await
}

/// What the control socket works on: the running provider (whose keys and mailer commands
/// swap) and the configuration's `[mail]` (against which a new connector is tried).
struct Target {
    provider: Arc<Provider>,
    mail: MailConfig,
}

/// Binds `<data_dir>/sesame.sock` (inside the tokio runtime). Call it after the store is open
/// (it replaces whatever socket is there, which is safe only while this process holds the
/// database lock) and before announcing that the server is ready, so a CLI command run right
/// after finds the socket; then hand it to [`serve_on`].
pub fn bind(data_dir: &Path) -> Result<ControlSocket, AdminError> {
    let path = data_dir.join(SOCKET_NAME);
    let listener = bind_private(data_dir, &path)?;
    tracing::debug!("control socket at {}", path.display());
    Ok(ControlSocket { listener, path })
}

/// Answers commands on a bound control socket until the process ends.
pub async fn serve_on(
    provider: Arc<Provider>,
    mail: MailConfig,
    socket: ControlSocket,
) -> Result<(), AdminError> {
    let state = Arc::new(Target { provider, mail });
    let limits = Limits {
        max_connections: MAX_CONNECTIONS,
        line_timeout: LINE_TIMEOUT,
    };
    accept_loop(&socket, limits, move |command| {
        let state = state.clone();
        async move { answer(&state, command).await }
    })
    .await
}

/// The bounds on connections; constants in the server, smaller in tests.
#[derive(Clone, Copy)]
struct Limits {
    max_connections: usize,
    line_timeout: Duration,
}

/// Accepts connections while fewer than `limits.max_connections` are open, and answers each
/// command with `answer`.
async fn accept_loop<F, Fut>(
    socket: &ControlSocket,
    limits: Limits,
    answer: F,
) -> Result<(), AdminError>
where
    F: Fn(Command) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Response> + Send,
{
    let failed = |error: std::io::Error| AdminError::Socket {
        path: socket.path.clone(),
        error,
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        // Taken before accepting: at the limit, new clients wait in the kernel's backlog. The
        // semaphore is never closed, so this waits and never fails.
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| failed(std::io::Error::other(e)))?;
        let (stream, _) = socket.listener.accept().await.map_err(failed)?;
        let answer = answer.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, limits.line_timeout, answer).await {
                tracing::debug!("control socket connection ended: {e}");
            }
            drop(permit);
        });
    }
}

/// Binds the socket so it is never reachable by others: bound under a temporary name, made
/// owner-only, then renamed into place (which also replaces a stale socket left by a crash).
/// A data directory too deep for a socket address is reached through `/proc/self/fd` where
/// there is one ([`super::socket_path`]).
fn bind_private(data_dir: &Path, path: &Path) -> Result<UnixListener, AdminError> {
    let err = |error: std::io::Error| AdminError::Socket {
        path: path.to_path_buf(),
        error,
    };
    // No longer than "sesame.sock" (a pid is at most 6 hex digits on Linux), so the temporary
    // name fits in a socket address whenever the final one does.
    let tmp_name = format!(".sock{:x}", std::process::id());
    let tmp = data_dir.join(&tmp_name);
    let _ = std::fs::remove_file(&tmp);
    // A socket left by a server that did not shut down cleanly. We hold the database lock, so no
    // other server is using it.
    let _ = std::fs::remove_file(path);
    let listener = {
        let short = short_path(data_dir, &tmp_name).map_err(|e| match e {
            ShortPathError::Dir(e) => err(e),
            ShortPathError::TooLong => AdminError::SocketPathTooLong(path.to_path_buf()),
        })?;
        UnixListener::bind(short.path()).map_err(err)?
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(listener)
}

/// Serves one connection: request lines in, answer lines out, until the client closes, sends
/// a line over [`MAX_LINE`], or leaves a line unfinished for `line_timeout`. A line that is not
/// a command is answered with what is wrong with it.
async fn connection<F, Fut>(
    stream: UnixStream,
    line_timeout: Duration,
    answer: F,
) -> std::io::Result<()>
where
    F: Fn(Command) -> Fut,
    Fut: Future<Output = Response>,
{
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = Vec::new();
        let mut limited = (&mut reader).take(MAX_LINE + 1);
        let read_line = limited.read_until(b'\n', &mut line);
        let n = match tokio::time::timeout(line_timeout, read_line).await {
            Ok(n) => n?,
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no request line within {} s", line_timeout.as_secs()),
                ))
            }
        };
        if n == 0 {
            return Ok(());
        }
        let too_long = line.len() as u64 > MAX_LINE;
        let response = if too_long {
            Response::err(AdminError::RequestTooLong)
        } else {
            match Command::from_line(&line) {
                Ok(command) => answer(command).await,
                Err(e) => Response::err(e),
            }
        };
        let mut out = serde_json::to_vec(&response).unwrap_or_default();
        out.push(b'\n');
        write.write_all(&out).await?;
        if too_long {
            return Ok(());
        }
    }
}

async fn answer(state: &Arc<Target>, command: Command) -> Response {
    if let Command::MailTest(message) = command {
        return Response::from(super::mail_test(&state.provider, message).await);
    }
    let st = state.clone();
    // Store writes wait for an fsync: keep them off the async workers.
    let joined = tokio::task::spawn_blocking(move || {
        let (name, only_reads) = (command.name(), command.only_reads());
        let response = Response::from(handle_live(&st.provider, &st.mail, &Actor::Cli, command));
        if response.ok {
            // Changes are worth a line in the log; reads are not.
            if only_reads {
                tracing::debug!("control socket: {name} done");
            } else {
                tracing::info!("control socket: {name} done");
            }
        }
        response
    })
    .await;
    joined.unwrap_or_else(|e| Response::err(AdminError::Crashed(e)))
}

#[cfg(test)]
mod tests {
    use super::super::{AppRef, NoArgs};
    use super::*;
    use tokio::io::AsyncBufReadExt;

    /// Answers every command with its name.
    async fn echo(command: Command) -> Response {
        Response::ok(serde_json::json!({ "echo": command.name() }))
    }

    fn app_list() -> Command {
        Command::AppList(NoArgs {})
    }

    fn app_show() -> Command {
        Command::AppShow(AppRef {
            client_id: "c1".into(),
        })
    }

    async fn ask(stream: &mut BufReader<UnixStream>, command: Command) -> Response {
        let line = format!("{}\n", serde_json::to_string(&command).unwrap());
        stream.get_mut().write_all(line.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_line(&mut answer).await.unwrap();
        serde_json::from_str(&answer).unwrap()
    }

    #[tokio::test]
    async fn a_client_that_never_ends_its_line_is_dropped() {
        let (server_end, mut client) = UnixStream::pair().unwrap();
        let served = tokio::spawn(connection(server_end, Duration::from_millis(200), echo));
        client.write_all(b"{\"cmd\":\"app.list\"").await.unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "no answer to an unfinished line");
        let e = served.await.unwrap().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn each_line_gets_an_answer_and_an_oversized_one_ends_the_connection() {
        let (server_end, client) = UnixStream::pair().unwrap();
        let served = tokio::spawn(connection(server_end, LINE_TIMEOUT, echo));
        let mut client = BufReader::new(client);
        assert_eq!(
            ask(&mut client, app_list()).await.result.unwrap()["echo"],
            "app.list"
        );
        assert_eq!(
            ask(&mut client, app_show()).await.result.unwrap()["echo"],
            "app.show"
        );
        // A line that is not a command is answered with what is wrong, and the connection goes on.
        for (line, error) in [
            ("[1,2]\n", "not a JSON request"),
            (
                "{\"cmd\":\"app.frobnicate\"}\n",
                "unknown command \"app.frobnicate\"",
            ),
            (
                "{\"cmd\":\"app.show\",\"args\":{}}\n",
                "bad arguments for app.show",
            ),
        ] {
            client.get_mut().write_all(line.as_bytes()).await.unwrap();
            let mut answer = String::new();
            client.read_line(&mut answer).await.unwrap();
            let answer: Response = serde_json::from_str(&answer).unwrap();
            assert!(
                !answer.ok && answer.error.as_ref().unwrap().contains(error),
                "{answer:?}"
            );
        }
        let huge = vec![b'x'; MAX_LINE as usize + 10];
        client.get_mut().write_all(&huge).await.unwrap();
        let mut answer = String::new();
        client.read_line(&mut answer).await.unwrap();
        assert!(answer.contains("request too long"), "{answer}");
        served.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn connections_beyond_the_limit_wait_for_a_free_slot() {
        let dir = tempfile::tempdir().unwrap();
        let socket = bind(dir.path()).unwrap();
        let limits = Limits {
            max_connections: 1,
            line_timeout: LINE_TIMEOUT,
        };
        let server = tokio::spawn(async move { accept_loop(&socket, limits, echo).await });
        let path = dir.path().join(SOCKET_NAME);

        let mut first = BufReader::new(UnixStream::connect(&path).await.unwrap());
        ask(&mut first, app_list()).await;
        // Connecting succeeds (the kernel's backlog), but the server does not take it up.
        let mut second = UnixStream::connect(&path).await.unwrap();
        let line = format!("{}\n", serde_json::to_string(&app_show()).unwrap());
        second.write_all(line.as_bytes()).await.unwrap();
        // The first connection is still served meanwhile...
        ask(&mut first, app_list()).await;
        // ...and the second has had no answer.
        let mut buf = [0u8; 64];
        assert_eq!(
            second.try_read(&mut buf).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
        // Once the first goes away, the second is answered.
        drop(first);
        let mut second = BufReader::new(second);
        let mut answer = String::new();
        second.read_line(&mut answer).await.unwrap();
        assert!(answer.contains("app.show"), "{answer}");
        server.abort();
    }

    #[tokio::test]
    async fn the_socket_is_bound_owner_only_even_in_a_deep_directory() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        assert!(deep.join(SOCKET_NAME).as_os_str().len() > 108);
        let bound = bind(&deep);
        if cfg!(target_os = "linux") {
            let socket = bound.unwrap();
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(deep.join(SOCKET_NAME)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
            let server = tokio::spawn(async move {
                let limits = Limits {
                    max_connections: 1,
                    line_timeout: LINE_TIMEOUT,
                };
                accept_loop(&socket, limits, echo).await
            });
            let deep2 = deep.clone();
            let answer = tokio::task::spawn_blocking(move || {
                super::super::client::call(&deep2, &app_list())
            })
            .await
            .unwrap()
            .unwrap();
            assert_eq!(answer.result.unwrap()["echo"], "app.list");
            server.abort();
        } else {
            let e = bound.err().unwrap();
            assert!(
                matches!(e, AdminError::SocketPathTooLong(_))
                    && e.to_string().contains(super::super::socket_path::TOO_LONG),
                "{e}"
            );
        }
        let leftovers: Vec<_> = std::fs::read_dir(&deep)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != SOCKET_NAME)
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary socket left: {leftovers:?}"
        );
    }
}
