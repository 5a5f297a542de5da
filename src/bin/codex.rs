//! The `codex` PATH shim: pins OpenClaw's model and execs the real Codex CLI.
//!
//! `#![no_main]`: a C `main` skips Rust's runtime set-up, which would ignore SIGPIPE (an ignored
//! signal stays ignored across exec, so codex would inherit the shim's choice instead of the
//! caller's), install stack-overflow handlers and poll the standard descriptors — work and syscalls
//! a shim that execs within microseconds does not need. Exit codes: `openclaw_codex::exit::shim`.
// (`cargo test --all-targets` builds a test harness of every bin, whose main is the harness's.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int, CStr, OsStr, OsString};
#[cfg(not(test))]
use std::os::unix::ffi::OsStrExt;

#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: the C runtime passes `argc` valid NUL-terminated strings in `argv`.
    let args = (0..argc.max(0) as usize).map(|i| unsafe { CStr::from_ptr(*argv.add(i)) });
    let args: Vec<OsString> = args.map(|a| OsStr::from_bytes(a.to_bytes()).to_owned()).collect();
    match openclaw_codex::shim::run(args) {
        Ok(code) => c_int::from(code),
        Err(error) => {
            eprintln!("{error}");
            c_int::from(error.exit_code())
        }
    }
}
