//! The model gate (`openclaw-model-gate`) against the real Codex CLI run **by path, no shim**, in a
//! private mount namespace whose `/etc/codex/requirements.toml` forces the provider to the gate; the
//! gate's upstream is the Responses API mock. Every way of choosing another model or provider runs
//! three times: without the gate (the control, which must show the leak), through the gate in force
//! mode (every request upstream carries the pin) and in reject mode (none on another model is
//! forwarded, codex fails with the gate's message).
//!
//! The wire mechanics (streaming, concurrency, large and compressed bodies, headers, TLS, upstream
//! or gate down, deny by default) are checked with an HTTP client of the test's own.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::bypass_env::{Script, World};
use support::gate::{gate_binary, EtcCodex, Gate};
use support::mock_api::MockApi;
use support::{finished_within, PIN};

const OTHER: &str = "gpt-other-by-caller";
const TIMEOUT: Duration = Duration::from_secs(60);

/// Which layer runs: none (the control) or the gate in a lock mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Control,
    Force,
    Reject,
}

/// A world (codex home with a user config naming other models and a second provider `other`), the
/// real codex logged in with an API key, and the layer in front of the mock.
struct Run {
    world: World,
    layer: Layer,
    gate: Option<Gate>,
    etc: EtcCodex,
}

impl Run {
    fn new(layer: Layer, script: Script) -> Run {
        let world = World::new(script);
        let login = Command::new(support::real_codex_binary())
            .args(["login", "--with-api-key"])
            .env("CODEX_HOME", &world.setup.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(b"sk-test-gate")?;
                child.wait()
            })
            .unwrap();
        assert!(login.success(), "codex login --with-api-key");
        let gate = match layer {
            Layer::Control => None,
            Layer::Force => Some(Gate::start("force", &world.setup.mock.base_url, &[])),
            Layer::Reject => Some(Gate::start("reject", &world.setup.mock.base_url, &[])),
        };
        let etc = gate.as_ref().map_or_else(EtcCodex::empty, |g| support::gate::etc_for_gate(&g.url));
        Run { world, layer, gate, etc }
    }

    /// The real codex by path in the namespace, with the world's CODEX_HOME.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        self.command_in(&self.etc, args, env)
    }

    fn command_in(&self, etc: &EtcCodex, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = etc.command(&support::real_codex_binary());
        let root = self.world.setup.tree.root.path();
        command
            .env_clear()
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .env("CODEX_HOME", &self.world.setup.home)
            .env("HOME", root)
            .env("TMPDIR", self.world.setup.tree.dir("tmp"))
            .envs(env.iter().copied())
            .args(args)
            .current_dir(root);
        command
    }

    fn codex(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut child =
            self.command(args, env).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        assert!(finished_within(&mut child, TIMEOUT).is_some(), "codex {args:?} did not finish within {TIMEOUT:?}");
        child.wait_with_output().unwrap()
    }

    /// Models of the requests that reached the gate's upstream (the mock), and the other provider.
    fn upstream_models(&self) -> Vec<Option<String>> {
        self.world.setup.models()
    }

    fn other_models(&self) -> Vec<Option<String>> {
        self.world.other.requests().into_iter().map(|r| r.model).collect()
    }

    /// Waits until `n` requests reached the upstream or `limit` passed (jobs codex leaves running).
    fn wait_for_upstream(&self, n: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.world.setup.mock.requests().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn gate(&self) -> &Gate {
        self.gate.as_ref().expect("a run through the gate")
    }

    fn audit_actions(&self) -> Vec<String> {
        self.gate().audit_records().iter().map(|r| r["OPENCLAW_ACTION"].as_str().unwrap().to_owned()).collect()
    }
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What each layer must show for one way of choosing a model: the control leaks a model other than
/// the pin; force pins every request and the other provider sees nothing; reject forwards nothing
/// on another model and codex fails with the gate's refusal.
fn check(run: &Run, output: &Output, case: &str) {
    let all: Vec<Option<String>> = run.upstream_models().into_iter().chain(run.other_models()).collect();
    match run.layer {
        Layer::Control => assert!(
            all.iter().any(|m| m.as_deref() != Some(PIN)),
            "{case}: the control shows no leak, so this case proves nothing: {all:?}\n{}",
            text(output)
        ),
        Layer::Force => {
            assert!(output.status.success(), "{case}: {}", text(output));
            assert!(!run.upstream_models().is_empty(), "{case}: nothing reached the upstream");
            assert!(
                run.upstream_models().iter().all(|m| m.as_deref() == Some(PIN)),
                "{case}: {:?}",
                run.upstream_models()
            );
            assert!(run.other_models().is_empty(), "{case}: the other provider was reached: {:?}", run.other_models());
            assert!(
                run.audit_actions().iter().any(|a| a == "forced"),
                "{case}: no forced record:\n{}",
                run.gate().log()
            );
        }
        Layer::Reject => {
            assert!(!output.status.success(), "{case}: codex succeeded: {}", text(output));
            assert!(all.iter().all(|m| m.as_deref() == Some(PIN)), "{case}: {all:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("openclaw model gate: refused"),
                "{case}: codex does not show the refusal: {}",
                text(output)
            );
            assert!(
                run.audit_actions().iter().any(|a| a == "rejected"),
                "{case}: no rejected record:\n{}",
                run.gate().log()
            );
        }
    }
}

const EXEC: &[&str] = &["exec", "--skip-git-repo-check", "--ephemeral"];

fn exec_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    EXEC.iter().copied().chain(extra.iter().copied()).collect()
}

