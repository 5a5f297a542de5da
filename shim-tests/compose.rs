//! The openclaw Compose profile: docker-compose.yaml, .env-template and the make targets (design
//! doc §3.1–3.2, §4, §5, §9 items 1 and 4), with the pinned Compose v2 plugin
//! (packaging/fetch-compose.sh), never the machine's docker-compose.
//!
//! `config` tests need no daemon: they compare the JSON Compose resolves. Engine tests run on the
//! real Docker engine with a local stand-in image (nothing can be pulled): without an engine they
//! print a loud SKIPPED line, and OPENCLAW_REQUIRE_DOCKER=1 makes that a failure. Every
//! container, volume, network and image they create is uniquely named and removed by `Stack`'s
//! Drop, also when the test fails.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::compose_stack::{self as cs, Stack};

const OPENCLAW_VOLUMES: [&str; 2] = ["openclaw_codex_auth_volume", "openclaw_data"];

/// The environment block of the design's §5.2, verbatim, then the StatsD pass-through.
const ENVIRONMENT_5_2: [&str; 11] = [
    "OPENCLAW_MODEL=${OPENCLAW_MODEL:-gpt-5.3-codex}",
    "OPENCLAW_MODEL_LOCK_MODE=${OPENCLAW_MODEL_LOCK_MODE:-force}",
    "CODEX_VOLUME_PATH=${OPENCLAW_CODEX_VOLUME_PATH:-/home/app/.codex}",
    "CODEX_HOME=${OPENCLAW_CODEX_VOLUME_PATH:-/home/app/.codex}",
    "CODEX_CONFIG_HOME=${OPENCLAW_CODEX_VOLUME_PATH:-/home/app/.codex}",
    "CODEX_CONFIG_PATH=${OPENCLAW_CODEX_VOLUME_PATH:-/home/app/.codex}/config.toml",
    "CODEX_ENV=${CODEX_ENV:-prod}",
    "MOONMIND_URL=${MOONMIND_URL:-http://api:5000}",
    "MOONMIND_API_TOKEN=${MOONMIND_API_TOKEN:-}",
    "STATSD_HOST=${STATSD_HOST:-}",
    "STATSD_PORT=${STATSD_PORT:-8125}",
];

/// `docker compose [--profile openclaw] config --format json`, resolved.
fn config(dir: &Path, profile: bool, env: &[(&str, &str)]) -> Value {
    let mut cmd = cs::compose(dir, env);
    if profile {
        cmd.args(["--profile", "openclaw"]);
    }
    cmd.args(["config", "--format", "json"]);
    cs::json(&cs::run_ok(&mut cmd))
}

