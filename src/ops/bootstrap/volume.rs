//! What the helper container does to the volumes (`bootstrap-openclaw-codex-volume __helper OP`):
//! plain file-system work on `/source` (read-only) and `/dest`, no Docker, so it is unit-tested on
//! temporary directories.
//!
//! Only `auth.json` and `config.toml` are copied: never sessions, logs or history, and MoonMind's
//! worker token files are removed from the destination. The destination's root is a mount point and
//! cannot be swapped, so each file is replaced on its own, and a journal makes the whole run
//! reversible:
//!
//! 1. `stage`: the new files are written complete under `.openclaw-bootstrap/new/` (created
//!    exclusively, chown 1000:1000, chmod, fsync); the files they will replace are copied to
//!    `.openclaw-bootstrap/previous/` with their owner and mode; then `journal.json` records what is
//!    being replaced (written atomically: it is the point from which a run can be rolled back). The
//!    live files are untouched.
//! 2. `commit`: `rename(new/F, F)` for `config.toml`, then `auth.json` (each atomic, directory
//!    fsynced), then the worker token files go.
//! 3. `finish` (validation passed): the journal is removed first, then `state.json` records the
//!    source content now in the destination (what makes a second run a no-op), then the backups go.
//! 4. `rollback` (anything failed): `rename(previous/F, F)` or, for a file that did not exist
//!    before, removal; then the journal goes. Each step can be repeated.
//!
//! So at every instant `auth.json` is either the previous complete file or the new complete one. A run
//! killed anywhere leaves the journal behind, and the next run rolls it back before anything else.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ops::codex_auth::{self, AuthError, Credential, Login};
use crate::ops::fs_atomic::{write_atomically, CONFIG_MODE};

pub const AUTH: &str = "auth.json";
pub const CONFIG: &str = "config.toml";
/// MoonMind's worker identity, which its workers write into their CODEX_HOME: never OpenClaw's.
pub const WORKER_TOKENS: [&str; 2] = ["moonmind_worker_token", "moonmind_worker_token.policy"];
/// The bootstrap's own directory in the destination volume.
pub const STATE_DIR: &str = ".openclaw-bootstrap";
const JOURNAL: &str = "journal.json";
const STATE: &str = "state.json";
const NEW: &str = "new";
const PREVIOUS: &str = "previous";
/// The image's `app` user.
pub const APP_UID: u32 = 1000;
pub const APP_GID: u32 = 1000;
pub const AUTH_MODE: u32 = 0o600;
pub const DIR_MODE: u32 = 0o700;
/// Larger files are not Codex credentials or configuration.
const MAX_FILE: u64 = 1 << 20;
/// Codex writes `auth.json` in place (truncate, write): a read during a token refresh can see a
/// prefix. Such a read is retried this many times.
pub const READ_ATTEMPTS: u32 = 10;
pub const READ_RETRY: Duration = Duration::from_millis(200);
/// Test hook: the helper sleeps this long after each change it makes to the destination, so a test
/// can kill it between any two of them.
pub const STEP_DELAY_VAR: &str = "OPENCLAW_BOOTSTRAP_TEST_STEP_DELAY_MS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The source has no usable `auth.json` or `config.toml`.
    Source,
    /// The destination holds other credentials and `--force` was not given.
    NeedsForce,
    /// Reading or writing failed.
    Io,
}

