//! `codex app-server` behind the guard: codex runs as the shim's child and the shim relays stdio
//! line by line, judging each client line with `app_server::judge_line`.
//!
//! Spawn, not exec, is the exception here, so the relay gives back what exec would have kept:
//! - every line arrives whole, in order, and byte-exact unless the guard rewrote it; server lines
//!   are copied untouched, and a refusal the shim answers itself is never written inside one;
//! - EOF on stdin closes codex's stdin (codex exits 0 on it); codex's exit ends the relay once its
//!   last output is written;
//! - SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the shim are sent on to codex; the shim waits for
//!   them and for SIGCHLD in `sigwait` (blocked, never busy);
//! - codex's exit status becomes the shim's, and a death by signal is re-raised on the shim.
//!
//! When a review the caller asked for cannot run (`auto_review` without the model gate), the
//! guard does not hand the escalations to the client instead (a client may approve everything):
//! from then on the relay answers every approval request codex sends with a denial itself
//! (`app_server::APPROVAL_REQUESTS`) and reports why; the client never sees those requests.
//!
//! A client that closes its end makes the shim's writes fail (SIGPIPE is ignored in the relay; codex
//! gets the caller's disposition back): the relay stops reading codex, which then sees its own
//! writes fail, and codex's exit ends the shim as always.

use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{self, SigHandler, SigSet, SigmaskHow, Signal};
use nix::unistd::Pid;

use crate::audit::Action;
use crate::pin::app_server::{self, Context, Verdict};
use crate::pin::attempt::{Attempt, Level};
use crate::pin::policy::Policy;

/// Signals the shim sends on to codex.
pub const FORWARDED: &[Signal] = &[Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT];
/// How long the relay waits for codex's last output after codex has exited (a grandchild that
/// inherited codex's stdout could hold it open forever).
const DRAIN: Duration = Duration::from_secs(2);
const BUFFER: usize = 1 << 16;

/// Reports the attempts of one client message: forced (rewritten) or rejected (refused).
pub type Report = fn(Action, &Policy, &[Attempt]);

/// What codex to start and how.
pub struct Child<'a> {
    pub program: &'a Path,
    pub argv0: &'a OsStr,
    pub args: &'a [OsString],
}

/// Runs codex behind the guard until it exits; returns its exit code, or dies by its signal.
pub fn run(child: Child, policy: Policy, report: Report) -> io::Result<u8> {
    let mut waited = SigSet::empty();
    for signal in FORWARDED.iter().chain(&[Signal::SIGCHLD]) {
        waited.add(*signal);
    }
    // Blocked before any thread starts, so every thread inherits the block and only `wait` sees them.
    let mut callers_mask = SigSet::empty();
    signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&waited), Some(&mut callers_mask))?;
    // SAFETY: installs SIG_IGN, no handler code runs.
    let callers_sigpipe = unsafe { signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) }?;

    let mut command = Command::new(child.program);
    command.arg0(child.argv0).args(child.args).stdin(Stdio::piped()).stdout(Stdio::piped());
    // Codex starts with the caller's signal mask and SIGPIPE disposition, as it would without the
    // shim (a child inherits both, and std does not reset them on every platform).
    // SAFETY: sigprocmask and sigaction are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&callers_mask), None)?;
            signal::signal(Signal::SIGPIPE, callers_sigpipe)?;
            Ok(())
        });
    }
    let mut codex = command.spawn()?;
    let (to_codex, from_codex) = (codex.stdin.take().expect("piped"), codex.stdout.take().expect("piped"));
    // Both relay threads write to codex (the client's lines, the relay's denials): line by line
    // under one lock.
    let to_codex = Arc::new(Mutex::new(Some(to_codex)));
    let shared = Shared {
        to_codex,
        deny_approvals: Arc::new(AtomicBool::new(false)),
        context: Context { gate_deployed: crate::gate::requirements::deployed() },
        policy,
        report,
    };
    let downstream_shared = shared.clone();
    let (drained, drained_rx) = mpsc::channel();
    let relaying =
        std::thread::Builder::new().name("client-to-codex".into()).spawn(move || upstream(&shared)).and_then(|_| {
            std::thread::Builder::new().name("codex-to-client".into()).spawn(move || {
                downstream(from_codex, &downstream_shared);
                let _ = drained.send(());
            })
        });
    if let Err(error) = relaying {
        // No relay, no codex: nothing may run unguarded.
        let _ = codex.kill();
        let _ = codex.wait();
        return Err(error);
    }

    let pid = Pid::from_raw(codex.id() as i32);
    let status = loop {
        match waited.wait() {
            Ok(Signal::SIGCHLD) => {
                if let Some(status) = codex.try_wait()? {
                    break status;
                }
            }
            Ok(forwarded) => {
                let _ = signal::kill(pid, forwarded);
            }
            Err(_) => {}
        }
    };
    let _ = drained_rx.recv_timeout(DRAIN);
    let _ = io::stdout().lock().flush();
    Ok(exit_code_or_die(status))
}

