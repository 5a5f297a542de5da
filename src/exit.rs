//! Every exit code of every bin, in one table per bin. The README's exit-code tables and each
//! bin's `--help` are rendered from here (`Table::markdown`, `Table::help`); a test checks the
//! README holds each table verbatim. Any other status a bin ends with is the program it runs
//! (codex, the server command).

/// One way a bin stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub value: u8,
    pub meaning: &'static str,
    /// What the operator does about it (empty: nothing beyond the message).
    pub remedy: &'static str,
}

/// A bin's exit codes.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub bin: &'static str,
    pub codes: &'static [Code],
}

impl Table {
    /// The README's table: `| code | meaning |`, with a `what to do` column when any code has one.
    pub fn markdown(&self) -> String {
        let remedies = self.codes.iter().any(|c| !c.remedy.is_empty());
        let mut out = String::from(if remedies {
            "| code | meaning | what to do |\n|---|---|---|\n"
        } else {
            "| code | meaning |\n|---|---|\n"
        });
        for code in self.codes {
            if remedies {
                out.push_str(&format!("| {} | {} | {} |\n", code.value, code.meaning, code.remedy));
            } else {
                out.push_str(&format!("| {} | {} |\n", code.value, code.meaning));
            }
        }
        out
    }

    /// `--help`'s closing text: one line per code, backticks dropped.
    pub fn help(&self) -> String {
        let mut out = String::from("Exit codes:\n");
        for code in self.codes {
            out.push_str(&format!("  {:>3}  {}\n", code.value, code.meaning.replace('`', "")));
        }
        out
    }

    pub fn get(&self, value: u8) -> Option<&Code> {
        self.codes.iter().find(|c| c.value == value)
    }
}

/// Every bin's table, in the README's order.
pub const TABLES: &[Table] =
    &[shim::TABLE, guard::TABLE, gate::TABLE, entrypoint::TABLE, image::TABLE, bootstrap::TABLE];

pub mod shim {
    //! `codex`, the PATH shim; any other status is codex's own.
    use super::{Code, Table};

    pub const USAGE: Code = Code { value: 64, meaning: "refused in both modes: the Codex CLI would reject this argv as a usage error (unknown option, value missing, option given twice, flag with a value, conflict); never rewritten", remedy: "" };
    pub const REFUSED: Code = Code {
        value: 77,
        meaning: "refused: reject mode and an attempt to choose the model, or an unpinnable subcommand",
        remedy: "",
    };
    pub const CONFIG: Code = Code { value: 78, meaning: "configuration error (`OPENCLAW_MODEL`, `OPENCLAW_MODEL_LOCK_MODE`, `OPENCLAW_ALLOW_UNPINNABLE`, relative `OPENCLAW_REAL_CODEX`)", remedy: "" };
    pub const EXEC_FAILED: Code = Code {
        value: 126,
        meaning: "the real codex was found but exec failed (path and errno named); no other candidate is tried",
        remedy: "",
    };
    pub const NOT_FOUND: Code = Code { value: 127, meaning: "no real codex behind the shim (every skipped candidate named with its reason), an exec loop, or `openclaw-app-server-guard` missing next to the shim (app-server)", remedy: "" };

    pub const TABLE: Table = Table { bin: "codex", codes: &[USAGE, REFUSED, CONFIG, EXEC_FAILED, NOT_FOUND] };
}

pub mod guard {
    //! `openclaw-app-server-guard`: the shim's codes (it reports the same errors), or codex's own.
    use super::{Code, Table};

    pub const REFUSED: Code = Code {
        value: 77,
        meaning: "`--refuse-with`: reject mode refused app-server at launch; every request was answered with the refusal, exit at the client's EOF",
        remedy: "",
    };
    pub const TABLE: Table = Table {
        bin: "openclaw-app-server-guard",
        codes: &[REFUSED, super::shim::CONFIG, super::shim::EXEC_FAILED, super::shim::NOT_FOUND],
    };
}

pub mod gate {
    //! `openclaw-model-gate`.
    use super::{Code, Table};

    pub const STOPPED: Code = Code {
        value: 0,
        meaning: "`serve` stopped by SIGTERM/SIGINT (requests under way get 30 s); `health` healthy",
        remedy: "",
    };
    pub const UNHEALTHY: Code = Code { value: 1, meaning: "`health`: the gate did not answer healthy", remedy: "" };
    pub const USAGE: Code = Code { value: 2, meaning: "usage", remedy: "" };
    pub const LISTEN: Code = Code { value: 71, meaning: "`serve` cannot listen on `--listen`", remedy: "" };
    pub const CONFIG: Code = Code { value: 78, meaning: "`OPENCLAW_MODEL` / `OPENCLAW_MODEL_LOCK_MODE` invalid (the shim's rules and messages), a bad upstream URL, `--gate-url` or `--ca-file`", remedy: "" };

    pub const TABLE: Table = Table { bin: "openclaw-model-gate", codes: &[STOPPED, UNHEALTHY, USAGE, LISTEN, CONFIG] };
}

