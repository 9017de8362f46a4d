//! The `sesame` command line, run as a user runs it: the real binary against a temporary data
//! directory, with the server stopped (the CLI opens the redb file) and running (the CLI goes
//! through the control socket and the running server sees the change at once). The `user` and
//! `group` walk-through is also signed in to for real (raw HTTP on the sign-in pages, the code
//! read from the log transport), to show that what the commands say happened did.
//!
//! Run: `cargo test --test cli`.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A temporary working directory (so no stray ./sesame.toml is read) with a data directory.
struct Env {
    dir: tempfile::TempDir,
    data: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        Env { dir, data }
    }

    /// A data directory deep enough that `<data>/sesame.sock` does not fit in a Unix socket
    /// address (108 bytes).
    fn deep() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir
            .path()
            .join("d".repeat(60))
            .join("e".repeat(60))
            .join("data");
        Env { dir, data }
    }

    fn data(&self) -> PathBuf {
        self.data.clone()
    }

    fn command(&self, args: &[&str], vars: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sesame"));
        cmd.args(args)
            .arg("--data-dir")
            .arg(self.data())
            .current_dir(self.dir.path());
        // Only the variables a test sets: the developer's own SESAME_* must not leak in.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SESAME_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(vars.iter().copied());
        cmd
    }

    fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let out = self.command(args, vars).output().expect("run sesame");
        Run::from(out)
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs a command that must succeed.
    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert!(
            r.code == 0,
            "`sesame {}` failed ({}):\n{}{}",
            args.join(" "),
            r.code,
            r.stdout,
            r.stderr
        );
        r
    }

    /// Runs a `--json` command that must succeed and returns its JSON.
    fn json(&self, args: &[&str]) -> Value {
        let r = self.ok(args);
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
            panic!(
                "`sesame {}` printed no JSON ({e}):\n{}",
                args.join(" "),
                r.stdout
            )
        })
    }

    /// Runs a command that must fail with exit code `code` and returns its stderr.
    fn fails(&self, args: &[&str], vars: &[(&str, &str)], code: i32) -> String {
        let r = self.run_with(args, vars);
        assert_eq!(
            r.code,
            code,
            "`sesame {}` should fail with {code}:\n{}{}",
            args.join(" "),
            r.stdout,
            r.stderr
        );
        r.stderr
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A running `sesame serve`, killed when dropped (SIGKILL: like a crash, leaving its socket file).
struct Server {
    child: Child,
    addr: String,
    log: mpsc::Receiver<String>,
    /// What it logged up to `listening on` (start-up: reconciling sesame.toml, keys).
    startup: Vec<String>,
}

impl Server {
    fn start(env: &Env) -> Server {
        let mut child = env
            .command(&["serve", "--listen", "127.0.0.1:0"], &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sesame serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Owned by the guard from here on, so a failed start is killed and reaped too.
        let mut server = Server {
            child,
            addr: String::new(),
            log: rx,
            startup: Vec::new(),
        };
        let mut seen = Vec::new();
        loop {
            // A bound on a hung start, not a timing assertion.
            let line = server
                .log
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| {
                    panic!(
                        "sesame serve did not log `listening on`:\n{}",
                        seen.join("\n")
                    )
                });
            if let Some(rest) = line.split("listening on http://").nth(1) {
                server.addr = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                server.startup = seen;
                return server;
            }
            seen.push(line);
        }
    }

    /// A GET over a fresh connection: (status, headers and body as text).
    fn get(&self, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connect to sesame");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, text)
    }

    fn log_so_far(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Reads the log until a line contains `needle`; returns everything read.
    fn wait_for_log(&self, needle: &str) -> String {
        let mut seen = Vec::new();
        // A bound on a hung server, not a timing assertion.
        while let Ok(line) = self.log.recv_timeout(Duration::from_secs(60)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen.join("\n");
            }
        }
        panic!("the server never logged {needle:?}:\n{}", seen.join("\n"));
    }

    /// `/healthz` as JSON.
    fn health(&self) -> Value {
        let (status, text) = self.get("/healthz");
        assert_eq!(status, 200, "{text}");
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("/healthz is not JSON ({e}): {text}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// create, list, show, update, rotate-secret and delete on the file, server stopped.
fn app_lifecycle(env: &Env) {
    let created = env.json(&[
        "app",
        "create",
        "--name",
        "Bookstore",
        "--redirect-uri",
        "http://localhost:3000/api/auth/callback/logto",
        "--post-logout-redirect-uri",
        "http://localhost:3000/",
        "--json",
    ]);
    let id = str_of(&created, "client_id").to_string();
    let secret = str_of(&created, "client_secret").to_string();
    assert_eq!(created["type"], "traditional");
    assert_eq!(
        created["redirect_uris"][0],
        "http://localhost:3000/api/auth/callback/logto"
    );

    let list = env.json(&["app", "list", "--json"]);
    let apps = list.as_array().expect("a JSON array");
    assert!(apps.iter().any(|a| a["client_id"] == id.as_str()));
    assert!(
        apps.iter().all(|a| a.get("client_secret").is_none()),
        "the secret is shown once only"
    );
    assert!(env.ok(&["app", "list"]).stdout.contains("Bookstore"));

    let shown = env.json(&["app", "show", &id, "--json"]);
    assert_eq!(shown["name"], "Bookstore");
    assert!(env.ok(&["app", "show", &id]).stdout.contains(&id));

    let updated = env.json(&[
        "app",
        "update",
        &id,
        "--name",
        "Bookshop",
        "--redirect-uri",
        "https://bookshop.example.com/cb",
        "--redirect-uri",
        "http://localhost:3000/api/auth/callback/logto",
        "--id-token-alg",
        "RS256",
        "--json",
    ]);
    assert_eq!(updated["name"], "Bookshop");
    assert_eq!(updated["redirect_uris"].as_array().unwrap().len(), 2);
    assert_eq!(updated["id_token_signed_response_alg"], "RS256");
    assert_eq!(
        updated["post_logout_redirect_uris"][0], "http://localhost:3000/",
        "untouched"
    );

    let rotated = env.json(&["app", "rotate-secret", &id, "--json"]);
    assert_eq!(rotated["client_id"], id.as_str());
    assert_ne!(str_of(&rotated, "client_secret"), secret);

    let human = env.ok(&["app", "rotate-secret", &id]);
    assert!(human.stdout.contains("shown only now"), "{}", human.stdout);

    env.json(&["app", "delete", &id, "--json"]);
    let e = env.fails(&["app", "show", &id], &[], 1);
    assert!(e.contains("no app with client ID"), "{e}");
}

#[test]
fn app_commands_work_with_the_server_stopped() {
    let env = Env::new();
    app_lifecycle(&env);
    assert!(env.data().join("sesame.redb").exists());
}

#[test]
fn create_prints_the_secret_once_with_a_warning() {
    let env = Env::new();
    let r = env.ok(&[
        "app",
        "create",
        "--name",
        "Bookstore",
        "--redirect-uri",
        "http://localhost:3000/cb",
    ]);
    assert!(
        r.stdout.contains("Client ID") && r.stdout.contains("Client secret"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("cannot be shown again"), "{}", r.stdout);

    let spa = env.json(&[
        "app",
        "create",
        "--name",
        "Dash",
        "--type",
        "spa",
        "--redirect-uri",
        "https://dash.example.com/cb",
        "--json",
    ]);
    assert!(spa.get("client_secret").is_none());
    let e = env.fails(&["app", "rotate-secret", str_of(&spa, "client_id")], &[], 1);
    assert!(e.contains("public client"), "{e}");

    // A machine app: a secret, no redirect URIs (and none accepted).
    let machine = env.json(&[
        "app",
        "create",
        "--name",
        "Backup job",
        "--type",
        "machine",
        "--json",
    ]);
    assert_eq!(machine["type"], "machine");
    assert!(machine["client_secret"].is_string(), "{machine}");
    let e = env.fails(
        &[
            "app",
            "create",
            "--name",
            "X",
            "--type",
            "machine",
            "--redirect-uri",
            "https://x.example.com/cb",
        ],
        &[],
        1,
    );
    assert!(e.contains("machine app"), "{e}");
}

#[test]
fn bad_input_errors_name_the_problem() {
    let env = Env::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "app",
                "create",
                "--name",
                "X",
                "--redirect-uri",
                "https://x.example.com/cb#frag",
            ],
            "fragment",
        ),
        (
            &[
                "app",
                "create",
                "--name",
                "X",
                "--redirect-uri",
                "http://x.example.com/cb",
            ],
            "use https",
        ),
        (
            &["app", "create", "--name", "X"],
            "at least one redirect URI",
        ),
        (
            &[
                "app",
                "create",
                "--name",
                " ",
                "--redirect-uri",
                "https://x.example.com/cb",
            ],
            "name",
        ),
        (
            &["app", "update", "nope", "--name", "Y"],
            "no app with client ID \"nope\"",
        ),
        (&["app", "update", "nope"], "nothing to change"),
    ];
    for (args, says) in cases {
        let e = env.fails(args, &[], 1);
        assert!(
            e.starts_with("error: ") && e.contains(says),
            "`{}`: {e}",
            args.join(" ")
        );
    }
    // clap refuses what it can see is wrong, with its usage exit code.
    let e = env.fails(
        &["app", "create", "--name", "X", "--type", "desktop"],
        &[],
        2,
    );
    assert!(e.contains("desktop"), "{e}");

    // Configuration errors name the key and where it came from.
    let e = env.fails(
        &["app", "list"],
        &[("SESAME_ISSUER", "http://auth.example.com")],
        1,
    );
    assert!(
        e.contains("issuer (environment variable SESAME_ISSUER)") && e.contains("https"),
        "{e}"
    );
    let e = env.fails(
        &["app", "list"],
        &[("SESAME_ISUER", "https://auth.example.com")],
        1,
    );
    assert!(e.contains("did you mean SESAME_ISSUER"), "{e}");
    let e = env.fails(&["app", "list", "--config", "missing.toml"], &[], 1);
    assert!(e.contains("missing.toml"), "{e}");
    std::fs::write(
        env.dir.path().join("bad.toml"),
        "[mail]\ntransport = \"pigeon\"\n",
    )
    .unwrap();
    let e = env.fails(&["app", "list", "--config", "bad.toml"], &[], 1);
    assert!(
        e.contains("mail.transport (bad.toml line 2)") && e.contains("log, smtp, ses"),
        "{e}"
    );
    // A secret of the wrong type is named by its key and type only.
    std::fs::write(
        env.dir.path().join("secret.toml"),
        "[mail.smtp]\npassword = 12345678\n",
    )
    .unwrap();
    let e = env.fails(&["app", "list", "--config", "secret.toml"], &[], 1);
    assert!(
        e.contains("mail.smtp.password (secret.toml line 2)") && e.contains("expected a string"),
        "{e}"
    );
    assert!(!e.contains("12345678"), "{e}");
}

#[test]
fn allow_insecure_redirect_is_asked_for_set_shown_and_turned_off() {
    let env = Env::new();
    let lan = "http://192.168.1.10:8096/sso/OID/redirect/sesame";
    let create = ["app", "create", "--name", "Jellyfin", "--redirect-uri", lan];
    let e = env.fails(&create, &[], 1);
    assert!(
        e.starts_with("error: ")
            && e.contains("a host on the LAN")
            && e.contains("--allow-insecure-redirect"),
        "{e}"
    );
    // The flag never takes the next argument as its value: only `=false` turns it off.
    let e = env.fails(
        &[&create[..], &["--allow-insecure-redirect=yes"]].concat(),
        &[],
        2,
    );
    assert!(e.contains("yes"), "{e}");

    let r = env.ok(&[&create[..], &["--allow-insecure-redirect", "--json"]].concat());
    let app: Value = serde_json::from_str(&r.stdout).unwrap();
    let id = str_of(&app, "client_id").to_string();
    assert_eq!(app["allow_insecure_redirect"], true);
    assert!(
        r.stderr.contains(&format!(
            "warning: app {id} accepts insecure http redirect URIs on the LAN: codes travel unencrypted ({lan})"
        )),
        "{}",
        r.stderr
    );
    let shown = env.ok(&["app", "show", &id]).stdout;
    assert!(
        shown.contains("http on the LAN           allowed"),
        "{shown}"
    );

    let e = env.fails(
        &["app", "update", &id, "--allow-insecure-redirect=false"],
        &[],
        1,
    );
    assert!(
        e.contains("cannot turn allow_insecure_redirect off") && e.contains(lan),
        "{e}"
    );
    let https = "https://jellyfin.example.com/sso/OID/redirect/sesame";
    let updated = env.json(&[
        "app",
        "update",
        &id,
        "--allow-insecure-redirect=false",
        "--redirect-uri",
        https,
        "--json",
    ]);
    assert_eq!(updated["allow_insecure_redirect"], false);
    let shown = env.ok(&["app", "show", &id]).stdout;
    assert!(!shown.contains("http on the LAN"), "{shown}");
    // And on again, with the LAN URI back.
    let updated = env.json(&[
        "app",
        "update",
        &id,
        "--allow-insecure-redirect",
        "--redirect-uri",
        lan,
        "--json",
    ]);
    assert_eq!(updated["allow_insecure_redirect"], true);
}

#[test]
fn the_refresh_retry_window_is_set_shown_and_changed() {
    let env = Env::new();
    let uri = "https://books.example.com/cb";
    let create = ["app", "create", "--name", "Books", "--redirect-uri", uri];
    let e = env.fails(
        &[&create[..], &["--refresh-retry-window", "soon"]].concat(),
        &[],
        2,
    );
    assert!(e.contains("soon") && e.contains("30s"), "{e}");
    let app = env.json(&[&create[..], &["--refresh-retry-window", "2m", "--json"]].concat());
    assert_eq!(app["refresh_retry_window"], 120);
    let id = str_of(&app, "client_id").to_string();
    let shown = env.ok(&["app", "show", &id]).stdout;
    assert!(shown.contains("Refresh retry window      120s"), "{shown}");
    let updated = env.json(&[
        "app",
        "update",
        &id,
        "--refresh-retry-window",
        "0",
        "--json",
    ]);
    assert_eq!(updated["refresh_retry_window"], 0);
    let shown = env.ok(&["app", "show", &id]).stdout;
    assert!(shown.contains("Refresh retry window      off"), "{shown}");
}

#[test]
fn a_declared_app_with_insecure_redirects_is_warned_about_at_start() {
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("sesame.toml"),
        r#"
[[app]]
client_id = "jellyfin"
name = "Jellyfin"
client_secret = "a-long-enough-test-secret"
redirect_uris = ["http://jellyfin.lan:8096/sso/OID/redirect/sesame"]
allow_insecure_redirect = true
"#,
    )
    .unwrap();
    let server = Server::start(&env);
    let warning =
        "app jellyfin accepts insecure http redirect URIs on the LAN: codes travel unencrypted";
    assert!(
        server
            .startup
            .iter()
            .any(|l| l.contains("WARN") && l.contains(warning)),
        "{}",
        server.startup.join("\n")
    );
    let shown = env.json(&["app", "show", "jellyfin", "--json"]);
    assert_eq!(shown["allow_insecure_redirect"], true);
}

#[test]
fn app_create_help_lists_the_app_types() {
    let env = Env::new();
    let help = env.ok(&["app", "create", "--help"]).stdout;
    for word in ["--type <TYPE>", "traditional", "spa", "native", "PKCE"] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
}

#[test]
fn configuration_warnings_are_printed_by_cli_commands() {
    let env = Env::new();
    let r = env.run_with(
        &["keys", "rotate"],
        &[
            ("SESAME_ISSUER", "http://localhost:8080"),
            ("SESAME_LISTEN", "127.0.0.1:9000"),
            ("SESAME_MAIL_SMTP_HOST", "smtp.example.com"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("warning: issuer http://localhost:8080")
            && r.stderr.contains("listens on port 9000"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("warning: mail.smtp.host is set but mail.transport is \"log\""),
        "{}",
        r.stderr
    );
}

#[test]
fn read_only_commands_never_create_the_data_dir() {
    let env = Env::new();
    let missing = format!(
        "no sesame data in {} (sesame.redb is missing): check --data-dir or SESAME_DATA_DIR",
        env.data().display()
    );
    let commands: &[&[&str]] = &[
        &["app", "list"],
        &["app", "show", "some-id"],
        &["app", "update", "some-id", "--name", "X"],
        &["app", "delete", "some-id"],
        &["app", "rotate-secret", "some-id"],
        &["connector", "show", "ses"],
        &["connector", "delete", "ses"],
        &["mail", "test", "--to", "someone@example.com"],
    ];
    for args in commands {
        let e = env.fails(args, &[], 1);
        assert!(e.contains(&missing), "`{}`: {e}", args.join(" "));
        assert!(!env.data().exists(), "`{}` created it", args.join(" "));
    }

    // An existing directory without a database gets no empty one either.
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .mode(0o750)
            .create(env.data())
            .unwrap();
        std::fs::set_permissions(env.data(), std::fs::Permissions::from_mode(0o750)).unwrap();
        let e = env.fails(&["app", "list"], &[], 1);
        assert!(e.contains(&missing), "{e}");
        assert!(!env.data().join("sesame.redb").exists());

        // A command that stores something starts the database, and leaves the existing
        // directory's permissions as their owner set them.
        env.ok(&[
            "app",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "https://x.example.com/cb",
        ]);
        assert!(env.data().join("sesame.redb").exists());
        let mode = std::fs::metadata(env.data()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o750);

        // A data directory the CLI creates is owner-only.
        let fresh = Env::new();
        fresh.ok(&["keys", "rotate"]);
        let mode = std::fs::metadata(fresh.data())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[test]
fn a_reader_that_stops_early_does_not_make_the_cli_panic() {
    let env = Env::new();
    // An app whose `app show` prints far more than a pipe holds (64 KiB), so the CLI is still
    // writing when the reader goes away.
    let uris: Vec<String> = (0..200)
        .map(|i| format!("https://app.example.com/{i}/{}", "x".repeat(1000)))
        .collect();
    let mut args = vec!["app", "create", "--name", "Long", "--json"];
    for uri in &uris {
        args.push("--redirect-uri");
        args.push(uri);
    }
    let created = env.json(&args);
    let id = str_of(&created, "client_id").to_string();

    for show in [vec!["app", "show", &id], vec!["app", "show", &id, "--json"]] {
        let mut child = env
            .command(&show, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sesame");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut first)
            .unwrap();
        // The reader (and the pipe's read end) are gone here, like `| head -1`.
        assert!(!first.is_empty());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "`sesame {}`: {stderr}",
            show.join(" ")
        );
        assert_eq!(out.status.code(), Some(0), "{stderr}");
    }
}

#[test]
fn a_deep_data_dir_works_with_the_server_stopped_and_running() {
    let env = Env::deep();
    assert!(env.data().as_os_str().len() > 110);
    let create = |name: &str| {
        env.json(&[
            "app",
            "create",
            "--name",
            name,
            "--redirect-uri",
            "http://localhost:3000/cb",
            "--json",
        ])
    };
    let ids = |list: Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|a| str_of(a, "client_id").to_string())
            .collect()
    };
    let stopped = create("Stopped");
    let listed = ids(env.json(&["app", "list", "--json"]));
    assert_eq!(listed, vec![str_of(&stopped, "client_id").to_string()]);

    if cfg!(target_os = "linux") {
        let server = Server::start(&env);
        let running = create("Running");
        // It went through the control socket (the server holds the database file).
        let log = server.wait_for_log("control socket: app.create done");
        assert!(!log.contains("control socket unavailable"), "{log}");
        assert!(env.data().join("sesame.sock").exists());
        let listed = ids(env.json(&["app", "list", "--json"]));
        assert!(
            listed.contains(&str_of(&running, "client_id").to_string()) && listed.len() == 2,
            "{listed:?}"
        );
    }
}

const SES_JSON: &str = r#"{
  "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
  "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "region": "eu-west-1",
  "emailAddress": "Bookstore <noreply@example.com>",
  "templates": [{"usageType": "SignIn", "subject": "Your code", "content": "<p>{{code}}</p>"}]
}"#;

/// The entries of `sesame audit --json` with extra arguments, and the page's `next`.
fn audit(env: &Env, args: &[&str]) -> (Vec<Value>, Option<String>) {
    let page = env.json(&[&["audit", "--json"], args].concat());
    let entries = page["entries"].as_array().expect("entries").clone();
    (entries, page["next"].as_str().map(str::to_string))
}

fn create_app(env: &Env, name: &str) -> (String, String) {
    let created = env.json(&[
        "app",
        "create",
        "--name",
        name,
        "--redirect-uri",
        "http://localhost:3000/cb",
        "--json",
    ]);
    let id = str_of(&created, "client_id").to_string();
    (id, str_of(&created, "client_secret").to_string())
}

#[test]
fn the_audit_log_shows_changes_with_secrets_masked_server_stopped_and_running() {
    let env = Env::new();
    // Nothing yet, and nothing created by asking.
    let e = env.fails(&["audit"], &[], 1);
    assert!(e.contains("no sesame data"), "{e}");

    let (stopped, stopped_secret) = create_app(&env, "Stopped");
    let (entries, next) = audit(&env, &[]);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(next, None);
    let created = &entries[0];
    assert_eq!(created["kind"], "admin_change");
    assert_eq!(created["command"], "app.create");
    assert_eq!(created["actor"]["type"], "cli");
    assert_eq!(created["client_id"], stopped.as_str());
    assert_eq!(created["changes"]["name"], "Stopped");
    assert_eq!(created["changes"]["client_secret"], "********");

    let server = Server::start(&env);
    let (running, running_secret) = create_app(&env, "Running");
    // Every change is a line in the server's log too (target `audit`), secrets masked.
    let mut log = server.wait_for_log("control socket: app.create done");
    assert!(log.contains("INFO audit: app.create"), "{log}");
    let file = env.dir.path().join("ses.json");
    std::fs::write(&file, SES_JSON).unwrap();
    env.ok(&["connector", "set", "ses", "--file", file.to_str().unwrap()]);
    log += &server.wait_for_log("audit: connector.set");

    // Through the control socket: newest first.
    let (entries, _) = audit(&env, &[]);
    let commands: Vec<&str> = entries.iter().map(|e| str_of(e, "command")).collect();
    assert_eq!(commands, ["connector.set", "app.create", "app.create"]);
    assert_eq!(entries[1]["client_id"], running.as_str());
    assert_eq!(
        entries[0]["changes"]["config"]["accessKeySecret"],
        "********"
    );
    // --app filters; --kind takes a command's name.
    let (for_app, _) = audit(&env, &["--app", &stopped]);
    assert_eq!(for_app.len(), 1);
    assert_eq!(for_app[0]["client_id"], stopped.as_str());
    let (sets, _) = audit(&env, &["--kind", "connector.set", "--since", "1h"]);
    assert_eq!(sets.len(), 1);
    // Pages follow each other through `next`.
    let (first, next) = audit(&env, &["--limit", "2"]);
    let next = next.expect("a third entry follows");
    let (rest, none) = audit(&env, &["--limit", "2", "--before", &next]);
    assert_eq!((first.len(), rest.len(), none), (2, 1, None));
    assert_eq!(rest[0]["client_id"], stopped.as_str());

    // People get one line per entry with a UTC time.
    let human = env.ok(&["audit"]).stdout;
    assert_eq!(human.lines().count(), 3, "{human}");
    assert!(
        human
            .lines()
            .all(|l| l.starts_with("20") && l.contains("Z  admin_change")),
        "{human}"
    );
    log += &server.log_so_far().join("\n");
    drop(server);

    // The server stopped, the file tells the same.
    let (entries, _) = audit(&env, &[]);
    assert_eq!(entries.len(), 3);
    let everything = format!("{human}{log}{}", serde_json::to_string(&entries).unwrap());
    for secret in [
        stopped_secret.as_str(),
        running_secret.as_str(),
        "wJalrXUtnFEMI",
    ] {
        assert!(
            !everything.contains(secret),
            "a secret leaked:\n{everything}"
        );
    }
}

#[test]
fn connector_set_and_show_never_print_the_secret() {
    let env = Env::new();
    let file = env.dir.path().join("ses.json");
    std::fs::write(&file, SES_JSON).unwrap();
    let set = env.ok(&["connector", "set", "ses", "--file", file.to_str().unwrap()]);
    assert!(
        set.stdout.contains("AKIAIOSFODNN7EXAMPLE") && set.stdout.contains("********"),
        "{}",
        set.stdout
    );
    assert!(!set.stdout.contains("wJalrXUtnFEMI") && !set.stderr.contains("wJalrXUtnFEMI"));

    let shown = env.json(&["connector", "show", "ses", "--json"]);
    assert_eq!(shown["config"]["accessKeySecret"], "********");
    assert_eq!(shown["config"]["region"], "eu-west-1");

    std::fs::write(
        &file,
        r#"{"accessKeyId": "AKIA", "accessKeySecret": "x", "region": "nowhere"}"#,
    )
    .unwrap();
    let e = env.fails(
        &["connector", "set", "ses", "--file", file.to_str().unwrap()],
        &[],
        1,
    );
    assert!(e.contains("region"), "{e}");
    std::fs::write(&file, "{not json").unwrap();
    let e = env.fails(
        &["connector", "set", "ses", "--file", file.to_str().unwrap()],
        &[],
        1,
    );
    assert!(e.contains("ses.json is not JSON"), "{e}");
    for not_an_object in ["[]", "42", "\"ses\""] {
        std::fs::write(&file, not_an_object).unwrap();
        let e = env.fails(
            &["connector", "set", "ses", "--file", file.to_str().unwrap()],
            &[],
            1,
        );
        assert!(
            e.contains(
                "the connector's settings must be a JSON object: for ses, Logto's AWS SES \
                 connector (accessKeyId, accessKeySecret or smtpPassword, region"
            ),
            "{not_an_object}: {e}"
        );
    }

    // Delete, with the server stopped: on the file.
    let deleted = env.ok(&["connector", "delete", "ses"]);
    assert!(
        deleted.stdout.contains("Deleted the stored ses connector"),
        "{}",
        deleted.stdout
    );
    let shown = env.json(&["connector", "show", "ses", "--json"]);
    assert_eq!(shown["stored"], false);
    let again = env.ok(&["connector", "delete", "ses"]);
    assert!(
        again.stdout.contains("nothing to delete"),
        "{}",
        again.stdout
    );
}

#[test]
fn keys_rotate_on_the_file() {
    let env = Env::new();
    let r = env.json(&["keys", "rotate", "--alg", "ES256", "--json"]);
    assert_eq!(r["alg"], "ES256");
    assert!(r["kid"].as_str().is_some_and(|k| !k.is_empty()));
}

#[test]
fn mail_test_with_the_log_transport_reports_it() {
    let env = Env::new();
    // It reads the stored connector: a data directory that is not there is a mistake.
    let e = env.fails(
        &["mail", "test", "--to", "someone@example.com", "--dry-run"],
        &[],
        1,
    );
    assert!(e.contains("no sesame data in"), "{e}");
    env.ok(&["keys", "rotate"]);
    let r = env.ok(&["mail", "test", "--to", "someone@example.com", "--dry-run"]);
    assert!(r.stdout.contains("log"), "{}", r.stdout);
    let e = env.fails(
        &[
            "mail",
            "test",
            "--to",
            "x@example.com",
            "--template",
            "Login",
        ],
        &[],
        1,
    );
    assert!(e.contains("Login"), "{e}");
}

#[test]
fn with_the_server_running_commands_go_through_the_socket() {
    let env = Env::new();
    let secret_file = env.dir.path().join("declared-secret");
    std::fs::write(&secret_file, "declared-secret-value\n").unwrap();
    let config = env.dir.path().join("sesame.toml");
    std::fs::write(
        &config,
        format!(
            "[[app]]\nclient_id = \"declared\"\nname = \"Declared\"\nclient_secret_file = {:?}\n\
             redirect_uris = [\"http://localhost:4000/cb\"]\n",
            secret_file.to_str().unwrap()
        ),
    )
    .unwrap();
    let server = Server::start(&env);
    // Everything works while the server holds the database: no lock error.
    app_lifecycle(&env);
    // It went through the control socket, which only its owner may use.
    let socket = env.data().join("sesame.sock");
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let meta = std::fs::metadata(&socket).expect("the control socket exists");
        assert!(meta.file_type().is_socket());
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "only the owner may connect"
        );
    }

    // The declared app was reconciled at start and cannot be changed from the CLI.
    let declared = env.json(&["app", "show", "declared", "--json"]);
    assert_eq!(declared["declared"], true);
    let e = env.fails(&["app", "update", "declared", "--name", "Other"], &[], 1);
    assert!(e.contains("sesame.toml"), "{e}");

    // An app created through the socket is known to the running server at once.
    let (status, discovery) = server.get("/.well-known/openid-configuration");
    assert_eq!(status, 200, "{discovery}");
    assert!(discovery.contains("\"authorization_endpoint\""));
    let app = env.json(&[
        "app",
        "create",
        "--name",
        "Live",
        "--redirect-uri",
        "http://localhost:3000/cb",
        "--json",
    ]);
    let auth = |client_id: &str| {
        format!(
            "/auth?client_id={client_id}&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb&response_type=code\
             &scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        )
    };
    let (unknown_status, unknown_page) = server.get(&auth("no-such-client"));
    assert_eq!(
        unknown_status, 400,
        "the unknown-client page:\n{unknown_page}"
    );
    let (status, page) = server.get(&auth(str_of(&app, "client_id")));
    assert_eq!(status, 303, "a known client goes on to sign-in:\n{page}");
    assert!(
        page.to_ascii_lowercase()
            .contains("location: /sign-in?interaction="),
        "{page}"
    );

    // `mail test` uses the running server's mailer (here the log transport).
    let tested = env.ok(&["mail", "test", "--to", "someone@example.com"]);
    assert!(
        tested.stdout.contains("printed to the server's log"),
        "{}",
        tested.stdout
    );

    // A connector set through the socket is used at once: /healthz reports the SES transport.
    let file = env.dir.path().join("ses.json");
    std::fs::write(&file, SES_JSON).unwrap();
    let set = env.ok(&["connector", "set", "ses", "--file", file.to_str().unwrap()]);
    assert!(
        set.stdout.contains("running server uses it"),
        "{}",
        set.stdout
    );
    assert_eq!(server.health()["mail"]["transport"], "ses");

    // Deleting it goes back to the configuration's mailer (here the log transport), at once.
    let deleted = env.ok(&["connector", "delete", "ses"]);
    assert!(
        deleted.stdout.contains("Deleted the stored ses connector")
            && deleted.stdout.contains("transport: log"),
        "{}",
        deleted.stdout
    );
    assert_eq!(server.health()["mail"]["transport"], "log");
    let shown = env.json(&["connector", "show", "ses", "--json"]);
    assert_eq!(shown["stored"], false);

    // A rotated key is published without a restart.
    let rotated = env.json(&["keys", "rotate", "--json"]);
    let (_, jwks) = server.get("/jwks");
    assert!(jwks.contains(str_of(&rotated, "kid")), "{jwks}");

    let log = server.log_so_far().join("\n");
    assert!(
        !log.contains("wJalrXUtnFEMI"),
        "the SES secret is never logged"
    );

    // The server dies without cleaning up (SIGKILL): its stale socket does not stop the CLI.
    drop(server);
    assert!(socket.exists(), "a crash leaves the socket file behind");
    let list = env.json(&["app", "list", "--json"]);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["client_id"] == app["client_id"]));

    // And a server started again replaces the stale socket and answers on it.
    let again = Server::start(&env);
    let shown = env.json(&["app", "show", str_of(&app, "client_id"), "--json"]);
    assert_eq!(shown["name"], "Live");
    drop(again);
}

