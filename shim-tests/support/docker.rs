//! Docker for tests: the skip rule, unique names, and cleanup of everything a test creates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Whether a Docker engine answers. Without one, tests print a loud SKIPPED line and return,
/// unless OPENCLAW_REQUIRE_DOCKER=1 (CI), which makes it a failure.
pub fn available(test: &str) -> bool {
    let answers = Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]).output();
    if answers.is_ok_and(|o| o.status.success()) {
        return true;
    }
    if std::env::var_os("OPENCLAW_REQUIRE_DOCKER").is_some_and(|v| v == "1") {
        panic!("{test}: no Docker engine answers (OPENCLAW_REQUIRE_DOCKER=1)");
    }
    eprintln!("\n######## SKIPPED {test}: no Docker engine answers ########\n");
    false
}

/// A name no other test, run or person uses: `openclaw-test-<what>-<pid>-<n>-<nanos>`.
pub fn unique(what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("openclaw-test-{what}-{}-{}-{nanos:08x}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The DOCKER_CONFIG directory holding the pinned Compose v2 plugin, fetched once per test run.
pub fn docker_config() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new(repo().join("packaging/fetch-compose.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run packaging/fetch-compose.sh");
        assert!(out.status.success(), "packaging/fetch-compose.sh failed");
        let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        assert!(dir.join("cli-plugins/docker-compose").is_file(), "no Compose plugin in {}", dir.display());
        dir
    })
}