/// What both relay threads share.
#[derive(Clone)]
struct Shared {
    /// Codex's stdin; `None` once the client's EOF closed it.
    to_codex: Arc<Mutex<Option<ChildStdin>>>,
    /// Set once a review the caller asked for could not run: approval requests are denied here.
    deny_approvals: Arc<AtomicBool>,
    context: Context,
    policy: Policy,
    report: Report,
}

impl Shared {
    fn write_to_codex(&self, line: &[u8]) -> io::Result<()> {
        let mut to_codex = self.to_codex.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match to_codex.as_mut() {
            Some(stdin) => stdin.write_all(line),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
}

/// Client to codex: each line judged by the guard.
fn upstream(shared: &Shared) {
    let (policy, report) = (&shared.policy, shared.report);
    let mut lines = Lines::new(io::stdin());
    while let Some(line) = lines.next_line() {
        let sent = match app_server::judge_line_in(line, policy, shared.context) {
            Verdict::Forward => shared.write_to_codex(line),
            Verdict::Rewrite { line, forced, deny_approvals } => {
                if !forced.is_empty() {
                    report(Action::Forced, policy, &forced);
                }
                if deny_approvals && !shared.deny_approvals.swap(true, Ordering::SeqCst) {
                    eprintln!("{}", denial_notice(&policy.model));
                }
                shared.write_to_codex(&line)
            }
            Verdict::Refuse { reply, attempts } => {
                report(Action::Rejected, policy, &attempts);
                if let Some(reply) = reply {
                    let _ = write_line_to_client(&reply);
                }
                Ok(())
            }
        };
        if sent.is_err() {
            break; // codex is gone: its exit ends the relay
        }
    }
    // Closing codex's stdin: codex exits at EOF, as it would on the client's.
    let _ = shared.to_codex.lock().map(|mut stdin| stdin.take());
}

/// Why escalations are denied: said once on stderr; each denial also leaves an audit record.
fn denial_notice(model: &str) -> String {
    format!(
        "{}: warning: the client asked for automatic approval review, which without the OpenClaw model gate would run on a model other than {model:?}; every escalation is denied in this session instead of being handed to the client",
        crate::shim::error::PREFIX
    )
}

/// Codex to client, line by line so that a refusal never lands inside one of codex's lines.
fn downstream(from_codex: impl Read, shared: &Shared) {
    let mut lines = Lines::new(from_codex);
    while let Some(line) = lines.next_line() {
        if shared.deny_approvals.load(Ordering::SeqCst) {
            if let Some((denial, attempt)) = approval_denial(line) {
                (shared.report)(Action::Rejected, &shared.policy, &[attempt]);
                let _ = shared.write_to_codex(&denial);
                continue;
            }
        }
        if write_line_to_client(line).is_err() {
            break; // the client is gone; codex will see its own writes fail
        }
    }
}

/// The relay's own answer to a server line that asks for an approval, with its audit attempt.
fn approval_denial(line: &[u8]) -> Option<(Vec<u8>, Attempt)> {
    // Only approval requests name "Approval"; every other line is passed without parsing.
    if !line.windows(8).any(|w| w == b"Approval") {
        return None;
    }
    let message: serde_json::Value = serde_json::from_slice(line).ok()?;
    let method = message.get("method")?.as_str()?;
    let id = message.get("id")?;
    let (_, result) = app_server::APPROVAL_REQUESTS.iter().find(|(m, _)| *m == method)?;
    let result: serde_json::Value = serde_json::from_str(result).expect("the table holds JSON");
    let mut denial = serde_json::to_vec(&serde_json::json!({"id": id, "result": result})).expect("JSON");
    denial.push(b'\n');
    let attempt = Attempt::new(
        format!("app-server {method}"),
        "escalation denied: the automatic review asked for cannot run on the pinned model without the model gate",
        Level::AppServer,
    );
    Some((denial, attempt))
}

/// One whole line to stdout, under stdout's lock, flushed before the lock is released.
fn write_line_to_client(line: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(line)?;
    stdout.flush()
}

/// Lines of a byte stream, newline included; a last line without one is still a line.
struct Lines<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
}

impl<R: Read> Lines<R> {
    fn new(reader: R) -> Self {
        Lines { reader: BufReader::with_capacity(BUFFER, reader), line: Vec::with_capacity(BUFFER) }
    }

