#!/usr/bin/env bash
# Runs COMMAND with OPENCLAW_TEST_IMAGE naming a freshly built OpenClaw image (unique tag, removed
# afterwards, even on failure), for the test suites that need the real image. Without a Docker
# engine it runs COMMAND as is: those tests then skip loudly (or fail under OPENCLAW_REQUIRE_DOCKER=1).
# Usage: packaging/with-test-image.sh COMMAND [ARG...]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  exec "$@"
fi
tag="openclaw-test-make-$$-$(date +%s):test"
# openclaw-image also builds the model gate's image under the tag image::gate_tag derives.
gate_tag="openclaw-test-make-$$-$(date +%s)-model-gate:test"
npm_dir=$(mktemp -d)
trap 'docker image rm --force "$tag" "$gate_tag" >/dev/null 2>&1 || true; rm -rf "$npm_dir"' EXIT
base=${OPENCLAW_TEST_BASE_IMAGE:-$(packaging/make-base-image.sh)}
# OpenClaw in the test image is a stand-in (the npm registry is unreachable here), installed through
# the very same build path as the real package: `npm pack` of shim-tests/fixtures/openclaw-standin.
command -v npm >/dev/null || { echo "with-test-image: npm is missing (it packs the OpenClaw stand-in): apt-get install npm" >&2; exit 1; }
npm pack --silent --pack-destination "$npm_dir" shim-tests/fixtures/openclaw-standin >/dev/null
cargo run --release --quiet --bin openclaw-image -- --tag "$tag" --base-image "$base" \
  --build-arg "OPENCLAW_NPM_SPEC=$(echo "$npm_dir"/openclaw-*.tgz)" >&2
export OPENCLAW_TEST_IMAGE=$tag OPENCLAW_TEST_BASE_IMAGE=$base
"$@"
