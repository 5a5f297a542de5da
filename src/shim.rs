//! The `codex` shim from start to exec: policy, lock, locate, guard, exec. The bin only calls `run`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::argv;
use crate::audit::{self, Action, Event};
use crate::error::{ShimError, PREFIX};
use crate::grammar::ROOT;
use crate::guard::{self, ProcessId, GUARD_VAR};
use crate::locate::{self, FileId, Search, Skipped, REAL_CODEX_VAR};
use crate::lock::{self, Attempt, Outcome};
use crate::policy::{Policy, MODEL_VAR};

/// `OPENCLAW_SOURCE` of the shim's audit records.
pub const AUDIT_SOURCE: &str = "shim";

/// `OPENCLAW_SHIM_EXPLAIN=1`: print what would happen as one JSON object, run nothing.
pub const EXPLAIN_VAR: &str = "OPENCLAW_SHIM_EXPLAIN";

/// Runs the shim on its own argv (argv0 first). Returns only when nothing was exec'd: `Ok` once
/// explain mode has printed, an error (already reported to the audit trail) otherwise.
pub fn run(argv: Vec<OsString>) -> Result<(), ShimError> {
    let mut argv = argv.into_iter();
    let argv0 = argv.next().unwrap_or_else(|| OsString::from(locate::CODEX_NAME));
    let args: Vec<OsString> = argv.collect();
    if std::env::var_os(EXPLAIN_VAR).is_some_and(|v| v == "1") {
        println!("{}", crate::explain::explain(&argv0, &args));
        return Ok(());
    }
    let mut policy = None;
    let result = pin_and_exec(&argv0, &args, &mut policy);
    if let Err(error) = &result {
        audit::report(&error_events(error, policy.as_ref(), &args));
    }
    result
}

/// Everything between reading argv and exec; `policy` is filled in as soon as it is known.
fn pin_and_exec(argv0: &OsStr, args: &[OsString], policy: &mut Option<Policy>) -> Result<(), ShimError> {
    let policy = policy.insert(Policy::from_env()?);
    let args = match lock::apply(policy, argv0, args) {
        Outcome::Run { args: rewritten, forced } => {
            if !forced.is_empty() {
                for attempt in &forced {
                    eprintln!("{}", forced_warning(&policy.model, attempt));
                }
                audit::report(&attempt_events(Action::Forced, policy, &forced, args));
            }
            rewritten
        }
        Outcome::PassThrough { args } => args,
        Outcome::Reject { attempts } => {
            return Err(ShimError::Rejected { model: policy.model.clone(), attempts });
        }
        Outcome::Refuse { path } => return Err(ShimError::RefusedSubcommand { path }),
        Outcome::RefuseInternal { form } => return Err(ShimError::RefusedInternal { form }),
    };
    let shim = FileId::current_exe().map_err(ShimError::SelfIdentity)?;
    let real = locate_real_codex(shim).0?;
    let guard = guard::next_value(std::env::var_os(GUARD_VAR).as_deref(), ProcessId::current(), shim)
        .map_err(ShimError::Loop)?;
    let error = crate::exec::exec(&real, argv0, &args, &[(GUARD_VAR, &guard)]);
    Err(ShimError::Exec { path: real, error })
}

fn base_event(action: Action, message: String, policy: Option<&Policy>, args: &[OsString]) -> Event {
    let mut event = Event::new(AUDIT_SOURCE, action, message);
    event.pinned_model = policy.map(|p| p.model.clone());
    event.lock_mode = policy.map(|p| p.mode.as_str());
    event.subcommand = Some(argv::parse(args, &ROOT).path_string());
    event
}

fn attempt_events(action: Action, policy: &Policy, attempts: &[Attempt], args: &[OsString]) -> Vec<Event> {
    attempts
        .iter()
        .map(|attempt| {
            let message = match action {
                Action::Forced => forced_warning(&policy.model, attempt),
                _ => format!("{PREFIX}: rejected {attempt}"),
            };
            let mut event = base_event(action, message, Some(policy), args);
            event.attempted = Some(attempt.attempted.clone());
            event.syntax = Some(attempt.syntax.clone());
            event
        })
        .collect()
}

/// The audit records of a failed call: one per rejected attempt, else one for the error.
fn error_events(error: &ShimError, policy: Option<&Policy>, args: &[OsString]) -> Vec<Event> {
    let action = match error {
        ShimError::Rejected { attempts, .. } => {
            return attempt_events(Action::Rejected, policy.expect("rejected under a policy"), attempts, args);
        }
        ShimError::RefusedSubcommand { .. } | ShimError::RefusedInternal { .. } => Action::RefusedSubcommand,
        ShimError::Policy(_) => Action::PolicyError,
        _ => Action::CodexUnavailable,
    };
    let mut event = base_event(action, error.to_string(), policy, args);
    if let ShimError::RefusedSubcommand { path: refused } | ShimError::RefusedInternal { form: refused } = error {
        event.attempted = Some(refused.clone());
    }
    vec![event]
}

pub fn forced_warning(model: &str, attempt: &Attempt) -> String {
    format!("{PREFIX}: warning: forced {MODEL_VAR}={model:?} over {attempt}")
}

/// `OPENCLAW_REAL_CODEX` if set, else the PATH search; with what was skipped on the way.
pub fn locate_real_codex(shim: FileId) -> (Result<PathBuf, ShimError>, Vec<Skipped>) {
    if let Some(path) = std::env::var_os(REAL_CODEX_VAR).filter(|v| !v.is_empty()) {
        let result = locate::check_override(Path::new(&path), shim).map_err(ShimError::Override);
        return (result, Vec::new());
    }
    let Search { found, skipped } = locate::search_path(&std::env::var_os("PATH").unwrap_or_default(), shim);
    match found {
        Some(path) => (Ok(path), skipped),
        None => (Err(ShimError::NotFound { skipped: skipped.clone() }), skipped),
    }
}
