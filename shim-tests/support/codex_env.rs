//! A shim in front of the real Codex CLI, with a CODEX_HOME whose operator config points at the
//! Responses API mock.

use std::path::PathBuf;

use super::mock_api::{MockApi, Reply};
use super::Tree;

/// A shim in `shim/`, the real codex in `real/`, a CODEX_HOME whose operator config points at the mock.
pub struct Setup {
    pub tree: Tree,
    pub home: PathBuf,
    pub mock: MockApi,
}

impl Setup {
    pub fn new(script: Vec<Reply>) -> Setup {
        let tree = Tree::new();
        tree.shim("shim");
        std::os::unix::fs::symlink(super::real_codex_binary(), tree.dir("real").join("codex")).unwrap();
        let mock = MockApi::start(script);
        let home = tree.dir("codex-home");
        let config = format!(
            "model = \"gpt-other-from-user-config\"\n\
             model_provider = \"mock\"\n\
             [model_providers.mock]\n\
             name = \"mock\"\n\
             base_url = \"{}\"\n\
             wire_api = \"responses\"\n\
             request_max_retries = 0\n\
             stream_max_retries = 0\n",
            mock.base_url
        );
        std::fs::write(home.join("config.toml"), config).unwrap();
        Setup { tree, home, mock }
    }

    /// `codex ARGS` through PATH (so through the shim) with stdin closed.
    pub fn codex(&self, args: &[&str]) -> assert_cmd::Command {
        self.codex_on(&["shim", "real"], args)
    }

    pub fn codex_on(&self, path: &[&str], args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.tree.command("codex", self.tree.path_of(path));
        let tmp = self.tree.dir("tmp");
        cmd.env("CODEX_HOME", &self.home)
            .env("HOME", self.tree.root.path())
            .env("TMPDIR", tmp)
            .args(args)
            .write_stdin("")
            .timeout(std::time::Duration::from_secs(60));
        cmd
    }

    pub fn models(&self) -> Vec<Option<String>> {
        self.mock.requests().into_iter().map(|r| r.model).collect()
    }
}
