"""OpenClaw's one door to the model: ``generate()`` runs ``codex exec --json`` on the pinned model.

The model lock has two layers that must agree exactly: this adapter and the ``codex`` PATH shim it
calls through. Both read ``OPENCLAW_MODEL`` and ``OPENCLAW_MODEL_LOCK_MODE`` with the same rules
(``shim-tests/vectors/policy.json`` holds the cases both test suites check):

- ``OPENCLAW_MODEL``: trimmed of Unicode white space; empty, containing a control character, or
  starting with ``-`` is invalid.
- ``OPENCLAW_MODEL_LOCK_MODE``: ``force`` (default, also when empty) or ``reject``, trimmed, ASCII
  case-insensitive.

The configuration is read at import time: an invalid one raises ``ConfigurationError`` from
``import openclaw.llm``, so OpenClaw cannot start, let alone call Codex without a model.

``generate()`` takes no model. An option that would choose a model or provider is an override
attempt: logged on the ``openclaw.llm.policy`` logger (``extra``: pinned, attempted, mode, action)
and counted in StatsD, then dropped (``force``) or refused with ``ModelOverrideRejected`` before
Codex runs (``reject``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import threading
import unicodedata
from dataclasses import dataclass

__all__ = [
    "CodexError",
    "CodexTimeout",
    "ConfigurationError",
    "ModelOverrideRejected",
    "Policy",
    "generate",
    "load_policy",
    "parse_mode",
    "parse_model",
    "PINNED_MODEL",
    "LOCK_MODE",
]

MODEL_VAR = "OPENCLAW_MODEL"
MODE_VAR = "OPENCLAW_MODEL_LOCK_MODE"
POLICY_LOGGER = logging.getLogger("openclaw.llm.policy")

# Rust's str::trim: the Unicode White_Space property. Python's str.strip() also strips
# U+001C..U+001F, which the shim treats as control characters: use the same set here.
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)

# Options of generate() that would pick a model, a provider or an endpoint.
OVERRIDE_OPTIONS = frozenset(
    {"model", "review_model", "model_provider", "provider", "profile", "oss", "local_provider", "base_url", "openai_base_url"}
)
DEFAULT_TIMEOUT = 600.0
STDERR_TAIL = 4000


class ConfigurationError(RuntimeError):
    """OPENCLAW_MODEL or OPENCLAW_MODEL_LOCK_MODE is invalid. ``kind`` is the shared vector kind."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class ModelOverrideRejected(RuntimeError):
    """Reject mode and the caller tried to choose a model or provider; Codex was not called."""

    def __init__(self, pinned: str, attempted: dict[str, object]):
        names = ", ".join(f"{k}={v!r}" for k, v in attempted.items())
        super().__init__(f"{MODE_VAR}=reject and the call tries to choose the model or its endpoint with {names}; OpenClaw is pinned to {pinned!r}")
        self.pinned = pinned
        self.attempted = attempted


class CodexError(RuntimeError):
    """Codex failed. ``returncode`` is its exit status, ``stderr`` the end of what it printed."""

    def __init__(self, message: str, returncode: int | None, stderr: str):
        super().__init__(f"{message} (exit status {returncode}): {stderr[-500:].strip()}")
        self.returncode = returncode
        self.stderr = stderr


class CodexTimeout(CodexError):
    """Codex did not finish within the timeout; it was killed."""


def parse_model(raw: str | None) -> str:
    if raw is None:
        raise ConfigurationError("missing", f"{MODEL_VAR} is not set: set it to the one model OpenClaw may use")
    model = raw.strip(_WHITE_SPACE)
    if not model:
        raise ConfigurationError("empty", f"{MODEL_VAR} is empty: set it to the one model OpenClaw may use")
    if any(unicodedata.category(c) == "Cc" for c in model):
        raise ConfigurationError("control", f"{MODEL_VAR} contains a control character: set it to a plain model name")
    if model.startswith("-"):
        raise ConfigurationError("leading-dash", f"{MODEL_VAR}={model!r} starts with '-': set it to a plain model name")
    return model


