//! Real reverse proxies doing forward-auth against sesame, in front of a tiny upstream app:
//! Caddy (`forward_auth`, Debian's `caddy`) and nginx (`auth_request`, Debian's `nginx`).
//!
//! Each proxy is started by the test itself: a generated configuration in a temporary
//! directory (the same configuration README's "Forward-auth" section shows, ports filled in),
//! listening on 127.0.0.1 at a free port, as a foreground process (Caddy with its admin API
//! off; nginx with `daemon off` and `master_process off`), and killed when dropped. No system
//! service is started or relied on. The upstream ([`Upstream`]) answers every request with the
//! request line and headers it received, as text, so a test reads what the proxy forwarded.
//! When a proxy's binary is missing the test fails and says what to install.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const CADDY: &str = "/usr/bin/caddy";
pub const NGINX: &str = "/usr/sbin/nginx";

/// How long a proxy may take to listen.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Which proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Caddy `forward_auth` → `/api/authz/forward-auth`.
    Caddy,
    /// nginx `auth_request` → `/api/authz/auth-request`.
    Nginx,
}

/// A running proxy for one protected host.
pub struct Proxy {
    pub kind: Kind,
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Proxy {
    /// Starts `kind` for `host` (e.g. `app.home.localhost`), asking sesame on `sesame_port` and
    /// forwarding to `upstream_port`, all on 127.0.0.1.
    pub fn start(kind: Kind, host: &str, sesame_port: u16, upstream_port: u16) -> Proxy {
        let (binary, package) = match kind {
            Kind::Caddy => (CADDY, "caddy"),
            Kind::Nginx => (NGINX, "nginx"),
        };
        assert!(
            Path::new(binary).exists(),
            "{binary} is missing: the forward-auth tests run the real proxy. Install it with \
             `apt-get install -y {package}` (.ci/run does this)"
        );
        let mut last_log = String::new();
        // The free port may be taken between the probe and the proxy's bind: try another.
        for _ in 0..3 {
            let port = super::free_port();
            let dir = tempfile::tempdir().expect("temp dir");
            let mut proxy = Proxy {
                kind,
                port,
                child: None,
                dir,
            };
            match proxy.spawn(host, sesame_port, upstream_port) {
                Ok(()) => return proxy,
                Err(log) if log.contains("address already in use") => last_log = log,
                Err(log) => panic!("{kind:?} did not start:\n{log}"),
            }
        }
        panic!("{kind:?} found no free port:\n{last_log}");
    }

    /// `http://{host}:{port}{path}`: the protected URL a browser opens.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    /// The proxy's own log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("proxy.log")
    }

    fn spawn(&mut self, host: &str, sesame_port: u16, upstream_port: u16) -> Result<(), String> {
        let dir = self.dir.path();
        let log = std::fs::File::create(self.log_path()).expect("proxy log");
        let mut cmd = match self.kind {
            Kind::Caddy => {
                let file = dir.join("Caddyfile");
                std::fs::write(
                    &file,
                    caddyfile(host, self.port, sesame_port, upstream_port),
                )
                .expect("write Caddyfile");
                let mut cmd = Command::new(CADDY);
                cmd.args(["run", "--adapter", "caddyfile", "--config"])
                    .arg(&file)
                    // Caddy keeps state under these; none of it may touch the real home.
                    .env("HOME", dir)
                    .env("XDG_DATA_HOME", dir.join("data"))
                    .env("XDG_CONFIG_HOME", dir.join("config"));
                cmd
            }
            Kind::Nginx => {
                let file = dir.join("nginx.conf");
                std::fs::write(
                    &file,
                    nginx_conf(dir, host, self.port, sesame_port, upstream_port),
                )
                .expect("write nginx.conf");
                let mut cmd = Command::new(NGINX);
                cmd.arg("-p")
                    .arg(dir)
                    .arg("-c")
                    .arg(&file)
                    .arg("-e")
                    .arg(dir.join("error.log"));
                cmd
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run {:?}: {e}", self.kind))?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(format!("exited ({status}):\n{}", self.full_log()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not listening after {READY_TIMEOUT:?}:\n{}",
                    self.full_log()
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The process's output and, for nginx, its error log.
    fn full_log(&self) -> String {
        let mut text = self.log();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join("error.log")) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "==== {:?} log ====\n{}\n==== end of {:?} log ====",
                self.kind,
                self.full_log(),
                self.kind
            );
        }
    }
}

