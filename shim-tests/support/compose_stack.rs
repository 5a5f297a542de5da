//! Harness for the Compose suite: the pinned Compose v2 plugin (packaging/fetch-compose.sh) run
//! against the repository's docker-compose.yaml with a private project directory and environment,
//! and, for tests on the Docker engine, a `Stack` of uniquely named resources (project, network,
//! volumes, stand-in image) that its Drop removes whatever happened.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

#[allow(unused_imports)] // used by the compose suite only
pub use super::docker::{clean, docker_config, repo, unique, volume_exists};

pub fn compose_file() -> PathBuf {
    repo().join("docker-compose.yaml")
}

/// `docker` with a clean environment (see `clean`).
pub fn docker() -> Command {
    clean("docker")
}

/// `docker compose --project-directory DIR -f <repo>/docker-compose.yaml` with `env` only.
/// The project directory is where `.env` is read from (and what `build.context: .` resolves to).
pub fn compose(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = docker();
    cmd.arg("compose").arg("--project-directory").arg(dir).arg("-f").arg(compose_file()).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `cmd`, panics with its output unless it succeeds; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// Paths (`a.b.c`) where two JSON values differ; a key present on one side only counts.
pub fn diff(a: &Value, b: &Value) -> Vec<String> {
    fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
        let join = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    match (x.get(k), y.get(k)) {
                        (Some(v), Some(w)) => walk(&join(k), v, w, out),
                        _ => out.push(join(k)),
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    walk(&join(&i.to_string()), v, w, out);
                }
            }
            _ if a == b => {}
            _ => out.push(path.to_string()),
        }
    }
    let mut out = Vec::new();
    walk("", a, b, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// The Docker engine

/// Whether a Docker engine answers. Without one the caller skips loudly, unless
/// OPENCLAW_REQUIRE_DOCKER=1 (CI), which makes a missing engine a failure.
pub fn engine_or_skip(test: &str) -> bool {
    static ANSWER: OnceLock<Result<String, String>> = OnceLock::new();
    let answer = ANSWER.get_or_init(|| match docker().args(["version", "--format", "{{.Server.Version}}"]).output() {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) => Err(format!("cannot run docker: {e}")),
    });
    match answer {
        Ok(_) => true,
        Err(why) => {
            if std::env::var_os("OPENCLAW_REQUIRE_DOCKER").is_some_and(|v| v == "1") {
                panic!("{test}: no Docker engine answers and OPENCLAW_REQUIRE_DOCKER=1: {why}");
            }
            eprintln!(
                "######## SKIPPED {test}: no Docker engine answers ({why}); \
                 set OPENCLAW_REQUIRE_DOCKER=1 to make this a failure ########"
            );
            false
        }
    }
}

/// The stand-in for MoonMind's images (none can be pulled here): a static program that sleeps
/// until SIGTERM, or with `put PATH` writes stdin to PATH (0600), or with `exists PATH` exits 0
/// when PATH exists and 1 when it does not.
const STANDIN_C: &str = r#"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static void done(int sig) { (void)sig; _exit(0); }
int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "exists") == 0) {
    struct stat st;
    return stat(argv[2], &st) == 0 ? 0 : 1;
  }
  if (argc == 3 && strcmp(argv[1], "put") == 0) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror(argv[2]); return 1; }
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0)
      if (write(fd, buf, (size_t)n) != n) { perror("write"); return 1; }
    return (n == 0 && close(fd) == 0) ? 0 : 1;
  }
  if (argc > 1) { fputs("standin: usage: standin [exists PATH | put PATH]\n", stderr); return 2; }
  signal(SIGTERM, done);
  signal(SIGINT, done);
  for (;;) pause();
}
"#;

fn standin_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("compose-standin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("standin.c");
        std::fs::write(&source, STANDIN_C).unwrap();
        let out = dir.join("standin");
        run_ok(Command::new("cc").args(["-static", "-O2", "-o"]).arg(&out).arg(&source));
        out
    })
}

/// `tar MODE` (`-cf` creates, `-rf` appends) of `entries` under `root`, owned by uid/gid `owner`.
fn tar_entries(root: &Path, tar: &Path, owner: u32, mode: &str, entries: &[&str]) {
    let owner = [format!("--owner={owner}"), format!("--group={owner}")];
    run_ok(Command::new("tar").arg("-C").arg(root).arg("--numeric-owner").args(owner).arg(mode).arg(tar).args(entries));
}

