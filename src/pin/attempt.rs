//! An attempt to choose the model or where requests go: the one value every layer (argv, the
//! app-server stream, the wire) reports to its caller, to `--openclaw-explain` and to the audit trail.

use std::fmt;

/// Where an attempt was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    /// On the command line, given to this subcommand path (`exec resume`; empty for the root).
    Command(String),
    /// In a JSON-RPC message of `codex app-server`.
    AppServer,
    /// In a request on the wire, at the model gate.
    Gate,
}

impl Level {
    /// As `--openclaw-explain` prints it: the subcommand path, `app-server` or `gate`.
    pub fn name(&self) -> &str {
        match self {
            Level::Command(path) => path,
            Level::AppServer => "app-server",
            Level::Gate => "gate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// How it was written, without the value: `--model=`, `-c model_provider`, `thread/start model`,
    /// `body model`.
    pub syntax: String,
    /// What it asked for: a model name, `key=value`, a URL; empty when the request named no model
    /// where one is required.
    pub attempted: String,
    pub level: Level,
}

impl Attempt {
    pub fn new(syntax: impl Into<String>, attempted: impl Into<String>, level: Level) -> Attempt {
        Attempt { syntax: syntax.into(), attempted: attempted.into(), level }
    }
}

impl fmt::Display for Attempt {
    /// `--model= "o3" at exec resume`, `thread/start model "o3"`, `no body model`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attempted.is_empty() {
            write!(f, "no {}", self.syntax)?;
        } else {
            write!(f, "{} {:?}", self.syntax, self.attempted)?;
        }
        match &self.level {
            Level::Command(path) if path.is_empty() => write!(f, " at the root"),
            Level::Command(path) => write!(f, " at {path}"),
            Level::AppServer | Level::Gate => Ok(()),
        }
    }
}

/// Attempts as one comma-separated list, as every refusal names them.
pub fn list(attempts: &[Attempt]) -> String {
    attempts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
