//! `bootstrap-openclaw-codex-volume`: prepares OpenClaw's dedicated Codex auth volume from the
//! workers' one (design doc §8), safely and atomically.
//!
//! Every check runs before anything changes, and every check fails closed: a probe that cannot run
//! stops the tool with its step's exit code; nothing is read as "empty" or "not in use". The steps:
//!
//! 1. the Docker CLI, the daemon and Compose v2 answer;
//! 2. Compose resolves the stack (`docker compose --profile openclaw config --format json`, which
//!    reads `.env` and the environment): the volume, network and image names come from there;
//! 3. one run per destination volume at a time (a claim: an exclusive `flock`);
//! 4. the external networks the service joins (`local-network`) exist, or will be created;
//! 5. the source volume exists and no running container mounts it;
//! 6. the destination volume is attached to no container at all, or does not exist yet;
//! 7. the OpenClaw image exists (validation runs it; nothing is pulled or built);
//! 8. the plan: a helper container of a per-run image (`docker import`) holding nothing but this static
//!    binary reads both volumes (read-only) and decides: nothing to do, copy, or `--force` needed.
//!    `--dry-run` stops here;
//! 9. the copy by the same helper (`volume.rs`: staged, journaled, per-file atomic replace; the
//!    previous files kept until validation passes), with steps 5 and 6 checked again right before
//!    the swap; or, with `--from-scratch`, `codex login --device-auth` in the service;
//! 10. validation: `docker compose --profile openclaw run --rm --no-deps --user app --env
//!     OPENCLAW_GATE_CHECK=requirements openclaw codex login status`, i.e. the service's entrypoint and the `codex` shim on the dedicated volume; on
//!     failure the previous credentials are put back.
//!
//! A run killed anywhere leaves the destination's journal; the next run rolls it back first.
//!
//! Each step is a `Step` (its number is what the run prints); steps 1–7 are `preflight`, 8 `plan`,
//! 9 `apply`, 10 `validate`, and `run` below drives them, putting the previous credentials back in
//! one place (`Run::settle`) when a step after the first change fails.

/// `println!`/`eprintln!` that never panic: a closed pipe (`| head`) must not abort a run midway.
macro_rules! say_out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod apply;
pub mod docker;
pub mod helper;
mod plan;
mod preflight;
mod validate;
pub mod volume;

pub use preflight::{claim, claim_path, resolve, valid_volume_name, Claim, Resolved};

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::audit::{self, Action, Event};
use crate::exit::bootstrap as exit;
use crate::exit::Code;
use docker::{Docker, RunError};
use helper::Op;
use plan::HelperImage;
use volume::ErrorKind;

pub const PREFIX: &str = "bootstrap-openclaw-codex-volume";
pub const AUDIT_SOURCE: &str = "bootstrap";
pub const SERVICE: &str = "openclaw";
pub const PROFILE: &str = "openclaw";
/// Keys of the two volumes in docker-compose.yaml (their names are what Compose resolves).
pub const SOURCE_KEY: &str = "codex_auth_volume";
pub const DEST_KEY: &str = "openclaw_codex_auth_volume";
/// Label on every container and image this tool makes: its role (`helper`, `validation`, `login`).
pub const ROLE_LABEL: &str = "org.moonmind.openclaw.bootstrap";
/// Label naming the destination volume a container or image of this tool works on.
pub const DEST_LABEL: &str = "org.moonmind.openclaw.bootstrap.destination";
/// Repository of the per-run helper image.
pub const HELPER_REPOSITORY: &str = "openclaw-codex-bootstrap-helper";
pub const HELPER_BIN_VAR: &str = "OPENCLAW_BOOTSTRAP_HELPER_BIN";

/// The steps, in the order they run; each prints its number when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Docker = 1,
    Compose,
    Claim,
    Networks,
    Source,
    Destination,
    Image,
    Plan,
    Apply,
    Validate,
}

const STEPS: u8 = Step::Validate as u8;

/// Why the tool stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}: {} (exit {})", self.message, self.code.value)
    }
}

fn fail<T>(code: Code, message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure { code, message: message.into() })
}

/// What the command line asks for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub from_scratch: bool,
    pub verbose: bool,
    pub dry_run: bool,
    pub force: bool,
    pub project_directory: Option<PathBuf>,
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    /// A static build of this tool for the helper image (default: this executable, if static).
    pub helper_bin: Option<PathBuf>,
}

impl Options {
    fn compose_globals(&self) -> Vec<OsString> {
        let mut globals = Vec::new();
        if let Some(dir) = &self.project_directory {
            globals.push("--project-directory".into());
            globals.push(dir.into());
        }
        for file in &self.files {
            globals.push("--file".into());
            globals.push(file.into());
        }
        if let Some(name) = &self.project_name {
            globals.push("--project-name".into());
            globals.push(name.into());
        }
        globals
    }
}

/// What a successful run reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub summary: String,
    pub warnings: Vec<String>,
}

/// How a step that may have changed the destination stopped: whether to put it back.
enum Stop {
    /// Nothing was changed (or a later run puts it back): the failure as it is.
    Unchanged(Failure),
    /// The destination may hold what this run staged: put the previous credentials back.
    RollBack(Failure),
}

/// One run: the options, the Docker CLI, and what it warned about.
struct Run<'a> {
    opts: &'a Options,
    docker: Docker,
    warnings: Vec<String>,
}

