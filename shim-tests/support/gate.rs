//! The model gate under test: the gate process, a `/etc/codex` of the test's own in a private mount
//! namespace (the machine's `/etc` is never touched), and the real codex run there by path.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::PIN;

/// The gate under test: next to `OPENCLAW_TEST_SHIM` (the static build `make shim` stages), else
/// cargo's build.
pub fn gate_binary() -> PathBuf {
    match std::env::var_os("OPENCLAW_TEST_SHIM") {
        Some(_) => super::shim_binary().with_file_name("openclaw-model-gate"),
        None => PathBuf::from(env!("CARGO_BIN_EXE_openclaw-model-gate")),
    }
}

/// A running `openclaw-model-gate serve` on a free loopback port; killed on drop.
pub struct Gate {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stderr: Arc<Mutex<String>>,
}

impl Gate {
    /// Serves `mode` for the pin, API logins to `upstream`; `extra` are more `serve` options.
    pub fn start(mode: &str, upstream: &str, extra: &[&str]) -> Gate {
        Gate::start_with_env(mode, upstream, extra, &[])
    }

    pub fn start_with_env(mode: &str, upstream: &str, extra: &[&str], env: &[(&str, &str)]) -> Gate {
        let mut command = Command::new(gate_binary());
        command
            .env_clear()
            .env("OPENCLAW_MODEL", PIN)
            .env("OPENCLAW_MODEL_LOCK_MODE", mode)
            .env("OPENCLAW_AUDIT_JOURNALD", "0")
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0", "--upstream", upstream])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the gate starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    return;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "the gate did not start: {line:?}; stderr: {}",
            stderr.lock().unwrap()
        );
        Gate { child, url, stderr }
    }

    /// What the gate wrote on stderr so far (operational log and audit records).
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The audit records (JSON lines) the gate wrote on stderr, after a moment for the last ones.
    pub fn audit_records(&self) -> Vec<serde_json::Value> {
        std::thread::sleep(Duration::from_millis(100));
        self.log().lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use super::etc_codex::EtcCodex;

/// `/etc/codex` holding the requirements.toml `openclaw-model-gate requirements` prints for `gate_url`.
pub fn etc_for_gate(gate_url: &str) -> EtcCodex {
    EtcCodex::with_requirements(&gate_binary(), gate_url)
}
