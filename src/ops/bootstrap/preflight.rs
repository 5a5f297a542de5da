//! Steps 1–7: every check before anything changes, each failing closed with its own code.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::docker::{self, Ran, RunError, User, PROBE_TIMEOUT};
use super::{exit, fail, run_failure, Code, Failure, Run, Step, DEST_KEY, PROFILE, ROLE_LABEL, SERVICE, SOURCE_KEY};

/// How long the daemon may take to answer `docker version`.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(20);

/// What the checks found: the names to work on, and the claim held until the run ends.
pub(super) struct Checked {
    pub resolved: Resolved,
    _claim: Claim,
    pub missing_networks: Vec<String>,
    pub dest_exists: bool,
}

/// Steps 1–7.
pub(super) fn check(r: &mut Run) -> Result<Checked, Failure> {
    // 1. Docker CLI, daemon, Compose v2.
    let client = r.docker.run(&["--version"], Some(PROBE_TIMEOUT)).map_err(|e| match e {
        RunError::NotFound { .. } => Failure {
            code: exit::DOCKER_MISSING,
            message:
                "no Docker CLI: `docker` is not on PATH; install Docker (docker-ce-cli or docker.io) and run again"
                    .into(),
        },
        e => Failure { code: exit::DOCKER_MISSING, message: format!("the Docker CLI does not run: {e}") },
    })?;
    if !client.success() {
        return fail(exit::DOCKER_MISSING, format!("`docker --version` failed: {}", client.stderr_tail()));
    }
    let server = r
        .docker
        .run(&["version", "--format", "{{.Server.Version}}"], Some(DAEMON_TIMEOUT))
        .map_err(|e| run_failure(e, exit::DAEMON_DOWN, "reach the Docker daemon"))?;
    if !server.success() || server.stdout_text().trim().is_empty() {
        return fail(
            exit::DAEMON_DOWN,
            format!("the Docker daemon does not answer (is it running? DOCKER_HOST, the context, permission on the socket): {}", server.stderr_tail()),
        );
    }
    let compose = r
        .docker
        .run(&["compose", "version", "--short"], Some(PROBE_TIMEOUT))
        .map_err(|e| run_failure(e, exit::COMPOSE_MISSING, "run `docker compose version`"))?;
    let compose_version = compose.stdout_text().trim().to_owned();
    match docker::compose_major(&compose_version) {
        Some(major) if compose.success() && major >= 2 => {}
        _ if !compose.success() => {
            return fail(
                exit::COMPOSE_MISSING,
                format!("Compose v2 is missing: `docker compose version` failed ({}). Install the Docker Compose plugin (docker-compose-plugin), or `make compose-cli` and export DOCKER_CONFIG=target/docker-config; the old `docker-compose` v1 is not enough", compose.stderr_tail()),
            )
        }
        _ => {
            return fail(
                exit::COMPOSE_MISSING,
                format!("`docker compose` is {compose_version:?}; Compose v2 or later is needed"),
            )
        }
    }
    // "Docker version 28.2.2, build e6534b4"
    let client_text = client.stdout_text();
    let client_version =
        client_text.trim().trim_start_matches("Docker version ").split(',').next().unwrap_or_default().to_owned();
    let server_version = server.stdout_text().trim().to_owned();
    r.say(
        Step::Docker,
        format_args!("Docker CLI {client_version}, daemon {server_version}, Compose {compose_version}"),
    );

    // 2. What Compose resolves (.env, environment, files): nothing is created before this.
    let config = r.probe(
        &r.docker.compose_args(&["--profile", PROFILE, "config", "--format", "json"]),
        exit::COMPOSE_CONFIG,
        "resolve the Compose stack (`docker compose --profile openclaw config`)",
    )?;
    let config: Value = serde_json::from_slice(&config.stdout).map_err(|e| Failure {
        code: exit::COMPOSE_CONFIG,
        message: format!("`docker compose config --format json` printed no JSON: {e}"),
    })?;
    let resolved = resolve(&config).map_err(|message| Failure { code: exit::COMPOSE_CONFIG, message })?;
    r.say(
        Step::Compose,
        format_args!(
            "Compose project {:?}: source volume {:?} ({SOURCE_KEY}), destination volume {:?} ({DEST_KEY}), image {:?}",
            resolved.project, resolved.source, resolved.dest, resolved.image
        ),
    );

    // 3. One run per destination.
    let claim = claim(&resolved.dest)?;
    r.say(Step::Claim, format_args!("lock {} held", claim.path.display()));

    // 4. Networks.
    let existing = r.names("network", exit::NETWORK)?;
    let missing_networks: Vec<String> = resolved.networks.iter().filter(|n| !existing.contains(n)).cloned().collect();
    r.say(
        Step::Networks,
        if resolved.networks.is_empty() {
            "networks: the service joins no external network".to_owned()
        } else if missing_networks.is_empty() {
            format!("networks: {:?} exist", resolved.networks)
        } else {
            format!("networks: {missing_networks:?} missing, will be created")
        },
    );

    // 5. Source.
    let volumes =
        r.names("volume", if r.opts.from_scratch { exit::DESTINATION_IN_USE } else { exit::SOURCE_MISSING })?;
    if r.opts.from_scratch {
        r.say(Step::Source, "source: not used (--from-scratch)");
    } else {
        if !volumes.contains(&resolved.source) {
            return fail(
                exit::SOURCE_MISSING,
                format!(
                    "the source volume {:?} does not exist: log the Codex workers in first, set CODEX_VOLUME_NAME (in .env or the environment) to their volume, or use --from-scratch",
                    resolved.source
                ),
            );
        }
        r.check_source_free(&resolved.source)?;
        r.say(
            Step::Source,
            format_args!("source volume {:?}: exists, no running container mounts it", resolved.source),
        );
    }

    // 6. Destination.
    let dest_exists = volumes.contains(&resolved.dest);
    if dest_exists {
        r.check_dest_free(&resolved.dest)?;
        r.say(
            Step::Destination,
            format_args!("destination volume {:?}: exists, attached to no container", resolved.dest),
        );
    } else {
        r.say(Step::Destination, format_args!("destination volume {:?}: missing, will be created", resolved.dest));
    }

    // 7. The image validation runs.
    r.probe(
        &["image", "inspect", "--format", "{{.Id}}", &resolved.image],
        exit::IMAGE_MISSING,
        &format!("find the OpenClaw image {:?} (build it first: make image, or set OPENCLAW_IMAGE)", resolved.image),
    )?;
    r.say(Step::Image, format_args!("image {:?}: present", resolved.image));
    Ok(Checked { resolved, _claim: claim, missing_networks, dest_exists })
}

