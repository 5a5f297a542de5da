//! Explain mode (`OPENCLAW_SHIM_EXPLAIN=1`): one JSON object saying what the shim would do with this
//! call, for operators, the entrypoint's start-up check and tests. Nothing is run.

use std::ffi::{OsStr, OsString};

use serde_json::{json, Value};

use crate::audit::Action;
use crate::pin::grammar::{CODEX_VERSION, ROOT};
use crate::pin::policy::Policy;
use crate::shim::decide::{decide, Decision};
use crate::shim::error::ShimError;
use crate::shim::install::installed_guard;
use crate::shim::locate::{self, FileId};

/// A JSON string when the argument is UTF-8, else `{"hex": "..."}` so no byte is lost.
fn arg_json(arg: &OsStr) -> Value {
    match arg.to_str() {
        Some(text) => Value::String(text.to_owned()),
        None => {
            use std::os::unix::ffi::OsStrExt;
            let hex: String = arg.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            json!({ "hex": hex })
        }
    }
}

fn argv_json<'a>(args: impl IntoIterator<Item = &'a OsString>) -> Value {
    Value::Array(args.into_iter().map(|a| arg_json(a)).collect())
}

fn decisions(action: Action, attempts: &[crate::pin::attempt::Attempt]) -> Value {
    attempts
        .iter()
        .map(|a| {
            json!({ "action": action.as_str(), "syntax": a.syntax, "attempted": a.attempted, "level": a.level.name() })
        })
        .collect()
}

pub fn explain(argv0: &OsStr, args: &[OsString]) -> Value {
    let subcommand = crate::pin::argv::parse(args, &ROOT).path_string();
    let mut out = json!({
        "grammar_version": CODEX_VERSION,
        "shim": std::fs::read_link("/proc/self/exe").ok(),
        "app_server_guard": installed_guard(),
        "argv": argv_json(std::iter::once(&argv0.to_owned()).chain(args)),
        "subcommand": subcommand,
    });
    let shim = FileId::current_exe();
    let (real, skipped) = match shim {
        Ok(shim) => locate::real_codex(shim),
        Err(e) => (Err(ShimError::SelfIdentity(e)), Vec::new()),
    };
    out["skipped"] = json!(skipped);
    match &real {
        Ok(path) => out["real_codex"] = json!(path),
        Err(e) => {
            out["real_codex"] = Value::Null;
            out["real_codex_error"] = json!(e.to_string());
        }
    }

    let policy = match Policy::from_env() {
        Ok(policy) => policy,
        Err(e) => {
            let error = ShimError::from(e);
            out["outcome"] = json!("error");
            out["exit_code"] = json!(error.exit_code());
            out["error"] = json!(error.to_string());
            return out;
        }
    };
    out["model"] = json!(policy.model);
    out["mode"] = json!(policy.mode);
    let decision = decide(&policy, argv0, args);
    out["outcome"] = json!(decision.name());
    let (rewritten, decided, error) = match decision {
        Decision::Exec { args, forced } | Decision::Relay { args, forced } => {
            (Some(args), decisions(Action::Forced, &forced), None)
        }
        Decision::PassThrough { args } => (Some(args), json!([]), None),
        Decision::Refuse { error: ShimError::Rejected { model, attempts }, .. } => {
            (None, decisions(Action::Rejected, &attempts), Some(ShimError::Rejected { model, attempts }))
        }
        Decision::Refuse { error, .. } => {
            let form = error.refused_form().unwrap_or_default().to_owned();
            let d = json!([{ "action": error.audit_action().as_str(), "syntax": form, "attempted": form, "level": subcommand }]);
            (None, d, Some(error))
        }
    };
    out["decisions"] = decided;
    out["rewritten"] = match rewritten {
        Some(args) => argv_json(std::iter::once(&argv0.to_owned()).chain(&args)),
        None => Value::Null,
    };
    let error = error.or(real.err());
    out["exit_code"] = error.as_ref().map_or(Value::Null, |e| json!(e.exit_code()));
    out["error"] = error.map_or(Value::Null, |e| json!(e.to_string()));
    out
}
