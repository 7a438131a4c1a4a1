//! The page-load client's parts: the links read from a page, the HTTP/1.1 answer reader on
//! in-memory bytes, and the HTTP/2 machine against a scripted server.

use super::h2::{request_block, PageLoad, PREFACE};
use super::*;

use protocol::h2::hpack::decoder::Decoder;

#[test]
fn the_bundled_gallery_links_thirty_files_that_exist() {
    let site = stagekit::site_dir();
    let html = std::fs::read_to_string(site.join(PAGE.trim_start_matches('/')))
        .expect("the gallery page is in the bundled site");
    let files = assets(&html, PAGE);
    assert_eq!(files.len(), 30, "{files:?}");
    for file in &files {
        let on_disk = site.join(file.trim_start_matches('/'));
        let size = std::fs::metadata(&on_disk)
            .unwrap_or_else(|error| panic!("{file}: {error}"))
            .len();
        // Small files, as the scenario says: a few KiB each.
        assert!((256..=8 * 1024).contains(&size), "{file}: {size} bytes");
    }
}

#[test]
fn links_are_read_as_a_browser_reads_them() {
    let html = r#"<!doctype html><HTML><head>
        <LINK REL="stylesheet" HREF="/a.css"><link rel='icon' href='fav.svg'>
        <link rel="preconnect" href="/not-fetched">
        <link href=b.css rel=stylesheet>
        <script src="js/x.js" defer></script><script>inline()</script>
        </head><body><img alt="x" src="/img/1.png"><img src="/img/1.png">
        <img src="https://elsewhere.example/2.png"><img src="//cdn/3.png"><img src="data:image/png;base64,AA">
        <a href="/page-links-are-not-fetched.html">x</a><img srcset="no.png" src="t.svg#frag">
        </body></html>"#;
    assert_eq!(
        assets(html, "/dir/page.html"),
        [
            "/a.css",
            "/dir/fav.svg",
            "/dir/b.css",
            "/dir/js/x.js",
            "/img/1.png",
            "/dir/t.svg"
        ]
    );
    assert!(assets("<p>no links</p>", "/").is_empty());
    // A page cut off inside a tag is read without a panic.
    let _ = assets("<img src=", "/");
    let _ = assets("<link rel=stylesheet href", "/");
}

/// An in-memory connection: reads come from `input`, writes go to `written`.
struct Memory {
    input: std::io::Cursor<Vec<u8>>,
    written: Vec<u8>,
}

impl Read for Memory {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte at a time: the reader must cope with any split.
        let one = buf.len().min(1);
        self.input.read(&mut buf[..one])
    }
}

impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn memory(input: &[u8]) -> Memory {
    Memory {
        input: std::io::Cursor::new(input.to_vec()),
        written: Vec::new(),
    }
}