#[test]
fn a_second_server_on_the_same_data_dir_fails_clearly() {
    let env = Env::new();
    let _first = Server::start(&env);
    let e = env.fails(&["serve", "--listen", "127.0.0.1:0"], &[], 1);
    assert!(e.contains("in use by another sesame process"), "{e}");
    assert!(!e.contains("DatabaseAlreadyOpen"), "{e}");
}

/// Declares a user and a group in `./sesame.toml` (read by the server at start, which
/// reconciles them, and by every CLI command).
fn declare_a_user_and_a_group(env: &Env) {
    std::fs::write(
        env.dir.path().join("sesame.toml"),
        "[[group]]\nname = \"friends\"\n\n[[user]]\nemail = \"declared@example.com\"\n\
         groups = [\"friends\"]\n",
    )
    .unwrap();
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(|u| str_of(u, "id").to_string())
        .collect()
}

/// What a homelab administrator does: themselves as admin, a family group, a kid in it, Grafana
/// open to the family only; then listing, updating, disabling, signing out, deleting.
fn directory_walk_through(env: &Env) {
    let added = env.ok(&["user", "add", "me@example.com", "--admin"]).stdout;
    assert!(
        added.starts_with("Added me@example.com (sub ") && added.contains(") to admins."),
        "{added}"
    );
    let me = env.json(&["user", "show", "me@example.com", "--json"]);
    let me_sub = str_of(&me, "id").to_string();
    assert_eq!(me["groups"], serde_json::json!(["admins"]));
    assert_eq!(me["email_verified"], true);

    let family = env.ok(&["group", "add", "family", "--description", "Family members"]);
    assert!(
        family.stdout.contains("Added the group family."),
        "{}",
        family.stdout
    );
    let kid = env.json(&[
        "user",
        "add",
        "kid@example.com",
        "--group",
        "family",
        "--username",
        "kid",
        "--json",
    ]);
    let kid_sub = str_of(&kid, "id").to_string();
    assert_eq!(kid["groups"], serde_json::json!(["family"]));

    let grafana = env.json(&[
        "app",
        "create",
        "--name",
        "Grafana",
        "--redirect-uri",
        "https://grafana.example/login/generic_oauth",
        "--allowed-group",
        "family",
        "--json",
    ]);
    let grafana_id = str_of(&grafana, "client_id").to_string();
    let shown = env.ok(&["app", "show", &grafana_id]).stdout;
    assert!(
        shown.contains("Allowed groups            family (only their members may use it)"),
        "{shown}"
    );

    // The other way into a group.
    let gran = env.json(&["user", "add", "gran@example.com", "--json"]);
    let gran_sub = str_of(&gran, "id").to_string();
    let joined = env.ok(&["group", "add-member", "family", "gran@example.com"]);
    assert_eq!(
        joined.stdout.trim(),
        format!("Added gran@example.com (sub {gran_sub}) to family.")
    );
    let members = env.ok(&["group", "show", "family"]).stdout;
    assert!(
        members.contains("Family members")
            && members.contains("Members (2)")
            && members.contains(&format!("kid@example.com (sub {kid_sub})"))
            && members.contains(&format!("gran@example.com (sub {gran_sub})"))
            && !members.contains("me@example.com"),
        "{members}"
    );
    let shown = env.json(&["group", "show", "family", "--json"]);
    assert_eq!(
        shown["members"].as_array().map(Vec::len),
        Some(2),
        "{shown}"
    );

    // Listing: everyone, one group, and by pages.
    let all = ids(&env.json(&["user", "list", "--json"]));
    for sub in [&me_sub, &kid_sub, &gran_sub] {
        assert!(all.contains(sub), "{sub} not in {all:?}");
    }
    assert!(all.len() >= 3, "{all:?}");
    let mut in_family = ids(&env.json(&["user", "list", "--group", "family", "--json"]));
    in_family.sort();
    let mut expected = vec![kid_sub.clone(), gran_sub.clone()];
    expected.sort();
    assert_eq!(in_family, expected);
    let table = env.ok(&["user", "list"]).stdout;
    let header = table.lines().next().unwrap_or_default();
    for column in [
        "ID",
        "EMAIL",
        "USERNAME",
        "GROUPS",
        "DISABLED",
        "LAST SIGN-IN",
    ] {
        assert!(header.contains(column), "{column} missing from:\n{table}");
    }
    assert!(
        table.lines().any(|l| l.contains("kid@example.com")
            && l.contains(" kid ")
            && l.contains("family")
            && l.ends_with("never")),
        "{table}"
    );
    assert!(!table.contains("Next page"), "{table}");

    // `--limit 2` says how to get the next page; following the cursor visits everyone once.
    let first = env.ok(&["user", "list", "--limit", "2"]).stdout;
    let hint = first
        .lines()
        .find(|l| l.contains("Next page: sesame user list --after "))
        .unwrap_or_else(|| panic!("no next-page hint in:\n{first}"));
    assert!(hint.ends_with("--limit 2"), "{hint}");
    let hinted = hint
        .split("--after ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec!["user", "list", "--limit", "2", "--json"];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let page = env.json(&args);
        let items = ids(&page);
        assert!(items.len() <= 2, "{page}");
        paged.extend(items);
        if after.is_none() {
            assert_eq!(page["next"], hinted.as_str(), "the hint's cursor");
        }
        match page.get("next").and_then(Value::as_str) {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, all, "page by page, in order, each user once");

    // Update: email and username change, lookups follow; taken ones are refused.
    let updated = env.json(&[
        "user",
        "update",
        "kid",
        "--email",
        "kid2@example.com",
        "--username",
        "kiddo",
        "--name",
        "Kid",
        "--json",
    ]);
    assert_eq!(updated["id"], kid_sub.as_str(), "the sub stays");
    assert_eq!(updated["email"], "kid2@example.com");
    assert_eq!(updated["username"], "kiddo");
    assert_eq!(updated["email_verified"], false);
    assert_eq!(
        env.json(&["user", "show", "kid2@example.com", "--json"])["id"],
        kid_sub.as_str()
    );
    assert_eq!(
        env.json(&["user", "show", &kid_sub, "--json"])["username"],
        "kiddo"
    );
    let e = env.fails(&["user", "show", "kid@example.com"], &[], 1);
    assert!(e.contains("no user \"kid@example.com\""), "{e}");
    let e = env.fails(
        &["user", "update", "kiddo", "--email", "ME@example.com"],
        &[],
        1,
    );
    assert!(
        e.contains("a user with the email ME@example.com already exists"),
        "{e}"
    );
    let e = env.fails(
        &["user", "update", "gran@example.com", "--username", "KiddO"],
        &[],
        1,
    );
    assert!(e.contains("the username \"KiddO\" is already taken"), "{e}");
    let e = env.fails(&["user", "update", "kiddo"], &[], 1);
    assert!(e.contains("nothing to change"), "{e}");
    let human = env.ok(&[
        "user",
        "update",
        "kiddo",
        "--picture",
        "https://example.com/k.png",
    ]);
    assert!(
        human
            .stdout
            .starts_with(&format!("Updated kid2@example.com (sub {kid_sub}).")),
        "{}",
        human.stdout
    );

    // Claims: JSON when the value parses, a string otherwise; --no-claims clears them.
    let claimed = env.json(&[
        "user",
        "update",
        "kiddo",
        "--claim",
        "is_admin=false",
        "--claim",
        "quota=10",
        "--claim",
        r#"roles=["a","b"]"#,
        "--claim",
        "team=blue",
        "--json",
    ]);
    assert_eq!(
        claimed["claims"],
        serde_json::json!({ "is_admin": false, "quota": 10, "roles": ["a", "b"], "team": "blue" })
    );
    let cleared = env.json(&["user", "update", "kiddo", "--no-claims", "--json"]);
    assert!(cleared.get("claims").is_none(), "{cleared}");
    let group = env.json(&[
        "group",
        "update",
        "family",
        "--claim",
        "quota=100",
        "--json",
    ]);
    assert_eq!(group["claims"], serde_json::json!({ "quota": 100 }));
    assert_eq!(group["description"], "Family members", "untouched");

    // Out of a group, and --group replacing the list.
    let left = env
        .ok(&["group", "remove-member", "family", &gran_sub])
        .stdout;
    assert_eq!(
        left.trim(),
        format!("Removed gran@example.com (sub {gran_sub}) from family.")
    );
    let regrouped = env.json(&[
        "user",
        "update",
        "gran@example.com",
        "--group",
        "family",
        "--json",
    ]);
    assert_eq!(regrouped["groups"], serde_json::json!(["family"]));
    let ungrouped = env.json(&[
        "user",
        "update",
        "gran@example.com",
        "--no-groups",
        "--json",
    ]);
    assert_eq!(ungrouped["groups"], serde_json::json!([]));

    // Disable and enable.
    let disabled = env.ok(&["user", "disable", "kiddo"]).stdout;
    assert!(
        disabled.contains(&format!("Disabled kid2@example.com (sub {kid_sub})"))
            && disabled.contains("sessions and refresh tokens have ended"),
        "{disabled}"
    );
    assert_eq!(
        env.json(&["user", "show", "kiddo", "--json"])["disabled"],
        true
    );
    let table = env.ok(&["user", "list"]).stdout;
    assert!(
        table
            .lines()
            .any(|l| l.contains("kid2@example.com") && l.contains(" yes ")),
        "{table}"
    );
    let enabled = env.ok(&["user", "enable", "kiddo"]).stdout;
    assert!(enabled.contains("can sign in again"), "{enabled}");
    assert_eq!(
        env.json(&["user", "show", "kiddo", "--json"])["disabled"],
        false
    );

    // Sign-out (no sessions here: `the_homelab_walk_through_...` signs in for real).
    let out = env.ok(&["user", "sign-out", "kiddo"]).stdout;
    assert!(
        out.contains(&format!(
            "Signed out kid2@example.com (sub {kid_sub}): ended 0 sessions"
        )),
        "{out}"
    );
    let out = env.json(&["user", "sign-out", "kiddo", "--json"]);
    assert_eq!(out["sessions_ended"], 0);

    // Delete and add again: the address is free, the sub is new.
    let deleted = env.ok(&["user", "delete", "gran@example.com"]).stdout;
    assert!(
        deleted.contains(&format!("Deleted gran@example.com (sub {gran_sub})")),
        "{deleted}"
    );
    let e = env.fails(&["user", "show", &gran_sub], &[], 1);
    assert!(e.contains("no user"), "{e}");
    let again = env.json(&["user", "add", "gran@example.com", "--json"]);
    assert_ne!(str_of(&again, "id"), gran_sub, "a sub is never reused");

    // Deleting a group takes it off its members; apps restricted to it are pointed out.
    let deleted = env.ok(&["group", "delete", "family"]).stdout;
    assert!(
        deleted.contains("Deleted the group family; its members left it.")
            && deleted.contains(&format!(
                "note: \"Grafana\" ({grafana_id}) still allows only family"
            )),
        "{deleted}"
    );
    assert_eq!(
        env.json(&["user", "show", "kiddo", "--json"])["groups"],
        serde_json::json!([])
    );
    let e = env.fails(&["group", "show", "family"], &[], 1);
    assert!(e.contains("no group \"family\""), "{e}");
    let groups = env.json(&["group", "list", "--json"]);
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["name"] != "family"),
        "{groups}"
    );
}

