//! OpenClaw's own Codex calls, replayed exactly as OpenClaw makes them, through the layers (the
//! `codex` shim on PATH, the app-server guard, the model gate forced by `/etc/codex/requirements.toml`
//! in a private mount namespace) against the real Codex CLI and the Responses API mock.
//!
//! Read from OpenClaw's source (github.com/openclaw/openclaw; the stored versions named here):
//!
//! 1. The `codex-cli` backend, `extensions/openai/cli-backend.ts` @ 2b1280c9723325cb49c56b4902e2fddd2dad3374:
//!    `args` = `exec --json --color never --sandbox workspace-write -c service_tier="fast"
//!    --skip-git-repo-check`, `resumeArgs` = `exec resume {sessionId} -c sandbox_mode="workspace-write"
//!    -c service_tier="fast" --skip-git-repo-check`, `modelArg: --model`, `imageArg: --image`
//!    (`imageMode: repeat`), `systemPromptFileConfigArg: -c`, `systemPromptFileConfigKey:
//!    model_instructions_file`, `input: arg`, `sessionIdFields: [thread_id]`.
//!    `src/agents/cli-runner/helpers.ts` (the newest stored version; the index gave no commit for
//!    it), `buildCliArgs`: base args (with `-c mcp_servers=…` appended: `MCP_SERVERS`), then
//!    `--model ID` (fresh *and* resume; the versions @ afc285e6be1735543e39d853422b1f2b3e921e54 and
//!    00463892e760f02de554608ad588cdbec955013b pass it only on a fresh run), then
//!    `-c model_instructions_file="FILE"` (fresh only), then the prompt, then `--image FILE` per
//!    image. `prepareIsolatedCodexRuntimeHome` (`src/agents/codex-runtime-home.ts`): a fresh
//!    `openclaw-codex-home-*` (0700) as CODEX_HOME; `CODEX_HOME`, `CODEX_API_KEY`, `OPENAI_API_KEY`
//!    cleared from the child's environment; for the OAuth profile (the default,
//!    `openai-codex:default`) `auth.json` = `{"OPENAI_API_KEY": null, "last_refresh": …, "tokens":
//!    {access_token, refresh_token, account_id?, id_token?}}` (0600); an API-key profile gets no
//!    auth.json but `CODEX_API_KEY`/`OPENAI_API_KEY` set again. The older default @
//!    51faf41146b4a9f2603e8c73e7a9c814efa1910a resumed with `--color never --sandbox workspace-write`,
//!    which Codex 0.163.0 rejects.
//! 2. The `coding-agent` skill, `skills/coding-agent/SKILL.md`: @ 01345ea88e996996952ce6d9ec90979f6058f11c
//!    only `codex exec - < "$PROMPT"` (bash tool, `pty:true`, a git worktree as workdir); the older
//!    version @ bd64650fe327b392905e1caa727e049a5b5bd3a8 also `codex exec 'prompt'`,
//!    `codex exec --full-auto '…'`, `codex --yolo '…'` (the TUI), `codex --yolo exec '…'`,
//!    `codex review --base origin/main`. The skill runs in OpenClaw's own environment: CODEX_HOME
//!    is the operator's (in the image, the dedicated volume with an API-key or ChatGPT login).
//! 3. The Codex harness, `extensions/codex/src/app-server/config.ts` @ 7b119e64fbcafd1c659daa41526dd87cb76b9b2e:
//!    command `appServer.command` ?? `OPENCLAW_CODEX_APP_SERVER_BIN`, args `app-server --listen
//!    stdio://`; mode `yolo` (approval `never`, sandbox `danger-full-access`, reviewer `user`) or
//!    `guardian` (`on-request`, `workspace-write`, reviewer `guardian_subagent`, `auto_review` in
//!    newer versions). `client-initialize.ts` @ ac674e62aadce656eb89d8c301eab676314651c2: initialize
//!    with `experimentalApi: true`. `thread-lifecycle.ts` @ ae892c42a56c5cce8ba687955786c06cb764c61e:
//!    `thread/start` {model, cwd, approvalPolicy, approvalsReviewer, sandbox, serviceName "OpenClaw",
//!    config {"features.code_mode": true}, developerInstructions, dynamicTools,
//!    experimentalRawEvents, persistExtendedHistory} (`modelProvider` only for a non-`codex`
//!    provider); `turn/start` {threadId, input, cwd, approvalPolicy, approvalsReviewer,
//!    sandboxPolicy, model, effort, collaborationMode {mode "default", settings {model,
//!    reasoning_effort, developer_instructions null}}}.
//! 4. ACP (`@zed-industries/codex-acp`) links codex-core: no `codex` binary runs, so no shim and no
//!    guard. Its stand-in here is the real binary run by path.
//!
//! Every claim has a control without the layer that holds it (the same call against the real codex
//! alone, whose `/etc/codex/requirements.toml` points the provider straight at the mock), which
//! must show the call landing on a model other than the pin, so each case can fail.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::gate::{etc_for_gate, gate_binary, EtcCodex, Gate};
use support::jsonrpc::Client;
use support::mock_api::{MockApi, Reply};
use support::{finished_within, Tree, PIN};

/// The model OpenClaw is configured with, when it is not the pin.
const OTHER: &str = "gpt-openclaw-configured";
const TIMEOUT: Duration = Duration::from_secs(90);
const PROMPT: &str = "Add error handling to the API calls";

/// Which layers run: none (the control), or all of them in a lock mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Control,
    Force,
    Reject,
}