/// Ways a caller chooses another model or provider: argv, config, the caller's CODEX_HOME, a profile,
/// the environment. The world's config.toml already names `USER_CONFIG_MODEL` on provider `mock`.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

#[rustfmt::skip]
const CHOICES: &[Case] = &[
    Case { name: "-m X", args: &["-m", OTHER, "hi"], env: &[] },
    Case { name: "-c model=X", args: &["-c", "model=\"gpt-other-by-caller\"", "hi"], env: &[] },
    Case { name: "the caller's config.toml", args: &["hi"], env: &[] },
    Case { name: "-p profile (other model, other provider)", args: &["-p", "work", "hi"], env: &[] },
    Case { name: "-c model_provider=other -m X", args: &["-c", "model_provider=\"other\"", "-m", OTHER, "hi"], env: &[] },
    Case { name: "-c model_providers.openclaw-model-gate.base_url", args: &["-c", "model_providers.openclaw-model-gate.base_url=\"http://127.0.0.1:9/v1\"", "-m", OTHER, "hi"], env: &[] },
    Case { name: "CODEX_HOME the caller wrote (other model, other provider)", args: &["hi"], env: &[("CODEX_HOME", "CALLER_HOME")] },
];

fn run_choice(case: &Case, layer: Layer) {
    let run = Run::new(layer, Script::Plain);
    let caller_home = run.world.setup.tree.dir("caller-home");
    let config = format!(
        "model = \"{OTHER}\"\nmodel_provider = \"other\"\n[model_providers.other]\nname = \"other\"\nbase_url = \"{}\"\nwire_api = \"responses\"\n",
        run.world.other.base_url
    );
    std::fs::write(caller_home.join("config.toml"), config).unwrap();
    std::fs::copy(run.world.setup.home.join("auth.json"), caller_home.join("auth.json")).unwrap();
    let caller_home = caller_home.to_str().unwrap().to_owned();
    let env: Vec<(&str, &str)> =
        case.env.iter().map(|(k, v)| (*k, if *v == "CALLER_HOME" { caller_home.as_str() } else { v })).collect();
    let output = run.codex(&exec_args(case.args), &env);
    check(&run, &output, case.name);
}

