//! `make demo`: the real Codex CLI behind the shim, against a local stand-in for the model API.
//! Usage: demo SHIM REAL_CODEX

#[path = "../shim-tests/support/mock_api.rs"]
mod mock_api;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PIN: &str = "gpt-5.3-codex";

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

    let pinned = mock.requests().iter().all(|r| r.model.as_deref() == Some(PIN)) && !mock.requests().is_empty();
    println!(
        "\n{}",
        if pinned { "OK: every request used the pinned model." } else { "FAILED: a request used another model." }
    );
    std::process::exit(if pinned { 0 } else { 1 });
}