/// The names Compose will use, from `docker compose --profile openclaw config --format json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub project: String,
    pub source: String,
    pub dest: String,
    /// External networks the openclaw service joins (Compose creates the others itself).
    pub networks: Vec<String>,
    pub image: String,
}

/// Docker's rule for local volume names.
pub fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn volume_name(config: &Value, key: &str, project: &str) -> Result<String, String> {
    let volume = config["volumes"].get(key).ok_or_else(|| format!("the Compose file defines no `{key}` volume"))?;
    let name = match volume["name"].as_str() {
        Some(name) => name.to_owned(),
        None => format!("{project}_{key}"),
    };
    if !valid_volume_name(&name) {
        return Err(format!(
            "volume `{key}` resolves to the name {name:?}, which Docker refuses (letters, digits, `_`, `.`, `-`; check .env and the environment)"
        ));
    }
    Ok(name)
}

/// Reads what the bootstrap needs from Compose's resolved model; refuses a stack where OpenClaw
/// would not get its own volume.
pub fn resolve(config: &Value) -> Result<Resolved, String> {
    let project = config["name"].as_str().ok_or("Compose resolved no project name")?.to_owned();
    let service = config["services"]
        .get(SERVICE)
        .ok_or("the Compose file has no `openclaw` service (with the `openclaw` profile)")?;
    let source = volume_name(config, SOURCE_KEY, &project)?;
    let dest = volume_name(config, DEST_KEY, &project)?;
    if source == dest {
        return Err(format!(
            "the source and the destination are the same volume {source:?}: OpenClaw must never share the workers' Codex credentials; set OPENCLAW_CODEX_VOLUME_NAME to another name"
        ));
    }
    let mut mounts_dest = false;
    for mount in service["volumes"].as_array().into_iter().flatten() {
        if mount["type"] != "volume" {
            continue;
        }
        let Some(key) = mount["source"].as_str() else {
            continue;
        };
        let name = volume_name(config, key, &project)?;
        if name == source {
            return Err(format!(
                "the openclaw service mounts the workers' volume {source:?} (as `{key}`): OpenClaw must use its own"
            ));
        }
        mounts_dest |= name == dest;
    }
    if !mounts_dest {
        return Err(format!(
            "the openclaw service does not mount `{DEST_KEY}` ({dest:?}): validation would not test the dedicated volume"
        ));
    }
    let mut networks = Vec::new();
    if let Some(joined) = service["networks"].as_object() {
        for key in joined.keys() {
            let network = &config["networks"][key];
            if network["external"] == Value::Bool(true) {
                let name = network["name"].as_str().unwrap_or(key);
                if name.is_empty() {
                    return Err(format!("network `{key}` resolves to an empty name"));
                }
                networks.push(name.to_owned());
            }
        }
    }
    let image = match service["image"].as_str() {
        Some(image) if !image.is_empty() => image.to_owned(),
        _ => format!("{project}-{SERVICE}"),
    };
    Ok(Resolved { project, source, dest, networks, image })
}

