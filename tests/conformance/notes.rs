//! The notes example (`examples/notes.rs`), an application of a reader's own, run on each stage
//! with `--stage N` and driven end to end: JSON and form bodies, route parameters, the auth
//! middleware's 401, the JSON error handlers, and every bad input answered with the right status
//! on the same connection.

use std::path::PathBuf;
use std::time::Duration;

use stagekit::server::run_to_exit;
use stagekit::{build, Conn, Response, Server, Stage};

use crate::support::*;

const TOKEN: &str = "a-token-for-the-test";

fn notes_binary() -> PathBuf {
    build::example_binary("stagecraft", "notes").or_fail("building examples/notes")
}

/// `stage04-evented` is stage 4.
fn stage_number(stage: &Stage) -> String {
    stage.package[5..7].trim_start_matches('0').to_owned()
}

fn send(conn: &mut Conn, method: &str, path: &str, fields: &[&str], body: &[u8]) -> Response {
    let sent = request(method, path, fields, body);
    conn.send(&sent).or_fail("sending");
    conn.read_response().or_fail("reading the answer")
}

fn json(response: &Response) -> serde_json::Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {response}"))
}

/// The status, and that the body is JSON (every answer of the API is).
fn expect(response: &Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status, status, "{response}");
    if status == 204 {
        return serde_json::Value::Null;
    }
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{response}"
    );
    json(response)
}

pub fn the_notes_api_runs_end_to_end(stage: &Stage) {
    let number = stage_number(stage);
    let server = Server::start_binary(
        stage,
        &notes_binary(),
        &["--stage", &number, "--token", TOKEN],
    );
    let mut conn = connect(&server);
    let auth = format!("Authorization: Bearer {TOKEN}");
    let json_type = "Content-Type: application/json";

    let index = expect(&send(&mut conn, "GET", "/", &[], b""), 200);
    assert_eq!(index["stage"], stage.package, "another stage answered");

    // Writes need the token; reads do not.
    let refused = send(
        &mut conn,
        "POST",
        "/notes",
        &[json_type],
        br#"{"title":"x"}"#,
    );
    expect(&refused, 401);
    assert!(refused
        .header("www-authenticate")
        .is_some_and(|value| value.starts_with("Bearer")));
    let wrong = format!("Authorization: Bearer {TOKEN}x");
    expect(
        &send(
            &mut conn,
            "POST",
            "/notes",
            &[json_type, &wrong],
            br#"{"title":"x"}"#,
        ),
        401,
    );

    // A note from JSON, and one from a form.
    let created = send(
        &mut conn,
        "POST",
        "/notes",
        &[json_type, &auth],
        br#"{"title":"Lines","body":"Act 2, scene 1"}"#,
    );
    let first = expect(&created, 201);
    let id = first["id"].as_u64().or_fail("an id");
    assert_eq!(
        created.header("location"),
        Some(format!("/notes/{id}").as_str())
    );
    let form = send(
        &mut conn,
        "POST",
        "/notes",
        &["Content-Type: application/x-www-form-urlencoded", &auth],
        b"title=Props+%26+cues&body=a+sword",
    );
    let second = expect(&form, 201);
    assert_eq!(second["title"], "Props & cues");

    let all = expect(&send(&mut conn, "GET", "/notes", &[], b""), 200);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let found = expect(&send(&mut conn, "GET", "/notes?q=Props", &[], b""), 200);
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    let one = expect(
        &send(&mut conn, "GET", &format!("/notes/{id}"), &[], b""),
        200,
    );
    assert_eq!(one["body"], "Act 2, scene 1");

    let replaced = send(
        &mut conn,
        "PUT",
        &format!("/notes/{id}"),
        &[json_type, &auth],
        br#"{"title":"Lines, learnt"}"#,
    );
    assert_eq!(expect(&replaced, 200)["title"], "Lines, learnt");
    // PUT to an id that has no note makes it (201), and POST's ids go on after it.
    let made = send(
        &mut conn,
        "PUT",
        "/notes/1000",
        &[json_type, &auth],
        br#"{"title":"Cue sheet"}"#,
    );
    assert_eq!(expect(&made, 201)["id"], 1000);
    let after = send(
        &mut conn,
        "POST",
        "/notes",
        &[json_type, &auth],
        br#"{"title":"Blocking"}"#,
    );
    assert_eq!(expect(&after, 201)["id"], 1001);
    expect(
        &send(&mut conn, "DELETE", &format!("/notes/{id}"), &[&auth], b""),
        204,
    );
    let gone = expect(
        &send(&mut conn, "GET", &format!("/notes/{id}"), &[], b""),
        404,
    );
    assert!(gone["error"].is_string());

    // Bad input: each a clear JSON error, and the connection goes on.
    expect(
        &send(
            &mut conn,
            "POST",
            "/notes",
            &[json_type, &auth],
            b"{\"title\":",
        ),
        400,
    );
    expect(
        &send(
            &mut conn,
            "POST",
            "/notes",
            &[json_type, &auth],
            br#"{"body":"no title"}"#,
        ),
        400,
    );
    expect(
        &send(
            &mut conn,
            "POST",
            "/notes",
            &[json_type, &auth],
            br#"{"title":"   "}"#,
        ),
        422,
    );
    let unsupported = send(
        &mut conn,
        "POST",
        "/notes",
        &["Content-Type: text/plain", &auth],
        b"title",
    );
    expect(&unsupported, 415);
    assert!(unsupported.header("accept-post").is_some(), "{unsupported}");
    expect(&send(&mut conn, "GET", "/notes/abc", &[], b""), 400);
    let not_allowed = send(&mut conn, "PATCH", "/notes/1", &[&auth], b"");
    expect(&not_allowed, 405);
    assert!(not_allowed
        .header("allow")
        .is_some_and(|allow| allow.contains("PUT")));
    expect(&send(&mut conn, "GET", "/no/such/route", &[], b""), 404);
    // Still the same connection, still answering.
    expect(&send(&mut conn, "GET", "/notes", &[], b""), 200);
}

pub fn a_bad_stage_number_exits_2_with_one_line(stage: &Stage) {
    // Not the stage's own check, but it runs once per stage like the rest, which also checks
    // that the binary builds; `--stage` is read before any stage sees the command line.
    let _ = stage;
    let (status, _, stderr) = run_to_exit(
        &notes_binary(),
        &["--stage", "9", "--addr", "127.0.0.1:0"],
        Duration::from_secs(10),
    )
    .or_fail("running notes --stage 9");
    assert_eq!(status.and_then(|status| status.code()), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--stage"), "{stderr}");
}
