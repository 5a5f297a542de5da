"""What the SDK tests share: the mock Responses API as a process, and a world (a CODEX_HOME whose
config names another model on the mock, the real codex linked for the shim to find)."""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PIN = "gpt-pinned-by-openclaw"
CODEX = os.environ["CODEX_BIN"]
MOCK = os.environ["OPENCLAW_MOCK_API"]


class Mock:
    """The mock Responses API as a process: its base URL, and the requests it recorded."""

    def __init__(self, tmp: Path):
        self.record = tmp / "requests.jsonl"
        self.proc = subprocess.Popen([MOCK, str(self.record)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.base_url = self.proc.stdout.readline().strip()

    def models(self):
        time.sleep(0.3)  # the mock appends its records as they come
        if not self.record.exists():
            return []
        return [json.loads(line)["model"] for line in self.record.read_text().splitlines() if line]

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def world():
    tmp = Path(tempfile.mkdtemp(prefix="openclaw-sdk-"))
    mock = Mock(tmp)
    home = tmp / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(
        'model = "gpt-other-from-user-config"\nmodel_provider = "mock"\n[model_providers.mock]\nname = "mock"\n'
        f'base_url = "{mock.base_url}"\nwire_api = "responses"\nrequest_max_retries = 0\nstream_max_retries = 0\n'
    )
    # The shim finds the real codex after itself on PATH.
    real = tmp / "real"
    real.mkdir()
    os.symlink(CODEX, real / "codex")
    yield {"tmp": tmp, "mock": mock, "home": home, "real": real}
    mock.stop()
    shutil.rmtree(tmp, ignore_errors=True)


