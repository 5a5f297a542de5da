//! Shared test harness: temp trees with shim copies and a fake codex on PATH.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const PIN: &str = "gpt-pin";

/// The shim under test: `OPENCLAW_TEST_SHIM` (e.g. the static release build) or cargo's debug build.
pub fn shim_binary() -> PathBuf {
    match std::env::var_os("OPENCLAW_TEST_SHIM") {
        Some(path) => std::fs::canonicalize(path).expect("OPENCLAW_TEST_SHIM names an existing file"),
        None => PathBuf::from(env!("CARGO_BIN_EXE_codex")),
    }
}

/// The app-server guard installed with the shim under test (next to it).
pub fn guard_binary() -> PathBuf {
    match std::env::var_os("OPENCLAW_TEST_SHIM") {
        Some(_) => shim_binary().with_file_name(openclaw_codex::shim::install::GUARD_BIN),
        None => PathBuf::from(env!("CARGO_BIN_EXE_openclaw-app-server-guard")),
    }
}

/// The fake codex (shim-tests/fixtures/fake_codex.c), compiled once per test run.
pub fn fake_codex_binary() -> &'static Path {
    static FAKE: OnceLock<PathBuf> = OnceLock::new();
    FAKE.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("shim-tests/fixtures/fake_codex.c");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fake_codex-{}", std::process::id()));
        let status = std::process::Command::new("cc").arg("-O1").arg("-o").arg(&out).arg(&source).status();
        assert!(status.is_ok_and(|s| s.success()), "cannot compile {} with cc", source.display());
        out
    })
}

/// A temporary tree: `dir(name)` directories to put on PATH, a record directory for the fake.
pub struct Tree {
    pub root: tempfile::TempDir,
}

pub struct Record {
    pub pid: u32,
    pub argv: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub sig_ignored: u64,
    pub sig_blocked: u64,
}

