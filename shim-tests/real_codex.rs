//! The real Codex CLI behind the shim, talking to a local mock of the Responses API: the model of
//! every request that leaves is the pinned one.

mod support;

use serde_json::json;
use support::codex_env::Setup;
use support::mock_api::{Reply, Request};
use support::PIN;

fn mentions_spawn_agent(request: &Request) -> bool {
    request.body.to_string().contains("spawn_agent")
}

#[test]
fn exec_requests_carry_the_pinned_model() {
    let cases: &[&[&str]] = &[
        &["exec", "--skip-git-repo-check", "--ephemeral", "hi"],
        &["exec", "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil", "hi"],
        &["-m", "gpt-evil", "exec", "--skip-git-repo-check", "--ephemeral", "hi"],
        &["exec", "--skip-git-repo-check", "--ephemeral", "-c", "model=\"gpt-evil\"", "-c", "x=1", "hi"],
        &["e", "--skip-git-repo-check", "--ephemeral", "hi", "--model=gpt-evil"],
        // OpenClaw's own codex-cli backend.
        &[
            "exec",
            "--json",
            "--color",
            "never",
            "--sandbox",
            "read-only",
            "--skip-git-repo-check",
            "--model",
            "gpt-evil",
            "hi",
        ],
    ];
    for args in cases {
        let setup = Setup::new(vec![]);
        setup.codex(args).assert().success();
        let requests = setup.mock.requests();
        assert!(!requests.is_empty(), "{args:?}: no request reached the mock");
        for request in &requests {
            assert_eq!(request.model.as_deref(), Some(PIN), "{args:?}");
            assert_eq!(request.path, "/v1/responses", "{args:?}");
        }
    }
}

#[test]
fn without_the_shim_the_same_call_leaves_on_another_model() {
    // The control for the test above: the mock and the config really would let another model through.
    let setup = Setup::new(vec![]);
    setup
        .codex_on(&["real"], &["exec", "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil", "hi"])
        .assert()
        .success();
    assert_eq!(setup.models(), [Some("gpt-evil".to_owned())]);
}

#[test]
fn reject_mode_sends_nothing() {
    let setup = Setup::new(vec![]);
    setup
        .codex(&["exec", "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil", "hi"])
        .env("OPENCLAW_MODEL_LOCK_MODE", "reject")
        .assert()
        .code(77);
    assert!(setup.mock.requests().is_empty());
}

fn spawn_script(namespace: &str) -> Vec<Reply> {
    vec![
        Reply::ToolCall {
            name: "spawn_agent".into(),
            namespace: namespace.into(),
            arguments: json!({"task_name": "side", "message": "work on another model", "model": "gpt-6-luna", "fork_turns": "none"}),
        },
        Reply::ToolCall { name: "wait_agent".into(), namespace: namespace.into(), arguments: json!({}) },
    ]
}

#[test]
fn spawn_agent_cannot_start_a_subagent_on_another_model() {
    let setup = Setup::new(spawn_script("multi_agent_v1"));
    setup.codex(&["exec", "--skip-git-repo-check", "--ephemeral", "hi"]).assert().success();
    let requests = setup.mock.requests();
    assert!(!requests.is_empty());
    assert!(!mentions_spawn_agent(&requests[0]), "the spawn_agent tool was offered: {}", requests[0].body);
    for request in &requests {
        assert_eq!(request.model.as_deref(), Some(PIN));
        assert_eq!(request.subagent, None, "a sub-agent ran");
    }
}

#[test]
fn without_the_shim_spawn_agent_does_start_a_subagent() {
    // Control: the scripted spawn does reach a sub-agent on another model when nothing disables it.
    let setup = Setup::new(spawn_script("multi_agent_v1"));
    setup.codex_on(&["real"], &["-m", PIN, "exec", "--skip-git-repo-check", "--ephemeral", "hi"]).assert().success();
    let requests = setup.mock.requests();
    assert!(mentions_spawn_agent(&requests[0]));
    assert!(
        requests.iter().any(|r| r.model.as_deref() == Some("gpt-6-luna")),
        "no sub-agent request: {:?}",
        setup.models()
    );
}

