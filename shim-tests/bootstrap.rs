//! bootstrap-openclaw-codex-volume against the real Docker engine: real named volumes, the pinned
//! Compose v2 plugin, the OpenClaw image and the tool built static by its wrapper.
//!
//! The tool is built once, the image too unless `OPENCLAW_TEST_IMAGE` names one (`make test`
//! does); the scenarios then run on a few threads, each with its own project directory, `.env`,
//! Compose project, volumes and network (`support::bootstrap_env`), removed by its guard whatever
//! happens; an image built here goes at the end. Without an engine the suite
//! prints a loud SKIPPED line (OPENCLAW_REQUIRE_DOCKER=1 makes that a failure).
//! `OPENCLAW_BOOTSTRAP_SCENARIOS=a,b` runs only the scenarios whose names contain a or b.

mod support;

use std::io::{BufRead, BufReader};
use std::panic::AssertUnwindSafe;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use support::bootstrap_env::*;
use support::docker::{self, docker, docker_ok, unique, Cleanup};

const STEP_DELAY_VAR: &str = "OPENCLAW_BOOTSTRAP_TEST_STEP_DELAY_MS";
const PARALLEL: usize = 3;

fn debug_tool() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap-openclaw-codex-volume"));
    cmd.env("OPENCLAW_AUDIT_JOURNALD", "0").stdin(Stdio::null());
    cmd
}

// ---------------------------------------------------------------------------------------------
// Without a usable engine

#[test]
fn missing_docker_cli_stops_with_10() {
    let empty = tempfile::tempdir().unwrap();
    let out = debug_tool().env("PATH", empty.path()).output().unwrap();
    let all = expect_code("no docker on PATH", &out, 10);
    assert!(all.contains("`docker` is not on PATH"), "{all}");
    assert!(all.contains("\"OPENCLAW_ACTION\":\"bootstrap-failed\""), "{all}");
}

#[test]
fn unreachable_daemon_stops_with_11() {
    if Command::new("docker").arg("--version").output().is_err() {
        eprintln!("\n######## SKIPPED unreachable_daemon_stops_with_11: no docker CLI ########\n");
        return;
    }
    let out = debug_tool().env("DOCKER_HOST", "unix:///nonexistent/openclaw-test/docker.sock").output().unwrap();
    let all = expect_code("unreachable daemon", &out, 11);
    assert!(all.contains("the Docker daemon does not answer"), "{all}");
}

#[test]
fn missing_compose_v2_stops_with_12() {
    if !docker::available("missing_compose_v2_stops_with_12") {
        return;
    }
    let empty = tempfile::tempdir().unwrap();
    let plugin =
        Command::new("docker").env("DOCKER_CONFIG", empty.path()).args(["compose", "version"]).output().unwrap();
    if plugin.status.success() {
        eprintln!("\n######## SKIPPED missing_compose_v2_stops_with_12: this machine has a system-wide Compose plugin ########\n");
        return;
    }
    let out = debug_tool().env("DOCKER_CONFIG", empty.path()).output().unwrap();
    let all = expect_code("no compose plugin", &out, 12);
    assert!(all.contains("Compose v2 is missing"), "{all}");
}

// ---------------------------------------------------------------------------------------------
// On the engine

type Scenario = (&'static str, fn(&Shared));

const SCENARIOS: &[Scenario] = &[
    ("copy_killed_midway_leaves_the_previous_credentials", copy_killed_midway),
    ("success_copy_then_login_status_in_the_service_then_a_no_op", success_then_no_op),
    ("failed_validation_rolls_back", failed_validation_rolls_back),
    ("concurrent_runs_second_refuses", concurrent_runs),
    ("source_in_use_by_a_running_container", source_in_use),
    ("destination_attached_to_a_stopped_container", destination_attached),
    ("existing_destination_without_force", existing_destination_needs_force),
    ("dry_run_changes_nothing_and_chatgpt_warns", dry_run_and_chatgpt),
    ("names_with_quotes_and_spaces_in_env", names_from_env),
    ("missing_source_volume", missing_source),
    ("from_scratch_login_failure_puts_back_the_previous_credentials", from_scratch_login_fails),
];

#[test]
fn bootstrap_on_the_real_engine() {
    if !docker::available("bootstrap_on_the_real_engine") {
        return;
    }
    let started = Instant::now();
    let mut cleanup = Cleanup::default();
    let shared = Shared::build(&mut cleanup);
    eprintln!("bootstrap suite: image and static tool ready in {:.1?}", started.elapsed());
    let only = std::env::var("OPENCLAW_BOOTSTRAP_SCENARIOS").ok();
    let queue = Mutex::new(
        SCENARIOS
            .iter()
            .filter(|(name, _)| only.as_ref().is_none_or(|o| o.split(',').any(|w| name.contains(w.trim())))),
    );
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let next = queue.lock().unwrap().next();
                let Some((name, scenario)) = next else { break };
                let start = Instant::now();
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| scenario(&shared)));
                eprintln!(
                    "bootstrap scenario {name}: {} in {:.1?}",
                    if outcome.is_ok() { "ok" } else { "FAILED" },
                    start.elapsed()
                );
                results.lock().unwrap().push((*name, outcome.is_ok()));
            });
        }
    });
    drop(cleanup);
    let failed: Vec<&str> =
        results.into_inner().unwrap().into_iter().filter(|(_, ok)| !ok).map(|(name, _)| name).collect();
    eprintln!("bootstrap suite: {:.1?} in all", started.elapsed());
    assert!(failed.is_empty(), "failed scenarios (their panics are above): {failed:?}");
}

