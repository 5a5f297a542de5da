//! Harness of the bootstrap suite: what is built once (the OpenClaw image, the static tool through
//! its wrapper, the pinned Compose plugin), and one `Env` per scenario — a project directory with
//! its own `.env`, a unique Compose project, unique volume and network names — whose Drop removes
//! every container, volume, network and image made for it or by the tool under test, also when the
//! scenario fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::docker::{build_openclaw_image, clean, docker, docker_ok, prebuilt_openclaw_image, unique, Cleanup};
#[allow(unused_imports)] // used by the bootstrap suite only
pub use super::docker::{network_exists, volume_exists};
pub use super::docker::{repo, text};

pub const API_KEY_A: &str = r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test-123456"}"#;
pub const API_KEY_B: &str = r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test-previous-999"}"#;
/// `codex_auth::credential` sees an API key; `codex login status` rejects the `tokens` field.
pub const API_KEY_CODEX_REJECTS: &str =
    r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test-broken","tokens":"notanobject"}"#;
pub use openclaw_codex::ops::bootstrap::{DEST_LABEL, PREFIX as TOOL};

/// A fake ChatGPT login `codex login status` accepts offline ("Logged in using ChatGPT").
pub fn chatgpt_login() -> String {
    let header = super::fake_jwt_part(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = super::fake_jwt_part(
        br#"{"email":"a@example.com","https://api.openai.com/auth":{"chatgpt_plan_type":"plus","chatgpt_account_id":"acc"}}"#,
    );
    format!(
        r#"{{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{{"id_token":"{header}.{payload}.sig","access_token":"at","refresh_token":"rt","account_id":"acc"}},"last_refresh":"2099-01-01T00:00:00Z"}}"#
    )
}

/// What every scenario shares: built once by the suite, removed by its guard.
pub struct Shared {
    /// The OpenClaw image (unique tag).
    pub image: String,
    /// The static tool, as the wrapper built it.
    pub tool: PathBuf,
}

impl Shared {
    /// The image (`OPENCLAW_TEST_IMAGE`, which `make test` builds, else one built here with its tag
    /// registered with `cleanup`), the static tool and the Compose plugin.
    pub fn build(cleanup: &mut Cleanup) -> Shared {
        let image = prebuilt_openclaw_image().unwrap_or_else(|| build_openclaw_image(cleanup, "bootstrap-image").0);
        // The wrapper operators run: it builds the static tool, then runs it.
        let version = Command::new(repo().join(format!("tools/{TOOL}.sh"))).arg("--version").output().unwrap();
        assert!(version.status.success(), "the wrapper failed: {}", text(&version.stderr));
        assert!(text(&version.stdout).starts_with(TOOL), "{}", text(&version.stdout));
        let tool = repo().join("target/bootstrap").join(TOOL);
        Shared { image, tool }
    }
}

/// One file or directory of a volume, as `Env::read` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub dir: bool,
    pub uid: u64,
    pub gid: u64,
    pub mode: u64,
    pub ino: u64,
    pub mtime: u64,
    pub content: Option<String>,
}

pub type Listing = BTreeMap<String, Entry>;

const WRITE_PY: &str = r#"
import json, os, sys
files = json.load(sys.stdin)
for name, content in files.items():
    path = os.path.join('/v', name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(content)
    os.chown(path, 1000, 1000)
    os.chmod(path, 0o600 if name.endswith('auth.json') else 0o644)
os.chown('/v', 1000, 1000)
"#;

const READ_PY: &str = r#"
import json, os
def entry(path):
    st = os.lstat(path)
    e = {'dir': os.path.isdir(path), 'uid': st.st_uid, 'gid': st.st_gid, 'mode': st.st_mode & 0o7777,
         'ino': st.st_ino, 'mtime': st.st_mtime_ns, 'content': None}
    # Codex keeps copies of itself under tmp/ (hundreds of MB): only small files are read.
    if os.path.isfile(path) and not os.path.islink(path) and st.st_size <= 65536:
        e['content'] = open(path, errors='replace').read()
    return e
out = {'.': entry('/v')}
for root, dirs, files in os.walk('/v'):
    for name in dirs + files:
        path = os.path.join(root, name)
        out[os.path.relpath(path, '/v')] = entry(path)
print(json.dumps(out))
"#;

/// One scenario's stack: its own directory, `.env`, project, volumes and network.
pub struct Env<'a> {
    pub shared: &'a Shared,
    pub dir: tempfile::TempDir,
    pub project: String,
    pub source: String,
    pub dest: String,
    pub data: String,
    pub network: String,
    pub cleanup: Cleanup,
}

