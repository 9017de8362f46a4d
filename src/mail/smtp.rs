//! Sending over SMTP (plain relays and SES), with bounded waits and errors that explain themselves.
//!
//! One send:
//!
//! ```text
//!   pooled connection ──▶ send ──▶ 2xx: done
//!   (or a new one,           │
//!    see smtp/pool.rs)       ├─▶ 4xx (454 throttling, ...): back off 250 ms, 500 ms, 1 s, 2 s and
//!                            │   retry while the deadline allows, then fail
//!                            ├─▶ 535: configuration error naming the keys to check
//!                            ├─▶ 554 "not verified": SES identity/sandbox explanation
//!                            └─▶ no reply: TLS mode diagnosis, else connect/TLS/protocol error
//! ```
//!
//! Everything runs under one deadline (`mail.timeout_secs`, 15 s by default), so no request waits
//! longer. Connections are made and pooled in `smtp/pool.rs` (with `TCP_NODELAY`, which lettre's
//! own transport leaves off, costing about 40 ms a send). lettre's client bounds only the TCP
//! connect, so a client speaking STARTTLS to an implicit-TLS port would wait forever for a
//! greeting that never comes: a new plain connection waits a few seconds for the server's first
//! bytes and, when it stays silent, explains that the port expects TLS. The reverse mistake (TLS
//! against a STARTTLS port) fails at once in rustls; the diagnosis then reads the port in plain
//! text and finds the `220` greeting.

use std::time::{Duration, Instant, UNIX_EPOCH};

