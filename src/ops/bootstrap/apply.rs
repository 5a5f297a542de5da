//! Step 9: the change. The copy by the helper (`volume.rs`: staged, journaled, per-file atomic
//! replace; the previous files kept until validation passes), with steps 5 and 6 checked again
//! right before the swap; or, with `--from-scratch`, `codex login --device-auth` in the service.

use std::ffi::OsString;

use super::docker::PROBE_TIMEOUT;
use super::helper::Op;
use super::plan::{needs_force, Plan};
use super::preflight::{Checked, Resolved};
use super::volume::Change;
use super::{exit, fail, helper_failure, run_failure, unique, Failure, Run, Step, Stop, ROLE_LABEL, SERVICE};

/// Step 9: whether the destination changed.
pub(super) fn apply(r: &mut Run, checked: &Checked, plan: &Plan) -> Result<bool, Stop> {
    let resolved = &checked.resolved;
    for network in &checked.missing_networks {
        let ran = r
            .docker
            .run(&["network", "create", network.as_str()], Some(PROBE_TIMEOUT))
            .map_err(|e| Stop::Unchanged(run_failure(e, exit::NETWORK, "create the network")))?;
        if !ran.success() {
            let message = format!("cannot create the network {network:?}: {}", ran.stderr_tail());
            return Err(Stop::Unchanged(Failure { code: exit::NETWORK, message }));
        }
        r.note(format_args!("created the network {network:?}"));
    }
    if !checked.dest_exists {
        // No Compose labels: `docker compose down --volumes` never deletes these credentials.
        let label = format!("{ROLE_LABEL}=destination");
        let ran = r
            .docker
            .run(&["volume", "create", "--label", &label, &resolved.dest], Some(PROBE_TIMEOUT))
            .map_err(|e| Stop::Unchanged(run_failure(e, exit::DESTINATION_IN_USE, "create the destination volume")))?;
        if !ran.success() {
            let message = format!("cannot create the volume {:?}: {}", resolved.dest, ran.stderr_tail());
            return Err(Stop::Unchanged(Failure { code: exit::DESTINATION_IN_USE, message }));
        }
        r.note(format_args!("created the volume {:?}", resolved.dest));
    }

    let op = if r.opts.from_scratch { Op::PrepareLogin } else { Op::Stage };
    let staged = if plan.outcome == Change::Unchanged && !plan.reply.recovered {
        Ok(plan.reply.clone())
    } else {
        r.helper(&plan.image, resolved, op, !r.opts.from_scratch, Some(true))
            .map_err(|e| Failure { code: exit::COPY_FAILED, message: format!("the copy failed: {e}") })
    };
    let staged = match staged {
        Ok(reply) if reply.error.is_none() => reply,
        Ok(reply) => {
            let failure = helper_failure(reply.error_kind, reply.error.unwrap_or_default());
            return Err(Stop::RollBack(failure));
        }
        Err(failure) => return Err(Stop::RollBack(failure)),
    };
    if staged.recovered {
        r.note("put back the previous credentials an interrupted earlier run had left");
    }
    let changed = match staged.outcome.unwrap_or(Change::Copy) {
        // The source changed since the plan (a rotation in between).
        Change::NeedsForce => {
            return Err(Stop::Unchanged(needs_force(resolved, plan.reply.dest, staged.source.or(plan.reply.source))))
        }
        Change::Unchanged => false,
        Change::Copy => true,
    };
    let mut removed_tokens = Vec::new();
    if changed && !r.opts.from_scratch {
        // Nothing live has changed yet: check again right before the swap.
        let recheck = r.check_source_free(&resolved.source).and_then(|()| r.check_dest_free(&resolved.dest));
        if let Err(failure) = recheck {
            return Err(Stop::RollBack(failure));
        }
        match r.helper(&plan.image, resolved, Op::Commit, false, Some(true)) {
            Ok(reply) if reply.error.is_none() => removed_tokens = reply.worker_tokens,
            Ok(reply) => {
                let failure = Failure {
                    code: exit::COPY_FAILED,
                    message: format!("the copy failed: {}", reply.error.unwrap_or_default()),
                };
                return Err(Stop::RollBack(failure));
            }
            Err(e) => {
                let failure = Failure { code: exit::COPY_FAILED, message: format!("the copy failed: {e}") };
                return Err(Stop::RollBack(failure));
            }
        }
    }
    if changed && r.opts.from_scratch {
        if let Err(failure) = r.check_dest_free(&resolved.dest).and_then(|()| r.login(resolved)) {
            return Err(Stop::RollBack(failure));
        }
    }
    r.say(
        Step::Apply,
        if !changed {
            "nothing written".to_owned()
        } else if r.opts.from_scratch {
            format!("logged in into {:?}", resolved.dest)
        } else {
            format!(
                "copied {} into {:?} (owner app 1000:1000, auth.json 0600){}",
                staged.files.join(" and "),
                resolved.dest,
                if removed_tokens.is_empty() {
                    String::new()
                } else {
                    format!("; removed {}", removed_tokens.join(", "))
                }
            )
        },
    );
    Ok(changed)
}

impl Run<'_> {
    fn login(&self, resolved: &Resolved) -> Result<(), Failure> {
        let name = unique("openclaw-bootstrap-login");
        let mut args = self.compose_run(&name, "login", resolved);
        args.extend(["--entrypoint", "codex", SERVICE, "login", "--device-auth"].map(OsString::from));
        let status =
            self.docker.interactive(&args).map_err(|e| run_failure(e, exit::LOGIN_FAILED, "run `codex login`"))?;
        if !status.success() {
            return fail(exit::LOGIN_FAILED, format!("`codex login --device-auth` ended with {status}"));
        }
        Ok(())
    }
}
