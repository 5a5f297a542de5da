//! `codex app-server` through the shim: the real CLI against the mock model API, driven by a JSON-RPC
//! client here; and the relay itself (ordering, byte-exactness, large lines, exit status, signals)
//! against a stand-in codex that echoes its stdin.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::codex_env::Setup;
use support::etc_codex::EtcCodex;
use support::jsonrpc::{Client, TIMEOUT};
use support::{Tree, PIN};

fn app_server(setup: &Setup, mode: &str) -> Client {
    app_server_on(setup, mode, &["shim", "real"], Value::Null)
}

/// `codex app-server` with `path` (tree directories) as PATH, run as the first one's `codex` (the
/// shim, or the real codex alone for a control), initialized with `capabilities`.
fn app_server_on(setup: &Setup, mode: &str, path: &[&str], capabilities: Value) -> Client {
    let mut command = Command::new(setup.tree.root.path().join(path[0]).join("codex"));
    command
        .env_clear()
        .env("PATH", setup.tree.path_of(path))
        .env("OPENCLAW_MODEL", PIN)
        .env("OPENCLAW_MODEL_LOCK_MODE", mode)
        .env("OPENCLAW_AUDIT_JOURNALD", "0")
        .env("CODEX_HOME", &setup.home)
        .env("HOME", setup.tree.root.path())
        .env("TMPDIR", setup.tree.dir("tmp"))
        .arg("app-server")
        .current_dir(setup.tree.root.path());
    let mut client = Client::start(command);
    client.initialize(capabilities);
    client
}

fn thread_start(client: &mut Client, id: i64, params: Value) -> Value {
    let reply = client.request(id, "thread/start", params);
    assert!(reply.get("error").is_none(), "{reply}");
    reply["result"]["thread"]["id"].clone()
}

/// Starts a turn and waits for it to end (`turn/completed`); returns the turn/start reply.
fn turn(client: &mut Client, id: i64, thread: &Value, extra: Value) -> Value {
    let mut params = json!({"threadId": thread, "input": [{"type": "text", "text": "hi"}]});
    params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let reply = client.request(id, "turn/start", params);
    if let Some(turn) = reply.get("result").map(|r| r["turn"]["id"].clone()) {
        client.wait_for("turn/completed", |m| m["method"] == "turn/completed" && m["params"]["turn"]["id"] == turn);
    }
    reply
}

fn audit_records(stderr: &str) -> Vec<Value> {
    stderr.lines().filter(|l| l.starts_with('{')).filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn force_mode_sends_every_request_on_the_pinned_model() {
    let setup = Setup::new(vec![]);
    let mut client = app_server(&setup, "force");
    let thread = thread_start(&mut client, 1, json!({"model": "gpt-4o"}));
    assert_eq!(client.seen.last().unwrap()["result"]["model"], PIN, "thread/start answered with the pin");
    let reply = turn(&mut client, 2, &thread, json!({"model": "gpt-5-other"}));
    assert!(reply.get("result").is_some(), "{reply}");
    turn(&mut client, 3, &thread, json!({}));
    let (status, stderr) = client.finish();
    assert!(status.success(), "{status:?}: {stderr}");
    let models = setup.models();
    assert_eq!(models.len(), 2, "one model request per turn: {models:?}");
    assert!(models.iter().all(|m| m.as_deref() == Some(PIN)), "{models:?}");
    let forced: Vec<Value> = audit_records(&stderr).into_iter().filter(|r| r["OPENCLAW_ACTION"] == "forced").collect();
    let attempted: Vec<&str> = forced.iter().map(|r| r["OPENCLAW_ATTEMPTED"].as_str().unwrap()).collect();
    assert_eq!(attempted, ["gpt-4o", "gpt-5-other"], "{stderr}");
    assert!(forced.iter().all(|r| r["OPENCLAW_SUBCOMMAND"] == "app-server"));
}

#[test]
fn reject_mode_answers_errors_and_no_model_request_is_made() {
    let setup = Setup::new(vec![]);
    let mut client = app_server(&setup, "reject");
    let refused = client.request(1, "thread/start", json!({"model": "gpt-4o"}));
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains(PIN), "{refused}");
    let thread = thread_start(&mut client, 2, json!({}));
    let refused = turn(&mut client, 3, &thread, json!({"model": "gpt-5-other"}));
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert_eq!(setup.models(), Vec::<Option<String>>::new(), "no request reached the model");
    // A client that names no model works normally, on the pinned model.
    let reply = turn(&mut client, 4, &thread, json!({}));
    assert!(reply.get("result").is_some(), "{reply}");
    let (status, stderr) = client.finish();
    assert!(status.success(), "{status:?}: {stderr}");
    assert_eq!(setup.models(), [Some(PIN.to_owned())]);
    let rejected = audit_records(&stderr).into_iter().filter(|r| r["OPENCLAW_ACTION"] == "rejected").count();
    assert_eq!(rejected, 2, "{stderr}");
}