/// What `codex` authenticates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Login {
    /// OpenClaw's isolated home for the CLI backend: only `auth.json`, written as
    /// `prepareIsolatedCodexRuntimeHome` writes it for its default (OAuth) profile.
    OpenClawOAuth,
    /// The operator's home (the skill and the harness run in OpenClaw's environment): an API-key
    /// login, as `codex login --with-api-key` leaves it.
    ApiKey,
}

/// One call's world: the shim (and its guard) in `shim/`, the real codex in `real/`, the mock, a
/// CODEX_HOME, a workdir that is a git repository, and the layer in front of the mock.
struct World {
    tree: Tree,
    mock: MockApi,
    home: PathBuf,
    work: PathBuf,
    layer: Layer,
    gate: Option<Gate>,
    etc: EtcCodex,
}

/// A JWT codex can read (it reads the ChatGPT claims; nobody checks the signature offline).
fn fake_jwt() -> String {
    let claims = json!({"exp": 4102444800u64, "email": "openclaw@example.invalid",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "pro", "chatgpt_account_id": "acct-openclaw",
        "chatgpt_user_id": "user-openclaw"}});
    format!(
        "{}.{}.sig",
        support::fake_jwt_part(br#"{"alg":"none","typ":"JWT"}"#),
        support::fake_jwt_part(claims.to_string().as_bytes())
    )
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=openclaw", "-c", "user.email=openclaw@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

impl World {
    fn new(layer: Layer, login: Login, script: Vec<Reply>) -> World {
        let tree = Tree::new();
        tree.shim("shim");
        std::os::unix::fs::symlink(support::real_codex_binary(), tree.dir("real").join("codex")).unwrap();
        let home = match login {
            Login::OpenClawOAuth => {
                let home = tree.dir(&format!("openclaw-codex-home-{}", std::process::id()));
                std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
                let jwt = fake_jwt();
                let auth = json!({"OPENAI_API_KEY": null, "last_refresh": "2026-12-01T00:00:00.000Z",
                    "tokens": {"access_token": jwt, "refresh_token": "rt-openclaw", "account_id": "acct-openclaw",
                    "id_token": jwt}});
                let file = home.join("auth.json");
                std::fs::write(&file, format!("{}\n", serde_json::to_string_pretty(&auth).unwrap())).unwrap();
                std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
                home
            }
            Login::ApiKey => {
                let home = tree.dir("codex-home");
                std::fs::write(home.join("auth.json"), r#"{"OPENAI_API_KEY":"sk-test-openclaw"}"#).unwrap();
                home
            }
        };
        // The skill's workdir: an isolated git worktree (Codex wants a trusted repo), with a change
        // against `origin/main` to review.
        let work = std::fs::canonicalize(tree.dir("work")).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join("api.py"), "def call():\n    return fetch()\n").unwrap();
        git(&work, &["add", "api.py"]);
        git(&work, &["commit", "-q", "-m", "first"]);
        git(&work, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
        git(&work, &["checkout", "-q", "-b", "feature"]);
        std::fs::write(work.join("api.py"), "def call():\n    return fetch(timeout=None)\n").unwrap();
        git(&work, &["commit", "-q", "-am", "change"]);
        World::layered(tree, home, work, layer, script)
    }

    /// The same tree, CODEX_HOME and workdir (so the sessions codex recorded), with a fresh mock and
    /// `layer` in front of it.
    fn relayered(self, layer: Layer) -> World {
        World::layered(self.tree, self.home, self.work, layer, vec![])
    }

    fn layered(tree: Tree, home: PathBuf, work: PathBuf, layer: Layer, script: Vec<Reply>) -> World {
        let mock = MockApi::start(script);
        let gate = match layer {
            Layer::Control => None,
            Layer::Force | Layer::Reject => {
                let mode = if layer == Layer::Force { "force" } else { "reject" };
                Some(Gate::start(mode, &mock.base_url, &["--chatgpt-upstream", &mock.base_url]))
            }
        };
        // The control: the same provider entry, pointing straight at the mock (no gate).
        let etc = match &gate {
            Some(gate) => etc_for_gate(&gate.url),
            None => EtcCodex::with_requirements(&gate_binary(), mock.base_url.trim_end_matches("/v1")),
        };
        World { tree, mock, home, work, layer, gate, etc }
    }

    fn mode(&self) -> &'static str {
        if self.layer == Layer::Reject {
            "reject"
        } else {
            "force"
        }
    }

    /// PATH as the container has it: the shim first (not for the control), then the real codex.
    fn path(&self) -> std::ffi::OsString {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if self.layer != Layer::Control {
            dirs.push(self.tree.root.path().join("shim"));
        }
        dirs.push(self.tree.root.path().join("real"));
        dirs.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
        std::env::join_paths(dirs).unwrap()
    }

    /// `program args…` in the world's mount namespace, in OpenClaw's environment: the container's
    /// (`OPENCLAW_MODEL`, the lock mode), no `CODEX_API_KEY`/`OPENAI_API_KEY`, CODEX_HOME the
    /// world's, in the workdir.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = self.etc.command(program);
        command
            .env_clear()
            .env("PATH", self.path())
            .env("HOME", self.tree.root.path())
            .env("TMPDIR", self.tree.dir("tmp"))
            .env("TERM", "xterm-256color")
            .env("CODEX_HOME", &self.home)
            .env("OPENCLAW_MODEL", PIN)
            .env("OPENCLAW_MODEL_LOCK_MODE", self.mode())
            .env("OPENCLAW_AUDIT_JOURNALD", "0")
            .args(args)
            .current_dir(&self.work);
        command
    }

    /// `codex ARGS` looked up on PATH, stdin `stdin`, as OpenClaw's CLI runner spawns it.
    fn codex(&self, args: &[&str], stdin: &[u8]) -> Outcome {
        let mut child = self
            .command(Path::new("codex"), args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin).unwrap();
        drop(input);
        let (stdout, stderr) = (drain(child.stdout.take().unwrap()), drain(child.stderr.take().unwrap()));
        let status = finished_within(&mut child, TIMEOUT);
        assert!(status.is_some(), "codex {args:?} did not finish within {TIMEOUT:?}");
        Outcome { code: status.unwrap().code(), stdout: stdout.text(), stderr: stderr.text() }
    }

    /// `COMMAND` as the skill's bash tool runs it (`pty:true`): `sh -c COMMAND` on a terminal (a
    /// PTY by util-linux `script`, 40×120). The terminal's input stays open until `done` says the
    /// call did its work (the interactive TUI ends at EOF) or the command ends.
    /// `answers`: what the agent (OpenClaw's `process submit`) types once the screen shows a text.
    fn in_pty(&self, shell_command: &str, answers: &[(&str, &[u8])], done: impl Fn(&str, &MockApi) -> bool) -> Outcome {
        let inner = format!("stty rows 40 cols 120; {shell_command}");
        let mut child = self
            .command(Path::new("script"), &["-qfec", &inner, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let (stdout, stderr) = (drain(child.stdout.take().unwrap()), drain(child.stderr.take().unwrap()));
        let deadline = Instant::now() + TIMEOUT;
        let mut answered: Vec<Option<Instant>> = vec![None; answers.len()];
        while child.try_wait().unwrap().is_none() && !done(&stdout.text(), &self.mock) {
            let screen = plain(&stdout.text());
            // A key typed before the program reads its terminal is lost (seen on a loaded
            // machine): until the call has made its first model request, answer again every 2 s.
            let waiting = !self.mock.requests().iter().any(|r| r.path.ends_with("/responses"));
            for ((trigger, reply), sent) in answers.iter().zip(answered.iter_mut()) {
                let due = sent.is_none_or(|at| waiting && at.elapsed() > Duration::from_secs(2));
                if due && screen.contains(trigger) {
                    input.write_all(reply).unwrap();
                    *sent = Some(Instant::now());
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{shell_command}: not done within {TIMEOUT:?}:\n{}", stdout.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(input);
        let status = finished_within(&mut child, TIMEOUT);
        assert!(status.is_some(), "{shell_command} did not end at EOF within {TIMEOUT:?}");
        Outcome { code: status.unwrap().code(), stdout: stdout.text(), stderr: stderr.text() }
    }

    /// Models of the model requests the mock received (`/responses`; `/models` names none).
    fn models(&self) -> Vec<Option<String>> {
        self.mock.requests().into_iter().filter(|r| r.path.ends_with("/responses")).map(|r| r.model).collect()
    }

    /// What the gate did: the actions of its audit records (`forced`, `rejected`).
    fn gate_actions(&self) -> Vec<String> {
        let Some(gate) = &self.gate else { return Vec::new() };
        gate.audit_records().iter().filter_map(|r| r["OPENCLAW_ACTION"].as_str().map(str::to_owned)).collect()
    }
}

/// Terminal output without its escape sequences (CSI, OSC) and with cursor moves as spaces, so
/// words can be looked for.
fn plain(screen: &str) -> String {
    let mut out = String::new();
    let mut chars = screen.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() || c == '~' {
                        out.push(' ');
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A pipe read to its end on a thread of its own.
#[derive(Clone)]
struct Drained(Arc<Mutex<Vec<u8>>>);

impl Drained {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> Drained {
    let sink = Drained(Arc::new(Mutex::new(Vec::new())));
    let shared = sink.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                return;
            }
            shared.0.lock().unwrap().extend_from_slice(&buffer[..n]);
        }
    });
    sink
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\nstdout: {}\nstderr: {}", self.code, self.stdout, self.stderr)
    }
}

impl Outcome {
    /// `--json` output: every line a JSON event; the types in order.
    fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l.trim()).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\n{self:?}"))
            })
            .collect()
    }

    fn thread_id(&self) -> String {
        let events = self.events();
        let started = events.iter().find(|e| e["type"] == "thread.started").unwrap_or_else(|| panic!("{self:?}"));
        started["thread_id"].as_str().unwrap().to_owned()
    }
}

