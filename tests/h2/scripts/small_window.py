"""Flow control (RFC 9113 section 6.9): the client says SETTINGS_INITIAL_WINDOW_SIZE 16, so
the server may send at most 16 bytes of a stream's DATA until the client opens the window with
WINDOW_UPDATE. /big.bin (1 MiB) must stop at 16 bytes, then arrive complete once the window
is opened, and match the file."""

import os
import time

import h2.events
import h2.settings

from h2peer import WAIT, Client, arguments, fail, passed

args = arguments()
client = Client(args, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16})
# Wait for the server's ACK of our SETTINGS, so the 16-byte window is in force.
for event in client.events(lambda e: isinstance(e, h2.events.SettingsAcknowledged)):
    if event is None:
        fail("the connection closed before the SETTINGS ACK")
stream = client.request("GET", "/big.bin")

# Read for a while without acknowledging anything: no more than 16 bytes may come.
status, body = None, bytearray()
client.sock.settimeout(0.5)
deadline = time.monotonic() + 1.0
while time.monotonic() < deadline:
    try:
        data = client.sock.recv(65536)
    except OSError:
        continue
    if not data:
        fail("the connection closed with the window at 16")
    for event in client.conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            status = dict(event.headers).get(":status")
        elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
            body += event.data
        elif isinstance(event, h2.events.StreamReset):
            fail("stream reset with error code %d" % event.error_code)
    client.flush()
if status != "200":
    fail("status %r before the window opened" % status)
if len(body) > 16:
    fail("%d bytes arrived in a 16-byte window" % len(body))
window_bytes = len(body)

# Open the stream's window (the connection's is 65535 and grows as data is acknowledged).
client.conn.increment_flow_control_window(1 << 21, stream_id=stream)
client.flush()
_, _, rest, reset = client.response(stream, within=WAIT * 3)
if reset is not None:
    fail("stream reset with error code %d" % reset)
body += rest
expected = open(os.path.join(args.site, "big.bin"), "rb").read() if args.site else None
if len(body) != 1048576 or (expected is not None and bytes(body) != expected):
    fail("got %d bytes of /big.bin, not the file's 1048576" % len(body))
passed("%d bytes in the 16-byte window, then all 1048576 after WINDOW_UPDATE" % window_bytes)
