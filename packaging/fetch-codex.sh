#!/usr/bin/env bash
# Fetches the pinned real Codex CLI (PyPI wheel openai-codex-cli-bin, hash-checked) into a cache
# outside the source tree and prints the binary's path. Cached: a second run downloads nothing.
# The pin (version and hash) is packaging/codex-cli.requirements.txt's.
set -euo pipefail
requirements=$(cd "$(dirname "$0")" && pwd)/codex-cli.requirements.txt
VERSION=$(sed -n 's/^openai-codex-cli-bin==\([^ ]*\) .*/\1/p' "$requirements")
[[ -n $VERSION ]] || { echo "fetch-codex: no openai-codex-cli-bin pin in $requirements" >&2; exit 1; }
cache=${OPENCLAW_CODEX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openclaw-codex}/codex-$VERSION

if [[ -x $cache/bin/codex ]] && "$cache/bin/codex" --version 2>/dev/null | grep -qx "codex-cli $VERSION"; then
  echo "$cache/bin/codex"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
  -r "$requirements" --dest "$work/wheel" >&2
python3 -m zipfile -e "$work"/wheel/*.whl "$work/x"
# zip does not keep modes: restore the executables codex runs.
mkdir -p "$cache.tmp"
cp -R "$work/x/codex_cli_bin/." "$cache.tmp/"
chmod 0755 "$cache.tmp/bin/"* "$cache.tmp/codex-path/"* "$cache.tmp/codex-resources/"* 2>/dev/null || true
rm -rf "$cache"
mv "$cache.tmp" "$cache"
"$cache/bin/codex" --version | grep -qx "codex-cli $VERSION" || { echo "fetch-codex: $cache/bin/codex is not $VERSION" >&2; exit 1; }
echo "$cache/bin/codex"