pub mod entrypoint {
    //! `openclaw-entrypoint`: one code per start-up check (`ops::entrypoint`'s steps); then the server's own status.
    use super::{Code, Table};

    pub const CONFIG_INVALID: Code = Code {
        value: 78,
        meaning: "step 1: `OPENCLAW_MODEL` or `OPENCLAW_MODEL_LOCK_MODE` invalid (the shim's rules, same code)",
        remedy: "",
    };
    pub const CODEX_CONFIG: Code = Code { value: 71, meaning: "step 2: the Codex config cannot be enforced (the template or the existing config.toml unreadable or invalid, or the write failed)", remedy: "" };
    pub const LOGIN_STATUS: Code = Code { value: 72, meaning: "step 3: `codex login status` through PATH (so through the shim) fails with `CODEX_HOME` the dedicated volume", remedy: "" };
    pub const NO_CREDENTIAL: Code =
        Code { value: 73, meaning: "step 3: `auth.json` holds no credential (`{}` passes `login status`)", remedy: "" };
    pub const NOT_THE_SHIM: Code = Code {
        value: 74,
        meaning: "step 4: `codex` on PATH is not the shim (its explain mode does not answer)",
        remedy: "",
    };
    pub const NO_REAL_CODEX: Code =
        Code { value: 75, meaning: "step 4: the shim finds no real codex behind it", remedy: "" };
    pub const GATE: Code = Code { value: 76, meaning: "step 5: `/etc/codex/requirements.toml` does not force the model gate, or the gate it names does not answer healthy with the same pin and lock mode", remedy: "" };
    pub const NO_OPENCLAW: Code = Code { value: 79, meaning: "step 0: the command is OpenClaw (`openclaw …`, as the default is) but the image has none (built with an empty `OPENCLAW_NPM_SPEC`); the one line says how to build it with OpenClaw", remedy: "" };
    pub const COMMAND_NOT_EXECUTABLE: Code =
        Code { value: 126, meaning: "step 7: the server command is not executable", remedy: "" };
    pub const COMMAND_NOT_FOUND: Code =
        Code { value: 127, meaning: "step 7: the server command is not found", remedy: "" };
    pub const TABLE: Table = Table {
        bin: "openclaw-entrypoint",
        codes: &[
            CONFIG_INVALID,
            CODEX_CONFIG,
            LOGIN_STATUS,
            NO_CREDENTIAL,
            NOT_THE_SHIM,
            NO_REAL_CODEX,
            GATE,
            NO_OPENCLAW,
            COMMAND_NOT_EXECUTABLE,
            COMMAND_NOT_FOUND,
        ],
    };
}

pub mod image {
    //! `openclaw-image`.
    use super::{Code, Table};

    pub const DONE: Code = Code { value: 0, meaning: "both images built and verified", remedy: "" };
    pub const FAILED: Code =
        Code { value: 1, meaning: "a build or verification step failed; the message names it", remedy: "" };
    pub const USAGE: Code = Code { value: 2, meaning: "usage", remedy: "" };
    pub const TABLE: Table = Table { bin: "openclaw-image", codes: &[DONE, FAILED, USAGE] };
}

pub mod bootstrap {
    //! `bootstrap-openclaw-codex-volume`: one code per way to stop (`ops::bootstrap`'s steps).
    use super::{Code, Table};

