//! The command line: `sesame serve`, `sesame dev`, `sesame app ...`, `sesame user ...`, `sesame group ...`,
//! `sesame connector ...`, `sesame mail test`, `sesame keys rotate`, `sesame audit`,
//! `sesame api-key ...`, `sesame access check`.
//!
//! Commands that read or change the store (`app`, `user`, `group`, `connector`, `keys`,
//! `audit`, `api-key`) go through the running server's control socket when it answers
//! ([`crate::admin`]), and otherwise open the database file themselves; both paths run the
//! same [`crate::admin::handle`], so the output is the same either way.
//! Only commands that store something new (`app create`, `user add`, `group add`,
//! `connector set`, `keys rotate`, `api-key create`) may start a data directory; the others
//! fail on a missing `sesame.redb` rather than create an empty one in the wrong place.
//! Everything printed on stdout goes through `outln!`, which ends quietly when the reader has
//! gone (`sesame app list | head -1`).
//! Errors are printed as one message saying what to do, and the exit code is 1 (2 for a
//! command line clap could not parse).
//!
//! It owns the command-line grammar, what is printed, and `CliError`. It uses
//! [`crate::config`] (loading), [`crate::admin`] (every data command is an admin
//! [`Command`](crate::admin::Command), sent to the server or run on the file with
//! [`crate::admin::handle`]), [`crate::store`] (opening the file), [`crate::users`] (the
//! directory's argument types, and its built-in groups when the CLI opens the file),
//! [`crate::mail`] (`mail test` with no server running) and [`crate::server`] (`sesame serve`).
//!
//! The parts: `args.rs` (the grammar clap parses), `dev.rs` (`sesame dev` and what it
//! prints), `commands.rs` (what `app`, `connector`,
//! `mail`, `keys` and `audit` do), `directory.rs` (what `user` and `group` do), `api_keys.rs`
//! (`api-key`), `access_check.rs` (`access check`: forward-auth's rules), `access.rs` (reaching
//! the data: control socket or file), `output.rs` (what gets printed), `error.rs` (`CliError`).

/// Prints a line on standard output, through [`output::print_out`]: every line the CLI prints
/// goes this way, so a reader that goes away early is handled in one place.
macro_rules! outln {
    ($($arg:tt)*) => {
        print_out(format_args!($($arg)*))
    };
}

mod access;
mod access_check;
mod api_keys;
mod apis;
mod args;
mod commands;
mod dev;
mod directory;
mod error;
mod ops;
mod output;

use crate::config::{self, Config, Overrides};
use args::{AccessCommand, Cli, Command, KeysCommand, MailCommand};
use clap::Parser;
use commands::{app, audit, connector, keys_rotate, mail_test};
use directory::{group, user};
use error::CliError;
use std::process::ExitCode;

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

fn run(cli: Cli) -> Result<(), CliError> {
    let mut overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        ..Overrides::default()
    };
    if let Command::Serve(s) = &cli.command {
        overrides.issuer = s.issuer.clone();
        overrides.listen = s.listen.clone();
        overrides.log_level = s.log_level.clone();
    }
    if let Command::Dev(d) = &cli.command {
        overrides.log_level = d.log_level.clone();
    }
    let (config, warnings) =
        config::load_with_warnings(cli.config.as_deref(), &overrides).map_err(CliError::Config)?;
    match cli.command {
        Command::Serve(_) => serve(config, warnings),
        // Only the flag counts: a data_dir from sesame.toml or the environment is production's.
        Command::Dev(args) => dev::dev(config, warnings, cli.data_dir, args),
        command => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(CliError::Runtime)?;
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
                        keys_rotate(&config, alg, out.json)
                    }
                    Command::Keys(KeysCommand::List { out }) => ops::keys_list(&config, out.json),
                    Command::Keys(KeysCommand::Prune { out }) => ops::keys_prune(&config, out.json),
                    Command::Backup { file, out } => ops::backup(&config, &file, out.json),
                    Command::Restore { file } => ops::restore(&config, &file),
                    Command::User(c) => user(&config, c),
                    Command::Group(c) => group(&config, c),
                    Command::Audit(args) => audit(&config, args),
                    Command::ApiKey(c) => api_keys::api_key(&config, c),
                    Command::Api(c) => apis::api(&config, c),
                    Command::Access(AccessCommand::Check { url, user }) => {
                        access_check::check(&config, &url, user.as_deref())
                    }
                    Command::Serve(_) | Command::Dev(_) => Ok(()),
                }
            })
        }
    }
}

fn serve(config: Config, warnings: Vec<String>) -> Result<(), CliError> {
    init_logging(&config.log_level);
    for w in warnings {
        tracing::warn!("{w}");
    }
    crate::server::memory::tune_allocator();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Most store writes wait for the group commit inside block_in_place, which moves the
        // worker to a blocking thread (the token endpoint instead awaits the store's commit
        // thread). Bounded, so a burst of writes queues instead of growing threads.
        .max_blocking_threads(64)
        // Idle blocking threads retire after 3 s (tokio's default: 10 s), before the last of
        // the trims that follow a burst (server::memory), so their memory comes back too.
        .thread_keep_alive(crate::server::memory::BLOCKING_THREAD_KEEP_ALIVE)
        .build()
        .map_err(CliError::Runtime)?;
    runtime
        .block_on(crate::server::run(config))
        .map_err(CliError::Serve)
}

/// Logs to stderr: sesame's own events at `level`, other crates' at warn (unless tracing).
pub(super) fn init_logging(level: &str) {
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
                // The audit log's lines (`crate::audit`) carry their own target.
                .with_target("audit", level)
                .with_default(others),
        )
        .try_init();
}
