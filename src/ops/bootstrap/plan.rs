//! Step 8: the plan. A helper container of a per-run image holding nothing but this static binary
//! reads both volumes (read-only) and decides: nothing to do, copy, or `--force` needed.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use super::docker::{Docker, PROBE_TIMEOUT};
use super::helper::{self, Op, Reply, DEST_MOUNT, SOURCE_MOUNT};
use super::preflight::{Checked, Resolved};
use super::volume::{self, Change};
use super::{
    exit, fail, helper_failure, unique, Failure, Options, Run, Step, DEST_LABEL, HELPER_BIN_VAR, HELPER_REPOSITORY,
    PREFIX, ROLE_LABEL,
};
use crate::ops::codex_auth::Login;

/// What the helper found, and the image it runs from for the rest of the run.
pub(super) struct Plan {
    pub image: HelperImage,
    pub reply: Reply,
    pub outcome: Change,
}

/// Step 8.
pub(super) fn make(r: &mut Run, checked: &Checked) -> Result<Plan, Failure> {
    let resolved = &checked.resolved;
    let opts = r.opts;
    let image = r.build_helper(resolved)?;
    let plan = r
        .helper(&image, resolved, Op::Plan, !opts.from_scratch, checked.dest_exists.then_some(false))
        .map_err(|e| Failure { code: exit::COPY_FAILED, message: format!("cannot read the volumes: {e}") })?;
    if let Some(message) = plan.error.clone() {
        return Err(helper_failure(plan.error_kind, message));
    }
    let outcome = plan.outcome.unwrap_or(Change::Copy);
    if outcome == Change::NeedsForce {
        return Err(needs_force(resolved, plan.dest, plan.source));
    }
    let dest_login = plan.dest.unwrap_or(Login::Absent);
    let source_login = plan.source.unwrap_or(Login::Absent);
    let what = if opts.from_scratch {
        match outcome {
            Change::Unchanged => format!(
                "{:?} already holds a login made with --from-scratch: nothing to do but validate",
                resolved.dest
            ),
            _ => format!(
                "log in with `codex login --device-auth` into {:?} (it holds {})",
                resolved.dest,
                dest_login.describe()
            ),
        }
    } else {
        let files = if plan.source_config { "auth.json and config.toml" } else { "auth.json" };
        match outcome {
            Change::Unchanged => {
                format!("{:?} already holds what {:?} holds: nothing to copy", resolved.dest, resolved.source)
            }
            _ => format!(
                "copy {files} ({}) from {:?} to {:?}{}",
                source_login.describe(),
                resolved.source,
                resolved.dest,
                if dest_login.has_credential() {
                    format!(", replacing {} (--force)", dest_login.describe())
                } else if dest_login == Login::NoCredential {
                    ", replacing an auth.json without a credential".to_owned()
                } else {
                    String::new()
                }
            ),
        }
    };
    r.say(Step::Plan, format_args!("plan: {what}"));
    if plan.recovered {
        r.note("an interrupted earlier run left its journal: its previous credentials are put back first");
    }
    if !plan.worker_tokens.is_empty() {
        r.note(format_args!(
            "MoonMind worker token files in the destination will be removed: {}",
            plan.worker_tokens.join(", ")
        ));
    }
    if !opts.from_scratch && source_login == Login::Chatgpt {
        r.warn(format!("the source volume {:?} {CHATGPT_WARNING}", resolved.source));
    }
    Ok(Plan { image, reply: plan, outcome })
}

/// `--dry-run`: what a run would change, after every check; nothing is changed.
pub(super) fn dry_run(r: &mut Run, checked: &Checked, plan: &Plan) -> String {
    let mut would = Vec::new();
    for network in &checked.missing_networks {
        would.push(format!("create the network {network:?}"));
    }
    if !checked.dest_exists {
        would.push(format!("create the volume {:?}", checked.resolved.dest));
    }
    if plan.outcome == Change::Copy || plan.reply.recovered {
        would.push(if r.opts.from_scratch { "log in".to_owned() } else { "copy".to_owned() });
    }
    would.push("validate with `docker compose --profile openclaw run --rm --no-deps --user app --env OPENCLAW_GATE_CHECK=requirements openclaw codex login status`".to_owned());
    r.note("dry run: nothing was changed");
    format!("dry run: would {}", would.join(", then "))
}

