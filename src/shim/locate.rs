//! Finding the real `codex` behind the shim.
//!
//! A PATH entry's `codex` is taken as the real Codex CLI only when:
//!  1. the entry is an absolute directory (an empty entry would make the name bare, so exec would
//!     search PATH again and could find the shim; a relative one depends on the working directory);
//!  2. the entry comes after the shim's last own position on PATH (so several copies of the shim
//!     on PATH converge towards the end of PATH instead of calling each other forever);
//!  3. `entry/codex` exists and, following symlinks, is a regular file;
//!  4. it is not the shim itself: its (dev, ino) differs from `/proc/self/exe`'s (this also catches
//!     a symlink to the shim and a directory listed twice);
//!  5. `faccessat(X_OK, AT_EACCESS)` accepts it, the check execve makes with the effective ids.
//!
//! The first candidate meeting all five wins; there is no fall-through to a later one if its exec
//! fails. `OPENCLAW_REAL_CODEX` (an absolute path) replaces the search and must meet 3–5.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub const REAL_CODEX_VAR: &str = "OPENCLAW_REAL_CODEX";
pub const CODEX_NAME: &str = "codex";

/// Identity of a file, as the kernel sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(path: &Path) -> std::io::Result<FileId> {
        let meta = std::fs::metadata(path)?;
        Ok(FileId { dev: meta.dev(), ino: meta.ino() })
    }

    /// The running binary, wherever and however it was reached.
    pub fn current_exe() -> std::io::Result<FileId> {
        FileId::of(Path::new("/proc/self/exe"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    EmptyEntry,
    RelativeEntry,
    AtOrBeforeShim,
    Missing,
    NotRegularFile,
    IsTheShim,
    NotExecutable,
}

impl SkipReason {
    pub fn describe(&self) -> &'static str {
        match self {
            SkipReason::EmptyEntry => "empty PATH entry",
            SkipReason::RelativeEntry => "relative PATH entry",
            SkipReason::AtOrBeforeShim => "at or before the shim's own PATH position",
            SkipReason::Missing => "no such file",
            SkipReason::NotRegularFile => "not a regular file",
            SkipReason::IsTheShim => "is this shim",
            SkipReason::NotExecutable => "not executable by this user",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path.display(), self.reason.describe())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub found: Option<PathBuf>,
    pub skipped: Vec<Skipped>,
}

/// Conditions 3–5 for one path; `None` means it is a valid real codex.
pub fn reject_reason(path: &Path, shim: FileId) -> Option<SkipReason> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(_) => return Some(SkipReason::Missing),
    };
    if !meta.is_file() {
        return Some(SkipReason::NotRegularFile);
    }
    if (FileId { dev: meta.dev(), ino: meta.ino() }) == shim {
        return Some(SkipReason::IsTheShim);
    }
    let executable =
        nix::unistd::faccessat(None, path, nix::unistd::AccessFlags::X_OK, nix::fcntl::AtFlags::AT_EACCESS);
    if executable.is_err() {
        return Some(SkipReason::NotExecutable);
    }
    None
}

/// Searches `path_var` (the value of PATH) for the real codex, following conditions 1–5.
pub fn search_path(path_var: &OsStr, shim: FileId) -> Search {
    let entries: Vec<&OsStr> = path_var.as_bytes().split(|b| *b == b':').map(OsStr::from_bytes).collect();
    let candidate = |entry: &OsStr| Path::new(entry).join(CODEX_NAME);
    // Condition 2 needs the shim's last position before any candidate can be judged.
    let shim_position = entries
        .iter()
        .rposition(|entry| Path::new(entry).is_absolute() && FileId::of(&candidate(entry)).ok() == Some(shim));

    let mut skipped = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let path = candidate(entry);
        let reason = if entry.is_empty() {
            Some(SkipReason::EmptyEntry)
        } else if !Path::new(entry).is_absolute() {
            Some(SkipReason::RelativeEntry)
        } else if shim_position.is_some_and(|shim_at| index <= shim_at) {
            Some(SkipReason::AtOrBeforeShim)
        } else {
            reject_reason(&path, shim)
        };
        match reason {
            None => return Search { found: Some(path), skipped },
            // A directory without codex is the normal case, not worth reporting.
            Some(SkipReason::Missing) => {}
            Some(reason) => skipped.push(Skipped { path, reason }),
        }
    }
    Search { found: None, skipped }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideError {
    Relative(PathBuf),
    Unusable(PathBuf, SkipReason),
}

impl fmt::Display for OverrideError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OverrideError::Relative(p) => {
                write!(f, "{REAL_CODEX_VAR}={} is not an absolute path: set it to the real codex's absolute path, or unset it to search PATH", p.display())
            }
            OverrideError::Unusable(p, reason) => {
                write!(f, "{REAL_CODEX_VAR}={} cannot be used ({}): point it at the real Codex CLI, or unset it to search PATH", p.display(), reason.describe())
            }
        }
    }
}

/// Checks an operator-given `OPENCLAW_REAL_CODEX` against conditions 3–5.
pub fn check_override(path: &Path, shim: FileId) -> Result<PathBuf, OverrideError> {
    if !path.is_absolute() {
        return Err(OverrideError::Relative(path.to_owned()));
    }
    match reject_reason(path, shim) {
        None => Ok(path.to_owned()),
        Some(reason) => Err(OverrideError::Unusable(path.to_owned(), reason)),
    }
}