#[test]
fn http1_answers_are_read_by_content_length_on_a_kept_alive_connection() {
    let mut conn = memory(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/css\r\n\r\nhello\
          HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n\
          HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!",
    );
    let mut leftover = Vec::new();
    assert_eq!(
        get_h1(&mut conn, &mut leftover, "/a.css").expect("200"),
        b"hello"
    );
    assert_eq!(
        get_h1(&mut conn, &mut leftover, "/empty").expect("200"),
        b""
    );
    match get_h1(&mut conn, &mut leftover, "/gone") {
        Err(PageError::Status { path, status }) => {
            assert_eq!((path.as_str(), status), ("/gone", 404))
        }
        other => panic!("{other:?}"),
    }
    let sent = String::from_utf8(conn.written).expect("ASCII requests");
    assert!(
        sent.starts_with("GET /a.css HTTP/1.1\r\nHost: localhost\r\n"),
        "{sent}"
    );
    assert_eq!(sent.matches("GET ").count(), 3);
    // A closed connection and an answer without a length are failures, not hangs.
    let mut closed = memory(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    assert!(matches!(
        get_h1(&mut closed, &mut Vec::new(), "/x"),
        Err(PageError::Closed)
    ));
    let mut unframed = memory(b"HTTP/1.1 200 OK\r\n\r\nbody");
    assert!(matches!(
        get_h1(&mut unframed, &mut Vec::new(), "/x"),
        Err(PageError::Malformed(_))
    ));
}

/// A frame as a server sends it.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The frames a client sent: (type, flags, stream, payload), after the preface.
fn frames(mut bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 9 {
        let length =
            (usize::from(bytes[0]) << 16) | (usize::from(bytes[1]) << 8) | usize::from(bytes[2]);
        let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
        out.push((bytes[3], bytes[4], stream, bytes[9..9 + length].to_vec()));
        bytes = &bytes[9 + length..];
    }
    out
}

/// The `:path` of each HEADERS frame, decoded as a server would.
fn paths(sent: &[(u8, u8, u32, Vec<u8>)], decoder: &mut Decoder) -> Vec<(u32, String)> {
    sent.iter()
        .filter(|(kind, ..)| *kind == 0x1)
        .map(|(_, flags, stream, block)| {
            assert_eq!(*flags, 0x1 | 0x4, "END_STREAM and END_HEADERS");
            let mut fields = Vec::new();
            decoder
                .decode(block, 1 << 16, &mut fields)
                .expect("valid HPACK");
            let field = |name: &[u8]| {
                fields
                    .iter()
                    .find(|field| field.name.as_ref() == name)
                    .map(|field| String::from_utf8_lossy(&field.value).into_owned())
            };
            assert_eq!(field(b":method").as_deref(), Some("GET"));
            assert_eq!(field(b":scheme").as_deref(), Some("https"));
            assert_eq!(field(b":authority").as_deref(), Some("localhost"));
            (*stream, field(b":path").expect("a :path"))
        })
        .collect()
}

#[test]
fn request_blocks_decode_to_the_request_even_for_long_paths() {
    let long = format!("/{}", "x".repeat(300));
    let block = request_block(&long, "localhost");
    let mut fields = Vec::new();
    Decoder::new(4096)
        .decode(&block, 1 << 16, &mut fields)
        .expect("valid HPACK");
    assert_eq!(fields[2].value.as_ref(), long.as_bytes());
}

#[test]
fn http2_asks_for_the_page_then_every_file_at_once_within_the_servers_limit() {
    let page = "/p.html";
    let mut load = PageLoad::new(page);
    let out = load.take_output();
    assert!(out.starts_with(PREFACE));
    let sent = frames(&out[PREFACE.len()..]);
    let mut server_decoder = Decoder::new(4096);
    // SETTINGS (push off, big windows), the connection's WINDOW_UPDATE, the page's request.
    assert_eq!(sent[0].0, 0x4);
    assert_eq!(sent[1].0, 0x8);
    assert_eq!(paths(&sent, &mut server_decoder), [(1, page.to_owned())]);
    assert_eq!(load.finished(), None);

    // The server: SETTINGS allowing 2 streams at once, then the page's answer, split in odd
    // places, with padding on its DATA. 0x88 is `:status 200` (static index 8).
    let html = b"<link rel=stylesheet href=a.css><img src=/b.png><script src=c.js></script>";
    let mut server = frame(0x4, 0, 0, &[0, 3, 0, 0, 0, 2]);
    server.extend(frame(0x1, 0x4, 1, &[0x88]));
    let mut padded = vec![3];
    padded.extend_from_slice(html);
    padded.extend_from_slice(&[0, 0, 0]);
    server.extend(frame(0x0, 0x1 | 0x8, 1, &padded));
    for piece in server.chunks(7) {
        load.handle_input(piece).expect("a valid server");
    }
    let sent = frames(&load.take_output());
    // The SETTINGS ACK, then two files (the server's limit); the third waits.
    assert_eq!((sent[0].0, sent[0].1), (0x4, 0x1));
    assert_eq!(
        paths(&sent, &mut server_decoder),
        [(3, "/a.css".to_owned()), (5, "/b.png".to_owned())]
    );
    // One file answered with HEADERS and END_STREAM and no body: the third is asked for.
    load.handle_input(&frame(0x1, 0x4 | 0x1, 3, &[0x88]))
        .expect("valid");
    let sent = frames(&load.take_output());
    assert_eq!(paths(&sent, &mut server_decoder), [(7, "/c.js".to_owned())]);
    // A PING is answered; the last two complete the page.
    let mut rest = frame(0x6, 0, 0, b"12345678");
    rest.extend(frame(0x1, 0x4, 5, &[0x88]));
    rest.extend(frame(0x0, 0x1, 5, b"png!"));
    rest.extend(frame(0x1, 0x4, 7, &[0x88]));
    rest.extend(frame(0x0, 0x1, 7, b"js"));
    load.handle_input(&rest).expect("valid");
    let sent = frames(&load.take_output());
    assert_eq!(
        (sent[0].0, sent[0].1, sent[0].3.as_slice()),
        (0x6, 0x1, &b"12345678"[..])
    );
    assert_eq!(load.finished(), Some((4, html.len() as u64 + 6)));
}

#[test]
fn http2_fails_on_a_status_other_than_200_a_reset_and_an_early_goaway() {
    let answer = |status_block: &[u8]| {
        let mut load = PageLoad::new("/p.html");
        load.take_output();
        load.handle_input(&frame(0x1, 0x4 | 0x1, 1, status_block))
    };
    // 0x8d is `:status 404` (static index 13).
    assert!(matches!(
        answer(&[0x8d]),
        Err(PageError::Status { status: 404, .. })
    ));
    // A 200 with no body: a page that links nothing.
    assert!(matches!(answer(&[0x88]), Err(PageError::NoAssets)));
    let mut load = PageLoad::new("/p.html");
    assert!(matches!(
        load.handle_input(&frame(0x3, 0, 1, &[0, 0, 0, 0x8])),
        Err(PageError::Reset {
            stream: 1,
            code: 0x8
        })
    ));
    let mut load = PageLoad::new("/p.html");
    assert!(matches!(
        load.handle_input(&frame(0x7, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0x2])),
        Err(PageError::GoAway { code: 0x2 })
    ));
    // A frame larger than the client allows is refused, not buffered without end.
    let mut load = PageLoad::new("/p.html");
    assert!(matches!(
        load.handle_input(&[0x01, 0x00, 0x00, 0x0, 0x0, 0, 0, 0, 1]),
        Err(PageError::Malformed(_))
    ));
}

#[test]
fn percentiles_are_nearest_rank() {
    let values: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&values, 0.5), Some(50.0));
    assert_eq!(percentile(&values, 0.99), Some(99.0));
    assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
    assert_eq!(percentile(&[], 0.5), None);
}
