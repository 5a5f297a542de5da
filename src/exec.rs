//! Replacing the shim with the real codex.
//!
//! `exec`, never spawn-and-wait: the pid, signals and exit status stay codex's own, and there is no
//! extra process between a container's PID 1 and codex. std's `CommandExt::exec` also resets
//! SIGPIPE (which Rust's runtime ignores) and the signal mask before execve, so codex starts the way
//! it would without the shim.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Execs `program` with `argv0` kept as the caller gave it, `args` after it, the environment passed
/// on plus `extra_env`. Returns only on failure.
pub fn exec(program: &Path, argv0: &OsStr, args: &[OsString], extra_env: &[(&str, &OsStr)]) -> std::io::Error {
    let mut command = Command::new(program);
    command.arg0(argv0).args(args);
    for (name, value) in extra_env {
        command.env(name, value);
    }
    command.exec()
}
