"""Streams are answered independently (RFC 9113 section 5): on one connection, a /slow?ms=1000
on stream 1 does not hold up a /plaintext on stream 3, whose answer arrives first and at once."""

import time

import h2.events

from h2peer import Client, arguments, fail, passed

args = arguments()
client = Client(args)
started = time.monotonic()
slow = client.request("GET", "/slow?ms=1000")
fast = client.request("GET", "/plaintext")
order, fast_at = [], None
for event in client.events(lambda e: len(order) == 2):
    if event is None:
        fail("the connection closed with streams open")
    if isinstance(event, h2.events.StreamEnded):
        order.append(event.stream_id)
        if event.stream_id == fast:
            fast_at = time.monotonic() - started
    elif isinstance(event, h2.events.StreamReset):
        fail("stream %d reset with error code %d" % (event.stream_id, event.error_code))
if order != [fast, slow]:
    fail("streams ended in the order %r, not /plaintext first" % order)
if fast_at > 0.5:
    fail("/plaintext took %.3f s beside a /slow" % fast_at)
passed("/plaintext answered after %.3f s while /slow?ms=1000 ran on the same connection" % fast_at)
