#!/usr/bin/env python3
"""Checks the built book as a reader sees it, in the system's headless Chromium.

    book-render-check.py BOOK_DIR PAGE.html... [--screenshots DIR]
    book-render-check.py --self-test

BOOK_DIR is the output of `mdbook build book -d BOOK_DIR`. Each PAGE is opened at 1280x900 CSS
pixels with the browser's default font, and checked:

- it rendered: the content has an <h1>, and no mdBook directive (`{{#include ...}}`) is left in
  the text, which is what mdBook leaves behind when an include fails;
- every <img> finished loading with a natural width above 0;
- every <table> is no wider than the content column. mdBook 0.5 wraps each table in
  `<div class="table-wrapper">` with `overflow-x: auto`, so a wide table scrolls inside its
  wrapper and never widens the page: the table itself is measured, against its wrapper and the
  content column (<main>);
- every SVG image's text is readable: its smallest font size (in the SVG's own units) times
  the scale it is shown at (displayed width / the SVG's own width) is at least 11 CSS px.

A full-page screenshot of each page goes into the --screenshots directory, for a person to
look at. Every failure is printed on a line of its own, by page and table or image; the exit
status is 0 when all pass, 1 when any check fails, 2 when the checker could not run.

The browser is the system's (/usr/bin/chromium, driven by /usr/bin/chromedriver through the
`selenium` package): a test tool's own browser download does not work on a closed network, and
selenium with an explicit Service and binary never tries one. `--self-test` runs the checker's
own tests: pure ones for the SVG font reader, and browser ones against small bad pages it writes
into a temporary directory, so that each check is shown to fail when it should.
"""

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import unquote, urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# A normal desktop window; mdBook shows its sidebar from 1080 px up and caps the text column at
# 750 px (--content-max-width), so at this size the column is 750 px wide.
WINDOW = (1280, 900)
# The smallest chart text, in CSS px as displayed, that still reads comfortably: the book's own
# body text is 16 px, and 11 px is the usual floor for labels.
MIN_FONT_PX = 11.0
# How long one page may take to load, and how long its images may take to finish after that.
PAGE_LOAD_SECONDS = 30
IMAGES_SECONDS = 15

# What one page reports about itself, measured by the browser: the column, every table and
# every image, each with the heading it comes after so that a failure can be found in the page.
PAGE_SCRIPT = r"""
const main = document.querySelector('main');
if (!main) { return {main: false}; }
const style = getComputedStyle(main);
const column = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
const headings = Array.from(main.querySelectorAll('h1, h2, h3, h4, h5, h6'));
function headingBefore(element) {
  let found = null;
  for (const heading of headings) {
    if (heading.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING) {
      found = heading;
    } else {
      break;
    }
  }
  return found ? found.textContent.trim() : null;
}
const h1 = main.querySelector('h1');
const text = main.innerText;
const at = text.indexOf('{{#');
const tables = Array.from(main.querySelectorAll('table')).map((table) => {
  const wrapper = table.parentElement;
  return {
    width: Math.max(table.scrollWidth, table.getBoundingClientRect().width),
    wrapper: wrapper.classList.contains('table-wrapper') ? wrapper.clientWidth : null,
    heading: headingBefore(table),
    // The first row's cells, to tell apart two tables under one heading.
    columns: Array.from(table.rows.length ? table.rows[0].cells : [])
      .map((cell) => cell.textContent.replace(/\s+/g, ' ').trim()),
  };
});
// mdBook 0.5 puts every image in twice: the one shown, and a hidden copy in a
// `.img-wrapper` that appears enlarged when the image is clicked. Only what is laid out on
// the page is a reader's concern; the copy has the same source, so nothing goes unchecked.
const shown = Array.from(main.querySelectorAll('img'))
  .filter((img) => img.getClientRects().length > 0);
const images = shown.map((img) => ({
  src: img.getAttribute('src'),
  url: img.currentSrc || img.src,
  complete: img.complete,
  naturalWidth: img.naturalWidth,
  width: img.getBoundingClientRect().width,
  heading: headingBefore(img),
}));
return {
  main: true,
  h1: h1 ? h1.textContent.trim() : null,
  directive: at >= 0 ? text.substr(at, 60) : null,
  column: column,
  tables: tables,
  images: images,
};
"""

