//! The Docker and Compose CLIs as the bootstrap calls them: argv only (no shell, no string built
//! from a value), output captured (and streamed with `--verbose`), probes bounded by a timeout.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use crate::ops::process::{self, Tee};
pub use crate::ops::process::{tail, Ran, RunError};

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
        let tee = Tee { stdout: self.verbose && stream_stdout, stderr: self.verbose };
        process::run(self.command(&args), timeout, tee)
    }

    /// Runs `docker ARGS` on our terminal (an interactive login).
    pub fn interactive<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<ExitStatus, RunError> {
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_owned()).collect();
        let mut child = process::spawn(&mut self.command(&args))?;
        child.wait().map_err(|error| RunError::Spawn { program: "docker".into(), error })
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
}
