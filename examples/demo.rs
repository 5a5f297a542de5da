//! `make demo`: the real Codex CLI behind the shim, against a local stand-in for the model API.
//! Usage: demo SHIM REAL_CODEX

#[path = "../shim-tests/support/etc_codex.rs"]
mod etc_codex;
#[path = "../shim-tests/support/mock_api.rs"]
mod mock_api;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use serde_json::{json, Value};

const PIN: &str = "gpt-5.3-codex";
const GUARD_BIN: &str = "openclaw-app-server-guard";
const GATE_BIN: &str = "openclaw-model-gate";

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [shim, real] = &args[..] else {
        eprintln!("usage: demo SHIM REAL_CODEX");
        std::process::exit(2);
    };
    let work = tempfile::tempdir().unwrap();
    let (shim_dir, real_dir, home, tmp) =
        (work.path().join("shim"), work.path().join("real"), work.path().join("codex-home"), work.path().join("tmp"));
    for dir in [&shim_dir, &real_dir, &home, &tmp] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::copy(shim, shim_dir.join("codex")).unwrap();
    std::os::unix::fs::symlink(std::fs::canonicalize(real).unwrap(), real_dir.join("codex")).unwrap();
    let mock = mock_api::MockApi::start(vec![mock_api::Reply::Message("Hello from the stand-in model.".into())]);
    std::fs::write(
        home.join("config.toml"),
        format!(
            "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\nwire_api = \"responses\"\n",
            mock.base_url
        ),
    )
    .unwrap();
    let path = std::env::join_paths([&shim_dir, &real_dir, Path::new("/usr/bin"), Path::new("/bin")]).unwrap();
    let caller = ["exec", "--skip-git-repo-check", "--ephemeral", "--model", "gpt-4o", "Say hello."];
    let codex = |extra: &[(&str, &str)]| {
        let mut cmd = Command::new("codex");
        cmd.env("PATH", &path)
            .env("CODEX_HOME", &home)
            .env("TMPDIR", &tmp)
            .env("OPENCLAW_MODEL", PIN)
            .args(caller)
            .stdin(Stdio::null());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    };

    println!("== OpenClaw runs: codex {}   (with OPENCLAW_MODEL={PIN})", caller.join(" "));
    println!("\n== 1. What the shim will do (OPENCLAW_SHIM_EXPLAIN=1):");
    let explain = codex(&[("OPENCLAW_SHIM_EXPLAIN", "1")]).output().unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&explain.stdout).unwrap();
    println!("{}", serde_json::to_string_pretty(&plan).unwrap());

    println!("\n== 2. Running it: the real Codex CLI {} talks to a local model stand-in", real.display());
    let status = codex(&[]).status().unwrap();
    println!("codex exited with {status}");
    for request in mock.requests() {
        println!(
            ">> request {} carried model = {:?}  (the caller asked for \"gpt-4o\")",
            request.path,
            request.model.as_deref().unwrap_or("<none>")
        );
    }

    println!("\n== 3. The same call with OPENCLAW_MODEL_LOCK_MODE=reject:");
    let before = mock.requests().len();
    let status = codex(&[("OPENCLAW_MODEL_LOCK_MODE", "reject")]).status().unwrap();
    println!("codex exited with {status}; requests sent: {}", mock.requests().len() - before);

    println!(
        "\n== 4. codex app-server (JSON-RPC on stdio), a client asking for gpt-4o in thread/start and turn/start:"
    );
    std::fs::copy(shim.with_file_name(GUARD_BIN), shim_dir.join(GUARD_BIN)).unwrap();
    let before = mock.requests().len();
    let mut server = Command::new("codex");
    server.env("PATH", &path).env("CODEX_HOME", &home).env("TMPDIR", &tmp).env("OPENCLAW_MODEL", PIN);
    let status = app_server_session(server.arg("app-server"));
    println!("codex app-server exited with {status}");
    for request in &mock.requests()[before..] {
        println!(">> request {} carried model = {:?}", request.path, request.model.as_deref().unwrap_or("<none>"));
    }

    let mut pinned = mock.requests().iter().all(|r| r.model.as_deref() == Some(PIN)) && !mock.requests().is_empty();

    println!("\n== 5. The real codex run by its path, no shim (as codex's own children, the Python SDK or OpenClaw's harness do), asking for gpt-4o:");
    if nix_is_root() {
        pinned &= by_path_through_the_gate(&shim.with_file_name(GATE_BIN), real, &home, &tmp, &mock);
    } else {
        println!("SKIPPED: a private /etc/codex needs root (unshare -m); run make demo as root");
    }
    println!(
        "\n{}",
        if pinned {
            "OK: every request through a layer used the pinned model."
        } else {
            "FAILED: a request through a layer used another model."
        }
    );
    std::process::exit(if pinned { 0 } else { 1 });
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0")))
}