impl<'a> Env<'a> {
    pub fn new(shared: &'a Shared) -> Env<'a> {
        let id = unique("bs");
        let mut cleanup = Cleanup::default();
        let env = Env {
            shared,
            dir: tempfile::tempdir().unwrap(),
            project: id.clone(),
            source: cleanup.adopt_volume(&format!("{id}-codex_auth_volume")),
            dest: cleanup.adopt_volume(&format!("{id}-openclaw_codex_auth_volume")),
            data: cleanup.adopt_volume(&format!("{id}-openclaw_data")),
            network: cleanup.network(&format!("{id}-net")),
            cleanup,
        };
        std::fs::create_dir(env.dir.path().join("tmp")).unwrap();
        env.write_env(&format!(
            "OPENCLAW_IMAGE={}\nCODEX_VOLUME_NAME={}\nOPENCLAW_CODEX_VOLUME_NAME={}\nOPENCLAW_DATA_VOLUME_NAME={}\nMOONMIND_NETWORK={}\n",
            shared.image, env.source, env.dest, env.data, env.network
        ));
        env
    }

    pub fn write_env(&self, text: &str) {
        std::fs::write(self.dir.path().join(".env"), text).unwrap();
    }

    fn clean(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = clean(program);
        // TMPDIR: the tool's lock file and helper build context stay in this scenario's directory.
        cmd.env("OPENCLAW_AUDIT_JOURNALD", "0").env("TMPDIR", self.dir.path().join("tmp")).current_dir(self.dir.path());
        cmd
    }

    fn compose_globals(&self) -> Vec<String> {
        vec![
            "--project-directory".into(),
            self.dir.path().to_string_lossy().into_owned(),
            "--file".into(),
            repo().join("docker-compose.yaml").to_string_lossy().into_owned(),
            "--project-name".into(),
            self.project.clone(),
        ]
    }

    /// The static tool for this stack (clean environment, audit records on stderr).
    pub fn tool(&self, args: &[&str]) -> Command {
        let mut cmd = self.clean(&self.shared.tool);
        cmd.args(self.compose_globals()).args(args);
        cmd
    }

    /// The same through the wrapper operators run.
    pub fn wrapper(&self, args: &[&str]) -> Command {
        let mut cmd = self.clean(repo().join(format!("tools/{TOOL}.sh")));
        cmd.args(self.compose_globals()).args(args);
        cmd
    }

    /// `docker compose` for this stack.
    pub fn compose(&self, args: &[&str]) -> Command {
        let mut cmd = self.clean("docker");
        cmd.arg("compose").args(self.compose_globals()).args(args);
        cmd
    }

    /// Writes `files` (path in the volume, content) into `volume` (created if missing), owned by
    /// app, auth.json 0600.
    pub fn put(&mut self, volume: &str, files: &[(&str, &str)]) {
        let map: BTreeMap<&str, &str> = files.iter().copied().collect();
        let name = self.cleanup.container(&unique("bs-put"));
        let mount = format!("{volume}:/v");
        let mut child = Command::new("docker")
            .args(["run", "--rm", "-i", "--name", &name, "--user", "0", "--network", "none"])
            .args(["--entrypoint", "python3", "-v", &mount, &self.shared.image, "-c", WRITE_PY])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(serde_json::to_string(&map).unwrap().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "writing {volume}: {}", text(&out.stderr));
    }

    /// Every file and directory of `volume` (which must exist) with owner, mode, inode and content.
    pub fn read(&mut self, volume: &str) -> Listing {
        assert!(volume_exists(volume), "no volume {volume}");
        let name = self.cleanup.container(&unique("bs-read"));
        let mount = format!("{volume}:/v:ro");
        let out = docker_ok(&[
            "run",
            "--rm",
            "--name",
            &name,
            "--user",
            "0",
            "--network",
            "none",
            "--entrypoint",
            "python3",
            "-v",
            &mount,
            &self.shared.image,
            "-c",
            READ_PY,
        ]);
        let value: Value = serde_json::from_str(&out).unwrap();
        value
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, e)| {
                let n = |f: &str| e[f].as_u64().unwrap();
                (
                    k.clone(),
                    Entry {
                        dir: e["dir"].as_bool().unwrap(),
                        uid: n("uid"),
                        gid: n("gid"),
                        mode: n("mode"),
                        ino: n("ino"),
                        mtime: n("mtime"),
                        content: e["content"].as_str().map(String::from),
                    },
                )
            })
            .collect()
    }

    /// The content of `path` in `volume`.
    pub fn content(&mut self, volume: &str, path: &str) -> Option<String> {
        self.read(volume).get(path).and_then(|e| e.content.clone())
    }

    /// A container of ours mounting `volume`, left running (`sleep`) or exited (`true`).
    pub fn container_using(&mut self, volume: &str, running: bool) -> String {
        let name = self.cleanup.container(&unique("bs-user"));
        let mount = format!("{volume}:/x");
        let mut args = vec!["run", "--name", &name, "-v", &mount, "--network", "none"];
        if running {
            args.extend(["-d", "--entrypoint", "sleep", &self.shared.image, "600"]);
        } else {
            args.extend(["--entrypoint", "true", &self.shared.image]);
        }
        docker_ok(&args);
        name
    }

    /// Containers and images the tool made for this stack's destination and left behind.
    pub fn leftovers(&self) -> Vec<String> {
        let filter = format!("label={DEST_LABEL}={}", self.dest);
        let containers = docker_ok(&["ps", "-aq", "--filter", &filter]);
        let images = docker_ok(&["images", "-q", "--filter", &filter]);
        containers
            .split_whitespace()
            .map(|c| format!("container {c}"))
            .chain(images.split_whitespace().map(|i| format!("image {i}")))
            .collect()
    }
}

