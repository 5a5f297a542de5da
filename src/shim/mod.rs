//! The `codex` shim from start to exec: policy, decision (`decide`), locate, loop guard, exec. The
//! bin only calls `run`.

pub mod decide;
pub mod error;
pub mod exec;
pub mod explain;
pub mod install;
pub mod locate;
pub mod loop_guard;
pub mod relay;
pub mod report;

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::audit;
use crate::pin::policy::Policy;
use decide::{decide, Decision};
use error::ShimError;
use install::{GUARD_BIN, REFUSE_WITH};
use locate::FileId;
use loop_guard::{ProcessId, LOOP_VAR};

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
        println!("{}", explain::explain(&argv0, &args));
        return Ok(0);
    }
    let mut policy = None;
    let result = pin_and_exec(&argv0, &args, &mut policy);
    if let Err(error) = &result {
        audit::report(&report::error_events(error, policy.as_ref(), &args));
    }
    result
}

/// Everything between reading argv and exec; `policy` is filled in as soon as it is known.
fn pin_and_exec(argv0: &OsStr, args: &[OsString], policy: &mut Option<Policy>) -> Result<u8, ShimError> {
    let policy = policy.insert(Policy::from_env()?);
    let (args, relay) = match decide(policy, argv0, args) {
        Decision::Exec { args: pinned, forced } => {
            report::forced(policy, &forced, args);
            (pinned, false)
        }
        Decision::Relay { args: pinned, forced } => {
            report::forced(policy, &forced, args);
            (pinned, true)
        }
        Decision::PassThrough { args } => (args, false),
        Decision::Refuse { error, over_json_rpc } => {
            if over_json_rpc {
                refuse_over_json_rpc(&error, policy, args);
            }
            return Err(error);
        }
    };
    let shim = FileId::current_exe().map_err(ShimError::SelfIdentity)?;
    let real = locate::real_codex(shim).0?;
    let hops = loop_guard::next_value(std::env::var_os(LOOP_VAR).as_deref(), ProcessId::current(), shim)
        .map_err(ShimError::Loop)?;
    if relay {
        // The relay lives in its own static binary next to the shim, so that the code every other
        // codex call pages in stays small (`make bench`).
        let guard_bin = install::sibling(GUARD_BIN).map_err(ShimError::SelfIdentity)?;
        if !guard_bin.is_file() {
            return Err(ShimError::GuardMissing { path: guard_bin });
        }
        let mut guard_args = vec![OsString::from("--codex"), real.clone().into_os_string()];
        guard_args.extend([OsString::from("--argv0"), argv0.to_owned(), OsString::from("--")]);
        guard_args.extend(args);
        let error = exec::exec(&guard_bin, OsStr::new(GUARD_BIN), &guard_args, &[(LOOP_VAR, &hops)]);
        return Err(ShimError::Exec { path: guard_bin, error });
    }
    let error = exec::exec(&real, argv0, &args, &[(LOOP_VAR, &hops)]);
    Err(ShimError::Exec { path: real, error })
}

/// Reject mode refused `codex app-server` at launch (a model in argv, e.g. the Python SDK's
/// `config_overrides`). A client reading JSON-RPC would only see a closed pipe, so the guard is
/// exec'd in its refusing form: it answers `initialize` and every later request with a JSON-RPC
/// error carrying `rejected`'s one line, and exits 77 at the client's EOF. Codex never runs.
/// Returns only when that guard cannot be exec'd (the shim then exits 77 as before).
fn refuse_over_json_rpc(rejected: &ShimError, policy: &Policy, args: &[OsString]) {
    let Some(guard_bin) = install::installed_guard() else { return };
    audit::report(&report::error_events(rejected, Some(policy), args));
    eprintln!("{rejected}");
    let guard_args = [OsString::from(REFUSE_WITH), OsString::from(rejected.to_string())];
    let _ = exec::exec(&guard_bin, OsStr::new(GUARD_BIN), &guard_args, &[]);
}

/// `openclaw-app-server-guard`: codex app-server as the guard's child, its stdio relayed through
/// `app_server::judge_line`. The shim execs it with the real codex and the already pinned argv.
pub fn run_app_server_guard(codex: PathBuf, argv0: OsString, args: Vec<OsString>) -> Result<u8, ShimError> {
    let policy = Policy::from_env();
    let result = match &policy {
        Ok(policy) => {
            let child = relay::Child { program: &codex, argv0: &argv0, args: &args };
            relay::run(child, policy.clone(), report::stream_attempts)
                .map_err(|error| ShimError::Relay { path: codex.clone(), error })
        }
        Err(error) => Err(ShimError::from(error.clone())),
    };
    if let Err(error) = &result {
        audit::report(&report::error_events(error, policy.as_ref().ok(), &[OsString::from("app-server")]));
    }
    result
}