def parse_mode(raw: str | None) -> str:
    text = "" if raw is None else raw
    # ASCII-only lowering, as the shim does (str.lower() would map e.g. U+212A KELVIN SIGN to "k").
    mode = "".join(c.lower() if c.isascii() else c for c in text.strip(_WHITE_SPACE))
    if mode in ("", "force"):
        return "force"
    if mode == "reject":
        return "reject"
    raise ConfigurationError("mode-invalid", f"{MODE_VAR}={text!r} is not a lock mode: use \"force\" (default) or \"reject\"")


@dataclass(frozen=True)
class Policy:
    model: str
    mode: str


def load_policy(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> Policy:
    return Policy(model=parse_model(environ.get(MODEL_VAR)), mode=parse_mode(environ.get(MODE_VAR)))


_POLICY = load_policy()
PINNED_MODEL = _POLICY.model
LOCK_MODE = _POLICY.mode


def _sanitise_tag(value: str) -> str:
    return "".join("_" if c in "|,#:@" or c.isspace() else c for c in value)


def _statsd_count(action: str, mode: str) -> None:
    """``openclaw.model_lock.override:1|c|#action:...,mode:...,source:adapter``, fire and forget.

    Name resolution may block, so it runs on a daemon thread the caller waits for at most 50 ms.
    """
    host = os.environ.get("STATSD_HOST", "").strip()
    if not host:
        return
    try:
        port = int(os.environ.get("STATSD_PORT", "8125").strip())
    except ValueError:
        return
    line = f"openclaw.model_lock.override:1|c|#action:{_sanitise_tag(action)},mode:{_sanitise_tag(mode)},source:adapter"

    def send() -> None:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(family, kind, proto) as sock:
                sock.setblocking(False)
                sock.sendto(line.encode(), address)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    sender.join(0.05)


def _police(options: dict[str, object], policy: Policy) -> None:
    """Handles the override attempts in ``options`` (removed from it) per the lock mode."""
    attempted = {k: options.pop(k) for k in sorted(OVERRIDE_OPTIONS & options.keys())}
    # Choosing the pinned model, or leaving an option unset, is not an attempt.
    attempted = {k: v for k, v in attempted.items() if v not in (None, False) and not (k == "model" and v == policy.model)}
    action = "forced" if policy.mode == "force" else "rejected"
    for name, value in attempted.items():
        POLICY_LOGGER.warning(
            "model override %s: %s=%r (pinned %r)",
            action,
            name,
            value,
            policy.model,
            extra={"pinned": policy.model, "attempted": f"{name}={value}", "mode": policy.mode, "action": action},
        )
        _statsd_count(action, policy.mode)
    if attempted and policy.mode == "reject":
        raise ModelOverrideRejected(policy.model, attempted)


def _final_message(stdout: str) -> str | None:
    message = None
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        item = event.get("item") if isinstance(event, dict) else None
        if event.get("type") == "item.completed" and isinstance(item, dict) and item.get("type") == "agent_message":
            message = item.get("text")
    return message


def generate(prompt: str, *, timeout: float = DEFAULT_TIMEOUT, cwd: str | None = None, images: list[str] | tuple[str, ...] = (), sandbox: str = "read-only", **overrides: object) -> str:
    """Runs one non-interactive Codex turn on the pinned model and returns its final message.

    ``overrides`` only exists to catch model or provider choices (``model=``, ``profile=``, ...):
    they are dropped with a warning (force) or refused with ``ModelOverrideRejected`` (reject).
    Any other keyword is a ``TypeError``.
    """
    unknown = sorted(overrides.keys() - OVERRIDE_OPTIONS)
    if unknown:
        raise TypeError(f"generate() got unexpected keyword argument(s): {', '.join(unknown)}")
    _police(overrides, _POLICY)

    argv = ["codex", "exec", "--json", "--color", "never", "--sandbox", sandbox, "--skip-git-repo-check", "--ephemeral", "--model", _POLICY.model]
    argv += [f"--image={image}" for image in images]
    argv += ["--", prompt]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False)
    except subprocess.TimeoutExpired as e:
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise CodexTimeout(f"codex did not finish within {timeout} s", None, stderr[-STDERR_TAIL:]) from None
    except OSError as e:
        raise CodexError(f"cannot run codex: {e}", None, "") from None
    if done.returncode != 0:
        raise CodexError("codex failed", done.returncode, done.stderr[-STDERR_TAIL:])
    message = _final_message(done.stdout)
    if message is None:
        raise CodexError("codex gave no final message", done.returncode, done.stderr[-STDERR_TAIL:])
    return message
