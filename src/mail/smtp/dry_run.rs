//! `sesame mail test --dry-run`: one SMTP conversation up to RSET, without sending, each step's
//! reply in the report. It uses lettre's connection and commands directly (not the pool) so every
//! reply can be shown, and the same diagnosis as a real send when a step fails.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;

use super::{error_text, read_greeting, reply_text, Failure, Greeting, SmtpSender, GREETING_WAIT};
use crate::mail::{SendError, TlsMode};

impl SmtpSender {
    /// `mail test --dry-run`: one conversation up to RSET, each step's reply in the report.
    pub(crate) async fn dry_run(&self, to: &Mailbox) -> Result<String, String> {
        let mut report = DryRun {
            lines: vec![format!(
                "server   {} (tls = {}, {})",
                self.server(),
                self.tls.as_str(),
                if self.is_ses() { "ses" } else { "smtp" }
            )],
        };
        match tokio::time::timeout(self.timeout, self.dry_run_steps(to, &mut report)).await {
            Ok(Ok(())) => {
                report.step(
                    "result",
                    "ok: the server would accept this message; nothing was sent",
                );
                Ok(report.text())
            }
            Ok(Err(e)) => {
                report.step("FAILED", &e.to_string());
                Err(report.text())
            }
            Err(_) => {
                let e = SendError::Timeout {
                    server: self.server(),
                    secs: self.timeout.as_secs(),
                };
                report.step("FAILED", &e.to_string());
                Err(report.text())
            }
        }
    }

    async fn dry_run_steps(&self, to: &Mailbox, report: &mut DryRun) -> Result<(), SendError> {
        if self.tls != TlsMode::Tls {
            match read_greeting(&self.host, self.port, GREETING_WAIT).await {
                Greeting::Line(line) => report.step("greeting", &line),
                Greeting::Silent => {
                    return Err(SendError::TlsModeMismatch {
                        server: self.server(),
                        explanation: self.silent_server_explanation(),
                    })
                }
                Greeting::Closed => {
                    return Err(SendError::Connect {
                        server: self.server(),
                        detail: "the server closed the connection without a greeting".into(),
                    })
                }
                Greeting::ConnectFailed(detail) => {
                    return Err(SendError::Connect {
                        server: self.server(),
                        detail,
                    })
                }
            }
        }
        let hello = ClientId::default();
        let wrapper = match self.tls {
            TlsMode::Tls => self.tls_parameters.clone(),
            _ => None,
        };
        let mut conn = match AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.timeout.min(Duration::from_secs(10))),
            &hello,
            wrapper,
            None,
        )
        .await
        {
            Ok(conn) => conn,
            Err(e) => return Err(self.final_error(e).await),
        };
        if self.tls == TlsMode::Tls {
            report.step("TLS", "ok: connection encrypted from the first byte");
        }
        report.step("EHLO", &format!("ok: {}", conn.server_info()));

        if let (TlsMode::Starttls, Some(params)) = (self.tls, &self.tls_parameters) {
            if !conn.can_starttls() {
                return Err(SendError::NoStarttls {
                    server: self.server(),
                    tls_key: self.tls_key.to_string(),
                });
            }
            if let Err(e) = conn.starttls(params.clone(), &hello).await {
                return Err(self.final_error(e).await);
            }
            report.step("STARTTLS", "ok: connection encrypted");
            report.step("EHLO", &format!("ok: {}", conn.server_info()));
        }

        if let Some(credentials) = &self.credentials {
            let response = conn
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await;
            match response {
                Ok(r) => report.step("AUTH", &reply_text(&r)),
                Err(e) => return Err(self.final_error(e).await),
            }
        }

        let mail = Mail::new(Some(self.envelope_from.clone()), vec![]);
        match conn.command(mail).await {
            Ok(r) => report.step(
                &format!("MAIL FROM:<{}>", self.envelope_from),
                &reply_text(&r),
            ),
            Err(e) => return Err(self.final_error(e).await),
        }
        match conn.command(Rcpt::new(to.email.clone(), vec![])).await {
            Ok(r) => report.step(&format!("RCPT TO:<{}>", to.email), &reply_text(&r)),
            Err(e) => return Err(self.final_error(e).await),
        }
        match conn.command(Rset).await {
            Ok(r) => report.step("RSET", &reply_text(&r)),
            Err(e) => return Err(self.final_error(e).await),
        }
        match conn.quit().await {
            Ok(r) => report.step("QUIT", &reply_text(&r)),
            Err(e) => report.step("QUIT", &error_text(&e)),
        }
        Ok(())
    }

    /// Like `classify`, with a transient reply reported as it is (a dry run does not retry).
    async fn final_error(&self, e: lettre::transport::smtp::Error) -> SendError {
        match self.classify(e).await {
            Failure::Final(e) => e,
            Failure::Transient(reply) => SendError::Rejected {
                server: self.server(),
                reply,
            },
        }
    }
}

/// The dry run's report: one line per step.
struct DryRun {
    lines: Vec<String>,
}

impl DryRun {
    fn step(&mut self, step: &str, outcome: &str) {
        self.lines.push(format!("{step:<8} {outcome}"));
    }

    fn text(&self) -> String {
        self.lines.join("\n")
    }
}
