//! A real SMTP server for tests: `tests/support/smtp_server.py` (aiosmtpd) run as a child process,
//! with a fresh CA and server certificate for `127.0.0.1`/`localhost`.
//!
//! Use it from a test file with:
//!
//! ```ignore
//! #[path = "support/smtp.rs"]
//! mod smtp;
//!
//! let server = smtp::SmtpServer::start(smtp::SmtpOpts::with_auth("user", "secret"));
//! // point sesame at 127.0.0.1:server.port, tls = starttls, ca_file = server.ca_pem_path
//! let mail = server.wait_for_message(std::time::Duration::from_secs(10));
//! assert_eq!(mail.extract_code().as_deref(), Some("123456"));
//! ```
//!
//! Self-contained: it depends on no other file under tests/support.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// How to run the server. `Default` = STARTTLS required, no AUTH required.
#[derive(Debug, Clone, Default)]
pub struct SmtpOpts {
    /// AUTH (PLAIN/LOGIN) required with this user name and password.
    pub auth: Option<(String, String)>,
    /// Behave like SES's SMTP interface: AUTH with the access key ID and the SMTP password the
    /// server derives itself from the secret and region; unverified senders get 554.
    pub ses: Option<SesOpts>,
    /// TLS from the first byte (like port 465) instead of STARTTLS (like port 587).
    pub implicit_tls: bool,
    /// The server closes a session idle this long (seconds; 30 when unset).
    pub idle_timeout: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct SesOpts {
    pub region: String,
    pub access_key_id: String,
    pub secret: String,
    /// Sender addresses (MAIL FROM) that are verified identities.
    pub verified: Vec<String>,
}

impl SmtpOpts {
    pub fn with_auth(user: &str, password: &str) -> Self {
        SmtpOpts {
            auth: Some((user.to_string(), password.to_string())),
            ..Default::default()
        }
    }

    pub fn ses(region: &str, access_key_id: &str, secret: &str, verified: &[&str]) -> Self {
        SmtpOpts {
            ses: Some(SesOpts {
                region: region.to_string(),
                access_key_id: access_key_id.to_string(),
                secret: secret.to_string(),
                verified: verified.iter().map(|s| s.to_string()).collect(),
            }),
            ..Default::default()
        }
    }

    pub fn implicit_tls(mut self) -> Self {
        self.implicit_tls = true;
        self
    }

    pub fn idle_timeout(mut self, secs: f64) -> Self {
        self.idle_timeout = Some(secs);
        self
    }
}

/// A running server. The child process is killed when this is dropped.
pub struct SmtpServer {
    pub port: u16,
    /// PEM of the CA that signed the server certificate: give it to the client as an extra CA.
    pub ca_pem_path: PathBuf,
    /// Where the server writes `<n>.json` per accepted message (and reads `throttle`).
    pub out_dir: PathBuf,
    child: Child,
    /// Index of the next message `wait_for_message` returns (messages are numbered from 1).
    next: AtomicUsize,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts the server and waits until it listens. Panics (it is a test helper) if python3 or
    /// aiosmtpd is missing (`pip install aiosmtpd`).
    pub fn start(opts: SmtpOpts) -> SmtpServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca_pem, cert_pem, key_pem) = make_certificates();
        let ca_pem_path = dir.path().join("ca.pem");
        let cert_path = dir.path().join("server.pem");
        let key_path = dir.path().join("server.key");
        std::fs::write(&ca_pem_path, ca_pem).expect("write ca.pem");
        std::fs::write(&cert_path, cert_pem).expect("write server.pem");
        std::fs::write(&key_path, key_pem).expect("write server.key");
        let out_dir = dir.path().join("out");
        std::fs::create_dir_all(&out_dir).expect("create out dir");