#[derive(Debug)]
pub struct VolumeError {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for VolumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VolumeError {}

fn error(kind: ErrorKind, message: impl Into<String>) -> VolumeError {
    VolumeError { kind, message: message.into() }
}

fn io_error(what: impl fmt::Display, e: io::Error) -> VolumeError {
    error(ErrorKind::Io, format!("{what}: {e}"))
}

/// FNV-1a (64 bits) of a file's content, as recorded in `state.json`: a change detector, not a
/// security boundary (whoever can write the source volume chooses the credentials anyway).
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The source files, read consistently.
#[derive(Debug, Clone)]
pub struct Source {
    pub auth: Vec<u8>,
    pub credential: Credential,
    pub config: Option<Vec<u8>>,
}

/// Reads a regular file (never through a symlink), `None` when absent.
fn read_file(path: &Path) -> Result<Option<Vec<u8>>, VolumeError> {
    let file = fs::OpenOptions::new().read(true).custom_flags(nix::libc::O_NOFOLLOW).open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(error(ErrorKind::Io, format!("{} is a symbolic link; refusing to follow it", path.display())))
        }
        Err(e) => return Err(io_error(format!("cannot read {}", path.display()), e)),
    };
    let meta = file.metadata().map_err(|e| io_error(format!("cannot stat {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(error(ErrorKind::Io, format!("{} is not a regular file", path.display())));
    }
    let mut bytes = Vec::new();
    Read::by_ref(&mut file)
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(format!("cannot read {}", path.display()), e))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(error(ErrorKind::Io, format!("{} is larger than {MAX_FILE} bytes", path.display())));
    }
    Ok(Some(bytes))
}

/// Reads `auth.json` and `config.toml` from the source directory. A read that does not parse is
/// retried (Codex may be rewriting the file in place); what still does not parse is an error.
pub fn read_source(dir: &Path, attempts: u32, wait: Duration) -> Result<Source, VolumeError> {
    let mut last = String::new();
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            std::thread::sleep(wait);
        }
        let Some(auth) = read_file(&dir.join(AUTH))? else {
            return Err(error(
                ErrorKind::Source,
                format!("the source volume has no {AUTH}: log the workers in first (codex login)"),
            ));
        };
        let credential = match std::str::from_utf8(&auth) {
            Ok(text) => codex_auth::credential(text),
            Err(e) => Err(AuthError::NotJson(e.to_string())),
        };
        let credential = match credential {
            Ok(credential) => credential,
            Err(e) => {
                last = format!("the source {e}");
                continue;
            }
        };
        let config = read_file(&dir.join(CONFIG))?;
        if let Some(bytes) = &config {
            let parsed = std::str::from_utf8(bytes)
                .map_err(|e| e.to_string())
                .and_then(|t| t.parse::<toml_edit::DocumentMut>().map_err(|e| e.to_string()));
            if let Err(e) = parsed {
                last = format!("the source {CONFIG} is not valid TOML ({})", e.trim());
                continue;
            }
        }
        return Ok(Source { auth, credential, config });
    }
    Err(error(ErrorKind::Source, format!("{last} (read {attempts} times, {} ms apart)", wait.as_millis())))
}

/// The journal of a run in progress: which files it replaces and whether they existed before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub origin: Origin,
    /// In commit order; `auth.json` last.
    pub files: Vec<JournalFile>,
    /// Fingerprints of the source files being copied (`None` for `--from-scratch`).
    pub auth: Option<String>,
    pub config: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalFile {
    pub name: String,
    /// Whether the file existed before (then `previous/NAME` holds it until the run ends).
    pub previous: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    Copy,
    FromScratch,
}

/// What the last successful run put in the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub origin: Origin,
    pub auth: Option<String>,
    pub config: Option<String>,
}

/// The destination as it is, or as it will be once an interrupted run is rolled back.
#[derive(Debug, Clone, Default)]
pub struct Dest {
    pub auth: Option<Vec<u8>>,
    pub config: Option<Vec<u8>>,
    pub state: Option<State>,
    pub interrupted: bool,
    pub worker_tokens: Vec<String>,
}

fn read_json<T: for<'a> Deserialize<'a>>(path: &Path) -> Result<Option<T>, VolumeError> {
    match read_file(path)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| error(ErrorKind::Io, format!("{} is not what this tool writes ({e})", path.display()))),
    }
}

fn state_dir(dest: &Path) -> PathBuf {
    dest.join(STATE_DIR)
}