/// Every refusal names its problem and exits with 1 (2 for what clap refuses).
fn directory_errors(env: &Env) {
    env.ok(&["user", "add", "ada@example.com", "--username", "ada"]);
    env.ok(&["group", "add", "team"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["user", "add", "ADA@example.com"],
            "a user with the email ADA@example.com already exists",
        ),
        (
            &["user", "add", "bob@example.com", "--username", "Ada"],
            "the username \"Ada\" is already taken",
        ),
        (
            &["user", "add", "bob@example.com", "--group", "nope"],
            "no group \"nope\" (create it with `sesame group add nope`)",
        ),
        (&["user", "list", "--group", "nope"], "no group \"nope\""),
        (&["group", "add-member", "nope", "ada"], "no group \"nope\""),
        (
            &["user", "add", "\"ada\"@example.com"],
            "Addresses with quotes are not accepted",
        ),
        (
            &["user", "add", "a\u{200B}da@example.com"],
            "invisible or control characters",
        ),
        (
            &["user", "add", "not an address"],
            "is not a valid email address",
        ),
        (
            &["user", "show", "nobody@example.com"],
            "no user \"nobody@example.com\" (give a user ID, an email address or a username",
        ),
        (&["user", "disable", "nobody"], "no user \"nobody\""),
        (&["user", "enable", "nobody"], "no user \"nobody\""),
        (&["user", "delete", "nobody"], "no user \"nobody\""),
        (&["user", "sign-out", "nobody"], "no user \"nobody\""),
        (
            &["group", "add-member", "team", "nobody"],
            "no user \"nobody\"",
        ),
        (
            &["user", "update", "ada", "--claim", "email=x@example.com"],
            "the custom claim \"email\" is a registered claim",
        ),
        (
            &["group", "add", "staff", "--claim", "groups=[]"],
            "the custom claim \"groups\" is a registered claim",
        ),
        (
            &[
                "user",
                "add",
                "bob@example.com",
                "--claim",
                "a=1",
                "--claim",
                "a=2",
            ],
            "--claim a=... is given twice",
        ),
        (
            &["group", "delete", "admins"],
            "the \"admins\" group is built in and cannot be deleted",
        ),
        (
            &["group", "add", "team"],
            "a group named \"team\" already exists",
        ),
        (
            &["group", "add", "two words"],
            "the group name \"two words\" is not valid",
        ),
        (&["group", "update", "team"], "nothing to change"),
        (
            &["user", "update", "declared@example.com", "--name", "X"],
            "the user declared@example.com is declared in sesame.toml: change it there",
        ),
        (
            &["user", "delete", "declared@example.com"],
            "is declared in sesame.toml",
        ),
        (
            &["group", "add-member", "team", "declared@example.com"],
            "is declared in sesame.toml",
        ),
        (
            &["group", "update", "friends", "--description", "X"],
            "the group \"friends\" is declared in sesame.toml: change it there",
        ),
        (
            &["group", "delete", "friends"],
            "is declared in sesame.toml",
        ),
    ];
    for (args, says) in cases {
        let e = env.fails(args, &[], 1);
        assert!(
            e.starts_with("error: ") && e.contains(says),
            "`sesame {}`: {e}",
            args.join(" ")
        );
    }
    // Nothing above was half-done: bob was never added, ada kept her groups.
    let e = env.fails(&["user", "show", "bob@example.com"], &[], 1);
    assert!(e.contains("no user"), "{e}");
    assert_eq!(
        env.json(&["user", "show", "ada", "--json"])["groups"],
        serde_json::json!([])
    );
    // clap refuses a malformed --claim and a --limit out of range, with its usage code.
    let e = env.fails(
        &["user", "add", "bob@example.com", "--claim", "quota"],
        &[],
        2,
    );
    assert!(e.contains("expected KEY=VALUE"), "{e}");
    let e = env.fails(&["user", "list", "--limit", "0"], &[], 2);
    assert!(e.contains("1..=500"), "{e}");
    // The declared ones are listed as such.
    let table = env.ok(&["user", "list"]).stdout;
    assert!(
        table.contains("declared@example.com*") && table.contains("* declared in sesame.toml"),
        "{table}"
    );
}

