//! The server end of the control socket.

use super::{cmd, handle, Effect, Request, Response};
use crate::crypto::keys::KeySet;
use crate::server::State;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The longest request line accepted. Commands are small; a connector's JSON with its email
/// templates is the largest and stays far below this.
const MAX_LINE: u64 = 1 << 20;

/// The bound control socket, not yet answering.
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

/// Listens on `<data_dir>/sesame.sock` and answers commands until the process ends.
pub async fn serve(state: Arc<State>) -> Result<(), String> {
    let socket = bind(&state.config.data_dir)?;
    serve_on(state, socket).await
}

/// Binds `<data_dir>/sesame.sock` (inside the tokio runtime). Call it after the store is open
/// (it replaces whatever socket is there, which is safe only while this process holds the
/// database lock) and before announcing that the server is ready, so a CLI command run right
/// after finds the socket; then hand it to [`serve_on`].
pub fn bind(data_dir: &Path) -> Result<ControlSocket, String> {
    let path = data_dir.join("sesame.sock");
    let listener = bind_private(&path)?;
    tracing::debug!("control socket at {}", path.display());
    Ok(ControlSocket { listener, path })
}

/// Answers commands on a bound control socket until the process ends.
pub async fn serve_on(state: Arc<State>, socket: ControlSocket) -> Result<(), String> {
    loop {
        let (stream, _) = socket
            .listener
            .accept()
            .await
            .map_err(|e| format!("control socket {}: {e}", socket.path.display()))?;
        let st = state.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(st, stream).await {
                tracing::debug!("control socket connection ended: {e}");
            }
        });
    }
}

/// Binds the socket so it is never reachable by others: bound under a temporary name, made
/// owner-only, then renamed into place (which also replaces a stale socket left by a crash).
fn bind_private(path: &Path) -> Result<UnixListener, String> {
    let err = |e: std::io::Error| format!("control socket {}: {e}", path.display());
    let tmp = path.with_file_name(format!(".sesame.sock.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    // A socket left by a server that did not shut down cleanly. We hold the database lock, so no
    // other server is using it.
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(&tmp).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(listener)
}

async fn connection(state: Arc<State>, stream: UnixStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        let too_long = line.len() as u64 > MAX_LINE;
        let response = if too_long {
            Response::err("request too long")
        } else {
            match serde_json::from_slice::<Request>(&line) {
                Ok(req) => answer(&state, req).await,
                Err(e) => Response::err(format!("not a JSON request: {e}")),
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

async fn answer(state: &Arc<State>, req: Request) -> Response {
    if req.cmd == cmd::MAIL_TEST {
        return mail_test(state, &req).await;
    }
    let st = state.clone();
    // Store writes wait for an fsync: keep them off the async workers.
    let joined = tokio::task::spawn_blocking(move || {
        let (response, effect) = handle(&st.store, &st.config.mail, &req);
        match effect {
            Some(Effect::ReloadKeys) => match KeySet::load_or_generate(&st.store) {
                Ok(keys) => st.set_keys(keys),
                Err(e) => {
                    return Response::err(format!(
                        "the new key is stored but loading it failed: {e}"
                    ))
                }
            },
            Some(Effect::SwapMailer(mailer)) => st.set_mailer(*mailer),
            None => {}
        }
        if response.ok {
            // Changes are worth a line in the log; reads are not.
            if matches!(
                req.cmd.as_str(),
                cmd::APP_LIST | cmd::APP_SHOW | cmd::CONNECTOR_SHOW
            ) {
                tracing::debug!("control socket: {} done", req.cmd);
            } else {
                tracing::info!("control socket: {} done", req.cmd);
            }
        }
        response
    })
    .await;
    joined.unwrap_or_else(|e| Response::err(format!("the command failed inside the server: {e}")))
}

#[derive(Deserialize)]
struct MailTestArgs {
    to: String,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// Sends a test message through the mailer the server is using right now.
async fn mail_test(state: &State, req: &Request) -> Response {
    let args: MailTestArgs = match serde_json::from_value(req.args.clone()) {
        Ok(a) => a,
        Err(e) => return Response::err(format!("bad arguments for mail.test: {e}")),
    };
    let purpose = match super::purpose(args.template.as_deref()) {
        Ok(p) => p,
        Err(e) => return Response::err(e),
    };
    let mailer = state.mailer();
    match crate::mail::test_send(&mailer, &args.to, purpose, args.dry_run).await {
        Ok(report) => Response::ok(serde_json::json!({ "report": report })),
        Err(report) => Response::err(report),
    }
}