/// Reads the destination; `None` means the volume does not exist yet (empty).
pub fn read_dest(dest: Option<&Path>) -> Result<Dest, VolumeError> {
    let Some(dest) = dest else {
        return Ok(Dest::default());
    };
    let dir = state_dir(dest);
    let journal: Option<Journal> = read_json(&dir.join(JOURNAL))?;
    let mut view = Dest {
        auth: read_file(&dest.join(AUTH))?,
        config: read_file(&dest.join(CONFIG))?,
        state: read_json(&dir.join(STATE))?,
        interrupted: journal.is_some(),
        worker_tokens: Vec::new(),
    };
    if let Some(journal) = journal {
        // What a rollback will leave.
        for file in &journal.files {
            let restored = if file.previous {
                match read_file(&dir.join(PREVIOUS).join(&file.name))? {
                    Some(bytes) => Some(bytes),
                    None => read_file(&dest.join(&file.name))?, // already restored
                }
            } else {
                None
            };
            match file.name.as_str() {
                AUTH => view.auth = restored,
                CONFIG => view.config = restored,
                _ => {}
            }
        }
    }
    for name in WORKER_TOKENS {
        if fs::symlink_metadata(dest.join(name)).is_ok() {
            view.worker_tokens.push(name.to_owned());
        }
    }
    Ok(view)
}

/// What a copy would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// The destination already holds what the source holds: nothing to write.
    Unchanged,
    /// The files will be copied.
    Copy,
    /// The destination holds other credentials and `--force` was not given.
    NeedsForce,
}

/// Whether copying `source` over `dest` is a no-op, allowed, or needs `--force`.
///
/// Unchanged: the destination holds a credential and either `state.json` says the source's current
/// content is what was last copied (Codex may have refreshed the destination's token since, and the
/// entrypoint enforces its config.toml: both are expected), or the files are byte-identical.
/// Replacing an `auth.json` that holds a different credential needs `force`; one without any
/// credential is replaced without it.
pub fn decide(source: &Source, dest: &Dest, force: bool) -> Change {
    let login = Login::of(dest.auth.as_deref());
    let source_config = source.config.as_deref().map(fingerprint);
    let recorded = dest.state.as_ref().is_some_and(|s| {
        s.origin == Origin::Copy
            && s.auth.as_deref() == Some(fingerprint(&source.auth).as_str())
            && s.config == source_config
    });
    let identical = dest.auth.as_deref() == Some(source.auth.as_slice())
        && (source.config.is_none() || dest.config == source.config);
    if login.has_credential() && (recorded || identical) && dest.worker_tokens.is_empty() {
        return Change::Unchanged;
    }
    let replaces = login.has_credential() && dest.auth.as_deref() != Some(source.auth.as_slice());
    if replaces && !force {
        Change::NeedsForce
    } else {
        Change::Copy
    }
}

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// `--verbose`: each change is printed on stderr.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// After each change: prints it (verbose), then sleeps `OPENCLAW_BOOTSTRAP_TEST_STEP_DELAY_MS`
/// (tests only).
fn step(what: impl fmt::Display) {
    if VERBOSE.load(Ordering::Relaxed) {
        let _ = writeln!(io::stderr(), "bootstrap helper: {what}");
    }
    if let Some(ms) = std::env::var(STEP_DELAY_VAR).ok().and_then(|v| v.parse::<u64>().ok()) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

fn sync_dir(dir: &Path) -> Result<(), VolumeError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(format!("cannot fsync {}", dir.display()), e))
}

/// A new file: created exclusively, written, chown, chmod, fsync.
fn write_new(path: &Path, content: &[u8], uid: u32, gid: u32, mode: u32) -> Result<(), VolumeError> {
    let what = || format!("cannot write {}", path.display());
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io_error(what(), e))?;
    file.write_all(content).map_err(|e| io_error(what(), e))?;
    std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).map_err(|e| io_error(what(), e))?;
    file.set_permissions(fs::Permissions::from_mode(mode)).map_err(|e| io_error(what(), e))?;
    file.sync_all().map_err(|e| io_error(what(), e))?;
    step(format_args!("wrote {} (owner {uid}:{gid}, mode {mode:o}, fsynced)", path.display()));
    Ok(())
}

