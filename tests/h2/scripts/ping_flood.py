"""PING flood without reading (CVE-2019-9512): every PING asks for a PING ACK, and a client
that never reads them would have the server queue ACKs without bound. The server must cut
such a connection instead: here it must end within the time allowed while the client writes
PINGs and never reads."""

import select
import socket
import time

from h2peer import PING, PREFACE, SETTINGS, arguments, connect, fail, frame, passed

args = arguments()
sock = connect(args)
sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
pings = frame(PING, 0, 0, b"stagecrf") * 512
sock.setblocking(False)
deadline = time.monotonic() + 20
written, ended = 0, None
while time.monotonic() < deadline and ended is None:
    _, writable, _ = select.select([], [sock], [], 0.5)
    if not writable:
        # The server does not read now; it may have closed, which the next send would say.
        continue
    try:
        written += sock.send(pings)
    except BlockingIOError:
        pass
    except (BrokenPipeError, ConnectionResetError):
        ended = "reset"
if ended is None:
    # The writes stopped being taken: ask the kernel whether the server closed (reading now,
    # at the end, and for at most a few seconds).
    sock.setblocking(True)
    sock.settimeout(2)
    stop = time.monotonic() + 5
    try:
        while time.monotonic() < stop:
            if not sock.recv(1 << 20):
                ended = "closed"
                break
    except (ConnectionResetError, BrokenPipeError):
        ended = "reset"
    except OSError:
        pass
if ended is None:
    fail("the connection was still open after %d bytes of PING" % written)
passed("the server ended the connection (%s) after %d bytes of unread PINGs" % (ended, written))
