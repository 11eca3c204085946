#!/usr/bin/env bash
# `make image-test`: build the slim image, then check it: `whisperer demo` runs inside, the image runs as a
# non-root user, `whisperer run` becomes healthy through the HEALTHCHECK (`whisperer health`), and
# `docker stop` ends it with exit status 0. Every container runs on the host network.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER="${DOCKER:-docker}"
if ! "$DOCKER" buildx version >/dev/null 2>&1 && [ "$DOCKER" = docker ] && [ -x /usr/bin/docker ]; then
  DOCKER=/usr/bin/docker  # see deploy/image.sh: the distribution's client has BuildKit built in
fi
export DOCKER
IMAGE="${IMAGE:-whisperer:image-test}"
deploy/image.sh slim "$IMAGE"

data="$(mktemp -d)"
name="whisperer-image-test-$$"
cleanup() {
  "$DOCKER" rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT
fail() { echo "image-test: FAILED: $*" >&2; "$DOCKER" logs "$name" 2>&1 | tail -20 >&2 || true; exit 1; }

user="$("$DOCKER" image inspect -f '{{.Config.User}}' "$IMAGE")"
uid="$("$DOCKER" run --rm --network host --entrypoint id "$IMAGE" -u)"
[ -n "$user" ] && [ "$uid" != 0 ] || fail "the image runs as root (User=$user, uid=$uid)"
echo "image-test: runs as uid $uid (User $user)"

"$DOCKER" run --rm --network host "$IMAGE" demo >"$data/demo.txt" 2>&1 || fail "whisperer demo: $(tail -5 "$data/demo.txt")"
grep -q "Nobody refreshed anything twice" "$data/demo.txt" || fail "whisperer demo did not finish its story"
echo "image-test: whisperer demo ran inside the image"

if "$DOCKER" run --rm --network host "$IMAGE" health >/dev/null 2>&1; then
  fail "whisperer health said ready with no bot running"
fi

# A real `whisperer run` (terminal mode: no Slack tokens) on a /data volume owned by the image's user.
printf '[bot]\ndatabase = "whisperer.db"\ntimezone = "UTC"\n' >"$data/whisperer.toml"
chown -R "$uid" "$data" && chmod 0700 "$data"
"$DOCKER" run -d --name "$name" --network host -v "$data:/data" \
  --health-interval 2s --health-start-period 2s --health-timeout 10s --stop-timeout 75 "$IMAGE" run >/dev/null
status=""
for _ in $(seq 1 60); do
  status="$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$name")"
  [ "$status" = healthy ] && break
  [ "$("$DOCKER" inspect -f '{{.State.Running}}' "$name")" = true ] || fail "whisperer run exited"
  sleep 1
done
[ "$status" = healthy ] || fail "the health check did not turn healthy (status: $status)"
"$DOCKER" exec "$name" whisperer health >"$data/health.txt" || fail "whisperer health: $(cat "$data/health.txt")"
echo "image-test: healthy; whisperer health says:"
sed 's/^/  /' "$data/health.txt"
"$DOCKER" stop -t 75 "$name" >/dev/null
code="$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || fail "docker stop: exit status $code, expected 0"
echo "image-test: docker stop → exit status 0"
echo "image-test: ok"