        let python = std::env::var("SESAME_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut cmd = Command::new(python);
        cmd.arg(script)
            .arg("--cert")
            .arg(&cert_path)
            .arg("--key")
            .arg(&key_path)
            .arg("--out")
            .arg(&out_dir);
        if let Some((user, password)) = &opts.auth {
            cmd.args(["--user", user, "--password", password]);
        }
        if let Some(ses) = &opts.ses {
            cmd.args(["--ses-region", &ses.region]);
            cmd.args(["--ses-secret", &ses.secret]);
            cmd.args(["--ses-access-key-id", &ses.access_key_id]);
            cmd.args(["--verified", &ses.verified.join(",")]);
        }
        if opts.implicit_tls {
            cmd.arg("--implicit-tls");
        }
        if let Some(secs) = opts.idle_timeout {
            cmd.args(["--idle-timeout", &secs.to_string()]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .expect("spawn python3 tests/support/smtp_server.py");

        // Read the `PORT n` line on a thread so a server that never prints cannot hang the test.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(|l| l.ok());
            let _ = tx.send(first);
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(line)) => line,
            other => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "smtp_server.py did not start ({other:?}, exit {status:?}); is aiosmtpd installed? (pip install aiosmtpd)"
                );
            }
        };
        let port: u16 = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from smtp_server.py: {line:?}"));

        SmtpServer {
            port,
            ca_pem_path,
            out_dir,
            child,
            next: AtomicUsize::new(1),
            _dir: dir,
        }
    }

    /// Makes the next `n` transactions end with `454 Throttling failure`.
    pub fn set_throttle(&self, n: u32) {
        let tmp = self.out_dir.join("throttle.set");
        std::fs::write(&tmp, n.to_string()).expect("write throttle");
        std::fs::rename(&tmp, self.out_dir.join("throttle")).expect("rename throttle");
    }

    /// How many messages the server has accepted so far.
    pub fn message_count(&self) -> usize {
        let mut n = 0;
        while self.out_dir.join(format!("{}.json", n + 1)).exists() {
            n += 1;
        }
        n
    }

    /// Waits (blocking, polling) for the next message not yet returned. Panics after `timeout`.
    pub fn wait_for_message(&self, timeout: Duration) -> Received {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(received) = self.try_next_message() {
                return received;
            }
            if Instant::now() > deadline {
                panic!(
                    "no message #{} within {timeout:?}",
                    self.next.load(Ordering::SeqCst)
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Same as [`SmtpServer::wait_for_message`], for use inside a tokio runtime that must keep
    /// running (e.g. when the server under test lives in the same process).
    pub async fn wait_for_message_async(&self, timeout: Duration) -> Received {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(received) = self.try_next_message() {
                return received;
            }
            if Instant::now() > deadline {
                panic!(
                    "no message #{} within {timeout:?}",
                    self.next.load(Ordering::SeqCst)
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The next message not yet returned, if it has arrived.
    pub fn try_next_message(&self) -> Option<Received> {
        let n = self.next.load(Ordering::SeqCst);
        let path = self.out_dir.join(format!("{n}.json"));
        let text = std::fs::read_to_string(&path).ok()?;
        self.next.store(n + 1, Ordering::SeqCst);
        let v: serde_json::Value = serde_json::from_str(&text).expect("message json");
        Some(Received {
            mail_from: v["mail_from"].as_str().unwrap_or_default().to_string(),
            rcpt_tos: v["rcpt_tos"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            data: v["data"].as_str().unwrap_or_default().to_string(),
            tls: v["tls"].as_bool().unwrap_or(false),
            auth_user: v["auth_user"].as_str().map(String::from),
            peer: v["peer"].as_str().map(String::from),
        })
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (MAIL FROM).
    pub mail_from: String,
    /// The envelope recipients (RCPT TO).
    pub rcpt_tos: Vec<String>,
    /// The raw RFC 5322 message.
    pub data: String,
    /// Whether the session was encrypted (STARTTLS or implicit TLS).
    pub tls: bool,
    /// The user name the client authenticated as.
    pub auth_user: Option<String>,
    /// The client's `address:port`: the same for two messages sent over one connection.
    pub peer: Option<String>,
}

impl Received {
    /// The first top-level header with this name (case-insensitive), unfolded, raw (encoded words
    /// are left as they are; see [`Received::header_decoded`]).
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = split_head_body(&self.data);
        header_in(headers, name)
    }

    /// Like [`Received::header`], with RFC 2047 encoded words (`=?utf-8?b?...?=`) decoded.
    pub fn header_decoded(&self, name: &str) -> Option<String> {
        self.header(name).map(|v| decode_encoded_words(&v))
    }

    /// The decoded subject.
    pub fn subject(&self) -> Option<String> {
        self.header_decoded("Subject")
    }

    /// The decoded text/plain part (or the whole body when the message is a single text/plain).
    pub fn text_plain(&self) -> Option<String> {
        find_part(&self.data, "text/plain")
    }

    /// The decoded text/html part.
    pub fn text_html(&self) -> Option<String> {
        find_part(&self.data, "text/html")
    }

    /// The first run of exactly 6 digits in the plain-text part.
    pub fn extract_code(&self) -> Option<String> {
        first_six_digits(&self.text_plain()?)
    }
}

/// Generates a CA and a server certificate for 127.0.0.1 and localhost signed by it.
/// Returns (CA PEM, server certificate PEM, server key PEM).
fn make_certificates() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sesame test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &issuer).expect("server cert");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

fn split_head_body(text: &str) -> (&str, &str) {
    if let Some(i) = text.find("\r\n\r\n") {
        (&text[..i], &text[i + 4..])
    } else if let Some(i) = text.find("\n\n") {
        (&text[..i], &text[i + 2..])
    } else {
        (text, "")
    }
}

/// Header lines with continuation lines joined.
fn unfolded_headers(headers: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in headers.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}

fn header_in(headers: &str, name: &str) -> Option<String> {
    unfolded_headers(headers)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A header parameter such as `boundary` in `multipart/alternative; boundary="xyz"`.
fn header_param(value: &str, param: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(param) {
            Some(v.trim().trim_matches('"').to_string())
        } else {
            None
        }
    })
}

/// Walks the MIME tree of `entity` and returns the decoded body of the first `mime` part.
fn find_part(entity: &str, mime: &str) -> Option<String> {
    let (headers, body) = split_head_body(entity);
    let content_type = header_in(headers, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let kind = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if kind.starts_with("multipart/") {
        let boundary = header_param(&content_type, "boundary")?;
        let delimiter = format!("--{boundary}");
        let mut parts = body.split(delimiter.as_str());
        parts.next(); // preamble
        for part in parts {
            if part.starts_with("--") {
                break; // closing delimiter
            }
            let part = part
                .strip_prefix("\r\n")
                .or_else(|| part.strip_prefix('\n'))
                .unwrap_or(part);
            if let Some(found) = find_part(part, mime) {
                return Some(found);
            }
        }
        return None;
    }
    if kind != mime {
        return None;
    }
    let encoding = header_in(headers, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64 body")
        }
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    };
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    Some(text.trim_end_matches('\n').to_string())
}

fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let lines: Vec<&str> = body.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_end_matches([' ', '\t']);
        let (line, soft_break) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (line, false),
        };
        let b = line.as_bytes();
        let mut j = 0;
        while j < b.len() {
            if b[j] == b'=' && j + 2 < b.len() {
                let hex = std::str::from_utf8(&b[j + 1..j + 3]).unwrap_or("");
                if let Ok(v) = u8::from_str_radix(hex, 16) {
                    out.push(v);
                    j += 3;
                    continue;
                }
            }
            out.push(b[j]);
            j += 1;
        }
        if !soft_break && i + 1 < lines.len() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (B and Q encodings; UTF-8 and ASCII charsets).
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        // Whitespace between two adjacent encoded words is not part of the text.
        if !(last_was_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let word = &rest[start + 2..];
        let parts: Vec<&str> = word.splitn(3, '?').collect();
        let end = parts.get(2).and_then(|t| t.find("?="));
        match (parts.len(), end) {
            (3, Some(end)) => {
                let encoding = parts[1].to_ascii_lowercase();
                let text = &parts[2][..end];
                let bytes = if encoding == "b" {
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .unwrap_or_default()
                } else {
                    decode_quoted_printable(&text.replace('_', " "))
                };
                out.push_str(&String::from_utf8_lossy(&bytes));
                let consumed = 2 + parts[0].len() + 1 + parts[1].len() + 1 + end + 2;
                rest = &rest[start + consumed..];
                last_was_word = true;
            }
            _ => {
                out.push_str(&rest[start..start + 2]);
                rest = &rest[start + 2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

fn first_six_digits(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return Some(text[start..i].to_string());
            }
        } else {
            i += 1;
        }
    }
    None
}
