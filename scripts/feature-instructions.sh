#!/usr/bin/env bash
# What each feature of the shared application adds to a request, in instructions counted by
# callgrind: stable to the instruction on a noisy machine, where times move by several percent.
#
# For each case, examples/feature_instructions answers its request under
# `valgrind --tool=callgrind` twice, once and 1 + M times; the difference of the two totals (Ir),
# divided by M, is one answer, start-up and exit cancelled out. M is 1000, except for the bcrypt
# checks of Basic authentication, which are slow on purpose (20 at cost 5, 2 at cost 10).
#
#   scripts/feature-instructions.sh              print the counts
#   scripts/feature-instructions.sh --save FILE  also write them as JSON, and as the markdown
#                                                table the book includes (FILE with .md)
#   scripts/feature-instructions.sh --defences [--save FILE]
#                                                the hardening defences instead, each over the
#                                                default answer measured in the same run
#
# Without valgrind it says so and exits 0, unless CI=true (where .ci/run installs valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

name="feature instruction counts"
# shellcheck source=scripts/lib/callgrind.sh
. scripts/lib/callgrind.sh

defences=false
if [ "${1:-}" = --defences ]; then defences=true; shift; fi
mode="" file=""
if [ $# -ge 2 ]; then mode="$1" file="$2"; fi
case "$mode" in --save|"") ;; *) echo "unknown option $mode" >&2; exit 2 ;; esac

binary="$(release_example feature_instructions)"

cases="plaintext_bare plaintext allowed_host cors cors_preflight basic_auth basic_auth_cost10
       counters index index_gzip index_gzip_cached vhost not_found not_found_page dir_listing"
$defences && cases="plaintext rate_limit"
json="{"
printf '%-18s %14s\n' case "Ir/request"
for case in $cases; do
  m=1000
  [ "$case" = basic_auth ] && m=20
  [ "$case" = basic_auth_cost10 ] && m=2
  one=$(instructions "$binary" "$case" 1)
  many=$(instructions "$binary" "$case" $((1 + m)))
  per_request=$(( (many - one) / m ))
  printf '%-18s %14d\n' "$case" "$per_request"
  json="$json\"$case\":$per_request,"
done
json="${json%,}}"

if [ "$mode" = --save ] && $defences; then
  printf '%s\n' "$json" > "$file"
  table="${file%.json}.md"
  value() { printf '%s' "$json" | tr -d '{}"' | tr ',' '\n' | sed -n "s|^$1:||p"; }
  added() { awk -v a="$(value "$1")" -v b="$(value "$2")" 'BEGIN { printf "%+d | %.2fx", a - b, a / b }'; }
  {
    echo "<!-- written by scripts/feature-instructions.sh --defences --save on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) -->"
    echo
    echo "| defence | request | instructions | instructions added | ratio |"
    echo "|---|---|---:|---:|---:|"
    echo "| none: the default answer | \`GET /plaintext\` | $(value plaintext) | | |"
    echo "| the rate limit (\`--rate-limit\`), one client under its limit | \`GET /plaintext\` | $(value rate_limit) | $(added rate_limit plaintext) |"
    echo
    echo "Instructions per answer of the application alone (\`App::handle\`), no I/O model, counted under callgrind in one run by \`scripts/feature-instructions.sh --defences\`."
  } > "$table"
  echo "saved to $file and $table"
elif [ "$mode" = --save ]; then
  printf '%s\n' "$json" > "$file"
  table="${file%.json}.md"
  value() { printf '%s' "$json" | tr -d '{}"' | tr ',' '\n' | sed -n "s|^$1:||p"; }
  # The instructions a row adds to the row it is compared with, and the ratio of the two.
  added() { awk -v a="$(value "$1")" -v b="$(value "$2")" 'BEGIN { printf "%+d | %.2fx", a - b, a / b }'; }
  row() { echo "| $1 | \`$2\` | $(value "$3") | $(added "$3" "$4") |"; }
  {
    echo "<!-- written by scripts/feature-instructions.sh --save on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) -->"
    echo
    echo "| feature | request | instructions | instructions added | ratio |"
    echo "|---|---|---:|---:|---:|"
    echo "| a route and its handler, nothing else (\`--no-security-headers\`) | \`GET /plaintext\` | $(value plaintext_bare) | | |"
    row "the security headers (the default), over the line above" "GET /plaintext" plaintext plaintext_bare
    row "the Host allow-list (\`--allowed-host localhost\`), over the default" "GET /plaintext" allowed_host plaintext
    row "CORS, a request from an allowed origin, over the default" "GET /plaintext, Origin" cors plaintext
    row "CORS, the preflight, over the default's GET" "OPTIONS /plaintext" cors_preflight plaintext
    row "Basic authentication, bcrypt cost 5 (\`htpasswd -B\`), over the default" "GET /plaintext, Authorization" basic_auth plaintext
    row "Basic authentication, bcrypt cost 10, over the default" "GET /plaintext, Authorization" basic_auth_cost10 plaintext
    echo "| the status page's counters, alone (every request pays them) | any | $(value counters) | | |"
    echo "| a 4 KiB file as it is on disk | \`GET /index.html\` | $(value index) | | |"
    row "the same compressed on the fly (gzip, level 4), over the file as it is" "GET /index.html, gzip" index_gzip index
    row "the same from the file cache (\`--cache-size 8MiB\`), over the file as it is" "GET /index.html, gzip" index_gzip_cached index
    row "a virtual host's page (\`--vhost\`), over the main root's" "GET /index.html, Host" vhost index
    echo "| a 404 as plain text (curl) | \`GET /nope.html\` | $(value not_found) | | |"
    row "the 404 page from its template (a browser's \`Accept\`), over the plain one" "GET /nope.html, Accept" not_found_page not_found
    row "a directory listing of seventeen files (\`--dir-listing\`), over the 4 KiB file" "GET /gallery/img/" dir_listing index
    echo
    echo "Instructions per answer of the application alone (\`App::handle\`, a streamed body drained), no I/O model, counted under callgrind by \`scripts/feature-instructions.sh\`. A file's bytes are left to \`sendfile\`, so its row counts finding, opening and describing it; a system call counts as the instructions that make it, and the kernel's work for it is not in these numbers."
  } > "$table"
  echo "saved to $file and $table"
fi
