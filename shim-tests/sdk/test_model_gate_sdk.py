"""OpenAI's Python SDK for Codex with its *bundled* codex (no `codex_bin`: no shim, no guard) on a
machine whose /etc/codex/requirements.toml forces the provider to the model gate: every request the
SDK's threads make reaches the upstream on the pin (force), or none on another model does (reject).

The /etc/codex here is the test's own: `make test-sdk` runs pytest in a private mount namespace
(unshare -m), where this module mounts an overlay over /etc and its own directory over /etc/codex;
the machine's /etc is never touched. Control: the same calls with an empty /etc/codex leak.
"""

import os
import subprocess
import tempfile
from pathlib import Path

import codex_cli_bin
import pytest
from openai_codex import ApprovalMode, Codex, CodexConfig

from conftest import PIN

GATE = os.environ.get("OPENCLAW_TEST_GATE", "")


def private_mount_namespace():
    """Not the namespace of whoever started pytest (`unshare -m` replaced itself with pytest)."""
    return os.readlink("/proc/self/ns/mnt") != os.readlink(f"/proc/{os.getppid()}/ns/mnt")


@pytest.fixture(scope="module")
def etc_codex():
    if not GATE or os.geteuid() != 0 or not private_mount_namespace():
        pytest.fail("needs OPENCLAW_TEST_GATE, root and a private mount namespace: run it with make test-sdk")
    layer = Path(tempfile.mkdtemp(prefix="openclaw-sdk-etc-"))
    for sub in ["upper", "work", "codex"]:
        (layer / sub).mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir=/etc,upperdir={layer}/upper,workdir={layer}/work", "/etc"], check=True)
    os.makedirs("/etc/codex", exist_ok=True)
    subprocess.run(["mount", "--bind", str(layer / "codex"), "/etc/codex"], check=True)
    yield layer / "codex"


class Gate:
    def __init__(self, mode, upstream):
        env = {"OPENCLAW_MODEL": PIN, "OPENCLAW_MODEL_LOCK_MODE": mode, "OPENCLAW_AUDIT_JOURNALD": "0"}
        self.proc = subprocess.Popen([GATE, "serve", "--listen", "127.0.0.1:0", "--upstream", upstream],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert self.url.startswith("http://127.0.0.1:"), self.proc.stderr.read()

    def requirements(self):
        return subprocess.run([GATE, "requirements", "--gate-url", self.url], check=True,
                              capture_output=True, text=True).stdout

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def bundled(world):
    """The SDK's own codex: no codex_bin, so no PATH search and no shim."""
    env = {"CODEX_HOME": str(world["home"]), "HOME": str(world["tmp"]), "PATH": "/usr/bin:/bin"}
    return CodexConfig(env=env, cwd=str(world["tmp"]))


def login(world):
    """An API-key login in the world's CODEX_HOME, by the SDK's own codex."""
    subprocess.run([codex_cli_bin.bundled_codex_path(), "login", "--with-api-key"], input="sk-test-sdk", text=True,
                   check=True, env={"CODEX_HOME": str(world["home"]), "PATH": "/usr/bin:/bin"}, capture_output=True)


def run_threads(world):
    """A thread started on another model, then resumed naming none: the SDK's normal calls."""
    with Codex(bundled(world)) as codex:
        thread = codex.thread_start(model="gpt-4o", approval_mode=ApprovalMode.deny_all)
        thread.run("hi")
        codex.thread_resume(thread.id).run("again")


@pytest.mark.parametrize("layer", ["control", "force", "reject"])
def test_the_sdks_bundled_codex_is_pinned_by_the_gate(etc_codex, world, layer):
    requirements = etc_codex / "requirements.toml"
    requirements.unlink(missing_ok=True)
    gate = None
    if layer != "control":
        gate = Gate(layer, world["mock"].base_url)
        requirements.write_text(gate.requirements())
    try:
        login(world)
        if layer == "reject":
            with pytest.raises(Exception) as refused:
                run_threads(world)
            assert "openclaw model gate: refused" in str(refused.value), refused.value
        else:
            run_threads(world)
    finally:
        requirements.unlink(missing_ok=True)
        if gate:
            gate.stop()
    models = world["mock"].models()
    if layer == "control":
        assert models and all(m != PIN for m in models), f"control shows no leak: {models}"
    elif layer == "force":
        assert models == [PIN, PIN], models
    else:
        assert models == [], models
