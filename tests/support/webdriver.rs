//! A minimal W3C WebDriver client for headless Chromium through chromedriver, and a tiny HTTP
//! listener that plays the app's callback endpoint.
//!
//! Only what the browser test needs: start chromedriver, open a session, navigate, find an
//! element by CSS selector, type, click, read the URL and the page source, end the session.
//! Chromium and chromedriver are the Debian packages (`apt-get install chromium
//! chromium-driver`); `.ci/run` installs them. When they are missing the test fails and says so.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::HttpClient;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The key W3C WebDriver uses for element references in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running chromedriver; killed on drop.
pub struct ChromeDriver {
    pub url: String,
    child: Child,
    _log_dir: tempfile::TempDir,
    pub log_path: std::path::PathBuf,
}

/// One browser session.
pub struct Browser {
    base: String,
    session_id: String,
    http: HttpClient,
    _profile: tempfile::TempDir,
}

/// A reference to an element in the page.
#[derive(Debug, Clone)]
pub struct Element(pub String);

impl ChromeDriver {
    /// Starts `/usr/bin/chromedriver` on a free port. Panics with the install command when
    /// Chromium or chromedriver is missing: the browser test must not pass by skipping.
    pub fn start() -> ChromeDriver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser test needs headless Chromium. Install it with \
                 `apt-get install -y chromium chromium-driver` (.ci/run does this); package {package}"
            );
        }
        let port = super::free_port();
        let log_dir = tempfile::tempdir().expect("temp dir");
        let log_path = log_dir.path().join("chromedriver.log");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log_path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {CHROMEDRIVER}: {e}"));
        let mut driver = ChromeDriver {
            url: format!("http://127.0.0.1:{port}"),
            child,
            _log_dir: log_dir,
            log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited at start ({status}):\n{}", driver.log());
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen within 30 s:\n{}",
                driver.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// chromedriver's own log (for failure messages).
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let start = text.len().saturating_sub(8000);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text[start..].to_string()
    }

    /// Opens a headless Chromium session with a fresh profile.
    pub async fn new_session(&self) -> Browser {
        self.new_session_with(false).await
    }

    /// Opens a headless Chromium session with JavaScript turned off (the content setting a
    /// person changes in the browser's settings): pages must work with forms and links alone.
    pub async fn new_session_without_javascript(&self) -> Browser {
        self.new_session_with(true).await
    }

    async fn new_session_with(&self, no_javascript: bool) -> Browser {
        let profile = tempfile::tempdir().expect("temp dir");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        // 2 = blocked, for every site.
        let prefs = if no_javascript {
            json!({ "profile.managed_default_content_settings.javascript": 2 })
        } else {
            json!({})
        };
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": CHROMIUM, "args": args, "prefs": prefs },
                    "pageLoadStrategy": "normal"
                }
            }
        });
        let http = HttpClient::new();
        let value = command(
            &http,
            &self.url,
            Method::POST,
            "/session",
            Some(capabilities),
        )
        .await
        .unwrap_or_else(|e| panic!("new WebDriver session failed: {e}\n{}", self.log()));
        let session_id = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {value}"))
            .to_string();
        let browser = Browser {
            base: format!("{}/session/{session_id}", self.url),
            session_id,
            http,
            _profile: profile,
        };
        // Finding an element waits up to this long for it to appear (page loads after clicks).
        browser
            .cmd(
                Method::POST,
                "/timeouts",
                Some(json!({ "implicit": 10_000, "pageLoad": 30_000 })),
            )
            .await;
        browser
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.cmd(Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn source(&self) -> String {
        self.cmd(Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn title(&self) -> String {
        self.cmd(Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Finds an element by CSS selector (waiting up to the implicit timeout).
    pub async fn find(&self, css: &str) -> Element {
        match self.try_find(css).await {
            Ok(element) => element,
            Err(e) => panic!(
                "no element {css:?} at {}: {e}\npage:\n{}",
                self.current_url().await,
                super::http::excerpt(&self.source().await)
            ),
        }
    }

    pub async fn try_find(&self, css: &str) -> Result<Element, String> {
        let body = json!({ "using": "css selector", "value": css });
        let value = command(&self.http, &self.base, Method::POST, "/element", Some(body)).await?;
        value[ELEMENT_KEY]
            .as_str()
            .map(|id| Element(id.to_string()))
            .ok_or_else(|| format!("no element reference in {value}"))
    }

    pub async fn send_keys(&self, element: &Element, text: &str) {
        let path = format!("/element/{}/value", element.0);
        self.cmd(Method::POST, &path, Some(json!({ "text": text })))
            .await;
    }

    pub async fn click(&self, element: &Element) {
        let path = format!("/element/{}/click", element.0);
        self.cmd(Method::POST, &path, Some(json!({}))).await;
    }

    /// An element's attribute, as the page has it.
    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        let path = format!("/element/{}/attribute/{name}", element.0);
        self.cmd(Method::GET, &path, None)
            .await
            .as_str()
            .map(str::to_string)
    }

    /// An element's live property (e.g. `value`).
    pub async fn property(&self, element: &Element, name: &str) -> Value {
        let path = format!("/element/{}/property/{name}", element.0);
        self.cmd(Method::GET, &path, None).await
    }

    /// Whether the element is shown (WebDriver's "is displayed": not hidden by `display`,
    /// `visibility` or size).
    pub async fn displayed(&self, element: &Element) -> bool {
        let path = format!("/element/{}/displayed", element.0);
        self.cmd(Method::GET, &path, None).await.as_bool() == Some(true)
    }

    /// Waits until the current URL satisfies `pred` (bounded), returning it.
    pub async fn wait_for_url(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let url = self.current_url().await;
            if pred(&url) {
                return url;
            }
            if Instant::now() > deadline {
                panic!(
                    "the browser never reached {what}; it is at {url}:\n{}",
                    super::http::excerpt(&self.source().await)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sets the window's size in CSS pixels (what the page's media queries see, headless).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        let rect = json!({ "width": width, "height": height });
        self.cmd(Method::POST, "/window/rect", Some(rect)).await;
    }

    /// A PNG of what the window shows.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let encoded = self.cmd(Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("the screenshot is base64")
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its
    /// value. WebDriver runs it through the DevTools protocol, not as page script, so a CSP
    /// that forbids inline script does not stop it.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        let body = json!({ "script": script, "args": args });
        self.cmd(Method::POST, "/execute/sync", Some(body)).await
    }

    /// [`Browser::execute`] for a script that finishes later: it calls its last argument with
    /// the result.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        let body = json!({ "script": script, "args": args });
        self.cmd(Method::POST, "/execute/async", Some(body)).await
    }

    /// A Chrome DevTools Protocol command through chromedriver (e.g. `Emulation.*`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let body = json!({ "cmd": cmd, "params": params });
        self.cmd(Method::POST, "/goog/cdp/execute", Some(body))
            .await
    }

    /// On sesame's email page: types `email`, sends, and on the code page enters the code that
    /// the test SMTP server received for it, as a person would.
    pub async fn sign_in_by_code(&self, sesame: &super::Sesame, email: &str) {
        let field = self.find("input[type=email][name=email]").await;
        self.send_keys(&field, email).await;
        self.click(&self.find("form button[type=submit]").await)
            .await;
        self.wait_for_url("the code page", |url| url.contains("/sign-in/code"))
            .await;
        let code = sesame.next_code_for(email).await;
        self.send_keys(&self.find("input[name=code]").await, &code)
            .await;
        self.click(
            &self
                .find("form button[type=submit]:not([name=resend])")
                .await,
        )
        .await;
    }

    /// Adds a virtual authenticator (WebDriver's WebAuthn extension, which chromedriver
    /// implements): a platform authenticator that keeps discoverable credentials, verifies its
    /// user (as a fingerprint would) and consents to every request. Returns its ID.
    pub async fn add_virtual_authenticator(&self) -> String {
        let options = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserConsenting": true,
            "isUserVerified": true,
        });
        self.cmd(Method::POST, "/webauthn/authenticator", Some(options))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The credentials the virtual authenticator `id` holds (each with `credentialId`,
    /// `rpId`, `userHandle`, `signCount`, `isResidentCredential`).
    pub async fn virtual_credentials(&self, id: &str) -> Vec<Value> {
        let path = format!("/webauthn/authenticator/{id}/credentials");
        self.cmd(Method::GET, &path, None)
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Whether the virtual authenticator `id` verifies its user from now on.
    pub async fn set_user_verified(&self, id: &str, verified: bool) {
        let path = format!("/webauthn/authenticator/{id}/uv");
        self.cmd(
            Method::POST,
            &path,
            Some(json!({ "isUserVerified": verified })),
        )
        .await;
    }

    /// Removes the virtual authenticator `id` (and its credentials).
    pub async fn remove_virtual_authenticator(&self, id: &str) {
        let path = format!("/webauthn/authenticator/{id}");
        self.cmd(Method::DELETE, &path, None).await;
    }

    /// Ends the session (closes Chromium).
    pub async fn quit(self) {
        let _ = command(&self.http, &self.base, Method::DELETE, "", None).await;
    }

    async fn cmd(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        command(&self.http, &self.base, method.clone(), path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} failed: {e}"))
    }
}

/// Sends one WebDriver command and returns its `value`, or the WebDriver error.
async fn command(
    http: &HttpClient,
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let url = format!("{base}{path}");
    let body = body.map(|b| {
        (
            "application/json; charset=utf-8",
            b.to_string().into_bytes(),
        )
    });
    let response = http.try_send(method, &url, &[], body).await?;
    let json: Value = serde_json::from_str(&response.body)
        .map_err(|e| format!("non-JSON answer ({e}): {}", response.body))?;
    if response.status != 200 {
        return Err(format!(
            "HTTP {}: {} {}",
            response.status, json["value"]["error"], json["value"]["message"]
        ));
    }
    Ok(json["value"].clone())
}

/// A tiny HTTP server on 127.0.0.1 that plays an app: it records every request target it
/// gets and answers a small HTML page.
pub struct CallbackServer {
    pub port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl CallbackServer {
    pub async fn start() -> CallbackServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind callback listener");
        let port = listener.local_addr().expect("local addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    let target = head
                        .lines()
                        .next()
                        .and_then(|line| line.split_whitespace().nth(1))
                        .unwrap_or("")
                        .to_string();
                    seen.lock().unwrap().push(target);
                    let body =
                        "<!doctype html><title>App</title><p id=\"done\">Back at the app.</p>";
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        CallbackServer {
            port,
            requests,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request target received so far (path + query).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits (bounded) for a request whose target starts with `path`, returning it as a URL.
    pub async fn wait_for(&self, path: &str) -> url::Url {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(target) = self.requests().into_iter().find(|t| t.starts_with(path)) {
                return url::Url::parse(&self.url(&target)).expect("callback URL");
            }
            if Instant::now() > deadline {
                panic!(
                    "the app never received a request to {path}; it got {:?}",
                    self.requests()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