/// The model as written: with the profile, nothing interpolated, resolved or normalized.
fn raw_model(dir: &Path) -> Value {
    let mut cmd = cs::compose(dir, &[]);
    cmd.args(["--profile", "openclaw", "config", "--format", "json"])
        .args(["--no-interpolate", "--no-normalize"])
        .args(["--no-path-resolution", "--no-env-resolution"]);
    cs::json(&cs::run_ok(&mut cmd))
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> =
        value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// The profile's services: OpenClaw and its model gate.
const OPENCLAW_SERVICES: [&str; 2] = ["openclaw", "openclaw-model-gate"];

/// `full` without the profile's services and volumes.
fn without_openclaw(full: &Value) -> Value {
    let mut rest = full.clone();
    for service in OPENCLAW_SERVICES {
        assert!(rest["services"].as_object_mut().unwrap().remove(service).is_some());
    }
    for volume in OPENCLAW_VOLUMES {
        assert!(rest["volumes"].as_object_mut().unwrap().remove(volume).is_some());
    }
    rest
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Every OpenClaw variable set to something other than its default.
const OPENCLAW_VARS_CHANGED: [(&str, &str); 7] = [
    ("OPENCLAW_ENABLED", "true"),
    ("OPENCLAW_MODEL", "gpt-other"),
    ("OPENCLAW_MODEL_LOCK_MODE", "reject"),
    ("OPENCLAW_CODEX_VOLUME_NAME", "oc-codex-changed"),
    ("OPENCLAW_CODEX_VOLUME_PATH", "/srv/oc-codex"),
    ("OPENCLAW_DATA_VOLUME_NAME", "oc-data-changed"),
    ("OPENCLAW_IMAGE", "example.invalid/openclaw:changed"),
];

// ---------------------------------------------------------------------------------------------
// `docker compose config`: no daemon

#[test]
fn default_stack_has_no_openclaw_and_is_the_baseline() {
    let dir = tempdir();
    // The baseline: the same file as written, minus the openclaw service and its volumes.
    let baseline_file = dir.path().join("baseline.json");
    std::fs::write(&baseline_file, without_openclaw(&raw_model(dir.path())).to_string()).unwrap();

    for env in [&[][..], &OPENCLAW_VARS_CHANGED[..]] {
        let default = config(dir.path(), false, env);
        assert_eq!(keys(&default["services"]), ["api", "codex-worker"]);
        assert_eq!(keys(&default["volumes"]), ["codex_auth_volume"]);
        let text = default.to_string();
        assert!(
            !text.to_lowercase().contains("openclaw"),
            "the default stack mentions OpenClaw (env {env:?}):\n{text}"
        );

        let mut cmd = cs::docker();
        cmd.arg("compose")
            .arg("--project-directory")
            .arg(dir.path())
            .arg("-f")
            .arg(&baseline_file)
            .args(["config", "--format", "json"])
            .envs(env.iter().copied());
        let baseline = cs::json(&cs::run_ok(&mut cmd));
        assert_eq!(
            default,
            baseline,
            "default stack differs from the baseline at {:?} (env {env:?})",
            cs::diff(&baseline, &default)
        );
    }
}

#[test]
fn profile_adds_openclaw_its_model_gate_and_two_volumes() {
    let dir = tempdir();
    let default = config(dir.path(), false, &[]);
    let full = config(dir.path(), true, &[]);
    assert_eq!(keys(&full["services"]), ["api", "codex-worker", "openclaw", "openclaw-model-gate"]);
    assert_eq!(keys(&full["volumes"]), ["codex_auth_volume", "openclaw_codex_auth_volume", "openclaw_data"]);
    assert_eq!(full["volumes"]["openclaw_codex_auth_volume"], json!({"name": "openclaw_codex_auth_volume"}));
    assert_eq!(full["volumes"]["openclaw_data"], json!({"name": "openclaw_data"}));
    // Everything else (api, the worker, codex_auth_volume, the network, the name) is untouched.
    let rest = without_openclaw(&full);
    assert_eq!(rest, default, "the profile changes the baseline at {:?}", cs::diff(&default, &rest));
}

#[test]
fn openclaw_service_is_the_design_5_2() {
    let dir = tempdir();
    let d = dir.path().to_str().unwrap();

    // As written (every field of §5.2; image, optional env_file and StatsD are the agreed additions).
    let raw = raw_model(dir.path());
    assert_eq!(
        raw["services"]["openclaw"],
        json!({
            "profiles": ["openclaw"],
            "build": {"context": ".", "dockerfile": "./services/openclaw/Dockerfile"},
            "image": "${OPENCLAW_IMAGE:-moonmind/openclaw:local}",
            "user": "app",
            "env_file": [{"path": ".env", "required": false}],
            "environment": ENVIRONMENT_5_2,
            "volumes": [
                {"type": "volume", "source": "openclaw_codex_auth_volume",
                 "target": "${OPENCLAW_CODEX_VOLUME_PATH:-/home/app/.codex}", "volume": {}},
                {"type": "volume", "source": "openclaw_data", "target": "/var/lib/openclaw", "volume": {}},
            ],
            "networks": {"local-network": null},
            "depends_on": {
                "api": {"condition": "service_started", "required": true},
                "openclaw-model-gate": {"condition": "service_healthy", "required": true},
            },
            "restart": "unless-stopped",
        })
    );
    // The gate: its own image, its pin from its own environment (no env_file), a healthcheck
    // openclaw waits for.
    assert_eq!(
        raw["services"]["openclaw-model-gate"],
        json!({
            "profiles": ["openclaw"],
            "build": {"context": ".", "dockerfile": "./services/openclaw-model-gate/Dockerfile"},
            "image": "${OPENCLAW_GATE_IMAGE:-moonmind/openclaw-model-gate:local}",
            "environment": [
                "OPENCLAW_MODEL=${OPENCLAW_MODEL:-gpt-5.3-codex}",
                "OPENCLAW_MODEL_LOCK_MODE=${OPENCLAW_MODEL_LOCK_MODE:-force}",
                "OPENCLAW_GATE_UPSTREAM=${OPENCLAW_GATE_UPSTREAM:-https://api.openai.com/v1}",
                "OPENCLAW_GATE_CHATGPT_UPSTREAM=${OPENCLAW_GATE_CHATGPT_UPSTREAM:-https://chatgpt.com/backend-api/codex}",
                "STATSD_HOST=${STATSD_HOST:-}",
                "STATSD_PORT=${STATSD_PORT:-8125}",
            ],
            "healthcheck": {
                "test": ["CMD", "/openclaw-model-gate", "health", "--url", "http://127.0.0.1:8080"],
                "interval": "5s", "timeout": "5s", "retries": 6, "start_period": "5s",
            },
            "networks": {"local-network": null},
            "restart": "unless-stopped",
        })
    );
    assert_eq!(
        raw["volumes"],
        json!({
            "codex_auth_volume": {"name": "${CODEX_VOLUME_NAME:-codex_auth_volume}"},
            "openclaw_codex_auth_volume": {"name": "${OPENCLAW_CODEX_VOLUME_NAME:-openclaw_codex_auth_volume}"},
            "openclaw_data": {"name": "${OPENCLAW_DATA_VOLUME_NAME:-openclaw_data}"},
        })
    );
    assert_eq!(
        raw["networks"],
        json!({"local-network": {"external": true, "name": "${MOONMIND_NETWORK:-local-network}"}})
    );

    // Resolved with every default: the exact service Compose will run.
    let full = config(dir.path(), true, &[]);
    assert_eq!(
        full["services"]["openclaw"],
        json!({
            "profiles": ["openclaw"],
            "build": {"context": d, "dockerfile": "./services/openclaw/Dockerfile"},
            "image": "moonmind/openclaw:local",
            "user": "app",
            "command": null,
            "entrypoint": null,
            "environment": {
                "OPENCLAW_MODEL": "gpt-5.3-codex",
                "OPENCLAW_MODEL_LOCK_MODE": "force",
                "CODEX_VOLUME_PATH": "/home/app/.codex",
                "CODEX_HOME": "/home/app/.codex",
                "CODEX_CONFIG_HOME": "/home/app/.codex",
                "CODEX_CONFIG_PATH": "/home/app/.codex/config.toml",
                "CODEX_ENV": "prod",
                "MOONMIND_URL": "http://api:5000",
                "MOONMIND_API_TOKEN": "",
                "STATSD_HOST": "",
                "STATSD_PORT": "8125",
            },
            "volumes": [
                {"type": "volume", "source": "openclaw_codex_auth_volume", "target": "/home/app/.codex", "volume": {}},
                {"type": "volume", "source": "openclaw_data", "target": "/var/lib/openclaw", "volume": {}},
            ],
            "networks": {"local-network": null},
            "depends_on": {
                "api": {"condition": "service_started", "required": true},
                "openclaw-model-gate": {"condition": "service_healthy", "required": true},
            },
            "restart": "unless-stopped",
        })
    );
    assert_eq!(full["networks"], json!({"local-network": {"name": "local-network", "external": true, "ipam": {}}}));

    // The worker keeps the shared volume and its own model settings.
    let worker = &full["services"]["codex-worker"];
    assert_eq!(
        worker["volumes"],
        json!([{"type": "volume", "source": "codex_auth_volume", "target": "/home/app/.codex", "volume": {}}])
    );
    assert_eq!(worker["environment"]["CODEX_MODEL"], "");
    assert_eq!(worker["environment"]["MOONMIND_CODEX_MODEL"], "");
    assert_eq!(full["services"]["api"]["image"], "ghcr.io/moonladderstudios/moonmind:latest");
    assert_eq!(worker["image"], "ghcr.io/moonladderstudios/moonmind:latest");
}

#[test]
fn env_file_is_optional_and_reaches_only_openclaw() {
    let dir = tempdir();
    // No .env: the profile resolves (checked by the other tests). A .env: loaded into openclaw
    // only, and it cannot move CODEX_HOME off the dedicated volume (environment beats env_file).
    std::fs::write(dir.path().join(".env"), "OPENCLAW_TEST_MARKER=from-dotenv\nCODEX_HOME=/elsewhere\n").unwrap();
    let full = config(dir.path(), true, &[]);
    let env = |service: &str| full["services"][service]["environment"].clone();
    assert_eq!(env("openclaw")["OPENCLAW_TEST_MARKER"], "from-dotenv");
    assert_eq!(env("openclaw")["CODEX_HOME"], "/home/app/.codex");
    for service in ["api", "codex-worker"] {
        assert_eq!(env(service).get("OPENCLAW_TEST_MARKER"), None, "{service}");
    }
    assert_eq!(env("codex-worker")["CODEX_HOME"], "/home/app/.codex");
}

#[test]
fn openclaw_variables_change_only_openclaw() {
    let dir = tempdir();
    // With the workers' models set, and with their defaults.
    let worker_vars = [("CODEX_MODEL", "gpt-worker"), ("MOONMIND_CODEX_MODEL", "gpt-worker-mm")];
    openclaw_variables_change_only_openclaw_with(dir.path(), &worker_vars);
    openclaw_variables_change_only_openclaw_with(dir.path(), &[]);
}

fn openclaw_variables_change_only_openclaw_with(dir: &Path, worker_vars: &[(&str, &str)]) {
    let before = config(dir, true, worker_vars);
    let worker_before = before["services"]["codex-worker"].clone();
    let openclaw_env = "services.openclaw.environment";
    let gate_env = "services.openclaw-model-gate.environment";
    let cases: [(&str, &str, Vec<String>); 6] = [
        (
            "OPENCLAW_MODEL",
            "gpt-other",
            vec![format!("{openclaw_env}.OPENCLAW_MODEL"), format!("{gate_env}.OPENCLAW_MODEL")],
        ),
        (
            "OPENCLAW_MODEL_LOCK_MODE",
            "reject",
            vec![format!("{openclaw_env}.OPENCLAW_MODEL_LOCK_MODE"), format!("{gate_env}.OPENCLAW_MODEL_LOCK_MODE")],
        ),
        ("OPENCLAW_CODEX_VOLUME_NAME", "oc-codex-changed", vec!["volumes.openclaw_codex_auth_volume.name".into()]),
        ("OPENCLAW_DATA_VOLUME_NAME", "oc-data-changed", vec!["volumes.openclaw_data.name".into()]),
        (
            "OPENCLAW_CODEX_VOLUME_PATH",
            "/srv/oc-codex",
            vec![
                format!("{openclaw_env}.CODEX_CONFIG_HOME"),
                format!("{openclaw_env}.CODEX_CONFIG_PATH"),
                format!("{openclaw_env}.CODEX_HOME"),
                format!("{openclaw_env}.CODEX_VOLUME_PATH"),
                "services.openclaw.volumes.0.target".into(),
            ],
        ),
        ("OPENCLAW_IMAGE", "x.invalid/oc:1", vec!["services.openclaw.image".into()]),
    ];
    for (var, value, expected) in &cases {
        // From the caller's environment: exactly the expected paths change.
        let mut env = worker_vars.to_vec();
        env.push((var, value));
        let after = config(dir, true, &env);
        assert_eq!(&cs::diff(&before, &after), expected, "{var}={value}");
        assert_eq!(after["services"]["codex-worker"], worker_before, "{var}");
        let worker = &after["services"]["codex-worker"]["environment"];
        let model = |name: &str| worker_vars.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v);
        assert_eq!(worker["CODEX_MODEL"], model("CODEX_MODEL"), "{var}");
        assert_eq!(worker["MOONMIND_CODEX_MODEL"], model("MOONMIND_CODEX_MODEL"), "{var}");
        assert_eq!(after["volumes"]["codex_auth_volume"], json!({"name": "codex_auth_volume"}), "{var}");

        // From .env: the same, plus the variable itself in openclaw's environment (env_file).
        std::fs::write(dir.join(".env"), format!("{var}={value}\n")).unwrap();
        let after = config(dir, true, worker_vars);
        std::fs::remove_file(dir.join(".env")).unwrap();
        let changed = cs::diff(&before, &after);
        for path in expected {
            assert!(changed.contains(path), "{var} in .env: {changed:?}");
        }
        for path in &changed {
            assert!(
                OPENCLAW_SERVICES.iter().any(|service| path.starts_with(&format!("services.{service}.")))
                    || OPENCLAW_VOLUMES.iter().any(|v| path.starts_with(&format!("volumes.{v}."))),
                "{var} in .env changed {path}"
            );
        }
    }

    // And the other way round: the workers' variables never reach openclaw or its volumes.
    for (var, value) in [
        ("CODEX_MODEL", "gpt-w2"),
        ("MOONMIND_CODEX_MODEL", "gpt-w3"),
        ("CODEX_VOLUME_NAME", "codex-changed"),
        ("CODEX_VOLUME_PATH", "/srv/codex"),
        ("MOONMIND_WORKER_IMAGE", "x.invalid/worker:1"),
    ] {
        let mut env = worker_vars.to_vec();
        env.retain(|(k, _)| k != &var);
        env.push((var, value));
        let after = config(dir, true, &env);
        let changed = cs::diff(&before, &after);
        assert!(!changed.is_empty(), "{var} changes nothing");
        for path in &changed {
            assert!(
                !path.starts_with("services.openclaw") && !path.starts_with("volumes.openclaw"),
                "{var} changed {path}"
            );
        }
    }
}

/// `docker compose config --variables` of the default stack: each variable with its default and
/// whether it is required.
fn config_variables() -> Value {
    let dir = tempdir();
    let mut cmd = cs::compose(dir.path(), &[]);
    cmd.args(["config", "--variables", "--format", "json"]);
    cs::json(&cs::run_ok(&mut cmd))
}

#[test]
fn no_variable_is_required() {
    // A `${VAR:?}` (or `${VAR?}`) anywhere, the profiled service included, would break the default stack.
    let variables = config_variables();
    let required: Vec<&String> =
        variables.as_object().unwrap().iter().filter(|(_, v)| v["Required"] != false).map(|(k, _)| k).collect();
    assert!(required.is_empty(), "required variables: {required:?}");
    assert!(variables.get("OPENCLAW_MODEL").is_some());
}

/// `.env-template`'s variable lines: (name, value, active) — `VAR=value` is active,
/// `# VAR=value` documents a default.
fn template_vars() -> Vec<(String, String, bool)> {
    let text = std::fs::read_to_string(cs::repo().join(".env-template")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let parse = |line: &str| -> Option<(String, String, bool)> {
        let (body, active) = match line.strip_prefix('#') {
            Some(rest) => (rest.strip_prefix(' ').unwrap_or(rest), false),
            None => (line, true),
        };
        let (name, value) = body.split_once('=')?;
        let is_name =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        is_name.then(|| (name.to_string(), value.to_string(), active))
    };
    let mut vars = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(var) = parse(line) {
            // Each variable has its one-line purpose right above it.
            let above = lines[i - 1];
            assert!(
                above.starts_with("# ") && parse(above).is_none() && above.len() > 10,
                ".env-template: {} has no purpose line above it",
                var.0
            );
            vars.push(var);
        }
    }
    vars
}

#[test]
fn env_template_documents_every_variable_with_the_compose_defaults() {
    let variables = config_variables();
    let vars = template_vars();

    let mut documented: Vec<&str> = vars.iter().map(|(n, _, _)| n.as_str()).collect();
    documented.sort_unstable();
    let before = documented.len();
    documented.dedup();
    assert_eq!(before, documented.len(), "a variable is documented twice");
    let mut expected: Vec<&str> = keys(&variables);
    expected.push("OPENCLAW_ENABLED"); // read by `make up`, not by the file
    expected.sort_unstable();
    assert_eq!(documented, expected);

    for (name, value, _) in &vars {
        if name == "OPENCLAW_ENABLED" {
            continue;
        }
        let default = variables[name]["DefaultValue"].as_str().unwrap();
        assert!(
            value == default || (value.is_empty() && default.starts_with("${")),
            ".env-template {name}={value}, docker-compose.yaml default {default:?}"
        );
    }

    // §4: the five OpenClaw variables with their defaults, and nothing else set.
    let active: Vec<(&str, &str)> =
        vars.iter().filter(|(_, _, active)| *active).map(|(n, v, _)| (n.as_str(), v.as_str())).collect();
    assert_eq!(
        active,
        [
            ("OPENCLAW_ENABLED", "false"),
            ("OPENCLAW_MODEL", "gpt-5.3-codex"),
            ("OPENCLAW_MODEL_LOCK_MODE", "force"),
            ("OPENCLAW_CODEX_VOLUME_NAME", "openclaw_codex_auth_volume"),
            ("OPENCLAW_CODEX_VOLUME_PATH", "/home/app/.codex"),
        ]
    );

    // `cp .env-template .env` changes nothing but what env_file adds to openclaw's environment.
    let dir = tempdir();
    let default = config(dir.path(), false, &[]);
    let full = config(dir.path(), true, &[]);
    std::fs::copy(cs::repo().join(".env-template"), dir.path().join(".env")).unwrap();
    assert_eq!(config(dir.path(), false, &[]), default);
    let openclaw_env = "services.openclaw.environment";
    assert_eq!(
        cs::diff(&full, &config(dir.path(), true, &[])),
        [
            format!("{openclaw_env}.OPENCLAW_CODEX_VOLUME_NAME"),
            format!("{openclaw_env}.OPENCLAW_CODEX_VOLUME_PATH"),
            format!("{openclaw_env}.OPENCLAW_ENABLED"),
        ]
    );
}

/// `make -s TARGET` in the repository against `dir` as the project directory.
fn make(target: &str, dir: &Path, compose_args: &str, env: &[(&str, &str)]) -> std::process::Output {
    cs::docker_config(); // fetched once, before make runs packaging/fetch-compose.sh
    let mut cmd = cs::clean("make");
    cmd.arg("-s")
        .arg("-C")
        .arg(cs::repo())
        .arg(target)
        .arg(format!(
            "COMPOSE_ARGS=--project-directory {} -f {} {compose_args}",
            dir.display(),
            cs::compose_file().display()
        ))
        .envs(env.iter().copied());
    cs::run(&mut cmd)
}

#[test]
fn make_config_adds_the_profile_when_openclaw_enabled() {
    let dir = tempdir();
    let has_openclaw = |out: &std::process::Output| {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.starts_with("name: moonmind\n"),
            "make config: {}\n{text}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        text.contains("\n  openclaw:\n")
    };
    let dotenv = dir.path().join(".env");
    assert!(!has_openclaw(&make("config", dir.path(), "", &[])));
    for (file, env, expected) in [
        ("OPENCLAW_ENABLED=true\n", None, true),
        ("export OPENCLAW_ENABLED=\"TRUE\" # on\n", None, true),
        ("OPENCLAW_ENABLED=false\n", None, false),
        ("OPENCLAW_ENABLED=true\n", Some("false"), false), // the environment beats .env
        ("OPENCLAW_ENABLED=false\n", Some("1"), true),
        ("OPENCLAW_ENABLED=off\n", Some(""), false),
        ("# nothing\n", Some("yes"), true),
    ] {
        std::fs::write(&dotenv, file).unwrap();
        let env: Vec<(&str, &str)> = env.map(|v| ("OPENCLAW_ENABLED", v)).into_iter().collect();
        assert_eq!(has_openclaw(&make("config", dir.path(), "", &env)), expected, ".env {file:?}, environment {env:?}");
    }
    std::fs::write(&dotenv, "OPENCLAW_ENABLED=ture\n").unwrap();
    let out = make("config", dir.path(), "", &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("OPENCLAW_ENABLED=ture: expected true or false"));
}

// ---------------------------------------------------------------------------------------------
// The real Docker engine

fn state(info: &Value) -> (bool, String) {
    (info["State"]["Running"] == true, info["State"]["Status"].as_str().unwrap().to_string())
}

/// `State.StartedAt` as (seconds part, nanoseconds) so that it compares correctly.
fn started_at(info: &Value) -> (String, u32) {
    let text = info["State"]["StartedAt"].as_str().unwrap();
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let nanos = format!("{frac:0<9}")[..9].parse().unwrap();
    (secs.to_string(), nanos)
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn profile_up_openclaw_creates_its_volumes_and_starts_after_api() {
    if !cs::engine_or_skip("profile_up_openclaw_creates_its_volumes_and_starts_after_api") {
        return;
    }
    let stack = Stack::new();
    stack.up(true, &["openclaw"]);

    assert_eq!(stack.services(), ["api", "openclaw", "openclaw-model-gate"]);
    let api = stack.inspect("api");
    let openclaw = stack.wait_running("openclaw", Duration::from_secs(10));
    assert_eq!(state(&api), (true, "running".into()));
    assert!(
        started_at(&api) < started_at(&openclaw),
        "api started at {}, openclaw at {}",
        api["State"]["StartedAt"],
        openclaw["State"]["StartedAt"]
    );
    // Both dedicated volumes exist, created by this project; the workers' volume was not touched.
    for volume in [&stack.openclaw_codex_volume, &stack.openclaw_data_volume] {
        let info = cs::inspect("volume", volume);
        assert_eq!(info["Labels"]["com.docker.compose.project"], stack.project.as_str());
    }
    assert!(!cs::volume_exists(&stack.codex_volume));
    // On the external network, reachable as `openclaw`, with exactly its two volumes.
    let networks = &openclaw["NetworkSettings"]["Networks"];
    assert_eq!(keys(networks), [stack.network.as_str()]);
    assert!(networks[&stack.network]["Aliases"].as_array().unwrap().contains(&json!("openclaw")));
    assert_eq!(keys(&api["NetworkSettings"]["Networks"]), [stack.network.as_str()]);
    assert_eq!(
        cs::volume_mounts(&openclaw),
        (
            owned(&[
                (&stack.openclaw_codex_volume, "/home/app/.codex"),
                (&stack.openclaw_data_volume, "/var/lib/openclaw"),
            ]),
            2
        )
    );
    assert_eq!(openclaw["Config"]["User"], "app");
    assert_eq!(openclaw["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped");
}

#[test]
fn default_up_creates_no_openclaw_container_or_volume() {
    if !cs::engine_or_skip("default_up_creates_no_openclaw_container_or_volume") {
        return;
    }
    let stack = Stack::new();
    stack.up(false, &[]);
    assert_eq!(stack.services(), ["api", "codex-worker"]);
    assert!(state(&stack.inspect("api")).0);
    stack.wait_running("codex-worker", Duration::from_secs(10));
    assert!(cs::volume_exists(&stack.codex_volume));
    assert!(!cs::volume_exists(&stack.openclaw_codex_volume));
    assert!(!cs::volume_exists(&stack.openclaw_data_volume));
}

#[test]
fn openclaw_and_worker_never_share_a_volume_and_down_openclaw_leaves_the_rest() {
    if !cs::engine_or_skip("openclaw_and_worker_never_share_a_volume_and_down_openclaw_leaves_the_rest") {
        return;
    }
    let stack = Stack::new();
    stack.up(true, &[]);
    assert_eq!(stack.services(), ["api", "codex-worker", "openclaw", "openclaw-model-gate"]);
    let api = stack.wait_running("api", Duration::from_secs(10));
    let worker = stack.wait_running("codex-worker", Duration::from_secs(10));
    let openclaw = stack.wait_running("openclaw", Duration::from_secs(10));

    // Mounts, as the engine reports them.
    assert_eq!(cs::volume_mounts(&api), (vec![], 0));
    assert_eq!(cs::volume_mounts(&worker), (owned(&[(&stack.codex_volume, "/home/app/.codex")]), 1));
    assert_eq!(
        cs::volume_mounts(&openclaw),
        (
            owned(&[
                (&stack.openclaw_codex_volume, "/home/app/.codex"),
                (&stack.openclaw_data_volume, "/var/lib/openclaw"),
            ]),
            2
        )
    );
    // And on disk: a file each writes to its CODEX_HOME is invisible to the other.
    let exec = |service: &str, args: &[&str], stdin: &str| {
        let mut cmd = stack.compose(&["exec", "-T", service]);
        cmd.args(args).stdin(std::process::Stdio::piped());
        let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap().status.code()
    };
    assert_eq!(exec("codex-worker", &["/standin", "put", "/home/app/.codex/worker-file"], "w"), Some(0));
    assert_eq!(exec("openclaw", &["/standin", "put", "/home/app/.codex/openclaw-file"], "o"), Some(0));
    assert_eq!(exec("codex-worker", &["/standin", "exists", "/home/app/.codex/worker-file"], ""), Some(0));
    assert_eq!(exec("openclaw", &["/standin", "exists", "/home/app/.codex/openclaw-file"], ""), Some(0));
    assert_eq!(exec("openclaw", &["/standin", "exists", "/home/app/.codex/worker-file"], ""), Some(1));
    assert_eq!(exec("codex-worker", &["/standin", "exists", "/home/app/.codex/openclaw-file"], ""), Some(1));

    // `--profile openclaw down openclaw openclaw-model-gate`: OpenClaw's containers go, the rest
    // keeps running.
    stack.compose_ok(&["--profile", "openclaw", "down", "openclaw", "openclaw-model-gate"]);
    assert_eq!(stack.services(), ["api", "codex-worker"]);
    for (service, before) in [("api", &api), ("codex-worker", &worker)] {
        let now = stack.inspect(service);
        assert_eq!(now["Id"], before["Id"], "{service} was recreated");
        assert_eq!(state(&now), (true, "running".into()), "{service}");
        assert_eq!(now["State"]["StartedAt"], before["State"]["StartedAt"], "{service} restarted");
    }
    for volume in [&stack.codex_volume, &stack.openclaw_codex_volume, &stack.openclaw_data_volume] {
        assert!(cs::volume_exists(volume), "{volume} was removed");
    }
    assert_eq!(exec("codex-worker", &["/standin", "exists", "/home/app/.codex/worker-file"], ""), Some(0));

    // The design's literal `--profile openclaw down` (no service) takes the whole project down
    // with Compose v2: the README and `make down SERVICES=openclaw` name the service for that.
    stack.up(true, &["openclaw"]);
    stack.compose_ok(&["--profile", "openclaw", "down"]);
    assert_eq!(stack.services(), Vec::<String>::new());
}

#[test]
fn make_up_and_down_follow_openclaw_enabled() {
    if !cs::engine_or_skip("make_up_and_down_follow_openclaw_enabled") {
        return;
    }
    let stack = Stack::new();
    let project = format!("-p {}", stack.project);
    let env = stack.env();
    let make = |target: &str, extra: &[(&str, &str)], args: &[&str]| {
        let mut all = env.clone();
        all.extend_from_slice(extra);
        let mut cmd = cs::clean("make");
        cmd.arg("-s")
            .arg("-C")
            .arg(cs::repo())
            .arg(target)
            .arg(format!(
                "COMPOSE_ARGS=--project-directory {} -f {} {project}",
                stack.dir.path().display(),
                cs::compose_file().display()
            ))
            .arg("UP_FLAGS=--no-build --pull never")
            .args(args)
            .envs(all);
        cs::run_ok(&mut cmd);
    };
    cs::docker_config();
    std::fs::write(stack.dir.path().join(".env"), "OPENCLAW_ENABLED=false\n").unwrap();
    make("up", &[], &[]);
    assert_eq!(stack.services(), ["api", "codex-worker"]);
    make("up", &[("OPENCLAW_ENABLED", "true")], &[]);
    assert_eq!(stack.services(), ["api", "codex-worker", "openclaw", "openclaw-model-gate"]);
    // SERVICES=openclaw means OpenClaw's containers: its model gate goes with it.
    make("down", &[("OPENCLAW_ENABLED", "true")], &["SERVICES=openclaw"]);
    assert_eq!(stack.services(), ["api", "codex-worker"]);
    std::fs::write(stack.dir.path().join(".env"), "OPENCLAW_ENABLED=true\n").unwrap();
    make("up", &[], &["SERVICES=openclaw"]);
    assert_eq!(stack.services(), ["api", "codex-worker", "openclaw", "openclaw-model-gate"]);
    make("down", &[], &[]);
    assert_eq!(stack.services(), Vec::<String>::new());
    assert!(cs::volume_exists(&stack.openclaw_codex_volume), "make down keeps volumes");
}

/// §9 item 2 with the real OpenClaw image (OPENCLAW_TEST_IMAGE, e.g. moonmind/openclaw:local from
/// `make image`): an API-key login put into the dedicated volume only, `up -d openclaw`, then
/// `codex login status` (through the image's shim) inside the running container.
#[test]
fn codex_login_status_in_openclaw_uses_only_its_volume() {
    const TEST: &str = "codex_login_status_in_openclaw_uses_only_its_volume";
    let Some(image) = support::docker::prebuilt_openclaw_image() else {
        eprintln!(
            "######## SKIPPED {TEST}: set OPENCLAW_TEST_IMAGE to a built OpenClaw image \
             (make image; e.g. OPENCLAW_TEST_IMAGE=moonmind/openclaw:local) ########"
        );
        return;
    };
    if !cs::engine_or_skip(TEST) {
        return;
    }
    let mut stack = Stack::new();
    stack.openclaw_image = image;
    stack.gate_image = openclaw_codex::ops::image::gate_tag(&stack.openclaw_image);
    // The server command is not what this test is about (the OpenClaw package may not be in a
    // test image): the entrypoint still runs every check, then execs this instead. The gate's
    // upstream is a mock on the host.
    let upstream = support::mock_api::MockApi::start_on("0.0.0.0", vec![]);
    let leak = support::mock_api::MockApi::start_on("0.0.0.0", vec![]);
    let over = stack.dir.path().join("command.override.yaml");
    let host = "[\"host.docker.internal:host-gateway\"]";
    std::fs::write(
        &over,
        format!(
            "services:\n  openclaw:\n    command: [\"sleep\", \"infinity\"]\n    extra_hosts: {host}\n\
             \x20 openclaw-model-gate:\n    extra_hosts: {host}\n    environment:\n\
             \x20     - OPENCLAW_GATE_UPSTREAM=http://host.docker.internal:{}/v1\n",
            upstream.port()
        ),
    )
    .unwrap();
    stack.overrides.push(over);
    let run_args = ["--profile", "openclaw", "run", "--rm", "--no-deps", "-T", "--pull", "never"];

    // Control: on the empty dedicated volume, codex is not logged in.
    let mut cmd = stack.compose(&run_args);
    cmd.args(["--entrypoint", "codex", "openclaw", "login", "status"]);
    let out = cs::run(&mut cmd);
    assert!(
        !out.status.success(),
        "codex login status succeeds on an empty volume:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The login, written by the image's `app` user into the dedicated volume.
    let mut cmd = stack.compose(&run_args);
    cmd.args(["--entrypoint", "sh", "openclaw", "-c"])
        .arg(r#"umask 077 && cat > "$CODEX_HOME/auth.json""#)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(br#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test-123456"}"#).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "writing auth.json into the dedicated volume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    stack.up(true, &["openclaw"]);
    let info = stack.wait_running("openclaw", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    let info_later = stack.inspect("openclaw");
    assert_eq!(
        (info_later["RestartCount"].clone(), state(&info_later).0),
        (json!(0), true),
        "openclaw restarts: {}",
        info["State"]
    );
    assert_eq!(
        cs::volume_mounts(&info).0,
        owned(&[
            (&stack.openclaw_codex_volume, "/home/app/.codex"),
            (&stack.openclaw_data_volume, "/var/lib/openclaw"),
        ])
    );
    assert!(!cs::volume_exists(&stack.codex_volume), "the workers' volume exists");

    let mut cmd = stack.compose(&["exec", "-T", "openclaw", "codex", "login", "status"]);
    let out = cs::run(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "codex login status in openclaw: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // codex prints the status on stdout or stderr depending on the release.
    let both = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(both.contains("Logged in using an API key"), "{both}");

    // The real codex by absolute path (no shim) asking for another model: its request reaches the
    // upstream through the gate service, on the pin.
    let direct = ["exec", "-T", "openclaw", "/usr/local/bin/codex", "exec", "-m", "gpt-other", "--skip-git-repo-check"];
    let out = cs::run(&mut stack.compose(&[&direct[..], &["--ephemeral", "hi"]].concat()));
    assert!(out.status.success(), "codex by path through the gate: {}", String::from_utf8_lossy(&out.stderr));
    let models: Vec<_> = upstream.requests().into_iter().map(|r| r.model).collect();
    assert!(!models.is_empty() && models.iter().all(|m| m.as_deref() == Some("gpt-5.3-codex")), "{models:?}");
    // Control: the same image without its requirements.toml sends the model asked for.
    let mut cmd = stack.compose(&run_args);
    cmd.args(["--user", "root", "--entrypoint", "sh", "openclaw", "-c"]).arg(format!(
        "rm /etc/codex/requirements.toml && exec /usr/local/bin/codex exec -m gpt-other --skip-git-repo-check --ephemeral \
         -c model_provider=\\\"leak\\\" -c model_providers.leak.name=\\\"leak\\\" \
         -c model_providers.leak.base_url=\\\"http://host.docker.internal:{}/v1\\\" hi",
        leak.port()
    ));
    let out = cs::run(&mut cmd);
    let leaked: Vec<_> = leak.requests().into_iter().map(|r| r.model).collect();
    assert_eq!(
        leaked.first().cloned().flatten().as_deref(),
        Some("gpt-other"),
        "control: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
