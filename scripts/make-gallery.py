#!/usr/bin/env python3
"""Writes common/site/gallery/: a page that links 30 small files (8 stylesheets, 5 scripts,
12 SVG and 5 PNG images, 1-4 KiB each), the page the benchmark harness's page-load scenarios
fetch (benches/harness/src/pageload.rs) and that a browser can open too.

The files are committed; run this again only to change them. It is deterministic (no clock,
no random numbers without a fixed seed), so running it twice gives the same bytes.
"""
import os
import random
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "common", "site", "gallery")
STAGES = ["blocking", "thread pool", "prefork", "evented", "async", "TLS", "HTTP/2"]
COLOURS = ["#a8142a", "#d4aa3c", "#1d1b26", "#5c5866", "#2f6f73", "#7a4f9a", "#c0652b"]


def write(relative, data):
    path = os.path.join(OUT, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def css(i):
    rules = [f"/* Gallery stylesheet {i + 1} of 8: one part of the page's look per file. */"]
    colour = COLOURS[i % len(COLOURS)]
    for j in range(12):
        rules.append(
            f".tile-{i + 1}-{j + 1} {{\n  border: 2px solid {colour};\n"
            f"  border-radius: {2 + j}px;\n  margin: {j % 4 * 0.25}rem;\n"
            f"  padding: 0.{j + 1}rem;\n  background: #fbf8f1;\n}}"
        )
    if i == 0:
        rules.append(
            "body { margin: 0 auto; max-width: 60rem; padding: 1.5rem;\n"
            "  font: 1rem/1.5 system-ui, sans-serif; color: #1d1b26; background: #fbf8f1; }\n"
            ".tiles { display: flex; flex-wrap: wrap; gap: 0.5rem; }\n"
            ".tiles img { width: 96px; height: 96px; border-radius: 6px; }\n"
            "h1 { color: #a8142a; }"
        )
    return "\n\n".join(rules) + "\n"


def js(i):
    lines = [
        f"// Gallery script {i + 1} of 5: marks that it ran, so a reader can see every file arrived.",
        "(function () {",
        f'  const name = "script-{i + 1}";',
        "  const done = (document.body.dataset.scripts || \"\").split(\" \").filter(Boolean);",
        "  done.push(name);",
        "  document.body.dataset.scripts = done.join(\" \");",
        "  const out = document.getElementById(\"scripts\");",
        "  if (out) {",
        "    out.textContent = done.length + \" of 5 scripts ran: \" + done.join(\", \");",
        "  }",
    ]
    # Padding in comments so each script is a few KiB, as a small real script is.
    for j in range(20 + 6 * i):
        lines.append(f"  // {j:02}: the page-load scenario asks for every file of this page at once.")
    lines.append("})();")
    return "\n".join(lines) + "\n"


def svg(i):
    colour = COLOURS[i % len(COLOURS)]
    stage = STAGES[i % len(STAGES)]
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96" width="96" height="96">',
        f"  <title>Tile {i + 1}: {stage}</title>",
        f'  <rect width="96" height="96" rx="8" fill="{colour}"/>',
    ]
    rng = random.Random(i)
    for j in range(14 + i):
        x, y, r = rng.randrange(8, 88), rng.randrange(8, 88), rng.randrange(3, 14)
        fill = COLOURS[(i + j + 1) % len(COLOURS)]
        parts.append(f'  <circle cx="{x}" cy="{y}" r="{r}" fill="{fill}" opacity="0.55"/>')
    parts.append(
        f'  <text x="48" y="56" font-family="sans-serif" font-size="12" text-anchor="middle" '
        f'fill="#fbf8f1">{stage}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(i, size=40):
    rng = random.Random(100 + i)
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            noise = rng.randrange(0, 24)
            row += bytes([(x * 6 + noise) % 256, (y * 6 + 40 * i) % 256, (120 + noise * 3) % 256])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def main():
    assets = []
    for i in range(8):
        write(f"css/part-{i + 1}.css", css(i))
        assets.append(("css", f"/gallery/css/part-{i + 1}.css"))
    for i in range(5):
        write(f"js/script-{i + 1}.js", js(i))
        assets.append(("js", f"/gallery/js/script-{i + 1}.js"))
    for i in range(12):
        write(f"img/tile-{i + 1:02}.svg", svg(i))
        assets.append(("img", f"/gallery/img/tile-{i + 1:02}.svg"))
    for i in range(5):
        write(f"img/photo-{i + 1}.png", png(i))
        assets.append(("img", f"/gallery/img/photo-{i + 1}.png"))
    assert len(assets) == 30
    head = [f'  <link rel="stylesheet" href="{path}">' for kind, path in assets if kind == "css"]
    scripts = [f'  <script src="{path}" defer></script>' for kind, path in assets if kind == "js"]
    images = [
        f'    <img src="{path}" width="96" height="96" alt="gallery tile {n + 1}">'
        for n, path in enumerate(path for kind, path in assets if kind == "img")
    ]
    page = "\n".join(
        ["<!doctype html>", '<html lang="en">', "<head>", '  <meta charset="utf-8">',
         '  <meta name="viewport" content="width=device-width, initial-scale=1">',
         "  <title>Stagecraft: a page of thirty files</title>"]
        + head + scripts
        + ["</head>", "<body>", "  <h1>A page of thirty files</h1>",
           "  <p>This page links thirty small files: eight stylesheets, five scripts and seventeen",
           "    images. The benchmark harness loads it over HTTP/1.1 (six connections) and HTTP/2",
           "    (one connection) to show what multiplexing buys; open your browser's network panel",
           "    and reload it to watch the same thing. <a href=\"/\">Back to the start page</a>.</p>",
           '  <p id="scripts">The scripts have not run (JavaScript is off).</p>',
           '  <div class="tiles">']
        + images
        + ["  </div>", "</body>", "</html>"]
    ) + "\n"
    write("index.html", page)


if __name__ == "__main__":
    main()
