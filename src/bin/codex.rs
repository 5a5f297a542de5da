//! The `codex` PATH shim: pins OpenClaw's model and execs the real Codex CLI.

use std::process::ExitCode;

fn main() -> ExitCode {
    match openclaw_codex::shim::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{error}");
            error.to_exit_code()
        }
    }
}
