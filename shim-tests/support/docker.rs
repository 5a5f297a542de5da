//! Docker for tests: the skip rule, unique names, and cleanup of everything a test creates.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// A name no other test (or run) uses: `openclaw-test-<what>-<pid>-<n>`.
pub fn unique(what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("openclaw-test-{what}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
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
