//! The world a bypass attempt runs in: the shim and the real codex (`codex_env::Setup`), a
//! CODEX_HOME whose files name other models and a second provider, a second Responses API mock
//! that only a working redirect could reach, a trusted project, a git repository with changes to
//! review, and two images.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::codex_env::Setup;
use crate::support::mock_api::{MockApi, Reply};

/// A valid 1×1 RGBA PNG.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Models the environment names; none of them may ever reach a mock through the shim.
pub const USER_CONFIG_MODEL: &str = "gpt-other-from-user-config";
pub const USER_CONFIG_REVIEW_MODEL: &str = "gpt-other-review-from-user-config";
pub const PROFILE_MODEL: &str = "gpt-other-from-profile";
pub const PROJECT_MODEL: &str = "gpt-other-from-project";
/// A model of codex's built-in catalog, so `spawn_agent` accepts it.
pub const CATALOG_MODEL: &str = "gpt-6-luna";

/// What the first mock answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// "done" to everything.
    Plain,
    /// `spawn_agent` on `CATALOG_MODEL` in the tool namespace of models outside the catalog
    /// (`multi_agent_v1`), then `wait_agent`.
    SpawnV1,
    /// The same in the `collaboration` namespace (`multi_agent_v2`).
    SpawnV2,
    /// `spawn_agent` without a model, so `agents.default_subagent_model` would choose it.
    SpawnDefaultModel,
    /// "done" only after 4 s: background jobs started with the session (memory consolidation) get
    /// to make their request before `exec` ends.
    Slow,
    /// `Reply::escalating_command`: an approval request.
    Escalate,
}

impl Script {
    pub fn replies(self) -> Vec<Reply> {
        let spawn = |namespace: &str, arguments: Value| {
            vec![
                Reply::ToolCall { name: "spawn_agent".into(), namespace: namespace.into(), arguments },
                Reply::ToolCall {
                    name: "wait_agent".into(),
                    namespace: namespace.into(),
                    arguments: json!({"timeout_ms": 10000}),
                },
            ]
        };
        let task = |model: Option<&str>| {
            let mut arguments = json!({
                "task_name": "side", "message": "work on another model", "fork_turns": "none",
            });
            if let Some(model) = model {
                arguments["model"] = json!(model);
            }
            arguments
        };
        match self {
            Script::Plain => Vec::new(),
            Script::SpawnV1 => spawn("multi_agent_v1", task(Some(CATALOG_MODEL))),
            Script::SpawnV2 => spawn("collaboration", task(Some(CATALOG_MODEL))),
            Script::SpawnDefaultModel => spawn("multi_agent_v1", task(None)),
            Script::Slow => vec![Reply::MessageAfter("done".into(), std::time::Duration::from_secs(4))],
            Script::Escalate => vec![Reply::escalating_command()],
        }
    }
}

pub struct World {
    pub setup: Setup,
    /// Reached only by a redirect: `model_providers.other` points here.
    pub other: MockApi,
    /// A trusted project whose `.codex/config.toml` names `PROJECT_MODEL` and provider `other`.
    pub project: PathBuf,
    /// A git repository with a modified and an untracked file.
    pub repo: PathBuf,
}

impl World {
    pub fn new(script: Script) -> World {
        let setup = Setup::new(script.replies());
        let other = MockApi::start(Vec::new());
        let root = setup.tree.root.path().to_path_buf();
        let project = fs::canonicalize(setup.tree.dir("project")).unwrap();
        let repo = fs::canonicalize(setup.tree.dir("repo")).unwrap();
        let provider = |name: &str, url: &str| {
            format!(
                "[model_providers.{name}]\n\
                 name = \"{name}\"\n\
                 base_url = \"{url}\"\n\
                 wire_api = \"responses\"\n\
                 request_max_retries = 0\n\
                 stream_max_retries = 0\n"
            )
        };
        // The operator's config.toml: Setup's, plus a review model, a second provider and a trust
        // entry.
        let config = format!(
            "model = \"{USER_CONFIG_MODEL}\"\n\
             review_model = \"{USER_CONFIG_REVIEW_MODEL}\"\n\
             model_provider = \"mock\"\n\
             {}\
             {}\
             [projects.\"{}\"]\n\
             trust_level = \"trusted\"\n",
            provider("mock", &setup.mock.base_url),
            provider("other", &other.base_url),
            project.display()
        );
        fs::write(setup.home.join("config.toml"), config).unwrap();
        fs::write(
            setup.home.join("work.config.toml"),
            format!("model = \"{PROFILE_MODEL}\"\nmodel_provider = \"other\"\n"),
        )
        .unwrap();
        fs::create_dir_all(project.join(".codex")).unwrap();
        fs::write(
            project.join(".codex/config.toml"),
            format!("model = \"{PROJECT_MODEL}\"\nmodel_provider = \"other\"\n"),
        )
        .unwrap();
        for name in ["a.png", "b.png"] {
            fs::write(root.join(name), TINY_PNG).unwrap();
        }
        make_repo(&repo);
        World { setup, other, project, repo }
    }

    /// `{MOCK2}`, `{PROJECT}`, `{REPO}`, `{SESSION}` replaced in `arg`.
    pub fn expand(&self, arg: &str, session: Option<&str>) -> String {
        let mut arg = arg
            .replace("{MOCK2}", &self.other.base_url)
            .replace("{PROJECT}", &self.project.to_string_lossy())
            .replace("{REPO}", &self.repo.to_string_lossy());
        if let Some(session) = session {
            arg = arg.replace("{SESSION}", session);
        }
        arg
    }
}

/// `git init` with one committed file, then a change to it and an untracked file.
fn make_repo(repo: &Path) {
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=conformance",
                "-c",
                "user.email=conformance@example.invalid",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    fs::write(repo.join("lib.py"), "def add(a, b):\n    return a + b\n").unwrap();
    git(&["add", "lib.py"]);
    git(&["commit", "-q", "-m", "first"]);
    fs::write(repo.join("lib.py"), "def add(a, b):\n    return a - b\n").unwrap();
    fs::write(repo.join("notes.txt"), "untracked\n").unwrap();
}
