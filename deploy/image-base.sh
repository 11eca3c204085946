#!/usr/bin/env bash
# Build a local Debian bookworm base image with python3 (for machines that cannot pull from Docker Hub):
# debootstrap a minimal root, then `docker import` it. Reused when the tag already exists.
#   deploy/image-base.sh [TAG]        (default whisperer-base:bookworm; needs root, debootstrap and docker)
set -euo pipefail
TAG="${1:-whisperer-base:bookworm}"
DOCKER="${DOCKER:-docker}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if "$DOCKER" image inspect "$TAG" >/dev/null 2>&1; then
  echo "image-base: $TAG already built (docker rmi $TAG to rebuild)"
  exit 0
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
echo "image-base: debootstrap bookworm into a temporary folder (a few minutes)"
timeout "${BASE_TIMEOUT:-900}" debootstrap --variant=minbase \
  --include=python3,python3-venv,python3-pip,ca-certificates \
  bookworm "$root" "$MIRROR" >/dev/null
# The slim Python images' habits: no apt lists or caches in the layer.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | "$DOCKER" import \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$TAG" >/dev/null
echo "image-base: built $TAG"
