#!/usr/bin/env bash
# Instruction counts of the request parser (and of HTTP/2's HPACK coder), measured with callgrind: stable to the instruction on
# a noisy machine, where criterion's times (cargo bench --bench parse) move by several percent.
#
# For each contender and input, examples/parse_instructions runs under
# `valgrind --tool=callgrind` twice, with 1 and with 1001 iterations; the difference of the two
# totals (Ir) is exactly 1000 parses, start-up and exit cancelled out.
#
#   scripts/parse-instructions.sh                 print the table
#   scripts/parse-instructions.sh --save FILE     also write it as JSON, and as a markdown table
#                                                 with the ratios (FILE with .md for .json), the
#                                                 form the book includes
#   scripts/parse-instructions.sh --check FILE    fail if a count grew by more than 5 % over FILE
#
# Without valgrind it says so and exits 0, unless CI=true (where .ci/run installs valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

name="parse instruction counts"
# shellcheck source=scripts/lib/callgrind.sh
. scripts/lib/callgrind.sh

mode="" file=""
if [ $# -ge 2 ]; then mode="$1" file="$2"; fi

binary="$(release_example parse_instructions)"

json="{"
printf '%-12s %-12s %14s\n' contender input "Ir/request"
for input in curl plaintext16; do
  requests=1; [ "$input" = plaintext16 ] && requests=16
  for contender in httparse parse_head machine; do
    one=$(instructions "$binary" "$contender" "$input" 1)
    many=$(instructions "$binary" "$contender" "$input" 1001)
    per_request=$(( (many - one) / (1000 * requests) ))
    printf '%-12s %-12s %14d\n' "$contender" "$input" "$per_request"
    json="$json\"$contender/$input\":$per_request,"
  done
done
# HTTP/2's header compression, on curl's first request and a /plaintext response head.
for contender in hpack_decode hpack_encode; do
  one=$(instructions "$binary" "$contender" curl 1)
  many=$(instructions "$binary" "$contender" curl 1001)
  per_block=$(( (many - one) / 1000 ))
  printf '%-12s %-12s %14d\n' "$contender" curl "$per_block"
  json="$json\"$contender/curl\":$per_block,"
done
json="${json%,}}"

case "$mode" in
  --save)
    printf '%s\n' "$json" > "$file"
    table="${file%.json}.md"
    value() { printf '%s' "$json" | tr -d '{}"' | tr ',' '\n' | sed -n "s|^$1:||p"; }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
    {
      echo "<!-- written by scripts/parse-instructions.sh --save on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) -->"
      echo
      echo "| input | bare \`httparse\` | \`parse_head\` | ratio | the whole machine, answering too | ratio |"
      echo "|---|---:|---:|---:|---:|---:|"
      for input in curl plaintext16; do
        label="a curl request (3 fields)"; [ "$input" = plaintext16 ] && label="16 pipelined \`/plaintext\` requests"
        bare=$(value "httparse/$input"); head=$(value "parse_head/$input"); machine=$(value "machine/$input")
        echo "| $label | $bare | $head | $(ratio "$head" "$bare") | $machine | $(ratio "$machine" "$bare") |"
      done
      echo
      echo "Instructions per request, counted under callgrind (\`scripts/parse-instructions.sh\`)."
      echo
      echo "| HTTP/2 field block | instructions |"
      echo "|---|---:|"
      echo "| curl's first request decoded by HPACK (6 fields, a fresh table) | $(value "hpack_decode/curl") |"
      echo "| a \`/plaintext\` response head encoded by HPACK (4 fields, a fresh table) | $(value "hpack_encode/curl") |"
    } > "$table"
    echo "saved to $file and $table" ;;
  --check)
    status=0
    for key in $(printf '%s' "$json" | tr -d '{}"' | tr ',' ' '); do
      name="${key%%:*}" now="${key##*:}"
      before=$(tr -d '{}" \n' < "$file" | tr ',' '\n' | sed -n "s|^$name:||p")
      if [ -n "$before" ] && [ "$now" -gt $(( before * 105 / 100 )) ]; then
        echo "REGRESSION $name: $before -> $now instructions per request" >&2
        status=1
      fi
    done
    exit "$status" ;;
  "") ;;
  *) echo "unknown option $mode" >&2; exit 2 ;;
esac
