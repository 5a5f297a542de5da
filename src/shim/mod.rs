//! The `codex` shim from start to exec: policy, lock, locate, guard, exec. The bin only calls `run`.

pub mod error;
pub mod exec;
pub mod explain;
pub mod locate;
pub mod loop_guard;
pub mod relay;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::audit::{self, Action, Event};
use crate::pin::argv;
use crate::pin::attempt::Attempt;
use crate::pin::grammar::ROOT;
use crate::pin::policy::{Policy, MODEL_VAR};
use crate::pin::rewrite::{self, Outcome};
use crate::shim::error::{ShimError, PREFIX};
use locate::{FileId, Search, Skipped, REAL_CODEX_VAR};
use loop_guard::{ProcessId, GUARD_VAR};

/// `OPENCLAW_SOURCE` of the shim's audit records.
pub const AUDIT_SOURCE: &str = "shim";

/// `OPENCLAW_SHIM_EXPLAIN=1`: print what would happen as one JSON object, run nothing.
pub const EXPLAIN_VAR: &str = "OPENCLAW_SHIM_EXPLAIN";

/// Runs the shim on its own argv (argv0 first). Returns only when nothing was exec'd: the exit
/// code once explain mode has printed or the app-server relay has ended, an error (already
/// reported to the audit trail) otherwise.
pub fn run(argv: Vec<OsString>) -> Result<u8, ShimError> {
    let mut argv = argv.into_iter();
    let argv0 = argv.next().unwrap_or_else(|| OsString::from(locate::CODEX_NAME));
    let args: Vec<OsString> = argv.collect();
    if std::env::var_os(EXPLAIN_VAR).is_some_and(|v| v == "1") {
        println!("{}", crate::shim::explain::explain(&argv0, &args));
        return Ok(0);
    }
    let mut policy = None;
    let result = pin_and_exec(&argv0, &args, &mut policy);
    if let Err(error) = &result {
        audit::report(&error_events(error, policy.as_ref(), &args));
    }
    result
}

/// Everything between reading argv and exec; `policy` is filled in as soon as it is known.
fn pin_and_exec(argv0: &OsStr, args: &[OsString], policy: &mut Option<Policy>) -> Result<u8, ShimError> {
    let policy = policy.insert(Policy::from_env()?);
    let mut relay = false;
    let args = match rewrite::apply(policy, argv0, args) {
        Outcome::Run { args: rewritten, forced } => {
            report_forced(policy, &forced, args);
            rewritten
        }
        Outcome::Relay { args: rewritten, forced } => {
            report_forced(policy, &forced, args);
            relay = true;
            rewritten
        }
        Outcome::PassThrough { args } => args,
        Outcome::Reject { attempts } => {
            let rejected = ShimError::Rejected { model: policy.model.clone(), attempts };
            if relays_app_server(policy, argv0, args) {
                refuse_over_json_rpc(&rejected, policy, args);
            }
            return Err(rejected);
        }
        Outcome::Refuse { path } => return Err(ShimError::RefusedSubcommand { path }),
        Outcome::RefuseUnguardable { form } => return Err(ShimError::RefusedUnguardable { form }),
        Outcome::RefuseInternal { form } => return Err(ShimError::RefusedInternal { form }),
        Outcome::RefuseUsage { problem } => return Err(ShimError::RefusedUsage { problem }),
    };
    let shim = FileId::current_exe().map_err(ShimError::SelfIdentity)?;
    let real = locate_real_codex(shim).0?;
    let guard = loop_guard::next_value(std::env::var_os(GUARD_VAR).as_deref(), ProcessId::current(), shim)
        .map_err(ShimError::Loop)?;
    if relay {
        // The relay lives in its own static binary next to the shim, so that the code every other
        // codex call pages in stays small (`make bench`).
        let guard_bin = sibling(GUARD_BIN).map_err(ShimError::SelfIdentity)?;
        if !guard_bin.is_file() {
            return Err(ShimError::GuardMissing { path: guard_bin });
        }
        let mut guard_args = vec![OsString::from("--codex"), real.clone().into_os_string()];
        guard_args.extend([OsString::from("--argv0"), argv0.to_owned(), OsString::from("--")]);
        guard_args.extend(args);
        let error = crate::shim::exec::exec(&guard_bin, OsStr::new(GUARD_BIN), &guard_args, &[(GUARD_VAR, &guard)]);
        return Err(ShimError::Exec { path: guard_bin, error });
    }
    let error = crate::shim::exec::exec(&real, argv0, &args, &[(GUARD_VAR, &guard)]);
    Err(ShimError::Exec { path: real, error })
}