/// The `--json` shape OpenClaw parses (`parseCliJsonl`): JSON lines, a `thread.started` with the
/// `thread_id` it keeps as the session, the agent's message, `turn.completed`.
fn assert_jsonl_shape(outcome: &Outcome, case: &str) {
    let events = outcome.events();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for wanted in ["thread.started", "turn.started", "turn.completed"] {
        assert!(types.contains(&wanted), "{case}: no {wanted} event: {types:?}");
    }
    assert!(
        events.iter().any(|e| e["type"] == "item.completed" && e["item"]["type"] == "agent_message"),
        "{case}: no agent message: {outcome:?}"
    );
}

/// What a call that names `OTHER` (or lets codex choose) must show in each world: the control lands
/// on a model other than the pin; force runs as the control did (exit 0) with every model request
/// on the pin; `held_by_gate` says whether the gate had to force it (else the shim or the guard
/// already had, and the gate saw only the pin).
fn check_pinned(world: &World, outcome: &Outcome, case: &str, held_by_gate: bool) {
    let models = world.models();
    match world.layer {
        Layer::Control => {
            assert_eq!(outcome.code, Some(0), "{case}: control: {outcome:?}");
            assert!(
                models.iter().any(|m| m.as_deref() != Some(PIN)),
                "{case}: the control shows no other model, so this case proves nothing: {models:?}"
            );
        }
        Layer::Force | Layer::Reject => {
            assert_eq!(outcome.code, Some(0), "{case}: {:?}: {outcome:?}", world.layer);
            assert!(!models.is_empty(), "{case}: no model request was made: {outcome:?}");
            assert!(models.iter().all(|m| m.as_deref() == Some(PIN)), "{case}: {models:?}");
            let actions = world.gate_actions();
            if held_by_gate {
                assert!(actions.iter().any(|a| a == "forced"), "{case}: the gate forced nothing: {actions:?}");
            } else {
                assert!(
                    actions.is_empty(),
                    "{case}: the gate had to act, so the shim/guard did not hold it: {actions:?}"
                );
            }
        }
    }
}