/// A directory of ours: created if missing (never a symlink), owned by app, mode 0700.
fn own_dir(path: &Path) -> Result<(), VolumeError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(error(ErrorKind::Io, format!("{} exists and is not a directory", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(path).map_err(|e| io_error(format!("cannot create {}", path.display()), e))?;
            step(format_args!("created {}", path.display()));
        }
        Err(e) => return Err(io_error(format!("cannot stat {}", path.display()), e)),
    }
    fix_owner_and_mode(path, DIR_MODE)
}

/// chown app:app and chmod `mode`, only where they differ.
fn fix_owner_and_mode(path: &Path, mode: u32) -> Result<(), VolumeError> {
    let meta = fs::symlink_metadata(path).map_err(|e| io_error(format!("cannot stat {}", path.display()), e))?;
    if meta.uid() != APP_UID || meta.gid() != APP_GID {
        std::os::unix::fs::lchown(path, Some(APP_UID), Some(APP_GID))
            .map_err(|e| io_error(format!("cannot chown {}", path.display()), e))?;
        step(format_args!("chown {APP_UID}:{APP_GID} {}", path.display()));
    }
    if meta.mode() & 0o7777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| io_error(format!("cannot chmod {}", path.display()), e))?;
        step(format_args!("chmod {mode:o} {}", path.display()));
    }
    Ok(())
}

fn remove_dir_if_present(path: &Path) -> Result<(), VolumeError> {
    match fs::remove_dir_all(path) {
        Ok(()) => {
            step(format_args!("removed {}", path.display()));
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(format!("cannot remove {}", path.display()), e)),
    }
}

fn remove_file_if_present(path: &Path) -> Result<bool, VolumeError> {
    match fs::remove_file(path) {
        Ok(()) => {
            step(format_args!("removed {}", path.display()));
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(format!("cannot remove {}", path.display()), e)),
    }
}

fn rename(from: &Path, to: &Path) -> Result<(), VolumeError> {
    fs::rename(from, to).map_err(|e| io_error(format!("cannot rename {} to {}", from.display(), to.display()), e))?;
    step(format_args!("renamed {} to {}", from.display(), to.display()));
    Ok(())
}

/// Copies `from` (a live file) to `to`, keeping its owner and mode.
fn back_up(from: &Path, to: &Path) -> Result<bool, VolumeError> {
    let Some(content) = read_file(from)? else {
        return Ok(false);
    };
    let meta = fs::symlink_metadata(from).map_err(|e| io_error(format!("cannot stat {}", from.display()), e))?;
    write_new(to, &content, meta.uid(), meta.gid(), meta.mode() & 0o7777)?;
    Ok(true)
}

fn write_journal(dest: &Path, journal: &Journal) -> Result<(), VolumeError> {
    let path = state_dir(dest).join(JOURNAL);
    let text = serde_json::to_vec(journal).expect("a journal serialises");
    write_atomically(&path, &text).map_err(|e| io_error(format!("cannot write {}", path.display()), e))?;
    step(format_args!("wrote {}", path.display()));
    Ok(())
}

fn read_journal(dest: &Path) -> Result<Option<Journal>, VolumeError> {
    read_json(&state_dir(dest).join(JOURNAL))
}

/// What `stage` and `prepare_login` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staged {
    pub outcome: Change,
    /// An interrupted run was rolled back first.
    pub recovered: bool,
    pub files: Vec<String>,
}

/// The destination and its state directory owned as they must be, with an empty `PREVIOUS` for the
/// backups; returns the state directory. `NEW` and `PREVIOUS` left by a run killed before its
/// journal was written are never referenced by anything, so they are removed first.
fn fresh_state_dir(dest: &Path) -> Result<PathBuf, VolumeError> {
    fix_owner_and_mode(dest, DIR_MODE)?;
    let dir = state_dir(dest);
    own_dir(&dir)?;
    remove_dir_if_present(&dir.join(NEW))?;
    remove_dir_if_present(&dir.join(PREVIOUS))?;
    own_dir(&dir.join(PREVIOUS))?;
    Ok(dir)
}