const CHATGPT_WARNING: &str = "holds a ChatGPT login: after this copy both volumes hold the same rotating refresh token, and whichever refreshes first invalidates the other (\"refresh token was already used\", openai/codex #6393, #9634, #17340). Prefer logging OpenClaw in on its own: re-run with --from-scratch --force";

pub(super) fn needs_force(resolved: &Resolved, dest: Option<Login>, source: Option<Login>) -> Failure {
    let held = dest.unwrap_or(Login::Absent).describe();
    let what = match source {
        Some(source) => format!("the source {:?} holds {}", resolved.source, source.describe()),
        None => "--from-scratch would log in again".to_owned(),
    };
    Failure {
        code: exit::NEEDS_FORCE,
        message: format!(
            "the destination volume {:?} already holds {held} that differs from what this run would put there ({what}); nothing was changed. Re-run with --force to replace it (the previous credentials are kept until validation passes)",
            resolved.dest
        ),
    }
}

/// The helper image of this run, removed on drop (whatever happened).
pub(super) struct HelperImage {
    docker: Docker,
    tag: String,
}

impl Drop for HelperImage {
    fn drop(&mut self) {
        match self.docker.run(&["image", "rm", &self.tag], Some(PROBE_TIMEOUT)) {
            Ok(ran) if ran.success() => {}
            Ok(ran) => {
                say_err!("{PREFIX}: warning: could not remove the helper image {}: {}", self.tag, ran.stderr_tail())
            }
            Err(e) => say_err!("{PREFIX}: warning: could not remove the helper image {}: {e}", self.tag),
        }
    }
}

/// The static binary the helper image gets (its path and the bytes checked to be static):
/// `--helper-bin`, else this executable if it is static.
fn helper_binary(opts: &Options) -> Result<(PathBuf, Vec<u8>), Failure> {
    let (path, named) = match &opts.helper_bin {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from("/proc/self/exe"), false),
    };
    let bytes = fs::read(&path).map_err(|e| Failure {
        code: exit::HELPER,
        message: format!("cannot read the helper binary {}: {e}", path.display()),
    })?;
    match has_interpreter(&bytes) {
        Ok(false) => Ok((path, bytes)),
        Ok(true) if named => fail(
            exit::HELPER,
            format!("{} is dynamically linked; the FROM-scratch helper image needs a static build (packaging/build-static.sh {PREFIX} DEST)", path.display()),
        ),
        Ok(true) => fail(
            exit::HELPER,
            format!("this build of {PREFIX} is dynamically linked and the FROM-scratch helper image needs a static one: run tools/{PREFIX}.sh (it builds one with packaging/build-static.sh), or pass --helper-bin / {HELPER_BIN_VAR}"),
        ),
        Err(e) => fail(exit::HELPER, format!("{}: {e}", path.display())),
    }
}

