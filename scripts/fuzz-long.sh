#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600, ten minutes) from the committed seeds
# (common/fuzz/seeds/) and its own growing corpus (common/fuzz/corpus/, not committed), two at a
# time on this 2-core machine, and with --save FILE writes what each run did as the markdown
# table the Hardening chapter includes: how long, how many inputs, the corpus it ended with, and
# what it found. A target that crashes leaves its input in common/fuzz/artifacts/TARGET/, and the
# run says so; each crash becomes a regression test named after it.
#
# Usage: scripts/fuzz-long.sh [SECONDS] [--save FILE]   (needs the nightly toolchain and cargo-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600 file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --save) file="$2"; shift 2 ;;
    *) seconds="$1"; shift ;;
  esac
done
targets=(connection parse_head chunked path h2_frames hpack_decode h2_connection)
logs=$(mktemp -d)
run() {
  local target=$1
  mkdir -p "common/fuzz/corpus/$target"
  # -rss_limit_mb: a target that allocates without bound is a finding, not a machine swapping.
  if nice -n 10 cargo +nightly fuzz run --fuzz-dir common/fuzz "$target" \
      "common/fuzz/corpus/$target" "common/fuzz/seeds/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 >"$logs/$target.log" 2>&1; then
    echo ok >"$logs/$target.status"
  else
    echo crashed >"$logs/$target.status"
  fi
}
cargo +nightly fuzz build --fuzz-dir common/fuzz >/dev/null
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[$i]}" &
  [ $((i + 1)) -lt ${#targets[@]} ] && run "${targets[$((i + 1))]}" &
  wait
done
rows=""
for target in "${targets[@]}"; do
  log="$logs/$target.log"
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
  runs=$(printf '%s' "$done_line" | awk '{print $2}')
  took=$(printf '%s' "$done_line" | awk '{print $5}')
  corpus=$(find "common/fuzz/corpus/$target" -type f | wc -l)
  status=$(cat "$logs/$target.status")
  if [ "$status" = ok ]; then found="nothing"; else
    found="a crash: $(grep -m1 -oE 'SUMMARY: .*|panicked at [^ ]*' "$log" || echo 'see the log')"
    tail -n 40 "$log" >&2
  fi
  printf '%-14s %8s s %12s runs  corpus %6s  %s\n' "$target" "${took:-?}" "${runs:-?}" "$corpus" "$found"
  rows="$rows| \`$target\` | ${took:-?} | ${runs:-?} | $corpus | $found |\n"
done
if [ -n "$file" ]; then
  {
    echo "<!-- written by scripts/fuzz-long.sh $seconds --save on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) -->"
    echo
    echo "| target | seconds | inputs run | corpus at the end | found |"
    echo "|---|---:|---:|---:|---|"
    printf '%b' "$rows"
    echo
    echo "Two targets ran at a time on the machine's two cores, at a lower priority than anything else the machine ran, from the committed seeds and the corpus of earlier runs, under libFuzzer with its default options, by \`scripts/fuzz-long.sh\`."
  } >"$file"
  echo "saved to $file"
fi
grep -q crashed "$logs"/*.status && exit 1
exit 0
