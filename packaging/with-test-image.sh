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
trap 'docker image rm --force "$tag" "$gate_tag" >/dev/null 2>&1 || true' EXIT
base=${OPENCLAW_TEST_BASE_IMAGE:-$(packaging/make-base-image.sh)}
cargo run --release --quiet --bin openclaw-image -- --tag "$tag" --base-image "$base" >&2
export OPENCLAW_TEST_IMAGE=$tag OPENCLAW_TEST_BASE_IMAGE=$base
"$@"
