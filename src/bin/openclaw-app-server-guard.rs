//! `codex app-server` behind OpenClaw's model lock. The `codex` shim execs this (installed next to
//! it) for `codex app-server` on stdio, with the real codex and the argv it already pinned; it runs
//! codex as its child and relays the JSON-RPC stream through the guard (`openclaw_codex::relay`).
//! Exit codes: codex's own, or `openclaw_codex::error`'s.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(version, about = "Relays `codex app-server` over stdio, pinning the model in every client request")]
struct Cli {
    /// The real codex.
    #[arg(long)]
    codex: PathBuf,
    /// argv[0] to start it with.
    #[arg(long, default_value = "codex")]
    argv0: OsString,
    /// Its arguments (`app-server` and the pins the shim added).
    #[arg(last = true)]
    args: Vec<OsString>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match openclaw_codex::shim::run_app_server_guard(cli.codex, cli.argv0, cli.args) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(error.exit_code())
        }
    }
}
