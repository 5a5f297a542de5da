#!/usr/bin/env bash
# Fetches the pinned real Codex CLI (PyPI wheel openai-codex-cli-bin, hash-checked) into a cache
# outside the source tree and prints the binary's path. Cached: a second run downloads nothing.
# The version must match src/pin/grammar.rs CODEX_VERSION (the tests check it).
set -euo pipefail
VERSION=0.163.0
SHA256=76db41fb07fdf9ddacbe892b48d21dfde270031ec0f5666b5e558114355f006d
cache=${OPENCLAW_CODEX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openclaw-codex}/codex-$VERSION

if [[ -x $cache/bin/codex ]] && "$cache/bin/codex" --version 2>/dev/null | grep -qx "codex-cli $VERSION"; then
  echo "$cache/bin/codex"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "openai-codex-cli-bin==$VERSION --hash=sha256:$SHA256" >"$work/requirements.txt"
python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
  -r "$work/requirements.txt" --dest "$work/wheel" >&2
python3 -m zipfile -e "$work"/wheel/*.whl "$work/x"
# zip does not keep modes: restore the executables codex runs.
mkdir -p "$cache.tmp"
cp -R "$work/x/codex_cli_bin/." "$cache.tmp/"
chmod 0755 "$cache.tmp/bin/"* "$cache.tmp/codex-path/"* "$cache.tmp/codex-resources/"* 2>/dev/null || true
rm -rf "$cache"
mv "$cache.tmp" "$cache"
"$cache/bin/codex" --version | grep -qx "codex-cli $VERSION" || { echo "fetch-codex: $cache/bin/codex is not $VERSION" >&2; exit 1; }
echo "$cache/bin/codex"