#[test]
fn choices_of_model_and_provider_are_pinned_on_the_wire() {
    for case in CHOICES {
        for layer in [Layer::Control, Layer::Force, Layer::Reject] {
            if layer == Layer::Control && case.name.contains("openclaw-model-gate.base_url") {
                continue; // the gate's own provider does not exist without the gate
            }
            run_choice(case, layer);
        }
    }
}

#[test]
fn a_codex_started_by_codex_through_proc_self_exe_is_pinned() {
    // notify runs `/proc/self/exe exec -m X` after the turn: no PATH lookup, so no shim could see
    // it. It is not awaited: wait for its request.
    let notify = format!(r#"notify=["/proc/self/exe","exec","--skip-git-repo-check","--ephemeral","-m","{OTHER}"]"#);
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let run = Run::new(layer, Script::Plain);
        let output = run.codex(&exec_args(&["-m", PIN, "-c", &notify, "hi"]), &[]);
        assert!(output.status.success(), "{layer:?}: the root call uses the pin: {}", text(&output));
        match layer {
            Layer::Control => {
                run.wait_for_upstream(2, Duration::from_secs(20));
                assert_eq!(run.upstream_models()[1].as_deref(), Some(OTHER), "control: the nested codex leaks");
            }
            Layer::Force => {
                run.wait_for_upstream(2, Duration::from_secs(20));
                assert_eq!(run.upstream_models(), [Some(PIN.to_owned()), Some(PIN.to_owned())]);
            }
            Layer::Reject => {
                let deadline = Instant::now() + Duration::from_secs(20);
                while !run.audit_actions().contains(&"rejected".to_owned()) {
                    assert!(
                        Instant::now() < deadline,
                        "the nested request never reached the gate:\n{}",
                        run.gate().log()
                    );
                }
                assert_eq!(run.upstream_models(), [Some(PIN.to_owned())]);
            }
        }
    }
}

#[test]
fn a_session_recorded_on_another_model_resumes_on_the_pin() {
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let run = Run::new(layer, Script::Plain);
        // Recorded without the gate, on another model.
        let record = run.etc_free_codex(&["exec", "--skip-git-repo-check", "-m", OTHER, "first"]);
        assert!(record.status.success(), "{}", text(&record));
        let before = run.upstream_models().len();
        let output = run.codex(&["exec", "resume", "--last", "--skip-git-repo-check", "again"], &[]);
        let resumed: Vec<Option<String>> = run.upstream_models()[before..].to_vec();
        match layer {
            Layer::Control => {
                assert!(
                    resumed.len() == 1 && resumed[0].as_deref() != Some(PIN),
                    "control: the resumed session runs on another model: {resumed:?}"
                )
            }
            Layer::Force => {
                assert!(output.status.success(), "{}", text(&output));
                assert_eq!(resumed, [Some(PIN.to_owned())]);
            }
            Layer::Reject => {
                assert!(!output.status.success(), "{}", text(&output));
                assert!(resumed.is_empty(), "{resumed:?}");
                assert!(String::from_utf8_lossy(&output.stderr).contains("openclaw model gate: refused"));
            }
        }
    }
}

impl Run {
    /// The real codex with no gate (an empty `/etc/codex`), for recording a session.
    fn etc_free_codex(&self, args: &[&str]) -> Output {
        let empty = EtcCodex::empty();
        self.command_in(&empty, args, &[]).stdin(Stdio::null()).output().unwrap()
    }
}

