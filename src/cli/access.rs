//! How a command reaches the data: the running server's control socket when one answers
//! ([`crate::admin::client`]), otherwise the database file, opened (and for commands that store
//! something new, created) here and handed to [`crate::admin::handle`].

use super::error::CliError;
use crate::admin::{self, client, Command};
use crate::audit::Actor;
use crate::clock::now;
use crate::config::Config;
use crate::store::{Store, StoreError};
use crate::users;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// How a command reached the data.
#[derive(PartialEq)]
pub(super) enum Via {
    /// Through the running server's control socket.
    Server,
    /// Straight on the database file (no server running).
    File,
}

/// Runs an admin command through the server if one answers, otherwise on the file.
pub(super) fn admin_call(config: &Config, command: Command) -> Result<(Value, Via), CliError> {
    let (response, via) = match client::call(&config.data_dir, &command) {
        Ok(r) => (r, Via::Server),
        Err(client::ClientError::NotRunning) => match open_store(config, &command)? {
            Opened::Store(store) => {
                let outcome = admin::handle(&store, &config.mail, &Actor::Cli, command)
                    .map(|done| done.result);
                (admin::Response::from(outcome), Via::File)
            }
            Opened::ServerAnswered(r) => (r, Via::Server),
        },
        Err(error) => {
            return Err(CliError::ServerUnreachable {
                error,
                data_dir: config.data_dir.clone(),
            })
        }
    };
    if response.ok {
        Ok((response.result.unwrap_or(Value::Null), via))
    } else {
        Err(CliError::Refused(
            response
                .error
                .unwrap_or_else(|| "the command failed".into()),
        ))
    }
}

pub(super) enum Opened {
    Store(Store),
    /// The file was locked by a server that was starting; by the time we retried, its control
    /// socket answered the request.
    ServerAnswered(admin::Response),
}

/// Opens the database file when no server answered `command` on the control socket. A server
/// that is starting holds the file's lock a moment before its socket is up: while the file is
/// locked, keep asking the socket for a few seconds rather than fail with a lock error.
pub(super) fn open_store(config: &Config, command: &Command) -> Result<Opened, CliError> {
    let db = config.db_path();
    if !db.exists() {
        if !command.creates_data() {
            // Opening would create an empty database, likely in the wrong place.
            return Err(CliError::NoData(config.data_dir.clone()));
        }
        create_data_dir(&config.data_dir)?;
    }
    for _ in 0..50 {
        match Store::open(&db) {
            Ok(store) => {
                // As a server does at every start: `user add --admin` on a data directory no
                // server has opened yet needs the built-in `admins` group.
                users::ensure_builtin_groups(&store, now())
                    .map_err(|error| CliError::OpenStore { db, error })?;
                return Ok(Opened::Store(store));
            }
            Err(StoreError::Locked) => {
                if let Ok(r) = client::call(&config.data_dir, command) {
                    return Ok(Opened::ServerAnswered(r));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => return Err(CliError::OpenStore { db, error }),
        }
    }
    if let Some(reason) = client::unreachable_reason(&config.data_dir) {
        return Err(CliError::ServerOutOfReach { db, reason });
    }
    Err(CliError::Locked {
        db,
        socket: config.socket_path(),
    })
}

/// Creates a missing data directory, owner only (keys, hashes and sessions live there). An
/// existing one is left as its owner set it up.
pub(super) fn create_data_dir(dir: &Path) -> Result<(), CliError> {
    if dir.is_dir() {
        return Ok(());
    }
    let err = |error: std::io::Error| CliError::CreateDataDir {
        dir: dir.to_path_buf(),
        error,
    };
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