/// One test's resources on the engine. Everything is named uniquely and removed by Drop.
pub struct Stack {
    pub project: String,
    pub network: String,
    pub codex_volume: String,
    pub openclaw_codex_volume: String,
    pub openclaw_data_volume: String,
    /// The stand-in image (ours, removed on drop).
    pub standin: String,
    /// The image the openclaw service runs (the stand-in unless a test says otherwise).
    pub openclaw_image: String,
    /// The model gate's image the stack runs (`gate_standin` unless a test says otherwise).
    pub gate_image: String,
    /// The staged static gate (`make shim`) alone, imported (ours, removed on drop).
    pub gate_standin: String,
    /// Compose files after docker-compose.yaml (overrides a test adds).
    pub overrides: Vec<PathBuf>,
    pub dir: tempfile::TempDir,
}

impl Stack {
    pub fn new() -> Stack {
        let id = unique("occ");
        let stack = Stack {
            project: id.clone(),
            network: format!("{id}-net"),
            codex_volume: format!("{id}-codex_auth_volume"),
            openclaw_codex_volume: format!("{id}-openclaw_codex_auth_volume"),
            openclaw_data_volume: format!("{id}-openclaw_data"),
            standin: format!("openclaw-compose-test/standin:{id}"),
            openclaw_image: format!("openclaw-compose-test/standin:{id}"),
            gate_image: format!("openclaw-compose-test/gate:{id}"),
            gate_standin: format!("openclaw-compose-test/gate:{id}"),
            overrides: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        stack.import_standin();
        stack.import_gate();
        run_ok(docker().args(["network", "create", &stack.network]));
        stack
    }

    /// A root file system with the stand-in, an `app` user (uid 1000) and the mount points the
    /// services use owned by `app`, imported with `docker import` (nothing pulled, nothing built).
    fn import_standin(&self) {
        let root = self.dir.path().join("standin-root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("home/app/.codex")).unwrap();
        std::fs::create_dir_all(root.join("var/lib/openclaw")).unwrap();
        std::fs::copy(standin_binary(), root.join("standin")).unwrap();
        std::fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/standin\napp:x:1000:1000::/home/app:/standin\n")
            .unwrap();
        std::fs::write(root.join("etc/group"), "root:x:0:\napp:x:1000:\n").unwrap();
        let tar = self.dir.path().join("standin.tar");
        tar_entries(&root, &tar, 0, "-cf", &["standin", "etc"]);
        tar_entries(&root, &tar, 1000, "-rf", &["home", "var"]);
        run_ok(docker().args(["import", "--change", r#"ENTRYPOINT ["/standin"]"#]).arg(&tar).arg(&self.standin));
    }

    /// The gate image as services/openclaw-model-gate/Dockerfile makes it (the static gate alone,
    /// run as nobody), by `docker import`: nothing built, no builder cache shared between tests.
    fn import_gate(&self) {
        let staged = Path::new(env!("CARGO_MANIFEST_DIR")).join("services/openclaw/bin/openclaw-model-gate");
        assert!(staged.is_file(), "{} is missing: run make shim", staged.display());
        let root = self.dir.path().join("gate-root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::copy(&staged, root.join("openclaw-model-gate")).unwrap();
        let tar = self.dir.path().join("gate.tar");
        tar_entries(&root, &tar, 0, "-cf", &["openclaw-model-gate"]);
        run_ok(
            docker()
                .args(["import", "--change", r#"ENTRYPOINT ["/openclaw-model-gate"]"#])
                .args(["--change", r#"CMD ["serve", "--listen", "0.0.0.0:8080"]"#, "--change", "USER 65534:65534"])
                .arg(&tar)
                .arg(&self.gate_standin),
        );
    }

    /// The environment that points the stack at this test's resources.
    pub fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("MOONMIND_IMAGE", self.standin.as_str()),
            ("OPENCLAW_IMAGE", self.openclaw_image.as_str()),
            ("OPENCLAW_GATE_IMAGE", self.gate_image.as_str()),
            ("MOONMIND_NETWORK", self.network.as_str()),
            ("CODEX_VOLUME_NAME", self.codex_volume.as_str()),
            ("OPENCLAW_CODEX_VOLUME_NAME", self.openclaw_codex_volume.as_str()),
            ("OPENCLAW_DATA_VOLUME_NAME", self.openclaw_data_volume.as_str()),
        ]
    }

    /// `docker compose -p PROJECT ARGS…` for this stack.
    pub fn compose(&self, args: &[&str]) -> Command {
        let mut cmd = compose(self.dir.path(), &self.env());
        for file in &self.overrides {
            cmd.arg("-f").arg(file);
        }
        cmd.arg("-p").arg(&self.project).args(args);
        cmd
    }

    pub fn compose_ok(&self, args: &[&str]) -> String {
        run_ok(&mut self.compose(args))
    }

    /// `up -d` that can neither pull nor build (the stand-in images are local).
    pub fn up(&self, profile: bool, services: &[&str]) {
        let mut args = Vec::new();
        if profile {
            args.extend(["--profile", "openclaw"]);
        }
        args.extend(["up", "-d", "--no-build", "--pull", "never"]);
        args.extend(services);
        self.compose_ok(&args);
    }

    /// Ids of this project's containers for `service` (created, running or stopped).
    pub fn containers(&self, service: &str) -> Vec<String> {
        let out = run_ok(docker().args([
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
        ]));
        out.split_whitespace().map(String::from).collect()
    }

    /// Services that have a container in this project.
    pub fn services(&self) -> Vec<String> {
        let out = run_ok(docker().args([
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
            "--format",
            r#"{{.Label "com.docker.compose.service"}}"#,
        ]));
        let mut services: Vec<String> = out.lines().map(String::from).collect();
        services.sort();
        services
    }

    /// `docker inspect` of the one container of `service`.
    pub fn inspect(&self, service: &str) -> Value {
        let ids = self.containers(service);
        assert_eq!(ids.len(), 1, "one container for {service}, found {ids:?}");
        inspect("container", &ids[0])
    }

    /// Waits until the one container of `service` runs (the engine may still be starting it).
    pub fn wait_running(&self, service: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let info = self.inspect(service);
            if info["State"]["Running"] == Value::Bool(true) {
                return info;
            }
            if start.elapsed() > timeout {
                let logs = run(docker().args(["logs", info["Id"].as_str().unwrap()]));
                panic!(
                    "{service} is not running after {timeout:?}: {}\nlogs:\n{}{}",
                    info["State"],
                    String::from_utf8_lossy(&logs.stdout),
                    String::from_utf8_lossy(&logs.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn inspect(kind: &str, name: &str) -> Value {
    let mut all = json(&run_ok(docker().args([kind, "inspect", name])));
    all.as_array_mut().unwrap().remove(0)
}

/// (volume name, destination) of every volume mount of a container, sorted; and the count of
/// all its mounts (binds included).
pub fn volume_mounts(container: &Value) -> (Vec<(String, String)>, usize) {
    let mounts = container["Mounts"].as_array().unwrap();
    let mut volumes: Vec<(String, String)> = mounts
        .iter()
        .filter(|m| m["Type"] == "volume")
        .map(|m| (m["Name"].as_str().unwrap().to_string(), m["Destination"].as_str().unwrap().to_string()))
        .collect();
    volumes.sort();
    (volumes, mounts.len())
}

impl Drop for Stack {
    fn drop(&mut self) {
        let quiet = |args: &[&str]| {
            let out = docker().args(args).output();
            if let Ok(out) = &out {
                if !out.status.success() {
                    let err = String::from_utf8_lossy(&out.stderr);
                    if !err.contains("No such") && !err.contains("no such") {
                        eprintln!("cleanup: docker {}: {}", args.join(" "), err.trim());
                    }
                }
            }
        };
        // Containers of this project only (compose labels them with the unique project name).
        let ids = docker()
            .args(["ps", "-aq", "--filter", &format!("label=com.docker.compose.project={}", self.project)])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            quiet(&args);
        }
        // Its volumes by name, and any other volume or network Compose made for this project
        // (a volume without `name:` would get a project prefix).
        let labelled = |kind: &str| {
            docker()
                .args([kind, "ls", "-q", "--filter"])
                .arg(format!("label=com.docker.compose.project={}", self.project))
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        let mut volumes =
            vec![self.codex_volume.clone(), self.openclaw_codex_volume.clone(), self.openclaw_data_volume.clone()];
        volumes.extend(labelled("volume").split_whitespace().map(String::from));
        for volume in &volumes {
            quiet(&["volume", "rm", "-f", volume]);
        }
        for network in labelled("network").split_whitespace() {
            quiet(&["network", "rm", network]);
        }
        quiet(&["network", "rm", &self.network]);
        quiet(&["image", "rm", &self.standin]);
        quiet(&["image", "rm", &self.gate_standin]);
    }
}