/// Reject mode and a call naming `OTHER`: refused by the shim with 77 before codex runs; no request.
fn check_refused(world: &World, outcome: &Outcome, case: &str) {
    assert_eq!(outcome.code, Some(77), "{case}: {outcome:?}");
    assert!(
        outcome.stderr.contains(OTHER) && outcome.stderr.contains(PIN),
        "{case}: the refusal names both: {outcome:?}"
    );
    assert!(world.mock.requests().is_empty(), "{case}: requests were made: {:?}", world.mock.requests());
}

// ------------------------------------------------------------------------------------------------
// Form 1: the `codex-cli` backend.
// ------------------------------------------------------------------------------------------------

/// OpenClaw's argv for a fresh turn (`buildCliArgs`, newest order), `model` its configured model,
/// with a system prompt file and one image, both written as OpenClaw writes them.
fn cli_fresh_args(world: &World, model: &str) -> Vec<String> {
    let prompt_dir = world.tree.dir("tmp/openclaw-cli-system-prompt-x");
    let system_prompt = prompt_dir.join("system-prompt.md");
    std::fs::write(&system_prompt, "You are OpenClaw's agent.\n").unwrap();
    let images = world.work.join(".openclaw-cli-images");
    std::fs::create_dir_all(&images).unwrap();
    let image = images.join("0f1e2d.png");
    std::fs::write(&image, TINY_PNG).unwrap();
    let mut args: Vec<String> = [
        "exec",
        "--json",
        "--color",
        "never",
        "--sandbox",
        "workspace-write",
        "-c",
        "service_tier=\"fast\"",
        "--skip-git-repo-check",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(["-c".to_owned(), MCP_SERVERS.to_owned()]);
    args.extend(["--model".to_owned(), model.to_owned()]);
    args.extend(["-c".to_owned(), format!("model_instructions_file=\"{}\"", system_prompt.display())]);
    args.push(PROMPT.to_owned());
    args.extend(["--image".to_owned(), image.display().to_string()]);
    args
}

/// The resume argv (`resumeArgs`), with `--model` as the newest `buildCliArgs` adds it (`None`: the
/// older versions, which add none).
fn cli_resume_args(session: &str, model: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = [
        "exec",
        "resume",
        session,
        "-c",
        "sandbox_mode=\"workspace-write\"",
        "-c",
        "service_tier=\"fast\"",
        "--skip-git-repo-check",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(["-c".to_owned(), MCP_SERVERS.to_owned()]);
    if let Some(model) = model {
        args.extend(["--model".to_owned(), model.to_owned()]);
    }
    args.push("And the tests?".to_owned());
    args
}

/// `bundleMcp: true`, `bundleMcpMode: codex-config-overrides`: `injectCodexMcpConfigArgs`
/// (`src/agents/cli-runner/bundle-mcp-codex.ts` @ 43500c410c0ab3e288a4736270a6671675efc5c5)
/// appends `-c mcp_servers=<inline TOML>` to the backend's args, OpenClaw's loopback MCP server for
/// its own tools. Here a server that exits at once (codex reports it and goes on).
const MCP_SERVERS: &str = r#"mcp_servers={ openclaw = { command = "/bin/true", args = ["--openclaw-mcp"] } }"#;

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A valid 1×1 RGBA PNG.
const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[test]
fn cli_backend_fresh_turn_runs_on_the_pin() {
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let world = World::new(layer, Login::OpenClawOAuth, vec![]);
        let outcome = world.codex(&strs(&cli_fresh_args(&world, OTHER)), b"");
        let case = format!("codex-cli exec --model {OTHER} ({layer:?})");
        match layer {
            Layer::Reject => check_refused(&world, &outcome, &case),
            _ => {
                check_pinned(&world, &outcome, &case, false);
                assert_jsonl_shape(&outcome, &case);
                // The system prompt file and the image reached the model, as without the shim.
                let body = world.mock.requests().into_iter().find(|r| r.path.ends_with("/responses")).unwrap().body;
                assert!(body.to_string().contains("OpenClaw's agent"), "{case}: no instructions file");
                assert!(body.to_string().contains("data:image/png;base64"), "{case}: no image");
            }
        }
    }
    // OpenClaw configured with the pin itself: not an attempt, runs in reject mode too.
    let world = World::new(Layer::Reject, Login::OpenClawOAuth, vec![]);
    let outcome = world.codex(&strs(&cli_fresh_args(&world, PIN)), b"");
    check_pinned(&world, &outcome, "codex-cli exec --model PIN (reject)", false);
    assert_jsonl_shape(&outcome, "codex-cli exec --model PIN (reject)");
}

/// Resume, with the session recorded on OpenClaw's other model (the first turn without the shim,
/// as an older image would have recorded it) in the same CODEX_HOME (where codex keeps sessions).
#[test]
fn cli_backend_resume_runs_on_the_pin() {
    let variants: [(&str, Option<&str>); 2] =
        [("resume --model X (newest)", Some(OTHER)), ("resume (older: no --model)", None)];
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        for (name, model) in variants {
            let recorder = World::new(Layer::Control, Login::OpenClawOAuth, vec![]);
            let first = recorder.codex(&strs(&cli_fresh_args(&recorder, OTHER)), b"");
            assert_eq!(first.code, Some(0), "recording: {first:?}");
            let session = first.thread_id();
            let world = recorder.relayered(layer);
            let outcome = world.codex(&strs(&cli_resume_args(&session, model)), b"");
            let case = format!("codex-cli {name} ({layer:?})");
            if layer == Layer::Reject && model.is_some() {
                check_refused(&world, &outcome, &case);
                continue;
            }
            check_pinned(&world, &outcome, &case, false);
            // resumeOutput: text, the agent's answer on stdout.
            assert!(outcome.stdout.contains("done"), "{case}: {outcome:?}");
        }
    }
}

