//! Step 10: validation. `docker compose --profile openclaw run --rm --no-deps --user app --env
//! OPENCLAW_GATE_CHECK=requirements openclaw codex login status`, i.e. the service's entrypoint and
//! the `codex` shim on the dedicated volume; then the run becomes final.

use std::ffi::OsString;

use super::docker;
use super::helper::Op;
use super::plan::Plan;
use super::preflight::{Checked, Resolved};
use super::{exit, fail, run_failure, unique, Failure, Run, Step, Stop, SERVICE};

/// Step 10.
pub(super) fn validate(r: &mut Run, checked: &Checked, plan: &Plan, changed: bool) -> Result<(), Stop> {
    let resolved = &checked.resolved;
    let said = match r.login_status(resolved) {
        Ok(said) => said,
        Err(failure) if changed => return Err(Stop::RollBack(failure)),
        Err(failure) => {
            let message = format!("{}; nothing had been changed", failure.message);
            return Err(Stop::Unchanged(Failure { code: failure.code, message }));
        }
    };
    if changed {
        // A failure here leaves the journal: the next run puts the previous credentials back.
        let unfinished = |why: String| {
            let message = format!("validation passed but the run could not be finalised: {why}; the next run puts the previous credentials back");
            Stop::Unchanged(Failure { code: exit::COPY_FAILED, message })
        };
        match r.helper(&plan.image, resolved, Op::Finish, false, Some(true)) {
            Ok(reply) if reply.error.is_none() => {}
            Ok(reply) => return Err(unfinished(reply.error.unwrap_or_default())),
            Err(e) => return Err(unfinished(e)),
        }
    }
    r.say(Step::Validate, format_args!("validated: `codex login status` in the openclaw service: {said}"));
    Ok(())
}

impl Run<'_> {
    /// `codex login status` through the service's entrypoint and the shim.
    fn login_status(&self, resolved: &Resolved) -> Result<String, Failure> {
        let name = unique("openclaw-bootstrap-validation");
        let mut args = self.compose_run(&name, "validation", resolved);
        // `login status` makes no model request: the entrypoint checks requirements.toml forces the
        // gate, but does not need the gate service running (`--no-deps`).
        let gate_check = format!("{}=requirements", crate::ops::entrypoint::GATE_CHECK_VAR);
        args.extend(["--env", &gate_check, "-T", SERVICE, "codex", "login", "status"].map(OsString::from));
        let ran = self
            .docker
            .run_streamed(&args)
            .map_err(|e| run_failure(e, exit::VALIDATION_FAILED, "run the validation"))?;
        // `codex login status` says "Logged in using ..." (on stderr, after the entrypoint's lines).
        let all = [ran.stdout.as_slice(), ran.stderr.as_slice()].concat();
        let said = String::from_utf8_lossy(&all)
            .lines()
            .rev()
            .find(|l| l.contains("Logged in"))
            .unwrap_or("exit 0")
            .trim()
            .to_owned();
        if !ran.success() {
            return fail(
                exit::VALIDATION_FAILED,
                format!(
                    "validation failed: `codex login status` in the openclaw service with the volume {:?} ended with {}: {}",
                    resolved.dest,
                    ran.status,
                    docker::tail(&all)
                ),
            );
        }
        Ok(said)
    }
}
