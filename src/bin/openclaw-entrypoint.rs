//! The OpenClaw container's entrypoint: fail-fast start-up checks, then exec the server.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use openclaw_codex::ops::entrypoint;

#[derive(Parser)]
#[command(
    name = "openclaw-entrypoint",
    version,
    about = "Checks the OpenClaw container's model lock, Codex config and login, then execs the server",
    after_help = "Exit codes: 78 bad OPENCLAW_MODEL/OPENCLAW_MODEL_LOCK_MODE, 71 Codex config not enforceable, \
72 `codex login status` failed, 73 auth.json holds no credential, 74 `codex` on PATH is not the shim, \
75 no real codex behind the shim, 76 no model gate forced by /etc/codex/requirements.toml or it is not healthy with the same pin, 127/126 server command not found/not executable."
)]
struct Cli {
    /// Print what the image builder verifies (user, PATH, the shim's plan, the real codex's version) as JSON, and exit.
    #[arg(long)]
    verify_image: bool,
    /// The server command (default: openclaw serve).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verify_image {
        println!("{}", entrypoint::image_facts());
        return ExitCode::SUCCESS;
    }
    match entrypoint::run(&cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(error.exit_code())
        }
    }
}
