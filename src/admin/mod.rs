//! The control socket: how the CLI reaches a running server.
//!
//! redb lets one process open a database file at a time, so while `sesame serve` runs, the CLI
//! cannot open `sesame.redb` itself. Instead the server listens on `<data_dir>/sesame.sock`
//! (a Unix domain socket, mode 0600: only the user running sesame may connect) and the CLI
//! sends it the same commands it would otherwise carry out on the file. One JSON request per
//! line, one JSON response line back:
//!
//! ```text
//! → {"cmd":"app.create","args":{"name":"Bookstore","redirect_uris":["https://..."]}}
//! ← {"ok":true,"result":{"client_id":"...","client_secret":"...",...}}
//! ← {"ok":false,"error":"redirect URI \"...\" must not contain a fragment (#...)"}
//! ```
//!
//! A data directory too deep for a socket address (107 bytes of path) is reached through
//! `/proc/self/fd` on Linux (`socket_path.rs`); elsewhere both ends say it is too long, and the
//! CLI uses the file when no server runs.
//!
//! [`handle`](fn@handle) is the whole command set over a [`Store`](crate::store::Store); the server
//! (the socket, [`serve`], and the management API under `/api/v1`) and the CLI with the server
//! stopped all call it, so a command behaves the same either way. What only a running server
//! has (the live mailer and key set) comes back as an [`Effect`], which [`handle_live`] applies
//! for both of the server's doors. It takes the [`Actor`](crate::audit::Actor) it acts for (the
//! socket and the CLI pass `Cli`, the API the key or admin): every change is recorded in the
//! audit log, and `audit.list` reads the log.
//!
//! It owns the control protocol ([`Command`], [`Response`], [`AppInfo`]), the command set, both
//! ends of the socket, and [`AdminError`]. It uses [`crate::apps`] (the registry),
//! [`crate::crypto::keys`] (key rotation), [`crate::store`] (the `CONNECTORS` table),
//! [`crate::audit`] (recording changes, listing entries), [`crate::mail`] (trying a connector,
//! the mailer to swap in) and the configuration's `[mail]`.
//! It does not use the HTTP side: the management API (`crate::server::api`) calls it, never the
//! other way round.
//!
//! The parts: `protocol.rs` (the wire format: [`Command`] and its arguments), `handle.rs` (the
//! command set), `live.rs` (a command in a running server: its [`Effect`] applied),
//! `error.rs` ([`AdminError`]), `server.rs` (the socket in a running server),
//! [`client`] (the CLI's end), `socket_path.rs` (reaching a socket whose path is too long).

pub mod client;
mod error;
mod handle;
mod live;
mod protocol;
mod server;
mod socket_path;

pub use error::AdminError;
pub use handle::{handle, mask_secrets, purpose, Done, Effect};
pub use live::{handle_live, mail_test};
pub use protocol::{
    group_info, ApiChange, ApiKeyRef, ApiRef, AppChange, AppInfo, AppRef, BackupTo, Command,
    ConnectorRef, ConnectorSettings, GroupEdit, GroupRef, KeyRotation, KeyWindow, Membership,
    NoArgs, PasskeyRef, Response, TestMessage, UserEdit, UserQuery, UserRef, CONNECTORS_KNOWN,
    SOCKET_NAME,
};
pub use server::{bind, serve, serve_on, ControlSocket};

#[cfg(test)]
mod passkey_tests;
#[cfg(test)]
mod tests;
