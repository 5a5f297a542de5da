"""Fixtures: a fresh import of openclaw.llm under a chosen environment, and a fake codex on PATH."""

from __future__ import annotations

import importlib
import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PIN = "gpt-pin"


@pytest.fixture
def load_llm(monkeypatch):
    """Imports openclaw.llm afresh with OPENCLAW_* taken from ``env`` (the module reads them at import)."""

    def load(**env: str | None):
        for name in ("OPENCLAW_MODEL", "OPENCLAW_MODEL_LOCK_MODE", "STATSD_HOST", "STATSD_PORT"):
            monkeypatch.delenv(name, raising=False)
        for name, value in {"OPENCLAW_MODEL": PIN, **env}.items():
            if value is not None:
                monkeypatch.setenv(name, value)
        sys.modules.pop("openclaw.llm", None)
        return importlib.import_module("openclaw.llm")

    yield load
    sys.modules.pop("openclaw.llm", None)


FAKE_CODEX = """\
#!{python}
# Records its argv, then answers like `codex exec --json` (or fails, or hangs).
import json, os, sys, time
with open(os.environ["FAKE_CODEX_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
action = os.environ.get("FAKE_CODEX_ACTION", "")
if action.startswith("exit:"):
    sys.stderr.write("x" * 5000 + "codex says: boom\\n")
    sys.exit(int(action[5:]))
if action == "hang":
    time.sleep(60)
for event in [
    {{"type": "thread.started", "thread_id": "t1"}},
    {{"type": "item.completed", "item": {{"id": "i0", "type": "agent_message", "text": "first"}}}},
    {{"type": "item.completed", "item": {{"id": "i1", "type": "agent_message", "text": "final answer"}}}},
    {{"type": "turn.completed", "usage": {{}}}},
]:
    print(json.dumps(event))
"""


@pytest.fixture
def fake_codex(tmp_path, monkeypatch):
    """A fake `codex` first on PATH; returns a function listing the argv of each run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    codex = bin_dir / "codex"
    codex.write_text(FAKE_CODEX.format(python=sys.executable))
    codex.chmod(codex.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    log = tmp_path / "codex-runs.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CODEX_LOG", str(log))

    def runs() -> list[list[str]]:
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    return runs


def required_path(variable: str, what: str) -> Path:
    value = os.environ.get(variable)
    if not value or not Path(value).exists():
        pytest.fail(f"{variable} must name {what}; `make test` sets it (got {value!r})")
    return Path(value)


__all__ = ["REPO", "PIN", "required_path", "textwrap"]
