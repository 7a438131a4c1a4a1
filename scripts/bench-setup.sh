#!/usr/bin/env bash
# One-line setup for the stage comparison (`cargo bench --bench stages`): the load generator, the
# reference server, h2load (nghttp2-client) for the HTTP/2 scenarios, valgrind for the parser's
# instruction counts, and strace, which counts each server's system calls per request (the
# syscalls-* scenarios). Debian/Ubuntu; run as root or with sudo.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk nginx nghttp2-client valgrind strace util-linux
