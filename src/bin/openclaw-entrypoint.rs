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
    after_help = openclaw_codex::exit::entrypoint::TABLE.help()
)]
struct Cli {
    /// Print what the image builder verifies (user, PATH, the shim's plan, the real codex's version) as JSON, and exit.
    #[arg(long)]
    verify_image: bool,
    /// The server command (default: openclaw gateway --allow-unconfigured).
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