#[test]
fn pass_through_commands_behave_as_without_the_shim() {
    let setup = Setup::new(vec![]);
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    for args in
        [&["--version"][..], &["login", "status"], &["mcp", "list"], &["completion", "bash"], &["features", "list"]]
    {
        let direct = setup.codex_on(&["real"], args).output().unwrap();
        let shimmed = setup.codex(args).output().unwrap();
        assert_eq!(shimmed.status.code(), direct.status.code(), "{args:?}");
        assert_eq!(text(shimmed.stderr), text(direct.stderr), "{args:?}");
        let (shimmed, direct) = (text(shimmed.stdout), text(direct.stdout));
        if args == ["features", "list"] {
            // The one difference the shim makes on purpose: sub-agents are off.
            let differing: Vec<(&str, &str)> = shimmed.lines().zip(direct.lines()).filter(|(a, b)| a != b).collect();
            assert_eq!(differing.len(), 1, "{differing:?}");
            assert!(differing[0].0.starts_with("multi_agent ") && differing[0].0.ends_with("false"), "{differing:?}");
        } else {
            assert_eq!(shimmed, direct, "{args:?}");
        }
    }
}

/// The shim's injection as it was before the sub-agent pins: root model pins and the feature flags.
fn feature_flags_only(pin: &str) -> Vec<String> {
    let pin_toml = format!("\"{pin}\"");
    ["-m", pin, "-c", &format!("model={pin_toml}"), "--disable", "multi_agent", "-c", "features.multi_agent_v2=false"]
        .map(String::from)
        .to_vec()
}

fn spawn_v1_direct() -> Vec<Reply> {
    vec![
        Reply::ToolCall {
            name: "spawn_agent".into(),
            namespace: "multi_agent_v1".into(),
            arguments: json!({"message": "work on another model", "model": "gpt-6-luna"}),
        },
        Reply::MessageAfter("root done".into(), std::time::Duration::from_millis(1500)),
    ]
}

fn spawn_v1_code_mode() -> Vec<Reply> {
    let script = "let r; try { r = await tools.multi_agent_v1__spawn_agent({message:\"side work\", model:\"gpt-6-luna\"}); } \
                  catch (e) { r = 'ERR ' + e; } text(JSON.stringify(r)); \
                  try { text(JSON.stringify(await tools.multi_agent_v1__wait_agent({targets:[r.agent_id], timeout_ms:10000}))); } \
                  catch (e) { text('ERR2 ' + e); }";
    vec![
        Reply::Items(vec![
            json!({"type": "custom_tool_call", "name": "exec", "namespace": "functions", "input": script, "call_id": "call_js"}),
        ]),
        Reply::MessageAfter("root done".into(), std::time::Duration::from_millis(1500)),
    ]
}

fn assert_no_subagent(setup: &Setup, pin: &str, what: &str) {
    let requests = setup.mock.requests();
    assert!(!requests.is_empty(), "{what}: no request");
    for request in &requests {
        assert_eq!(request.model.as_deref(), Some(pin), "{what}: {:?}", setup.models());
        assert_eq!(request.subagent, None, "{what}: a sub-agent ran: {:?}", setup.models());
    }
}

fn assert_subagent_on_other_model(setup: &Setup, what: &str) {
    assert!(
        setup.mock.requests().iter().any(|r| r.model.as_deref() == Some("gpt-6-luna")),
        "{what}: control expected a gpt-6-luna sub-agent, saw {:?}",
        setup.models()
    );
}

/// Catalog models turn sub-agent tools on whatever `--disable multi_agent` says (v2 `collaboration`
/// tools for most, v1 tools reachable directly and from code mode for others). For each, a control
/// run with only the feature flags shows the leak, and the shim closes it.
#[test]
fn spawn_agent_is_closed_for_catalog_models_too() {
    type Script = fn() -> Vec<Reply>;
    let cases: [(&str, &str, Script); 3] = [
        ("gpt-6.1-sol", "v2 collaboration spawn", || spawn_script("collaboration")),
        ("gpt-5.6-luna", "v1 spawn", spawn_v1_direct),
        ("gpt-5.6-luna", "v1 spawn from code mode", spawn_v1_code_mode),
    ];
    let exec = ["exec", "--skip-git-repo-check", "--ephemeral", "hi"];
    for (pin, what, script) in cases {
        let control = Setup::new(script());
        let mut args = feature_flags_only(pin);
        args.extend(exec.map(String::from));
        control.codex_on(&["real"], &args.iter().map(String::as_str).collect::<Vec<_>>()).assert().success();
        assert_subagent_on_other_model(&control, &format!("{pin} {what} (feature flags only)"));

        let setup = Setup::new(script());
        setup.codex(&exec).env("OPENCLAW_MODEL", pin).assert().success();
        assert_no_subagent(&setup, pin, &format!("{pin} {what}"));
        assert!(!mentions_spawn_agent(&setup.mock.requests()[0]), "{pin}: spawn_agent still offered");
    }
}