#[test]
fn in_process_calls_are_pinned_auto_review_and_sub_agents() {
    // Approval auto-review: a `guardian` sub-agent on codex's review model; a spawned sub-agent on
    // a catalog model. Neither passes through any argv.
    let cases: &[(&str, Script, &[&str])] = &[
        (
            "auto-review of an escalation",
            Script::Escalate,
            &["-m", PIN, "-c", "approval_policy=\"on-request\"", "-c", "approvals_reviewer=\"auto_review\"", "hi"],
        ),
        ("spawn_agent on a catalog model", Script::SpawnV1, &["-m", PIN, "--enable", "multi_agent", "hi"]),
    ];
    for (name, script, args) in cases {
        for layer in [Layer::Control, Layer::Force, Layer::Reject] {
            let run = Run::new(layer, *script);
            let output = run.codex(&exec_args(args), &[]);
            let models = run.upstream_models();
            match layer {
                Layer::Control => assert!(
                    models.iter().any(|m| m.as_deref() != Some(PIN)),
                    "{name}: control shows no other model: {models:?}\n{}",
                    text(&output)
                ),
                Layer::Force => {
                    assert!(
                        models.len() >= 2,
                        "{name}: the in-process call was not made: {models:?}\n{}",
                        text(&output)
                    );
                    assert!(models.iter().all(|m| m.as_deref() == Some(PIN)), "{name}: {models:?}");
                }
                Layer::Reject => {
                    assert!(models.iter().all(|m| m.as_deref() == Some(PIN)), "{name}: {models:?}");
                    assert!(
                        run.audit_actions().contains(&"rejected".to_owned()),
                        "{name}: nothing was rejected:\n{}",
                        run.gate().log()
                    );
                }
            }
        }
    }
}

#[test]
fn app_server_thread_start_on_another_model_is_pinned() {
    for layer in [Layer::Control, Layer::Force, Layer::Reject] {
        let run = Run::new(layer, Script::Plain);
        let mut child = run
            .command(&["app-server"], &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel::<Value>();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Ok(value) = serde_json::from_str(&line) {
                    if tx.send(value).is_err() {
                        return;
                    }
                }
            }
        });
        let mut send = |message: Value| writeln!(stdin, "{message}").unwrap();
        let wait = |what: &str, wanted: &dyn Fn(&Value) -> bool| loop {
            let message = lines.recv_timeout(TIMEOUT).unwrap_or_else(|_| panic!("{layer:?}: no {what}"));
            if wanted(&message) {
                return message;
            }
        };
        send(json!({"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "gate-test", "version": "1"}}}));
        wait("initialize reply", &|m| m["id"] == 0);
        send(json!({"method": "initialized"}));
        send(
            json!({"id": 1, "method": "thread/start", "params": {"model": OTHER, "cwd": run.world.setup.tree.root.path()}}),
        );
        let started = wait("thread/start reply", &|m| m["id"] == 1);
        let thread = started["result"]["thread"]["id"].clone();
        send(
            json!({"id": 2, "method": "turn/start", "params": {"threadId": thread, "input": [{"type": "text", "text": "hi"}]}}),
        );
        let ended = wait("turn end", &|m| {
            m["method"] == "turn/completed" || m["method"] == "error" && m["params"]["willRetry"] == false
        });
        let _ = child.kill();
        let _ = child.wait();
        let models = run.upstream_models();
        match layer {
            Layer::Control => assert_eq!(models, [Some(OTHER.to_owned())], "control"),
            Layer::Force => assert_eq!(models, [Some(PIN.to_owned())], "{ended}"),
            Layer::Reject => {
                assert!(models.is_empty(), "{models:?}");
                assert!(run.audit_actions().contains(&"rejected".to_owned()), "{}", run.gate().log());
            }
        }
    }
}

#[test]
fn requirements_beat_a_requirements_file_in_the_callers_codex_home() {
    // A caller's CODEX_HOME may hold its own requirements.toml; the machine's must still win.
    let run = Run::new(Layer::Force, Script::Plain);
    let other = &run.world.other.base_url;
    std::fs::write(
        run.world.setup.home.join("requirements.toml"),
        format!("model_provider = \"other\"\n[model_providers.other]\nname = \"other\"\nbase_url = \"{other}\"\nwire_api = \"responses\"\n"),
    )
    .unwrap();
    let output = run.codex(&exec_args(&["-m", OTHER, "hi"]), &[]);
    check(&run, &output, "CODEX_HOME/requirements.toml");
}

// ---- The wire, with an HTTP client of the test's own ----

/// One HTTP/1.1 exchange on a fresh connection (the test's own client; the gate is what is tested).
fn http(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use std::io::Read;
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned())).collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 4 + size..];
    }
}

