#!/usr/bin/env bash
# `make image-test`: build the slim image, then check it: `whisperer demo` runs inside, the image runs as a
# non-root user, `whisperer run` becomes healthy through the HEALTHCHECK (`whisperer health`), and
# `docker stop` ends it with exit status 0. Every container runs on the host network.
# IMAGE_TEST_BROWSER=1 also builds the browser image and has it poll a page that JavaScript draws.
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
  "$DOCKER" rm -f "$name" "$name-site" >/dev/null 2>&1 || true
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

if [ "${IMAGE_TEST_BROWSER:-0}" = 1 ]; then
  deploy/image.sh browser "$IMAGE-browser"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$data/site" "$data/browser"
  echo '<main id="x">Loading</main><script>x.textContent = "Tier: Premier (drawn by JavaScript)"</script>' \
    >"$data/site/page.html"
  printf '[fetch]\nallow_private = ["127.0.0.1"]\n[[sources]]\nid = "dashboard"\nkind = "browser"\nurl = "%s"\n' \
    "http://127.0.0.1:$port/page.html" >"$data/browser/whisperer.toml"
  chown -R "$uid" "$data"
  "$DOCKER" run -d --name "$name-site" --network host -v "$data/site:/site:ro" --entrypoint python3 "$IMAGE" \
    -m http.server "$port" --bind 127.0.0.1 --directory /site >/dev/null
  sleep 1
  "$DOCKER" run --rm --network host -v "$data/browser:/data" "$IMAGE-browser" poll >"$data/poll.txt" 2>&1 \
    || fail "the browser image's poll: $(tail -3 "$data/poll.txt")"
  grep -q "first snapshot stored" "$data/poll.txt" || fail "the browser image stored no snapshot: $(cat "$data/poll.txt")"
  "$DOCKER" run --rm --network host -v "$data/browser:/data" --entrypoint python3 "$IMAGE-browser" -c \
    "import sqlite3; print(sqlite3.connect('/data/whisperer.db').execute('select text from snapshots').fetchall())" \
    | grep -q "drawn by JavaScript" || fail "the browser image did not run the page's JavaScript"
  echo "image-test: the browser image rendered a JavaScript page with Debian's chromium"
fi
echo "image-test: ok"