#[test]
fn user_and_group_commands_work_with_the_server_stopped() {
    let env = Env::new();
    // No server has ever opened this data directory: `--admin` still finds the admins group.
    directory_walk_through(&env);
    // A start reconciles the declared user and group; the server then dies.
    declare_a_user_and_a_group(&env);
    drop(Server::start(&env));
    directory_errors(&env);
}

#[test]
fn user_and_group_commands_work_with_the_server_running() {
    let env = Env::new();
    declare_a_user_and_a_group(&env);
    let server = Server::start(&env);
    directory_walk_through(&env);
    // It went through the control socket (the server holds the database file).
    let log = server.wait_for_log("control socket: user.add done");
    assert!(!log.contains("control socket unavailable"), "{log}");
    directory_errors(&env);
}

#[test]
fn read_only_user_and_group_commands_never_create_the_data_dir() {
    let env = Env::new();
    let commands: &[&[&str]] = &[
        &["user", "list"],
        &["user", "show", "me@example.com"],
        &["user", "update", "me@example.com", "--name", "X"],
        &["user", "disable", "me@example.com"],
        &["user", "enable", "me@example.com"],
        &["user", "delete", "me@example.com"],
        &["user", "sign-out", "me@example.com"],
        &["group", "list"],
        &["group", "show", "family"],
        &["group", "update", "family", "--description", "X"],
        &["group", "delete", "family"],
        &["group", "add-member", "family", "me@example.com"],
        &["group", "remove-member", "family", "me@example.com"],
    ];
    for args in commands {
        let e = env.fails(args, &[], 1);
        assert!(e.contains("no sesame data in"), "`{}`: {e}", args.join(" "));
        assert!(!env.data().exists(), "`{}` created it", args.join(" "));
    }
    env.ok(&["group", "add", "family"]);
    assert!(env.data().join("sesame.redb").exists());
}

