//! The upload sink against a real directory: files land whole under safe names, nothing is
//! left of a body that did not finish, fields are capped, existing files are never replaced.

use std::sync::atomic::AtomicUsize;

use bytes::Bytes;
use protocol::{Headers, StreamedBody};

use super::*;

/// A fresh directory under the system's temporary one, removed with what is in it.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "stagecraft-upload-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("a temporary directory");
        Dir(path)
    }

    /// The names in the directory, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .expect("readable")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(b"--BOUND\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(name.as_bytes());
        body.push(b'"');
        if let Some(filename) = filename {
            body.extend_from_slice(format!("; filename=\"{filename}\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--BOUND--\r\n");
    body
}

/// Streams `body` through a sink in `piece`-sized writes, then finishes it.
fn upload(dir: &Dir, body: &[u8], piece: usize) -> Result<Uploaded, SinkError> {
    let mut sink = Box::new(UploadSink::new(&dir.0, "BOUND"));
    for chunk in body.chunks(piece.max(1)) {
        sink.write(chunk)?;
    }
    let value = sink.finish()?;
    Ok(value
        .downcast_ref::<Uploaded>()
        .expect("an Uploaded")
        .clone())
}

#[test]
fn files_and_fields_are_saved_whole_under_their_names() {
    let dir = Dir::new();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let uploaded = upload(
        &dir,
        &body(&[
            ("note", None, b"hello"),
            ("file", Some("data.bin"), &content),
            ("other", Some("b.txt"), b"\r\n--BOUN\r\n"),
        ]),
        1000,
    )
    .expect("saved");
    assert_eq!(
        uploaded.files,
        [
            SavedFile {
                field: "file".into(),
                name: "data.bin".into(),
                size: 200_000
            },
            SavedFile {
                field: "other".into(),
                name: "b.txt".into(),
                size: 10
            },
        ]
    );
    assert_eq!(
        uploaded.fields,
        [Field {
            name: "note".into(),
            value: "hello".into()
        }]
    );
    assert_eq!(fs::read(dir.0.join("data.bin")).unwrap(), content);
    assert_eq!(dir.names(), ["b.txt", "data.bin"], "no temporary file left");
}

#[test]
fn a_sink_dropped_midway_leaves_no_file() {
    let dir = Dir::new();
    let whole = body(&[("file", Some("half.bin"), &[b'h'; 100_000])]);
    let mut sink = Box::new(UploadSink::new(&dir.0, "BOUND"));
    sink.write(&whole[..50_000]).expect("first half");
    assert_eq!(dir.names().len(), 1, "the temporary file while it streams");
    assert!(dir.names()[0].starts_with(TEMP_PREFIX));
    drop(sink);
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn a_body_without_its_end_fails_and_leaves_no_file() {
    let dir = Dir::new();
    let whole = body(&[("file", Some("cut.bin"), b"content")]);
    let cut = &whole[..whole.len() - 12];
    let error = upload(&dir, cut, 7).expect_err("truncated");
    assert_eq!(error.status, StatusCode::BAD_REQUEST);
    assert!(
        error.reason.contains("closing boundary"),
        "{}",
        error.reason
    );
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn an_existing_file_is_never_replaced() {
    let dir = Dir::new();
    fs::write(dir.0.join("notes.txt"), b"first").unwrap();
    fs::write(dir.0.join("notes-1.txt"), b"second").unwrap();
    let uploaded = upload(&dir, &body(&[("f", Some("notes.txt"), b"third")]), 64).unwrap();
    assert_eq!(uploaded.files[0].name, "notes-2.txt");
    assert_eq!(fs::read(dir.0.join("notes.txt")).unwrap(), b"first");
    assert_eq!(fs::read(dir.0.join("notes-2.txt")).unwrap(), b"third");
}

#[test]
fn unsafe_names_are_made_safe() {
    assert_eq!(safe_name("notes.txt"), "notes.txt");
    assert_eq!(safe_name("../../etc/passwd"), "passwd");
    assert_eq!(safe_name("C:\\Users\\me\\report.pdf"), "report.pdf");
    assert_eq!(safe_name(".bashrc"), "bashrc");
    assert_eq!(safe_name(".."), "upload");
    assert_eq!(safe_name("dir/"), "upload");
    assert_eq!(safe_name(""), "upload");
    assert_eq!(safe_name("a b<script>.html"), "a_b_script_.html");
    assert_eq!(safe_name("caf\u{e9}.txt"), "caf_.txt");
    assert_eq!(safe_name(".upload-1-2.part"), "upload-1-2.part");
    assert_eq!(safe_name("nul\0byte"), "nul_byte");
    let long = format!("{}.tar.gz", "x".repeat(300));
    let safe = safe_name(&long);
    assert_eq!(safe.len(), MAX_NAME);
    assert!(safe.ends_with("xx.gz"), "{safe}");
    let no_extension = "y".repeat(300);
    assert_eq!(safe_name(&no_extension).len(), MAX_NAME);
}

#[test]
fn an_unsafe_name_is_saved_inside_the_directory() {
    let dir = Dir::new();
    let uploaded = upload(&dir, &body(&[("f", Some("../../escape.txt"), b"x")]), 10).unwrap();
    assert_eq!(uploaded.files[0].name, "escape.txt");
    assert_eq!(dir.names(), ["escape.txt"]);
}

#[test]
fn fields_are_capped() {
    let dir = Dir::new();
    let big = vec![b'f'; MAX_FIELD + 1];
    let error = upload(&dir, &body(&[("field", None, &big)]), 4096).expect_err("too large");
    assert_eq!(error.status, StatusCode::CONTENT_TOO_LARGE);
    let at_limit = vec![b'f'; MAX_FIELD];
    assert!(upload(&dir, &body(&[("field", None, &at_limit)]), 4096).is_ok());
    let many: Vec<(&str, Option<&str>, &[u8])> =
        (0..5).map(|_| ("f", None, &at_limit[..])).collect();
    assert_eq!(
        upload(&dir, &body(&many), 4096)
            .expect_err("too large in all")
            .status,
        StatusCode::CONTENT_TOO_LARGE
    );
}

#[test]
fn an_empty_file_input_is_skipped_and_a_form_without_files_is_400() {
    let dir = Dir::new();
    let uploaded = upload(
        &dir,
        &body(&[("file", Some(""), b""), ("n", None, b"v")]),
        10,
    )
    .unwrap();
    assert!(uploaded.files.is_empty());
    assert!(dir.names().is_empty());
    let mut request = upload_request("multipart/form-data; boundary=BOUND");
    request.streamed = Some(StreamedBody::new(10, Arc::new(uploaded)));
    assert_eq!(
        upload_received(&request, &Params::default()).status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn a_malformed_body_is_400_and_leaves_nothing() {
    let dir = Dir::new();
    let mut bad = body(&[("file", Some("a.bin"), b"abc")]);
    bad.splice(0..0, b"--BOUND\r\nno colon\r\n\r\nx\r\n".iter().copied());
    let error = upload(&dir, &bad, 3).expect_err("malformed");
    assert_eq!(error.status, StatusCode::BAD_REQUEST);
    assert!(dir.names().is_empty());
}

fn upload_request(content_type: &str) -> Request {
    let mut request = Request::new(Method::Post, UPLOAD_PATH);
    let mut headers = Headers::new();
    headers.append("content-type", content_type);
    request.headers = headers;
    request
}

#[test]
fn the_hook_takes_only_post_upload_with_a_multipart_type() {
    let dir = Dir::new();
    let sinks = body_sinks(&UploadOptions {
        dir: dir.0.clone(),
        max_upload: 1234,
    });
    let sinking = sinks
        .sink_for(&upload_request("multipart/form-data; boundary=x"))
        .expect("an upload");
    assert_eq!(sinking.limit, 1234);
    drop(sinking);
    assert!(sinks.sink_for(&upload_request("text/plain")).is_none());
    assert!(sinks
        .sink_for(&upload_request("multipart/form-data"))
        .is_none());
    let mut elsewhere = upload_request("multipart/form-data; boundary=x");
    elsewhere.target = "/echo".into();
    assert!(sinks.sink_for(&elsewhere).is_none());
    let mut get = upload_request("multipart/form-data; boundary=x");
    get.method = Method::Get;
    assert!(sinks.sink_for(&get).is_none());
}

#[test]
fn the_route_answers_json_or_html_and_refuses_what_did_not_stream() {
    let uploaded = Uploaded {
        files: vec![SavedFile {
            field: "file".into(),
            name: "<b>.txt".into(),
            size: 3,
        }],
        fields: vec![],
    };
    let mut request = upload_request("multipart/form-data; boundary=x");
    request.streamed = Some(StreamedBody::new(3, Arc::new(uploaded)));
    let json = upload_received(&request, &Params::default());
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(
        json.headers.get_str("content-type"),
        Some("application/json")
    );
    request.headers.append("accept", "text/html");
    let html = upload_received(&request, &Params::default());
    assert_eq!(html.status, StatusCode::OK);
    let protocol::Body::Bytes(page) = &html.body else {
        panic!("an in-memory page")
    };
    let page = String::from_utf8_lossy(page);
    assert!(page.contains("&lt;b&gt;.txt"), "escaped: {page}");

    let mut plain = upload_request("text/plain");
    plain.body = Bytes::from_static(b"not a form");
    assert_eq!(
        upload_received(&plain, &Params::default()).status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        upload_received(&upload_request("multipart/form-data"), &Params::default()).status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn the_directory_is_checked_at_start() {
    let dir = Dir::new();
    assert!(check_dir(&dir.0).is_ok());
    assert!(dir.names().is_empty(), "the probe file is gone");
    assert!(check_dir(&dir.0.join("missing")).is_err());
    fs::write(dir.0.join("file"), b"").unwrap();
    assert!(check_dir(&dir.0.join("file")).is_err());
}
