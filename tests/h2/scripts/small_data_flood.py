"""Small DATA frames flood (the family of CVE-2019-9518): a client that sends a request body
one octet per DATA frame makes the server parse a frame, update two windows and copy for every
octet. The server ends such a connection with GOAWAY ENHANCE_YOUR_CALM once the frames'
average size falls below its limit, and serves a second client meanwhile. The same body in
a frame of a normal size is taken and echoed, so the limit is on the frames, not on bodies."""

from h2peer import (DATA, ENHANCE_YOUR_CALM, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PREFACE,
                    SETTINGS, Client, arguments, connect, fail, flood, frame, passed)

FRAMES = 20_000

args = arguments()

# First a body in one frame of the default largest size, on its own connection: echoed whole.
normal = Client(args)
body = b"n" * 16384
status, _, echoed, reset = normal.response(normal.request("POST", "/echo", body=body))
if status != "200" or echoed != body:
    fail("a %d-octet body in one frame got status %r, %d octets back (reset %r)"
         % (len(body), status, len(echoed or b""), reset))

# Then a body one octet per frame. POST /echo as HPACK: :method POST (0x83), :scheme
# http or https (0x86 or 0x87), :path as a literal with the static table's name (0x44), and
# :authority (0x41); HEADERS without END_STREAM, since the body follows.
sock = connect(args)
sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
authority = args.addr.encode()
scheme = 0x87 if args.cafile else 0x86
block = (bytes([0x83, scheme, 0x44, len(b"/echo")]) + b"/echo" +
         bytes([0x41, len(authority)]) + authority)
sock.sendall(frame(HEADERS, END_HEADERS, 1, block))
octet = frame(DATA, 0, 1, b"x")
sent = [0]


def next_frames():
    if sent[0] >= FRAMES:
        return None
    sent[0] += 100
    return octet * 100


ended, written, frames = flood(sock, next_frames, within=15, max_bytes=1 << 20,
                               stop_on_goaway=True)
codes = [int.from_bytes(p[4:8], "big") for (kind, _, _, p) in frames if kind == GOAWAY]
other = Client(args)
status, _, _, reset = other.response(other.request("GET", "/plaintext"))
if status != "200":
    fail("the second client got status %r (reset %r)" % (status, reset))
if ENHANCE_YOUR_CALM not in codes:
    fail("no GOAWAY ENHANCE_YOUR_CALM after %d one-octet DATA frames (ended: %s, GOAWAY codes %r)"
         % (sent[0], ended, codes))
passed("a %d-octet body in one frame echoed; GOAWAY ENHANCE_YOUR_CALM after at most %d "
       "one-octet DATA frames (%s); a second client got 200" % (len(body), sent[0], ended))
