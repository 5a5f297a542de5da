//! Running a program from the companion tools: argv only (no shell), stdin closed, stdout and
//! stderr captured (and copied to our stderr when asked), and killed at a deadline when one is
//! given. The entrypoint's checks, the bootstrap's Docker calls and the image builder's checks all
//! run children this one way.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub enum RunError {
    /// The program is not on PATH (or not at the path given).
    NotFound { program: OsString },
    /// It could not be started, or waited for, for another reason.
    Spawn { program: OsString, error: io::Error },
    /// It did not finish in time and was killed.
    Timeout { program: OsString, after: Duration },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NotFound { program } => write!(f, "no `{}` on PATH", program.to_string_lossy()),
            RunError::Spawn { program, error } => write!(f, "cannot run `{}`: {error}", program.to_string_lossy()),
            RunError::Timeout { program, after } => {
                write!(f, "`{}` did not answer within {}s", program.to_string_lossy(), after.as_secs())
            }
        }
    }
}

impl std::error::Error for RunError {}

/// A finished program.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The last lines of stderr, for an error message (`(no output)` when empty).
    pub fn stderr_tail(&self) -> String {
        tail(&self.stderr)
    }
}

/// At most the last 8 non-empty lines of `bytes`, joined with ` | `.
pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return "(no output)".into();
    }
    lines[lines.len().saturating_sub(8)..].join(" | ")
}

/// Which captured streams are also copied to our stderr as they arrive (verbose modes).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tee {
    pub stdout: bool,
    pub stderr: bool,
}

/// Starts `command` as is (inheriting our stdio unless the caller set it).
pub fn spawn(command: &mut Command) -> Result<Child, RunError> {
    let program = command.get_program().to_owned();
    command.spawn().map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => RunError::NotFound { program },
        _ => RunError::Spawn { program, error },
    })
}

/// Runs `command` with stdin closed and its output captured; killed after `timeout`, if given.
pub fn run(mut command: Command, timeout: Option<Duration>, tee: Tee) -> Result<Ran, RunError> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = spawn(&mut command)?;
    let stdout = drain(child.stdout.take().expect("piped"), tee.stdout);
    let stderr = drain(child.stderr.take().expect("piped"), tee.stderr);
    let status = wait(&mut child, command.get_program().to_owned(), timeout)?;
    Ok(Ran { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() })
}

fn drain(mut from: impl Read + Send + 'static, tee: bool) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tee {
                        let mut err = io::stderr().lock();
                        let _ = err.write_all(&buf[..n]);
                        let _ = err.flush();
                    }
                    all.extend_from_slice(&buf[..n]);
                }
            }
        }
        all
    })
}

fn wait(child: &mut Child, program: OsString, timeout: Option<Duration>) -> Result<ExitStatus, RunError> {
    let Some(after) = timeout else {
        return child.wait().map_err(|error| RunError::Spawn { program, error });
    };
    let deadline = Instant::now() + after;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(error) => return Err(RunError::Spawn { program, error }),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Timeout { program, after });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_both_streams_and_the_status() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let ran = run(command, Some(Duration::from_secs(20)), Tee::default()).unwrap();
        assert_eq!(
            (ran.status.code(), ran.stdout_text().as_str(), ran.stderr_tail().as_str()),
            (Some(3), "out\n", "err")
        );
    }

    #[test]
    fn kills_at_the_deadline() {
        let mut command = Command::new("sleep");
        command.arg("30");
        let started = Instant::now();
        let error = run(command, Some(Duration::from_millis(200)), Tee::default()).unwrap_err();
        assert!(matches!(error, RunError::Timeout { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(20), "killed, not waited for");
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let error = run(Command::new("/nonexistent/openclaw-test"), None, Tee::default()).unwrap_err();
        assert!(matches!(error, RunError::NotFound { .. }), "{error}");
    }
}
