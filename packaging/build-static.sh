#!/usr/bin/env bash
# Builds one bin of this package as a static binary and copies it to DEST.
# Usage: packaging/build-static.sh BIN DEST
# musl first; where the musl target cannot be installed, glibc with crt-static.
set -euo pipefail
bin=$1 dest=$2
cd "$(dirname "$0")/.."

if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl \
   || rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1; then
  target=x86_64-unknown-linux-musl
  cargo build --release --locked --target "$target" --bin "$bin"
else
  echo "build-static: musl target unavailable, falling back to static glibc" >&2
  target=x86_64-unknown-linux-gnu
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin "$bin"
fi
built=target/$target/release/$bin

# A static binary has no program interpreter; refuse to stage anything else.
if ! file -L "$built" | grep -Eq 'statically linked|static-pie linked'; then
  echo "build-static: $built is not static: $(file -L "$built")" >&2
  exit 1
fi
mkdir -p "$(dirname "$dest")"
# A temp name per process: two builds staging the same file at once must not share it.
install -m 0755 "$built" "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
echo "build-static: $dest ($(stat -c %s "$dest") bytes, $(file -b "$dest" | cut -d, -f1-3))"
