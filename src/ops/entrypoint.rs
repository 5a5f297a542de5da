//! The OpenClaw container's start-up: each check fails fast, with one line and its own exit code,
//! before the server handles any traffic; then the server replaces the entrypoint (exec).
//!
//! | step | check |
//! |---|---|
//! | 0 | the command is OpenClaw (`openclaw …`, the default) but the image has none (built with an empty `OPENCLAW_NPM_SPEC`): one line saying how to build with it |
//! | 1 | `OPENCLAW_MODEL` and `OPENCLAW_MODEL_LOCK_MODE` valid (the shim's rules) |
//! | 2 | the Codex config enforced (`codex_config`) |
//! | 3 | `codex login status` through PATH, with `CODEX_HOME` the dedicated volume |
//! | 3 | `auth.json` holds a credential (`{}` passes `login status`) |
//! | 4 | `codex` on PATH is the shim |
//! | 4 | a real codex exists behind it |
//! | 5 | `/etc/codex/requirements.toml` forces the model gate, which answers healthy with the same pin and mode (waits up to `OPENCLAW_GATE_WAIT` s, default 30; `OPENCLAW_GATE_CHECK=requirements`: the file only) |
//! | 6 | log the model, lock mode, app-server guard, gate, and how OpenClaw reaches codex (`OPENCLAW_CODEX_APP_SERVER_BIN`, `codex` on PATH) (audit record `started`); a missing guard, or an app-server bin or `codex` that is not the shim, is a warning |
//! | 7 | exec the server command (default `openclaw gateway --allow-unconfigured`): not found 127, not executable 126 |
//!
//! Each failing check's exit code: `exit::entrypoint`.

use std::ffi::OsString;
use std::fmt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use serde_json::{json, Value};

use crate::audit::{self, Action, Event};
use crate::exit::entrypoint as exit;
use crate::ops::codex_auth::{self, AuthError};
use crate::ops::codex_config::{self, Applied, ConfigError};
use crate::ops::process::{self, Tee};
use crate::pin::policy::{Policy, PolicyError};
use crate::shim::locate::{self, CODEX_NAME};

pub const AUDIT_SOURCE: &str = "entrypoint";
pub const PREFIX: &str = "openclaw-entrypoint";
/// OpenClaw's Gateway in the foreground, as OpenClaw's own image runs it (its Dockerfile's CMD).
pub const DEFAULT_COMMAND: &[&str] = &["openclaw", "gateway", "--allow-unconfigured"];
/// The program name of OpenClaw's CLI (npm package `openclaw`, bin `openclaw`).
pub const OPENCLAW_NAME: &str = "openclaw";
/// How long a codex check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub enum StartupError {
    Policy(PolicyError),
    Config(ConfigError),
    LoginStatus {
        home: PathBuf,
        detail: String,
    },
    NoCredential {
        path: PathBuf,
        error: AuthError,
    },
    NotTheShim {
        found: Option<PathBuf>,
        answer: String,
    },
    NoRealCodex {
        detail: String,
    },
    /// Step 5: no model gate forced by requirements.toml, or it does not answer with our pin.
    Gate {
        detail: String,
    },
    Command {
        program: OsString,
        error: std::io::Error,
    },
    /// Step 0: `openclaw` is the command but is not on PATH (the image was built without it).
    NoOpenClaw,
}

