//! SMTP connections: made here with `TCP_NODELAY`, handed to lettre's connection, and kept in a
//! small pool for the next send.
//!
//! Why not lettre's own transport and pool: its async connect leaves Nagle's algorithm on, and
//! it writes a message's body and the closing `\r\n.\r\n` as two writes. The second, small write
//! waits for the ACK of the first, which the server delays (it answers only after the
//! terminator): every send stalled about 40 ms (measured with `strace -tt` against the test
//! server: 44 ms between the body and the `250`). lettre has no option for it, so the socket is
//! connected here and passed to `AsyncSmtpConnection::connect_with_transport`.
//!
//! One connection's life:
//!
//! ```text
//!   TCP connect, nodelay ──▶ greeting seen (peek, plain modes) ──▶ [TLS] ──▶ EHLO ──▶ [STARTTLS,
//!   EHLO] ──▶ [AUTH] ──▶ send ──▶ back to the pool (unless broken or the pool is full)
//!   pool ──▶ idle < NOOP_AFTER: send at once; idle < MAX_IDLE: NOOP first; older: closed
//!   a pooled connection that fails without a reply ──▶ the send once more on a new one
//! ```
//!
//! A send owns its connection while it runs, so a send cancelled by the deadline drops it, and
//! the pool never holds a connection left in the middle of a command.

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::Mechanism;
#[allow(deprecated)] // lettre's only way to run implicit TLS over a socket made by the caller
use lettre::transport::smtp::client::AsyncNetworkStream;
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{Failure, SmtpSender, GREETING_WAIT};
use crate::mail::{SendError, TlsMode};

/// Connections kept open for the next sends.
const POOL_SIZE: usize = 4;
/// A connection idle longer than this is closed rather than reused (servers drop idle clients;
/// SES after about a minute).
const MAX_IDLE: Duration = Duration::from_secs(50);
/// A connection idle longer than this is checked with a NOOP before a send: one round trip,
/// cheaper than a send failing on a connection the server has closed meanwhile.
const NOOP_AFTER: Duration = Duration::from_secs(2);
/// The longest a TCP connect may take (the send's deadline bounds the rest).
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// Idle connections, newest last.
#[derive(Default)]
pub(super) struct Pool {
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl Pool {
    fn take(&self) -> Option<(AsyncSmtpConnection, Instant)> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    /// Keeps `conn` for the next send, unless it is broken or the pool is full.
    pub(super) fn put(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < POOL_SIZE {
            idle.push((conn, Instant::now()));
        }
    }
}

impl SmtpSender {
    /// A connection ready for MAIL FROM: a pooled one still alive (`true`), else a new one.
    pub(super) async fn connection(&self) -> Result<(AsyncSmtpConnection, bool), Failure> {
        while let Some((mut conn, since)) = self.pool.take() {
            let idle = since.elapsed();
            if idle >= MAX_IDLE {
                continue; // dropped: the socket closes
            }
            if idle < NOOP_AFTER || conn.test_connected().await {
                return Ok((conn, true));
            }
        }
        Ok((self.connect().await?, false))
    }

    /// A new connection: TCP with nodelay, TLS as configured, EHLO, AUTH.
    pub(super) async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let tcp = match tokio::time::timeout(
            CONNECT_WAIT,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(self.connect_failed(e.to_string())),
            Err(_) => {
                return Err(self.connect_failed(format!(
                    "no TCP connection within {} s",
                    CONNECT_WAIT.as_secs()
                )))
            }
        };
        // Small writes go out at once (see the module note); an error here only costs latency.
        let _ = tcp.set_nodelay(true);
        let hello = ClientId::default();
        let connected = match (self.tls, &self.tls_parameters) {
            (TlsMode::Tls, Some(params)) => {
                #[allow(deprecated)]
                let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
                if let Err(e) = stream.upgrade_tls(params.clone()).await {
                    return Err(self.classify(e).await);
                }
                AsyncSmtpConnection::connect_with_transport(Box::new(Tls(stream)), &hello).await
            }
            _ => {
                self.wait_for_greeting(&tcp).await?;
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello).await
            }
        };
        let mut conn = match connected {
            Ok(conn) => conn,
            Err(e) => return Err(self.classify(e).await),
        };
        if let (TlsMode::Starttls, Some(params)) = (self.tls, &self.tls_parameters) {
            if !conn.can_starttls() {
                return Err(Failure::Final(SendError::NoStarttls {
                    server: self.server(),
                    tls_key: self.tls_key.to_string(),
                }));
            }
            if let Err(e) = conn.starttls(params.clone(), &hello).await {
                return Err(self.classify(e).await);
            }
        }
        if let Some(credentials) = &self.credentials {
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            if let Err(e) = conn.auth(&mechanisms, credentials).await {
                return Err(self.classify(e).await);
            }
        }
        Ok(conn)
    }

    /// Waits for the server's first bytes without reading them (lettre reads the greeting): a
    /// server silent for [`GREETING_WAIT`] expects TLS from the first byte, and lettre, which
    /// bounds only the connect, would wait for a greeting forever.
    async fn wait_for_greeting(&self, tcp: &TcpStream) -> Result<(), Failure> {
        let mut first = [0u8; 1];
        match tokio::time::timeout(GREETING_WAIT, tcp.peek(&mut first)).await {
            Ok(Ok(n)) if n > 0 => Ok(()),
            Ok(Ok(_)) => {
                Err(self
                    .connect_failed("the server closed the connection without a greeting".into()))
            }
            Ok(Err(e)) => Err(self.connect_failed(e.to_string())),
            Err(_) => Err(Failure::Final(SendError::TlsModeMismatch {
                server: self.server(),
                explanation: self.silent_server_explanation(),
            })),
        }
    }

    fn connect_failed(&self, detail: String) -> Failure {
        Failure::Final(SendError::Connect {
            server: self.server(),
            detail,
        })
    }
}

/// An implicit-TLS stream (lettre's, which speaks the `futures` I/O traits) as the tokio stream
/// that `connect_with_transport` takes.
#[allow(deprecated)]
#[derive(Debug)]
struct Tls(AsyncNetworkStream);

#[allow(deprecated)]
impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.peer_addr()
    }
}

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        match futures_io::AsyncRead::poll_read(Pin::new(&mut self.0), cx, unfilled) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(Pin::new(&mut self.0), cx)
    }
}