impl Record {
    pub fn env_var(&self, name: &str) -> Option<&OsString> {
        self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn args_text(&self) -> Vec<String> {
        self.argv[1..].iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }
}

fn split_nul(bytes: Vec<u8>) -> Vec<OsString> {
    let mut items: Vec<OsString> = bytes.split(|b| *b == 0).map(|s| OsString::from_vec(s.to_vec())).collect();
    items.pop(); // after the last NUL
    items
}

fn sig_mask(text: &str, field: &str) -> u64 {
    let line = text.lines().find(|l| l.starts_with(field)).expect("mask line");
    u64::from_str_radix(line[field.len()..].trim(), 16).unwrap()
}

/// Copies with `cp` in its own process: a file written by this multi-threaded test process could be
/// held open by a child another test thread is forking, and exec of it would fail with ETXTBSY.
pub fn copy_out_of_process(from: &Path, to: &Path) {
    let status = std::process::Command::new("/bin/cp").arg(from).arg(to).status().unwrap();
    assert!(status.success(), "cp {} {}", from.display(), to.display());
}

/// An executable script, written out of process for the same reason as `copy_out_of_process`.
pub fn write_script(path: &Path, text: &str) {
    let staged = path.with_extension("staged");
    fs::write(&staged, text).unwrap();
    copy_out_of_process(&staged, path);
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

impl Tree {
    pub fn new() -> Tree {
        let tree = Tree { root: tempfile::tempdir().unwrap() };
        fs::create_dir_all(tree.records_dir()).unwrap();
        tree
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        let dir = self.root.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub fn records_dir(&self) -> PathBuf {
        self.root.path().join("records")
    }

    fn install(&self, from: &Path, dir: &str, mode: u32) -> PathBuf {
        let path = self.dir(dir).join("codex");
        copy_out_of_process(from, &path);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// A copy of the shim (its own inode) as `<dir>/codex`, with its app-server guard beside it.
    pub fn shim(&self, dir: &str) -> PathBuf {
        let guard = self.dir(dir).join(openclaw_codex::shim::install::GUARD_BIN);
        copy_out_of_process(&guard_binary(), &guard);
        self.install(&shim_binary(), dir, 0o755)
    }

    pub fn fake(&self, dir: &str) -> PathBuf {
        self.install(fake_codex_binary(), dir, 0o755)
    }

    pub fn file(&self, dir: &str, mode: u32) -> PathBuf {
        self.install(fake_codex_binary(), dir, mode)
    }

    /// Links the machine's `git` (found on the test's PATH) into the tree's `git/`; that directory's
    /// name for `path_of`, or `None` without git.
    pub fn link_git(&self) -> Option<&'static str> {
        let path = std::env::var_os("PATH")?;
        let git = std::env::split_paths(&path).map(|dir| dir.join("git")).find(|candidate| candidate.is_file())?;
        let link = self.dir("git").join("git");
        if !link.exists() {
            std::os::unix::fs::symlink(git, link).unwrap();
        }
        Some("git")
    }

    pub fn path_of(&self, dirs: &[&str]) -> OsString {
        std::env::join_paths(dirs.iter().map(|d| self.root.path().join(d))).unwrap()
    }

    /// A command running `program` with a clean environment: PATH, the pinned model, the record dir.
    pub fn command(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        path: impl AsRef<std::ffi::OsStr>,
    ) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(program.as_ref());
        cmd.env_clear()
            .env("PATH", path)
            .env("OPENCLAW_MODEL", PIN)
            .env("FAKE_CODEX_RECORD", self.records_dir())
            // Audit records to stderr, never to a journald the machine may run.
            .env("OPENCLAW_AUDIT_JOURNALD", "0")
            .current_dir(self.root.path());
        cmd
    }

    pub fn records(&self) -> Vec<Record> {
        let mut pids: Vec<u32> = fs::read_dir(self.records_dir())
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".sig").map(|p| p.parse().unwrap())
            })
            .collect();
        pids.sort_unstable();
        pids.into_iter()
            .map(|pid| {
                let read = |suffix: &str| fs::read(self.records_dir().join(format!("{pid}.{suffix}"))).unwrap();
                let env = split_nul(read("env"))
                    .into_iter()
                    .map(|kv| {
                        let bytes = kv.into_vec();
                        let eq = bytes.iter().position(|b| *b == b'=').unwrap_or(bytes.len());
                        (
                            OsString::from_vec(bytes[..eq].to_vec()),
                            OsString::from_vec(bytes.get(eq + 1..).unwrap_or_default().to_vec()),
                        )
                    })
                    .collect();
                let sig = String::from_utf8(read("sig")).unwrap();
                Record {
                    pid,
                    argv: split_nul(read("argv")),
                    env,
                    sig_ignored: sig_mask(&sig, "SigIgn:"),
                    sig_blocked: sig_mask(&sig, "SigBlk:"),
                }
            })
            .collect()
    }

    pub fn only_record(&self) -> Record {
        let mut records = self.records();
        assert_eq!(records.len(), 1, "expected exactly one codex run");
        records.pop().unwrap()
    }
}

pub mod argv_gen;
pub mod bootstrap_env;
pub mod bypass_env;
pub mod codex_env;
pub mod compose_stack;
pub mod docker;
pub mod etc_codex;
pub mod gate;
pub mod help_text;
pub mod jsonrpc;
pub mod mock_api;

/// The real Codex CLI: `CODEX_BIN`, else the copy `packaging/fetch-codex.sh` caches.
pub fn real_codex_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CODEX_BIN") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("OPENCLAW_CODEX_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
        base.join("openclaw-codex")
    });
    let path = cache.join(format!("codex-{}", openclaw_codex::pin::grammar::CODEX_VERSION)).join("bin/codex");
    assert!(
        path.is_file(),
        "the real Codex CLI is missing at {}: run packaging/fetch-codex.sh (make test does), or set CODEX_BIN",
        path.display()
    );
    path
}

/// The child's exit status once it ends, or `None` if it is still running after `limit` (then
/// killed).
pub fn finished_within(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One part of a JWT (base64url without padding): codex reads a ChatGPT login's claims and nobody
/// checks a signature offline, so tests build their fake logins with this.
pub fn fake_jwt_part(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
