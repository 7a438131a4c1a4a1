"""CONTINUATION flood (2024, CVE-2024-27316 and others): a HEADERS frame without END_HEADERS,
then CONTINUATION frames without end. The server must not buffer the header block without
bound: it ends the connection with GOAWAY after a bounded amount (its header-list limit)."""

from h2peer import (CONTINUATION, GOAWAY, HEADERS, PREFACE, SETTINGS, arguments, connect, fail,
                    flood, frame, passed)

args = arguments()
sock = connect(args)
scheme = 0x87 if args.cafile else 0x86
first = frame(HEADERS, 0, 1, bytes([0x82, scheme, 0x84]))
# Each fragment: literal fields without indexing, new name "x-flood", a 1000-byte value
# (RFC 7541 section 6.2.2), so the block stays valid HPACK however far it is decoded.
field = b"\x00\x07x-flood" + b"\x7f\xe9\x06" + b"a" * 1000
fragment = frame(CONTINUATION, 0, 1, field * 16)
chunks = [PREFACE + frame(SETTINGS, 0, 0) + first]


def next_chunk():
    return chunks.pop() if chunks else fragment * 4


ended, written, frames = flood(sock, next_chunk, within=15, max_bytes=256 << 20)
goaways = [p for (kind, _, _, p) in frames if kind == GOAWAY]
if ended == "time":
    fail("the connection was still open after %d bytes of CONTINUATION" % written)
if not goaways:
    fail("the connection %s after %d bytes without a GOAWAY" % (ended, written))
passed("GOAWAY (code %d) and %s after %d bytes of header block"
       % (int.from_bytes(goaways[0][4:8], "big"), ended, written))
