//! The shim's errors and the one place they become exit codes.
//!
//! Their codes: `exit::shim`.

use std::fmt;
use std::path::PathBuf;

use crate::audit::Action;
use crate::exit::shim as exit;
use crate::pin::attempt::Attempt;
use crate::pin::policy::{PolicyError, ALLOW_UNPINNABLE_VAR, MODE_VAR};
use crate::shim::locate::{OverrideError, Skipped, REAL_CODEX_VAR};
use crate::shim::loop_guard::{LoopDetected, LOOP_VAR};

/// Every message starts with this, so operators can grep for the shim's own lines.
pub const PREFIX: &str = "openclaw codex shim";

#[derive(Debug)]
pub enum ShimError {
    Policy(PolicyError),
    Rejected {
        model: String,
        attempts: Vec<Attempt>,
    },
    RefusedSubcommand {
        path: String,
    },
    /// An app-server form the guard cannot sit on (`--listen` other than stdio, daemon, proxy).
    RefusedUnguardable {
        form: String,
    },
    /// `openclaw-app-server-guard` is not installed next to the shim.
    GuardMissing {
        path: PathBuf,
    },
    /// The app-server relay could not start codex or its relay threads.
    Relay {
        path: PathBuf,
        error: std::io::Error,
    },
    /// codex's internal helper form (or personality) that runs other programs unpinned.
    RefusedInternal {
        form: String,
    },
    /// An argv codex rejects as a usage error: refused rather than rewritten (`rewrite::Outcome::RefuseUsage`).
    RefusedUsage {
        problem: String,
    },
    Override(OverrideError),
    NotFound {
        skipped: Vec<Skipped>,
    },
    Loop(LoopDetected),
    Exec {
        path: PathBuf,
        error: std::io::Error,
    },
    /// `/proc/self/exe` cannot be read, so the shim could not tell itself from the real codex.
    SelfIdentity(std::io::Error),
}

impl ShimError {
    /// The audit trail's action for this error (a rejection is reported attempt by attempt).
    pub fn audit_action(&self) -> Action {
        match self {
            ShimError::Rejected { .. } => Action::Rejected,
            ShimError::RefusedSubcommand { .. }
            | ShimError::RefusedUnguardable { .. }
            | ShimError::RefusedInternal { .. }
            | ShimError::RefusedUsage { .. } => Action::RefusedSubcommand,
            ShimError::Policy(_) => Action::PolicyError,
            _ => Action::CodexUnavailable,
        }
    }

    /// What a refusal refused: the subcommand path or form, or the usage problem.
    pub fn refused_form(&self) -> Option<&str> {
        match self {
            ShimError::RefusedSubcommand { path: form }
            | ShimError::RefusedUnguardable { form }
            | ShimError::RefusedInternal { form }
            | ShimError::RefusedUsage { problem: form } => Some(form),
            _ => None,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            ShimError::RefusedUsage { .. } => exit::USAGE.value,
            ShimError::Rejected { .. }
            | ShimError::RefusedSubcommand { .. }
            | ShimError::RefusedUnguardable { .. }
            | ShimError::RefusedInternal { .. } => exit::REFUSED.value,
            ShimError::Policy(_) | ShimError::Override(OverrideError::Relative(_)) => exit::CONFIG.value,
            ShimError::Override(OverrideError::Unusable(..))
            | ShimError::NotFound { .. }
            | ShimError::Loop(_)
            | ShimError::SelfIdentity(_)
            | ShimError::GuardMissing { .. } => exit::NOT_FOUND.value,
            ShimError::Exec { .. } | ShimError::Relay { .. } => exit::EXEC_FAILED.value,
        }
    }
}

impl fmt::Display for ShimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}: ")?;
        match self {
            ShimError::Policy(e) => write!(f, "{e}"),
            ShimError::Rejected { model, attempts } => {
                write!(
                    f,
                    "refused: {MODE_VAR}=reject and this call tries to choose the model or its endpoint with {}; OpenClaw is pinned to {model:?}: drop those options",
                    crate::pin::attempt::list(attempts)
                )
            }
            ShimError::RefusedUnguardable { form } => write!(
                f,
                "refused `codex {form}`: the shim guards app-server's model choices only on its stdio transport (`codex app-server`, `--listen stdio://`); an operator may allow this form unguarded with {ALLOW_UNPINNABLE_VAR}=app-server"
            ),
            ShimError::RefusedSubcommand { path } => write!(
                f,
                "refused `codex {path}`: it chooses models through a channel the shim cannot pin; an operator may allow it with {ALLOW_UNPINNABLE_VAR}={path}"
            ),
            ShimError::RefusedInternal { form } => write!(
                f,
                "refused `{form}`: this internal codex form runs other programs on arguments the shim cannot pin; codex never needs it through PATH"
            ),
            ShimError::RefusedUsage { problem } => write!(
                f,
                "refused: codex would reject this command line: {problem}; the shim runs no command line codex rejects"
            ),
            ShimError::Override(e) => write!(f, "{e}"),
            ShimError::NotFound { skipped } => {
                write!(f, "no real codex found on PATH after the shim; install the Codex CLI later on PATH or set {REAL_CODEX_VAR}")?;
                if !skipped.is_empty() {
                    let list: Vec<String> = skipped.iter().map(ToString::to_string).collect();
                    write!(f, " (skipped: {})", list.join("; "))?;
                }
                Ok(())
            }
            ShimError::Loop(LoopDetected { hops }) => write!(
                f,
                "exec loop: this shim was reached again in the same process after {hops} hop(s) ({LOOP_VAR}); the codex it found runs `codex` through PATH again: set {REAL_CODEX_VAR} to the real binary"
            ),
            ShimError::Exec { path, error } => write!(f, "cannot exec {}: {error}", path.display()),
            ShimError::GuardMissing { path } => write!(
                f,
                "cannot guard `codex app-server`: {} is missing or not executable; install it next to the shim (make shim stages both)",
                path.display()
            ),
            ShimError::Relay { path, error } => {
                write!(f, "cannot start {} behind the app-server guard: {error}", path.display())
            }
            ShimError::SelfIdentity(error) => write!(
                f,
                "cannot identify this shim through /proc/self/exe ({error}), so it cannot skip itself on PATH: mount /proc"
            ),
        }
    }
}

impl std::error::Error for ShimError {}

impl From<PolicyError> for ShimError {
    fn from(e: PolicyError) -> Self {
        ShimError::Policy(e)
    }
}
