"""Graceful shutdown (RFC 9113 section 6.8): SIGTERM while a /slow is in flight. The server
says GOAWAY (NO_ERROR, naming a last stream that includes ours), finishes the /slow, and
closes the connection."""

import os
import signal
import time

import h2.events

from h2peer import NO_ERROR, Client, arguments, fail, passed

args = arguments()
if not args.pid:
    fail("--pid is needed")
client = Client(args)
stream = client.request("GET", "/slow?ms=1000")
# Give the request time to reach the handler, then ask the server to stop.
time.sleep(0.3)
os.kill(args.pid, signal.SIGTERM)
goaway, ended, body = None, False, bytearray()
for event in client.events(lambda e: False, within=15):
    if event is None:
        break
    if isinstance(event, h2.events.ConnectionTerminated):
        goaway = event
    elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
        body += event.data
    elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
        ended = True
    elif isinstance(event, h2.events.StreamReset):
        fail("stream reset with error code %d" % event.error_code)
if not ended or not body.startswith(b"slept"):
    fail("the /slow did not complete (body %r)" % bytes(body))
if goaway is None:
    fail("no GOAWAY before the connection closed")
if goaway.error_code != NO_ERROR or goaway.last_stream_id < stream:
    fail("GOAWAY with code %d and last stream %d" % (goaway.error_code, goaway.last_stream_id))
if not client.closed:
    fail("the connection stayed open")
passed("the /slow completed, GOAWAY(NO_ERROR, last stream %d), then the close"
       % goaway.last_stream_id)
