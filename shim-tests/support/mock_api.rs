#![allow(dead_code)] // shared by the tests and the demo, which each use a part
//! A local stand-in for the OpenAI Responses API: records every request (path, model, sub-agent
//! header) and answers each with a scripted server-sent-event stream.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub model: Option<String>,
    /// `x-openai-subagent`: set on requests made for a sub-agent or a review.
    pub subagent: Option<String>,
    pub body: Value,
    /// Every header as sent, names lower-cased (the model gate's tests check what arrives).
    pub headers: Vec<(String, String)>,
    /// The body's size in bytes, as received.
    pub body_len: usize,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub enum Reply {
    Message(String),
    /// A message sent only after a pause (gives a sub-agent time to make its request).
    MessageAfter(String, std::time::Duration),
    /// Raw output items, e.g. a code-mode `custom_tool_call`.
    Items(Vec<Value>),
    /// A tool call from the model, e.g. `spawn_agent` in namespace `collaboration`.
    ToolCall {
        name: String,
        namespace: String,
        arguments: Value,
    },
}

impl Reply {
    /// The model runs a command that asks for escalated permissions: an approval request, which
    /// an auto-reviewer puts to its own model (`x-openai-subagent: guardian`).
    pub fn escalating_command() -> Reply {
        let arguments = json!({"cmd": "touch escalated", "sandbox_permissions": "require_escalated",
            "justification": "needs to write outside the sandbox"});
        Reply::Items(vec![json!({"type": "function_call", "name": "exec_command",
            "arguments": arguments.to_string(), "call_id": "call_escalate"})])
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    script: VecDeque<Reply>,
    /// The answer once the script is used up.
    default_reply: Option<String>,
}

pub struct MockApi {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

impl MockApi {
    pub fn start(script: Vec<Reply>) -> MockApi {
        MockApi::start_on("127.0.0.1", script)
    }

    /// Listens on `ip` (e.g. `0.0.0.0` for containers); `base_url` still names `ip`.
    pub fn start_on(ip: &str, script: Vec<Reply>) -> MockApi {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State { script: script.into(), ..State::default() }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        MockApi { base_url, state }
    }

    pub fn port(&self) -> u16 {
        self.base_url.rsplit(':').next().unwrap().trim_end_matches("/v1").parse().unwrap()
    }

    pub fn set_default_reply(&self, text: &str) {
        self.state.lock().unwrap().default_reply = Some(text.to_owned());
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let (mut length, mut chunked, mut subagent, mut headers) = (0usize, false, None, Vec::new());
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
                "x-openai-subagent" => subagent = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let body = if chunked { read_chunked(&mut reader) } else { read_exact(&mut reader, length) };
        let body_len = body.len();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let model = body.get("model").and_then(Value::as_str).map(str::to_owned);
        let reply = {
            let mut state = state.lock().unwrap();
            // Sub-agents (and reviews) get a plain answer; the script is the root agent's.
            let reply = match subagent {
                Some(_) => Reply::Message("sub-agent done".into()),
                None => state
                    .script
                    .pop_front()
                    .unwrap_or_else(|| Reply::Message(state.default_reply.clone().unwrap_or_else(|| "done".into()))),
            };
            state.requests.push(Request { path, model, subagent, body, headers, body_len });
            reply
        };
        if let Reply::MessageAfter(_, pause) = &reply {
            std::thread::sleep(*pause);
        }
        let events = sse(&reply);
        let head =
            format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n", events.len());
        if writer.write_all(head.as_bytes()).and_then(|_| writer.write_all(events.as_bytes())).is_err() {
            return;
        }
    }
}

fn read_exact(reader: &mut impl Read, length: usize) -> Vec<u8> {
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    body
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16).unwrap();
        body.extend(read_exact(reader, size));
        let mut crlf = String::new();
        reader.read_line(&mut crlf).unwrap();
        if size == 0 {
            return body;
        }
    }
}

fn sse(reply: &Reply) -> String {
    static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let message = |text: &str| json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]});
    let items = match reply {
        Reply::Message(text) | Reply::MessageAfter(text, _) => vec![message(text)],
        Reply::ToolCall { name, namespace, arguments } => vec![json!({
            "type": "function_call", "name": name, "namespace": namespace,
            "arguments": arguments.to_string(), "call_id": format!("call_{id}"),
        })],
        Reply::Items(items) => items.clone(),
    };
    let mut events = String::new();
    for item in items {
        let done = json!({"type": "response.output_item.done", "item": item});
        events.push_str(&format!("event: response.output_item.done\ndata: {done}\n\n"));
    }
    let completed = json!({"type": "response.completed", "response": {"id": format!("resp_{id}")}});
    events.push_str(&format!("event: response.completed\ndata: {completed}\n\n"));
    events
}
