//! Builds and verifies the OpenClaw image: static bins staged, wheels staged, docker build, checks.

use std::process::ExitCode;

use clap::Parser;
use openclaw_codex::ops::image::{self, ImageError, DEFAULT_TAG};

#[derive(Parser)]
#[command(
    name = "openclaw-image",
    version,
    about = "Builds the OpenClaw image with the static codex shim, and the model gate's image, and verifies both",
    after_help = openclaw_codex::exit::image::TABLE.help()
)]
struct Cli {
    /// Image tag.
    #[arg(long, env = "OPENCLAW_IMAGE", default_value = DEFAULT_TAG)]
    tag: String,
    /// Base image: python:3.11-slim, or a local stand-in (packaging/make-base-image.sh).
    #[arg(long, env = "OPENCLAW_BASE_IMAGE", default_value = "python:3.11-slim")]
    base_image: String,
    /// Extra build argument NAME=VALUE, repeatable: e.g. OPENCLAW_NPM_SPEC=openclaw@X, a path to an
    /// npm tarball (staged into the build context), or empty (no OpenClaw).
    #[arg(long = "build-arg", value_parser = parse_build_arg)]
    build_args: Vec<(String, String)>,
    /// Only verify an existing image.
    #[arg(long)]
    verify_only: bool,
}

fn parse_build_arg(text: &str) -> Result<(String, String), String> {
    text.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("{text:?} is not NAME=VALUE"))
}

fn run(cli: &Cli) -> Result<(), ImageError> {
    let root = image::find_root(&std::env::current_dir().map_err(|e| ImageError(e.to_string()))?)?;
    if !cli.verify_only {
        image::stage_bins(&root)?;
        image::stage_wheels(&root)?;
        image::docker_build(&root, &cli.tag, &cli.base_image, &cli.build_args)?;
    }
    let facts = image::verify(&cli.tag)?;
    println!(
        "openclaw-image: {} built and verified (user app, shim first on PATH, Codex CLI {}, requirements forcing the model gate, Node.js {}, OpenClaw {}); model gate image {}",
        cli.tag,
        openclaw_codex::pin::grammar::CODEX_VERSION,
        facts["node_version"].as_str().unwrap_or("?"),
        facts["openclaw_on_path"].as_str().unwrap_or("none"),
        image::gate_tag(&cli.tag)
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(openclaw_codex::exit::image::FAILED.value)
        }
    }
}
