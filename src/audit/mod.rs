//! The audit trail: one structured record per override attempt, refusal or error, to journald (and
//! as a counter to StatsD), shared by every bin of this package.
//!
//! The shim runs before every codex call, so reporting must never hold codex up: the caller waits
//! for journald and StatsD at most `DEADLINE`. journald gets one datagram per record on a
//! non-blocking socket (`journald`), so a frozen journald with a full queue costs the deadline, not
//! a hang; a StatsD host given by name is resolved on a helper thread (DNS may stall) that is
//! abandoned at the deadline — exec ends it. A record journald did not take in time (absent, stale
//! socket, frozen) is written to stderr as one JSON line instead, with the same field names. A call
//! with nothing to report touches none of this.

pub mod journald;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cadence::prelude::*;
use cadence::{StatsdClient, UdpMetricSink};
use serde::Serialize;

use journald::JournaldSocket;

/// `SYSLOG_IDENTIFIER` of every record: `journalctl -t openclaw-codex`.
pub const SYSLOG_IDENTIFIER: &str = "openclaw-codex";
/// How long a caller waits for journald and StatsD before going on without them.
pub const DEADLINE: Duration = Duration::from_millis(25);
/// `0` sends records to stderr only, never to journald (also keeps tests off a host's journal).
pub const JOURNALD_VAR: &str = "OPENCLAW_AUDIT_JOURNALD";
pub const STATSD_HOST_VAR: &str = "STATSD_HOST";
pub const STATSD_PORT_VAR: &str = "STATSD_PORT";
pub const STATSD_DEFAULT_PORT: u16 = 8125;
/// Metric prefix; names are `openclaw.model_lock.override` and `openclaw.model_lock.error`.
pub const METRIC_PREFIX: &str = "openclaw";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A caller's model choice was replaced by the pinned model (force mode).
    Forced,
    /// A caller's model choice made the call fail (reject mode).
    Rejected,
    /// A subcommand argv cannot pin was refused.
    RefusedSubcommand,
    /// The lock's own configuration is invalid.
    PolicyError,
    /// No real codex could be found or run.
    CodexUnavailable,
    /// The container passed its start-up checks (entrypoint).
    Started,
    /// A start-up check failed; the server was not started (entrypoint).
    StartupFailed,
    /// OpenClaw's Codex auth volume was prepared and its login validated (bootstrap).
    Bootstrapped,
    /// The bootstrap stopped; its message says what the destination volume holds (bootstrap).
    BootstrapFailed,
    /// A ChatGPT login was copied: two volumes now hold one rotating refresh token (bootstrap).
    SharedRefreshToken,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Forced => "forced",
            Action::Rejected => "rejected",
            Action::RefusedSubcommand => "refused-subcommand",
            Action::PolicyError => "policy-error",
            Action::CodexUnavailable => "codex-unavailable",
            Action::Started => "started",
            Action::StartupFailed => "startup-failed",
            Action::Bootstrapped => "bootstrapped",
            Action::BootstrapFailed => "bootstrap-failed",
            Action::SharedRefreshToken => "shared-refresh-token",
        }
    }

    /// journald priority: NOTICE for a start, WARNING for what went ahead, ERR for what was stopped.
    pub fn priority(self) -> u8 {
        match self {
            Action::Started | Action::Bootstrapped => 5,
            Action::Forced | Action::SharedRefreshToken => 4,
            _ => 3,
        }
    }

    fn metric(self) -> &'static str {
        match self {
            Action::Forced | Action::Rejected | Action::RefusedSubcommand => "model_lock.override",
            Action::PolicyError | Action::CodexUnavailable | Action::StartupFailed => "model_lock.error",
            Action::Started => "model_lock.started",
            Action::Bootstrapped => "bootstrap.done",
            Action::BootstrapFailed => "bootstrap.error",
            Action::SharedRefreshToken => "bootstrap.warning",
        }
    }
}

