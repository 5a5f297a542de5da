#!/usr/bin/env bash
# Builds a local stand-in for python:3.11-slim from Debian packages, for machines that cannot pull
# images: debootstrap (bookworm, minbase) with Python 3.11, pip, bash and CA certificates, then
# `docker import`. Cached by tag: an existing image is reused. Prints the tag.
# Usage: packaging/make-base-image.sh [TAG]   (default openclaw-base/python:3.11-bookworm)
set -euo pipefail
tag=${1:-openclaw-base/python:3.11-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi
# One line, and nothing else, when the stand-in cannot be built: what to install.
command -v debootstrap >/dev/null || {
  echo "make-base-image: no base image: the Docker engine has no python:3.11-slim and no $tag, and debootstrap (which builds the stand-in) is missing: install it (apt-get install debootstrap), or load python:3.11-slim into the engine" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || { echo "make-base-image: no base image: building the stand-in $tag with debootstrap needs root: run as root, or load python:3.11-slim into the engine" >&2; exit 1; }

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,bash,ca-certificates,passwd \
  bookworm "$rootfs" "$mirror" >&2
# No apt caches or lists in the image; python3 also as `python`, as in the official image.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
ln -sf python3 "$rootfs/usr/bin/python"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$tag" >&2
echo "$tag"
