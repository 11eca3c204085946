#!/usr/bin/env bash
# Build the container image: deploy/image.sh [slim|browser] [TAG]
#   BASE=image        build from this base instead of the Dockerfile's default (python:3.11-slim-bookworm)
#   LOCAL_BASE=1      make (once) and use a local Debian base from deploy/image-base.sh (no Docker Hub needed)
#   CA_FILE=path      CA certificates pip needs, passed as a BuildKit secret (never stored in the image)
# Builds on the host network, so the build needs no bridge.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${1:-slim}"
TAG="${2:-whisperer:$TARGET}"
DOCKER="${DOCKER:-docker}"
args=(--network host --target "$TARGET" --tag "$TAG")
if [ "${LOCAL_BASE:-0}" = 1 ] && [ -z "${BASE:-}" ]; then
  BASE=whisperer-base:bookworm
  DOCKER="$DOCKER" deploy/image-base.sh "$BASE"
fi
[ -n "${BASE:-}" ] && args+=(--build-arg "BASE=$BASE")
# pip's own setting first, then what Python's ssl module trusts on this machine
CA_FILE="${CA_FILE:-${PIP_CERT:-$(python3 -c 'import ssl; print(ssl.get_default_verify_paths().cafile or "")' 2>/dev/null || true)}}"
[ -n "$CA_FILE" ] && [ -s "$CA_FILE" ] && args+=(--secret "id=ca,src=$CA_FILE")
# BuildKit (for the secret): `docker buildx` when the client has it, else the classic client's built-in one.
if "$DOCKER" buildx version >/dev/null 2>&1; then
  exec "$DOCKER" buildx build --load "${args[@]}" .
fi
if [ "$DOCKER" = docker ] && ! docker buildx version >/dev/null 2>&1 && [ -x /usr/bin/docker ] \
  && [ "$(command -v docker)" != /usr/bin/docker ]; then
  DOCKER=/usr/bin/docker  # a newer client without buildx cannot use BuildKit; the distribution's can
fi
DOCKER_BUILDKIT=1 exec "$DOCKER" build "${args[@]}" .