/// One audit record. Field names are the journald field names (`journalctl -t openclaw-codex
/// OPENCLAW_ACTION=rejected`), also used for the stderr JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    #[serde(rename = "MESSAGE")]
    pub message: String,
    #[serde(rename = "OPENCLAW_ACTION")]
    pub action: Action,
    /// Which bin reported it: `shim`, `gate`, `entrypoint`, `bootstrap`.
    #[serde(rename = "OPENCLAW_SOURCE")]
    pub source: &'static str,
    #[serde(rename = "OPENCLAW_PINNED_MODEL", skip_serializing_if = "Option::is_none")]
    pub pinned_model: Option<String>,
    #[serde(rename = "OPENCLAW_LOCK_MODE", skip_serializing_if = "Option::is_none")]
    pub lock_mode: Option<&'static str>,
    /// The model, key=value, profile or endpoint asked for.
    #[serde(rename = "OPENCLAW_ATTEMPTED", skip_serializing_if = "Option::is_none")]
    pub attempted: Option<String>,
    /// How it was asked: `--model=`, `-m`, `-c model_provider`, `-p`.
    #[serde(rename = "OPENCLAW_SYNTAX", skip_serializing_if = "Option::is_none")]
    pub syntax: Option<String>,
    /// The codex subcommand path (`exec resume`), empty for the interactive root.
    #[serde(rename = "OPENCLAW_SUBCOMMAND", skip_serializing_if = "Option::is_none")]
    pub subcommand: Option<String>,
    /// The HTTP path of a request the model gate judged (`/v1/responses`).
    #[serde(rename = "OPENCLAW_REQUEST_PATH", skip_serializing_if = "Option::is_none")]
    pub request_path: Option<String>,
}

impl Event {
    pub fn new(source: &'static str, action: Action, message: impl Into<String>) -> Event {
        Event {
            message: message.into(),
            action,
            source,
            pinned_model: None,
            lock_mode: None,
            attempted: None,
            syntax: None,
            subcommand: None,
            request_path: None,
        }
    }

    /// Every field of the record: the journald fields above plus identifier, priority, pid and uid.
    fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let serde_json::Value::Object(mut fields) = serde_json::to_value(self).expect("events serialise") else {
            unreachable!("a struct serialises to an object")
        };
        fields.insert("SYSLOG_IDENTIFIER".into(), SYSLOG_IDENTIFIER.into());
        fields.insert("PRIORITY".into(), self.action.priority().into());
        fields.insert("OPENCLAW_PID".into(), std::process::id().into());
        fields.insert("OPENCLAW_UID".into(), nix::unistd::getuid().as_raw().into());
        fields
    }

    /// The stderr form: one JSON object with the journald fields, pid and uid included.
    pub fn json_line(&self) -> String {
        serde_json::Value::Object(self.fields()).to_string()
    }

    /// The journald form: the same fields, in journald's native protocol.
    pub fn journald_datagram(&self) -> Vec<u8> {
        let fields = self.fields();
        let texts: Vec<(&str, String)> = fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
            .collect();
        journald::encode(texts.iter().map(|(name, text)| (*name, text.as_str())))
    }
}

