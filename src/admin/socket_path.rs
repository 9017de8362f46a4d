//! Naming the control socket so that its path fits in a Unix socket address.
//!
//! A Unix socket address holds at most 107 bytes of path (`sun_path` is 108 bytes with the
//! terminating NUL), and `<data_dir>/sesame.sock` in a deep directory (a CI runner's temp dir, a
//! home directory several levels down) is longer. Changing the working directory to use a
//! short relative path is not an option in a multi-threaded server (it is process-wide). On
//! Linux the directory can be opened instead and reached as `/proc/self/fd/<fd>/`: a short path
//! that the kernel resolves to the same directory, for `bind` and `connect` alike. Elsewhere, a
//! path that does not fit is an error that says so.
//!
//! It uses only std; both ends of the socket use it.

use std::fs::File;
use std::path::{Path, PathBuf};

/// What both ends say when the data directory is too deep for a socket path and no
/// workaround applies.
pub const TOO_LONG: &str = "data dir path too long for a Unix socket; use a shorter --data-dir";

/// The longest path a Unix socket address holds (`sun_path` less its terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A path naming a socket in a directory that fits in a socket address. When it goes through
/// `/proc/self/fd`, it holds the directory open: use it while this value lives.
pub struct ShortPath {
    path: PathBuf,
    /// The opened data directory that `path` reaches through `/proc/self/fd/<fd>/`.
    _dir: Option<File>,
}

impl ShortPath {
    /// The path to give `bind` or `connect`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Why no short path could be made.
#[derive(Debug)]
pub enum ShortPathError {
    /// The directory could not be opened (it does not exist, or may not be read).
    Dir(std::io::Error),
    /// The path is too long and this system has no `/proc/self/fd` to shorten it.
    TooLong,
}

impl std::fmt::Display for ShortPathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShortPathError::Dir(e) => write!(f, "{e}"),
            ShortPathError::TooLong => f.write_str(TOO_LONG),
        }
    }
}

/// A path for the socket `name` in `dir` that fits in a socket address: `dir/name` itself when
/// it fits, else (on Linux) `/proc/self/fd/<fd of dir>/name`.
pub fn short_path(dir: &Path, name: &str) -> Result<ShortPath, ShortPathError> {
    let direct = dir.join(name);
    if fits(&direct) {
        return Ok(ShortPath {
            path: direct,
            _dir: None,
        });
    }
    through_proc(dir, name)
}

#[cfg(target_os = "linux")]
fn through_proc(dir: &Path, name: &str) -> Result<ShortPath, ShortPathError> {
    use std::os::fd::AsRawFd;
    if !Path::new("/proc/self/fd").is_dir() {
        return Err(ShortPathError::TooLong);
    }
    // std opens with O_CLOEXEC: the descriptor does not leak into child processes.
    let opened = File::open(dir).map_err(ShortPathError::Dir)?;
    let path = Path::new("/proc/self/fd")
        .join(opened.as_raw_fd().to_string())
        .join(name);
    if !fits(&path) {
        return Err(ShortPathError::TooLong);
    }
    Ok(ShortPath {
        path,
        _dir: Some(opened),
    })
}

#[cfg(not(target_os = "linux"))]
fn through_proc(_dir: &Path, _name: &str) -> Result<ShortPath, ShortPathError> {
    Err(ShortPathError::TooLong)
}

/// True when `path` fits in a Unix socket address.
pub fn fits(path: &Path) -> bool {
    path.as_os_str().len() <= MAX_SOCKET_PATH
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory whose `sesame.sock` is longer than a socket address holds.
    fn deep_dir() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        (root, deep)
    }

    #[test]
    fn a_short_path_is_used_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let p = short_path(dir.path(), "sesame.sock").unwrap();
        assert_eq!(p.path(), dir.path().join("sesame.sock"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_deep_directory_is_reached_through_proc_for_bind_and_connect() {
        let (_root, deep) = deep_dir();
        assert!(!fits(&deep.join("sesame.sock")));
        let bound = short_path(&deep, "sesame.sock").unwrap();
        assert!(
            bound.path().starts_with("/proc/self/fd/"),
            "{:?}",
            bound.path()
        );
        let listener = std::os::unix::net::UnixListener::bind(bound.path()).unwrap();
        drop(bound);
        assert!(
            deep.join("sesame.sock").exists(),
            "the socket is in the directory itself"
        );
        let dialled = short_path(&deep, "sesame.sock").unwrap();
        let _client = std::os::unix::net::UnixStream::connect(dialled.path()).unwrap();
        listener.accept().unwrap();
    }

    #[test]
    fn a_missing_deep_directory_is_not_found() {
        let (_root, deep) = deep_dir();
        match short_path(&deep.join("missing"), "sesame.sock") {
            Err(ShortPathError::Dir(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
            Err(ShortPathError::TooLong) => {} // systems without /proc/self/fd
            Ok(p) => panic!("{:?}", p.path()),
        }
    }
}