/// What a source volume of the workers holds: the login, a config, and what must never be copied.
fn worker_files(auth: &str) -> Vec<(&str, &str)> {
    vec![
        ("auth.json", auth),
        ("config.toml", "# operator's note\nmodel = \"o3\"\n"),
        ("moonmind_worker_token", "worker-secret"),
        ("moonmind_worker_token.policy", "{}"),
        ("sessions/2026/01/rollout.jsonl", "{}"),
        ("history.jsonl", "{}"),
        ("log/codex-tui.log", "log"),
    ]
}

fn assert_no_run_state(listing: &Listing) {
    for leftover in [".openclaw-bootstrap/journal.json", ".openclaw-bootstrap/new", ".openclaw-bootstrap/previous"] {
        assert!(!listing.contains_key(leftover), "{leftover} left: {listing:?}");
    }
}

/// auth.json and config.toml as they were: content, owner, mode.
fn assert_same_files(before: &Listing, after: &Listing) {
    for file in ["auth.json", "config.toml"] {
        let strip = |l: &Listing| l.get(file).map(|e| (e.content.clone(), e.uid, e.gid, e.mode));
        assert_eq!(strip(after), strip(before), "{file} changed");
    }
}

fn success_then_no_op(shared: &Shared) {
    let mut env = Env::new(shared);
    let (source, dest) = (env.source.clone(), env.dest.clone());
    env.put(&source, &worker_files(API_KEY_A));
    let source_before = env.read(&source);
    assert!(!network_exists(&env.network));

    let out = env.wrapper(&[]).output().unwrap();
    let all = expect_code("first run, through the wrapper", &out, 0);
    for said in [
        "[1/10] Docker CLI",
        "networks: [\"",
        "missing, will be created",
        "copied config.toml and auth.json",
        "validated: `codex login status` in the openclaw service: Logged in using an API key",
        "\"OPENCLAW_ACTION\":\"bootstrapped\"",
        "\"OPENCLAW_SOURCE\":\"bootstrap\"",
    ] {
        assert!(all.contains(said), "missing {said:?} in:\n{all}");
    }
    assert!(network_exists(&env.network), "the network was not created");

    let listing = env.read(&dest);
    let auth = &listing["auth.json"];
    assert_eq!(auth.content.as_deref(), Some(API_KEY_A));
    assert_eq!((auth.uid, auth.gid, auth.mode), (1000, 1000, 0o600));
    let config = &listing["config.toml"];
    assert_eq!((config.uid, config.gid, config.mode), (1000, 1000, 0o640));
    let config_text = config.content.clone().unwrap();
    assert!(config_text.contains("# operator's note"), "{config_text}");
    assert!(config_text.contains("model = \"gpt-5.3-codex\""), "the entrypoint pins it: {config_text}");
    assert_eq!((listing["."].uid, listing["."].mode), (1000, 0o700));
    assert!(listing.contains_key(".openclaw-bootstrap/state.json"));
    assert_no_run_state(&listing);
    for never in ["sessions", "history.jsonl", "log", "moonmind_worker_token", "moonmind_worker_token.policy"] {
        assert!(!listing.contains_key(never), "{never} was copied: {listing:?}");
    }
    assert_eq!(env.read(&source), source_before, "the source changed");
    // Created like Compose would not: `docker compose down --volumes` never deletes it.
    let labels = docker_ok(&["volume", "inspect", "--format", "{{json .Labels}}", &dest]);
    assert!(labels.contains("\"org.moonmind.openclaw.bootstrap\":\"destination\""), "{labels}");
    assert!(!labels.contains("com.docker.compose"), "{labels}");
    assert_eq!(env.leftovers(), Vec::<String>::new());

    // The service itself, as operators will run it (without its dependencies, so the entrypoint
    // checks requirements.toml but not the gate's health: `login status` makes no model request).
    let name = env.cleanup.container(&unique("bs-status"));
    let gate_check = format!("{}=requirements", openclaw_codex::ops::entrypoint::GATE_CHECK_VAR);
    let status = env
        .compose(&["--profile", "openclaw", "run", "--rm", "--no-deps", "--user", "app", "--env", &gate_check])
        .args(["--name", &name, "-T", "openclaw", "codex", "login", "status"])
        .output()
        .unwrap();
    let said = expect_code("codex login status in the service", &status, 0);
    assert!(said.contains("Logged in using an API key"), "{said}");

    // A second run with nothing changed rewrites nothing.
    let before = env.read(&dest);
    let out = env.tool(&[]).output().unwrap();
    let all = expect_code("second run", &out, 0);
    assert!(all.contains("already holds what") && all.contains("nothing written"), "{all}");
    let after = env.read(&dest);
    for file in [".", "auth.json", "config.toml", ".openclaw-bootstrap/state.json"] {
        assert_eq!(after.get(file), before.get(file), "{file} was rewritten");
    }
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

fn missing_source(shared: &Shared) {
    let env = Env::new(shared);
    let out = env.tool(&[]).output().unwrap();
    let all = expect_code("missing source", &out, 16);
    assert!(all.contains(&format!("the source volume {:?} does not exist", env.source)), "{all}");
    // Every check runs before anything is created.
    assert!(!volume_exists(&env.dest), "the destination was created");
    assert!(!network_exists(&env.network), "the network was created");
    assert!(!volume_exists(&env.source));
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

fn source_in_use(shared: &Shared) {
    let mut env = Env::new(shared);
    let source = env.source.clone();
    env.put(&source, &worker_files(API_KEY_A));
    let worker = env.container_using(&source, true);
    let out = env.tool(&[]).output().unwrap();
    let all = expect_code("source in use", &out, 17);
    assert!(all.contains(&worker) && all.contains("running"), "{all}");
    assert!(!volume_exists(&env.dest) && !network_exists(&env.network), "changed something");
    // A stopped worker is no obstacle: only running containers rewrite auth.json.
    docker_ok(&["kill", &worker]);
    let out = env.tool(&[]).output().unwrap();
    expect_code("source mounted by a stopped container", &out, 0);
}

fn destination_attached(shared: &Shared) {
    let mut env = Env::new(shared);
    let (source, dest) = (env.source.clone(), env.dest.clone());
    env.put(&source, &worker_files(API_KEY_A));
    env.put(&dest, &[("auth.json", API_KEY_B)]);
    let stopped = env.container_using(&dest, false);
    let before = env.read(&dest);
    let out = env.tool(&["--force"]).output().unwrap();
    let all = expect_code("destination attached to a stopped container", &out, 18);
    assert!(all.contains(&stopped) && all.contains("exited"), "{all}");
    assert_eq!(env.read(&dest), before, "the destination changed");
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

fn existing_destination_needs_force(shared: &Shared) {
    let mut env = Env::new(shared);
    let (source, dest) = (env.source.clone(), env.dest.clone());
    env.put(&source, &worker_files(API_KEY_A));
    env.put(&dest, &[("auth.json", API_KEY_B), ("config.toml", "# previous\n")]);
    let before = env.read(&dest);

    let out = env.tool(&[]).output().unwrap();
    let all = expect_code("no --force", &out, 22);
    assert!(all.contains("already holds an API-key login") && all.contains("--force"), "{all}");
    assert_eq!(env.read(&dest), before);

    let out = env.tool(&["--from-scratch", "--dry-run"]).output().unwrap();
    let all = expect_code("--from-scratch over a copied login, no --force", &out, 22);
    assert!(all.contains("--from-scratch would log in again"), "{all}");

    let out = env.tool(&["--dry-run", "--force"]).output().unwrap();
    let all = expect_code("--dry-run --force", &out, 0);
    assert!(all.contains("replacing an API-key login (--force)") && all.contains("dry run"), "{all}");
    assert_eq!(env.read(&dest), before, "--dry-run changed the destination");

    let out = env.tool(&["--force"]).output().unwrap();
    let all = expect_code("--force", &out, 0);
    assert!(all.contains("replacing an API-key login (--force)"), "{all}");
    let after = env.read(&dest);
    assert_eq!(after["auth.json"].content.as_deref(), Some(API_KEY_A));
    assert_no_run_state(&after);
}

fn failed_validation_rolls_back(shared: &Shared) {
    let mut env = Env::new(shared);
    let (source, dest) = (env.source.clone(), env.dest.clone());
    env.put(&source, &worker_files(API_KEY_CODEX_REJECTS));
    env.put(&dest, &[("auth.json", API_KEY_B), ("config.toml", "# previous config\n")]);
    let before = env.read(&dest);
    let out = env.tool(&["--force"]).output().unwrap();
    let all = expect_code("validation fails", &out, 24);
    assert!(all.contains("validation failed") && all.contains("were put back"), "{all}");
    let after = env.read(&dest);
    assert_same_files(&before, &after);
    assert_no_run_state(&after);
    assert!(all.contains("\"OPENCLAW_ACTION\":\"bootstrap-failed\""), "{all}");

    // With no previous credentials, putting them back leaves none.
    let mut fresh = Env::new(shared);
    let (source, dest) = (fresh.source.clone(), fresh.dest.clone());
    fresh.put(&source, &worker_files(API_KEY_CODEX_REJECTS));
    let out = fresh.tool(&[]).output().unwrap();
    expect_code("validation fails, fresh destination", &out, 24);
    let after = fresh.read(&dest);
    assert!(!after.contains_key("auth.json") && !after.contains_key("config.toml"), "{after:?}");
    assert_no_run_state(&after);
    assert_eq!(fresh.leftovers(), Vec::<String>::new());
}

/// The running helper container of this stack doing `op` (`stage`, `commit`), if any.
fn running_helper(env: &Env, op: &str) -> Option<(String, String)> {
    let filter = format!("label={DEST_LABEL}={}", env.dest);
    let infix = format!("-{op}-");
    docker_ok(&["ps", "--filter", &filter, "--format", "{{.ID}} {{.Names}}"])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(_, name)| name.contains(&infix))
        .map(|(id, name)| (id.to_owned(), name.to_owned()))
}

fn wait_until_no_containers(env: &Env) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while env.leftovers().iter().any(|l| l.starts_with("container")) {
        assert!(Instant::now() < deadline, "containers left: {:?}", env.leftovers());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn copy_killed_midway(shared: &Shared) {
    const OLD_CONFIG: &str = "# previous config\n";
    let mut env = Env::new(shared);
    let (source, dest) = (env.source.clone(), env.dest.clone());
    env.put(&source, &worker_files(API_KEY_A));
    let reset = |env: &mut Env| {
        // Back to the previous credentials, as a finished earlier bootstrap would have left them.
        let name = env.cleanup.container(&unique("bs-reset"));
        let mount = format!("{dest}:/v");
        docker_ok(&[
            "run", "--rm", "--name", &name, "--user", "0", "--network", "none", "--entrypoint",
            "python3", "-v", &mount, &shared.image, "-c",
            "import os, shutil\nfor n in os.listdir('/v'):\n p = os.path.join('/v', n)\n shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)",
        ]);
        env.put(&dest, &[("auth.json", API_KEY_B), ("config.toml", OLD_CONFIG)]);
    };
    reset(&mut env);
    let before = env.read(&dest);
    // (helper to kill, ms after it appears, kill the tool first so that nothing rolls back). The
    // helper waits STEP_DELAY ms after each change: stage makes about 16, commit 2 (config.toml,
    // then auth.json). A kill that comes too late is tried again with half the delay.
    let rounds = [
        ("stage", 700, false),
        ("commit", 450, false),
        ("stage", 2600, true),
        ("commit", 600, false),
        ("stage", 1800, false),
        ("commit", 450, true),
    ];
    for (round, (op, delay, kill_tool_too)) in rounds.into_iter().enumerate() {
        let mut delay = Duration::from_millis(delay);
        let mut attempts = 0;
        while !kill_during_copy(&mut env, &before, round, op, delay, kill_tool_too) {
            reset(&mut env);
            attempts += 1;
            assert!(attempts < 4, "round {round}: no kill landed during {op}");
            delay /= 2;
        }
        reset(&mut env);
    }
}

/// One round of `copy_killed_midway`; false if the helper had finished before the kill.
fn kill_during_copy(
    env: &mut Env,
    before: &Listing,
    round: usize,
    op: &str,
    delay: Duration,
    kill_tool_too: bool,
) -> bool {
    let dest = env.dest.clone();
    let mut child = env
        .tool(&["--force"])
        .env(STEP_DELAY_VAR, "300")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let helper = loop {
        if let Some(found) = running_helper(env, op) {
            break Some(found);
        }
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let Some((id, name)) = helper else {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!("round {round}: no {op} helper appeared:\n{}{}", text(&out.stdout), text(&out.stderr));
    };
    std::thread::sleep(delay);
    if kill_tool_too {
        child.kill().unwrap(); // SIGKILL: the tool cannot roll back
    }
    let kill_succeeded = docker(&["kill", &id]).status.success();
    let out = child.wait_with_output().unwrap();
    // `docker kill` can succeed on a helper that has already exited 0 but is not yet reaped (seen
    // once in CI). The tool accepts a helper's reply only from a run that exited 0, so a tool that
    // was not killed itself and succeeded proves the kill came too late.
    let killed = kill_succeeded && (kill_tool_too || !out.status.success());
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    wait_until_no_containers(env);
    let now = env.read(&dest);
    let auth = now.get("auth.json").and_then(|e| e.content.clone());
    let journal = now.contains_key(".openclaw-bootstrap/journal.json");
    eprintln!(
        "copy_killed_midway round {round}: {op} +{delay:?}, tool killed too: {kill_tool_too}, helper killed: {killed}, exit {:?}, auth.json {}, journal left: {journal}",
        out.status.code(),
        match auth.as_deref() {
            Some(API_KEY_A) => "new",
            Some(API_KEY_B) => "previous",
            _ => "OTHER",
        },
    );
    if !killed {
        if !kill_tool_too {
            expect_code(&format!("round {round}: a run whose kill came too late"), &out, 0);
        }
        return false;
    }
    if kill_tool_too {
        // What the kill left, as it left it: each file complete, previous or new.
        assert!(
            auth.as_deref() == Some(API_KEY_B) || auth.as_deref() == Some(API_KEY_A),
            "round {round} ({name}): auth.json is {auth:?}"
        );
        assert_eq!((now["auth.json"].uid, now["auth.json"].mode), (1000, 0o600));
        let config = now["config.toml"].content.clone().unwrap_or_default();
        assert!(
            config == before["config.toml"].content.clone().unwrap() || config == worker_files(API_KEY_A)[1].1,
            "round {round}: config.toml is {config:?}"
        );
        // The next run puts the previous credentials back first, then copies and validates.
        let out = env.tool(&["--force"]).output().unwrap();
        let all = expect_code(&format!("round {round}: the run after a kill"), &out, 0);
        if journal {
            assert!(all.contains("interrupted earlier run"), "{all}");
        }
        assert_eq!(env.content(&dest, "auth.json").as_deref(), Some(API_KEY_A));
    } else {
        // The tool saw its helper die and put the previous credentials back.
        assert_eq!(out.status.code(), Some(23), "round {round} ({name}):\n{all}");
        assert!(all.contains("the copy failed"), "{all}");
        assert_same_files(before, &now);
        assert_no_run_state(&now);
    }
    true
}

fn concurrent_runs(shared: &Shared) {
    let mut env = Env::new(shared);
    let source = env.source.clone();
    env.put(&source, &worker_files(API_KEY_A));
    let mut first =
        env.tool(&[]).env(STEP_DELAY_VAR, "150").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = first.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("lock ") && line.contains(" held") {
                let _ = tx.send(());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = first.kill();
        panic!("the first run never took its lock:\n{}", reader.join().unwrap());
    }
    let second = env.tool(&[]).output().unwrap();
    let all = expect_code("second run while the first holds the lock", &second, 14);
    assert!(
        all.contains("another bootstrap of the destination volume") && all.contains(&format!("pid {}", first.id())),
        "{all}"
    );
    let status = first.wait().unwrap();
    let seen = reader.join().unwrap();
    assert!(status.success(), "the first run failed ({status}):\n{seen}");
    assert_eq!(env.content(&env.dest.clone(), "auth.json").as_deref(), Some(API_KEY_A));
}

fn dry_run_and_chatgpt(shared: &Shared) {
    let mut env = Env::new(shared);
    let source = env.source.clone();
    let chatgpt = chatgpt_login();
    env.put(&source, &worker_files(&chatgpt));
    let source_before = env.read(&source);
    let out = env.tool(&["--dry-run"]).output().unwrap();
    let all = expect_code("--dry-run", &out, 0);
    for said in [
        "dry run: nothing was changed",
        &format!("would create the network {:?}", env.network),
        &format!("create the volume {:?}", env.dest),
        "a ChatGPT login",
        "WARNING",
        "rotating refresh token",
        "--from-scratch",
    ] {
        assert!(all.contains(said), "missing {said:?}:\n{all}");
    }
    assert!(!all.contains("OPENCLAW_ACTION"), "a dry run leaves no audit record:\n{all}");
    assert!(!network_exists(&env.network) && !volume_exists(&env.dest), "--dry-run created something");
    assert_eq!(env.read(&source), source_before);
    assert_eq!(env.leftovers(), Vec::<String>::new());

    // The real run does what the plan said, warning again.
    let out = env.tool(&[]).output().unwrap();
    let all = expect_code("ChatGPT copy", &out, 0);
    assert!(all.contains("WARNING") && all.contains("\"OPENCLAW_ACTION\":\"shared-refresh-token\""), "{all}");
    assert!(all.contains("Logged in using ChatGPT"), "{all}");
    assert_eq!(env.content(&env.dest.clone(), "auth.json"), Some(chatgpt));
}

fn names_from_env(shared: &Shared) {
    let mut env = Env::new(shared);
    let (source, dest) = (env.source.clone(), env.dest.clone());
    env.write_env(&format!(
        "# names as people write them: quotes, spaces, comments, export\n\
         OPENCLAW_IMAGE = \"{}\"\n\
         CODEX_VOLUME_NAME = '{source}'   # the workers' volume, 'single-quoted'\n\
         export OPENCLAW_CODEX_VOLUME_NAME=\"{dest}\" # OpenClaw's own, \"double-quoted\"\n\
         OPENCLAW_DATA_VOLUME_NAME='{}'\n\
         MOONMIND_NETWORK=\"{}\"\n",
        shared.image, env.data, env.network
    ));
    env.put(&source, &worker_files(API_KEY_A));
    let out = env.tool(&[]).output().unwrap();
    let all = expect_code("quoted names in .env", &out, 0);
    assert!(all.contains(&format!("destination volume {dest:?}")), "{all}");
    assert_eq!(env.content(&dest, "auth.json").as_deref(), Some(API_KEY_A));

    // The environment beats .env, as it does for Compose.
    let other = env.cleanup.adopt_volume(&unique("bs-other-dest"));
    let out = env.tool(&["--dry-run"]).env("OPENCLAW_CODEX_VOLUME_NAME", &other).output().unwrap();
    let all = expect_code("environment over .env", &out, 0);
    assert!(all.contains(&format!("destination volume {other:?}")), "{all}");
    assert!(!volume_exists(&other));

    // A name no Docker volume can have, built to break a shell: refused, nothing run.
    let marker = env.dir.path().join("pwned");
    env.write_env(&format!(
        "OPENCLAW_IMAGE={}\nCODEX_VOLUME_NAME={source}\nOPENCLAW_CODEX_VOLUME_NAME='oc dest\"; touch {}; echo \"'\nMOONMIND_NETWORK={}\n",
        shared.image,
        marker.display(),
        env.network
    ));
    let out = env.tool(&[]).output().unwrap();
    let all = expect_code("hostile volume name", &out, 13);
    assert!(all.contains("which Docker refuses"), "{all}");
    assert!(!marker.exists(), "a shell ran the name");
}

fn from_scratch_login_fails(shared: &Shared) {
    let mut env = Env::new(shared);
    let dest = env.dest.clone();
    env.put(&dest, &[("auth.json", API_KEY_B), ("config.toml", "# previous config\n")]);
    // An internal network: `codex login --device-auth` cannot reach auth.openai.com, wherever
    // this runs, so the login fails at once instead of waiting for a person.
    docker_ok(&["network", "create", "--internal", &env.network]);
    let before = env.read(&dest);
    let out = env.tool(&["--from-scratch", "--force"]).output().unwrap();
    let all = expect_code("--from-scratch, login fails", &out, 25);
    assert!(all.contains("log in with `codex login --device-auth`"), "{all}");
    assert!(all.contains("were put back"), "{all}");
    assert!(all.contains("source: not used (--from-scratch)"), "{all}");
    let after = env.read(&dest);
    assert_same_files(&before, &after);
    assert_no_run_state(&after);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}
