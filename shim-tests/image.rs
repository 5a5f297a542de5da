//! The OpenClaw image on the real Docker engine: `openclaw-image` builds and verifies it, its
//! entrypoint passes a good volume and stops each misconfiguration with its own exit code before the
//! server runs, `docker stop` reaches the server, and codex inside it sends only the pinned model.

mod support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::json;
use support::docker::{self, build_openclaw_image, docker, docker_ok, text, unique, Cleanup};
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
