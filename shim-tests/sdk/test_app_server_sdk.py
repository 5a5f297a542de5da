"""OpenAI's Python SDK for Codex (PyPI openai-codex, pinned in requirements.txt) driving
`codex app-server` through the shim and its guard, against the real Codex CLI and the repository's
mock Responses API. Run by `make test-sdk`: OPENCLAW_TEST_SHIM (the staged static shim, its guard
beside it), CODEX_BIN (the real codex), OPENCLAW_MOCK_API (the mock's example binary).

Each security claim has a control run on the real codex alone (`CodexConfig(codex_bin=CODEX_BIN)`).
"""

import os
from pathlib import Path

import pytest
from openai_codex import ApprovalMode, Codex, CodexConfig
from openai_codex.errors import InvalidRequestError

from conftest import CODEX, PIN

SHIM = os.environ["OPENCLAW_TEST_SHIM"]


def config(world, mode, binary=SHIM, overrides=()):
    env = {
        "PATH": f"{Path(SHIM).parent}:{world['real']}:/usr/bin:/bin",
        "CODEX_HOME": str(world["home"]),
        "HOME": str(world["tmp"]),
        "OPENCLAW_MODEL": PIN,
        "OPENCLAW_MODEL_LOCK_MODE": mode,
        "OPENCLAW_AUDIT_JOURNALD": "0",
    }
    return CodexConfig(codex_bin=binary, env=env, cwd=str(world["tmp"]), config_overrides=tuple(overrides))


@pytest.mark.parametrize("mode", ["force", "reject"])
def test_the_sdks_normal_flow_runs_on_the_pin(world, mode):
    with Codex(config(world, mode)) as codex:
        thread = codex.thread_start(approval_mode=ApprovalMode.deny_all)
        result = thread.run("hi")
        assert result.final_response
        resumed = codex.thread_resume(thread.id)
        resumed.run("again")
    assert world["mock"].models() == [PIN, PIN]


def test_force_mode_pins_a_model_the_sdk_names_with_its_default_approval_mode(world):
    with Codex(config(world, "force")) as codex:
        codex.thread_start(model="gpt-4o").run("hi")  # approval_mode=auto_review by default
    assert world["mock"].models() == [PIN]


def test_reject_mode_refuses_the_quickstart_default_and_says_what_to_pass(world):
    with Codex(config(world, "reject")) as codex:
        with pytest.raises(InvalidRequestError) as refused:
            codex.thread_start()  # the SDK's default: approval_mode=auto_review
        assert "approval_mode=ApprovalMode.deny_all" in str(refused.value)
        assert 'approvalsReviewer "user"' in str(refused.value)
        codex.thread_start(approval_mode=ApprovalMode.deny_all).run("hi")
    assert world["mock"].models() == [PIN]


def test_reject_at_launch_reaches_the_caller(world):
    overrides = ['model="gpt-4o"']
    # Control: the real codex alone starts and runs on the model given.
    with Codex(config(world, "reject", binary=CODEX, overrides=overrides)) as codex:
        codex.thread_start(approval_mode=ApprovalMode.deny_all).run("hi")
    assert world["mock"].models() == ["gpt-4o"]
    with pytest.raises(InvalidRequestError) as refused:
        Codex(config(world, "reject", overrides=overrides))
    message = str(refused.value)
    assert "OPENCLAW_MODEL_LOCK_MODE=reject" in message and "gpt-4o" in message and PIN in message, message
    assert world["mock"].models() == ["gpt-4o"], "nothing more reached the model"


def test_a_thread_recorded_on_another_model_resumes_on_the_pin(world):
    # Control: recorded and resumed by the real codex alone, it stays on its model.
    with Codex(config(world, "force", binary=CODEX)) as codex:
        thread = codex.thread_start(model="gpt-recorded", approval_mode=ApprovalMode.deny_all)
        thread.run("hi")
    with Codex(config(world, "force", binary=CODEX)) as codex:
        codex.thread_resume(thread.id).run("again")
    assert world["mock"].models() == ["gpt-recorded", "gpt-recorded"]
    for mode in ["force", "reject"]:
        with Codex(config(world, mode)) as codex:
            codex.thread_resume(thread.id).run("once more")
    assert world["mock"].models()[2:] == [PIN, PIN]