/// Whether `args` would be `codex app-server` on stdio behind the guard, had they chosen no model.
fn relays_app_server(policy: &Policy, argv0: &OsStr, args: &[OsString]) -> bool {
    let force = Policy { mode: crate::pin::policy::LockMode::Force, ..policy.clone() };
    matches!(rewrite::apply(&force, argv0, args), Outcome::Relay { .. })
}

/// Reject mode refused `codex app-server` at launch (a model in argv, e.g. the Python SDK's
/// `config_overrides`). A client reading JSON-RPC would only see a closed pipe, so the guard is
/// exec'd in its refusing form: it answers `initialize` and every later request with a JSON-RPC
/// error carrying `rejected`'s one line, and exits 77 at the client's EOF. Codex never runs.
/// Returns only when that guard cannot be exec'd (the shim then exits 77 as before).
fn refuse_over_json_rpc(rejected: &ShimError, policy: &Policy, args: &[OsString]) {
    let Some(guard_bin) = installed_guard() else { return };
    audit::report(&error_events(rejected, Some(policy), args));
    eprintln!("{rejected}");
    let guard_args = [OsString::from(REFUSE_WITH), OsString::from(rejected.to_string())];
    let _ = crate::shim::exec::exec(&guard_bin, OsStr::new(GUARD_BIN), &guard_args, &[]);
}

/// The guard's option for its refusing form (`--refuse-with LINE`).
pub const REFUSE_WITH: &str = "--refuse-with";

/// The app-server guard's binary, installed next to the shim.
pub const GUARD_BIN: &str = "openclaw-app-server-guard";

/// The app-server guard next to this shim, if it is installed.
pub fn installed_guard() -> Option<PathBuf> {
    sibling(GUARD_BIN).ok().filter(|path| path.is_file())
}

/// `name` in the directory the shim was started from (`/proc/self/exe`, symlinks resolved).
fn sibling(name: &str) -> std::io::Result<PathBuf> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    Ok(exe.parent().unwrap_or(Path::new("/")).join(name))
}

/// `openclaw-app-server-guard`: codex app-server as the guard's child, its stdio relayed through
/// `app_server::guard_line`. The shim execs it with the real codex and the already pinned argv.
pub fn run_app_server_guard(codex: PathBuf, argv0: OsString, args: Vec<OsString>) -> Result<u8, ShimError> {
    let policy = Policy::from_env();
    let result = match &policy {
        Ok(policy) => {
            let child = relay::Child { program: &codex, argv0: &argv0, args: &args };
            relay::run(child, policy.clone(), report_stream_attempts)
                .map_err(|error| ShimError::Relay { path: codex.clone(), error })
        }
        Err(error) => Err(ShimError::from(error.clone())),
    };
    if let Err(error) = &result {
        audit::report(&error_events(error, policy.as_ref().ok(), &[OsString::from("app-server")]));
    }
    result
}

/// Argv attempts that were forced: a warning on stderr each, and the audit records.
fn report_forced(policy: &Policy, forced: &[Attempt], args: &[OsString]) {
    if !forced.is_empty() {
        for attempt in forced {
            eprintln!("{}", forced_warning(&policy.model, attempt));
        }
        audit::report(&attempt_events(Action::Forced, policy, forced, args));
    }
}

/// The app-server relay's reports: the attempts of one client message, forced or refused.
fn report_stream_attempts(action: Action, policy: &Policy, attempts: &[Attempt]) {
    let args = [OsString::from("app-server")];
    if action == Action::Forced {
        report_forced(policy, attempts, &args);
    } else {
        audit::report(&attempt_events(action, policy, attempts, &args));
    }
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
        ShimError::RefusedSubcommand { .. }
        | ShimError::RefusedUnguardable { .. }
        | ShimError::RefusedInternal { .. }
        | ShimError::RefusedUsage { .. } => Action::RefusedSubcommand,
        ShimError::Policy(_) => Action::PolicyError,
        _ => Action::CodexUnavailable,
    };
    let mut event = base_event(action, error.to_string(), policy, args);
    if let ShimError::RefusedSubcommand { path: refused }
    | ShimError::RefusedUnguardable { form: refused }
    | ShimError::RefusedInternal { form: refused } = error
    {
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
