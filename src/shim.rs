//! The `codex` shim from start to exec: policy, lock, locate, guard, exec. The bin only calls `run`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::error::{ShimError, PREFIX};
use crate::guard::{self, ProcessId, GUARD_VAR};
use crate::locate::{self, FileId, Search, Skipped, REAL_CODEX_VAR};
use crate::lock::{self, Attempt, Outcome};
use crate::policy::{Policy, MODEL_VAR};

/// `OPENCLAW_SHIM_EXPLAIN=1`: print what would happen as one JSON object, run nothing.
pub const EXPLAIN_VAR: &str = "OPENCLAW_SHIM_EXPLAIN";

pub fn run() -> Result<ExitCode, ShimError> {
    let mut argv = std::env::args_os();
    let argv0 = argv
        .next()
        .unwrap_or_else(|| OsString::from(locate::CODEX_NAME));
    let args: Vec<OsString> = argv.collect();
    if std::env::var_os(EXPLAIN_VAR).is_some_and(|v| v == "1") {
        println!("{}", crate::explain::explain(&argv0, &args));
        return Ok(ExitCode::SUCCESS);
    }

    let policy = Policy::from_env()?;
    let args = match lock::apply(&policy, &argv0, &args) {
        Outcome::Run { args, forced } => {
            for attempt in &forced {
                eprintln!("{}", forced_warning(&policy.model, attempt));
            }
            args
        }
        Outcome::PassThrough { args } => args,
        Outcome::Reject { attempts } => {
            return Err(ShimError::Rejected {
                model: policy.model,
                attempts,
            })
        }
        Outcome::Refuse { path } => return Err(ShimError::RefusedSubcommand { path }),
    };
    let shim = FileId::current_exe().map_err(ShimError::SelfIdentity)?;
    let real = find_real_codex(shim)?;
    let guard = guard::next_value(
        std::env::var_os(GUARD_VAR).as_deref(),
        ProcessId::current(),
        shim,
    )
    .map_err(ShimError::Loop)?;
    let error = crate::exec::exec(&real, &argv0, &args, &[(GUARD_VAR, &guard)]);
    Err(ShimError::Exec { path: real, error })
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
    let Search { found, skipped } =
        locate::search_path(&std::env::var_os("PATH").unwrap_or_default(), shim);
    match found {
        Some(path) => (Ok(path), skipped),
        None => (
            Err(ShimError::NotFound {
                skipped: skipped.clone(),
            }),
            skipped,
        ),
    }
}

fn find_real_codex(shim: FileId) -> Result<PathBuf, ShimError> {
    locate_real_codex(shim).0
}
