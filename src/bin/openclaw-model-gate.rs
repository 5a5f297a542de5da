//! `openclaw-model-gate`: the HTTP gate Codex's provider is forced to by
//! `/etc/codex/requirements.toml`; it pins the model of every request on the wire
//! (`openclaw_codex::pin::wire` holds the rules, `openclaw_codex::gate::server` the server).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use openclaw_codex::gate::server::{self, Settings, Upstream};
use openclaw_codex::gate::{self, PREFIX};
use openclaw_codex::pin::policy::Policy;

use openclaw_codex::exit::gate as exit;

#[derive(Parser)]
#[command(name = "openclaw-model-gate", version, about = "Pins the model of every request Codex sends, on the wire", after_help = exit::TABLE.help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve: judge every request, pin (force) or refuse (reject) its model, relay it to the upstream.
    /// The pin and mode come from OPENCLAW_MODEL and OPENCLAW_MODEL_LOCK_MODE.
    #[command(after_help = exit::TABLE.help())]
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0:8080")]
        listen: SocketAddr,
        /// Upstream of API-key logins: /v1/<rest> goes to <URL>/<rest>.
        #[arg(long, env = "OPENCLAW_GATE_UPSTREAM", default_value = server::DEFAULT_API_UPSTREAM)]
        upstream: String,
        /// Upstream of ChatGPT logins (requests carrying a ChatGPT-Account-ID header).
        #[arg(long, env = "OPENCLAW_GATE_CHATGPT_UPSTREAM", default_value = server::DEFAULT_CHATGPT_UPSTREAM)]
        chatgpt_upstream: String,
        /// Extra CA certificates (PEM) to trust for the upstreams, besides the public roots.
        #[arg(long, env = "OPENCLAW_GATE_CA_FILE")]
        ca_file: Option<PathBuf>,
        /// Largest request body accepted, decoded.
        #[arg(long, default_value_t = server::DEFAULT_MAX_BODY)]
        max_body_bytes: usize,
    },
    /// Print the /etc/codex/requirements.toml that forces every codex's provider to this gate.
    Requirements {
        /// The gate's base URL as codex reaches it (without /v1).
        #[arg(long, default_value = "http://openclaw-model-gate:8080")]
        gate_url: String,
    },
    /// Ask a gate for its health (a healthcheck for images without curl); prints its answer.
    Health {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err((code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, (u8, String)> {
    match cli.command {
        Command::Serve { listen, upstream, chatgpt_upstream, ca_file, max_body_bytes } => {
            let policy = Policy::from_env().map_err(|e| (exit::CONFIG.value, format!("{PREFIX}: {e}")))?;
            let upstream_of = |flag: &str, text: &str| {
                Upstream::parse(text)
                    .map_err(|e| (exit::CONFIG.value, format!("{PREFIX}: --{flag} {e}: give the upstream's base URL")))
            };
            let settings = Settings {
                listen,
                api_upstream: upstream_of("upstream", &upstream)?,
                chatgpt_upstream: upstream_of("chatgpt-upstream", &chatgpt_upstream)?,
                ca_file,
                max_body: max_body_bytes,
            };
            init_logging();
            server::serve(policy, settings).map_err(|e| {
                let code = match e {
                    server::ServeError::Listen { .. } | server::ServeError::Runtime(_) => exit::LISTEN.value,
                    server::ServeError::CaFile { .. } => exit::CONFIG.value,
                };
                (code, e.to_string())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Requirements { gate_url } => {
            print!("{}", gate::requirements::toml(&gate_url).map_err(|e| (exit::CONFIG.value, e))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Health { url } => match server::probe(&url, Duration::from_secs(5)) {
            Ok(answer) => {
                println!("{answer}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err((exit::UNHEALTHY.value, format!("{PREFIX}: {url} is not healthy: {e}"))),
        },
    }
}

/// Operational logs on stderr (`docker logs`); `OPENCLAW_GATE_LOG` filters them (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPENCLAW_GATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
}