IMAGES_DONE_SCRIPT = (
    "return Array.from(document.images).every((img) => img.complete);"
)


# --- Reading an SVG's font sizes ------------------------------------------------------------

SVG_NS = "{http://www.w3.org/2000/svg}"
TEXT_TAGS = {"text", "tspan", "textPath"}
# CSS's absolute size keywords, in px, as browsers map them at the default 16 px.
KEYWORD_PX = {
    "xx-small": 9.0,
    "x-small": 10.0,
    "small": 13.0,
    "medium": 16.0,
    "large": 18.0,
    "x-large": 24.0,
    "xx-large": 32.0,
    "xxx-large": 48.0,
}
DEFAULT_FONT_PX = 16.0
LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z%]*)\s*$")


def font_size_px(value, inherited):
    """A CSS font-size value in px, given the parent's; None for one this reader cannot size."""
    value = value.strip().lower()
    if value in KEYWORD_PX:
        return KEYWORD_PX[value]
    if value == "smaller":
        return inherited / 1.2
    if value == "larger":
        return inherited * 1.2
    if value in ("inherit", "unset"):
        return inherited
    match = LENGTH.match(value)
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    factors = {"": 1.0, "px": 1.0, "pt": 4.0 / 3.0, "pc": 16.0, "in": 96.0,
               "cm": 96.0 / 2.54, "mm": 96.0 / 25.4, "q": 96.0 / 101.6}
    if unit in factors:
        return number * factors[unit]
    if unit == "em":
        return number * inherited
    if unit == "ex":
        return number * inherited / 2.0
    if unit == "%":
        return number * inherited / 100.0
    if unit == "rem":
        return number * DEFAULT_FONT_PX
    return None


def declared_font_size(element):
    """The element's own font-size declaration: its style attribute wins over the attribute."""
    style = element.get("style", "")
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        if name.strip().lower() == "font-size" and value.strip():
            return value
    return element.get("font-size")


def local_name(tag):
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def svg_fonts(path):
    """(smallest font size of any text, the SVG's own width), both in the SVG's user units.

    The SVG's own width is its viewBox's, the coordinate system its font sizes are in; without a
    viewBox it is the width attribute. Sizes from <style> sheets are counted whether or not a
    rule matches any text: a smaller one may be an unused rule, but a reader that missed a used
    one would pass an unreadable chart. Returns None for the size if the SVG has no text.
    """
    root = ElementTree.parse(path).getroot()
    sizes = []
    problems = []

    def walk(element, inherited):
        tag = local_name(element.tag)
        declared = declared_font_size(element)
        size = inherited
        if declared is not None:
            size = font_size_px(declared, inherited)
            if size is None:
                problems.append(f"font-size {declared!r} on <{tag}>")
                size = inherited
        if tag == "style":
            for value in re.findall(r"font-size\s*:\s*([^;}]+)", element.text or ""):
                sheet_size = font_size_px(value, DEFAULT_FONT_PX)
                if sheet_size is None:
                    problems.append(f"font-size {value.strip()!r} in <style>")
                else:
                    sizes.append(sheet_size)
        if tag in TEXT_TAGS and (element.text or "").strip():
            sizes.append(size)
        for child in element:
            walk(child, size)
            if tag in TEXT_TAGS and (child.tail or "").strip():
                sizes.append(size)

    walk(root, DEFAULT_FONT_PX)
    width = None
    view_box = root.get("viewBox")
    if view_box:
        parts = re.split(r"[\s,]+", view_box.strip())
        if len(parts) == 4:
            width = float(parts[2])
    if width is None and root.get("width"):
        width = font_size_px(root.get("width"), DEFAULT_FONT_PX)
    return (min(sizes) if sizes else None), width, problems


