//! `codex app-server` behind OpenClaw's model lock. The `codex` shim execs this (installed next to
//! it) for `codex app-server` on stdio, with the real codex and the argv it already pinned; it runs
//! codex as its child and relays the JSON-RPC stream through the guard (`openclaw_codex::shim::relay`).
//! Exit codes: codex's own, or `openclaw_codex::exit::guard`. `--refuse-with LINE` (the shim, when reject
//! mode refused app-server at launch): no codex; every request is answered with a JSON-RPC error
//! carrying LINE, and the guard exits at the client's EOF.
//!
//! `#![no_main]`, as the shim: Rust's runtime set-up would ignore SIGPIPE before `main`, and codex
//! must start with the caller's disposition, which the relay hands on.
// (`cargo test --all-targets` builds a test harness of every bin, whose main is the harness's.)
#![cfg_attr(not(test), no_main)]

use std::ffi::OsString;
#[cfg(not(test))]
use std::ffi::{c_char, c_int, CStr, OsStr};
#[cfg(not(test))]
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "Relays `codex app-server` over stdio, pinning the model in every client request",
    after_help = openclaw_codex::exit::guard::TABLE.help()
)]
struct Cli {
    /// The real codex.
    #[arg(long, required_unless_present = "refuse_with")]
    codex: Option<PathBuf>,
    /// Start no codex: answer every request with a JSON-RPC error carrying this line, exit at EOF.
    #[arg(long, conflicts_with = "codex")]
    refuse_with: Option<String>,
    /// argv[0] to start it with.
    #[arg(long, default_value = "codex")]
    argv0: OsString,
    /// Its arguments (`app-server` and the pins the shim added).
    #[arg(last = true)]
    args: Vec<OsString>,
}

#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: the C runtime passes `argc` valid NUL-terminated strings in `argv`.
    let args = (0..argc.max(0) as usize).map(|i| unsafe { CStr::from_ptr(*argv.add(i)) });
    let cli = Cli::parse_from(args.map(|a| OsStr::from_bytes(a.to_bytes()).to_owned()));
    let (Some(codex), None) = (cli.codex, &cli.refuse_with) else {
        let line = cli.refuse_with.unwrap_or_default();
        return c_int::from(openclaw_codex::shim::relay::refuse_all(&line));
    };
    match openclaw_codex::shim::run_app_server_guard(codex, cli.argv0, cli.args) {
        Ok(code) => c_int::from(code),
        Err(error) => {
            eprintln!("{error}");
            c_int::from(error.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shims_arguments_parse() {
        let cli = Cli::parse_from(["g", "--codex", "/r/codex", "--argv0", "codex", "--", "-m", "p", "app-server"]);
        assert_eq!(cli.codex, Some(PathBuf::from("/r/codex")));
        assert_eq!(cli.args, ["-m", "p", "app-server"].map(OsString::from));
        let cli = Cli::parse_from(["g", "--refuse-with", "refused: x"]);
        assert_eq!((cli.codex, cli.refuse_with.as_deref()), (None, Some("refused: x")));
        assert!(Cli::try_parse_from(["g"]).is_err(), "one of the two is required");
    }
}