impl StartupError {
    pub fn exit_code(&self) -> u8 {
        match self {
            StartupError::Policy(_) => exit::CONFIG_INVALID.value,
            StartupError::Config(_) => exit::CODEX_CONFIG.value,
            StartupError::LoginStatus { .. } => exit::LOGIN_STATUS.value,
            StartupError::NoCredential { .. } => exit::NO_CREDENTIAL.value,
            StartupError::NotTheShim { .. } => exit::NOT_THE_SHIM.value,
            StartupError::NoRealCodex { .. } => exit::NO_REAL_CODEX.value,
            StartupError::Gate { .. } => exit::GATE.value,
            StartupError::Command { error, .. } if error.kind() == std::io::ErrorKind::NotFound => {
                exit::COMMAND_NOT_FOUND.value
            }
            StartupError::Command { .. } => exit::COMMAND_NOT_EXECUTABLE.value,
            StartupError::NoOpenClaw => exit::NO_OPENCLAW.value,
        }
    }
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}: ")?;
        match self {
            StartupError::Policy(e) => write!(f, "{e}"),
            StartupError::Config(e) => write!(f, "Codex config: {e}"),
            StartupError::LoginStatus { home, detail } => write!(
                f,
                "`codex login status` failed with CODEX_HOME={} ({detail}): log in to OpenClaw's own volume (tools/bootstrap-openclaw-codex-volume.sh)",
                home.display()
            ),
            StartupError::NoCredential { path, error } => write!(
                f,
                "{}: {error}; `codex login status` accepts it but no request could authenticate: bootstrap the volume again",
                path.display()
            ),
            StartupError::NotTheShim { found, answer } => {
                let found = found.as_ref().map_or("nothing".to_owned(), |p| p.display().to_string());
                write!(f, "`codex` on PATH ({found}) is not the model-pinning shim (it answered {answer:?}): put the shim's directory first on PATH")
            }
            StartupError::NoRealCodex { detail } => write!(f, "the shim finds no real codex behind it: {detail}"),
            StartupError::Gate { detail } => write!(f, "model gate: {detail}"),
            StartupError::Command { program, error } => {
                write!(f, "cannot run the server command {:?}: {error}", program.to_string_lossy())
            }
            StartupError::NoOpenClaw => write!(
                f,
                "this image has no OpenClaw (no `{OPENCLAW_NAME}` on PATH: it was built with an empty {}): rebuild it with OpenClaw, `make image` (installs {} with npm; needs the npm registry) or `openclaw-image --build-arg {}=<npm spec or path/to/openclaw.tgz>`, or give the container another command",
                crate::ops::image::NPM_SPEC_ARG,
                crate::ops::image::OPENCLAW_NPM_SPEC_DEFAULT,
                crate::ops::image::NPM_SPEC_ARG,
            ),
        }
    }
}

impl std::error::Error for StartupError {}

impl From<PolicyError> for StartupError {
    fn from(e: PolicyError) -> Self {
        StartupError::Policy(e)
    }
}

impl From<ConfigError> for StartupError {
    fn from(e: ConfigError) -> Self {
        StartupError::Config(e)
    }
}

fn env(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The Codex home the checks run against: `CODEX_HOME`, else `~/.codex`.
pub fn codex_home() -> PathBuf {
    env("CODEX_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env("HOME").unwrap_or_else(|| OsString::from("/home/app"))).join(".codex"))
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned()
}

/// Codex puts warnings first and the verdict ("Not logged in") last.
fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned()
}

/// Step 3: `codex login status` through PATH, then the credential itself.
fn check_login(home: &Path) -> Result<(), StartupError> {
    let mut command = Command::new(CODEX_NAME);
    command.args(["login", "status"]).env("CODEX_HOME", home);
    let output = process::run(command, Some(CHECK_TIMEOUT), Tee::default())
        .map_err(|e| StartupError::LoginStatus { home: home.into(), detail: format!("cannot run codex: {e}") })?;
    if !output.status.success() {
        let said = [last_line(&output.stderr), last_line(&output.stdout)].into_iter().find(|l| !l.is_empty());
        let detail = format!("{}; codex said {:?}", output.status, said.unwrap_or_default());
        return Err(StartupError::LoginStatus { home: home.into(), detail });
    }
    let auth = home.join("auth.json");
    match std::fs::read_to_string(&auth) {
        Ok(text) => {
            codex_auth::credential(&text).map(|_| ()).map_err(|error| StartupError::NoCredential { path: auth, error })
        }
        // No file but `login status` passed: the credential comes from elsewhere (environment).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StartupError::NoCredential { path: auth, error: AuthError::NotJson(e.to_string()) }),
    }
}

/// The first executable `name` on PATH, as an exec of the bare name would find it.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).filter(|d| d.is_absolute()).map(|d| d.join(name)).find(|candidate| {
        let never = locate::FileId { dev: u64::MAX, ino: u64::MAX };
        locate::reject_reason(candidate, never).is_none()
    })
}

/// Step 0: the command is OpenClaw (by name, as the default is) and the image has none.
fn check_openclaw(argv: &[OsString]) -> Result<(), StartupError> {
    if argv.first().is_some_and(|p| p == OPENCLAW_NAME) && on_path(OPENCLAW_NAME).is_none() {
        return Err(StartupError::NoOpenClaw);
    }
    Ok(())
}

