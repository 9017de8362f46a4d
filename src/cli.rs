//! The command line: `sesame serve`, `sesame app ...`, `sesame connector ...`,
//! `sesame mail test`, `sesame keys rotate`.
//!
//! Commands that change the store (`app`, `connector`, `keys`) go through the running server's
//! control socket when it answers ([`crate::admin`]), and otherwise open the database file
//! themselves; both paths run the same [`admin::handle`], so the output is the same either way.
//! Only commands that store something new (`app create`, `connector set`, `keys rotate`) may
//! start a data directory; the others fail on a missing `sesame.redb` rather than create an
//! empty one in the wrong place. Everything printed on stdout goes through `outln!`, which
//! ends quietly when the reader has gone (`sesame app list | head -1`).
//! Errors are printed as one message saying what to do, and the exit code is 1 (2 for a
//! command line clap could not parse).

use crate::admin::{self, client, cmd, AppInfo, Request};
use crate::config::{self, Config, Overrides};
use crate::store::{Store, StoreError};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Prints a line on standard output, through [`print_out`]: every line the CLI prints goes
/// this way, so a reader that goes away early is handled in one place.
macro_rules! outln {
    ($($arg:tt)*) => {
        print_out(format_args!($($arg)*))
    };
}

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    about = "A self-hosted OpenID Connect provider: sign-in with a code sent by email, in one binary.",
    after_help = "Every setting can also come from sesame.toml or a SESAME_* environment variable; see examples/sesame.toml."
)]
struct Cli {
    /// Configuration file [default: ./sesame.toml if it exists; env: SESAME_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory holding sesame.redb and the control socket [default: sesame-data; env: SESAME_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the OpenID Connect provider.
    Serve(ServeArgs),
    /// Register and manage applications (OIDC clients).
    #[command(subcommand)]
    App(AppCommand),
    /// Store a mail connector's settings (Logto's AWS SES connector JSON).
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Check the mail setup.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Manage the ID token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Issuer URL, e.g. https://auth.example.com [env: SESAME_ISSUER]
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// Address to listen on, e.g. 0.0.0.0:8080 [env: SESAME_LISTEN]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// error, warn, info, debug or trace [env: SESAME_LOG_LEVEL]
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
}

