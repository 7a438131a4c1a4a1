//! Headless Chromium loads the bundled site over https, and the test looks at what it drew.
//!
//! Two runs, each with a fresh profile: `--screenshot` (decoded here: the right size, not
//! blank, the site's own colours, so neither an empty page nor Chromium's error page), and
//! `--dump-dom` (the page's title and heading, and the answer of `/api/info` that the page's
//! script fetched, a second https request from the browser). The certificate is the one the
//! server made at start; Chromium is told to accept it (`--ignore-certificate-errors`), as a
//! developer trying the stage out would click through the warning.
//!
//! The flags are those that work on these machines (see the environment notes): as root,
//! `--no-sandbox`; and no background networking, which a closed network refuses.
//!
//! The screenshot is kept in `target/tmp/tls/chromium-site.png` for people to look at.

use stagekit::peers::CHROMIUM;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use stagekit::scratch::TempDir;

use crate::support::*;

/// Bounds each Chromium run; a run takes two or three seconds here.
const CHROMIUM_WITHIN: Duration = Duration::from_secs(90);

const WIDTH: u32 = 1024;
const HEIGHT: u32 = 768;

/// The site's colours (common/site/style.css): the page's background and the heading's red.
const PAPER: [u8; 3] = [0xfb, 0xf8, 0xf1];
const CURTAIN: [u8; 3] = [0xa8, 0x14, 0x2a];

/// Where the screenshot is kept.
fn screenshot_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("tls")
        .join("chromium-site.png")
}

/// `chromium FLAGS EXTRA URL`, with a new profile directory of its own.
fn chromium(program: &Path, extra: &[&str], url: &str) -> Ran {
    let profile = TempDir::new("tls-chromium-profile");
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let mut args = stagekit::peers::CHROMIUM_HEADLESS_FLAGS.to_vec();
    args.push(&profile_arg);
    args.extend_from_slice(extra);
    args.push(url);
    run(program, &args, b"", CHROMIUM_WITHIN)
}

#[test]
fn chromium_renders_the_site_over_https() {
    let Some(program) = require(CHROMIUM, "chromium::renders_the_site") else {
        return;
    };
    let server = TlsServer::start(&[]);
    let url = server.url("localhost", "/");

    let shot = screenshot_path();
    if let Some(dir) = shot.parent() {
        std::fs::create_dir_all(dir).or_fail("making target/tmp/tls");
    }
    // A screenshot left by an earlier run must not pass for this one.
    let _ = std::fs::remove_file(&shot);
    let screenshot_arg = format!("--screenshot={}", shot.display());
    let window = format!("--window-size={WIDTH},{HEIGHT}");
    let ran = chromium(&program, &[&screenshot_arg, &window], &url);
    assert!(ran.succeeded(), "{}", ran.report());
    check_screenshot(&shot);

    // The page's script fills #stage from /api/info; the virtual time budget lets it finish.
    let ran = chromium(
        &program,
        &["--virtual-time-budget=5000", "--dump-dom"],
        &url,
    );
    assert!(ran.succeeded(), "{}", ran.report());
    let dom = &ran.stdout;
    assert!(
        dom.contains("<title>Stagecraft</title>"),
        "no title in the DOM:\n{dom}"
    );
    assert!(
        dom.contains("<h1>Stagecraft</h1>"),
        "no heading in the DOM:\n{dom}"
    );
    assert!(
        dom.contains("<strong>stage06-tls</strong>"),
        "the page's fetch of /api/info did not fill in the stage:\n{dom}"
    );
}

/// A PNG of the window's size, with the page's background over much of it, some of the
/// heading's red, and many colours (the picture in the header): what the site looks like, not
/// a blank page nor an error page.
fn check_screenshot(path: &Path) {
    let file = std::fs::File::open(path).or_fail(&format!("opening {}", path.display()));
    let mut decoder = png::Decoder::new(BufReader::new(file));
    // 8-bit samples whatever the file holds (palette, 16-bit): one way to read the pixels.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().or_fail("reading the PNG's header");
    let size = reader
        .output_buffer_size()
        .unwrap_or_else(|| panic!("the screenshot is too large to decode"));
    let mut pixels = vec![0u8; size];
    let info = reader
        .next_frame(&mut pixels)
        .or_fail("decoding the screenshot");
    assert_eq!(
        (info.width, info.height),
        (WIDTH, HEIGHT),
        "{}",
        path.display()
    );
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("an unexpected colour type in the screenshot: {other:?}"),
    };
    let rgb: Vec<[u8; 3]> = pixels[..info.line_size * HEIGHT as usize]
        .chunks(info.line_size)
        .flat_map(|line| line.chunks(channels).take(WIDTH as usize))
        .map(|pixel| [pixel[0], pixel[1], pixel[2]])
        .collect();
    let near = |pixel: &[u8; 3], colour: &[u8; 3]| {
        pixel.iter().zip(colour).all(|(a, b)| a.abs_diff(*b) <= 8)
    };
    let total = rgb.len();
    let paper = rgb.iter().filter(|pixel| near(pixel, &PAPER)).count();
    let curtain = rgb.iter().filter(|pixel| near(pixel, &CURTAIN)).count();
    let mut colours: Vec<[u8; 3]> = rgb.clone();
    colours.sort_unstable();
    colours.dedup();
    let shown = format!(
        "{}: {paper} of {total} pixels the page's background, {curtain} the heading's red, \
         {} colours",
        path.display(),
        colours.len()
    );
    assert!(paper > total / 3, "not the site's page: {shown}");
    assert!(curtain > 1000, "no heading drawn: {shown}");
    assert!(colours.len() > 200, "too few colours for the site: {shown}");
}