/// `OPENCLAW_REAL_CODEX` if set, else the PATH search; with what was skipped on the way.
pub fn real_codex(shim: FileId) -> (Result<PathBuf, crate::shim::error::ShimError>, Vec<Skipped>) {
    if let Some(path) = std::env::var_os(REAL_CODEX_VAR).filter(|v| !v.is_empty()) {
        let result = check_override(Path::new(&path), shim).map_err(crate::shim::error::ShimError::Override);
        return (result, Vec::new());
    }
    let Search { found, skipped } = search_path(&std::env::var_os("PATH").unwrap_or_default(), shim);
    match found {
        Some(path) => (Ok(path), skipped),
        None => (Err(crate::shim::error::ShimError::NotFound { skipped: skipped.clone() }), skipped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn exe(dir: &Path, mode: u32) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        let path = dir.join(CODEX_NAME);
        fs::write(&path, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn join(dirs: &[&Path]) -> std::ffi::OsString {
        std::env::join_paths(dirs).unwrap()
    }

    #[test]
    fn skips_shim_and_everything_before_it() {
        let t = tempfile::tempdir().unwrap();
        let (early, shim_dir, real_dir) = (t.path().join("early"), t.path().join("shim"), t.path().join("real"));
        exe(&early, 0o755);
        let shim = FileId::of(&exe(&shim_dir, 0o755)).unwrap();
        let real = exe(&real_dir, 0o755);
        let search = search_path(&join(&[&early, &shim_dir, &real_dir]), shim);
        assert_eq!(search.found, Some(real));
        let reasons: Vec<_> = search.skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(reasons, [SkipReason::AtOrBeforeShim, SkipReason::AtOrBeforeShim]);
    }

    #[test]
    fn uses_last_position_of_shim_listed_twice() {
        let t = tempfile::tempdir().unwrap();
        let (shim_dir, other, real_dir) = (t.path().join("shim"), t.path().join("other"), t.path().join("real"));
        let shim = FileId::of(&exe(&shim_dir, 0o755)).unwrap();
        exe(&other, 0o755);
        let real = exe(&real_dir, 0o755);
        let search = search_path(&join(&[&shim_dir, &other, &shim_dir, &real_dir]), shim);
        assert_eq!(search.found, Some(real));
    }

    #[test]
    fn symlink_to_shim_is_the_shim() {
        let t = tempfile::tempdir().unwrap();
        let shim_path = exe(&t.path().join("shim"), 0o755);
        let shim = FileId::of(&shim_path).unwrap();
        let link_dir = t.path().join("link");
        fs::create_dir_all(&link_dir).unwrap();
        symlink(&shim_path, link_dir.join(CODEX_NAME)).unwrap();
        let real = exe(&t.path().join("real"), 0o755);
        // The shim was reached by absolute path, not through PATH: the symlink must still be skipped.
        let search = search_path(&join(&[&link_dir, real.parent().unwrap()]), shim);
        assert_eq!(search.found, Some(real));
    }

    #[test]
    fn never_uses_empty_or_relative_entries() {
        let t = tempfile::tempdir().unwrap();
        let shim = FileId::of(&exe(&t.path().join("shim"), 0o755)).unwrap();
        let search = search_path(OsStr::new("::.:bin"), shim);
        assert_eq!(search.found, None);
        let reasons: Vec<_> = search.skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(
            reasons,
            [SkipReason::EmptyEntry, SkipReason::EmptyEntry, SkipReason::RelativeEntry, SkipReason::RelativeEntry]
        );
    }

    #[test]
    fn directories_and_unexecutable_files_are_skipped() {
        let t = tempfile::tempdir().unwrap();
        let shim = FileId::of(&exe(&t.path().join("shim"), 0o755)).unwrap();
        let dir_entry = t.path().join("dir");
        fs::create_dir_all(dir_entry.join(CODEX_NAME)).unwrap();
        let noexec = exe(&t.path().join("noexec"), 0o644);
        let real = exe(&t.path().join("real"), 0o755);
        let search = search_path(&join(&[&dir_entry, noexec.parent().unwrap(), real.parent().unwrap()]), shim);
        assert_eq!(search.found, Some(real));
        let reasons: Vec<_> = search.skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(reasons, [SkipReason::NotRegularFile, SkipReason::NotExecutable]);
    }

    #[test]
    fn override_rules() {
        let t = tempfile::tempdir().unwrap();
        let shim_path = exe(&t.path().join("shim"), 0o755);
        let shim = FileId::of(&shim_path).unwrap();
        let real = exe(&t.path().join("real"), 0o755);
        assert_eq!(check_override(&real, shim), Ok(real.clone()));
        assert_eq!(check_override(Path::new("real/codex"), shim), Err(OverrideError::Relative("real/codex".into())));
        assert_eq!(
            check_override(&shim_path, shim),
            Err(OverrideError::Unusable(shim_path.clone(), SkipReason::IsTheShim))
        );
        let missing = t.path().join("missing");
        assert_eq!(check_override(&missing, shim), Err(OverrideError::Unusable(missing.clone(), SkipReason::Missing)));
    }
}
