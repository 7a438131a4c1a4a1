# Shared by the instruction-count scripts (parse-instructions.sh, feature-instructions.sh):
# source it after setting `name`; it skips the script when valgrind is missing (a failure with
# CI=true, where .ci/run installs it) and defines `instructions BINARY ARGS...`, the total
# instructions (Ir) of one run, read from callgrind's "summary:" line.

if ! command -v valgrind >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "$name: valgrind is not installed, and CI=true (.ci/run installs it)" >&2
    exit 1
  fi
  echo "SKIPPED $name: valgrind is not installed (apt-get install valgrind)" >&2
  exit 0
fi

callgrind_dir="$(mktemp -d)"
trap 'rm -rf "$callgrind_dir"' EXIT

# The release build of one of this package's examples, by name; prints its path.
release_example() {
  cargo build --release --quiet -p stagecraft --example "$1"
  printf '%s/release/examples/%s\n' \
    "$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')" "$1"
}

instructions() {
  local out="$callgrind_dir/callgrind.out"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$@" 2>/dev/null
  sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out"
}
