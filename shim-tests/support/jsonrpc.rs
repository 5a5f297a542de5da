//! A JSON-RPC client on a `codex app-server` process's stdio (the app-server guard's suite and
//! OpenClaw's harness calls).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

/// How long a reply may take (the real codex against the mock).
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// A JSON-RPC client on a `codex app-server` process's stdio.
pub struct Client {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub lines: mpsc::Receiver<Vec<u8>>,
    pub seen: Vec<Value>,
}

impl Client {
    pub fn start(mut command: Command) -> Client {
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut line = Vec::new();
            match stdout.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            }
        });
        Client { child, stdin, lines, seen: Vec::new() }
    }

    pub fn send(&mut self, message: Value) {
        let mut line = serde_json::to_vec(&message).unwrap();
        line.push(b'\n');
        self.stdin.as_mut().unwrap().write_all(&line).unwrap();
    }

    /// The first message from the server (seen before or arriving now) that `wanted` accepts.
    pub fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(found) = self.seen.iter().find(|m| wanted(m)) {
            return found.clone();
        }
        loop {
            let line = self.lines.recv_timeout(TIMEOUT).unwrap_or_else(|_| panic!("no {what}; seen: {:?}", self.seen));
            let message: Value = serde_json::from_slice(&line).expect("the server writes JSON lines");
            self.seen.push(message.clone());
            if wanted(&message) {
                return message;
            }
        }
    }

    pub fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({"id": id, "method": method, "params": params}));
        self.wait_for(&format!("reply to {id}"), |m| m["id"] == id && m.get("method").is_none())
    }

    pub fn initialize(&mut self, capabilities: Value) {
        let mut params = json!({"clientInfo": {"name": "openclaw-test", "version": "1"}});
        if !capabilities.is_null() {
            params["capabilities"] = capabilities;
        }
        let reply = self.request(0, "initialize", params);
        assert!(reply.get("result").is_some(), "{reply}");
        self.send(json!({"method": "initialized"}));
    }

    /// Closes stdin and waits: codex exits at EOF, and so does the shim.
    /// Answers every approval request codex sends with `decision` until the turn `turn` completes;
    /// how many there were.
    pub fn answer_approvals(&mut self, turn: &Value, decision: &str) -> usize {
        let mut asked = 0;
        loop {
            let next = self.wait_for("an approval request or turn/completed", |m| {
                (m["method"] == "turn/completed" && m["params"]["turn"]["id"] == *turn)
                    || (m["method"].as_str().is_some_and(|m| m.contains("Approval")) && m.get("id").is_some())
            });
            if next["method"] == "turn/completed" {
                return asked;
            }
            self.seen.retain(|m| m != &next);
            self.send(serde_json::json!({"id": next["id"], "result": {"decision": decision}}));
            asked += 1;
        }
    }

    pub fn finish(mut self) -> (std::process::ExitStatus, String) {
        drop(self.stdin.take());
        let output = self.child.wait_with_output().unwrap();
        (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
    }
}