/// Step 5: the real codex by path, first as it is (the request carries what it asked for: what a
/// PATH shim cannot see), then with `/etc/codex/requirements.toml` forcing its provider to the model
/// gate (in a private mount namespace). True when the gate pinned it.
fn by_path_through_the_gate(gate: &Path, real: &Path, home: &Path, tmp: &Path, mock: &mock_api::MockApi) -> bool {
    let mut login = Command::new(real);
    login.args(["login", "--with-api-key"]).env("CODEX_HOME", home).stdin(Stdio::piped()).stdout(Stdio::null());
    let mut child = login.stderr(Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"sk-demo").unwrap();
    assert!(child.wait().unwrap().success(), "codex login --with-api-key");
    let caller = ["exec", "--skip-git-repo-check", "--ephemeral", "--model", "gpt-4o", "Say hello."];
    let run = |command: &mut Command, what: &str| {
        let before = mock.requests().len();
        let status = command
            .env("CODEX_HOME", home)
            .env("TMPDIR", tmp)
            .args(caller)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        let models: Vec<String> =
            mock.requests()[before..].iter().map(|r| format!("{:?}", r.model.as_deref().unwrap_or("<none>"))).collect();
        println!("{what}: codex exited with {status}; request model(s) = {}", models.join(", "));
        mock.requests()[before..].to_vec()
    };
    let empty = etc_codex::EtcCodex::empty();
    run(&mut empty.command(real), "   without the gate");
    let mut server = Command::new(gate)
        .args(["serve", "--listen", "127.0.0.1:0", "--upstream", &mock.base_url])
        .env("OPENCLAW_MODEL", PIN)
        .env("OPENCLAW_AUDIT_JOURNALD", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap_or_default().to_owned();
    println!("   {}", line.trim());
    let etc = etc_codex::EtcCodex::with_requirements(gate, &url);
    println!("   /etc/codex/requirements.toml (private mount namespace):");
    for line in std::fs::read_to_string(etc.codex_dir().join("requirements.toml")).unwrap().lines() {
        println!("     {line}");
    }
    let through = run(&mut etc.command(real), "   with the gate");
    let _ = server.kill();
    let _ = server.wait();
    !through.is_empty() && through.iter().all(|r| r.model.as_deref() == Some(PIN))
}

/// A JSON-RPC client's session: initialize, thread/start and turn/start naming gpt-4o, wait for the
/// turn to complete, close stdin (codex exits at EOF). Prints what it sends and the replies' models.
fn app_server_session(command: &mut Command) -> ExitStatus {
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |message: Value| {
        println!("-> {message}");
        writeln!(stdin, "{message}").unwrap();
    };
    let mut until = |wanted: &dyn Fn(&Value) -> bool| -> Value {
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "codex app-server closed its stdout");
            let message: Value = serde_json::from_str(&line).unwrap();
            if wanted(&message) {
                return message;
            }
        }
    };
    send(json!({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "demo", "version": "1"}}}));
    until(&|m| m["id"] == 1);
    send(json!({"method": "initialized"}));
    send(json!({"id": 2, "method": "thread/start", "params": {"model": "gpt-4o"}}));
    let thread = until(&|m| m["id"] == 2);
    println!("<- thread/start result: model = {}", thread["result"]["model"]);
    let id = thread["result"]["thread"]["id"].clone();
    let input = json!([{"type": "text", "text": "Say hello."}]);
    send(json!({"id": 3, "method": "turn/start", "params": {"threadId": id, "input": input, "model": "gpt-4o"}}));
    until(&|m| m["method"] == "turn/completed");
    println!("<- turn/completed");
    drop(stdin);
    child.wait().unwrap()
}