/// Step 6's word on how OpenClaw reaches codex: its Codex harness runs
/// `OPENCLAW_CODEX_APP_SERVER_BIN` (else its managed codex by path), its codex-cli backend runs
/// `codex` through PATH. Each should be the shim (`shim`, from its explain plan).
fn openclaw_routes(shim: &str) -> String {
    let var = crate::ops::image::APP_SERVER_BIN_VAR;
    let shim = std::fs::canonicalize(shim).ok();
    let same = |p: &Path| shim.is_some() && std::fs::canonicalize(p).ok() == shim;
    let app_server = match env(var).map(PathBuf::from) {
        Some(bin) if same(&bin) => format!("{var}={} (the shim)", bin.display()),
        Some(bin) => format!("{var}={} (warning: not the shim: OpenClaw's Codex harness bypasses the shim and guard; the model gate still holds)", bin.display()),
        None => format!("{var} unset (warning: OpenClaw's Codex harness runs its managed codex by path, bypassing the shim and guard; the model gate still holds)"),
    };
    let cli = match on_path(CODEX_NAME) {
        Some(codex) if same(&codex) => format!("codex-cli backend's `codex` on PATH {} (the shim)", codex.display()),
        Some(codex) => format!("codex-cli backend's `codex` on PATH {} (warning: not the shim)", codex.display()),
        None => "codex-cli backend's `codex`: none on PATH".to_owned(),
    };
    let openclaw = on_path(OPENCLAW_NAME).map_or("none".to_owned(), |p| p.display().to_string());
    format!("openclaw {openclaw}: {app_server}, {cli}")
}

/// Step 4: ask `codex` on PATH for its explain-mode plan; only the shim answers with one.
pub fn ask_shim() -> Result<Value, StartupError> {
    let mut command = Command::new(CODEX_NAME);
    command.arg("--version").env("OPENCLAW_SHIM_EXPLAIN", "1");
    let not_the_shim = |answer: String| StartupError::NotTheShim { found: on_path(CODEX_NAME), answer };
    let output = process::run(command, Some(CHECK_TIMEOUT), Tee::default()).map_err(|e| not_the_shim(e.to_string()))?;
    let plan: Value = match serde_json::from_slice(&output.stdout) {
        Ok(plan @ Value::Object(_)) if plan.get("grammar_version").is_some() => plan,
        _ => return Err(not_the_shim(first_line(&output.stdout))),
    };
    if plan["real_codex"].is_string() {
        Ok(plan)
    } else {
        Err(StartupError::NoRealCodex { detail: plan["real_codex_error"].as_str().unwrap_or("unknown").to_owned() })
    }
}

/// How long step 5 waits for the gate to answer (Compose starts it first; it may still be starting):
/// `OPENCLAW_GATE_WAIT` seconds, default 30.
const GATE_WAIT_VAR: &str = "OPENCLAW_GATE_WAIT";
const GATE_WAIT_DEFAULT: u64 = 30;
/// `health` (default): the gate must answer healthy with our pin; `requirements`: only the file is
/// checked — for a command that makes no model request (the bootstrap's `codex login status`),
/// which must not need the gate running. Either way requirements.toml forces every request to the
/// gate, so a gate that is down fails codex closed.
pub const GATE_CHECK_VAR: &str = "OPENCLAW_GATE_CHECK";