/// `program` with a clean environment: PATH, HOME, the project-local DOCKER_CONFIG and whatever
/// says where the engine is. Nothing else of the caller's environment reaches Compose's
/// interpolation.
pub fn clean(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().env("DOCKER_CONFIG", docker_config()).stdin(Stdio::null());
    for var in ["PATH", "HOME", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    cmd
}

pub fn volume_exists(name: &str) -> bool {
    docker_ok(&["volume", "ls", "--format", "{{.Name}}"]).lines().any(|l| l == name)
}

pub fn network_exists(name: &str) -> bool {
    docker_ok(&["network", "ls", "--no-trunc", "--format", "{{.Name}}"]).lines().any(|l| l == name)
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker runs")
}

/// Runs `docker ARGS`, panicking with its stderr on failure; returns stdout.
pub fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(output.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `OPENCLAW_TEST_BASE_IMAGE`, else the cached local stand-in for python:3.11-slim.
pub fn base_image() -> String {
    if let Ok(image) = std::env::var("OPENCLAW_TEST_BASE_IMAGE") {
        return image;
    }
    let out = Command::new(repo().join("packaging/make-base-image.sh")).output().unwrap();
    assert!(out.status.success(), "make-base-image: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

/// `OPENCLAW_TEST_IMAGE`: an OpenClaw image built beforehand (`make test` builds one), if named.
pub fn prebuilt_openclaw_image() -> Option<String> {
    std::env::var("OPENCLAW_TEST_IMAGE").ok().filter(|image| !image.is_empty())
}

/// `npm pack` of the OpenClaw stand-in (`shim-tests/fixtures/openclaw-standin`: package `openclaw`,
/// bin `openclaw`, which prints how it was run as one JSON line) into `dir`; returns the tarball.
pub fn pack_openclaw_standin(dir: &Path) -> std::path::PathBuf {
    let out = Command::new("npm")
        .args(["pack", "--silent", "--pack-destination"])
        .arg(dir)
        .arg(repo().join("shim-tests/fixtures/openclaw-standin"))
        .output()
        .expect("npm runs (apt-get install npm): it packs the OpenClaw stand-in");
    assert!(out.status.success(), "npm pack: {}", text(&out.stderr));
    dir.join(text(&out.stdout).trim())
}

/// Builds the OpenClaw image with `openclaw-image` under a unique tag that `cleanup` removes, with
/// the OpenClaw stand-in as `OPENCLAW_NPM_SPEC` (a tarball path, staged by the builder); returns the
/// tag and what the builder printed.
pub fn build_openclaw_image(cleanup: &mut Cleanup, what: &str) -> (String, Output) {
    let npm = tempfile::tempdir().unwrap();
    let spec = format!("OPENCLAW_NPM_SPEC={}", pack_openclaw_standin(npm.path()).display());
    build_openclaw_image_with(cleanup, what, &["--build-arg", &spec])
}

/// The same with other `openclaw-image` arguments. Builds run one at a time: each stages the static
/// bins and wheels into the one build context.
pub fn build_openclaw_image_with(cleanup: &mut Cleanup, what: &str, args: &[&str]) -> (String, Output) {
    static ONE_BUILD_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_BUILD_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let tag = cleanup.image(&format!("{}:test", unique(what)));
    cleanup.image(&openclaw_codex::ops::image::gate_tag(&tag));
    let built = Command::new(env!("CARGO_BIN_EXE_openclaw-image"))
        .args(["--tag", &tag, "--base-image", &base_image()])
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(built.status.success(), "openclaw-image failed:\n{}\n{}", text(&built.stdout), text(&built.stderr));
    (tag, built)
}

/// The model gate as Compose runs it: the gate's image on a network of the test's own, reachable
/// there as `openclaw-model-gate` (the name the OpenClaw image's requirements.toml names), its
/// upstream a mock on the host's `upstream_port`. Returns the network, for `docker run --network`.
pub fn gate_network(cleanup: &mut Cleanup, openclaw_image: &str, mode: &str, upstream_port: u16) -> String {
    let network = cleanup.network(&unique("gate-net"));
    docker_ok(&["network", "create", &network]);
    let container = cleanup.container(&unique("gate"));
    let upstream = format!("http://host.docker.internal:{upstream_port}/v1");
    let gate_image = openclaw_codex::ops::image::gate_tag(openclaw_image);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &container,
        "--network",
        &network,
        "--network-alias",
        "openclaw-model-gate",
        "--add-host",
        "host.docker.internal:host-gateway",
        "-e",
        &format!("OPENCLAW_MODEL={}", super::PIN),
        "-e",
        &format!("OPENCLAW_MODEL_LOCK_MODE={mode}"),
        &gate_image,
        "serve",
        "--listen",
        "0.0.0.0:8080",
        "--upstream",
        &upstream,
    ]);
    let started = std::time::Instant::now();
    while !docker(&["exec", &container, "/openclaw-model-gate", "health", "--url", "http://127.0.0.1:8080"])
        .status
        .success()
    {
        assert!(
            started.elapsed().as_secs() < 30,
            "the gate did not become healthy: {}",
            text(&docker(&["logs", &container]).stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    network
}

/// Removes, on drop, the containers, volumes, networks and images registered with it — even if the
/// test panicked. Only what the test created (or made the code under test create) is registered.
#[derive(Default)]
pub struct Cleanup {
    containers: Vec<String>,
    volumes: Vec<String>,
    networks: Vec<String>,
    images: Vec<String>,
}

impl Cleanup {
    pub fn container(&mut self, name: &str) -> String {
        self.containers.push(name.to_owned());
        name.to_owned()
    }

    pub fn volume(&mut self, name: &str) -> String {
        docker_ok(&["volume", "create", name]);
        self.volumes.push(name.to_owned());
        name.to_owned()
    }

    /// A volume the code under test may create: registered, not created.
    pub fn adopt_volume(&mut self, name: &str) -> String {
        self.volumes.push(name.to_owned());
        name.to_owned()
    }

    /// A network the test or the code under test may create: registered, not created.
    pub fn network(&mut self, name: &str) -> String {
        self.networks.push(name.to_owned());
        name.to_owned()
    }

    pub fn image(&mut self, tag: &str) -> String {
        self.images.push(tag.to_owned());
        tag.to_owned()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            docker(&["rm", "--force", "--volumes", c]);
        }
        for v in &self.volumes {
            docker(&["volume", "rm", "--force", v]);
        }
        for n in &self.networks {
            docker(&["network", "rm", n]);
        }
        for i in &self.images {
            docker(&["image", "rm", "--force", i]);
        }
    }
}