fn responses_body(model: &str, filler: usize) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"model": model, "stream": true, "input": [{"role": "user", "content": "x".repeat(filler)}]}),
    )
    .unwrap()
}

#[test]
fn api_key_and_chatgpt_headers_arrive_unchanged_each_at_its_upstream() {
    let api = MockApi::start(vec![]);
    let chatgpt = MockApi::start(vec![]);
    let gate = Gate::start("force", &api.base_url, &["--chatgpt-upstream", &chatgpt.base_url]);
    let api_headers = [
        ("authorization", "Bearer sk-test-api-key"),
        ("originator", "codex_exec"),
        ("session_id", "s-1"),
        ("openai-beta", "responses=experimental"),
    ];
    let chatgpt_headers = [
        ("authorization", "Bearer eyJ.chatgpt.token"),
        ("chatgpt-account-id", "acct-1"),
        ("originator", "codex_exec"),
        ("session_id", "s-2"),
    ];
    for headers in [&api_headers[..], &chatgpt_headers[..]] {
        let (status, _, body) = http(&gate.url, "POST", "/v1/responses", headers, &responses_body(OTHER, 10));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    let (api_seen, chatgpt_seen) = (api.requests(), chatgpt.requests());
    assert_eq!((api_seen.len(), chatgpt_seen.len()), (1, 1), "each login kind reaches its own upstream");
    for (seen, headers) in [(&api_seen[0], &api_headers[..]), (&chatgpt_seen[0], &chatgpt_headers[..])] {
        assert_eq!(seen.model.as_deref(), Some(PIN));
        for (name, value) in headers {
            assert_eq!(seen.header(name), Some(*value), "{name}");
        }
    }
    let log = gate.log();
    assert!(
        !log.contains("sk-test-api-key") && !log.contains("eyJ.chatgpt.token"),
        "the gate logged a credential:\n{log}"
    );
    // The model also rides in codex's turn metadata (a header, and the body's client_metadata) and
    // a routing hint: each reaches the upstream naming the pin.
    let metadata = format!(r#"{{"model":"{OTHER}","session_id":"s-3"}}"#);
    let headers = [("x-codex-turn-metadata", metadata.as_str()), ("x-codex-routing-hint", "model=gpt-other-by-caller")];
    let body = json!({"model": PIN, "client_metadata": {"x-codex-turn-metadata": metadata}});
    let (status, _, _) = http(&gate.url, "POST", "/v1/responses", &headers, body.to_string().as_bytes());
    assert_eq!(status, 200);
    let seen = api.requests().pop().unwrap();
    let pinned = json!({"model": PIN, "session_id": "s-3"});
    assert_eq!(serde_json::from_str::<Value>(seen.header("x-codex-turn-metadata").unwrap()).unwrap(), pinned);
    assert_eq!(seen.header("x-codex-routing-hint"), Some(format!("model={PIN}").as_str()));
    let in_body = seen.body["client_metadata"]["x-codex-turn-metadata"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(in_body).unwrap(), pinned);
}

#[test]
fn large_and_compressed_bodies_are_pinned_whole() {
    let upstream = MockApi::start(vec![]);
    let gate = Gate::start("force", &upstream.base_url, &[]);
    let body = responses_body(OTHER, 40 * 1024 * 1024);
    let zstd = ruzstd::encoding::compress_to_vec(body.as_slice(), ruzstd::encoding::CompressionLevel::Fastest);
    let gzip = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&body).unwrap();
        encoder.finish().unwrap()
    };
    for (encoding, sent) in [(None, &body), (Some("zstd"), &zstd), (Some("gzip"), &gzip)] {
        let headers: Vec<(&str, &str)> = encoding.map(|e| ("content-encoding", e)).into_iter().collect();
        let (status, _, answer) = http(&gate.url, "POST", "/v1/responses", &headers, sent);
        assert_eq!(status, 200, "{encoding:?}: {}", String::from_utf8_lossy(&answer));
    }
    for request in upstream.requests() {
        assert_eq!(request.model.as_deref(), Some(PIN));
        assert_eq!(request.body["input"][0]["content"].as_str().map(str::len), Some(40 * 1024 * 1024));
        assert_eq!(request.header("content-encoding"), None, "forwarded decoded");
    }
    assert_eq!(upstream.requests().len(), 3);
    // Past the limit: refused, nothing forwarded.
    let small = Gate::start("force", &upstream.base_url, &["--max-body-bytes", "1000"]);
    let (status, _, _) = http(&small.url, "POST", "/v1/responses", &[], &responses_body(OTHER, 2000));
    assert_eq!(status, 413);
    let bomb = ruzstd::encoding::compress_to_vec(
        &responses_body(OTHER, 5000)[..],
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let (status, _, _) = http(&small.url, "POST", "/v1/responses", &[("content-encoding", "zstd")], &bomb);
    assert_eq!(status, 413, "a small compressed body that decodes past the limit");
    let (status, _, _) = http(&small.url, "POST", "/v1/responses", &[("content-encoding", "br")], b"x");
    assert_eq!(status, 415);
    assert_eq!(upstream.requests().len(), 3);
}

#[test]
fn paths_not_known_to_be_safe_are_refused() {
    let upstream = MockApi::start(vec![]);
    let gate = Gate::start("force", &upstream.base_url, &[]);
    type Refused<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u16);
    let cases: &[Refused] = &[
        ("POST", "/v1/chat/completions", &[], 403),
        ("POST", "/v1/embeddings", &[], 403),
        ("GET", "/v1/files", &[], 403),
        ("POST", "/v1/responses/../chat/completions", &[], 403),
        ("POST", "/v2/responses", &[], 404),
        ("POST", "/responses", &[], 404),
        (
            "GET",
            "/v1/responses",
            &[
                ("upgrade", "websocket"),
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("sec-websocket-version", "13"),
            ],
            403,
        ),
        ("GET", "/v1/realtime?model=gpt-4o-realtime", &[("upgrade", "websocket")], 403),
    ];
    for (method, path, headers, want) in cases {
        let body = if *method == "POST" { responses_body(OTHER, 1) } else { Vec::new() };
        let (status, _, answer) = http(&gate.url, method, path, headers, &body);
        assert_eq!(status, *want, "{method} {path}: {}", String::from_utf8_lossy(&answer));
        let error: Value = serde_json::from_slice(&answer).unwrap();
        assert!(error["error"]["message"].as_str().unwrap().starts_with("openclaw model gate: refused"), "{error}");
    }
    assert!(upstream.requests().is_empty(), "a refused request was forwarded");
    let (status, _, answer) = http(&gate.url, "GET", "/healthz", &[], b"");
    assert_eq!(
        (status, serde_json::from_slice::<Value>(&answer).unwrap()),
        (200, json!({"status": "ok", "model": PIN, "mode": "force"}))
    );
}