/// The older default resume (`--color never --sandbox workspace-write` after `exec resume`), which
/// Codex 0.163.0 rejects as a usage error: refused by the shim (64, the same class: a usage error
/// naming `--color`), in both modes, no request; the control shows codex's own exit 2.
#[test]
fn cli_backend_old_resume_form_stays_rejected() {
    let args = [
        "exec",
        "resume",
        "0199aaaa-0000-7000-8000-000000000000",
        "--color",
        "never",
        "--sandbox",
        "workspace-write",
        "--skip-git-repo-check",
        "--model",
        OTHER,
        PROMPT,
    ];
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let world = World::new(layer, Login::OpenClawOAuth, vec![]);
        let outcome = world.codex(&args, b"");
        if layer == Layer::Control {
            assert_eq!(outcome.code, Some(2), "{outcome:?}");
            assert!(outcome.stderr.contains("unexpected argument '--color'"), "{outcome:?}");
        } else {
            assert_eq!(outcome.code, Some(64), "{layer:?}: {outcome:?}");
            assert!(
                outcome.stderr.contains("codex would reject this command line") && outcome.stderr.contains("--color"),
                "{outcome:?}"
            );
        }
        assert!(world.mock.requests().is_empty(), "{layer:?}");
    }
}

// ------------------------------------------------------------------------------------------------
// Form 2: the `coding-agent` skill, through the agent's bash tool with a PTY.
// ------------------------------------------------------------------------------------------------

/// The skill's launch forms that name no model, as shell command lines (`{PROMPT}`: the prompt
/// file the skill writes first), and whether the call ends by itself (the TUI waits for input).
const SKILL_FORMS: &[(&str, bool)] = &[
    ("codex exec - < \"{PROMPT}\"", true),
    ("codex exec 'Add error handling to the API calls'", true),
    ("codex --yolo exec 'Build a REST API for todos.'", true),
    ("codex review --base origin/main", true),
    ("codex --yolo 'Refactor the auth module'", false),
];

fn run_skill_form(world: &World, form: &str, ends_by_itself: bool) -> Outcome {
    let prompt = world.tree.dir("tmp").join("openclaw-worker-prompt.A1b2C3");
    std::fs::write(&prompt, format!("{PROMPT}.\nNotification route: none\n")).unwrap();
    let line = form.replace("{PROMPT}", &prompt.display().to_string());
    // The TUI asks whether to trust the workdir; the agent answers (Enter: "Trust and continue").
    world.in_pty(&line, &[("Trust this folder?", b"\r")], |screen, mock| {
        // The TUI: the turn is over once its answer is on screen ("Worked for …").
        !ends_by_itself
            && plain(screen).contains("Worked for")
            && mock.requests().iter().any(|r| r.path.ends_with("/responses"))
    })
}

fn skill_form_runs_on_the_pin_in_both_modes(index: usize) {
    let (form, ends_by_itself) = &SKILL_FORMS[index];
    {
        for layer in [Layer::Control, Layer::Force, Layer::Reject] {
            let world = World::new(layer, Login::ApiKey, vec![]);
            let outcome = run_skill_form(&world, form, *ends_by_itself);
            let case = format!("skill `{form}` ({layer:?})");
            check_pinned(&world, &outcome, &case, false);
            let screen = outcome.stdout.replace("\r\n", "\n");
            if *ends_by_itself && !form.contains("review") {
                // exec prints the agent's last message on stdout.
                assert!(screen.lines().any(|l| l.trim() == "done"), "{case}: {outcome:?}");
            }
        }
    }
}

#[test]
fn skill_exec_prompt_file_on_stdin() {
    skill_form_runs_on_the_pin_in_both_modes(0);
}

#[test]
fn skill_exec_prompt() {
    skill_form_runs_on_the_pin_in_both_modes(1);
}

#[test]
fn skill_yolo_exec_prompt() {
    skill_form_runs_on_the_pin_in_both_modes(2);
}