# --- Checking pages -------------------------------------------------------------------------


def file_url(path):
    return Path(path).resolve().as_uri()


def url_to_path(url):
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def start_browser(profile_dir):
    """The system Chromium, headless, through the system chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The flags this closed network needs: without the background-networking ones Chromium's
    # own connections are refused and slow every start; a new profile keeps runs independent.
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--force-device-scale-factor=1",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={profile_dir}",
    ):
        options.add_argument(flag)
    service = Service(CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    driver.set_script_timeout(10)
    return driver


def screenshot(driver, path):
    """A PNG of the whole page, not only the window: the layout's full size, captured at once."""
    import base64

    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    Path(path).write_bytes(base64.b64decode(shot["data"]))


def shorten(text, limit=60):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(page, kind, index, heading):
    where = f"{page} {kind} {index}"
    if heading:
        where += f" (after heading {heading!r})"
    return where


def check_page(driver, page_path, page_name, screenshot_dir=None):
    """Every failure on one page, as lines for a person; an empty list when the page is good."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    failures = []
    try:
        driver.get(file_url(page_path))
    except TimeoutException:
        return [f"{page_name}: did not load in {PAGE_LOAD_SECONDS} s"]
    try:
        WebDriverWait(driver, IMAGES_SECONDS).until(lambda d: d.execute_script(IMAGES_DONE_SCRIPT))
    except TimeoutException:
        failures.append(f"{page_name}: images still loading after {IMAGES_SECONDS} s")
    report = driver.execute_script(PAGE_SCRIPT)
    if screenshot_dir is not None:
        screenshot(driver, Path(screenshot_dir) / (Path(page_name).stem + ".png"))
    if not report["main"]:
        return failures + [f"{page_name}: no <main> element: not an mdBook page?"]
    if not report["h1"]:
        failures.append(f"{page_name}: the chapter has no <h1> heading")
    if report["directive"]:
        failures.append(
            f"{page_name}: an mdBook directive was not expanded: {report['directive']!r}"
        )

    column = report["column"]
    for index, table in enumerate(report["tables"], start=1):
        limit = column if table["wrapper"] is None else min(column, table["wrapper"])
        # Widths are fractional; a table within a pixel of the column does not scroll.
        if table["width"] > limit + 1:
            failures.append(
                f"{describe(page_name, 'table', index, table['heading'])}: "
                f"{table['width']:.0f} px in a {limit:.0f} px column "
                f"({table['width'] - limit:.0f} px too wide; {len(table['columns'])} columns: "
                f"{shorten(', '.join(table['columns']))})"
            )

    for index, image in enumerate(report["images"], start=1):
        where = describe(page_name, "image", index, image["heading"]) + f" {image['src']}"
        if not image["complete"] or image["naturalWidth"] <= 0:
            failures.append(f"{where}: did not load (natural width {image['naturalWidth']})")
            continue
        path = url_to_path(image["url"])
        if path is None or path.suffix.lower() != ".svg":
            continue
        try:
            smallest, own_width, problems = svg_fonts(path)
        except (OSError, ElementTree.ParseError) as error:
            failures.append(f"{where}: cannot read the SVG: {error}")
            continue
        for problem in problems:
            failures.append(f"{where}: cannot size {problem}")
        if smallest is None:
            continue
        if not own_width:
            failures.append(f"{where}: the SVG has neither a viewBox nor a width")
            continue
        shown = smallest * image["width"] / own_width
        if shown < MIN_FONT_PX:
            failures.append(
                f"{where}: smallest text {smallest:.2f} px in a {own_width:.0f} px wide SVG shown "
                f"{image['width']:.0f} px wide is {shown:.2f} px on screen, "
                f"under {MIN_FONT_PX:.0f} px"
            )
    return failures


def check_book(book_dir, pages, screenshot_dir):
    if screenshot_dir is not None:
        Path(screenshot_dir).mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="stagecraft-chromium-")
    driver = None
    try:
        driver = start_browser(profile)
        failures = []
        for page in pages:
            path = Path(book_dir) / page
            if not path.is_file():
                failures.append(f"{page}: not in the built book")
                continue
            found = check_page(driver, path, page, screenshot_dir)
            print(f"FAIL {page}: {len(found)} problem(s)" if found else f"ok   {page}")
            failures.extend(found)
        return failures
    finally:
        # quit() asks chromedriver to close Chromium, then ends chromedriver by its process.
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --- The checker's own tests ----------------------------------------------------------------


def write(path, text):
    Path(path).write_text(text, encoding="utf-8")


SVG_6PX = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="100" viewBox="0 0 400 100">'
    '<text x="10" y="20" font-size="14">a title</text>'
    '<text x="10" y="60" font-size="6">a 6 px label</text></svg>'
)
SVG_READABLE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="100" viewBox="0 0 400 100"'
    ' font-size="14"><text x="10" y="20">a title</text>'
    '<text x="10" y="60" style="font-size: 12px">a label</text></svg>'
)
# A page laid out like mdBook's: a 750 px <main>, tables in an overflow-x: auto wrapper.
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>main {{ max-width: 750px; margin: 0 auto; }} .table-wrapper {{ overflow-x: auto; }}
img {{ max-width: 100%; }}</style></head>
<body><main>{body}</main></body></html>
"""


