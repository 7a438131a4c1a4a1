#!/usr/bin/env python3
"""Measures stage 02's three pool modes (and stage 01) the way its chapter reports them.

Every run starts a fresh server pinned to CPU 0 and wrk pinned to CPU 1, so the two do not take
turns on one core; the server's CPU time, context switches and peak RSS come from wait4(2) once
it has exited on SIGTERM (so they cover every thread it ever had), and its exit status is checked.

Usage (from the workspace root, after `cargo build --release -p stage01-blocking -p
stage02-threadpool`):

    python3 scripts/measure-pool-modes.py [--bin-dir target/release] [--duration 5] [--rounds 3]
        [--tables keepalive,close,slow,idle]

Prints markdown tables. Needs wrk and taskset. Every load is bounded (a few seconds) and goes to
127.0.0.1 only; every server started is stopped by its PID.
"""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

SERVER_CPU = "0"
CLIENT_CPU = "1"


def start(binary, args):
    """Starts a server pinned to SERVER_CPU; returns (process, 'host:port')."""
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, binary, "--addr", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    match = re.match(r"listening on http://(\S+)", line)
    if not match:
        process.kill()
        process.wait()
        sys.exit(f"{binary} {' '.join(args)}: unexpected first line {line!r}")
    return process, match.group(1)


