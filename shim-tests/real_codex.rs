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
        &[
            "exec",
            "--skip-git-repo-check",
            "--ephemeral",
            "-m",
            "gpt-evil",
            "hi",
        ],
        &[
            "-m",
            "gpt-evil",
            "exec",
            "--skip-git-repo-check",
            "--ephemeral",
            "hi",
        ],
        &[
            "exec",
            "--skip-git-repo-check",
            "--ephemeral",
            "-c",
            "model=\"gpt-evil\"",
            "-c",
            "x=1",
            "hi",
        ],
        &[
            "e",
            "--skip-git-repo-check",
            "--ephemeral",
            "hi",
            "--model=gpt-evil",
        ],
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
        assert!(
            !requests.is_empty(),
            "{args:?}: no request reached the mock"
        );
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
        .codex_on(
            &["real"],
            &[
                "exec",
                "--skip-git-repo-check",
                "--ephemeral",
                "-m",
                "gpt-evil",
                "hi",
            ],
        )
        .assert()
        .success();
    assert_eq!(setup.models(), [Some("gpt-evil".to_owned())]);
}

#[test]
fn reject_mode_sends_nothing() {
    let setup = Setup::new(vec![]);
    setup
        .codex(&[
            "exec",
            "--skip-git-repo-check",
            "--ephemeral",
            "-m",
            "gpt-evil",
            "hi",
        ])
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
        Reply::ToolCall {
            name: "wait_agent".into(),
            namespace: namespace.into(),
            arguments: json!({}),
        },
    ]
}

#[test]
fn spawn_agent_cannot_start_a_subagent_on_another_model() {
    let setup = Setup::new(spawn_script("multi_agent_v1"));
    setup
        .codex(&["exec", "--skip-git-repo-check", "--ephemeral", "hi"])
        .assert()
        .success();
    let requests = setup.mock.requests();
    assert!(!requests.is_empty());
    assert!(
        !mentions_spawn_agent(&requests[0]),
        "the spawn_agent tool was offered: {}",
        requests[0].body
    );
    for request in &requests {
        assert_eq!(request.model.as_deref(), Some(PIN));
        assert_eq!(request.subagent, None, "a sub-agent ran");
    }
}

#[test]
fn without_the_shim_spawn_agent_does_start_a_subagent() {
    // Control: the scripted spawn does reach a sub-agent on another model when nothing disables it.
    let setup = Setup::new(spawn_script("multi_agent_v1"));
    setup
        .codex_on(
            &["real"],
            &[
                "-m",
                PIN,
                "exec",
                "--skip-git-repo-check",
                "--ephemeral",
                "hi",
            ],
        )
        .assert()
        .success();
    let requests = setup.mock.requests();
    assert!(mentions_spawn_agent(&requests[0]));
    assert!(
        requests
            .iter()
            .any(|r| r.model.as_deref() == Some("gpt-6-luna")),
        "no sub-agent request: {:?}",
        setup.models()
    );
}

#[test]
fn pass_through_commands_behave_as_without_the_shim() {
    let setup = Setup::new(vec![]);
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    for args in [
        &["--version"][..],
        &["login", "status"],
        &["mcp", "list"],
        &["completion", "bash"],
        &["features", "list"],
    ] {
        let direct = setup.codex_on(&["real"], args).output().unwrap();
        let shimmed = setup.codex(args).output().unwrap();
        assert_eq!(shimmed.status.code(), direct.status.code(), "{args:?}");
        assert_eq!(text(shimmed.stderr), text(direct.stderr), "{args:?}");
        let (shimmed, direct) = (text(shimmed.stdout), text(direct.stdout));
        if args == ["features", "list"] {
            // The one difference the shim makes on purpose: sub-agents are off.
            let differing: Vec<(&str, &str)> = shimmed
                .lines()
                .zip(direct.lines())
                .filter(|(a, b)| a != b)
                .collect();
            assert_eq!(differing.len(), 1, "{differing:?}");
            assert!(
                differing[0].0.starts_with("multi_agent ") && differing[0].0.ends_with("false"),
                "{differing:?}"
            );
        } else {
            assert_eq!(shimmed, direct, "{args:?}");
        }
    }
}
