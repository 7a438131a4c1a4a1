"""Graceful shutdown (RFC 9113 section 6.8): SIGTERM while a /slow is in flight. The server
says GOAWAY (NO_ERROR, naming a last stream that includes ours), finishes the /slow, and
closes the connection.

The server's frames are read raw: the `h2` package treats a received GOAWAY as the end of the
connection and refuses the frames that follow it, which are exactly the ones this checks."""

import os
import signal
import socket
import time

from h2peer import (ACK, DATA, END_STREAM, GOAWAY, HEADERS, NO_ERROR, SETTINGS, Client,
                    arguments, fail, frame, passed, read_frames)

PADDED = 0x8

args = arguments()
if not args.pid:
    fail("--pid is needed")
client = Client(args)
stream = client.request("GET", "/slow?ms=1000")
# Give the request time to reach the handler, then ask the server to stop.
time.sleep(0.3)
os.kill(args.pid, signal.SIGTERM)
goaway, ended, body, closed = None, False, bytearray(), False
received = bytearray()
deadline = time.monotonic() + 15
while time.monotonic() < deadline and not closed:
    client.sock.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        data = client.sock.recv(65536)
    except socket.timeout:
        continue
    except ConnectionResetError:
        fail("the connection was reset, not closed")
    if not data:
        closed = True
        break
    received += data
    for kind, flags, on, payload in read_frames(received):
        if kind == SETTINGS and not flags & ACK:
            client.sock.sendall(frame(SETTINGS, ACK, 0))
        elif kind == GOAWAY:
            goaway = (int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF,
                      int.from_bytes(payload[4:8], "big"))
        elif kind == DATA and on == stream:
            if flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            body += payload
            ended = ended or bool(flags & END_STREAM)
        elif kind == HEADERS and on == stream:
            ended = ended or bool(flags & END_STREAM)
if not ended or not body.startswith(b"slept"):
    fail("the /slow did not complete (body %r)" % bytes(body))
if goaway is None:
    fail("no GOAWAY before the connection closed")
last_stream, code = goaway
if code != NO_ERROR or last_stream < stream:
    fail("GOAWAY with code %d and last stream %d" % (code, last_stream))
if not closed:
    fail("the connection stayed open after the /slow and the GOAWAY")
passed("the /slow completed, GOAWAY(NO_ERROR, last stream %d), then the close" % last_stream)
