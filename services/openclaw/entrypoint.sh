#!/bin/sh
# The path the design names; the checks live in the static openclaw-entrypoint.
exec /usr/local/bin/openclaw-entrypoint "$@"
