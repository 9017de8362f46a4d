//! `sesame dev`: a local issuer for development, and what it prints once ready (the issuer, the
//! pre-registered app's credentials, the discovery URL and an `.env.local` for Auth.js) on
//! standard output; the log goes to standard error.

use super::args::DevArgs;
use super::error::CliError;
use super::output::print_out;
use crate::apps::dev::{DEV_CLIENT_ID, DEV_CLIENT_SECRET};
use crate::config::Config;
use crate::issuer::paths;
use crate::server::dev::Ready;
use std::path::PathBuf;

/// Runs `sesame dev` until SIGINT or SIGTERM. `data_dir` is `--data-dir` (only the flag: a
/// data directory from `sesame.toml` or the environment belongs to `sesame serve`).
pub(super) fn dev(
    mut config: Config,
    warnings: Vec<String>,
    data_dir: Option<PathBuf>,
    args: DevArgs,
) -> Result<(), CliError> {
    super::init_logging(&config.log_level);
    for w in warnings {
        tracing::warn!("{w}");
    }
    let t = &mut config.tokens;
    for (flag, ttl) in [
        (args.access_token_ttl, &mut t.access_token_ttl),
        (args.id_token_ttl, &mut t.id_token_ttl),
        (args.refresh_token_ttl, &mut t.refresh_token_ttl),
        (args.session_ttl, &mut t.session_ttl),
    ] {
        if let Some(secs) = flag {
            *ttl = secs;
        }
    }
    crate::server::memory::tune_allocator();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .thread_keep_alive(crate::server::memory::BLOCKING_THREAD_KEEP_ALIVE)
        .build()
        .map_err(CliError::Runtime)?;
    runtime
        .block_on(crate::server::dev::run(
            config,
            args.listen,
            data_dir,
            print_ready,
        ))
        .map_err(CliError::Serve)
}

/// What a developer needs to point an app at the dev issuer.
fn print_ready(r: &Ready) {
    let issuer = &r.issuer;
    outln!("sesame dev: a local OpenID Connect issuer for development.");
    outln!("DEV MODE: anyone can sign in as anyone. Never let it face a network.");
    outln!("");
    outln!("  issuer         {issuer}");
    outln!("  discovery      {issuer}{}", paths::DISCOVERY);
    outln!("  client ID      {DEV_CLIENT_ID}");
    outln!("  client secret  {DEV_CLIENT_SECRET}");
    outln!("                 (any other client ID works too, with any secret, and any");
    outln!("                 localhost, 127.0.0.1, [::1] or custom-scheme redirect URI)");
    outln!("  debugger       {issuer}{}", paths::DEV_DEBUGGER);
    if !r.personas.is_empty() {
        outln!("  personas       {}", r.personas.join(", "));
    }
    let kept = if r.temporary {
        "temporary: removed when sesame dev stops"
    } else {
        "kept"
    };
    outln!("  data           {} ({kept})", r.data_dir.display());
    outln!("");
    outln!("For Auth.js (Next.js), in .env.local:");
    outln!("");
    outln!("AUTH_SESAME_ISSUER={issuer}");
    outln!("AUTH_SESAME_ID={DEV_CLIENT_ID}");
    outln!("AUTH_SESAME_SECRET={DEV_CLIENT_SECRET}");
    outln!("");
}
