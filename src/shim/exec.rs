//! Replacing the shim with the real codex.
//!
//! `exec`, never spawn-and-wait: the pid, signals and exit status stay codex's own, and there is no
//! extra process between a container's PID 1 and codex. One `execve` straight from the caller's
//! environment block, nothing copied but the pointers: the shim bin runs without Rust's runtime
//! set-up (`#![no_main]`), so SIGPIPE's disposition and the signal mask codex inherits are the
//! caller's own, as they would be without the shim. (std's `CommandExt::exec` would copy the whole
//! environment into a map and reset both.)

use std::ffi::{c_char, CStr, CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

extern "C" {
    /// The process's environment block (POSIX); read, never written.
    static environ: *const *const c_char;
}

/// Execs `program` with `argv0` kept as the caller gave it, `args` after it, and the environment
/// passed on with each of `set_env`'s variables set (replacing any earlier value). Returns only on
/// failure.
pub fn exec(program: &Path, argv0: &OsStr, args: &[OsString], set_env: &[(&str, &OsStr)]) -> io::Error {
    match try_exec(program, argv0, args, set_env) {
        Err(error) => error,
        Ok(never) => match never {},
    }
}

fn try_exec(
    program: &Path,
    argv0: &OsStr,
    args: &[OsString],
    set_env: &[(&str, &OsStr)],
) -> io::Result<std::convert::Infallible> {
    let program = c_string(program.as_os_str().as_bytes())?;
    let argv = std::iter::once(argv0).chain(args.iter().map(OsString::as_os_str));
    let argv: Vec<CString> = argv.map(|a| c_string(a.as_bytes())).collect::<io::Result<_>>()?;
    let added: Vec<CString> = set_env
        .iter()
        .map(|(name, value)| c_string(&[name.as_bytes(), b"=", value.as_bytes()].concat()))
        .collect::<io::Result<_>>()?;
    // SAFETY: `environ` is the NULL-terminated array of NUL-terminated strings the C runtime keeps;
    // nothing in this single-threaded path changes it before execve.
    let inherited = unsafe { inherited_env() };
    let replaced = |entry: &&CStr| set_env.iter().any(|(name, _)| is_assignment_of(entry.to_bytes(), name));
    let mut env: Vec<&CStr> = inherited.filter(|e| !replaced(e)).collect();
    env.extend(added.iter().map(CString::as_c_str));
    Ok(nix::unistd::execve(&program, &argv, &env)?)
}

unsafe fn inherited_env() -> impl Iterator<Item = &'static CStr> {
    let mut next = environ;
    std::iter::from_fn(move || {
        if next.is_null() || (*next).is_null() {
            return None;
        }
        let entry = CStr::from_ptr(*next);
        next = next.add(1);
        Some(entry)
    })
}

fn is_assignment_of(entry: &[u8], name: &str) -> bool {
    entry.strip_prefix(name.as_bytes()).is_some_and(|rest| rest.first() == Some(&b'='))
}

/// Arguments and paths come from C strings, so an inner NUL cannot occur; refuse it rather than cut.
fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte inside an argument"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_match_whole_names_only() {
        assert!(is_assignment_of(b"OPENCLAW_SHIM_GUARD=1.2", "OPENCLAW_SHIM_GUARD"));
        assert!(is_assignment_of(b"OPENCLAW_SHIM_GUARD=", "OPENCLAW_SHIM_GUARD"));
        assert!(!is_assignment_of(b"OPENCLAW_SHIM_GUARD_X=1", "OPENCLAW_SHIM_GUARD"));
        assert!(!is_assignment_of(b"OPENCLAW_SHIM_GUARD", "OPENCLAW_SHIM_GUARD"));
    }

    #[test]
    fn a_missing_program_is_an_error_not_a_panic() {
        let error = exec(Path::new("/nonexistent/codex"), OsStr::new("codex"), &[], &[]);
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}