/// Rolls back an interrupted run (if any), then prepares the copy; nothing live changes.
pub fn stage(source: &Source, dest: &Path, force: bool) -> Result<Staged, VolumeError> {
    let recovered = rollback(dest)?;
    let view = read_dest(Some(dest))?;
    let outcome = decide(source, &view, force);
    if outcome != Change::Copy {
        return Ok(Staged { outcome, recovered, files: Vec::new() });
    }
    let dir = fresh_state_dir(dest)?;
    own_dir(&dir.join(NEW))?;
    let mut files = Vec::new();
    if let Some(config) = &source.config {
        files.push((CONFIG, config.as_slice(), CONFIG_MODE));
    }
    files.push((AUTH, source.auth.as_slice(), AUTH_MODE));
    let mut journal = Journal {
        origin: Origin::Copy,
        files: Vec::new(),
        auth: Some(fingerprint(&source.auth)),
        config: source.config.as_deref().map(fingerprint),
    };
    for (name, content, mode) in &files {
        write_new(&dir.join(NEW).join(name), content, APP_UID, APP_GID, *mode)?;
        let previous = back_up(&dest.join(name), &dir.join(PREVIOUS).join(name))?;
        journal.files.push(JournalFile { name: (*name).to_owned(), previous });
    }
    sync_dir(&dir.join(NEW))?;
    sync_dir(&dir.join(PREVIOUS))?;
    write_journal(dest, &journal)?;
    Ok(Staged { outcome, recovered, files: files.iter().map(|(n, _, _)| (*n).to_owned()).collect() })
}

/// Puts the staged files in place (`config.toml`, then `auth.json`), then removes worker tokens.
pub fn commit(dest: &Path) -> Result<Vec<String>, VolumeError> {
    let journal = read_journal(dest)?.ok_or_else(|| error(ErrorKind::Io, "nothing staged to commit (no journal)"))?;
    let new = state_dir(dest).join(NEW);
    for file in &journal.files {
        rename(&new.join(&file.name), &dest.join(&file.name))?;
        sync_dir(dest)?;
    }
    let mut removed = Vec::new();
    for name in WORKER_TOKENS {
        if remove_file_if_present(&dest.join(name))? {
            removed.push(name.to_owned());
        }
    }
    sync_dir(dest)?;
    Ok(removed)
}

/// Validation passed: the run becomes final.
pub fn finish(dest: &Path) -> Result<(), VolumeError> {
    let dir = state_dir(dest);
    let journal = read_journal(dest)?.ok_or_else(|| error(ErrorKind::Io, "no run to finish (no journal)"))?;
    // Journal first: from here on nothing rolls this run back.
    remove_file_if_present(&dir.join(JOURNAL))?;
    sync_dir(&dir)?;
    let state = State { origin: journal.origin, auth: journal.auth, config: journal.config };
    let path = dir.join(STATE);
    write_atomically(&path, &serde_json::to_vec(&state).expect("state serialises"))
        .map_err(|e| io_error(format!("cannot write {}", path.display()), e))?;
    step(format_args!("wrote {}", path.display()));
    remove_dir_if_present(&dir.join(NEW))?;
    remove_dir_if_present(&dir.join(PREVIOUS))?;
    sync_dir(&dir)
}