/// Runs the bootstrap, one `Step` after another; prints each on stdout. Nothing changes before
/// `Step::Apply`; from there a failure puts the previous credentials back.
pub fn run(opts: &Options) -> Result<Done, Failure> {
    let docker = Docker { verbose: opts.verbose, compose_globals: opts.compose_globals() };
    let mut r = Run { opts, docker, warnings: Vec::new() };
    let checked = preflight::check(&mut r)?;
    let plan = plan::make(&mut r, &checked)?;
    if opts.dry_run {
        let summary = plan::dry_run(&mut r, &checked, &plan);
        return Ok(Done { summary, warnings: r.warnings });
    }
    let changed = apply::apply(&mut r, &checked, &plan).map_err(|stop| r.settle(stop, &plan, &checked.resolved))?;
    validate::validate(&mut r, &checked, &plan, changed).map_err(|stop| r.settle(stop, &plan, &checked.resolved))?;
    let (dest, source) = (&checked.resolved.dest, &checked.resolved.source);
    let summary = if !changed {
        format!("{dest:?} was already bootstrapped; nothing rewritten, login validated")
    } else if opts.from_scratch {
        format!("{dest:?} holds its own login, validated")
    } else {
        format!("{dest:?} holds a validated copy of {source:?}'s login")
    };
    Ok(Done { summary, warnings: r.warnings })
}

impl Run<'_> {
    fn say(&self, step: Step, text: impl fmt::Display) {
        say_out!("{PREFIX}: [{}/{STEPS}] {text}", step as u8);
    }

    fn note(&self, text: impl fmt::Display) {
        say_out!("{PREFIX}:       {text}");
    }

    fn warn(&mut self, text: String) {
        say_err!("{PREFIX}: WARNING: {text}");
        self.warnings.push(text);
    }

    /// The failure a stopped step ends the run with, after putting the previous credentials back
    /// when it may have changed them.
    fn settle(&self, stop: Stop, plan: &plan::Plan, resolved: &Resolved) -> Failure {
        match stop {
            Stop::Unchanged(failure) => failure,
            Stop::RollBack(failure) => self.roll_back(&plan.image, resolved, failure),
        }
    }

    /// Puts the previous credentials back after `failure`; a failed rollback is worse.
    fn roll_back(&self, image: &HelperImage, resolved: &Resolved, failure: Failure) -> Failure {
        match self.helper(image, resolved, Op::Rollback, false, Some(true)) {
            Ok(reply) if reply.error.is_none() => {
                let what = if reply.rolled_back {
                    format!("the previous credentials of {:?} were put back", resolved.dest)
                } else {
                    format!("{:?} was not changed", resolved.dest)
                };
                Failure { code: failure.code, message: format!("{}; {what}", failure.message) }
            }
            Ok(reply) => rollback_failed(resolved, failure, reply.error.unwrap_or_default()),
            Err(e) => rollback_failed(resolved, failure, e),
        }
    }

    fn compose_run(&self, name: &str, role: &str, resolved: &Resolved) -> Vec<OsString> {
        let role = format!("{ROLE_LABEL}={role}");
        let dest = format!("{DEST_LABEL}={}", resolved.dest);
        self.docker.compose_args(&[
            "--profile",
            PROFILE,
            "run",
            "--rm",
            "--no-deps",
            "--pull",
            "never",
            "--user",
            "app",
            "--name",
            name,
            "--label",
            &role,
            "--label",
            &dest,
        ])
    }
}

/// Runs, prints the outcome, leaves an audit record; the exit code.
pub fn run_and_report(opts: &Options) -> u8 {
    let result = run(opts);
    let mut events = Vec::new();
    match &result {
        Ok(done) => {
            say_out!("{PREFIX}: done: {}", done.summary);
            if !opts.dry_run {
                for warning in &done.warnings {
                    events.push(Event::new(AUDIT_SOURCE, Action::SharedRefreshToken, warning.clone()));
                }
                events.push(Event::new(AUDIT_SOURCE, Action::Bootstrapped, done.summary.clone()));
            }
        }
        Err(failure) => {
            say_err!("{failure}");
            if !opts.dry_run {
                events.push(Event::new(AUDIT_SOURCE, Action::BootstrapFailed, failure.to_string()));
            }
        }
    }
    audit::report(&events);
    match result {
        Ok(_) => 0,
        Err(failure) => failure.code.value,
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A name for a container or image of this run: `PREFIX-<pid>-<nanos>-<n>`.
fn unique(prefix: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos:08x}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn run_failure(e: RunError, code: Code, what: &str) -> Failure {
    match e {
        RunError::NotFound { .. } => {
            Failure { code: exit::DOCKER_MISSING, message: format!("cannot {what}: no `docker` on PATH") }
        }
        e => Failure { code, message: format!("cannot {what}: {e}") },
    }
}

fn rollback_failed(resolved: &Resolved, failure: Failure, why: String) -> Failure {
    Failure {
        code: exit::ROLLBACK_FAILED,
        message: format!(
            "{} (exit {}); then putting the previous credentials of {:?} back FAILED: {why}. The destination may hold credentials that were not validated; its journal is kept, and the next run of this tool puts the previous ones back before anything else",
            failure.message,
            failure.code.value,
            resolved.dest
        ),
    }
}

fn helper_failure(kind: Option<ErrorKind>, message: String) -> Failure {
    let code = match kind {
        Some(ErrorKind::Source) => exit::SOURCE_CREDENTIALS,
        Some(ErrorKind::NeedsForce) => exit::NEEDS_FORCE,
        _ => exit::COPY_FAILED,
    };
    Failure { code, message }
}