class SvgFontTests(unittest.TestCase):
    """The SVG reader, without a browser."""

    def svg(self, text):
        directory = tempfile.mkdtemp(prefix="stagecraft-svg-")
        self.addCleanup(shutil.rmtree, directory)
        path = Path(directory) / "chart.svg"
        write(path, text)
        return svg_fonts(path)

    def test_smallest_text_and_view_box_width(self):
        self.assertEqual(self.svg(SVG_6PX), (6.0, 400.0, []))

    def test_inherited_style_and_relative_sizes(self):
        smallest, width, problems = self.svg(
            '<svg xmlns="http://www.w3.org/2000/svg" width="800" viewBox="0 0 1600 900"'
            ' font-size="20"><g style="font-size:0.5em"><text>x</text></g>'
            '<text font-size="9pt">y</text><text>z</text></svg>'
        )
        self.assertEqual((smallest, width, problems), (10.0, 1600.0, []))

    def test_default_size_and_width_attribute(self):
        self.assertEqual(
            self.svg('<svg xmlns="http://www.w3.org/2000/svg" width="300"><text>x</text></svg>'),
            (16.0, 300.0, []),
        )

    def test_style_sheet_sizes_count(self):
        smallest, _, _ = self.svg(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
            '<style>.axis { font-size: 7px }</style><text font-size="20">x</text></svg>'
        )
        self.assertEqual(smallest, 7.0)

    def test_text_free_svg_and_unknown_units(self):
        self.assertEqual(
            self.svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect/></svg>'),
            (None, 10.0, []),
        )
        _, _, problems = self.svg(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
            '<text font-size="3vw">x</text></svg>'
        )
        self.assertEqual(len(problems), 1)


