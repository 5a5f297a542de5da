//! `bootstrap-openclaw-codex-volume`: prepares OpenClaw's dedicated Codex auth volume from the
//! workers' one (design doc §8), safely and atomically.
//!
//! Every check runs before anything changes, and every check fails closed: a probe that cannot run
//! stops the tool with its step's exit code; nothing is read as "empty" or "not in use". The steps:
//!
//! 1. the Docker CLI, the daemon and Compose v2 answer;
//! 2. Compose resolves the stack (`docker compose --profile openclaw config --format json`, which
//!    reads `.env` and the environment): the volume, network and image names come from there;
//! 3. one run per destination volume at a time (`flock`);
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

pub mod docker;
pub mod helper;
pub mod volume;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::audit::{self, Action, Event};
use crate::exit::bootstrap as exit;
use crate::exit::Code;
use docker::{Docker, Ran, RunError, User, PROBE_TIMEOUT};
use helper::{Op, Reply, DEST_MOUNT, SOURCE_MOUNT};
use volume::{ErrorKind, Login, Outcome};

/// `println!`/`eprintln!` that never panic: a closed pipe (`| head`) must not abort a run midway.
macro_rules! say_out {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! say_err {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

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
/// How long the daemon may take to answer `docker version`.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(20);
const STEPS: usize = 10;

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

// ---------------------------------------------------------------------------------------------
// Step 2: what Compose resolves

/// The names Compose will use, from `docker compose --profile openclaw config --format json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub project: String,
    pub source: String,
    pub dest: String,
    /// External networks the openclaw service joins (Compose creates the others itself).
    pub networks: Vec<String>,
    pub image: String,
}

/// Docker's rule for local volume names.
pub fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn volume_name(config: &Value, key: &str, project: &str) -> Result<String, String> {
    let volume = config["volumes"].get(key).ok_or_else(|| format!("the Compose file defines no `{key}` volume"))?;
    let name = match volume["name"].as_str() {
        Some(name) => name.to_owned(),
        None => format!("{project}_{key}"),
    };
    if !valid_volume_name(&name) {
        return Err(format!(
            "volume `{key}` resolves to the name {name:?}, which Docker refuses (letters, digits, `_`, `.`, `-`; check .env and the environment)"
        ));
    }
    Ok(name)
}

/// Reads what the bootstrap needs from Compose's resolved model; refuses a stack where OpenClaw
/// would not get its own volume.
pub fn resolve(config: &Value) -> Result<Resolved, String> {
    let project = config["name"].as_str().ok_or("Compose resolved no project name")?.to_owned();
    let service = config["services"]
        .get(SERVICE)
        .ok_or("the Compose file has no `openclaw` service (with the `openclaw` profile)")?;
    let source = volume_name(config, SOURCE_KEY, &project)?;
    let dest = volume_name(config, DEST_KEY, &project)?;
    if source == dest {
        return Err(format!(
            "the source and the destination are the same volume {source:?}: OpenClaw must never share the workers' Codex credentials; set OPENCLAW_CODEX_VOLUME_NAME to another name"
        ));
    }
    let mut mounts_dest = false;
    for mount in service["volumes"].as_array().into_iter().flatten() {
        if mount["type"] != "volume" {
            continue;
        }
        let Some(key) = mount["source"].as_str() else {
            continue;
        };
        let name = volume_name(config, key, &project)?;
        if name == source {
            return Err(format!(
                "the openclaw service mounts the workers' volume {source:?} (as `{key}`): OpenClaw must use its own"
            ));
        }
        mounts_dest |= name == dest;
    }
    if !mounts_dest {
        return Err(format!(
            "the openclaw service does not mount `{DEST_KEY}` ({dest:?}): validation would not test the dedicated volume"
        ));
    }
    let mut networks = Vec::new();
    if let Some(joined) = service["networks"].as_object() {
        for key in joined.keys() {
            let network = &config["networks"][key];
            if network["external"] == Value::Bool(true) {
                let name = network["name"].as_str().unwrap_or(key);
                if name.is_empty() {
                    return Err(format!("network `{key}` resolves to an empty name"));
                }
                networks.push(name.to_owned());
            }
        }
    }
    let image = match service["image"].as_str() {
        Some(image) if !image.is_empty() => image.to_owned(),
        _ => format!("{project}-{SERVICE}"),
    };
    Ok(Resolved { project, source, dest, networks, image })
}

// ---------------------------------------------------------------------------------------------
// Step 3: one run per destination

/// An exclusive `flock` on `$TMPDIR/openclaw-codex-bootstrap.<destination>.lock`, held until drop.
pub struct Lock {
    _file: nix::fcntl::Flock<fs::File>,
    pub path: PathBuf,
}

pub fn lock_path(dest: &str) -> PathBuf {
    std::env::temp_dir().join(format!("openclaw-codex-bootstrap.{dest}.lock"))
}

pub fn lock(dest: &str) -> Result<Lock, Failure> {
    use nix::fcntl::{Flock, FlockArg};
    let path = lock_path(dest);
    let open = |write: bool| {
        fs::OpenOptions::new()
            .read(true)
            .write(write)
            .create(write)
            .mode(0o644)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
    };
    // Someone else's lock file can still be locked through a read-only descriptor.
    let (file, writable) = match open(true) {
        Ok(file) => (file, true),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => match open(false) {
            Ok(file) => (file, false),
            Err(e) => return fail(exit::LOCKED, format!("cannot open the lock file {}: {e}", path.display())),
        },
        Err(e) => return fail(exit::LOCKED, format!("cannot open the lock file {}: {e}", path.display())),
    };
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut locked) => {
            if writable {
                let _ = locked.set_len(0);
                let _ = locked.rewind();
                let _ = writeln!(locked, "{}", std::process::id());
            }
            Ok(Lock { _file: locked, path })
        }
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() { String::new() } else { format!(" (pid {holder})") };
            fail(
                exit::LOCKED,
                format!(
                    "another bootstrap of the destination volume {dest:?} is running{who}; it holds {}. Wait for it to finish, then run again",
                    path.display()
                ),
            )
        }
        Err((_, errno)) => fail(exit::LOCKED, format!("cannot lock {}: {errno}", path.display())),
    }
}

