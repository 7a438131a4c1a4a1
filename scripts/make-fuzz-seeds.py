#!/usr/bin/env python3
"""Writes the committed seed corpus of every fuzz target into common/fuzz/seeds/TARGET/: a few
hand-written HTTP/1.1 inputs, and for the HTTP/2 targets the wire bytes of the shared test data
(http2-frame-test-case's frames, hpack-test-case's header blocks). A fuzz run starts from these
and from its own corpus (common/fuzz/corpus/, not committed: it grows with every run).

Usage: scripts/make-fuzz-seeds.py [TESTDATA]   (default: ../shared/testdata beside the checkout)
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "common" / "fuzz" / "seeds"
TESTDATA = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "testdata"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

HTTP1 = {
    "get": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "pipelined": b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n",
    "post-length": b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    "post-chunked": b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n0\r\nTrailer: t\r\n\r\n",
    "expect": b"PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    "http10": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "smuggle": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}
CHUNKED = {
    "simple": b"\x05" + b"5\r\nhello\r\n0\r\n\r\n",
    "extensions": b"\x03" + b"3;a=b;c\r\nabc\r\n0\r\nX: y\r\n\r\n",
    "split": b"\x01" + b"a\r\n0123456789\r\n0\r\n\r\n",
}
PATHS = {
    "plain": b"/index.html",
    "encoded": b"/a%20b/c%2Fd",
    "dots": b"/a/%2e%2e/b",
    "query": b"/search?q=%41",
    "star": b"*",
}


def write(target, name, data):
    directory = SEEDS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def main():
    for name, data in HTTP1.items():
        write("connection", name, data)
        write("parse_head", name, data)
    for name, data in CHUNKED.items():
        write("chunked", name, data)
    for name, data in PATHS.items():
        write("path", name, data)
    frames = sorted((TESTDATA / "http2-frame-test-case").glob("*/*.json"))
    for path in frames:
        case = json.loads(path.read_text())
        wire = bytes.fromhex(case["wire"]) if case.get("wire") else b""
        name = f"{path.parent.name}-{path.stem}"
        write("h2_frames", name, wire)
        write("h2_connection", name, PREFACE + wire)
    stories = sorted((TESTDATA / "hpack-test-case" / "nghttp2").glob("story_0*.json"))
    for path in stories:
        for case in json.loads(path.read_text())["cases"][:3]:
            write("hpack_decode", f"{path.stem}-{case['seqno']}", bytes.fromhex(case["wire"]))
    counts = {d.name: len(list(d.iterdir())) for d in sorted(SEEDS.iterdir())}
    print("seeds written:", counts)


main()
