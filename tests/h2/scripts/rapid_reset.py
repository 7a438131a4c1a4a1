"""Rapid reset (CVE-2023-44487): a client that opens streams and resets them at once, 1000
times, makes the server start work it never has to finish. The server ends such a connection
with GOAWAY ENHANCE_YOUR_CALM, and serves a second client meanwhile."""

from h2peer import (ENHANCE_YOUR_CALM, GOAWAY, HEADERS, END_HEADERS, END_STREAM, PREFACE,
                    RST_STREAM, SETTINGS, Client, arguments, connect, fail, flood, frame,
                    passed)

args = arguments()
sock = connect(args)
sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
# A GET / as HPACK: indexed :method GET (0x82), :scheme http or https (0x86 or 0x87), :path /
# (0x84), and :authority as a literal with the static table's name (0x41).
authority = args.addr.encode()
scheme = 0x87 if args.cafile else 0x86
block = bytes([0x82, scheme, 0x84, 0x41, len(authority)]) + authority
streams = iter(range(1, 2 * 1000, 2))
sent = [0]


def next_pair():
    stream = next(streams, None)
    if stream is None:
        return None
    sent[0] += 1
    return (frame(HEADERS, END_HEADERS | END_STREAM, stream, block) +
            frame(RST_STREAM, 0, stream, (0x8).to_bytes(4, "big")))  # CANCEL


ended, written, frames = flood(sock, next_pair, within=15, max_bytes=10 << 20,
                               stop_on_goaway=True)
codes = [int.from_bytes(p[4:8], "big") for (kind, _, _, p) in frames if kind == GOAWAY]
# The second client, on its own connection, while the first is (or was just) cut off.
other = Client(args)
status, _, body, reset = other.response(other.request("GET", "/plaintext"))
if status != "200":
    fail("the second client got status %r (reset %r)" % (status, reset))
if ENHANCE_YOUR_CALM not in codes:
    fail("no GOAWAY ENHANCE_YOUR_CALM after %d resets (ended: %s, GOAWAY codes %r)"
         % (sent[0], ended, codes))
passed("GOAWAY ENHANCE_YOUR_CALM after %d opened-and-reset streams (%s); a second client got 200"
       % (sent[0], ended))