/// README's Caddy configuration, for one host on plain HTTP at `port`.
pub fn caddyfile(host: &str, port: u16, sesame_port: u16, upstream_port: u16) -> String {
    format!(
        r#"{{
	admin off
	auto_https off
}}

http://{host}:{port} {{
	bind 127.0.0.1
	# In this order: Caddy's default order runs forward_auth before request_header.
	route {{
		# Only sesame's answer may say who the user is.
		request_header -Remote-*
		forward_auth 127.0.0.1:{sesame_port} {{
			uri /api/authz/forward-auth
			copy_headers Remote-User Remote-Groups Remote-Email Remote-Name
		}}
		reverse_proxy 127.0.0.1:{upstream_port}
	}}
}}
"#
    )
}

/// README's nginx configuration, for one host on plain HTTP at `port`, with every path nginx
/// writes inside `dir`, in the foreground.
pub fn nginx_conf(
    dir: &Path,
    host: &str,
    port: u16,
    sesame_port: u16,
    upstream_port: u16,
) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;

    server {{
        listen 127.0.0.1:{port};
        server_name {host};

        location / {{
            auth_request /internal/sesame/authz;
            auth_request_set $sesame_user $upstream_http_remote_user;
            auth_request_set $sesame_groups $upstream_http_remote_groups;
            auth_request_set $sesame_email $upstream_http_remote_email;
            auth_request_set $sesame_name $upstream_http_remote_name;
            auth_request_set $sesame_location $upstream_http_location;
            # Not signed in: sesame answers 401 with the sign-in URL.
            error_page 401 =302 $sesame_location;
            # Refused: sesame's page, asked for again as an ordinary request.
            error_page 403 /internal/sesame/forbidden;
            # Set from sesame's answer, replacing any the client sent (empty: not sent).
            proxy_set_header Remote-User $sesame_user;
            proxy_set_header Remote-Groups $sesame_groups;
            proxy_set_header Remote-Email $sesame_email;
            proxy_set_header Remote-Name $sesame_name;
            proxy_set_header Host $http_host;
            proxy_pass http://127.0.0.1:{upstream_port};
        }}

        location = /internal/sesame/authz {{
            internal;
            proxy_pass http://127.0.0.1:{sesame_port}/api/authz/auth-request;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}

        location = /internal/sesame/forbidden {{
            internal;
            proxy_pass http://127.0.0.1:{sesame_port}/api/authz/auth-request;
            proxy_method GET;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"#
    )
}

/// One request the upstream received: the request line's target and the headers, in order,
/// names lower-cased.
#[derive(Debug, Clone)]
pub struct Seen {
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The values of header `name` (any case).
    pub fn header(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// The app behind the proxy: answers 200 with the request line and headers it got, as text.
pub struct Upstream {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let port = listener.local_addr().expect("local addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(echo(socket, log.clone()));
            }
        });
        Upstream { port, seen, task }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head and any body), records it, and answers with it; one request per
/// connection (`connection: close`), which both proxies handle.
async fn echo(mut socket: tokio::net::TcpStream, seen: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 65536 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let target = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("")
        .to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end - 4;
    while have < length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => have += n,
        }
    }
    let body = format!("{head}\r\n");
    seen.lock().unwrap().push(Seen { target, headers });
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(reply.as_bytes()).await;
    let _ = socket.shutdown().await;
}