// ---------------------------------------------------------------------------------------------
// The run

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A name for a container or image of this run: `PREFIX-<pid>-<nanos>-<n>`.
fn unique(prefix: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos:08x}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The helper image of this run, removed on drop (whatever happened).
struct HelperImage {
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
    match crate::ops::image::has_interpreter(&bytes) {
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

struct Run<'a> {
    opts: &'a Options,
    docker: Docker,
    step: usize,
    warnings: Vec<String>,
}

/// What a successful run reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub summary: String,
    pub warnings: Vec<String>,
}

impl Run<'_> {
    fn say(&mut self, text: impl fmt::Display) {
        self.step += 1;
        say_out!("{PREFIX}: [{}/{STEPS}] {text}", self.step);
    }

    fn note(&self, text: impl fmt::Display) {
        say_out!("{PREFIX}:       {text}");
    }

    fn warn(&mut self, text: String) {
        say_err!("{PREFIX}: WARNING: {text}");
        self.warnings.push(text);
    }

    /// A read-only probe: bounded, and any failure is `code`.
    fn probe<S: AsRef<OsStr>>(&self, args: &[S], code: Code, what: &str) -> Result<Ran, Failure> {
        let ran = self.docker.run(args, Some(PROBE_TIMEOUT)).map_err(|e| run_failure(e, code, what))?;
        if !ran.success() {
            return fail(code, format!("cannot {what}: {}", ran.stderr_tail()));
        }
        Ok(ran)
    }

    fn names(&self, kind: &str, code: Code) -> Result<Vec<String>, Failure> {
        let mut args = vec![kind, "ls", "--format", "{{.Name}}"];
        if kind == "network" {
            args.push("--no-trunc");
        }
        let ran = self.probe(&args, code, &format!("list the {kind}s"))?;
        Ok(ran.stdout_text().lines().map(|l| l.trim().to_owned()).collect())
    }

    fn users(&self, volume: &str, code: Code) -> Result<Vec<User>, Failure> {
        let filter = format!("volume={volume}");
        let format = docker::users_format(ROLE_LABEL);
        let ran = self.probe(
            &["ps", "--all", "--no-trunc", "--filter", &filter, "--format", &format],
            code,
            &format!("list the containers using the volume {volume:?}"),
        )?;
        docker::parse_users(&ran.stdout_text())
            .map_err(|e| Failure { code, message: format!("cannot tell which containers use {volume:?}: {e}") })
    }

    /// The source is in use when a running container other than a bootstrap helper (which only
    /// reads it) mounts it.
    fn check_source_free(&self, source: &str) -> Result<(), Failure> {
        let busy: Vec<String> = self
            .users(source, exit::SOURCE_IN_USE)?
            .iter()
            .filter(|u| u.running() && u.role != "helper")
            .map(User::describe)
            .collect();
        if !busy.is_empty() {
            return fail(
                exit::SOURCE_IN_USE,
                format!(
                    "the source volume {source:?} is mounted by running container(s) {}: stop them (e.g. the Codex workers) so auth.json is not being rewritten, then run again",
                    busy.join(", ")
                ),
            );
        }
        Ok(())
    }

    /// The destination must not be attached to any container, whatever its state.
    fn check_dest_free(&self, dest: &str) -> Result<(), Failure> {
        let users = self.users(dest, exit::DESTINATION_IN_USE)?;
        if !users.is_empty() {
            let list: Vec<String> = users.iter().map(User::describe).collect();
            return fail(
                exit::DESTINATION_IN_USE,
                format!(
                    "the destination volume {dest:?} is attached to container(s) {}: its credentials may be live. Stop and remove them (`docker compose --profile openclaw down openclaw`, or `docker rm NAME`), then run again",
                    list.join(", ")
                ),
            );
        }
        Ok(())
    }

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
    fn helper(
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

    /// Step 9: `codex login status` through the service's entrypoint and the shim.
    fn validate(&self, resolved: &Resolved) -> Result<String, Failure> {
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

fn run_failure(e: RunError, code: Code, what: &str) -> Failure {
    match e {
        RunError::NotFound => {
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

fn needs_force(resolved: &Resolved, dest: Option<Login>, source: Option<Login>) -> Failure {
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

const CHATGPT_WARNING: &str = "holds a ChatGPT login: after this copy both volumes hold the same rotating refresh token, and whichever refreshes first invalidates the other (\"refresh token was already used\", openai/codex #6393, #9634, #17340). Prefer logging OpenClaw in on its own: re-run with --from-scratch --force";

/// Runs the bootstrap; prints each step on stdout.
pub fn run(opts: &Options) -> Result<Done, Failure> {
    let mut run = Run {
        opts,
        docker: Docker { verbose: opts.verbose, compose_globals: opts.compose_globals() },
        step: 0,
        warnings: Vec::new(),
    };
    let r = &mut run;

    // 1. Docker CLI, daemon, Compose v2.
    let client = r.docker.run(&["--version"], Some(PROBE_TIMEOUT)).map_err(|e| match e {
        RunError::NotFound => Failure {
            code: exit::DOCKER_MISSING,
            message:
                "no Docker CLI: `docker` is not on PATH; install Docker (docker-ce-cli or docker.io) and run again"
                    .into(),
        },
        e => Failure { code: exit::DOCKER_MISSING, message: format!("the Docker CLI does not run: {e}") },
    })?;
    if !client.success() {
        return fail(exit::DOCKER_MISSING, format!("`docker --version` failed: {}", client.stderr_tail()));
    }
    let server = r
        .docker
        .run(&["version", "--format", "{{.Server.Version}}"], Some(DAEMON_TIMEOUT))
        .map_err(|e| run_failure(e, exit::DAEMON_DOWN, "reach the Docker daemon"))?;
    if !server.success() || server.stdout_text().trim().is_empty() {
        return fail(
            exit::DAEMON_DOWN,
            format!("the Docker daemon does not answer (is it running? DOCKER_HOST, the context, permission on the socket): {}", server.stderr_tail()),
        );
    }
    let compose = r
        .docker
        .run(&["compose", "version", "--short"], Some(PROBE_TIMEOUT))
        .map_err(|e| run_failure(e, exit::COMPOSE_MISSING, "run `docker compose version`"))?;
    let compose_version = compose.stdout_text().trim().to_owned();
    match docker::compose_major(&compose_version) {
        Some(major) if compose.success() && major >= 2 => {}
        _ if !compose.success() => {
            return fail(
                exit::COMPOSE_MISSING,
                format!("Compose v2 is missing: `docker compose version` failed ({}). Install the Docker Compose plugin (docker-compose-plugin), or `make compose-cli` and export DOCKER_CONFIG=target/docker-config; the old `docker-compose` v1 is not enough", compose.stderr_tail()),
            )
        }
        _ => {
            return fail(
                exit::COMPOSE_MISSING,
                format!("`docker compose` is {compose_version:?}; Compose v2 or later is needed"),
            )
        }
    }
    // "Docker version 28.2.2, build e6534b4"
    let client_text = client.stdout_text();
    let client_version =
        client_text.trim().trim_start_matches("Docker version ").split(',').next().unwrap_or_default().to_owned();
    let server_version = server.stdout_text().trim().to_owned();
    r.say(format_args!("Docker CLI {client_version}, daemon {server_version}, Compose {compose_version}"));

    // 2. What Compose resolves (.env, environment, files): nothing is created before this.
    let config = r.probe(
        &r.docker.compose_args(&["--profile", PROFILE, "config", "--format", "json"]),
        exit::COMPOSE_CONFIG,
        "resolve the Compose stack (`docker compose --profile openclaw config`)",
    )?;
    let config: Value = serde_json::from_slice(&config.stdout).map_err(|e| Failure {
        code: exit::COMPOSE_CONFIG,
        message: format!("`docker compose config --format json` printed no JSON: {e}"),
    })?;
    let resolved = resolve(&config).map_err(|message| Failure { code: exit::COMPOSE_CONFIG, message })?;
    r.say(format_args!(
        "Compose project {:?}: source volume {:?} ({SOURCE_KEY}), destination volume {:?} ({DEST_KEY}), image {:?}",
        resolved.project, resolved.source, resolved.dest, resolved.image
    ));

    // 3. One run per destination.
    let lock = lock(&resolved.dest)?;
    r.say(format_args!("lock {} held", lock.path.display()));

    // 4. Networks.
    let existing = r.names("network", exit::NETWORK)?;
    let missing_networks: Vec<String> = resolved.networks.iter().filter(|n| !existing.contains(n)).cloned().collect();
    r.say(if resolved.networks.is_empty() {
        "networks: the service joins no external network".to_owned()
    } else if missing_networks.is_empty() {
        format!("networks: {:?} exist", resolved.networks)
    } else {
        format!("networks: {missing_networks:?} missing, will be created")
    });

    // 5. Source.
    let volumes = r.names("volume", if opts.from_scratch { exit::DESTINATION_IN_USE } else { exit::SOURCE_MISSING })?;
    if opts.from_scratch {
        r.say("source: not used (--from-scratch)");
    } else {
        if !volumes.contains(&resolved.source) {
            return fail(
                exit::SOURCE_MISSING,
                format!(
                    "the source volume {:?} does not exist: log the Codex workers in first, set CODEX_VOLUME_NAME (in .env or the environment) to their volume, or use --from-scratch",
                    resolved.source
                ),
            );
        }
        r.check_source_free(&resolved.source)?;
        r.say(format_args!("source volume {:?}: exists, no running container mounts it", resolved.source));
    }

    // 6. Destination.
    let dest_exists = volumes.contains(&resolved.dest);
    if dest_exists {
        r.check_dest_free(&resolved.dest)?;
        r.say(format_args!("destination volume {:?}: exists, attached to no container", resolved.dest));
    } else {
        r.say(format_args!("destination volume {:?}: missing, will be created", resolved.dest));
    }

    // 7. The image validation runs.
    r.probe(
        &["image", "inspect", "--format", "{{.Id}}", &resolved.image],
        exit::IMAGE_MISSING,
        &format!("find the OpenClaw image {:?} (build it first: make image, or set OPENCLAW_IMAGE)", resolved.image),
    )?;
    r.say(format_args!("image {:?}: present", resolved.image));

    // 8. Plan: the helper reads the volumes (read-only).
    let image = r.build_helper(&resolved)?;
    let plan = r
        .helper(&image, &resolved, Op::Plan, !opts.from_scratch, dest_exists.then_some(false))
        .map_err(|e| Failure { code: exit::COPY_FAILED, message: format!("cannot read the volumes: {e}") })?;
    if let Some(message) = plan.error.clone() {
        return Err(helper_failure(plan.error_kind, message));
    }
    let outcome = plan.outcome.unwrap_or(Outcome::Copy);
    if outcome == Outcome::NeedsForce {
        return Err(needs_force(&resolved, plan.dest, plan.source));
    }
    let dest_login = plan.dest.unwrap_or(Login::Absent);
    let source_login = plan.source.unwrap_or(Login::Absent);
    let what = if opts.from_scratch {
        match outcome {
            Outcome::Unchanged => format!(
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
            Outcome::Unchanged => {
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
    r.say(format_args!("plan: {what}"));
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
    if opts.dry_run {
        let mut would = Vec::new();
        for network in &missing_networks {
            would.push(format!("create the network {network:?}"));
        }
        if !dest_exists {
            would.push(format!("create the volume {:?}", resolved.dest));
        }
        if outcome == Outcome::Copy || plan.recovered {
            would.push(if opts.from_scratch { "log in".to_owned() } else { "copy".to_owned() });
        }
        would.push("validate with `docker compose --profile openclaw run --rm --no-deps --user app --env OPENCLAW_GATE_CHECK=requirements openclaw codex login status`".to_owned());
        r.note("dry run: nothing was changed");
        return Ok(Done {
            summary: format!("dry run: would {}", would.join(", then ")),
            warnings: std::mem::take(&mut r.warnings),
        });
    }

    // Changes start here.
    for network in &missing_networks {
        let ran = r
            .docker
            .run(&["network", "create", network.as_str()], Some(PROBE_TIMEOUT))
            .map_err(|e| run_failure(e, exit::NETWORK, "create the network"))?;
        if !ran.success() {
            return fail(exit::NETWORK, format!("cannot create the network {network:?}: {}", ran.stderr_tail()));
        }
        r.note(format_args!("created the network {network:?}"));
    }
    if !dest_exists {
        // No Compose labels: `docker compose down --volumes` never deletes these credentials.
        let label = format!("{ROLE_LABEL}=destination");
        let ran = r
            .docker
            .run(&["volume", "create", "--label", &label, &resolved.dest], Some(PROBE_TIMEOUT))
            .map_err(|e| run_failure(e, exit::DESTINATION_IN_USE, "create the destination volume"))?;
        if !ran.success() {
            return fail(
                exit::DESTINATION_IN_USE,
                format!("cannot create the volume {:?}: {}", resolved.dest, ran.stderr_tail()),
            );
        }
        r.note(format_args!("created the volume {:?}", resolved.dest));
    }

    let op = if opts.from_scratch { Op::PrepareLogin } else { Op::Stage };
    let staged = if outcome == Outcome::Unchanged && !plan.recovered {
        Ok(plan.clone())
    } else {
        r.helper(&image, &resolved, op, !opts.from_scratch, Some(true))
            .map_err(|e| Failure { code: exit::COPY_FAILED, message: format!("the copy failed: {e}") })
    };
    let staged = match staged {
        Ok(reply) if reply.error.is_none() => reply,
        Ok(reply) => {
            let failure = helper_failure(reply.error_kind, reply.error.unwrap_or_default());
            return Err(r.roll_back(&image, &resolved, failure));
        }
        Err(failure) => return Err(r.roll_back(&image, &resolved, failure)),
    };
    if staged.recovered {
        r.note("put back the previous credentials an interrupted earlier run had left");
    }
    let changed = match staged.outcome.unwrap_or(Outcome::Copy) {
        // The source changed since the plan (a rotation in between).
        Outcome::NeedsForce => return Err(needs_force(&resolved, plan.dest, staged.source.or(plan.source))),
        Outcome::Unchanged => false,
        Outcome::Copy => true,
    };
    let mut removed_tokens = Vec::new();
    if changed && !opts.from_scratch {
        // Nothing live has changed yet: check again right before the swap.
        let recheck = r.check_source_free(&resolved.source).and_then(|()| r.check_dest_free(&resolved.dest));
        if let Err(failure) = recheck {
            return Err(r.roll_back(&image, &resolved, failure));
        }
        match r.helper(&image, &resolved, Op::Commit, false, Some(true)) {
            Ok(reply) if reply.error.is_none() => removed_tokens = reply.worker_tokens,
            Ok(reply) => {
                let failure = Failure {
                    code: exit::COPY_FAILED,
                    message: format!("the copy failed: {}", reply.error.unwrap_or_default()),
                };
                return Err(r.roll_back(&image, &resolved, failure));
            }
            Err(e) => {
                let failure = Failure { code: exit::COPY_FAILED, message: format!("the copy failed: {e}") };
                return Err(r.roll_back(&image, &resolved, failure));
            }
        }
    }
    if changed && opts.from_scratch {
        if let Err(failure) = r.check_dest_free(&resolved.dest).and_then(|()| r.login(&resolved)) {
            return Err(r.roll_back(&image, &resolved, failure));
        }
    }
    r.say(if !changed {
        "nothing written".to_owned()
    } else if opts.from_scratch {
        format!("logged in into {:?}", resolved.dest)
    } else {
        format!(
            "copied {} into {:?} (owner app 1000:1000, auth.json 0600){}",
            staged.files.join(" and "),
            resolved.dest,
            if removed_tokens.is_empty() { String::new() } else { format!("; removed {}", removed_tokens.join(", ")) }
        )
    });

    // 10. Validation, then the run becomes final.
    let said = match r.validate(&resolved) {
        Ok(said) => said,
        Err(failure) if changed => return Err(r.roll_back(&image, &resolved, failure)),
        Err(failure) => return fail(failure.code, format!("{}; nothing had been changed", failure.message)),
    };
    if changed {
        match r.helper(&image, &resolved, Op::Finish, false, Some(true)) {
            Ok(reply) if reply.error.is_none() => {}
            Ok(reply) => return fail(exit::COPY_FAILED, format!("validation passed but the run could not be finalised: {}; the next run puts the previous credentials back", reply.error.unwrap_or_default())),
            Err(e) => return fail(exit::COPY_FAILED, format!("validation passed but the run could not be finalised: {e}; the next run puts the previous credentials back")),
        }
    }
    r.say(format_args!("validated: `codex login status` in the openclaw service: {said}"));
    drop(lock);
    let summary = if !changed {
        format!("{:?} was already bootstrapped; nothing rewritten, login validated", resolved.dest)
    } else if opts.from_scratch {
        format!("{:?} holds its own login, validated", resolved.dest)
    } else {
        format!("{:?} holds a validated copy of {:?}'s login", resolved.dest, resolved.source)
    };
    Ok(Done { summary, warnings: std::mem::take(&mut r.warnings) })
}

/// The bin's main: runs, prints the outcome, leaves an audit record; the exit code.
pub fn main(opts: &Options) -> u8 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> Value {
        json!({
            "name": "moonmind",
            "services": {
                "openclaw": {
                    "image": "moonmind/openclaw:local",
                    "volumes": [
                        {"type": "volume", "source": "openclaw_codex_auth_volume", "target": "/home/app/.codex"},
                        {"type": "volume", "source": "openclaw_data", "target": "/var/lib/openclaw"},
                        {"type": "bind", "source": "/etc/x", "target": "/x"}
                    ],
                    "networks": {"local-network": null}
                },
                "codex-worker": {}
            },
            "volumes": {
                "codex_auth_volume": {"name": "codex_auth_volume"},
                "openclaw_codex_auth_volume": {"name": "oc-dest"},
                "openclaw_data": {"name": "openclaw_data"}
            },
            "networks": {"local-network": {"name": "my-net", "external": true}}
        })
    }

    #[test]
    fn resolves_the_names_compose_uses() {
        assert_eq!(
            resolve(&config()).unwrap(),
            Resolved {
                project: "moonmind".into(),
                source: "codex_auth_volume".into(),
                dest: "oc-dest".into(),
                networks: vec!["my-net".into()],
                image: "moonmind/openclaw:local".into(),
            }
        );
        let mut no_name = config();
        no_name["volumes"]["openclaw_codex_auth_volume"] = json!({});
        no_name["services"]["openclaw"]["image"] = Value::Null;
        let resolved = resolve(&no_name).unwrap();
        assert_eq!(resolved.dest, "moonmind_openclaw_codex_auth_volume");
        assert_eq!(resolved.image, "moonmind-openclaw");
        let mut internal = config();
        internal["networks"]["local-network"]["external"] = json!(false);
        assert!(resolve(&internal).unwrap().networks.is_empty());
    }

    #[test]
    fn refuses_unusable_stacks() {
        type Change = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|c| {
                    c["services"].as_object_mut().unwrap().remove("openclaw");
                }),
                "no `openclaw` service",
            ),
            (
                Box::new(|c| c["volumes"]["openclaw_codex_auth_volume"]["name"] = json!("codex_auth_volume")),
                "same volume",
            ),
            (
                Box::new(|c| c["volumes"]["openclaw_data"]["name"] = json!("codex_auth_volume")),
                "mounts the workers' volume",
            ),
            (Box::new(|c| c["services"]["openclaw"]["volumes"] = json!([])), "does not mount"),
            (
                Box::new(|c| c["volumes"]["openclaw_codex_auth_volume"]["name"] = json!("evil name'; touch /tmp/x; '")),
                "which Docker refuses",
            ),
            (Box::new(|c| c["volumes"]["openclaw_data"]["name"] = json!("\"quoted\"")), "which Docker refuses"),
            (
                Box::new(|c| {
                    c["volumes"].as_object_mut().unwrap().remove("codex_auth_volume");
                }),
                "no `codex_auth_volume` volume",
            ),
        ];
        for (change, message) in cases {
            let mut c = config();
            change(&mut c);
            let err = resolve(&c).unwrap_err();
            assert!(err.contains(message), "{message}: {err}");
        }
    }

    #[test]
    fn volume_names() {
        for good in ["ab", "codex_auth_volume", "a.b-c_d", "0x"] {
            assert!(valid_volume_name(good), "{good}");
        }
        for bad in ["", "a", "-a", "_a", "a b", "a'b", "a\"b", "a/b", "a;b", "é1"] {
            assert!(!valid_volume_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dest = format!("lock-test-{}", std::process::id());
        let held = lock(&dest).unwrap();
        let err = match lock(&dest) {
            Err(e) => e,
            Ok(_) => panic!("locked twice"),
        };
        assert_eq!(err.code, exit::LOCKED);
        assert!(err.message.contains(&format!("pid {}", std::process::id())), "{}", err.message);
        drop(held);
        let again = lock(&dest).unwrap();
        let _ = fs::remove_file(&again.path);
    }
}