#[test]
fn skill_review_base_origin_main() {
    skill_form_runs_on_the_pin_in_both_modes(3);
}

/// The interactive TUI runs headless on the PTY: it starts, asks to trust the workdir, runs the
/// prompt given on its command line, and ends at the terminal's EOF.
#[test]
fn skill_yolo_tui_prompt() {
    skill_form_runs_on_the_pin_in_both_modes(4);
}

/// `codex exec --full-auto '…'` (the older skill): the flag is gone from Codex 0.163.0, which exits
/// 2 on it; the shim refuses it as the usage error it is (64), in both modes, before any request.
#[test]
fn skill_full_auto_stays_rejected() {
    let form = "codex exec --full-auto 'Build a snake game'";
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let world = World::new(layer, Login::ApiKey, vec![]);
        let outcome = world.in_pty(form, &[], |_, _| false);
        // On the terminal: stderr is the PTY too.
        let screen = plain(&outcome.stdout);
        if layer == Layer::Control {
            assert_eq!(outcome.code, Some(2), "{outcome:?}");
            assert!(screen.contains("unexpected argument") && screen.contains("--full-auto"), "{outcome:?}");
        } else {
            assert_eq!(outcome.code, Some(64), "{layer:?}: {outcome:?}");
            assert!(
                screen.contains("codex would reject this command line") && screen.contains("--full-auto"),
                "{outcome:?}"
            );
        }
        assert!(world.mock.requests().is_empty(), "{layer:?}");
    }
}

// ------------------------------------------------------------------------------------------------
// Form 3: the Codex harness, `OPENCLAW_CODEX_APP_SERVER_BIN app-server --listen stdio://`.
// ------------------------------------------------------------------------------------------------

/// OpenClaw's harness policy modes (`resolveCodexAppServerRuntimeOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HarnessMode {
    /// approval `never`, sandbox `danger-full-access`, reviewer `user` (the default).
    Yolo,
    /// approval `on-request`, sandbox `workspace-write`, reviewer `auto_review`.
    Guardian,
}

impl HarnessMode {
    fn policy(self) -> (&'static str, &'static str, &'static str) {
        match self {
            HarnessMode::Yolo => ("never", "danger-full-access", "user"),
            HarnessMode::Guardian => ("on-request", "workspace-write", "auto_review"),
        }
    }
}