/// Asserts `out` ended with `code`; returns stdout and stderr together for message checks.
pub fn expect_code(what: &str, out: &Output, code: i32) -> String {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "{what}: expected exit {code}:\n{all}");
    all
}

impl Drop for Env<'_> {
    fn drop(&mut self) {
        // What the tool made for this stack and may have left when killed: its labelled
        // containers (helpers, validation) and helper images, and this project's containers.
        let sweep = |kind: &[&str], filter: String| {
            let mut args: Vec<&str> = kind.to_vec();
            args.extend(["--filter", &filter]);
            let out = docker(&args);
            text(&out.stdout).split_whitespace().map(String::from).collect::<Vec<_>>()
        };
        let mut containers = sweep(&["ps", "-aq"], format!("label={DEST_LABEL}={}", self.dest));
        containers.extend(sweep(&["ps", "-aq"], format!("label=com.docker.compose.project={}", self.project)));
        for c in containers {
            docker(&["rm", "--force", "--volumes", &c]);
        }
        // By tag: an image id could be shared with an image that is not ours.
        for image in
            sweep(&["images", "--format", "{{.Repository}}:{{.Tag}}"], format!("label={DEST_LABEL}={}", self.dest))
        {
            docker(&["image", "rm", &image]);
        }
        for network in sweep(&["network", "ls", "-q"], format!("label=com.docker.compose.project={}", self.project)) {
            docker(&["network", "rm", &network]);
        }
        // The Cleanup drops next: our containers, the volumes, the network.
    }
}
