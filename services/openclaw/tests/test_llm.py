"""openclaw.llm: the policy rules shared with the shim, force and reject, Codex failures, StatsD,
and generate() end to end through the real shim and the real Codex CLI."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys

import pytest

from conftest import PIN, REPO, required_path

VECTORS = json.loads((REPO / "shim-tests" / "vectors" / "policy.json").read_text())


@pytest.mark.parametrize("case", VECTORS["model"], ids=lambda c: repr(c["input"]))
def test_model_vectors_shared_with_the_shim(load_llm, case):
    llm = load_llm()
    if "model" in case:
        assert llm.parse_model(case["input"]) == case["model"]
    else:
        with pytest.raises(llm.ConfigurationError) as caught:
            llm.parse_model(case["input"])
        assert caught.value.kind == case["error"]


@pytest.mark.parametrize("case", VECTORS["mode"], ids=lambda c: repr(c["input"]))
def test_mode_vectors_shared_with_the_shim(load_llm, case):
    llm = load_llm()
    if "mode" in case:
        assert llm.parse_mode(case["input"]) == case["mode"]
    else:
        with pytest.raises(llm.ConfigurationError) as caught:
            llm.parse_mode(case["input"])
        assert caught.value.kind == case["error"]


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "OPENCLAW_MODEL is not set"),
        ({"OPENCLAW_MODEL": "  "}, "OPENCLAW_MODEL is empty"),
        ({"OPENCLAW_MODEL": "gpt", "OPENCLAW_MODEL_LOCK_MODE": "sometimes"}, "is not a lock mode"),
    ],
)
def test_invalid_configuration_fails_at_import(env, message):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    done = subprocess.run([sys.executable, "-c", "import openclaw.llm"], env={**clean, **env}, capture_output=True, text=True)
    assert done.returncode != 0
    assert "ConfigurationError" in done.stderr and message in done.stderr


def test_plain_call_runs_codex_on_the_pinned_model(load_llm, fake_codex):
    llm = load_llm()
    assert llm.generate("what is 2+2?") == "final answer"
    (argv,) = fake_codex()
    assert argv[:2] == ["exec", "--json"]
    assert argv[argv.index("--model") + 1] == PIN
    assert argv[-2:] == ["--", "what is 2+2?"]


def test_force_logs_the_attempt_and_calls_the_pinned_model(load_llm, fake_codex, caplog):
    llm = load_llm(OPENCLAW_MODEL_LOCK_MODE="force")
    with caplog.at_level(logging.WARNING, logger="openclaw.llm.policy"):
        assert llm.generate("hi", model="gpt-4o", profile="work") == "final answer"
    (argv,) = fake_codex()
    assert "gpt-4o" not in argv and "work" not in argv
    assert argv[argv.index("--model") + 1] == PIN
    records = [r for r in caplog.records if r.name == "openclaw.llm.policy"]
    assert [(r.levelno, r.pinned, r.attempted, r.mode, r.action) for r in records] == [
        (logging.WARNING, PIN, "model=gpt-4o", "force", "forced"),
        (logging.WARNING, PIN, "profile=work", "force", "forced"),
    ]


def test_choosing_the_pinned_model_is_not_an_attempt(load_llm, fake_codex, caplog):
    llm = load_llm(OPENCLAW_MODEL_LOCK_MODE="reject")
    with caplog.at_level(logging.WARNING, logger="openclaw.llm.policy"):
        assert llm.generate("hi", model=PIN, oss=False) == "final answer"
    assert not caplog.records
    assert len(fake_codex()) == 1


@pytest.mark.parametrize("attempt", [{"model": "gpt-4o"}, {"model_provider": "evil"}, {"base_url": "http://evil"}, {"oss": True}, {"local_provider": "ollama"}])
def test_reject_raises_before_any_subprocess(load_llm, fake_codex, caplog, attempt):
    llm = load_llm(OPENCLAW_MODEL_LOCK_MODE="reject")
    with caplog.at_level(logging.WARNING, logger="openclaw.llm.policy"), pytest.raises(llm.ModelOverrideRejected) as caught:
        llm.generate("hi", **attempt)
    assert fake_codex() == [], "codex ran"
    assert caught.value.pinned == PIN and caught.value.attempted == attempt
    (record,) = [r for r in caplog.records if r.name == "openclaw.llm.policy"]
    assert (record.action, record.mode) == ("rejected", "reject")


def test_unknown_options_are_a_type_error(load_llm, fake_codex):
    llm = load_llm()
    with pytest.raises(TypeError, match="temperature"):
        llm.generate("hi", temperature=0.1)
    assert fake_codex() == []


def test_codex_failure_is_typed_with_exit_status_and_stderr_tail(load_llm, fake_codex, monkeypatch):
    llm = load_llm()
    monkeypatch.setenv("FAKE_CODEX_ACTION", "exit:3")
    with pytest.raises(llm.CodexError) as caught:
        llm.generate("hi")
    assert caught.value.returncode == 3
    assert caught.value.stderr.endswith("codex says: boom\n")
    assert len(caught.value.stderr) == llm.STDERR_TAIL


def test_timeout(load_llm, fake_codex, monkeypatch):
    llm = load_llm()
    monkeypatch.setenv("FAKE_CODEX_ACTION", "hang")
    with pytest.raises(llm.CodexTimeout):
        llm.generate("hi", timeout=0.5)


def test_statsd_counts_each_attempt(load_llm, fake_codex):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(10)
        port = listener.getsockname()[1]
        llm = load_llm(OPENCLAW_MODEL_LOCK_MODE="force", STATSD_HOST="127.0.0.1", STATSD_PORT=str(port))
        llm.generate("hi", model="gpt-4o")
        assert listener.recv(1500) == b"openclaw.model_lock.override:1|c|#action:forced,mode:force,source:adapter"
        llm = load_llm(OPENCLAW_MODEL_LOCK_MODE="reject", STATSD_HOST="127.0.0.1", STATSD_PORT=str(port))
        with pytest.raises(llm.ModelOverrideRejected):
            llm.generate("hi", model="gpt-4o")
        assert listener.recv(1500) == b"openclaw.model_lock.override:1|c|#action:rejected,mode:reject,source:adapter"


def test_unreachable_statsd_changes_nothing(load_llm, fake_codex):
    llm = load_llm(STATSD_HOST="statsd.invalid", STATSD_PORT="8125")
    assert llm.generate("hi", model="gpt-4o") == "final answer"


def test_generate_end_to_end_through_the_real_shim_and_codex(load_llm, tmp_path, monkeypatch):
    """The real static shim and the real Codex CLI against the Rust Responses API mock."""
    shim = required_path("OPENCLAW_TEST_SHIM", "the static codex shim")
    real = required_path("CODEX_BIN", "the real Codex CLI")
    mock_api = required_path("OPENCLAW_MOCK_API", "the mock_api example binary")
    (tmp_path / "shim").mkdir()
    (tmp_path / "real").mkdir()
    shutil.copy(shim, tmp_path / "shim" / "codex")
    (tmp_path / "real" / "codex").symlink_to(real)
    home = tmp_path / "codex-home"
    home.mkdir()
    record = tmp_path / "requests.jsonl"
    mock = subprocess.Popen([mock_api, record, "Four."], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base_url = mock.stdout.readline().strip()
        (home / "config.toml").write_text(
            f'model = "gpt-other"\nmodel_provider = "mock"\n[model_providers.mock]\nname = "mock"\nbase_url = "{base_url}"\nwire_api = "responses"\n'
        )
        monkeypatch.setenv("PATH", f"{tmp_path / 'shim'}{os.pathsep}{tmp_path / 'real'}{os.pathsep}/usr/bin:/bin")
        monkeypatch.setenv("CODEX_HOME", str(home))
        monkeypatch.setenv("OPENCLAW_AUDIT_JOURNALD", "0")
        monkeypatch.setenv("TMPDIR", str(tmp_path))
        llm = load_llm(OPENCLAW_MODEL_LOCK_MODE="force")
        assert llm.generate("What is 2+2?", model="gpt-4o", timeout=60, cwd=str(tmp_path)) == "Four."
    finally:
        mock.stdin.close()
        mock.wait(10)
    requests = [json.loads(line) for line in record.read_text().splitlines()]
    assert requests and all(r["model"] == PIN and r["path"] == "/v1/responses" for r in requests), requests