/// An upstream whose SSE answer comes in two parts: the second only after the test has read the
/// first through the gate. A gate that buffered the answer would never deliver the first part.
#[test]
fn streams_are_relayed_as_they_arrive_and_fifty_run_at_once() {
    use std::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_url = format!("http://{}/v1", listener.local_addr().unwrap());
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release = std::sync::Arc::new(std::sync::Mutex::new(release_rx));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let release = release.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                std::io::Read::read_exact(&mut reader, &mut body).unwrap();
                let chunk = |text: &str| format!("{:x}\r\n{text}\r\n", text.len());
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                stream.write_all(format!("{head}{}", chunk("data: first\n\n")).as_bytes()).unwrap();
                let _ = release.lock().unwrap().recv_timeout(TIMEOUT);
                let _ = stream.write_all(format!("{}0\r\n\r\n", chunk("data: second\n\n")).as_bytes());
            });
        }
    });
    let gate = Gate::start("force", &upstream_url, &[]);
    let address = gate.url.trim_start_matches("http://").to_owned();
    let streams: Vec<std::net::TcpStream> = (0..50)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let body = responses_body(OTHER, 10);
            let head = format!("POST /v1/responses HTTP/1.1\r\nhost: gate\r\ncontent-length: {}\r\n\r\n", body.len());
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
            stream
        })
        .collect();
    // Every one of the fifty gets its first event while the upstream still holds the second.
    let mut readers: Vec<BufReader<std::net::TcpStream>> = streams.into_iter().map(BufReader::new).collect();
    for (i, reader) in readers.iter_mut().enumerate() {
        let mut seen = String::new();
        while !seen.contains("data: first") {
            let mut line = String::new();
            let n = reader
                .read_line(&mut line)
                .unwrap_or_else(|e| panic!("stream {i}: the first event did not arrive: {e}"));
            assert!(n > 0, "stream {i} ended early: {seen}");
            seen.push_str(&line);
        }
        assert!(!seen.contains("second"));
    }
    for _ in 0..50 {
        release_tx.send(()).unwrap();
    }
    for (i, reader) in readers.iter_mut().enumerate() {
        let mut seen = String::new();
        while !seen.contains("data: second") {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "stream {i} ended before its second event");
            seen.push_str(&line);
        }
    }
}