/// The claim of one run on its destination: an exclusive `flock` on `$TMPDIR/openclaw-codex-bootstrap.<destination>.lock`, held until drop.
pub struct Claim {
    _file: nix::fcntl::Flock<fs::File>,
    pub path: PathBuf,
}

pub fn claim_path(dest: &str) -> PathBuf {
    std::env::temp_dir().join(format!("openclaw-codex-bootstrap.{dest}.lock"))
}

pub fn claim(dest: &str) -> Result<Claim, Failure> {
    use nix::fcntl::{Flock, FlockArg};
    let path = claim_path(dest);
    let open = |write: bool| {
        fs::OpenOptions::new()
            .read(true)
            .write(write)
            .create(write)
            .mode(0o644)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
    };
    // Someone else's lock file can still be locked through a read-only descriptor.
    let (file, writable) = match open(true) {
        Ok(file) => (file, true),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => match open(false) {
            Ok(file) => (file, false),
            Err(e) => return fail(exit::LOCKED, format!("cannot open the lock file {}: {e}", path.display())),
        },
        Err(e) => return fail(exit::LOCKED, format!("cannot open the lock file {}: {e}", path.display())),
    };
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut locked) => {
            if writable {
                let _ = locked.set_len(0);
                let _ = locked.rewind();
                let _ = writeln!(locked, "{}", std::process::id());
            }
            Ok(Claim { _file: locked, path })
        }
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() { String::new() } else { format!(" (pid {holder})") };
            fail(
                exit::LOCKED,
                format!(
                    "another bootstrap of the destination volume {dest:?} is running{who}; it holds {}. Wait for it to finish, then run again",
                    path.display()
                ),
            )
        }
        Err((_, errno)) => fail(exit::LOCKED, format!("cannot lock {}: {errno}", path.display())),
    }
}

