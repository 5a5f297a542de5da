#![allow(dead_code)] // shared by the tests and the demo
//! A `/etc/codex` of a test's (or the demo's) own, seen only by the programs it runs in a private
//! mount namespace: the machine's `/etc` is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A `/etc/codex` for the real codex, mounted over the machine's in a private mount namespace.
pub struct EtcCodex {
    dir: tempfile::TempDir,
}

impl EtcCodex {
    /// `/etc/codex` holding the requirements.toml `gate requirements` prints for `gate_url`.
    pub fn with_requirements(gate: &Path, gate_url: &str) -> EtcCodex {
        let etc = EtcCodex::empty();
        let output = Command::new(gate).args(["requirements", "--gate-url", gate_url]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        std::fs::write(etc.codex_dir().join("requirements.toml"), output.stdout).unwrap();
        etc
    }

    /// An empty `/etc/codex`: the control runs, without the gate.
    pub fn empty() -> EtcCodex {
        let etc = EtcCodex { dir: tempfile::tempdir().unwrap() };
        for sub in ["codex", "upper", "work"] {
            std::fs::create_dir_all(etc.dir.path().join(sub)).unwrap();
        }
        etc
    }

    pub fn codex_dir(&self) -> PathBuf {
        self.dir.path().join("codex")
    }

    /// `program args…` in a private mount namespace whose `/etc/codex` is this one: `/etc` is an
    /// overlay (so `/etc/codex` can exist there without being made on the machine), and this
    /// directory is bound over `/etc/codex`. The namespace's tools are found on the test's own
    /// PATH, so the caller may give `program` any environment (`env_clear` included).
    pub fn command(&self, program: &Path) -> Command {
        const SCRIPT: &str = r#"set -e
"$2" -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc
"$3" -p /etc/codex
"$2" --bind "$1/codex" /etc/codex
shift 3
exec "$@""#;
        let mut command = Command::new(on_test_path("unshare"));
        command.args(["--mount", "--propagation", "private", "--"]).arg(on_test_path("sh")).args(["-c", SCRIPT, "sh"]);
        command.arg(self.dir.path()).arg(on_test_path("mount")).arg(on_test_path("mkdir")).arg(program);
        command
    }
}

/// `name` on the test process's PATH (util-linux, coreutils).
pub fn on_test_path(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH"))
}