#[test]
fn upstream_down_is_a_clear_502_and_codex_fails_without_another_endpoint() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/v1", dead.local_addr().unwrap());
    drop(dead);
    let run = Run::new(Layer::Force, Script::Plain);
    let gate = Gate::start("force", &dead_url, &[]);
    let etc = support::gate::etc_for_gate(&gate.url);
    let run = Run { etc, gate: Some(gate), ..run };
    let (status, _, body) = http(&run.gate().url, "POST", "/v1/responses", &[], &responses_body(PIN, 1));
    assert_eq!(status, 502);
    assert!(
        String::from_utf8_lossy(&body).contains("openclaw model gate: upstream"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let output = run.codex(
        &exec_args(&["-m", OTHER, "-c", "model_providers.openclaw-model-gate.request_max_retries=0", "hi"]),
        &[],
    );
    assert!(!output.status.success(), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unreachable"),
        "codex shows the gate's reason: {}",
        text(&output)
    );
    assert!(run.upstream_models().is_empty() && run.other_models().is_empty(), "codex fell back to another endpoint");
}

#[test]
fn gate_down_codex_fails_closed() {
    let run = Run::new(Layer::Force, Script::Plain);
    let Run { world, etc, gate, .. } = run;
    drop(gate); // killed: nothing listens at the URL requirements.toml names
    let run = Run { world, layer: Layer::Force, gate: None, etc };
    // codex keeps retrying ("Reconnecting... waiting for network"); watch it for 15 s, then stop it.
    let mut child = run
        .command(&exec_args(&["-m", OTHER, "hi"]), &[])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = finished_within(&mut child, Duration::from_secs(15));
    assert!(status.is_none_or(|s| !s.success()), "codex succeeded without its gate");
    assert!(run.upstream_models().is_empty() && run.other_models().is_empty(), "a request left without the gate");
}

#[test]
fn a_tls_upstream_is_trusted_through_the_ca_file_only() {
    let ca = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca_cert, &ca).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();
    // A real TLS listener in front of the mock.
    let upstream = MockApi::start(vec![]);
    let plain = format!("127.0.0.1:{}", upstream.port());
    let tls_port = tls_terminator(cert.der().clone(), key.serialize_der(), plain);
    let tls_url = format!("https://localhost:{tls_port}/v1");
    let trusted = Gate::start("force", &tls_url, &["--ca-file", ca_file.to_str().unwrap()]);
    let (status, _, body) = http(&trusted.url, "POST", "/v1/responses", &[], &responses_body(OTHER, 1));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(upstream.requests()[0].model.as_deref(), Some(PIN));
    // Control: the same upstream without the CA file is refused by rustls.
    let untrusted = Gate::start("force", &tls_url, &[]);
    let (status, _, body) = http(&untrusted.url, "POST", "/v1/responses", &[], &responses_body(OTHER, 1));
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    assert!(
        String::from_utf8_lossy(&body).to_ascii_lowercase().contains("certificate"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(upstream.requests().len(), 1);
}

/// TLS on a loopback port, each connection relayed in plain to `plain`; returns the port.
fn tls_terminator(cert: rustls_der::Cert, key: Vec<u8>, plain: String) -> u16 {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], rustls_der::Key::Pkcs8(key.into()))
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    std::thread::spawn(move || {
        runtime.block_on(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let acceptor = acceptor.clone();
                let plain = plain.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else { return };
                    let Ok(mut inner) = tokio::net::TcpStream::connect(plain).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut inner).await;
                });
            }
        })
    });
    port
}