    pub const DONE: Code = Code {
        value: 0,
        meaning: "done: copied (or already in place) and validated; with `--dry-run`, every check passed",
        remedy: "enable the profile: `OPENCLAW_ENABLED=true make up`",
    };
    pub const USAGE: Code = Code { value: 2, meaning: "usage error", remedy: "see `--help`" };
    pub const DOCKER_MISSING: Code =
        Code { value: 10, meaning: "no Docker CLI on PATH", remedy: "install Docker (`docker-ce-cli` or `docker.io`)" };
    pub const DAEMON_DOWN: Code = Code {
        value: 11,
        meaning: "the Docker daemon does not answer",
        remedy: "start it; check `DOCKER_HOST`, the context, permission on the socket",
    };
    pub const COMPOSE_MISSING: Code = Code { value: 12, meaning: "Compose v2 (`docker compose`) missing or older", remedy: "install the Compose plugin (`docker-compose-plugin`), or `make compose-cli` and `export DOCKER_CONFIG=target/docker-config`; the old `docker-compose` v1 is not enough" };
    pub const COMPOSE_CONFIG: Code = Code { value: 13, meaning: "Compose cannot resolve the stack, or it is unusable: no `openclaw` service, the destination is (or the service mounts) the workers' volume, a volume name Docker refuses", remedy: "run `docker compose --profile openclaw config`; fix `.env` (`OPENCLAW_CODEX_VOLUME_NAME`, `CODEX_VOLUME_NAME`) or the environment" };
    pub const LOCKED: Code = Code {
        value: 14,
        meaning: "another bootstrap of the same destination is running (its pid is named)",
        remedy: "wait for it; the lock goes with the process",
    };
    pub const NETWORK: Code = Code {
        value: 15,
        meaning: "an external network cannot be checked or created",
        remedy: "check `docker network ls`, `MOONMIND_NETWORK`",
    };
    pub const SOURCE_MISSING: Code = Code {
        value: 16,
        meaning: "the source volume does not exist (or cannot be checked)",
        remedy: "log the workers in first, set `CODEX_VOLUME_NAME` to their volume, or use `--from-scratch`",
    };
    pub const SOURCE_IN_USE: Code = Code {
        value: 17,
        meaning: "a running container mounts the source (named; or it cannot be checked)",
        remedy: "stop the Codex workers for the copy (`docker compose stop codex-worker`), run again, start them",
    };
    pub const DESTINATION_IN_USE: Code = Code {
        value: 18,
        meaning:
            "a container, in any state, is attached to the destination (named; or it cannot be checked or created)",
        remedy: "`docker compose --profile openclaw down openclaw` or `docker rm NAME`, then run again",
    };
    pub const IMAGE_MISSING: Code = Code {
        value: 19,
        meaning: "the OpenClaw image is not there (or cannot be checked)",
        remedy: "`make image`, or set `OPENCLAW_IMAGE`",
    };
    pub const HELPER: Code = Code { value: 20, meaning: "the helper image cannot be built: no static binary, `docker import` failed (the wrapper: the static build failed)", remedy: "use the wrapper (it builds the static binary), or `--helper-bin`; see `--verbose`" };
    pub const SOURCE_CREDENTIALS: Code = Code { value: 21, meaning: "the source holds no usable login: no `auth.json`, no credential in it, still unparsable after 10 reads, invalid `config.toml`", remedy: "`codex login` in the workers, or `--from-scratch`" };
    pub const NEEDS_FORCE: Code = Code {
        value: 22,
        meaning: "the destination holds other credentials (nothing was changed)",
        remedy: "`--force` to replace them (kept until validation passes), or `--from-scratch --force`",
    };
    pub const COPY_FAILED: Code = Code {
        value: 23,
        meaning: "the copy failed; the destination holds its previous credentials (rolled back)",
        remedy: "read the message (`--verbose` shows each file operation); run again",
    };
    pub const VALIDATION_FAILED: Code = Code { value: 24, meaning: "validation (`codex login status` in the service) failed; the previous credentials were put back", remedy: "check the source login (`codex login status` in a worker) and the image (`make image`); the message has the output" };
    pub const LOGIN_FAILED: Code = Code {
        value: 25,
        meaning: "`--from-scratch`: `codex login --device-auth` failed; the previous credentials were put back",
        remedy: "run again; check the container reaches auth.openai.com",
    };
    pub const ROLLBACK_FAILED: Code = Code { value: 26, meaning: "putting the previous credentials back failed; the destination may hold credentials that were not validated", remedy: "fix what the message names; the next run puts the previous ones back before anything else (its journal is kept)" };

    pub const TABLE: Table = Table {
        bin: "bootstrap-openclaw-codex-volume",
        codes: &[
            DONE,
            USAGE,
            DOCKER_MISSING,
            DAEMON_DOWN,
            COMPOSE_MISSING,
            COMPOSE_CONFIG,
            LOCKED,
            NETWORK,
            SOURCE_MISSING,
            SOURCE_IN_USE,
            DESTINATION_IN_USE,
            IMAGE_MISSING,
            HELPER,
            SOURCE_CREDENTIALS,
            NEEDS_FORCE,
            COPY_FAILED,
            VALIDATION_FAILED,
            LOGIN_FAILED,
            ROLLBACK_FAILED,
        ],
    };
}

pub mod bootstrap_helper {
    //! `bootstrap-openclaw-codex-volume __helper OP`: the helper container's run, read by the bootstrap
    //! (its last stdout line is a JSON reply in every case but usage).
    use super::{Code, Table};

    pub const DONE: Code =
        Code { value: 0, meaning: "the operation is done; the reply says what it found", remedy: "" };
    pub const FAILED: Code =
        Code { value: 1, meaning: "the operation failed; the reply says why (and what kind of failure)", remedy: "" };
    pub const USAGE: Code = Code { value: 2, meaning: "usage (not an operation the bootstrap sends)", remedy: "" };
    pub const TABLE: Table = Table { bin: "bootstrap-openclaw-codex-volume __helper", codes: &[DONE, FAILED, USAGE] };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bin_uses_a_code_twice() {
        for table in TABLES {
            let mut values: Vec<u8> = table.codes.iter().map(|c| c.value).collect();
            values.sort_unstable();
            values.dedup();
            assert_eq!(values.len(), table.codes.len(), "{}", table.bin);
        }
    }

    #[test]
    fn the_readme_holds_every_table() {
        let readme = include_str!("../README.md");
        for table in TABLES {
            assert!(
                readme.contains(&table.markdown()),
                "README.md lacks {}'s exit codes as src/exit.rs renders them:\n{}",
                table.bin,
                table.markdown()
            );
        }
    }
}