#[test]
fn configuration_writes_of_the_model_are_caught() {
    let write = json!({"keyPath": "model", "value": "gpt-4o", "mergeStrategy": "replace"});
    let config = |setup: &Setup| std::fs::read_to_string(setup.home.join("config.toml")).unwrap();

    let setup = Setup::new(vec![]);
    let mut client = app_server(&setup, "force");
    let reply = client.request(1, "config/value/write", write.clone());
    assert!(reply.get("result").is_some(), "{reply}");
    assert!(config(&setup).contains(&format!("model = \"{PIN}\"")), "{}", config(&setup));
    let provider = json!({"keyPath": "model_providers.mock.base_url", "value": "http://127.0.0.1:9/v1", "mergeStrategy": "replace"});
    let refused = client.request(2, "config/value/write", provider);
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(!config(&setup).contains("127.0.0.1:9"), "a provider redirect is never written");
    client.finish();

    let setup = Setup::new(vec![]);
    let before = config(&setup);
    let mut client = app_server(&setup, "reject");
    let refused = client.request(1, "config/value/write", write);
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    client.finish();
    assert_eq!(config(&setup), before);
}

/// A feature a client switches on at run time starts a job on a model of codex's choosing unless
/// the shim pins that job's model too: memory consolidation (gpt-5.6-terra by default on 0.163.0;
/// the conformance control shows it without the shim). Its workspace is a git repository.
#[test]
fn a_job_a_client_switches_on_runs_on_the_pinned_model() {
    let setup = Setup::new(vec![]);
    let git = setup.tree.link_git().expect("git on PATH");
    let mut client = app_server_on(&setup, "force", &["shim", "real", git], json!({"experimentalApi": true}));
    let enabled = json!({"enablement": {"memories": true}});
    let reply = client.request(1, "experimentalFeature/enablement/set", enabled);
    assert_eq!(reply["result"]["enablement"]["memories"], true, "{reply}");
    let thread = thread_start(&mut client, 2, json!({}));
    turn(&mut client, 3, &thread, json!({}));
    let consolidated =
        |setup: &Setup| setup.mock.requests().iter().any(|r| r.subagent.as_deref() == Some("memory_consolidation"));
    let deadline = Instant::now() + TIMEOUT;
    while !consolidated(&setup) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, stderr) = client.finish();
    assert!(status.success(), "{status:?}: {stderr}");
    let requests = setup.mock.requests();
    assert!(consolidated(&setup), "the memory job ran: {requests:?}");
    assert!(requests.iter().all(|r| r.model.as_deref() == Some(PIN)), "{requests:?}");
}

