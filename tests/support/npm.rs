//! The npm packages the tests use, from `tests/clients_js` (package-lock.json pins them; `npm
//! ci` installs them): the OIDC clients Auth.js uses (tests/js_clients.rs) and axe-core, the
//! accessibility checker tests/pages.rs runs in Chromium.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// `npm ci` once per test binary (cargo runs test binaries one after another, so two never
/// install at the same time). Needs Node.js 18+ and npm; the error says so when they are missing.
pub fn install() -> &'static Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = super::repo_root().join("tests/clients_js");
        for tool in ["node", "npm"] {
            let found = Command::new(tool).arg("--version").output();
            if !found.is_ok_and(|o| o.status.success()) {
                return Err(format!(
                    "`{tool}` is not available: these tests need Node.js 18+ and npm \
                     (Debian: apt-get install -y nodejs npm)"
                ));
            }
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("npm ci: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "npm ci in {} failed:\n{}\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    })
}

/// axe-core's script (`axe.min.js`), installed by [`install`]; panics with the reason when it
/// cannot be.
pub fn axe_source() -> String {
    if let Err(e) = install() {
        panic!("{e}");
    }
    let path = super::repo_root().join("tests/clients_js/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (npm ci should have installed it)", path.display()))
}
