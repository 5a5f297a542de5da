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
    /// directory is bound over `/etc/codex`.
    pub fn command(&self, program: &Path) -> Command {
        const SCRIPT: &str = r#"set -e
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc
mkdir -p /etc/codex
mount --bind "$1/codex" /etc/codex
shift
exec "$@""#;
        let mut command = Command::new("unshare");
        command.args(["--mount", "--propagation", "private", "--", "sh", "-c", SCRIPT, "sh"]);
        command.arg(self.dir.path()).arg(program);
        command
    }
}
