"""POST /echo with a body in several DATA frames and trailers (RFC 9113 section 8.1: a request may
end with a trailer section): the server answers 200 with the body, byte for byte."""

from h2peer import Client, arguments, fail, passed

args = arguments()
client = Client(args)
body = b"stagecraft " * 3000
stream = client.conn.get_next_available_stream_id()
client.conn.send_headers(stream, [(":method", "POST"), (":scheme", client.scheme),
                                  (":authority", client.authority), (":path", "/echo"),
                                  ("content-type", "application/octet-stream")])
# In DATA frames of 8000 octets: below the default SETTINGS_MAX_FRAME_SIZE (16384), and the
# whole body below the default window (65535), so no WINDOW_UPDATE is needed to send it.
for start in range(0, len(body), 8000):
    client.conn.send_data(stream, body[start:start + 8000])
client.conn.send_headers(stream, [("x-checksum", str(len(body)))], end_stream=True)
client.flush()
status, headers, got, reset = client.response(stream)
if reset is not None:
    fail("stream reset with error code %d" % reset)
if status != "200":
    fail("status %r, headers %r" % (status, headers))
if got != body:
    fail("the echo has %d bytes, not the %d sent" % (len(got), len(body)))
passed("POST /echo with trailers: 200 and the %d bytes back" % len(body))