def stop(process):
    """SIGTERM by PID; returns the server's resource usage, after checking it exited 0."""
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            sys.exit("the server did not stop within 15 s of SIGTERM")
        time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"the server exited with {process.returncode} after SIGTERM")
    # Not ru_maxrss: Linux carries it over across execve, so it would report the forking
    # Python's size. The peak RSS is read from /proc (VmHWM) before the stop instead.
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "ctx_voluntary": usage.ru_nvcsw,
        "ctx_involuntary": usage.ru_nivcsw,
    }


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, connections, duration, extra=()):
    """Runs wrk pinned to CLIENT_CPU; returns the numbers the tables use."""
    output = subprocess.run(
        ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{connections}", f"-d{duration}s",
         "--latency", *extra, url],
        capture_output=True, text=True, check=True,
    ).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        # Anchored at the line start: "74.99%" elsewhere in the output must not match.
        "p50_ms": to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1)),
        "p99_ms": to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1)),
        "errors": 0,
        "timeouts": 0,
    }
    socket_errors = re.search(
        r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        connect, read, write, timeout = map(int, socket_errors.groups())
        result["errors"] = connect + read + write
        result["timeouts"] = timeout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        result["errors"] += int(non_2xx.group(1))
    return result


def load_run(binary, args, path, connections, duration, extra=()):
    process, addr = start(binary, args)
    try:
        numbers = wrk(f"http://{addr}{path}", connections, duration, extra)
        numbers["max_rss_kib"] = status_field(process.pid, "VmHWM")
    finally:
        usage = stop(process)
    numbers.update(usage)
    numbers["ctx_per_request"] = (
        (usage["ctx_voluntary"] + usage["ctx_involuntary"]) / max(numbers["requests"], 1))
    numbers["cpu_us_per_request"] = usage["cpu_s"] * 1e6 / max(numbers["requests"], 1)
    return numbers


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise KeyError(name)


def idle_connections_run(binary, args, counts):
    """Opens each count of idle keep-alive connections (one answered request each) and reads
    the server's threads and resident memory while they are held."""
    rows = []
    for count in counts:
        process, addr = start(binary, [*args, "--idle-timeout", "60s"])
        host, port = addr.rsplit(":", 1)
        held = []
        try:
            for _ in range(count):
                conn = socket.create_connection((host, int(port)), timeout=10)
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: measure\r\n\r\n")
                if not conn.recv(4096).startswith(b"HTTP/1.1 200"):
                    sys.exit("no 200 for /healthz")
                held.append(conn)
            time.sleep(0.5)
            rows.append({
                "connections": count,
                "threads": status_field(process.pid, "Threads"),
                "rss_kib": status_field(process.pid, "VmRSS"),
                "virtual_kib": status_field(process.pid, "VmSize"),
            })
        finally:
            for conn in held:
                conn.close()
            stop(process)
    return rows


def median_run(runs):
    """The median of every number over repeated runs of one case."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def load_table(title, cases, duration, rounds):
    """Runs every case `rounds` times, round-robin (so a burst of noise from other processes
    spreads over all cases instead of hitting one), and prints the medians."""
    print(f"\n## {title}\n")
    print("| server | path | req/s | p50 ms | p99 ms | timeouts | errors "
          "| CPU µs/req | ctx switches/req | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    runs = [[] for _ in cases]
    for _ in range(rounds):
        for index, (_, binary, args, path, connections, extra) in enumerate(cases):
            runs[index].append(load_run(binary, args, path, connections, duration, extra))
    for (name, _, _, path, _, _), case_runs in zip(cases, runs):
        n = median_run(case_runs)
        spread = [run["rps"] for run in case_runs]
        print(f"| {name} | `{path}` | {n['rps']:.0f} ({min(spread):.0f}-{max(spread):.0f}) "
              f"| {n['p50_ms']:.2f} | {n['p99_ms']:.1f} | {n['timeouts']:.0f} | {n['errors']:.0f} "
              f"| {n['cpu_us_per_request']:.1f} | {n['ctx_per_request']:.2f} "
              f"| {n['max_rss_kib'] / 1024:.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default="target/release")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tables", default="keepalive,close,slow,idle",
                        help="which tables to measure, comma-separated")
    options = parser.parse_args()
    tables = set(options.tables.split(","))
    stage01 = os.path.join(options.bin_dir, "stage01-blocking")
    stage02 = os.path.join(options.bin_dir, "stage02-threadpool")
    duration, rounds = options.duration, options.rounds

    configs = [
        ("stage 01 (one at a time)", stage01, []),
        ("handmade, 8 threads", stage02, ["--pool", "handmade", "--threads", "8"]),
        ("handmade, 64 threads", stage02, ["--pool", "handmade", "--threads", "64"]),
        ("rayon, 8 threads", stage02, ["--pool", "rayon", "--threads", "8"]),
        ("per-connection", stage02, ["--pool", "per-connection"]),
    ]

    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.uname().nodename}, {os.cpu_count()} CPUs, "
          f"server on CPU {SERVER_CPU}, wrk on CPU {CLIENT_CPU}, {duration} s per run, "
          f"median of {rounds} runs (req/s range in brackets), "
          f"load average before: {os.getloadavg()[0]:.2f}")

    if "keepalive" in tables:
        load_table(
            "Keep-alive, 50 connections: `wrk -t1 -c50 --latency`",
            [(name, binary, args, path, 50, ())
             for path in ["/plaintext", "/style.css"] for name, binary, args in configs],
            duration, rounds)
    if "close" in tables:
        load_table(
            "A new connection per request: `wrk -t1 -c50 --latency -H 'Connection: close'`",
            [(name, binary, args, "/plaintext", 50, ("-H", "Connection: close"))
             for name, binary, args in configs],
            duration, rounds)
    if "slow" in tables:
        # A new connection per request here too: with keep-alive, 8 workers would serve 8 of
        # the 32 connections all along and starve the rest, which wrk would not report at all
        # (it only times the requests that finish). With a connection per request, every
        # request queues and the wait shows in the latency. The numbers are set by the sleeps,
        # not the CPU, so one round is enough.
        load_table(
            "Slow handlers: `wrk -t1 -c32 --latency --timeout 10s -H 'Connection: close'` on "
            "`/slow?ms=100`",
            [(name, binary, args, "/slow?ms=100", 32,
              ("--timeout", "10s", "-H", "Connection: close"))
             for name, binary, args in configs[1:]],
            duration, 1)
    if "idle" in tables:
        print("\n## Idle keep-alive connections held\n")
        print("| server | connections | threads | RSS MiB | virtual MiB |")
        print("|---|---:|---:|---:|---:|")
        for name, args, counts in [
            ("handmade, 8 threads", ["--pool", "handmade", "--threads", "8"], [0]),
            ("per-connection", ["--pool", "per-connection"], [0, 100, 1000, 4000]),
        ]:
            for numbers in idle_connections_run(stage02, args, counts):
                print(f"| {name} | {numbers['connections']} | {numbers['threads']} "
                      f"| {numbers['rss_kib'] / 1024:.1f} "
                      f"| {numbers['virtual_kib'] / 1024:.0f} |", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
