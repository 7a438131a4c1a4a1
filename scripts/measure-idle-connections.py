#!/usr/bin/env python3
"""Holds N idle keep-alive connections to a server and reports what they cost it.

    python3 scripts/measure-idle-connections.py ADDR PID N

ADDR is the server's host:port, PID the process that holds the connections (for nginx, its
worker, not the master), N how many connections to hold. The script raises its own soft limit
on open files to the hard limit (as the stages do for themselves), warms the server up, then:

1. opens N connections, sends `GET /plaintext` on each and reads the answer, and keeps them all
   open (idle, kept alive);
2. reads the server's resident memory (VmRSS in /proc/PID/status) before and after, and divides
   the difference by N: the memory per idle connection;
3. measures the server's CPU use over two seconds while the connections sit idle;
4. times 20 new connections, each with one request, while the N are held: is the server still
   answering promptly?
5. sends one more request on every held connection: were they all really kept?

Run it with the server and the script pinned to different cores (taskset -c 0 / -c 1), and
with the server's --max-connections above N (stage 05's default is 10,000).
"""
import os
import resource
import socket
import sys
import time

REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: c10k\r\n\r\n"
BODY = b"Hello, World!"


def status_field(pid, name):
    """A numeric field of /proc/PID/status (VmRSS is in KiB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise KeyError(name)


def cpu_seconds(pid):
    """User + system CPU time of the process, all threads (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def exchange(conn):
    """One request and its whole response on an open connection."""
    conn.sendall(REQUEST)
    received = b""
    while not received.endswith(BODY):
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed by the server after {received[:60]!r}")
        received += chunk


def one_new_connection(host, port):
    started = time.perf_counter()
    with socket.create_connection((host, port)) as conn:
        exchange(conn)
    return time.perf_counter() - started


def main():
    addr, pid, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    host, port = addr.rsplit(":", 1)
    port = int(port)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    for _ in range(20):
        one_new_connection(host, port)
    time.sleep(0.3)
    rss_before = status_field(pid, "VmRSS")

    started = time.perf_counter()
    held = []
    for _ in range(count):
        conn = socket.create_connection((host, port))
        exchange(conn)
        held.append(conn)
    opening = time.perf_counter() - started
    time.sleep(1.0)
    rss_after = status_field(pid, "VmRSS")

    cpu_before = cpu_seconds(pid)
    time.sleep(2.0)
    idle_cpu = (cpu_seconds(pid) - cpu_before) / 2.0

    latencies = sorted(one_new_connection(host, port) for _ in range(20))

    started = time.perf_counter()
    failed = 0
    for conn in held:
        try:
            exchange(conn)
        except OSError:
            failed += 1
    again = time.perf_counter() - started

    per_connection = (rss_after - rss_before) / count
    print(
        f"{count} idle connections (open-file limit {hard}): opened in {opening:.2f} s; "
        f"RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB = "
        f"{per_connection:.1f} KiB per connection; threads {status_field(pid, 'Threads')}; "
        f"CPU while idle {idle_cpu * 100:.0f}%; new request p50 {latencies[10] * 1e3:.2f} ms, "
        f"max {latencies[-1] * 1e3:.2f} ms; all held served again in {again:.2f} s, "
        f"{failed} failed"
    )


if __name__ == "__main__":
    main()
