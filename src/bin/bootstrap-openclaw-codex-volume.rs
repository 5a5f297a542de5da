//! Prepares OpenClaw's dedicated Codex auth volume from the workers' one (design doc §8):
//! `tools/bootstrap-openclaw-codex-volume.sh` runs it. The work is in `openclaw_codex::ops::bootstrap`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use openclaw_codex::ops::bootstrap::{self, helper, Options, HELPER_BIN_VAR};

#[derive(Parser)]
#[command(
    name = "bootstrap-openclaw-codex-volume",
    version,
    about = "Prepares OpenClaw's dedicated Codex auth volume from the workers' one, safely and atomically",
    long_about = "Prepares OpenClaw's dedicated Codex auth volume (OPENCLAW_CODEX_VOLUME_NAME) from the \
Codex workers' one (CODEX_VOLUME_NAME), with the names Compose resolves from .env and the environment: \
checks Docker, Compose, the network, both volumes and the image; copies auth.json and config.toml only \
(never sessions, logs or history) in a FROM-scratch helper container, so the destination always holds \
its previous complete credentials or the new complete ones; validates with `codex login status` in the \
openclaw service; puts the previous credentials back if that fails. Run it before enabling the openclaw \
profile and after every credential rotation.",
    after_help = openclaw_codex::exit::bootstrap::TABLE.help()
)]
struct Cli {
    /// Do not copy: log in interactively (`codex login --device-auth`) straight into the dedicated
    /// volume, then validate. The way to give OpenClaw its own ChatGPT login.
    #[arg(long)]
    from_scratch: bool,
    /// Print every Docker command and stream what it prints.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Run every check and read the volumes, print the plan, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Replace credentials the destination already holds (never done without it); the previous
    /// ones are kept until validation passes.
    #[arg(long)]
    force: bool,
    /// Compose project directory, where .env is read (docker compose --project-directory).
    #[arg(long, value_name = "DIR")]
    project_directory: Option<PathBuf>,
    /// Compose file, repeatable (docker compose --file; default: Compose's own lookup).
    #[arg(long = "file", short = 'f', value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Compose project name (docker compose --project-name).
    #[arg(long, short = 'p', value_name = "NAME")]
    project_name: Option<String>,
    /// A static build of this tool to put in the FROM-scratch helper image (default: this
    /// executable, which must then be static).
    #[arg(long, env = HELPER_BIN_VAR, value_name = "PATH")]
    helper_bin: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == helper::SUBCOMMAND) {
        return ExitCode::from(helper::run_in_container(args[2..].to_vec()));
    }
    let cli = Cli::parse_from(args);
    let options = Options {
        from_scratch: cli.from_scratch,
        verbose: cli.verbose,
        dry_run: cli.dry_run,
        force: cli.force,
        project_directory: cli.project_directory,
        files: cli.files,
        project_name: cli.project_name,
        helper_bin: cli.helper_bin,
    };
    ExitCode::from(bootstrap::run_and_report(&options))
}