class BrowserTests(unittest.TestCase):
    """Each check against a page made to fail it, and a good page that passes them all."""

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="stagecraft-render-selftest-")
        cls.profile = tempfile.mkdtemp(prefix="stagecraft-chromium-")
        d = Path(cls.directory)
        write(d / "tiny.svg", SVG_6PX)
        write(d / "good.svg", SVG_READABLE)
        wide_row = "".join(f"<td>column&nbsp;number&nbsp;{i}</td>" for i in range(12))
        write(d / "bad.html", PAGE.format(title="bad", body=(
            "<h1>A bad chapter</h1><h2>Too wide</h2>"
            f'<div class="table-wrapper"><table><tr>{wide_row}</tr></table></div>'
            '<h2>Missing</h2><img src="no-such-chart.svg" alt="missing">'
            '<h2>Tiny</h2><img src="tiny.svg" alt="tiny">'
            "<p>{{#include no-such-file.md}}</p>"
        )))
        write(d / "headless.html", PAGE.format(title="no heading", body="<p>text only</p>"))
        write(d / "good.html", PAGE.format(title="good", body=(
            "<h1>A good chapter</h1>"
            '<div class="table-wrapper"><table><tr><td>a</td><td>b</td></tr></table></div>'
            '<img src="good.svg" alt="readable">'
            # A hidden copy, as mdBook keeps for its click-to-enlarge view: not shown, so its
            # zero width must not count as unreadable text.
            '<span style="display: none"><img src="good.svg" alt="hidden copy"></span>'
        )))
        cls.driver = start_browser(cls.profile)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        shutil.rmtree(cls.directory, ignore_errors=True)
        shutil.rmtree(cls.profile, ignore_errors=True)

    def check(self, name):
        return check_page(self.driver, Path(self.directory) / name, name)

    def test_a_bad_page_fails_every_check(self):
        failures = self.check("bad.html")
        joined = "\n".join(failures)
        self.assertEqual(len(failures), 4, joined)
        self.assertRegex(
            joined,
            r"bad\.html table 1 \(after heading 'Too wide'\): \d+ px in a 750 px column "
            r"\(\d+ px too wide; 12 columns: column number 0, column number 1, ",
        )
        self.assertRegex(
            joined,
            r"bad\.html image 1 \(after heading 'Missing'\) no-such-chart\.svg: did not load",
        )
        self.assertRegex(
            joined,
            r"bad\.html image 2 \(after heading 'Tiny'\) tiny\.svg: "
            r"smallest text 6\.00 px in a 400 px wide SVG shown 400 px wide "
            r"is 6\.00 px on screen, under 11 px",
        )
        self.assertIn(
            "an mdBook directive was not expanded: '{{#include no-such-file.md}}'", joined
        )

    def test_a_page_without_a_heading_fails(self):
        self.assertEqual(
            self.check("headless.html"), ["headless.html: the chapter has no <h1> heading"]
        )

    def test_a_good_page_passes(self):
        self.assertEqual(self.check("good.html"), [])

    def test_a_full_page_screenshot_is_written(self):
        out = Path(self.directory) / "shots"
        out.mkdir()
        check_page(self.driver, Path(self.directory) / "good.html", "good.html", out)
        self.assertEqual((out / "good.png").read_bytes()[:8], b"\x89PNG\r\n\x1a\n")


# --- Command line ---------------------------------------------------------------------------


def main():
    # A SIGTERM (the Rust test's timeout) unwinds through the `finally` that closes the browser.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--self-test", action="store_true", help="run the checker's own tests")
    parser.add_argument("--screenshots", help="write a full-page PNG of each page here")
    parser.add_argument("book", nargs="?", help="the built book's directory")
    parser.add_argument("pages", nargs="*", help="pages to check, relative to the book")
    args = parser.parse_args()
    if args.self_test:
        suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
        result = unittest.TextTestRunner(verbosity=2).run(suite)
        return 0 if result.wasSuccessful() and result.testsRun > 0 else 1
    if not args.book or not args.pages:
        parser.error("give the built book's directory and at least one page")
    from selenium.common.exceptions import WebDriverException

    try:
        failures = check_book(args.book, args.pages, args.screenshots)
    except WebDriverException as error:
        # The browser or its driver did not start or went away: no verdict on the book.
        print(f"the browser could not check the book: {error}", file=sys.stderr)
        return 2
    if failures:
        print(f"\n{len(failures)} problem(s) in the rendered book:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print(f"all {len(args.pages)} page(s) render, fit the column and have readable charts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
