//! Headless Chromium, a browser that prefers HTTP/2: `https://localhost:PORT/api/info` comes
//! over ALPN `h2`, and the document it shows says `"protocol":"HTTP/2"`. The flags are stage
//! 06's (`tests/tls/chromium.rs`): a fresh profile, no sandbox as root, no background
//! networking, and the server's self-signed certificate accepted
//! (`--ignore-certificate-errors`), as a developer trying the stage would click through.

use stagekit::peers::CHROMIUM;
use std::time::Duration;

use stagekit::scratch::TempDir;

use crate::support::*;

/// Bounds the Chromium run; one takes two or three seconds here.
const CHROMIUM_WITHIN: Duration = Duration::from_secs(90);

#[test]
fn chromium_gets_api_info_over_http2() {
    let Some(program) = require(CHROMIUM, "chromium::api_info_over_http2") else {
        return;
    };
    let server = H2Server::start(&[]);
    let profile = TempDir::new("h2-chromium-profile");
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let url = server.https("/api/info");
    let mut args = stagekit::peers::CHROMIUM_HEADLESS_FLAGS.to_vec();
    args.extend([
        profile_arg.as_str(),
        "--virtual-time-budget=3000",
        "--dump-dom",
        &url,
    ]);
    let ran = run(&program, &args, b"", CHROMIUM_WITHIN);
    assert!(ran.succeeded(), "{}", ran.report());
    assert!(
        ran.stdout.contains("\"stage\":\"stage07-http2\""),
        "Chromium did not show /api/info:\n{}",
        ran.report()
    );
    assert!(
        ran.stdout.contains("\"protocol\":\"HTTP/2\""),
        "/api/info did not come over HTTP/2 in Chromium:\n{}",
        ran.report()
    );
}
