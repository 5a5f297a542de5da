//! What the shim does with one call: the one place each outcome of the argv rewrite becomes an
//! action. The shim acts on the `Decision` (`shim::run`), explain mode prints it.

use std::ffi::{OsStr, OsString};

use crate::pin::attempt::Attempt;
use crate::pin::policy::{LockMode, Policy};
use crate::pin::rewrite::{self, Outcome};
use crate::shim::error::ShimError;

#[derive(Debug)]
pub enum Decision {
    /// Exec the real codex with `args`; `forced` lists the attempts the pin overrode.
    Exec { args: Vec<OsString>, forced: Vec<Attempt> },
    /// Exec the app-server guard, which runs the real codex with `args` and relays its JSON-RPC
    /// stream; `forced` as for `Exec`.
    Relay { args: Vec<OsString>, forced: Vec<Attempt> },
    /// An internal helper form of codex: exec the real codex on `args` untouched.
    PassThrough { args: Vec<OsString> },
    /// Run nothing and exit with `error`. `over_json_rpc`: the caller speaks JSON-RPC (a refused
    /// `codex app-server`), so it gets the refusal as a JSON-RPC error rather than a closed pipe.
    Refuse { error: ShimError, over_json_rpc: bool },
}

impl Decision {
    /// The outcome's name, as explain mode prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Exec { .. } => "run",
            Decision::Relay { .. } => "relay",
            Decision::PassThrough { .. } => "pass-through",
            Decision::Refuse { error: ShimError::Rejected { .. }, .. } => "reject",
            Decision::Refuse { .. } => "refuse",
        }
    }
}

pub fn decide(policy: &Policy, argv0: &OsStr, args: &[OsString]) -> Decision {
    let refuse = |error| Decision::Refuse { error, over_json_rpc: false };
    match rewrite::apply(policy, argv0, args) {
        Outcome::Run { args, forced } => Decision::Exec { args, forced },
        Outcome::Relay { args, forced } => Decision::Relay { args, forced },
        Outcome::PassThrough { args } => Decision::PassThrough { args },
        Outcome::Reject { attempts } => Decision::Refuse {
            error: ShimError::Rejected { model: policy.model.clone(), attempts },
            over_json_rpc: relays_app_server(policy, argv0, args),
        },
        Outcome::Refuse { path } => refuse(ShimError::RefusedSubcommand { path }),
        Outcome::RefuseUnguardable { form } => refuse(ShimError::RefusedUnguardable { form }),
        Outcome::RefuseInternal { form } => refuse(ShimError::RefusedInternal { form }),
        Outcome::RefuseUsage { problem } => refuse(ShimError::RefusedUsage { problem }),
    }
}

/// Whether `args` would be `codex app-server` on stdio behind the guard, had they chosen no model.
fn relays_app_server(policy: &Policy, argv0: &OsStr, args: &[OsString]) -> bool {
    let force = Policy { mode: LockMode::Force, ..policy.clone() };
    matches!(rewrite::apply(&force, argv0, args), Outcome::Relay { .. })
}