/// The RFC 7636 example PKCE verifier and its S256 challenge.
const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const GRAFANA_CALLBACK: &str = "https://grafana.example/login/generic_oauth";

/// One HTTP answer: the status, the head (status line and headers) and the body.
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }

    fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location in:\n{}", self.head))
    }
}

/// A browser on the sign-in pages, over raw HTTP/1.1: one cookie jar, no redirects followed.
struct Browser<'a> {
    server: &'a Server,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(server: &'a Server) -> Browser<'a> {
        Browser {
            server,
            cookies: Vec::new(),
        }
    }

    fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut s = TcpStream::connect(&self.server.addr).expect("connect to sesame");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.server.addr,
            body.len()
        );
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        s.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let reply = Reply {
            status: head
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
            head: head.to_string(),
            body: body.to_string(),
        };
        for line in reply.head.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if !k.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = v.trim().split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(n, _)| n != name);
            if !v.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
        reply
    }

    fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, &[], "")
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.send(
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &form_encode(form),
        )
    }

    /// Opens the app's authorization URL, as its sign-in button does.
    fn authorize(&mut self, client_id: &str) -> Reply {
        self.get(&format!(
            "/auth?client_id={client_id}&redirect_uri={}&response_type=code\
             &scope=openid%20offline_access%20email%20groups&state=s\
             &code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256",
            form_encode(&[("", GRAFANA_CALLBACK)]).trim_start_matches('=')
        ))
    }

    /// From the app's sign-in button to the email form, then types the address: returns the
    /// interaction and its CSRF token for the code form.
    fn submit_email(&mut self, client_id: &str, email: &str) -> (String, String) {
        let start = self.authorize(client_id);
        assert_eq!(start.status, 303, "{}{}", start.head, start.body);
        let email_page = start.location().to_string();
        let interaction = email_page
            .split("interaction=")
            .nth(1)
            .unwrap_or_else(|| panic!("not the sign-in page: {email_page}"))
            .to_string();
        let page = self.get(&email_page);
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no csrf in {}", page.body))
            .to_string();
        let sent = self.post(
            "/sign-in",
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("email", email),
            ],
        );
        assert_eq!(sent.status, 303, "{}", sent.body);
        assert!(
            sent.location().starts_with("/sign-in/code?interaction="),
            "the code page comes next, whoever typed the address: {}",
            sent.head
        );
        (interaction, csrf)
    }

    /// Signs in with the code the log transport printed; returns the code form's answer.
    fn sign_in(&mut self, client_id: &str, email: &str) -> Reply {
        let (interaction, csrf) = self.submit_email(client_id, email);
        let log = self.server.wait_for_log(&format!("code for {email} is "));
        let code = log
            .rsplit(&format!("code for {email} is "))
            .next()
            .map(|rest| rest.chars().take(6).collect::<String>())
            .unwrap_or_default();
        self.post(
            "/sign-in/code",
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("code", &code),
            ],
        )
    }

    /// Exchanges the authorization code in a redirect back to Grafana for tokens.
    fn tokens(&mut self, callback: &str, client_id: &str, secret: &str) -> Reply {
        use base64::Engine;
        let code = callback
            .split("code=")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .unwrap_or_else(|| panic!("no code in {callback}"));
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
        self.send(
            "POST",
            "/token",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", &format!("Basic {basic}")),
            ],
            &form_encode(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", GRAFANA_CALLBACK),
                ("code_verifier", PKCE_VERIFIER),
            ]),
        )
    }

    fn refresh(&mut self, refresh_token: &str, client_id: &str, secret: &str) -> Reply {
        self.send(
            "POST",
            "/token",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &form_encode(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", client_id),
                ("client_secret", secret),
            ]),
        )
    }
}