/// Reports `events` within `DEADLINE`; returns once journald has them, or writes them to stderr.
pub fn report(events: &[Event]) {
    if events.is_empty() {
        return;
    }
    let deadline = Instant::now() + DEADLINE;
    // A host name needs DNS, which may stall: only that runs on a helper thread.
    let statsd = statsd_target().map(|(host, port)| match host.parse::<IpAddr>() {
        Ok(ip) => {
            statsd_send((ip, port), events);
            None
        }
        Err(_) => {
            let events = events.to_vec();
            in_background(move || (host.as_str(), port).to_socket_addrs().ok()?.next().map(|t| statsd_send(t, &events)))
        }
    });
    let journal = std::env::var_os(JOURNALD_VAR).is_none_or(|v| v != "0").then(JournaldSocket::connect).flatten();
    let mut stderr = std::io::stderr().lock();
    for event in events {
        let sent = journal.as_ref().is_some_and(|j| j.send(&event.journald_datagram(), deadline).is_ok());
        if !sent {
            let _ = writeln!(stderr, "{}", event.json_line());
        }
    }
    if let Some(Some(done)) = statsd {
        let _ = done.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

fn statsd_target() -> Option<(String, u16)> {
    let host = std::env::var(STATSD_HOST_VAR).ok()?.trim().to_owned();
    let port = std::env::var(STATSD_PORT_VAR).ok().and_then(|p| p.trim().parse().ok());
    (!host.is_empty()).then_some((host, port.unwrap_or(STATSD_DEFAULT_PORT)))
}

/// Runs `work` on a helper thread; the receiver gets its result. `None` if no thread can be made.
fn in_background<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<mpsc::Receiver<T>> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().spawn(move || {
        let _ = tx.send(work());
    });
    spawned.ok().map(|_| rx)
}

/// StatsD tag values may not hold the protocol's separators.
pub fn sanitise_tag(value: &str) -> String {
    value.chars().map(|c| if matches!(c, '|' | ',' | '#' | ':' | '@') || c.is_whitespace() { '_' } else { c }).collect()
}

/// One counter per event, `openclaw.model_lock.override:1|c|#action:forced,mode:force,source:shim`.
fn statsd_send(target: impl Into<SocketAddr>, events: &[Event]) -> Option<()> {
    let target = target.into();
    let local = if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let socket = UdpSocket::bind(local).ok()?;
    socket.set_nonblocking(true).ok()?;
    let client = StatsdClient::from_sink(METRIC_PREFIX, UdpMetricSink::from(target, socket).ok()?);
    for e in events {
        let mut metric = client.count_with_tags(e.action.metric(), 1);
        let tags = [("action", Some(e.action.as_str())), ("mode", e.lock_mode), ("source", Some(e.source))];
        let values: Vec<(&str, String)> = tags.iter().filter_map(|(k, v)| v.map(|v| (*k, sanitise_tag(v)))).collect();
        for (key, value) in &values {
            metric = metric.with_tag(key, value);
        }
        let _ = metric.try_send();
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_has_the_journald_fields() {
        let mut event = Event::new("shim", Action::Forced, "forced");
        event.pinned_model = Some("gpt-pin".into());
        event.lock_mode = Some("force");
        event.attempted = Some("gpt-4o".into());
        event.syntax = Some("--model=".into());
        event.subcommand = Some("exec".into());
        let value: serde_json::Value = serde_json::from_str(&event.json_line()).unwrap();
        assert_eq!(value["SYSLOG_IDENTIFIER"], SYSLOG_IDENTIFIER);
        assert_eq!(value["PRIORITY"], 4);
        assert_eq!(value["MESSAGE"], "forced");
        assert_eq!(value["OPENCLAW_ACTION"], "forced");
        assert_eq!(value["OPENCLAW_SOURCE"], "shim");
        assert_eq!(value["OPENCLAW_PINNED_MODEL"], "gpt-pin");
        assert_eq!(value["OPENCLAW_LOCK_MODE"], "force");
        assert_eq!(value["OPENCLAW_ATTEMPTED"], "gpt-4o");
        assert_eq!(value["OPENCLAW_SYNTAX"], "--model=");
        assert_eq!(value["OPENCLAW_SUBCOMMAND"], "exec");
        assert_eq!(value["OPENCLAW_PID"], std::process::id());
        assert!(value["OPENCLAW_UID"].is_u64());
        assert!(!event.json_line().contains('\n'));
    }

    #[test]
    fn absent_fields_are_left_out() {
        let value: serde_json::Value =
            serde_json::from_str(&Event::new("shim", Action::PolicyError, "bad").json_line()).unwrap();
        assert_eq!(value["PRIORITY"], 3);
        assert!(value.get("OPENCLAW_ATTEMPTED").is_none());
    }

    #[test]
    fn tags_lose_protocol_separators() {
        assert_eq!(sanitise_tag("a|b,c#d:e@f g"), "a_b_c_d_e_f_g");
        assert_eq!(sanitise_tag("gpt-5.3-codex"), "gpt-5.3-codex");
    }
}
