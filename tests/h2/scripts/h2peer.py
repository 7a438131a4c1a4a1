"""What the HTTP/2 peer scripts share: the command line, a connection to the server (h2c, or
TLS with ALPN h2), a client of the `h2` package on it, raw frames (RFC 9113 section 4.1) for
what `h2` refuses to build, and one way to say PASS or FAIL.

Each script is one check, run by tests/h2.rs as `python3 SCRIPT --addr HOST:PORT [...]`; it
prints what it saw and exits 0 when the server behaved, 1 (with the reason) when not. Every
wait is bounded, so a server that goes silent fails the script instead of hanging it.
"""

import argparse
import select
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events

# Frame types and flags (RFC 9113 section 6), and error codes (section 7).
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8, 0x9)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
NO_ERROR, PROTOCOL_ERROR, ENHANCE_YOUR_CALM = 0x0, 0x1, 0xB
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# How long one wait for the server may take before the check fails.
WAIT = 10.0


def arguments(extra=None):
    """--addr HOST:PORT (the h2c port unless --cafile is given), --cafile for TLS, --pid."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", required=True)
    parser.add_argument("--cafile", help="TLS with ALPN h2, trusting this certificate")
    parser.add_argument("--pid", type=int, help="the server's PID, for checks that signal it")
    parser.add_argument("--site", help="the bundled site's directory")
    if extra:
        extra(parser)
    return parser.parse_args()


def fail(why):
    print("FAIL: " + why, flush=True)
    sys.exit(1)


def passed(what):
    print("PASS: " + what, flush=True)
    sys.exit(0)


def connect(args):
    """A connected socket: plain TCP, or TLS asking for `localhost` with ALPN h2 only."""
    host, port = args.addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.cafile:
        context = ssl.create_default_context(cafile=args.cafile)
        context.set_alpn_protocols(["h2"])
        sock = context.wrap_socket(sock, server_hostname="localhost")
        if sock.selected_alpn_protocol() != "h2":
            fail("ALPN chose %r, not h2" % sock.selected_alpn_protocol())
    return sock


class Client:
    """An `h2` client connection on a socket, with bounded waits for events."""

    def __init__(self, args, validate=True, settings=None):
        self.sock = connect(args)
        self.scheme = "https" if args.cafile else "http"
        self.authority = args.addr
        config = h2.config.H2Configuration(
            client_side=True,
            header_encoding="utf-8",
            validate_outbound_headers=validate,
            normalize_outbound_headers=validate,
        )
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()
        self.closed = False

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method, path, body=None, trailers=None, extra=()):
        """Opens a stream with this request; returns its ID."""
        stream = self.conn.get_next_available_stream_id()
        headers = [(":method", method), (":scheme", self.scheme),
                   (":authority", self.authority), (":path", path)] + list(extra)
        self.conn.send_headers(stream, headers, end_stream=body is None and trailers is None)
        if body is not None:
            self.conn.send_data(stream, body, end_stream=trailers is None)
        if trailers is not None:
            self.conn.send_headers(stream, trailers, end_stream=True)
        self.flush()
        return stream

    def events(self, until, within=WAIT):
        """Reads and yields events until `until(event)` is true, the connection ends, or
        `within` seconds pass (then fails). Data is acknowledged as it arrives."""
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("no answer within %.0f s" % within)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                self.closed = True
                yield None
                return
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(event.flow_controlled_length,
                                                        event.stream_id)
                yield event
                if until(event):
                    self.flush()
                    return
            self.flush()

    def response(self, stream, within=WAIT):
        """The whole response on `stream`: (status, headers, body, reset error code or None)."""
        status, headers, body, reset = None, [], bytearray(), None
        def ended(event):
            return (isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset))
                    and event.stream_id == stream)
        for event in self.events(ended, within):
            if event is None:
                fail("the connection closed before stream %d ended" % stream)
            if getattr(event, "stream_id", None) != stream:
                continue
            if isinstance(event, h2.events.ResponseReceived):
                headers = event.headers
                status = dict(headers).get(":status")
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
            elif isinstance(event, h2.events.StreamReset):
                reset = event.error_code
        return status, headers, bytes(body), reset


def frame(kind, flags, stream, payload=b""):
    """One raw frame: 24-bit length, type, flags, 31-bit stream ID, payload."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream & 0x7FFFFFFF) + payload


def read_frames(buffer):
    """Splits whole frames off `buffer` (a bytearray): yields (type, flags, stream, payload)."""
    while len(buffer) >= 9:
        length = int.from_bytes(buffer[0:3], "big")
        if len(buffer) < 9 + length:
            return
        kind, flags = buffer[3], buffer[4]
        stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
        payload = bytes(buffer[9:9 + length])
        del buffer[:9 + length]
        yield kind, flags, stream, payload


def goaway_code(payload):
    """The error code of a GOAWAY payload (last stream ID, then the code)."""
    return int.from_bytes(payload[4:8], "big") if len(payload) >= 8 else None


def flood(sock, next_bytes, within, max_bytes, stop_on_goaway=False):
    """Writes `next_bytes()` to a non-blocking socket as fast as it takes them (until it returns
    None), reading what the server sends meanwhile, until the server closes (or resets) the
    connection, a GOAWAY comes (with `stop_on_goaway`), or `within` seconds pass; writing stops
    after `max_bytes`. Returns (how it ended, bytes written, frames read)."""
    sock.setblocking(False)
    deadline = time.monotonic() + within
    pending, written, received, frames = b"", 0, bytearray(), []
    ended, exhausted = "time", False
    while time.monotonic() < deadline:
        if stop_on_goaway and any(kind == GOAWAY for (kind, _, _, _) in frames):
            ended = "goaway"
            break
        wants_write = written < max_bytes and not exhausted
        readable, writable, _ = select.select([sock], [sock] if wants_write else [], [], 0.2)
        if readable:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                data = None
            except (ConnectionResetError, BrokenPipeError):
                ended = "reset"
                break
            if data == b"":
                ended = "closed"
                break
            if data:
                received += data
                frames.extend(read_frames(received))
        if writable:
            if not pending:
                pending = next_bytes()
                if pending is None:
                    exhausted, pending = True, b""
                    continue
            try:
                sent = sock.send(pending)
                pending = pending[sent:]
                written += sent
            except (BlockingIOError, ssl.SSLWantWriteError):
                pass
            except (ConnectionResetError, BrokenPipeError):
                ended = "reset"
                break
    return ended, written, frames