/// Step 5: the requirements force every codex to the gate, and the gate pins what we pin. Returns
/// the gate's URL.
fn check_gate(policy: &Policy) -> Result<String, StartupError> {
    let path = crate::gate::REQUIREMENTS_PATH;
    let gate = |detail: String| StartupError::Gate { detail };
    let text = std::fs::read_to_string(path).map_err(|e| {
        gate(format!(
            "cannot read {path} ({e}): build the image with it (make image), it forces every codex to the gate"
        ))
    })?;
    let url = crate::gate::requirements::gate_url(&text).ok_or_else(|| {
        gate(format!(
            "{path} does not force the provider {:?}: write it with `openclaw-model-gate requirements`",
            crate::gate::PROVIDER_ID
        ))
    })?;
    match env(GATE_CHECK_VAR).as_deref().map(|v| v.to_string_lossy().trim().to_ascii_lowercase()).as_deref() {
        None | Some("health") => {}
        Some("requirements") => return Ok(format!("{url} (health not checked: {GATE_CHECK_VAR}=requirements)")),
        Some(other) => {
            return Err(gate(format!(
                "{GATE_CHECK_VAR}={other:?} is not a check: use \"health\" (default) or \"requirements\""
            )))
        }
    }
    let wait = env(GATE_WAIT_VAR).and_then(|v| v.to_str()?.trim().parse().ok()).unwrap_or(GATE_WAIT_DEFAULT);
    let deadline = std::time::Instant::now() + Duration::from_secs(wait);
    let answer = loop {
        match crate::gate::server::probe(&url, Duration::from_secs(5)) {
            Ok(answer) => break answer,
            Err(e) if std::time::Instant::now() >= deadline => {
                return Err(gate(format!(
                    "{url} is not healthy after {wait} s ({e}): start the openclaw-model-gate service"
                )))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    if answer["model"] != policy.model.as_str() || answer["mode"] != policy.mode.as_str() {
        return Err(gate(format!(
            "{url} pins {} in mode {}, this container {:?} in mode {}: give both services the same OPENCLAW_MODEL and OPENCLAW_MODEL_LOCK_MODE",
            answer["model"], answer["mode"], policy.model, policy.mode.as_str()
        )));
    }
    Ok(url)
}

/// Step 6's word on the app-server guard. Its absence does not loosen the lock (the shim then
/// refuses `codex app-server`), so it is reported, not fatal.
fn guard_status(plan: &Value) -> String {
    match plan["app_server_guard"].as_str() {
        Some(guard) => format!("app-server guard {guard}"),
        None => format!(
            "warning: no {} beside the shim, so `codex app-server` is refused (exit 127): install both (make shim)",
            crate::shim::install::GUARD_BIN
        ),
    }
}

fn event(action: Action, message: String, policy: Option<&Policy>) -> Event {
    let mut event = Event::new(AUDIT_SOURCE, action, message);
    event.pinned_model = policy.map(|p| p.model.clone());
    event.lock_mode = policy.map(|p| p.mode.as_str());
    event
}

/// Steps 1–7. Returns only on failure (or never: the server replaces this process).
pub fn run(command: &[OsString]) -> Result<ExitCode, StartupError> {
    let mut policy = None;
    let result = check_and_exec(command, &mut policy);
    if let Err(error) = &result {
        audit::report(&[event(Action::StartupFailed, error.to_string(), policy.as_ref())]);
    }
    result
}

fn check_and_exec(command: &[OsString], policy: &mut Option<Policy>) -> Result<ExitCode, StartupError> {
    let default: Vec<OsString> = DEFAULT_COMMAND.iter().map(OsString::from).collect();
    let argv = if command.is_empty() { &default[..] } else { command };
    check_openclaw(argv)?;
    let policy = policy.insert(Policy::from_env()?);
    let target = codex_config::target_path(env)?;
    let applied = codex_config::apply(&target, &codex_config::template_path(env), &policy.model)?;
    let home = codex_home();
    check_login(&home)?;
    let plan = ask_shim()?;
    let gate = check_gate(policy)?;

    let message = format!(
        "{PREFIX}: OPENCLAW_MODEL={:?} OPENCLAW_MODEL_LOCK_MODE={}; codex config {} ({}); codex shim {} in front of {}; {}; model gate {gate}; {}",
        policy.model,
        policy.mode.as_str(),
        target.display(),
        if applied == Applied::Written { "updated" } else { "unchanged" },
        plan["shim"].as_str().unwrap_or("?"),
        plan["real_codex"].as_str().unwrap_or("?"),
        guard_status(&plan),
        openclaw_routes(plan["shim"].as_str().unwrap_or("")),
    );
    eprintln!("{message}");
    audit::report(&[event(Action::Started, message, Some(policy))]);

    let error = Command::new(&argv[0]).args(&argv[1..]).exec();
    Err(StartupError::Command { program: argv[0].clone(), error })
}

/// `--verify-image`: what the image builder checks, as one JSON object.
/// The first line `program --version` prints, if it answers in time.
fn version_of(program: &Path) -> Option<String> {
    let mut command = Command::new(program);
    command.arg("--version");
    process::run(command, Some(CHECK_TIMEOUT), Tee::default()).ok().map(|o| first_line(&o.stdout))
}

pub fn image_facts() -> Value {
    let uid = nix::unistd::getuid();
    let user = nix::unistd::User::from_uid(uid).ok().flatten().map(|u| u.name);
    let plan = ask_shim();
    let real_version =
        plan.as_ref().ok().and_then(|p| p["real_codex"].as_str().map(PathBuf::from)).and_then(|real| version_of(&real));
    json!({
        "uid": uid.as_raw(),
        "user": user,
        "home": env("HOME").map(|h| h.to_string_lossy().into_owned()),
        "path": env("PATH").map(|p| p.to_string_lossy().into_owned()),
        "codex_on_path": on_path(CODEX_NAME),
        "shim_plan": plan.as_ref().ok(),
        "shim_error": plan.as_ref().err().map(ToString::to_string),
        "real_codex_version": real_version,
        "openclaw_codex_app_server_bin": env(crate::ops::image::APP_SERVER_BIN_VAR).map(|v| v.to_string_lossy().into_owned()),
        "openclaw_on_path": on_path(OPENCLAW_NAME),
        "node_version": on_path("node").and_then(|node| version_of(&node)),
    })
}