/// `application/x-www-form-urlencoded`.
fn form_encode(form: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The claims of a JWT (not verified: sesame's own tests of signatures live elsewhere).
fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_else(|e| panic!("not a JWT ({e}): {jwt}"));
    serde_json::from_slice(&bytes).unwrap()
}

/// The README's "Users and access" walk-through against a running server: the family gets into
/// Grafana with `groups: ["family"]`; the administrator (not in family) is told they cannot use
/// it; a stranger sees the same pages and is sent no code; sign-out and disable end what they
/// say they end.
#[test]
fn the_homelab_walk_through_lets_the_family_into_grafana_and_no_one_else() {
    let env = Env::new();
    let server = Server::start(&env);
    env.ok(&["user", "add", "me@example.com", "--admin"]);
    env.ok(&["group", "add", "family"]);
    env.ok(&["user", "add", "kid@example.com", "--group", "family"]);
    let grafana = env.json(&[
        "app",
        "create",
        "--name",
        "Grafana",
        "--redirect-uri",
        GRAFANA_CALLBACK,
        "--json",
    ]);
    let (id, secret) = (
        str_of(&grafana, "client_id"),
        str_of(&grafana, "client_secret"),
    );
    let restricted = env.json(&["app", "update", id, "--allowed-group", "family", "--json"]);
    assert_eq!(restricted["allowed_groups"], serde_json::json!(["family"]));

    // A family member gets in, and Grafana reads the group from the ID token.
    let mut kid = Browser::new(&server);
    let done = kid.sign_in(id, "kid@example.com");
    assert_eq!(done.status, 303, "{}", done.body);
    let callback = done.location().to_string();
    assert!(callback.starts_with(GRAFANA_CALLBACK), "{callback}");
    let tokens = kid.tokens(&callback, id, secret);
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let tokens: Value = serde_json::from_str(&tokens.body).unwrap();
    let claims = jwt_claims(str_of(&tokens, "id_token"));
    assert_eq!(claims["groups"], serde_json::json!(["family"]), "{claims}");
    assert_eq!(claims["email"], "kid@example.com");
    let refresh_token = str_of(&tokens, "refresh_token").to_string();
    let kid_row = env.json(&["user", "show", "kid@example.com", "--json"]);
    assert!(kid_row["last_sign_in_at"].as_u64().is_some(), "{kid_row}");
    let table = env.ok(&["user", "list"]).stdout;
    assert!(
        table
            .lines()
            .any(|l| l.contains("kid@example.com") && l.ends_with('Z')),
        "the last sign-in is shown:\n{table}"
    );

    // Signed in, the next visit goes straight back to Grafana (single sign-on)...
    let again = kid.authorize(id);
    assert!(
        again.location().starts_with(GRAFANA_CALLBACK),
        "{}",
        again.head
    );
    // ...until `user sign-out` ends the session: then it is the sign-in page again.
    let out = env.ok(&["user", "sign-out", "kid@example.com"]).stdout;
    assert!(out.contains("ended 1 session;"), "{out}");
    let after = kid.authorize(id);
    assert!(after.location().starts_with("/sign-in?"), "{}", after.head);
    // Sign-out leaves refresh tokens alone (the output says so).
    let refreshed = kid.refresh(&refresh_token, id, secret);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refresh_token = str_of(
        &serde_json::from_str::<Value>(&refreshed.body).unwrap(),
        "refresh_token",
    )
    .to_string();

    // Disabling ends the session and the refresh tokens at once, and refuses the next sign-in.
    let done = kid.sign_in(id, "kid@example.com");
    assert_eq!(done.status, 303, "{}", done.body);
    env.ok(&["user", "disable", "kid@example.com"]);
    let after = kid.authorize(id);
    assert!(after.location().starts_with("/sign-in?"), "{}", after.head);
    let refused = kid.refresh(&refresh_token, id, secret);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("invalid_grant"), "{}", refused.body);

    // The administrator is not in family: sesame says so and sends nothing to Grafana.
    let mut me = Browser::new(&server);
    let done = me.sign_in(id, "me@example.com");
    assert_eq!(done.status, 403, "{}{}", done.head, done.body);
    assert!(
        done.body.contains("No information was sent to Grafana"),
        "{}",
        done.body
    );

    // A stranger (sign-up is by invitation by default) sees the same code page; no code is sent.
    let mut stranger = Browser::new(&server);
    stranger.submit_email(id, "stranger@example.com");
    let log = server.wait_for_log("sign-in refused");
    assert!(!log.contains("code for stranger@example.com"), "{log}");
}

