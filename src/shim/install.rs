//! Where the shim's companions are installed: next to the shim, under these names.

use std::path::{Path, PathBuf};

/// The guard's option for its refusing form (`--refuse-with LINE`).
pub const REFUSE_WITH: &str = "--refuse-with";

/// The app-server guard's binary, installed next to the shim.
pub const GUARD_BIN: &str = "openclaw-app-server-guard";

/// The app-server guard next to this shim, if it is installed.
pub fn installed_guard() -> Option<PathBuf> {
    sibling(GUARD_BIN).ok().filter(|path| path.is_file())
}

/// `name` in the directory the shim was started from (`/proc/self/exe`, symlinks resolved).
pub fn sibling(name: &str) -> std::io::Result<PathBuf> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    Ok(exe.parent().unwrap_or(Path::new("/")).join(name))
}
