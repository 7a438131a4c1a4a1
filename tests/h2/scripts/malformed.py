"""A malformed request (RFC 9113 section 8.2.1: "A field name MUST NOT contain characters in
the ranges 0x41 to 0x5a (A to Z)"; section 8.1.1: a malformed request is a stream error of type
PROTOCOL_ERROR): the server resets that stream with PROTOCOL_ERROR, and the same connection
then serves a good request."""

from h2peer import PROTOCOL_ERROR, Client, arguments, fail, passed

args = arguments()
# `h2` refuses to send an uppercase name unless told not to check.
client = Client(args, validate=False)
bad = client.request("GET", "/plaintext", extra=[("X-Upper", "1")])
status, _, _, reset = client.response(bad)
if reset != PROTOCOL_ERROR:
    fail("the malformed request got status %r, reset %r, not RST_STREAM PROTOCOL_ERROR"
         % (status, reset))
good = client.request("GET", "/plaintext")
status, _, body, reset = client.response(good)
if status != "200" or reset is not None:
    fail("the good request after it got status %r, reset %r" % (status, reset))
passed("RST_STREAM PROTOCOL_ERROR for the uppercase name, then 200 on the same connection")