impl Run<'_> {
    /// The helper image of this run: `docker import` of a tar holding only the static tool. One
    /// image, no parent chain and no builder cache, so a concurrent run removing its own helper
    /// (`image rm` prunes untagged parents) cannot take a layer this one is being built on — with
    /// `docker build` it could ("failed to get digest"); and no intermediate containers (0.1 s).
    fn build_helper(&self, resolved: &Resolved) -> Result<HelperImage, Failure> {
        let (binary, bytes) = helper_binary(self.opts)?;
        let context = std::env::temp_dir().join(unique("openclaw-bootstrap-helper-context"));
        let built = (|| {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&context)
                .map_err(|e| format!("cannot create {}: {e}", context.display()))?;
            let tar = context.join("helper.tar");
            let file = fs::File::create(&tar).map_err(|e| format!("cannot create {}: {e}", tar.display()))?;
            helper::image_tar(&bytes, file)
                .map_err(|e| format!("cannot write {} holding {}: {e}", tar.display(), binary.display()))?;
            let tag = format!("{HELPER_REPOSITORY}:{}", unique("run"));
            let mut args: Vec<OsString> = vec!["import".into()];
            for change in helper::image_changes(ROLE_LABEL, DEST_LABEL, &resolved.dest) {
                args.extend(["--change".into(), change.into()]);
            }
            args.extend([tar.into_os_string(), tag.clone().into()]);
            let ran = self.docker.run_streamed(&args).map_err(|e| e.to_string())?;
            if !ran.success() {
                return Err(format!("docker import failed: {}", ran.stderr_tail()));
            }
            Ok(tag)
        })();
        let _ = fs::remove_dir_all(&context);
        match built {
            Ok(tag) => Ok(HelperImage { docker: self.docker.clone(), tag }),
            Err(e) => fail(exit::HELPER, format!("cannot build the helper image: {e}")),
        }
    }

    /// Runs the helper container for `op`; its JSON reply, or why there is none.
    pub(super) fn helper(
        &self,
        image: &HelperImage,
        resolved: &Resolved,
        op: Op,
        source: bool,
        dest: Option<bool>,
    ) -> Result<Reply, String> {
        let name = unique(&format!("openclaw-bootstrap-{}", op.as_str()));
        let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        // No network, read-only root, root with only what chown/chmod and reading app's 0600
        // files need. Volume names are validated (no `,`), so the --mount values are unambiguous.
        let mut args = owned(&["run", "--rm", "--name", &name, "--label"]);
        args.push(format!("{ROLE_LABEL}=helper"));
        args.push("--label".into());
        args.push(format!("{DEST_LABEL}={}", resolved.dest));
        args.extend(owned(&[
            "--network",
            "none",
            "--user",
            "0:0",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CHOWN",
            "--cap-add",
            "DAC_OVERRIDE",
            "--cap-add",
            "FOWNER",
            "--security-opt",
            "no-new-privileges",
        ]));
        if source {
            args.push("--mount".into());
            args.push(format!("type=volume,source={},target={SOURCE_MOUNT},readonly", resolved.source));
        }
        if let Some(writable) = dest {
            args.push("--mount".into());
            let ro = if writable { "" } else { ",readonly" };
            args.push(format!("type=volume,source={},target={DEST_MOUNT}{ro}", resolved.dest));
        }
        if matches!(op, Op::Stage | Op::Commit) {
            if let Ok(delay) = std::env::var(volume::STEP_DELAY_VAR) {
                args.push("--env".into());
                args.push(format!("{}={delay}", volume::STEP_DELAY_VAR));
            }
        }
        args.push(image.tag.clone());
        args.push(op.as_str().into());
        if source {
            args.extend(owned(&["--source", SOURCE_MOUNT]));
        }
        if dest.is_some() {
            args.extend(owned(&["--dest", DEST_MOUNT]));
        }
        for (on, flag) in
            [(self.opts.force, "--force"), (self.opts.from_scratch, "--from-scratch"), (self.opts.verbose, "--verbose")]
        {
            if on {
                args.push(flag.into());
            }
        }
        let ran = self.docker.run_streamed(&args).map_err(|e| e.to_string())?;
        let reply: Option<Reply> =
            ran.stdout_text().lines().rev().find(|l| !l.trim().is_empty()).and_then(|l| serde_json::from_str(l).ok());
        match reply {
            Some(reply) if reply.error.is_some() || ran.success() => Ok(reply),
            _ => Err(format!(
                "the helper container ({}) ended with {} and no answer: {}",
                op.as_str(),
                ran.status,
                ran.stderr_tail()
            )),
        }
    }
}

/// The bootstrap checks the binary it is given (`--helper-bin`, or itself) here; the bins this
/// package builds are checked by packaging/build-static.sh.
/// Whether an ELF64 little-endian file asks for a program interpreter (`PT_INTERP`): a dynamically
/// linked binary does, a static one does not.
pub fn has_interpreter(elf: &[u8]) -> Result<bool, &'static str> {
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" {
        return Err("not an ELF file");
    }
    if elf[4] != 2 || elf[5] != 1 {
        return Err("not a 64-bit little-endian ELF file");
    }
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let header = elf.get(at..at + 4).ok_or("truncated program headers")?;
        if u32::from_le_bytes(header.try_into().unwrap()) == 3 {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_detection() {
        let own = std::fs::read("/proc/self/exe").unwrap();
        // Tests are built for the host's glibc target, dynamically linked.
        assert_eq!(has_interpreter(&own), Ok(true));
        assert!(has_interpreter(b"#!/bin/sh\n").is_err());
        let mut static_like = own.clone();
        // Turn every PT_INTERP into PT_NULL: what a static binary looks like to the check.
        let phoff = u64::from_le_bytes(static_like[0x20..0x28].try_into().unwrap()) as usize;
        let (size, num) = (
            u16::from_le_bytes([static_like[0x36], static_like[0x37]]) as usize,
            u16::from_le_bytes([static_like[0x38], static_like[0x39]]) as usize,
        );
        for i in 0..num {
            let at = phoff + i * size;
            if static_like[at..at + 4] == 3u32.to_le_bytes() {
                static_like[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
            }
        }
        assert_eq!(has_interpreter(&static_like), Ok(false));
    }
}