impl Run<'_> {
    /// A read-only probe: bounded, and any failure is `code`.
    fn probe<S: AsRef<OsStr>>(&self, args: &[S], code: Code, what: &str) -> Result<Ran, Failure> {
        let ran = self.docker.run(args, Some(PROBE_TIMEOUT)).map_err(|e| run_failure(e, code, what))?;
        if !ran.success() {
            return fail(code, format!("cannot {what}: {}", ran.stderr_tail()));
        }
        Ok(ran)
    }

    fn names(&self, kind: &str, code: Code) -> Result<Vec<String>, Failure> {
        let mut args = vec![kind, "ls", "--format", "{{.Name}}"];
        if kind == "network" {
            args.push("--no-trunc");
        }
        let ran = self.probe(&args, code, &format!("list the {kind}s"))?;
        Ok(ran.stdout_text().lines().map(|l| l.trim().to_owned()).collect())
    }

    fn users(&self, volume: &str, code: Code) -> Result<Vec<User>, Failure> {
        let filter = format!("volume={volume}");
        let format = docker::users_format(ROLE_LABEL);
        let ran = self.probe(
            &["ps", "--all", "--no-trunc", "--filter", &filter, "--format", &format],
            code,
            &format!("list the containers using the volume {volume:?}"),
        )?;
        docker::parse_users(&ran.stdout_text())
            .map_err(|e| Failure { code, message: format!("cannot tell which containers use {volume:?}: {e}") })
    }

    /// The source is in use when a running container other than a bootstrap helper (which only
    /// reads it) mounts it.
    pub(super) fn check_source_free(&self, source: &str) -> Result<(), Failure> {
        let busy: Vec<String> = self
            .users(source, exit::SOURCE_IN_USE)?
            .iter()
            .filter(|u| u.running() && u.role != "helper")
            .map(User::describe)
            .collect();
        if !busy.is_empty() {
            return fail(
                exit::SOURCE_IN_USE,
                format!(
                    "the source volume {source:?} is mounted by running container(s) {}: stop them (e.g. the Codex workers) so auth.json is not being rewritten, then run again",
                    busy.join(", ")
                ),
            );
        }
        Ok(())
    }

    /// The destination must not be attached to any container, whatever its state.
    pub(super) fn check_dest_free(&self, dest: &str) -> Result<(), Failure> {
        let users = self.users(dest, exit::DESTINATION_IN_USE)?;
        if !users.is_empty() {
            let list: Vec<String> = users.iter().map(User::describe).collect();
            return fail(
                exit::DESTINATION_IN_USE,
                format!(
                    "the destination volume {dest:?} is attached to container(s) {}: its credentials may be live. Stop and remove them (`docker compose --profile openclaw down openclaw`, or `docker rm NAME`), then run again",
                    list.join(", ")
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> Value {
        json!({
            "name": "moonmind",
            "services": {
                "openclaw": {
                    "image": "moonmind/openclaw:local",
                    "volumes": [
                        {"type": "volume", "source": "openclaw_codex_auth_volume", "target": "/home/app/.codex"},
                        {"type": "volume", "source": "openclaw_data", "target": "/var/lib/openclaw"},
                        {"type": "bind", "source": "/etc/x", "target": "/x"}
                    ],
                    "networks": {"local-network": null}
                },
                "codex-worker": {}
            },
            "volumes": {
                "codex_auth_volume": {"name": "codex_auth_volume"},
                "openclaw_codex_auth_volume": {"name": "oc-dest"},
                "openclaw_data": {"name": "openclaw_data"}
            },
            "networks": {"local-network": {"name": "my-net", "external": true}}
        })
    }

    #[test]
    fn resolves_the_names_compose_uses() {
        assert_eq!(
            resolve(&config()).unwrap(),
            Resolved {
                project: "moonmind".into(),
                source: "codex_auth_volume".into(),
                dest: "oc-dest".into(),
                networks: vec!["my-net".into()],
                image: "moonmind/openclaw:local".into(),
            }
        );
        let mut no_name = config();
        no_name["volumes"]["openclaw_codex_auth_volume"] = json!({});
        no_name["services"]["openclaw"]["image"] = Value::Null;
        let resolved = resolve(&no_name).unwrap();
        assert_eq!(resolved.dest, "moonmind_openclaw_codex_auth_volume");
        assert_eq!(resolved.image, "moonmind-openclaw");
        let mut internal = config();
        internal["networks"]["local-network"]["external"] = json!(false);
        assert!(resolve(&internal).unwrap().networks.is_empty());
    }

    #[test]
    fn refuses_unusable_stacks() {
        type Change = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|c| {
                    c["services"].as_object_mut().unwrap().remove("openclaw");
                }),
                "no `openclaw` service",
            ),
            (
                Box::new(|c| c["volumes"]["openclaw_codex_auth_volume"]["name"] = json!("codex_auth_volume")),
                "same volume",
            ),
            (
                Box::new(|c| c["volumes"]["openclaw_data"]["name"] = json!("codex_auth_volume")),
                "mounts the workers' volume",
            ),
            (Box::new(|c| c["services"]["openclaw"]["volumes"] = json!([])), "does not mount"),
            (
                Box::new(|c| c["volumes"]["openclaw_codex_auth_volume"]["name"] = json!("evil name'; touch /tmp/x; '")),
                "which Docker refuses",
            ),
            (Box::new(|c| c["volumes"]["openclaw_data"]["name"] = json!("\"quoted\"")), "which Docker refuses"),
            (
                Box::new(|c| {
                    c["volumes"].as_object_mut().unwrap().remove("codex_auth_volume");
                }),
                "no `codex_auth_volume` volume",
            ),
        ];
        for (change, message) in cases {
            let mut c = config();
            change(&mut c);
            let err = resolve(&c).unwrap_err();
            assert!(err.contains(message), "{message}: {err}");
        }
    }

    #[test]
    fn volume_names() {
        for good in ["ab", "codex_auth_volume", "a.b-c_d", "0x"] {
            assert!(valid_volume_name(good), "{good}");
        }
        for bad in ["", "a", "-a", "_a", "a b", "a'b", "a\"b", "a/b", "a;b", "é1"] {
            assert!(!valid_volume_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_second_claim_is_refused_and_names_the_holder() {
        let dest = format!("lock-test-{}", std::process::id());
        let held = claim(&dest).unwrap();
        let err = match claim(&dest) {
            Err(e) => e,
            Ok(_) => panic!("locked twice"),
        };
        assert_eq!(err.code, exit::LOCKED);
        assert!(err.message.contains(&format!("pid {}", std::process::id())), "{}", err.message);
        drop(held);
        let again = claim(&dest).unwrap();
        let _ = fs::remove_file(&again.path);
    }
}
