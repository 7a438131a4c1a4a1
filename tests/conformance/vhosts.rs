//! Virtual hosts (`--vhost NAME=DIR`, `app::vhost`): the document root is chosen by the host the
//! client names (RFC 9110 section 7.2), without case and without the port; any other host gets
//! `--root`; the routes are the same for every host.

use stagekit::scratch::TempDir;
use stagekit::{Server, Stage};

use crate::support::*;

/// A root holding one `index.html` that says `name`.
fn site(name: &str) -> TempDir {
    let root = TempDir::new(&format!("vhost-{name}"));
    std::fs::write(root.join("index.html"), format!("<h1>{name}</h1>\n")).or_fail("writing");
    root
}

fn get_for_host(conn: &mut stagekit::Conn, host: &str, path: &str) -> stagekit::Response {
    let sent = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes();
    conn.send(&sent).or_fail("sending");
    conn.read_response().or_fail("reading the answer")
}

pub fn each_host_gets_its_own_root(stage: &Stage) {
    let (default, blog, shop) = (site("default"), site("blog"), site("shop"));
    let arg = |name: &str, root: &TempDir| format!("{name}={}", root.path().display());
    let server = Server::start(
        stage,
        &[
            "--root",
            &default.path().to_string_lossy(),
            "--vhost",
            &arg("blog.example", &blog),
            "--vhost",
            &arg("shop.example", &shop),
        ],
    );
    let mut conn = connect(&server);
    for (host, expected) in [
        ("blog.example", "blog"),
        ("BLOG.Example:8080", "blog"),
        ("shop.example.", "shop"),
        ("other.example", "default"),
        ("127.0.0.1", "default"),
    ] {
        let response = get_for_host(&mut conn, host, "/");
        assert_eq!(response.status, 200, "Host: {host}: {response}");
        assert_eq!(
            response.text(),
            format!("<h1>{expected}</h1>\n"),
            "Host: {host} got the wrong site"
        );
    }
    // A route is the same on every host.
    let response = get_for_host(&mut conn, "shop.example", "/hello/you");
    assert_eq!(response.status, 200);
    // A file only the default root has is not found on a virtual host.
    std::fs::write(default.join("only-here.txt"), "x").or_fail("writing");
    assert_eq!(
        get_for_host(&mut conn, "blog.example", "/only-here.txt").status,
        404
    );
    assert_eq!(
        get_for_host(&mut conn, "elsewhere", "/only-here.txt").status,
        200
    );
}

pub fn a_bad_vhost_is_refused_at_start(stage: &Stage) {
    expect_refused(stage, &["--vhost", "no-directory"], &["--vhost"]);
    expect_refused(stage, &["--vhost", "a.example:8080=/tmp"], &["--vhost"]);
    expect_refused(
        stage,
        &["--vhost", "a.example=/no/such/directory/here"],
        &["/no/such/directory/here"],
    );
}