/// `OPENCLAW_CODEX_APP_SERVER_BIN` (the shim, or the real codex alone for the control) started as
/// the harness starts it, initialized as `buildCodexAppServerInitializeParams` does (its
/// notification opt-outs in part: the index held the list truncated).
fn harness(world: &World) -> Client {
    let bin = match world.layer {
        Layer::Control => support::real_codex_binary(),
        _ => world.tree.root.path().join("shim/codex"),
    };
    let mut client = Client::start(world.command(&bin, &["app-server", "--listen", "stdio://"]));
    let initialize = json!({
        "clientInfo": {"name": "openclaw", "title": "OpenClaw", "version": "2026.11.30"},
        "capabilities": {"experimentalApi": true,
            "optOutNotificationMethods": ["account/login/completed", "app/list/updated", "command/exec/outputDelta",
                "deprecationNotice", "fs/changed", "mcpServer/startupStatus/updated", "process/outputDelta"],
            "extensions": {"openai/standard-form-input": {}, "openai/form": {},
                "io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}},
    });
    let reply = client.request(0, "initialize", initialize);
    assert!(reply.get("result").is_some(), "initialize: {reply}");
    client.send(json!({"method": "initialized"}));
    client
}

/// `thread/start` then `turn/start` as `buildThreadStartParams` and `buildTurnStartParams` build
/// them for `model`; returns the thread/start reply and the turn/start reply (the turn ended), and
/// how many approval requests reached the client (each declined, as OpenClaw's bridge may).
fn harness_turn(client: &mut Client, world: &World, mode: HarnessMode, model: &str) -> (Value, Value, usize) {
    let (approval, sandbox, reviewer) = mode.policy();
    let cwd = world.work.display().to_string();
    let started = client.request(
        1,
        "thread/start",
        json!({
            "model": model, "cwd": cwd, "approvalPolicy": approval, "approvalsReviewer": reviewer,
            "sandbox": sandbox, "serviceName": "OpenClaw", "config": {"features.code_mode": true},
            "developerInstructions": "Running inside OpenClaw. Use dynamic tools for messaging, cron, sessions, media, gateway, and nodes when available.",
            "dynamicTools": [], "experimentalRawEvents": true, "persistExtendedHistory": true,
        }),
    );
    let Some(thread) = started.get("result").map(|r| r["thread"]["id"].clone()) else {
        return (started, Value::Null, 0);
    };
    let sandbox_policy = match mode {
        HarnessMode::Yolo => json!({"type": "dangerFullAccess"}),
        HarnessMode::Guardian => json!({"type": "workspaceWrite", "writableRoots": [cwd], "networkAccess": false}),
    };
    let turn = client.request(
        2,
        "turn/start",
        json!({
            "threadId": thread, "input": [{"type": "text", "text": PROMPT, "text_elements": []}], "cwd": cwd,
            "approvalPolicy": approval, "approvalsReviewer": reviewer, "sandboxPolicy": sandbox_policy,
            "model": model, "effort": null,
            "collaborationMode": {"mode": "default", "settings": {"model": model, "reasoning_effort": null, "developer_instructions": null}},
        }),
    );
    let asked = turn.get("result").map_or(0, |r| client.answer_approvals(&r["turn"]["id"].clone(), "decline"));
    (started, turn, asked)
}

fn audit_actions(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r["OPENCLAW_ACTION"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn harness_thread_and_turn_run_on_the_pin() {
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let world = World::new(layer, Login::ApiKey, vec![]);
        let mut client = harness(&world);
        let (started, turn, _) = harness_turn(&mut client, &world, HarnessMode::Yolo, OTHER);
        let (status, stderr) = client.finish();
        let case = format!("harness yolo, model {OTHER} ({layer:?})");
        assert!(status.success(), "{case}: {status:?}: {stderr}");
        match layer {
            Layer::Reject => {
                assert_eq!(started["error"]["code"], -32600, "{case}: {started}");
                let message = started["error"]["message"].as_str().unwrap();
                assert!(message.contains(OTHER) && message.contains(PIN), "{case}: {message}");
                assert!(world.models().is_empty(), "{case}: {:?}", world.models());
            }
            _ => {
                assert!(turn.get("result").is_some(), "{case}: {started} {turn}");
                let outcome = Outcome { code: status.code(), stdout: String::new(), stderr: stderr.clone() };
                check_pinned(&world, &outcome, &case, false);
                if layer == Layer::Force {
                    assert_eq!(started["result"]["model"], PIN, "{case}: {started}");
                    assert!(audit_actions(&stderr).iter().filter(|a| *a == "forced").count() >= 2, "{case}: {stderr}");
                }
            }
        }
    }
    // OpenClaw configured with the pin: nothing to refuse in reject mode (its config, dynamic tools,
    // raw events, collaboration mode all pass), and the turn runs on the pin.
    let world = World::new(Layer::Reject, Login::ApiKey, vec![]);
    let mut client = harness(&world);
    let (started, turn, _) = harness_turn(&mut client, &world, HarnessMode::Yolo, PIN);
    let (status, stderr) = client.finish();
    assert!(started.get("result").is_some() && turn.get("result").is_some(), "{started} {turn} {stderr}");
    let outcome = Outcome { code: status.code(), stdout: String::new(), stderr };
    check_pinned(&world, &outcome, "harness yolo, model PIN (reject)", false);
}

/// Guardian mode: each escalation is reviewed by a `guardian` sub-agent on a model codex picks
/// (`codex-auto-review`), which no argv or JSON-RPC field names. Held by the gate alone: with it
/// deployed the guard leaves `auto_review` as OpenClaw asked, and the gate pins (force) or refuses
/// (reject) the reviewer's request. Control: the real codex alone reviews on the other model.
#[test]
fn harness_guardian_review_never_runs_on_another_model() {
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let world = World::new(layer, Login::ApiKey, vec![Reply::escalating_command()]);
        let mut client = harness(&world);
        // Reject mode: OpenClaw configured with the pin (a model of its own is refused, above).
        let model = if layer == Layer::Reject { PIN } else { OTHER };
        let (started, turn, asked) = harness_turn(&mut client, &world, HarnessMode::Guardian, model);
        let (status, stderr) = client.finish();
        let case = format!("harness guardian ({layer:?})");
        assert!(
            status.success() && started.get("result").is_some() && turn.get("result").is_some(),
            "{case}: {started} {turn} {stderr}"
        );
        assert_eq!(asked, 0, "{case}: the reviewer decided, not the client");
        let requests = world.mock.requests();
        let reviewed = |r: &support::mock_api::Request| r.subagent.as_deref() == Some("guardian");
        match layer {
            Layer::Control => assert!(
                requests.iter().any(|r| reviewed(r) && r.model.as_deref() != Some(PIN)),
                "{case}: the control's review ran on no other model: {requests:?}"
            ),
            Layer::Force => {
                assert!(requests.iter().any(reviewed), "{case}: the review ran: {requests:?}");
                let outcome = Outcome { code: status.code(), stdout: String::new(), stderr };
                check_pinned(&world, &outcome, &case, true);
            }
            Layer::Reject => {
                assert!(world.models().iter().all(|m| m.as_deref() == Some(PIN)), "{case}: {requests:?}");
                assert!(!requests.iter().any(reviewed), "{case}: a review on another model got through: {requests:?}");
                assert!(world.gate_actions().iter().any(|a| a == "rejected"), "{case}: the gate refused nothing");
                assert!(!world.work.join("escalated").exists(), "{case}: the escalated command ran unreviewed");
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Form 4: ACP (`@zed-industries/codex-acp` links codex-core; no `codex` binary, no shim, no guard).
// ------------------------------------------------------------------------------------------------

/// Its closest stand-in: the real binary run by path, with no shim anywhere on PATH. Codex-core reads
/// the same `/etc/codex/requirements.toml`, so only the gate holds it: force pins the request on
/// the wire, reject refuses it and codex fails with the gate's message. Control: another model.
#[test]
fn acp_stand_in_is_held_by_the_gate_alone() {
    let args = ["exec", "--json", "--skip-git-repo-check", "--model", OTHER, PROMPT];
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let world = World::new(layer, Login::ApiKey, vec![]);
        let no_shim = std::env::join_paths(["/usr/local/bin", "/usr/bin", "/bin"]).unwrap();
        let mut child = world
            .command(&support::real_codex_binary(), &args)
            .env("PATH", no_shim)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (stdout, stderr) = (drain(child.stdout.take().unwrap()), drain(child.stderr.take().unwrap()));
        let status = finished_within(&mut child, TIMEOUT).expect("codex ends");
        let outcome = Outcome { code: status.code(), stdout: stdout.text(), stderr: stderr.text() };
        let case = format!("ACP stand-in, model {OTHER} ({layer:?})");
        if layer == Layer::Reject {
            assert_ne!(outcome.code, Some(0), "{case}: {outcome:?}");
            assert!(world.models().is_empty(), "{case}: {:?}", world.models());
            assert!(outcome.stdout.contains("openclaw model gate: refused"), "{case}: {outcome:?}");
            assert!(world.gate_actions().iter().any(|a| a == "rejected"), "{case}");
        } else {
            check_pinned(&world, &outcome, &case, true);
            assert_jsonl_shape(&outcome, &case);
        }
    }
}

/// `modelProvider`, which the harness sends for a provider other than its `codex` one
/// (`resolveCodexAppServerModelProvider`: `"openai"` for `openai-codex` with an API-key login): a
/// provider choice, cleared in force (the turn runs on the pin at the configured provider) and
/// refused in reject. Control: the real codex alone under requirements.toml keeps the provider the
/// requirements force, so with the gate deployed the field changes nothing; the guard refuses it in
/// reject mode all the same (its rule: every provider choice), which OpenClaw avoids with its
/// `codex` provider.
#[test]
fn harness_model_provider_is_cleared_or_refused() {
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let world = World::new(layer, Login::ApiKey, vec![]);
        let mut client = harness(&world);
        let cwd = world.work.display().to_string();
        let started = client.request(
            1,
            "thread/start",
            json!({"model": PIN, "modelProvider": "openai", "cwd": cwd, "approvalPolicy": "never",
                "approvalsReviewer": "user", "sandbox": "danger-full-access", "serviceName": "OpenClaw"}),
        );
        let case = format!("harness modelProvider openai ({layer:?})");
        match layer {
            Layer::Reject => {
                assert_eq!(started["error"]["code"], -32600, "{case}: {started}");
                client.finish();
                assert!(world.models().is_empty(), "{case}");
            }
            _ => {
                let Some(thread) = started.get("result").map(|r| r["thread"]["id"].clone()) else {
                    panic!("{case}: {started}")
                };
                assert_eq!(started["result"]["modelProvider"], "openclaw-model-gate", "{case}: {started}");
                let turn = client.request(
                    2,
                    "turn/start",
                    json!({"threadId": thread, "input": [{"type": "text", "text": PROMPT, "text_elements": []}]}),
                );
                let id = turn["result"]["turn"]["id"].clone();
                client
                    .wait_for("turn/completed", |m| m["method"] == "turn/completed" && m["params"]["turn"]["id"] == id);
                client.finish();
                let models = world.models();
                assert!(!models.is_empty() && models.iter().all(|m| m.as_deref() == Some(PIN)), "{case}: {models:?}");
            }
        }
    }
}

/// The harness's next turn in a new app-server (`startOrResumeThread` with a stored binding):
/// `thread/resume` {threadId, model, approvalPolicy, approvalsReviewer, sandbox, config,
/// developerInstructions, persistExtendedHistory} of a thread recorded on OpenClaw's other model
/// without the layers, in the same CODEX_HOME. Force: the turn runs on the pin; reject: a resume
/// naming `OTHER` is refused, one naming the pin runs on it. Control: the resumed thread runs on
/// `OTHER`.
#[test]
fn harness_resumed_thread_runs_on_the_pin() {
    for (layer, model) in [(Layer::Control, OTHER), (Layer::Force, OTHER), (Layer::Reject, OTHER), (Layer::Reject, PIN)]
    {
        let recorder = World::new(Layer::Control, Login::ApiKey, vec![]);
        let mut client = harness(&recorder);
        let (started, _, _) = harness_turn(&mut client, &recorder, HarnessMode::Yolo, OTHER);
        client.finish();
        let thread = started["result"]["thread"]["id"].clone();
        assert!(thread.is_string(), "recording: {started}");
        let world = recorder.relayered(layer);
        let mut client = harness(&world);
        let resumed = client.request(
            1,
            "thread/resume",
            json!({"threadId": thread, "model": model, "approvalPolicy": "never", "approvalsReviewer": "user",
                "sandbox": "danger-full-access", "config": {"features.code_mode": true},
                "developerInstructions": "Running inside OpenClaw.", "persistExtendedHistory": true}),
        );
        let case = format!("harness thread/resume, model {model} ({layer:?})");
        if layer == Layer::Reject && model != PIN {
            assert_eq!(resumed["error"]["code"], -32600, "{case}: {resumed}");
            client.finish();
            assert!(world.models().is_empty(), "{case}: {:?}", world.models());
            continue;
        }
        assert!(resumed.get("result").is_some(), "{case}: {resumed}");
        let turn = client.request(
            2,
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "text", "text": "And the tests?", "text_elements": []}],
                "model": model, "collaborationMode": {"mode": "default",
                "settings": {"model": model, "reasoning_effort": null, "developer_instructions": null}}}),
        );
        let id = turn["result"]["turn"]["id"].clone();
        assert!(id.is_string(), "{case}: {turn}");
        client.wait_for("turn/completed", |m| m["method"] == "turn/completed" && m["params"]["turn"]["id"] == id);
        let (status, stderr) = client.finish();
        let outcome = Outcome { code: status.code(), stdout: String::new(), stderr };
        check_pinned(&world, &outcome, &case, false);
    }
}