mod rustls_der {
    pub type Cert = tokio_rustls::rustls::pki_types::CertificateDer<'static>;
    pub type Key = tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>;
}

#[test]
fn the_gate_validates_its_pin_like_the_shim() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "OPENCLAW_MODEL is not set"),
        (&[("OPENCLAW_MODEL", " ")], "OPENCLAW_MODEL is empty"),
        (&[("OPENCLAW_MODEL", "-m")], "starts with '-'"),
        (&[("OPENCLAW_MODEL", PIN), ("OPENCLAW_MODEL_LOCK_MODE", "maybe")], "is not a lock mode"),
    ];
    for (env, message) in cases {
        let output = Command::new(gate_binary())
            .env_clear()
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(78), "{env:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("openclaw model gate: ") && stderr.contains(message) && stderr.lines().count() == 1,
            "{stderr}"
        );
    }
    let output = Command::new(gate_binary())
        .env("OPENCLAW_MODEL", PIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--upstream", "api.openai.com"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(78), "{}", String::from_utf8_lossy(&output.stderr));
    let output = Command::new(gate_binary()).args(["requirements", "--gate-url", "gate:8080"]).output().unwrap();
    assert_eq!(output.status.code(), Some(78));
}

#[test]
fn forced_and_rejected_requests_reach_statsd() {
    let statsd = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    statsd.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = statsd.local_addr().unwrap().port().to_string();
    let upstream = MockApi::start(vec![]);
    for mode in ["force", "reject"] {
        let gate = Gate::start_with_env(
            mode,
            &upstream.base_url,
            &[],
            &[("STATSD_HOST", "127.0.0.1"), ("STATSD_PORT", &port)],
        );
        http(&gate.url, "POST", "/v1/responses", &[], &responses_body(OTHER, 1));
        let mut datagram = [0u8; 512];
        let n = statsd.recv(&mut datagram).expect("a StatsD counter");
        let line = String::from_utf8_lossy(&datagram[..n]);
        let action = if mode == "force" { "forced" } else { "rejected" };
        assert!(
            line.starts_with("openclaw.model_lock.override:1|c")
                && line.contains(&format!("action:{action}"))
                && line.contains("source:gate"),
            "{line}"
        );
        let record =
            gate.audit_records().into_iter().find(|r| r["OPENCLAW_ACTION"] == action).expect("an audit record");
        assert_eq!(record["OPENCLAW_SOURCE"], "gate");
        assert_eq!(record["OPENCLAW_ATTEMPTED"], OTHER);
        assert_eq!(record["OPENCLAW_REQUEST_PATH"], "/v1/responses");
        assert_eq!(record["OPENCLAW_PINNED_MODEL"], PIN);
    }
    assert_eq!(upstream.requests().len(), 1, "reject forwarded nothing");
}