#[derive(Args)]
struct JsonFlag {
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum AppTypeArg {
    /// A server-side web app: confidential, has a client secret.
    Traditional,
    /// A single-page app: public, PKCE required.
    Spa,
    /// A native or mobile app: public, PKCE required.
    Native,
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an app; prints its client ID and (traditional apps) its client secret.
    Create {
        /// The app's name, shown on the sign-in page.
        #[arg(long)]
        name: String,
        /// Allowed redirect URI (repeat for several).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Allowed post-logout redirect URI (repeat for several).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// The app type: traditional (server-side web app, gets a client secret), spa or native
        /// (public clients, PKCE required).
        #[arg(
            long = "type",
            value_enum,
            default_value = "traditional",
            value_name = "TYPE"
        )]
        app_type: AppTypeArg,
        /// ID token signing algorithm [default: ES384]
        #[arg(long, value_name = "ALG", value_parser = ["ES384", "ES256", "RS256"])]
        id_token_alg: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// List the apps.
    List {
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Show one app.
    Show {
        /// The app's client ID.
        client_id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Change an app's name, redirect URIs or ID token algorithm (given lists replace the old).
    Update {
        /// The app's client ID.
        client_id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// Allowed redirect URI (repeat for several); replaces the current list.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Allowed post-logout redirect URI (repeat for several); replaces the current list.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Remove every post-logout redirect URI.
        #[arg(long, conflicts_with = "post_logout_redirect_uris")]
        clear_post_logout_redirect_uris: bool,
        /// A new ID token signing algorithm.
        #[arg(long, value_name = "ALG", value_parser = ["ES384", "ES256", "RS256"])]
        id_token_alg: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Delete an app and revoke its tokens.
    Delete {
        /// The app's client ID.
        client_id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Give a traditional app a new client secret (the old one stops working at once).
    RotateSecret {
        /// The app's client ID.
        client_id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ConnectorName {
    /// Amazon SES (Logto's AWS SES connector JSON).
    Ses,
}

#[derive(Subcommand)]
enum ConnectorCommand {
    /// Validate and store a connector's JSON; a running server uses it at once.
    Set {
        #[arg(value_enum)]
        name: ConnectorName,
        /// The connector's JSON, as Logto takes it.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Show the stored connector (secrets masked).
    Show {
        #[arg(value_enum)]
        name: ConnectorName,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Delete the stored connector; mail goes back to what the configuration says.
    Delete {
        #[arg(value_enum)]
        name: ConnectorName,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Send a test message through the configured transport and report each SMTP reply.
    Test {
        /// The recipient.
        #[arg(long, value_name = "ADDR")]
        to: String,
        /// Register, SignIn, ForgotPassword or Generic.
        #[arg(long, default_value = "SignIn")]
        template: String,
        /// Go through EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO and RSET without sending.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key for an algorithm; the old one keeps verifying issued tokens.
    Rotate {
        #[arg(long, default_value = "ES384", value_parser = ["ES384", "ES256", "RS256"])]
        alg: String,
        #[command(flatten)]
        out: JsonFlag,
    },
}

/// `sesame`'s entry point.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let mut overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        ..Overrides::default()
    };
    if let Command::Serve(s) = &cli.command {
        overrides.issuer = s.issuer.clone();
        overrides.listen = s.listen.clone();
        overrides.log_level = s.log_level.clone();
    }
    let (config, warnings) = config::load_with_warnings(cli.config.as_deref(), &overrides)
        .map_err(|e| format!("{e}\n(every key is documented in examples/sesame.toml)"))?;
    match cli.command {
        Command::Serve(_) => serve(config, warnings),
        command => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?;
            runtime.block_on(async move {
                match command {
                    Command::App(c) => app(&config, c),
                    Command::Connector(c) => connector(&config, c),
                    Command::Mail(MailCommand::Test {
                        to,
                        template,
                        dry_run,
                    }) => mail_test(&config, &to, &template, dry_run).await,
                    Command::Keys(KeysCommand::Rotate { alg, out }) => {
                        keys_rotate(&config, &alg, out.json)
                    }
                    Command::Serve(_) => Ok(()),
                }
            })
        }
    }
}

fn serve(config: Config, warnings: Vec<String>) -> Result<(), String> {
    init_logging(&config.log_level);
    for w in warnings {
        tracing::warn!("{w}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Store writes wait for the group commit inside block_in_place, which moves the worker
        // to a blocking thread. Bounded, so a burst of writes queues instead of growing threads.
        .max_blocking_threads(64)
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(crate::server::run(config))
}

/// Logs to stderr: sesame's own events at `level`, other crates' at warn (unless tracing).
fn init_logging(level: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // Configuration validated the level against the five names LevelFilter parses.
    let level: LevelFilter = level.parse().unwrap_or(LevelFilter::INFO);
    let others = if level == LevelFilter::TRACE {
        level
    } else {
        level.min(LevelFilter::WARN)
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(
            Targets::new()
                .with_target("sesame", level)
                .with_default(others),
        )
        .try_init();
}

/// How a command reached the data.
#[derive(PartialEq)]
enum Via {
    /// Through the running server's control socket.
    Server,
    /// Straight on the database file (no server running).
    File,
}

/// Runs an admin command through the server if one answers, otherwise on the file.
fn admin_call(config: &Config, req: Request) -> Result<(Value, Via), String> {
    let (response, via) = match client::call(&config.data_dir, &req) {
        Ok(r) => (r, Via::Server),
        Err(client::ClientError::NotRunning) => match open_store(config, &req)? {
            Opened::Store(store) => (admin::handle(&store, &config.mail, &req).0, Via::File),
            Opened::ServerAnswered(r) => (r, Via::Server),
        },
        Err(e) => {
            return Err(format!(
                "{e}\nThe sesame server using {} did not answer properly; check its log, or stop it and retry.",
                config.data_dir.display()
            ))
        }
    };
    if response.ok {
        Ok((response.result.unwrap_or(Value::Null), via))
    } else {
        Err(response
            .error
            .unwrap_or_else(|| "the command failed".into()))
    }
}

enum Opened {
    Store(Store),
    /// The file was locked by a server that was starting; by the time we retried, its control
    /// socket answered the request.
    ServerAnswered(admin::Response),
}

/// Opens the database file when no server answered `req` on the control socket. A server that
/// is starting holds the file's lock a moment before its socket is up: while the file is
/// locked, keep asking the socket for a few seconds rather than fail with a lock error.
fn open_store(config: &Config, req: &Request) -> Result<Opened, String> {
    let db = config.db_path();
    if !db.exists() {
        if !admin::creates_data(&req.cmd) {
            // Opening would create an empty database, likely in the wrong place.
            return Err(format!(
                "no sesame data in {} (sesame.redb is missing): check --data-dir or SESAME_DATA_DIR",
                config.data_dir.display()
            ));
        }
        create_data_dir(&config.data_dir)?;
    }
    for _ in 0..50 {
        match Store::open(&db) {
            Ok(store) => return Ok(Opened::Store(store)),
            Err(StoreError::Locked) => {
                if let Ok(r) = client::call(&config.data_dir, req) {
                    return Ok(Opened::ServerAnswered(r));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(format!("cannot open {}: {e}", db.display())),
        }
    }
    if let Some(reason) = client::unreachable_reason(&config.data_dir) {
        return Err(format!(
            "{} is in use by a sesame server, which cannot be reached: {reason}",
            db.display()
        ));
    }
    Err(format!(
        "{} is in use by another sesame process, but no sesame server answers on {}.\n\
         If a server is starting, retry in a moment; otherwise stop the other process (only one may \
         open the data directory at a time) and retry.",
        db.display(),
        config.socket_path().display()
    ))
}

/// Creates a missing data directory, owner only (keys, hashes and sessions live there). An
/// existing one is left as its owner set it up.
fn create_data_dir(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    let err =
        |e: std::io::Error| format!("cannot create the data directory {}: {e}", dir.display());
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        Ok(()) => Ok(()),
        // Made meanwhile by someone else (a server starting): theirs to set up.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(err(e)),
    }
}

fn app(config: &Config, command: AppCommand) -> Result<(), String> {
    match command {
        AppCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            app_type,
            id_token_alg,
            out,
        } => {
            let app_type = match app_type {
                AppTypeArg::Traditional => "traditional",
                AppTypeArg::Spa => "spa",
                AppTypeArg::Native => "native",
            };
            let args = json!({
                "name": name,
                "type": app_type,
                "redirect_uris": redirect_uris,
                "post_logout_redirect_uris": post_logout_redirect_uris,
                "id_token_signed_response_alg": id_token_alg,
            });
            let (result, _) = admin_call(config, Request::new(cmd::APP_CREATE, args))?;
            if out.json {
                return print_json(&result);
            }
            let info: AppInfo = parse(result)?;
            outln!("Created app {:?} ({}).\n", info.name, info.app_type);
            print_app(&info);
            match &info.client_secret {
                Some(_) => outln!(
                    "\nThe client secret is shown only now and cannot be shown again: store it safely.\n\
                     (`sesame app rotate-secret {}` makes a new one.)",
                    info.client_id
                ),
                None => outln!("\nA public client: no secret; it must use PKCE (S256)."),
            }
            Ok(())
        }
        AppCommand::List { out } => {
            let (result, _) = admin_call(config, Request::new(cmd::APP_LIST, json!({})))?;
            if out.json {
                return print_json(&result);
            }
            let infos: Vec<AppInfo> = parse(result)?;
            if infos.is_empty() {
                outln!("No apps yet. Register one with: sesame app create --name NAME --redirect-uri URI");
                return Ok(());
            }
            print_app_table(&infos);
            Ok(())
        }
        AppCommand::Show { client_id, out } => {
            let (result, _) = admin_call(
                config,
                Request::new(cmd::APP_SHOW, json!({ "client_id": client_id })),
            )?;
            if out.json {
                return print_json(&result);
            }
            print_app(&parse(result)?);
            Ok(())
        }
        AppCommand::Update {
            client_id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            clear_post_logout_redirect_uris,
            id_token_alg,
            out,
        } => {
            let mut args = json!({ "client_id": client_id });
            if let Some(name) = name {
                args["name"] = json!(name);
            }
            if !redirect_uris.is_empty() {
                args["redirect_uris"] = json!(redirect_uris);
            }
            if !post_logout_redirect_uris.is_empty() || clear_post_logout_redirect_uris {
                args["post_logout_redirect_uris"] = json!(post_logout_redirect_uris);
            }
            if let Some(alg) = id_token_alg {
                args["id_token_signed_response_alg"] = json!(alg);
            }
            if args.as_object().is_some_and(|o| o.len() == 1) {
                return Err(
                    "nothing to change: give --name, --redirect-uri, --post-logout-redirect-uri \
                            or --id-token-alg"
                        .into(),
                );
            }
            let (result, _) = admin_call(config, Request::new(cmd::APP_UPDATE, args))?;
            if out.json {
                return print_json(&result);
            }
            let info: AppInfo = parse(result)?;
            outln!("Updated app {:?}.\n", info.name);
            print_app(&info);
            Ok(())
        }
        AppCommand::Delete { client_id, out } => {
            let (result, _) = admin_call(
                config,
                Request::new(cmd::APP_DELETE, json!({ "client_id": client_id })),
            )?;
            if out.json {
                return print_json(&result);
            }
            let info: AppInfo = parse(result)?;
            outln!(
                "Deleted app {:?} ({}); its tokens are revoked.",
                info.name,
                info.client_id
            );
            Ok(())
        }
        AppCommand::RotateSecret { client_id, out } => {
            let req = Request::new(cmd::APP_ROTATE_SECRET, json!({ "client_id": client_id }));
            let (result, _) = admin_call(config, req)?;
            if out.json {
                return print_json(&result);
            }
            let secret = result
                .get("client_secret")
                .and_then(Value::as_str)
                .unwrap_or_default();
            outln!("New client secret for {client_id}:\n\n  {secret}\n");
            outln!("The old secret no longer works. This one is shown only now and cannot be shown again: store it safely.");
            Ok(())
        }
    }
}

fn connector(config: &Config, command: ConnectorCommand) -> Result<(), String> {
    match command {
        ConnectorCommand::Set {
            name: ConnectorName::Ses,
            file,
            out,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let json: Value = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{} is not JSON: {e} (expected Logto's AWS SES connector JSON)",
                    file.display()
                )
            })?;
            let req = Request::new(cmd::CONNECTOR_SET, json!({ "name": "ses", "config": json }));
            let (result, via) = admin_call(config, req)?;
            if out.json {
                return print_json(&result);
            }
            outln!("Stored the ses connector (secrets masked):");
            outln!("{}", pretty(result.get("config").unwrap_or(&Value::Null)));
            for w in result
                .get("warnings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                outln!("note: {}", w.as_str().unwrap_or_default());
            }
            match via {
                Via::Server => outln!("The running server uses it from now on."),
                Via::File => outln!(
                    "sesame uses it from its next start. Try it with: sesame mail test --to ADDR"
                ),
            }
            Ok(())
        }
        ConnectorCommand::Show {
            name: ConnectorName::Ses,
            out,
        } => {
            let req = Request::new(cmd::CONNECTOR_SHOW, json!({ "name": "ses" }));
            let (result, _) = admin_call(config, req)?;
            if out.json {
                return print_json(&result);
            }
            match result.get("config") {
                Some(c) => outln!("{}", pretty(c)),
                None => outln!("No ses connector stored. Store one with: sesame connector set ses --file ses.json"),
            }
            Ok(())
        }
        ConnectorCommand::Delete {
            name: ConnectorName::Ses,
            out,
        } => {
            let req = Request::new(cmd::CONNECTOR_DELETE, json!({ "name": "ses" }));
            let (result, via) = admin_call(config, req)?;
            if out.json {
                return print_json(&result);
            }
            if result.get("deleted") != Some(&Value::Bool(true)) {
                outln!("No ses connector stored: nothing to delete.");
                return Ok(());
            }
            outln!("Deleted the stored ses connector.");
            for w in result
                .get("warnings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                outln!("warning: {}", w.as_str().unwrap_or_default());
            }
            let transport = result
                .pointer("/mail/transport")
                .and_then(Value::as_str)
                .unwrap_or("log");
            match via {
                Via::Server => outln!(
                    "The running server sends mail as the configuration says again (transport: {transport})."
                ),
                Via::File => outln!(
                    "sesame sends mail as the configuration says from its next start (transport: {transport})."
                ),
            }
            Ok(())
        }
    }
}

async fn mail_test(config: &Config, to: &str, template: &str, dry_run: bool) -> Result<(), String> {
    let purpose = admin::purpose(Some(template))?;
    let req = Request::new(
        cmd::MAIL_TEST,
        json!({ "to": to, "template": template, "dry_run": dry_run }),
    );
    let answered = match client::call(&config.data_dir, &req) {
        Ok(r) => r,
        Err(client::ClientError::NotRunning) => match open_store(config, &req)? {
            Opened::ServerAnswered(r) => r,
            Opened::Store(store) => {
                // No server: build the mailer here, from the configuration and any stored
                // connector (the store is closed first: sending may take a while).
                let stored = stored_ses(&store)?;
                drop(store);
                let mailer =
                    crate::mail::Mailer::build(&config.mail, stored).map_err(|e| e.to_string())?;
                let report = crate::mail::test_send(&mailer, to, purpose, dry_run)
                    .await
                    .map_err(|report| format!("the test message failed:\n{report}"))?;
                outln!("{report}");
                return Ok(());
            }
        },
        Err(e) => return Err(e.to_string()),
    };
    if !answered.ok {
        return Err(format!(
            "the test message failed:\n{}",
            answered.error.unwrap_or_default()
        ));
    }
    let report = answered
        .result
        .as_ref()
        .and_then(|v| v.get("report"))
        .and_then(Value::as_str);
    outln!("{}", report.unwrap_or("sent"));
    Ok(())
}

/// The SES connector stored by `connector set`, if any.
fn stored_ses(store: &Store) -> Result<Option<config::SesConfig>, String> {
    let stored = store
        .read(|tx| tx.get(&crate::store::CONNECTORS, "ses"))
        .map_err(|e| e.to_string())?;
    stored
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| format!("the stored ses connector does not load: {e}"))
        })
        .transpose()
}

fn keys_rotate(config: &Config, alg: &str, json_out: bool) -> Result<(), String> {
    let (result, via) = admin_call(
        config,
        Request::new(cmd::KEYS_ROTATE, json!({ "alg": alg })),
    )?;
    if json_out {
        return print_json(&result);
    }
    let kid = result
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    outln!("New {alg} signing key: kid {kid}. Tokens signed with the old key still verify (it stays in JWKS).");
    if via == Via::File {
        outln!("sesame signs with it from its next start.");
    }
    Ok(())
}

fn print_app(info: &AppInfo) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.join("\n                            ")
        }
    };
    outln!("  Client ID                 {}", info.client_id);
    if let Some(secret) = &info.client_secret {
        outln!("  Client secret             {secret}");
    }
    outln!("  Name                      {}", info.name);
    outln!("  Type                      {}", info.app_type);
    outln!("  Redirect URIs             {}", list(&info.redirect_uris));
    outln!(
        "  Post-logout redirect URIs {}",
        list(&info.post_logout_redirect_uris)
    );
    outln!(
        "  ID token algorithm        {}",
        info.id_token_signed_response_alg
    );
    if info.declared {
        outln!("  Declared in sesame.toml   yes (change it there)");
    }
}

fn print_app_table(infos: &[AppInfo]) {
    let id_w = infos
        .iter()
        .map(|i| i.client_id.len())
        .max()
        .unwrap_or(0)
        .max("CLIENT ID".len());
    let name_w = infos
        .iter()
        .map(|i| i.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("NAME".len());
    outln!(
        "{:<id_w$}  {:<name_w$}  {:<11}  REDIRECT URIS",
        "CLIENT ID",
        "NAME",
        "TYPE"
    );
    for i in infos {
        let mut uris = i.redirect_uris.first().cloned().unwrap_or_default();
        if i.redirect_uris.len() > 1 {
            uris.push_str(&format!(" (+{} more)", i.redirect_uris.len() - 1));
        }
        let kind = if i.declared {
            format!("{}*", i.app_type)
        } else {
            i.app_type.clone()
        };
        outln!(
            "{:<id_w$}  {:<name_w$}  {:<11}  {uris}",
            i.client_id,
            i.name,
            kind
        );
    }
    if infos.iter().any(|i| i.declared) {
        outln!("\n* declared in sesame.toml");
    }
}

/// Writes one line to standard output. A reader that went away (`sesame app list | head -1`)
/// ends the process quietly with status 0: the command itself is done by the time anything is
/// printed, and the reader took what it wanted. Any other write error is reported on stderr.
fn print_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

fn print_json(v: &Value) -> Result<(), String> {
    outln!("{}", pretty(v));
    Ok(())
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("unexpected answer: {e}"))
}