/// Puts back what the journal's run replaced (`auth.json` first); false if there was no run to roll
/// back. Repeatable: a rollback killed midway is finished by the next one.
pub fn rollback(dest: &Path) -> Result<bool, VolumeError> {
    let dir = state_dir(dest);
    let Some(journal) = read_journal(dest)? else {
        // A run stopped before its journal: the live files were never touched, and what it staged
        // (a copy of the new credentials) is referenced by nothing.
        remove_dir_if_present(&dir.join(NEW))?;
        remove_dir_if_present(&dir.join(PREVIOUS))?;
        return Ok(false);
    };
    for file in journal.files.iter().rev() {
        let live = dest.join(&file.name);
        if file.previous {
            let saved = dir.join(PREVIOUS).join(&file.name);
            if fs::symlink_metadata(&saved).is_ok() {
                rename(&saved, &live)?;
            }
        } else {
            remove_file_if_present(&live)?;
        }
        sync_dir(dest)?;
    }
    remove_file_if_present(&dir.join(JOURNAL))?;
    sync_dir(&dir)?;
    remove_dir_if_present(&dir.join(NEW))?;
    remove_dir_if_present(&dir.join(PREVIOUS))?;
    sync_dir(&dir)?;
    Ok(true)
}

/// `--from-scratch`: a destination already logged in from scratch is left alone (unchanged); one
/// holding another login needs `force`; otherwise `codex login` runs.
pub fn login_outcome(view: &Dest, force: bool) -> Change {
    let login = Login::of(view.auth.as_deref());
    let from_scratch = view.state.as_ref().is_some_and(|s| s.origin == Origin::FromScratch);
    match (login.has_credential(), force) {
        (true, false) if from_scratch => Change::Unchanged,
        (true, false) => Change::NeedsForce,
        _ => Change::Copy,
    }
}

