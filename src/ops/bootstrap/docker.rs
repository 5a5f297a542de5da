//! The Docker and Compose CLIs as the bootstrap calls them: argv only (no shell, no string built
//! from a value), output captured (and streamed with `--verbose`), probes bounded by a timeout.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a read-only probe may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// The Docker CLI on PATH, with Compose's global options from our command line.
#[derive(Debug, Clone, Default)]
pub struct Docker {
    /// Print each command and stream what it prints (stderr).
    pub verbose: bool,
    /// `--project-directory`, `-f`, `-p` as given to us, passed to every `docker compose`.
    pub compose_globals: Vec<OsString>,
}

#[derive(Debug)]
pub enum RunError {
    /// `docker` is not on PATH.
    NotFound,
    /// `docker` could not be started for another reason.
    Spawn(io::Error),
    /// The command did not finish in time and was killed.
    Timeout(Duration),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NotFound => write!(f, "no `docker` on PATH"),
            RunError::Spawn(e) => write!(f, "cannot run `docker`: {e}"),
            RunError::Timeout(t) => write!(f, "`docker` did not answer within {}s", t.as_secs()),
        }
    }
}

/// A finished command.
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

/// `arg` as a reader can paste it into a POSIX shell (display only: nothing is ever run this way).
pub fn shell_quote(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c)) {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

pub fn display(args: &[OsString]) -> String {
    std::iter::once("docker".to_owned()).chain(args.iter().map(|a| shell_quote(a))).collect::<Vec<_>>().join(" ")
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

fn wait(child: &mut Child, timeout: Option<Duration>) -> Result<ExitStatus, RunError> {
    let Some(timeout) = timeout else {
        return child.wait().map_err(RunError::Spawn);
    };
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(RunError::Spawn)? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Timeout(timeout));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Docker {
    /// `docker compose GLOBALS ARGS...`
    pub fn compose_args<S: AsRef<OsStr>>(&self, args: &[S]) -> Vec<OsString> {
        let mut all = vec![OsString::from("compose")];
        all.extend(self.compose_globals.iter().cloned());
        all.extend(args.iter().map(|a| a.as_ref().to_owned()));
        all
    }

    fn command(&self, args: &[OsString]) -> Command {
        if self.verbose {
            let _ = writeln!(io::stderr(), "+ {}", display(args));
        }
        let mut command = Command::new("docker");
        command.args(args);
        command
    }

    fn spawn(command: &mut Command) -> Result<Child, RunError> {
        command.spawn().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => RunError::NotFound,
            _ => RunError::Spawn(e),
        })
    }

    /// A probe: `docker ARGS` with stdin closed and output captured, killed after `timeout`. In
    /// verbose mode its stderr is streamed (its stdout is what the caller parses).
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S], timeout: Option<Duration>) -> Result<Ran, RunError> {
        self.exec(args, timeout, false)
    }

    /// A step that changes something (build, helper, validation): like `run`, without a timeout
    /// (killing it midway would be worse), stdout streamed as well in verbose mode.
    pub fn run_streamed<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Ran, RunError> {
        self.exec(args, None, true)
    }

    fn exec<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        timeout: Option<Duration>,
        stream_stdout: bool,
    ) -> Result<Ran, RunError> {
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_owned()).collect();
        let mut command = self.command(&args);
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = Self::spawn(&mut command)?;
        let stdout = drain(child.stdout.take().expect("piped"), self.verbose && stream_stdout);
        let stderr = drain(child.stderr.take().expect("piped"), self.verbose);
        let status = wait(&mut child, timeout)?;
        Ok(Ran { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() })
    }

    /// Runs `docker ARGS` on our terminal (an interactive login).
    pub fn interactive<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<ExitStatus, RunError> {
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_owned()).collect();
        let mut child = Self::spawn(&mut self.command(&args))?;
        child.wait().map_err(RunError::Spawn)
    }
}

/// The major version of `docker compose version --short` (`2.29.7`, `v2.29.7`, `5.6.1`).
pub fn compose_major(short: &str) -> Option<u32> {
    short.trim().trim_start_matches('v').split('.').next()?.parse().ok()
}

/// A container that uses a volume, from `docker ps --format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    pub state: String,
    /// The value of our role label (`helper`, `validation`), empty for other containers.
    pub role: String,
}

impl User {
    /// Whether it may be writing to its volumes now. Unknown states count as running.
    pub fn running(&self) -> bool {
        !matches!(self.state.as_str(), "created" | "exited" | "dead")
    }

    pub fn describe(&self) -> String {
        format!("{} ({}, {})", self.name, &self.id[..self.id.len().min(12)], self.state)
    }
}

/// The `docker ps` format `parse_users` reads.
pub fn users_format(role_label: &str) -> String {
    format!("{{{{.ID}}}}\t{{{{.Names}}}}\t{{{{.State}}}}\t{{{{.Label \"{role_label}\"}}}}")
}

/// Parses `docker ps --format users_format(..)` output; a malformed line is an error (fail closed).
pub fn parse_users(text: &str) -> Result<Vec<User>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [id, name, state, role] if !id.is_empty() && !state.is_empty() => Ok(User {
                    id: (*id).to_owned(),
                    name: (*name).to_owned(),
                    state: (*state).to_owned(),
                    role: role.trim().to_owned(),
                }),
                _ => Err(format!("unexpected `docker ps` line {line:?}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_versions() {
        assert_eq!(compose_major("5.6.1\n"), Some(5));
        assert_eq!(compose_major("v2.29.7"), Some(2));
        assert_eq!(compose_major("1.29.2"), Some(1));
        assert_eq!(compose_major("garbage"), None);
    }

    #[test]
    fn users_are_parsed_and_bad_lines_refused() {
        let users = parse_users("abc\tworker\trunning\t\ndef\tcopier\texited\thelper\n").unwrap();
        assert_eq!(users.len(), 2);
        assert!(users[0].running());
        assert!(!users[1].running());
        assert_eq!(users[1].role, "helper");
        assert!(User { state: "paused".into(), ..users[1].clone() }.running());
        assert!(User { state: "something-new".into(), ..users[1].clone() }.running());
        assert!(parse_users("abc running\n").is_err());
        assert_eq!(parse_users("\n").unwrap(), []);
        assert_eq!(users_format("x.y"), "{{.ID}}\t{{.Names}}\t{{.State}}\t{{.Label \"x.y\"}}");
    }

    #[test]
    fn quoting_for_display() {
        assert_eq!(shell_quote(OsStr::new("a-b_c/d:e=f")), "a-b_c/d:e=f");
        assert_eq!(shell_quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_quote(OsStr::new("")), "''");
        assert_eq!(tail(b"a\n\n b \n"), "a | b");
        assert_eq!(tail(b""), "(no output)");
    }

    #[test]
    fn timeouts_kill() {
        // `sleep` stands in for a docker that hangs.
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let started = Instant::now();
        assert!(matches!(wait(&mut child, Some(Duration::from_millis(100))), Err(RunError::Timeout(_))));
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