/// Approval auto-review puts each approval to a `guardian` sub-agent on the provider's review model
/// (`codex-auto-review` from codex's bundled catalog). Without the model gate the guard keeps the
/// review off that model and, since issue 16, denies the escalation itself rather than asking a
/// client that may approve everything.
#[test]
fn auto_review_asked_for_in_thread_start_never_runs_on_another_model() {
    let run = |path: &[&str]| {
        let setup = Setup::new(vec![support::mock_api::Reply::escalating_command()]);
        let mut client = app_server_on(&setup, "force", path, Value::Null);
        let params =
            json!({"approvalPolicy": "on-request", "approvalsReviewer": "auto_review", "sandbox": "read-only"});
        let thread = thread_start(&mut client, 1, params);
        let reply =
            client.request(2, "turn/start", json!({"threadId": thread, "input": [{"type": "text", "text": "hi"}]}));
        let turn = reply["result"]["turn"]["id"].clone();
        // Decline what codex asks the client; the turn then ends.
        let mut answered = 0;
        loop {
            let next = client.wait_for("an approval request or turn/completed", |m| {
                (m["method"] == "turn/completed" && m["params"]["turn"]["id"] == turn)
                    || (m["method"] == "item/commandExecution/requestApproval" && m.get("id").is_some())
            });
            if next["method"] == "turn/completed" {
                break;
            }
            client.seen.retain(|m| m != &next);
            client.send(json!({"id": next["id"], "result": {"decision": "decline"}}));
            answered += 1;
        }
        let (status, stderr) = client.finish();
        assert!(status.success(), "{status:?}: {stderr}");
        (setup.mock.requests(), answered)
    };
    // Control: the real codex alone reviews on another model and never asks the client.
    let (requests, asked) = run(&["real"]);
    assert!(
        requests.iter().any(|r| r.subagent.as_deref() == Some("guardian") && r.model.as_deref() != Some(PIN)),
        "without the guard the review ran on another model: {requests:?}"
    );
    assert_eq!(asked, 0);
    let (requests, asked) = run(&["shim", "real"]);
    assert!(requests.iter().all(|r| r.subagent.is_none() && r.model.as_deref() == Some(PIN)), "{requests:?}");
    assert_eq!(asked, 0, "denied by the guard, not handed to the client");
}

/// Remote control would let paired clients drive this server through a relay the guard does not
/// sit on: refused, as argv refuses the `remote-control` subcommand.
#[test]
fn remote_control_is_refused_and_stays_off() {
    let enable = |path: &[&str]| {
        let setup = Setup::new(vec![]);
        let mut client = app_server_on(&setup, "force", path, json!({"experimentalApi": true}));
        let reply = client.request(1, "remoteControl/enable", json!({"ephemeral": true}));
        let status = client.request(2, "remoteControl/status/read", json!({}));
        client.finish();
        (reply, status["result"]["status"].clone())
    };
    // Control: the real codex alone starts connecting.
    let (reply, _) = enable(&["real"]);
    assert_eq!(reply["result"]["status"], "connecting", "{reply}");
    let (reply, status) = enable(&["shim", "real"]);
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("OPENCLAW_ALLOW_UNPINNABLE=remote-control"));
    assert_eq!(status, "disabled");
}

// ------------------------------------------------------------------------------------------------
// The relay against a stand-in codex.
// ------------------------------------------------------------------------------------------------

/// A tree whose "real codex" is the shell script `body` (the shim's pinned argv is ignored).
fn stand_in(body: &str) -> Tree {
    let tree = Tree::new();
    tree.shim("shim");
    support::write_script(&tree.dir("real").join("codex"), &format!("#!/bin/sh\n{body}\n"));
    tree
}

fn relay_command(tree: &Tree, mode: &str) -> Command {
    let mut command = Command::new(tree.root.path().join("shim/codex"));
    command
        .env_clear()
        .env("PATH", tree.path_of(&["shim", "real"]))
        .env("OPENCLAW_MODEL", PIN)
        .env("OPENCLAW_MODEL_LOCK_MODE", mode)
        .env("OPENCLAW_AUDIT_JOURNALD", "0")
        .arg("app-server");
    command
}