use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use lettre::transport::smtp::response::Response;
use lettre::{Address, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod dry_run;
mod pool;

use super::templates::RenderedEmail;
use super::{MailError, SendError, SesStatus, SmtpStatus, TlsMode};
use crate::{clock, crypto};

/// How long a plain-text greeting may take before the port is taken for an implicit-TLS one.
const GREETING_WAIT: Duration = Duration::from_secs(5);
/// How long the diagnosis after a failed TLS handshake listens for a plain-text greeting.
const PLAIN_PROBE_WAIT: Duration = Duration::from_secs(3);
/// Attempts for a send answered with a transient (4xx) reply, such as SES's 454 throttling.
const MAX_ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Everything an SMTP sender needs, resolved from `[mail.smtp]` or an SES connector.
pub(crate) struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// User name and password.
    pub credentials: Option<(String, String)>,
    /// Extra CA certificates (PEM) to trust besides the public roots.
    pub ca_pem: Option<Vec<u8>>,
    /// The configuration keys named in explanations.
    pub ca_key: &'static str,
    pub tls_key: &'static str,
    pub timeout: Duration,
    pub from: Mailbox,
    /// MAIL FROM: where bounces go (SES: feedbackForwardingEmailAddress).
    pub envelope_from: Address,
    pub extra_headers: Vec<(&'static str, String)>,
    /// What to check when the server refuses the credentials.
    pub auth_hint: String,
    /// Set for SES: replies are explained in SES's terms.
    pub ses_region: Option<String>,
}

/// An SMTP transport with its settings and its pool of open connections.
pub(crate) struct SmtpSender {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<Credentials>,
    /// For status: the user name shown masked (SES access key ID).
    pub(crate) masked_user: Option<String>,
    /// Server name and trusted roots; `None` when `tls = "none"`.
    tls_parameters: Option<TlsParameters>,
    ca_key: &'static str,
    tls_key: &'static str,
    timeout: Duration,
    from: Mailbox,
    envelope_from: Address,
    extra_headers: Vec<(&'static str, String)>,
    auth_hint: String,
    ses_region: Option<String>,
    /// Connections kept open between sends (one pool per mail configuration: the mailer holds
    /// one sender).
    pool: pool::Pool,
}

/// How one attempt ended, short of success.
enum Failure {
    /// A 4xx reply: worth retrying after a pause.
    Transient(String),
    Final(SendError),
}

/// What a plain-text connection to the port showed.
enum Greeting {
    /// The first line the server sent.
    Line(String),
    /// Nothing within the wait: the server waits for the client to speak first (TLS).
    Silent,
    /// The server closed the connection without a word.
    Closed,
    ConnectFailed(String),
}

impl SmtpSender {
    pub(crate) fn new(s: SmtpSettings) -> Result<SmtpSender, MailError> {
        let tls_parameters = match s.tls {
            TlsMode::None => None,
            TlsMode::Starttls | TlsMode::Tls => {
                let mut builder = TlsParameters::builder(s.host.clone());
                if let Some(pem) = &s.ca_pem {
                    let cert = Certificate::from_pem(pem).map_err(|e| MailError::Invalid {
                        key: s.ca_key.to_string(),
                        reason: format!("unusable CA certificate: {e}"),
                    })?;
                    builder = builder.add_root_certificate(cert);
                }
                Some(builder.build_rustls().map_err(|e| MailError::Invalid {
                    key: s.ca_key.to_string(),
                    reason: format!("cannot set up TLS for {}: {e}", s.host),
                })?)
            }
        };
        Ok(SmtpSender {
            host: s.host,
            port: s.port,
            tls: s.tls,
            credentials: s.credentials.map(|(u, p)| Credentials::new(u, p)),
            masked_user: None,
            tls_parameters,
            ca_key: s.ca_key,
            tls_key: s.tls_key,
            timeout: s.timeout,
            from: s.from,
            envelope_from: s.envelope_from,
            extra_headers: s.extra_headers,
            auth_hint: s.auth_hint,
            ses_region: s.ses_region,
            pool: pool::Pool::default(),
        })
    }

    pub(crate) fn is_ses(&self) -> bool {
        self.ses_region.is_some()
    }

    /// `host:port`, as shown in messages.
    pub(crate) fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The transport's settings, without secrets.
    pub(crate) fn status(&self) -> SmtpStatus {
        SmtpStatus {
            host: self.host.clone(),
            port: self.port,
            tls: self.tls,
            from: self.from.to_string(),
            envelope_from: self.envelope_from.to_string(),
            auth: self.credentials.is_some(),
            ses: self.ses_region.as_ref().map(|region| SesStatus {
                region: region.clone(),
                access_key_id: self.masked_user.clone(),
            }),
        }
    }

    /// Sends one rendered email to `to`; returns the server's final reply.
    pub(crate) async fn send(
        &self,
        to: &Mailbox,
        email: &RenderedEmail,
    ) -> Result<String, SendError> {
        let message = self.compose(to, email)?;
        let envelope = Envelope::new(Some(self.envelope_from.clone()), vec![to.email.clone()])
            .map_err(|e| SendError::Message(e.to_string()))?;
        let deadline = Instant::now() + self.timeout;
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = tokio::time::timeout(remaining, self.attempt(&envelope, &message)).await;
            let reply = match outcome {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(Failure::Final(e))) => return Err(e),
                Ok(Err(Failure::Transient(reply))) => reply,
                Err(_) => {
                    return Err(SendError::Timeout {
                        server: self.server(),
                        secs: self.timeout.as_secs(),
                    });
                }
            };
            let time_left = deadline.saturating_duration_since(Instant::now());
            if attempt >= MAX_ATTEMPTS || time_left <= backoff {
                return Err(
                    if reply.contains("Throttling") || reply.starts_with("454") {
                        SendError::Throttled {
                            server: self.server(),
                            reply,
                            attempts: attempt,
                        }
                    } else {
                        SendError::Rejected {
                            server: self.server(),
                            reply,
                        }
                    },
                );
            }
            tracing::warn!(
                "mail: {} answered {reply} (attempt {attempt} of {MAX_ATTEMPTS}); retrying in {} ms",
                self.server(),
                backoff.as_millis()
            );
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    async fn attempt(&self, envelope: &Envelope, message: &[u8]) -> Result<String, Failure> {
        let (conn, reused) = self.connection().await?;
        let sent = match self.send_on(conn, envelope, message).await {
            // No reply at all on a pooled connection: the server closed it while it sat idle
            // (checked with NOOP only after a while). Once more on a new connection; at worst,
            // when the connection broke after the message went through, the code is mailed twice.
            Err(e) if reused && e.status().is_none() => {
                tracing::debug!(
                    "mail: a pooled connection to {} failed ({}); sending on a new one",
                    self.server(),
                    error_text(&e)
                );
                let conn = self.connect().await?;
                self.send_on(conn, envelope, message).await
            }
            sent => sent,
        };
        match sent {
            Ok(response) => Ok(reply_text(&response)),
            Err(e) => Err(self.classify(e).await),
        }
    }

    /// Sends over `conn`, then gives it back to the pool. lettre closes the connection on any
    /// failed command (QUIT, marked broken): only one that sent cleanly goes back.
    async fn send_on(
        &self,
        mut conn: lettre::transport::smtp::client::AsyncSmtpConnection,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Response, lettre::transport::smtp::Error> {
        let sent = conn.send(envelope, message).await;
        self.pool.put(conn);
        sent
    }

    fn silent_server_explanation(&self) -> String {
        format!(
            "TLS mode mismatch: {server} sent no SMTP greeting within {secs} s. A server that \
             waits silently like this expects TLS from the first byte (implicit TLS, usually \
             port 465 or 2465), but {key} = \"{mode}\" waits for a plain-text greeting first. \
             Set {key} = \"tls\" for this port, or use the server's STARTTLS port (usually 587)",
            server = self.server(),
            secs = GREETING_WAIT.as_secs(),
            key = self.tls_key,
            mode = self.tls.as_str(),
        )
    }

    fn plain_server_explanation(&self, greeting: &str) -> String {
        format!(
            "TLS mode mismatch: {server} answered in plain text ({greeting:?}) instead of a TLS \
             handshake: this port expects STARTTLS (usually 587 or 2587), but {key} = \"tls\" \
             starts TLS from the first byte. Set {key} = \"starttls\" for this port, or use the \
             server's implicit-TLS port (usually 465)",
            server = self.server(),
            key = self.tls_key,
        )
    }

    /// Turns a lettre error into an explained failure.
    async fn classify(&self, e: lettre::transport::smtp::Error) -> Failure {
        let server = self.server();
        if let Some(code) = e.status() {
            let code = u16::from(code);
            let reply = format!(
                "{code} {}",
                std::error::Error::source(&e).map_or(String::new(), |s| s.to_string())
            )
            .trim_end()
            .to_string();
            tracing::warn!("mail: {server} replied {reply}");
            return match code {
                400..=499 => Failure::Transient(reply),
                530 if reply.contains("STARTTLS") => Failure::Final(SendError::TlsModeMismatch {
                    server,
                    explanation: format!(
                        "TLS mode mismatch: the server requires STARTTLS ({reply}), but \
                         {key} = \"none\". Set {key} = \"starttls\"",
                        key = self.tls_key
                    ),
                }),
                530 | 534 | 535 => Failure::Final(SendError::AuthFailed {
                    server,
                    reply,
                    check: self.auth_hint.clone(),
                }),
                _ if reply.contains("not verified") => Failure::Final(SendError::NotVerified {
                    server,
                    reply,
                    region: self
                        .ses_region
                        .clone()
                        .unwrap_or_else(|| "of the sender".into()),
                }),
                _ => Failure::Final(SendError::Rejected { server, reply }),
            };
        }
        let detail = error_text(&e);
        tracing::warn!("mail: {server}: {detail}");
        if e.is_timeout() {
            return Failure::Final(SendError::Timeout {
                server,
                secs: self.timeout.as_secs(),
            });
        }
        if detail.contains("STARTTLS is not supported") {
            return Failure::Final(SendError::NoStarttls {
                server,
                tls_key: self.tls_key.to_string(),
            });
        }
        // A certificate complaint means a TLS handshake took place: the mode is right.
        if self.tls == TlsMode::Tls && !detail.contains("certificate") {
            if let Greeting::Line(line) =
                read_greeting(&self.host, self.port, PLAIN_PROBE_WAIT).await
            {
                if starts_with_reply_code(&line) {
                    return Failure::Final(SendError::TlsModeMismatch {
                        server,
                        explanation: self.plain_server_explanation(&line),
                    });
                }
            }
        }
        if e.is_tls() || detail.contains("certificate") || detail.contains("handshake") {
            return Failure::Final(SendError::Tls {
                server,
                detail,
                ca_key: self.ca_key.to_string(),
            });
        }
        if detail.contains("Connection refused") || detail.contains("resolve") {
            return Failure::Final(SendError::Connect { server, detail });
        }
        Failure::Final(SendError::Protocol { server, detail })
    }

    /// The message as it goes over the wire: multipart/alternative (text, then HTML), Date,
    /// Message-ID on the sender's domain, and the SES headers when set.
    fn compose(&self, to: &Mailbox, email: &RenderedEmail) -> Result<Vec<u8>, SendError> {
        let message_id = format!("<{}@{}>", crypto::random_id(), self.from.email.domain());
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(email.subject.clone())
            .date(UNIX_EPOCH + Duration::from_secs(clock::now()))
            .message_id(Some(message_id));
        for (name, value) in &self.extra_headers {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(name),
                value.clone(),
            ));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Message(e.to_string()))?;
        Ok(message.formatted())
    }
}

/// Connects in plain text and reads what the server says first, within `wait`.
async fn read_greeting(host: &str, port: u16, wait: Duration) -> Greeting {
    let connect = tokio::time::timeout(wait, TcpStream::connect((host, port))).await;
    let mut stream = match connect {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Greeting::ConnectFailed(e.to_string()),
        Err(_) => {
            return Greeting::ConnectFailed(format!(
                "no TCP connection within {} s",
                wait.as_secs()
            ))
        }
    };
    let mut buf = vec![0u8; 512];
    let mut filled = 0;
    let started = Instant::now();
    loop {
        let left = wait.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf[filled..])).await {
            Err(_) if filled == 0 => return Greeting::Silent,
            Err(_) => break,
            Ok(Ok(0)) if filled == 0 => return Greeting::Closed,
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                filled += n;
                if buf[..filled].contains(&b'\n') || filled == buf.len() {
                    break;
                }
            }
            Ok(Err(e)) if filled == 0 => return Greeting::ConnectFailed(e.to_string()),
            Ok(Err(_)) => break,
        }
    }
    // Leave politely; the server's answer does not matter.
    let _ = tokio::time::timeout(Duration::from_millis(200), stream.write_all(b"QUIT\r\n")).await;
    let text = String::from_utf8_lossy(&buf[..filled]);
    Greeting::Line(text.lines().next().unwrap_or("").trim().to_string())
}

fn starts_with_reply_code(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit)
}

/// `250 OK: queued as 1234` from a lettre response.
fn reply_text(response: &Response) -> String {
    let code = u16::from(response.code());
    let message: Vec<&str> = response.message().collect();
    format!("{code} {}", message.join(" / "))
        .trim_end()
        .to_string()
}

/// A lettre error by its root cause (`invalid peer certificate: UnknownIssuer`, `Connection
/// refused`), which says more than lettre's kind prefix.
fn error_text(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text
}