    fn next_line(&mut self) -> Option<&[u8]> {
        self.line.clear();
        loop {
            match self.reader.read_until(b'\n', &mut self.line) {
                Ok(0) if self.line.is_empty() => return None,
                Ok(_) => return Some(&self.line),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if self.line.is_empty() => return None,
                Err(_) => return Some(&self.line),
            }
        }
    }
}

/// The guard's refusing form: reject mode refused `codex app-server` at launch, so no codex runs;
/// every request (a line with an `id` and a `method`) is answered with a JSON-RPC error carrying
/// `refusal` — `initialize` first, which is where a client such as the Python SDK reports it —
/// until the client's EOF. Returns `exit::guard::REFUSED`.
pub fn refuse_all(refusal: &str) -> u8 {
    // A client gone away ends the loop with the refusal's code, not a death by SIGPIPE.
    // SAFETY: installs SIG_IGN, no handler code runs.
    let _ = unsafe { signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    let mut lines = Lines::new(io::stdin());
    while let Some(line) = lines.next_line() {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        if let (Some(id), Some(_)) = (message.get("id"), message.get("method")) {
            let reply = serde_json::json!({"error": {"code": app_server::REFUSED_CODE, "message": refusal}, "id": id});
            let mut reply = serde_json::to_vec(&reply).expect("JSON");
            reply.push(b'\n');
            if write_line_to_client(&reply).is_err() {
                break;
            }
        }
    }
    crate::exit::guard::REFUSED.value
}

/// Codex's exit code, or the shim dies by the signal that killed codex (a parent sees the same).
fn exit_code_or_die(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return code as u8;
    }
    let number = status.signal().unwrap_or(Signal::SIGKILL as i32);
    if let Ok(sig) = Signal::try_from(number) {
        // SAFETY: restores the default disposition; no handler code runs.
        let _ = unsafe { signal::signal(sig, SigHandler::SigDfl) };
        let mut only = SigSet::empty();
        only.add(sig);
        let _ = signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&only), None);
        let _ = signal::raise(sig);
    }
    // Still alive (a signal whose default is to continue): the shell's convention.
    128u8.wrapping_add(number as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Lines::new(bytes);
        let mut out = Vec::new();
        while let Some(line) = lines.next_line() {
            out.push(line.to_vec());
        }
        out
    }

    #[test]
    fn lines_keep_their_newlines_and_a_last_partial_line() {
        assert_eq!(lines_of(b"a\nb\r\n\nc"), [&b"a\n"[..], b"b\r\n", b"\n", b"c"]);
        assert!(lines_of(b"").is_empty());
    }

    #[test]
    fn lines_longer_than_the_buffer_stay_whole() {
        let long = vec![b'x'; BUFFER * 3 + 5];
        let mut input = long.clone();
        input.push(b'\n');
        input.extend_from_slice(b"next\n");
        let lines = lines_of(&input);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), long.len() + 1);
    }

    #[test]
    fn exit_codes_pass_through() {
        assert_eq!(exit_code_or_die(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code_or_die(ExitStatus::from_raw(0)), 0);
    }
}