/// `--from-scratch`: rolls back an interrupted run, then journals `auth.json` (the file
/// `codex login` writes) so a failed login or validation can be undone. Unchanged when the
/// destination already holds a login made from scratch (re-login needs `force`).
pub fn prepare_login(dest: &Path, force: bool) -> Result<Staged, VolumeError> {
    let recovered = rollback(dest)?;
    let outcome = login_outcome(&read_dest(Some(dest))?, force);
    if outcome != Change::Copy {
        return Ok(Staged { outcome, recovered, files: Vec::new() });
    }
    let dir = fresh_state_dir(dest)?;
    let previous = back_up(&dest.join(AUTH), &dir.join(PREVIOUS).join(AUTH))?;
    sync_dir(&dir.join(PREVIOUS))?;
    write_journal(
        dest,
        &Journal {
            origin: Origin::FromScratch,
            files: vec![JournalFile { name: AUTH.to_owned(), previous }],
            auth: None,
            config: None,
        },
    )?;
    Ok(Staged { outcome, recovered, files: vec![AUTH.to_owned()] })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-a"}"#;
    const KEY_B: &str = r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-b"}"#;

    fn source(auth: &str, config: Option<&str>) -> Source {
        Source { auth: auth.into(), credential: codex_auth::credential(auth).unwrap(), config: config.map(Into::into) }
    }

    fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let (src, dst) = (root.path().join("src"), root.path().join("dst"));
        fs::create_dir(&src).unwrap();
        fs::create_dir(&dst).unwrap();
        (root, src, dst)
    }

    fn text(path: &Path) -> Option<String> {
        fs::read_to_string(path).ok()
    }

    /// Staging chowns to the app user: only root can.
    fn is_root() -> bool {
        nix::unistd::getuid().as_raw() == 0
    }

    #[test]
    fn fingerprints_are_fnv1a64() {
        assert_eq!(fingerprint(b""), "cbf29ce484222325");
        assert_eq!(fingerprint(b"a"), "af63dc4c8601ec8c");
    }

    #[test]
    fn source_reads_retry_a_truncated_auth_json_and_report_what_is_wrong() {
        let (_root, src, _) = dirs();
        let err = read_source(&src, 2, Duration::ZERO).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Source);
        assert!(err.message.contains("no auth.json"), "{err}");

        fs::write(src.join(AUTH), &KEY_A[..10]).unwrap();
        let err = read_source(&src, 3, Duration::ZERO).unwrap_err();
        assert!(err.message.contains("not valid JSON") && err.message.contains("3 times"), "{err}");

        fs::write(src.join(AUTH), "{}").unwrap();
        assert!(read_source(&src, 1, Duration::ZERO).unwrap_err().message.contains("no credential"));

        // A writer finishing while the reader retries: the complete file is read.
        fs::write(src.join(AUTH), &KEY_A[..5]).unwrap();
        let path = src.join(AUTH);
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            fs::write(path, KEY_A).unwrap();
        });
        let read = read_source(&src, 50, Duration::from_millis(10)).unwrap();
        writer.join().unwrap();
        assert_eq!(read.auth, KEY_A.as_bytes());
        assert_eq!(read.credential, Credential::ApiKey);
        assert!(read.config.is_none());

        fs::write(src.join(CONFIG), "model = ").unwrap();
        assert!(read_source(&src, 1, Duration::ZERO).unwrap_err().message.contains("not valid TOML"));
        fs::write(src.join(CONFIG), "model = \"o3\"\n").unwrap();
        assert_eq!(read_source(&src, 1, Duration::ZERO).unwrap().config.unwrap(), b"model = \"o3\"\n");
    }

    #[test]
    fn symlinks_are_not_followed() {
        let (_root, src, dst) = dirs();
        fs::write(dst.join("real"), KEY_A).unwrap();
        std::os::unix::fs::symlink(dst.join("real"), src.join(AUTH)).unwrap();
        assert!(read_source(&src, 1, Duration::ZERO).unwrap_err().message.contains("symbolic link"));
    }

    #[test]
    fn decisions() {
        let src = source(KEY_A, Some("x = 1\n"));
        let empty = Dest::default();
        assert_eq!(decide(&src, &empty, false), Change::Copy);
        let other = Dest { auth: Some(KEY_B.into()), ..Dest::default() };
        assert_eq!(decide(&src, &other, false), Change::NeedsForce);
        assert_eq!(decide(&src, &other, true), Change::Copy);
        let broken = Dest { auth: Some(b"{\"OPENAI_AP".to_vec()), ..Dest::default() };
        assert_eq!(decide(&src, &broken, false), Change::Copy);
        let same = Dest { auth: Some(KEY_A.into()), config: Some("x = 1\n".into()), ..Dest::default() };
        assert_eq!(decide(&src, &same, false), Change::Unchanged);
        assert_eq!(decide(&src, &same, true), Change::Unchanged);
        // Same credential, other config: copied without --force.
        let config_differs = Dest { config: Some("y = 2\n".into()), ..same.clone() };
        assert_eq!(decide(&src, &config_differs, false), Change::Copy);
        // Copied before, then refreshed in place and its config enforced: still unchanged.
        let recorded = Dest {
            auth: Some(KEY_B.into()),
            config: Some("enforced = true\n".into()),
            state: Some(State {
                origin: Origin::Copy,
                auth: Some(fingerprint(KEY_A.as_bytes())),
                config: Some(fingerprint(b"x = 1\n")),
            }),
            ..Dest::default()
        };
        assert_eq!(decide(&src, &recorded, false), Change::Unchanged);
        // ...unless its login is gone.
        let logged_out = Dest { auth: None, ..recorded.clone() };
        assert_eq!(decide(&src, &logged_out, false), Change::Copy);
        // A login made from scratch is never "what the source holds".
        let scratch = Dest {
            state: Some(State { origin: Origin::FromScratch, ..recorded.state.clone().unwrap() }),
            ..recorded.clone()
        };
        assert_eq!(decide(&src, &scratch, false), Change::NeedsForce);
        // Worker tokens in the destination must go.
        let tokens = Dest { worker_tokens: vec![WORKER_TOKENS[0].into()], ..same };
        assert_eq!(decide(&src, &tokens, false), Change::Copy);
    }

    fn stage_commit(src: &Source, dst: &Path, force: bool) -> Staged {
        let staged = stage(src, dst, force).unwrap();
        if staged.outcome == Change::Copy {
            commit(dst).unwrap();
        }
        staged
    }

    #[test]
    fn a_failed_stage_leaves_the_live_files_alone() {
        if is_root() {
            return; // root can chown; the rest of the tests cover it
        }
        // Not root: fchown to 1000 fails with EPERM midway through staging.
        let (_root, _src, dst) = dirs();
        let err = stage(&source(KEY_A, None), &dst, false).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Io);
        // Nothing live was touched.
        assert!(text(&dst.join(AUTH)).is_none());
    }

    /// As root only (chown to the app user); the Docker suite runs the same code in the helper.
    #[test]
    fn stage_commit_finish_rollback_as_root() {
        if !is_root() {
            eprintln!("stage_commit_finish_rollback_as_root: needs root (chown), skipped here");
            return;
        }
        let (_root, _src, dst) = dirs();
        fs::write(dst.join(AUTH), KEY_B).unwrap();
        fs::write(dst.join(WORKER_TOKENS[0]), "t").unwrap();
        let src = source(KEY_A, Some("x = 1\n"));
        assert_eq!(stage(&src, &dst, false).unwrap().outcome, Change::NeedsForce);
        let staged = stage(&src, &dst, true).unwrap();
        assert_eq!(staged.files, [CONFIG, AUTH]);
        assert_eq!(text(&dst.join(AUTH)).unwrap(), KEY_B, "stage leaves live files");
        assert_eq!(commit(&dst).unwrap(), [WORKER_TOKENS[0]]);
        assert_eq!(text(&dst.join(AUTH)).unwrap(), KEY_A);
        let meta = fs::metadata(dst.join(AUTH)).unwrap();
        assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (1000, 1000, 0o600));
        assert_eq!(fs::metadata(dst.join(CONFIG)).unwrap().mode() & 0o777, 0o640);
        // Validation failed: back to the previous credentials, the config that did not exist goes.
        assert!(rollback(&dst).unwrap());
        assert_eq!(text(&dst.join(AUTH)).unwrap(), KEY_B);
        assert!(text(&dst.join(CONFIG)).is_none());
        assert!(!rollback(&dst).unwrap());
        // Again, and this time it passes.
        stage_commit(&src, &dst, true);
        finish(&dst).unwrap();
        assert!(!state_dir(&dst).join(PREVIOUS).exists());
        assert!(!state_dir(&dst).join(JOURNAL).exists());
        // The entrypoint rewrites config.toml; the source did not change: nothing to do.
        fs::write(dst.join(CONFIG), "enforced = 1\n").unwrap();
        assert_eq!(stage(&src, &dst, false).unwrap().outcome, Change::Unchanged);
        assert_eq!(text(&dst.join(CONFIG)).unwrap(), "enforced = 1\n");
    }

    #[test]
    fn an_interrupted_run_is_rolled_back_by_the_next_one() {
        if !is_root() {
            return;
        }
        let (_root, _src, dst) = dirs();
        fs::write(dst.join(AUTH), KEY_B).unwrap();
        let src = source(KEY_A, None);
        stage(&src, &dst, true).unwrap();
        commit(&dst).unwrap();
        // Killed before validation: the journal is still there.
        let view = read_dest(Some(&dst)).unwrap();
        assert!(view.interrupted);
        assert_eq!(view.auth.unwrap(), KEY_B.as_bytes(), "the view is what a rollback leaves");
        let staged = stage(&src, &dst, false).unwrap();
        assert!(staged.recovered);
        assert_eq!(staged.outcome, Change::NeedsForce);
        assert_eq!(text(&dst.join(AUTH)).unwrap(), KEY_B);
        // Killed while staging, before the journal: a rollback clears what it staged.
        fs::create_dir_all(state_dir(&dst).join(NEW)).unwrap();
        fs::write(state_dir(&dst).join(NEW).join(AUTH), KEY_A).unwrap();
        assert!(!rollback(&dst).unwrap());
        assert!(!state_dir(&dst).join(NEW).exists());
        assert_eq!(text(&dst.join(AUTH)).unwrap(), KEY_B);
    }
}