/// Issue 11's policy from the command line: `--second-factor` on app and group create and
/// update, shown by `show` (in words and in JSON), kept by an update that does not name it,
/// refused when misspelt; a declared group carries the file's value, and a bad value in the
/// file stops the start naming the key.
#[test]
fn the_second_factor_policy_is_set_shown_and_changed_for_apps_and_groups() {
    let env = Env::new();
    let uri = "https://nas.example.com/cb";
    let app = env.json(&[
        "app",
        "create",
        "--name",
        "NAS",
        "--redirect-uri",
        uri,
        "--second-factor",
        "required",
        "--json",
    ]);
    assert_eq!(app["second_factor"], "required");
    let id = str_of(&app, "client_id").to_string();
    let shown = env.ok(&["app", "show", &id]).stdout;
    assert!(
        shown.contains("Second factor             required (a passkey or an authenticator app's code after the email code)"),
        "{shown}"
    );
    let renamed = env.json(&["app", "update", &id, "--name", "The NAS", "--json"]);
    assert_eq!(renamed["second_factor"], "required", "kept when not named");
    let loosened = env.json(&[
        "app",
        "update",
        &id,
        "--second-factor",
        "optional",
        "--json",
    ]);
    assert_eq!(loosened["second_factor"], "optional");
    let shown = env.ok(&["app", "show", &id]).stdout;
    assert!(
        shown.contains("Second factor             optional (the email code is enough)"),
        "{shown}"
    );
    let e = env.fails(&["app", "update", &id, "--second-factor", "always"], &[], 2);
    assert!(
        e.contains("always") && e.contains("optional") && e.contains("required"),
        "{e}"
    );

    let staff = env.json(&[
        "group",
        "add",
        "staff",
        "--second-factor",
        "required",
        "--json",
    ]);
    assert_eq!(staff["second_factor"], "required");
    let family = env.json(&["group", "add", "family", "--json"]);
    assert_eq!(family["second_factor"], "optional");
    let shown = env.ok(&["group", "show", "staff"]).stdout;
    assert!(
        shown.contains("Second factor             required"),
        "{shown}"
    );
    assert!(
        shown.contains("for every sign-in of its members"),
        "{shown}"
    );
    let updated = env.json(&[
        "group",
        "update",
        "family",
        "--second-factor",
        "required",
        "--json",
    ]);
    assert_eq!(updated["second_factor"], "required");
    assert_eq!(
        env.json(&["group", "show", "family", "--json"])["second_factor"],
        "required"
    );
    let listed = env.json(&["group", "list", "--json"]);
    let policies: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (str_of(g, "name"), str_of(g, "second_factor")))
        .collect();
    assert_eq!(
        policies,
        [
            ("admins", "optional"),
            ("family", "required"),
            ("staff", "required")
        ]
    );
    let e = env.fails(&["group", "update", "family"], &[], 1);
    assert!(e.contains("--second-factor"), "{e}");

    // Declared in the file: reconciled at start, shown, not changeable here.
    let config = env.dir.path().join("sesame.toml");
    std::fs::write(
        &config,
        "[[group]]\nname = \"ops\"\nsecond_factor = \"required\"\n",
    )
    .unwrap();
    drop(Server::start(&env));
    let ops = env.json(&["group", "show", "ops", "--json"]);
    assert_eq!(ops["declared"], true);
    assert_eq!(ops["second_factor"], "required");
    let e = env.fails(
        &["group", "update", "ops", "--second-factor", "optional"],
        &[],
        1,
    );
    assert!(e.contains("sesame.toml"), "{e}");
    std::fs::write(
        &config,
        "[[group]]\nname = \"ops\"\nsecond_factor = \"sometimes\"\n",
    )
    .unwrap();
    let e = env.fails(&["serve", "--listen", "127.0.0.1:0"], &[], 1);
    assert!(
        e.contains("group[0].second_factor") && e.contains("sometimes"),
        "{e}"
    );
}