/// The child's status; a hang (a signal that never reached codex) fails instead of stalling the suite.
fn wait_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Thousands of lines both ways through an echoing codex: every line comes back whole, in order,
/// byte-exact unless the guard rewrote it (then with the pinned model).
#[test]
fn relay_is_byte_exact_in_order_and_keeps_large_lines_whole() {
    let tree = stand_in("exec /bin/cat");
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for i in 0..3000 {
        let line = match i % 500 {
            0 => format!(
                "{{\"method\":\"big\",\"params\":{{\"blob\":\"{}\",\"i\":{i}}}}}\n",
                "ab\\u00e9".repeat(250_000)
            ),
            7 => format!(
                "{{\"id\":{i},\"method\":\"turn/start\",\"params\":{{\"threadId\":\"t\",\"model\":\"m{i}\"}}}}\n"
            ),
            _ if i % 3 == 0 => format!("{{ \"id\" : {i} , \"result\" : {{\"x\": \"caf\u{e9} {i}\"}} }}\r\n"),
            _ => format!("{{\"method\":\"item/{i}\",\"params\":{{\"model_like\":\"no\",\"n\":{i}}}}}\n"),
        };
        lines.push(line.into_bytes());
    }
    assert!(lines[0].len() > 1_000_000);
    let mut child = relay_command(&tree, "force").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let sent = lines.clone();
    let writer = std::thread::spawn(move || {
        for line in &sent {
            stdin.write_all(line).unwrap();
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for (i, expected) in lines.iter().enumerate() {
        let mut got = Vec::new();
        stdout.read_until(b'\n', &mut got).unwrap();
        if i % 500 == 7 {
            let message: Value = serde_json::from_slice(&got).unwrap();
            assert_eq!(message["params"]["model"], PIN, "line {i} rewritten");
            assert_eq!(message["id"], i, "line {i} in order");
        } else {
            assert!(got == *expected, "line {i} differs ({} bytes, expected {})", got.len(), expected.len());
        }
    }
    writer.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn codex_exit_status_becomes_the_shims() {
    let tree = stand_in("/bin/cat >/dev/null; exit 7");
    let status = relay_command(&tree, "force").stdin(Stdio::null()).status().unwrap();
    assert_eq!(status.code(), Some(7));
}

#[test]
fn sigint_and_sigterm_to_the_shim_reach_codex() {
    use nix::sys::signal::Signal;
    // Codex (here the stand-in) exits with a code of its own per signal; the shim reports it.
    for (signal, name, code) in [(Signal::SIGTERM, "TERM", 42), (Signal::SIGINT, "INT", 43)] {
        // Bounded (20 s), so that a signal that never arrives leaves no process behind.
        let wait = "i=0; while [ $i -lt 400 ]; do /bin/sleep 0.05; i=$((i + 1)); done";
        let tree = stand_in(&format!("trap 'exit {code}' {name}\necho ready\n{wait}"));
        let mut child = relay_command(&tree, "force").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        assert_eq!(ready, "ready\n");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
        assert_eq!(wait_within(&mut child, Duration::from_secs(20)).code(), Some(code), "{name}");
    }
}

#[test]
fn a_codex_killed_by_a_signal_kills_the_shim_by_the_same_signal() {
    let tree = stand_in("kill -KILL $$");
    let status = relay_command(&tree, "force").stdin(Stdio::null()).status().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
}

#[test]
fn reject_mode_answers_a_line_that_is_not_json_and_force_mode_passes_it() {
    let tree = stand_in("exec /bin/cat");
    let output = |mode: &str| {
        let mut child = relay_command(&tree, mode).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(b"not json\n").unwrap();
        child.wait_with_output().unwrap()
    };
    assert_eq!(output("force").stdout, b"not json\n");
    let reply: Value = serde_json::from_slice(&output("reject").stdout).unwrap();
    assert_eq!((reply["id"].clone(), reply["error"]["code"].clone()), (Value::Null, json!(-32700)));
}

#[test]
fn without_its_guard_beside_it_the_shim_refuses_app_server() {
    let tree = stand_in("exec /bin/cat");
    std::fs::remove_file(tree.dir("shim").join(openclaw_codex::shim::install::GUARD_BIN)).unwrap();
    let output = relay_command(&tree, "force").stdin(Stdio::null()).output().unwrap();
    assert_eq!(output.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&output.stderr).contains("openclaw-app-server-guard is missing"));
}

#[test]
fn other_transports_are_refused() {
    let tree = stand_in("exec /bin/cat");
    for args in [&["--listen", "ws://127.0.0.1:0"][..], &["daemon", "start"], &["proxy"]] {
        let output = relay_command(&tree, "force").args(args).stdin(Stdio::null()).output().unwrap();
        assert_eq!(output.status.code(), Some(77), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("only on its stdio transport"), "{args:?}");
    }
}

// ------------------------------------------------------------------------------------------------
// Issue 16: what a real client (OpenAI's Python SDK) found. Each with a control run without the
// guard that shows the leak.
// ------------------------------------------------------------------------------------------------

/// A setup whose config.toml also defines a second provider, `other`, on a second mock.
fn setup_with_other_provider() -> (Setup, support::mock_api::MockApi) {
    let setup = Setup::new(vec![]);
    let other = support::mock_api::MockApi::start(vec![]);
    let config = setup.home.join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[model_providers.other]\nname = \"other\"\nbase_url = \"{}\"\nwire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n",
        other.base_url
    ));
    std::fs::write(config, text).unwrap();
    (setup, other)
}

/// Resuming (or forking) a thread recorded on another model and provider by an unguarded codex on
/// the same CODEX_HOME: codex restores both unless the request names a model; the guard names the
/// pin whether or not the client did, in both modes, without calling it an attempt.
#[test]
fn a_stored_thread_resumes_on_the_pin_and_the_configured_provider() {
    let (setup, other) = setup_with_other_provider();
    // Recorded by the real codex alone.
    let mut client = app_server_on(&setup, "force", &["real"], Value::Null);
    let thread = thread_start(&mut client, 1, json!({"model": "gpt-recorded", "modelProvider": "other"}));
    turn(&mut client, 2, &thread, json!({}));
    client.finish();
    assert_eq!(other.requests().len(), 1);
    let resume = |path: &[&str], mode: &str, method: &str| {
        let mut client = app_server_on(&setup, mode, path, Value::Null);
        let reply = client.request(1, method, json!({"threadId": thread}));
        assert!(reply.get("result").is_some(), "{reply}");
        let resumed = reply["result"]["thread"]["id"].clone();
        turn(&mut client, 2, &resumed, json!({}));
        let (status, stderr) = client.finish();
        assert!(status.success(), "{status:?}: {stderr}");
        let attempts = audit_records(&stderr).into_iter().filter(|r| r["OPENCLAW_ATTEMPTED"].is_string()).count();
        (reply["result"]["model"].clone(), attempts)
    };
    // Control: the real codex alone resumes on the recorded model and provider.
    let (model, _) = resume(&["real"], "force", "thread/resume");
    assert_eq!(model, "gpt-recorded");
    assert_eq!(other.requests().len(), 2, "without the guard the resumed turn went to the recorded provider");
    let before = setup.models().len();
    for mode in ["force", "reject"] {
        for method in ["thread/resume", "thread/fork"] {
            let (model, attempts) = resume(&["shim", "real"], mode, method);
            assert_eq!(model, PIN, "{mode} {method}");
            assert_eq!(attempts, 0, "naming no model is no attempt ({mode} {method})");
        }
    }
    assert_eq!(other.requests().len(), 2, "nothing more reached the recorded provider");
    let models = setup.models()[before..].to_vec();
    assert_eq!(models, vec![Some(PIN.to_owned()); 4]);
}

/// Config-file writes judged on the path codex resolves, and removals and directory operations
/// judged too. Control: the real codex alone writes (or removes) config.toml through each path.
#[test]
fn config_files_cannot_be_replaced_or_removed_through_any_path() {
    let setup = Setup::new(vec![]);
    let work = setup.tree.dir("work");
    std::os::unix::fs::symlink(setup.home.join("config.toml"), work.join("alias")).unwrap();
    std::os::unix::fs::symlink(&setup.home, work.join("homelink")).unwrap();
    std::fs::create_dir_all(work.join("tree")).unwrap();
    std::fs::write(work.join("tree/config.toml"), "model_provider = \"elsewhere\"\n").unwrap();
    let config = setup.home.join("config.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    let home = setup.home.to_str().unwrap().to_owned();
    let w = work.to_str().unwrap().to_owned();
    let data = "bW9kZWxfcHJvdmlkZXIgPSAiZWxzZXdoZXJlIgo="; // model_provider = "elsewhere"
    let operations: Vec<(&str, Value)> = vec![
        ("fs/writeFile", json!({"path": format!("{home}/config.toml/"), "dataBase64": data})),
        ("fs/writeFile", json!({"path": format!("{home}/config.toml/."), "dataBase64": data})),
        ("fs/writeFile", json!({"path": format!("{home}/config.toml/x/.."), "dataBase64": data})),
        ("fs/writeFile", json!({"path": format!("{w}/alias"), "dataBase64": data})),
        (
            "fs/copy",
            json!({"sourcePath": format!("{w}/tree/config.toml"), "destinationPath": format!("{w}/homelink/config.toml/")}),
        ),
        ("fs/remove", json!({"path": format!("{home}/config.toml")})),
        ("fs/remove", json!({"path": format!("{home}/./")})),
    ];
    // (whether config.toml is still the operator's, whether it is still there)
    let state = || match std::fs::read_to_string(&config) {
        Ok(text) => (text == original, true),
        Err(_) => (false, false),
    };
    let restore = || {
        std::fs::create_dir_all(&setup.home).unwrap();
        std::fs::write(&config, &original).unwrap();
    };
    for (method, params) in &operations {
        // Control: the real codex alone.
        let mut client = app_server_on(&setup, "force", &["real"], Value::Null);
        let reply = client.request(1, method, params.clone());
        client.finish();
        assert!(reply.get("result").is_some(), "{method} {params}: {reply}");
        assert_ne!(state(), (true, true), "without the guard {method} {params} changed config.toml");
        restore();
        for mode in ["force", "reject"] {
            let mut client = app_server_on(&setup, mode, &["shim", "real"], Value::Null);
            let reply = client.request(1, method, params.clone());
            client.finish();
            assert_eq!(reply["error"]["code"], -32600, "{mode} {method} {params}: {reply}");
            assert_eq!(state(), (true, true), "{mode} {method} {params}");
            restore();
        }
    }
}

/// A line with a duplicate key: codex and serde_json's `Value` (the guard's old reading) read it
/// differently — measured, codex drops a line with two `method`s unanswered, whose last-wins
/// reading is a request. The guard refuses such a line in both modes, so no reading of it reaches
/// codex.
#[test]
fn a_line_with_a_duplicate_key_is_refused() {
    let line = br#"{"id":7,"method":"thread/list","params":{},"method":"thread/start"}"#;
    let last_wins: Value = serde_json::from_slice(line).unwrap();
    assert_eq!(last_wins["method"], "thread/start");
    let send = |path: &[&str], mode: &str| {
        let setup = Setup::new(vec![]);
        let mut client = app_server_on(&setup, mode, path, Value::Null);
        client.stdin.as_mut().unwrap().write_all(&[&line[..], b"\n"].concat()).unwrap();
        // A request after it, answered in order, shows whether the first got an answer.
        let after = client.request(8, "thread/loaded/list", json!({}));
        assert!(after.get("result").is_some(), "{after}");
        let first = client.seen.iter().find(|m| m["id"] == 7).cloned();
        client.finish();
        first
    };
    // Control: codex alone reads neither `method`: no answer at all, no thread started.
    assert_eq!(send(&["real"], "force"), None);
    for mode in ["force", "reject"] {
        let reply = send(&["shim", "real"], mode).unwrap_or_else(|| panic!("{mode}: the guard answers"));
        assert_eq!(reply["error"]["code"], -32600, "{reply}");
        assert!(reply["error"]["message"].as_str().unwrap().contains("\"method\" appears twice"), "{reply}");
    }
}

/// Reject mode refusing app-server at launch (a model in argv): the client reads the reason as the
/// answer to `initialize`, and the shim exits 77 at its EOF. Control: without the guard beside the
/// shim (its fallback), the client only sees the pipe close.
#[test]
fn reject_at_launch_answers_initialize_with_the_refusal() {
    let launch = |setup: &Setup| {
        let mut command = Command::new(setup.tree.root.path().join("shim/codex"));
        command
            .env_clear()
            .env("PATH", setup.tree.path_of(&["shim", "real"]))
            .env("OPENCLAW_MODEL", PIN)
            .env("OPENCLAW_MODEL_LOCK_MODE", "reject")
            .env("OPENCLAW_AUDIT_JOURNALD", "0")
            .env("CODEX_HOME", &setup.home)
            .args(["--config", "model=gpt-4o", "app-server", "--listen", "stdio://"]);
        let mut client = Client::start(command);
        // The control's shim may be gone before the line is written: a broken pipe is its answer.
        let initialize =
            json!({"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}});
        let _ = client.stdin.as_mut().unwrap().write_all(format!("{initialize}\n").as_bytes());
        client
    };
    let setup = Setup::new(vec![]);
    let guard = setup.tree.dir("shim").join(openclaw_codex::shim::install::GUARD_BIN);
    let staged = setup.tree.dir("tmp").join("guard");
    std::fs::rename(&guard, &staged).unwrap();
    let control = launch(&setup);
    let closed = control.lines.recv_timeout(TIMEOUT);
    let (status, _) = control.finish();
    assert!(closed.is_err(), "without the guard nothing is answered: {closed:?}");
    assert_eq!(status.code(), Some(77));
    std::fs::rename(&staged, &guard).unwrap();

    let mut client = launch(&setup);
    let reply = client.wait_for("the answer to initialize", |m| m["id"] == 0);
    let message = reply["error"]["message"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert_eq!(reply["error"]["code"], -32600);
    assert!(message.contains("gpt-4o") && message.contains(PIN) && !message.contains('\n'), "{message}");
    let later = client.request(1, "thread/start", json!({}));
    assert_eq!(later["error"]["message"], message, "every later request too");
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(77), "{stderr}");
    assert!(setup.models().is_empty());
    let rejected = audit_records(&stderr).into_iter().filter(|r| r["OPENCLAW_ACTION"] == "rejected").count();
    assert_eq!(rejected, 1, "{stderr}");
}

/// Drives one turn whose model asks for an escalated command, answering every approval request
/// the client receives with `accept` (the Python SDK's default handler). Returns how many approval
/// requests reached the client, and whether the command ran (it creates `escalated` in the cwd).
fn escalate_accepting_everything(client: &mut Client, setup: &Setup, start: Value) -> (usize, bool) {
    let thread = thread_start(client, 1, start);
    let reply = client.request(2, "turn/start", json!({"threadId": thread, "input": [{"type": "text", "text": "hi"}]}));
    let turn = reply["result"]["turn"]["id"].clone();
    let asked = client.answer_approvals(&turn, "accept");
    (asked, setup.tree.root.path().join("escalated").exists())
}

/// Without the model gate, a review the caller asked for (`auto_review`) cannot run on the pin; the
/// guard no longer hands the escalation to a client that may approve everything: it denies it.
/// Control: the real codex alone with the reviewer the old guard substituted (`user`) and the same
/// approve-everything client runs the escalated command unreviewed.
#[test]
fn without_the_gate_an_auto_review_asked_for_denies_escalations() {
    let start =
        |reviewer: &str| json!({"approvalPolicy": "on-request", "approvalsReviewer": reviewer, "sandbox": "read-only"});
    let setup = Setup::new(vec![support::mock_api::Reply::escalating_command()]);
    let mut client = app_server_on(&setup, "force", &["real"], Value::Null);
    let (asked, ran) = escalate_accepting_everything(&mut client, &setup, start("user"));
    client.finish();
    assert_eq!((asked, ran), (1, true), "control: the client approved and the command ran unreviewed");

    let setup = Setup::new(vec![support::mock_api::Reply::escalating_command()]);
    let mut client = app_server_on(&setup, "force", &["shim", "real"], Value::Null);
    let (asked, ran) = escalate_accepting_everything(&mut client, &setup, start("auto_review"));
    let (status, stderr) = client.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!((asked, ran), (0, false), "denied by the guard, never asked of the client: {stderr}");
    assert!(stderr.contains("every escalation is denied"), "{stderr}");
    let requests = setup.mock.requests();
    assert!(requests.iter().all(|r| r.model.as_deref() == Some(PIN) && r.subagent.is_none()), "{requests:?}");
    let denied = audit_records(&stderr)
        .into_iter()
        .filter(|r| r["OPENCLAW_SYNTAX"] == "app-server item/commandExecution/requestApproval")
        .count();
    assert_eq!(denied, 1, "{stderr}");
}

/// With the model gate deployed (`/etc/codex/requirements.toml` forcing `openclaw-model-gate`, put
/// there only inside a private mount namespace, `support::etc_codex`: the machine's /etc stays
/// untouched), the reviewer asked for
/// stays: the review runs and its request goes to the gate. Control: the same namespace with a
/// requirements file that forces no gate denies instead.
#[test]
fn with_the_gate_the_review_asked_for_runs_through_the_gate() {
    assert!(nix::unistd::Uid::effective().is_root(), "this test needs root (unshare -m, mount -t overlay)");
    let run = |gate: bool| {
        let setup = Setup::new(vec![support::mock_api::Reply::escalating_command()]);
        let requirements = if gate {
            format!(
                "model_provider = \"openclaw-model-gate\"\n[model_providers.openclaw-model-gate]\nname = \"gate\"\nbase_url = \"{}\"\nwire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n",
                setup.mock.base_url.replace("/v1", "/gate/v1")
            )
        } else {
            "# no model gate (hides any requirements.toml of the machine's)\n".to_owned()
        };
        let etc = EtcCodex::empty();
        std::fs::write(etc.codex_dir().join("requirements.toml"), requirements).unwrap();
        let mut command = etc.command(&setup.tree.root.path().join("shim/codex"));
        command
            .env_clear()
            .env("PATH", setup.tree.path_of(&["shim", "real"]))
            .env("OPENCLAW_MODEL", PIN)
            .env("OPENCLAW_MODEL_LOCK_MODE", "force")
            .env("OPENCLAW_AUDIT_JOURNALD", "0")
            .env("CODEX_HOME", &setup.home)
            .env("HOME", setup.tree.root.path())
            .env("TMPDIR", setup.tree.dir("tmp"))
            .current_dir(setup.tree.root.path())
            .arg("app-server");
        let mut client = Client::start(command);
        client.initialize(Value::Null);
        let start = json!({"approvalPolicy": "on-request", "approvalsReviewer": "auto_review", "sandbox": "read-only"});
        let (asked, _) = escalate_accepting_everything(&mut client, &setup, start);
        let (status, stderr) = client.finish();
        assert!(status.success(), "{stderr}");
        (asked, setup.mock.requests(), stderr)
    };
    let (asked, requests, stderr) = run(false);
    assert_eq!(asked, 0);
    assert!(requests.iter().all(|r| r.subagent.is_none()), "control: no review ran: {requests:?}");
    assert!(stderr.contains("every escalation is denied"), "{stderr}");
    let (asked, requests, stderr) = run(true);
    assert_eq!(asked, 0, "the reviewer decided, not the client");
    assert!(!stderr.contains("every escalation is denied"), "{stderr}");
    assert!(requests.iter().all(|r| r.path.starts_with("/gate/v1/")), "every request went to the gate: {requests:?}");
    assert!(requests.iter().any(|r| r.subagent.as_deref() == Some("guardian")), "the review ran: {requests:?}");
}
