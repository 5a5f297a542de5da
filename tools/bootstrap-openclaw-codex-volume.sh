#!/usr/bin/env bash
# Prepares OpenClaw's dedicated Codex auth volume from the workers' one (design doc §8): runs the
# bootstrap-openclaw-codex-volume bin with the arguments given (--help lists them and the exit codes).
#
# The bin must be static: it also becomes the only file of the FROM-scratch helper image that does
# the copy. So this wrapper builds it with packaging/build-static.sh (cargo; a no-op when up to date)
# into target/bootstrap/, quietly unless the build fails or --verbose is given, then execs it.
# OPENCLAW_BOOTSTRAP_BIN=/path/to/static/bin runs a prebuilt one instead (a machine without Rust).
set -euo pipefail
name=bootstrap-openclaw-codex-volume

if [[ -n ${OPENCLAW_BOOTSTRAP_BIN:-} ]]; then
  exec "$OPENCLAW_BOOTSTRAP_BIN" "$@"
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$repo/target/bootstrap/$name
mkdir -p "$repo/target/bootstrap"

verbose=false
for arg in "$@"; do
  [[ $arg == --verbose || $arg == -v ]] && verbose=true
done

# One build at a time (concurrent runs would race on the staged file).
build=("$repo/packaging/build-static.sh" "$name" "$bin")
if command -v flock >/dev/null; then
  build=(flock "$repo/target/bootstrap/.build.lock" "${build[@]}")
fi
if $verbose; then
  "${build[@]}" >&2 || { echo "$name: building the static binary failed" >&2; exit 20; }
else
  log=$(mktemp)
  if ! "${build[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "$name: building the static binary failed (exit 20: the helper image needs it)" >&2
    exit 20
  fi
  rm -f "$log"
fi
exec "$bin" "$@"
