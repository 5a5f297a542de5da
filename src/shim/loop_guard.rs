//! The loop guard.
//!
//! PATH search alone cannot loop (see `locate`, condition 2), but a "real codex" that is a wrapper
//! script running `exec codex "$@"` through PATH would bring the same process back to the shim
//! forever. The guard notes, in one environment variable, the process (pid and start time, both kept
//! by execve) and the shims it has passed through. A shim that finds itself already listed for the
//! *same process* is looping. Codex's own children are other processes: for them the variable is
//! stale and ignored, so legitimate nesting (the agent running `codex` in a shell) is never refused,
//! and pid reuse cannot make it match because the start time differs.

use std::ffi::{OsStr, OsString};

use crate::shim::locate::FileId;

pub const LOOP_VAR: &str = "OPENCLAW_SHIM_GUARD";
/// More shims than this in one exec chain is a loop even if each is a different file.
const MAX_HOPS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId {
    pub pid: u32,
    /// Clock ticks since boot at which the process started (`/proc/self/stat` field 22).
    pub start_time: u64,
}

impl ProcessId {
    pub fn current() -> ProcessId {
        // One buffer on the stack, read until EOF: `std::fs::read` would fstat and grow its buffer
        // through five reads (the file reports size 0). The line is ~300 bytes, ~1 KB at most.
        let mut stat = [0u8; 2048];
        let mut len = 0;
        if let Ok(mut file) = std::fs::File::open("/proc/self/stat") {
            while let Ok(n @ 1..) = std::io::Read::read(&mut file, &mut stat[len..]) {
                len += n;
            }
        }
        ProcessId { pid: std::process::id(), start_time: start_time_from_stat(&stat[..len]).unwrap_or(0) }
    }
}

/// Field 22 of `/proc/<pid>/stat`; the command name (field 2) may hold spaces and parentheses, so
/// counting starts after its last ')'.
fn start_time_from_stat(stat: &[u8]) -> Option<u64> {
    let after_comm = &stat[stat.iter().rposition(|b| *b == b')')? + 1..];
    let field = std::str::from_utf8(after_comm).ok()?.split_ascii_whitespace().nth(19)?;
    field.parse().ok()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopDetected {
    pub hops: usize,
}

/// Returns the guard value to pass on, or the loop this call would close.
pub fn next_value(current: Option<&OsStr>, me: ProcessId, shim: FileId) -> Result<OsString, LoopDetected> {
    let prefix = format!("{}.{}:", me.pid, me.start_time);
    let mut chain: Vec<String> = current
        .and_then(OsStr::to_str)
        .and_then(|value| value.strip_prefix(&prefix))
        .map(|ids| ids.split(',').filter(|id| !id.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let mine = format!("{}.{}", shim.dev, shim.ino);
    if chain.contains(&mine) || chain.len() >= MAX_HOPS {
        return Err(LoopDetected { hops: chain.len() });
    }
    chain.push(mine);
    Ok(OsString::from(format!("{prefix}{}", chain.join(","))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: ProcessId = ProcessId { pid: 42, start_time: 1000 };
    const SHIM_A: FileId = FileId { dev: 1, ino: 10 };
    const SHIM_B: FileId = FileId { dev: 1, ino: 11 };

    #[test]
    fn first_pass_starts_a_chain() {
        assert_eq!(next_value(None, ME, SHIM_A), Ok("42.1000:1.10".into()));
    }

    #[test]
    fn copies_in_one_process_chain_up() {
        let first = next_value(None, ME, SHIM_A).unwrap();
        assert_eq!(next_value(Some(&first), ME, SHIM_B), Ok("42.1000:1.10,1.11".into()));
    }

    #[test]
    fn same_shim_twice_in_one_process_is_a_loop() {
        let first = next_value(None, ME, SHIM_A).unwrap();
        let second = next_value(Some(&first), ME, SHIM_B).unwrap();
        assert_eq!(next_value(Some(&second), ME, SHIM_A), Err(LoopDetected { hops: 2 }));
    }

    #[test]
    fn another_process_ignores_the_inherited_value() {
        let parent = next_value(None, ME, SHIM_A).unwrap();
        let child = ProcessId { pid: 43, start_time: 1000 };
        assert_eq!(next_value(Some(&parent), child, SHIM_A), Ok("43.1000:1.10".into()));
        // pid reuse: same pid, later start.
        let reused = ProcessId { pid: 42, start_time: 2000 };
        assert_eq!(next_value(Some(&parent), reused, SHIM_A), Ok("42.2000:1.10".into()));
    }

    #[test]
    fn garbage_is_ignored() {
        assert_eq!(next_value(Some(OsStr::new("nonsense")), ME, SHIM_A), Ok("42.1000:1.10".into()));
    }

    #[test]
    fn too_many_hops_is_a_loop() {
        let mut value = None;
        for ino in 0..MAX_HOPS as u64 {
            value = Some(next_value(value.as_deref(), ME, FileId { dev: 9, ino }).unwrap());
        }
        assert!(next_value(value.as_deref(), ME, SHIM_A).is_err());
    }

    #[test]
    fn parses_start_time_after_odd_command_names() {
        let stat = b"42 (co) dex (x)) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123456 1000 100";
        assert_eq!(start_time_from_stat(stat), Some(123456));
        let own = std::fs::read("/proc/self/stat").unwrap();
        assert!(start_time_from_stat(&own).is_some());
    }
}
