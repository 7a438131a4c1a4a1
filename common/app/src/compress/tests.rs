use super::*;
use std::io::Read;

fn negotiated(field: &str, available: Encodings) -> Negotiated {
    negotiate([field.as_bytes()], available)
}

/// A table of `Accept-Encoding` values and what each gets when the server has everything.
#[test]
fn accept_encoding_table() {
    use Encoding::*;
    use Negotiated::*;
    let cases: &[(&str, Negotiated)] = &[
        ("gzip", Use(Gzip)),
        ("br", Use(Brotli)),
        ("GZIP", Use(Gzip)),
        ("x-gzip", Use(Gzip)),
        // curl --compressed, and every browser: a tie, broken by the server's preference.
        ("deflate, gzip, br, zstd", Use(Brotli)),
        ("gzip, deflate, br", Use(Brotli)),
        ("br;q=0.5, gzip", Use(Gzip)),
        ("br;q=0.8, gzip;q=0.9", Use(Gzip)),
        ("br;q=0.9, gzip;q=0.9", Use(Brotli)),
        ("gzip;q=1.000", Use(Gzip)),
        ("gzip;q=0", Use(Identity)),
        ("gzip;q=0, br;q=0", Use(Identity)),
        ("*", Use(Brotli)),
        ("*;q=0.5, gzip", Use(Gzip)),
        ("*;q=0.1, br;q=0", Use(Gzip)),
        ("identity", Use(Identity)),
        ("identity, gzip;q=0.5", Use(Identity)),
        ("identity;q=0.5, gzip", Use(Gzip)),
        ("identity;q=0", NotAcceptable),
        ("identity;q=0, gzip", Use(Gzip)),
        ("identity;q=0, *;q=0", NotAcceptable),
        ("*;q=0", NotAcceptable),
        ("*;q=0, identity", Use(Identity)),
        ("deflate", Use(Identity)),
        ("zstd, deflate;q=0.5", Use(Identity)),
        ("", Use(Identity)),
        (" , ,", Use(Identity)),
        // A weight that is not a qvalue: the element is skipped.
        ("gzip;q=2", Use(Identity)),
        ("gzip;q=0.5000", Use(Identity)),
        ("gzip;q=abc, br", Use(Brotli)),
        ("gzip;q=", Use(Identity)),
        ("gzip ; q=0.5", Use(Gzip)),
        ("gzip;Q=0.5", Use(Gzip)),
        // Listed twice: the better rating.
        ("gzip;q=0, gzip;q=0.5", Use(Gzip)),
    ];
    for (field, expected) in cases {
        assert_eq!(
            negotiated(field, Encodings::ALL),
            *expected,
            "Accept-Encoding: {field}"
        );
    }
}

/// `identity;q=0` alone with nothing else on offer: identity is refused and nothing is left.
#[test]
fn identity_refused_with_only_identity_available_is_not_acceptable() {
    assert_eq!(
        negotiated("identity;q=0", Encodings::IDENTITY),
        Negotiated::NotAcceptable
    );
    assert_eq!(
        negotiated("gzip, identity;q=0", Encodings::IDENTITY),
        Negotiated::NotAcceptable
    );
    assert_eq!(
        negotiated("identity;q=0, *;q=0", Encodings::ALL),
        Negotiated::NotAcceptable
    );
}

/// What the server cannot produce never wins, however well rated.
#[test]
fn only_available_codings_are_chosen() {
    let gzip_only = Encodings::IDENTITY.with(Encoding::Gzip);
    assert_eq!(
        negotiated("br, gzip;q=0.1", gzip_only),
        Negotiated::Use(Encoding::Gzip)
    );
    assert_eq!(
        negotiated("br", gzip_only),
        Negotiated::Use(Encoding::Identity)
    );
    assert_eq!(
        negotiated("br", Encodings::IDENTITY),
        Negotiated::Use(Encoding::Identity)
    );
}

/// A list split over several field lines counts as one list (RFC 9110 section 5.3).
#[test]
fn several_field_lines_are_one_list() {
    let lines: [&[u8]; 2] = [b"gzip;q=0.2", b"br;q=0.3"];
    assert_eq!(
        negotiate(lines, Encodings::ALL),
        Negotiated::Use(Encoding::Brotli)
    );
    let none: [&[u8]; 0] = [];
    assert_eq!(
        negotiate(none, Encodings::ALL),
        Negotiated::Use(Encoding::Identity)
    );
}

#[test]
fn compressible_types() {
    for yes in [
        "text/html; charset=utf-8",
        "text/css",
        "application/json",
        "text/javascript; charset=utf-8",
        "image/svg+xml",
        "application/problem+json",
        "font/ttf",
    ] {
        assert!(compressible(yes), "{yes}");
    }
    for no in [
        "image/png",
        "image/jpeg",
        "font/woff2",
        "application/zip",
        "application/gzip",
        "video/mp4",
        "application/octet-stream",
    ] {
        assert!(!compressible(no), "{no}");
    }
}

/// English-like text: words picked by a fixed pseudo-random sequence, so that it compresses
/// about as well as prose does (a few times), not as well as one repeated line.
fn text(len: usize) -> Vec<u8> {
    let words = [
        "stage ",
        "server ",
        "request ",
        "response ",
        "byte ",
        "chunk\n",
        "the ",
        "of ",
        "socket ",
        "thread ",
        "event ",
        "loop ",
        "file ",
        "cache ",
        "header ",
        "body, ",
        "gzip ",
        "brotli ",
        "window ",
        "a ",
        "and ",
        "is ",
        "it ",
        "sends ",
    ];
    let mut out = Vec::with_capacity(len + 16);
    let mut state = 0x2545_f491_u32;
    while out.len() < len {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        out.extend_from_slice(words[(state >> 16) as usize % words.len()].as_bytes());
    }
    out.truncate(len);
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

#[test]
fn compress_round_trips_and_shrinks_text() {
    let original = text(100 * 1024);
    let options = CompressOptions::default();
    let gzip = compress(&original, Encoding::Gzip, &options);
    let brotli = compress(&original, Encoding::Brotli, &options);
    assert_eq!(gunzip(&gzip), original);
    assert_eq!(unbrotli(&brotli), original);
    assert!(gzip.len() < original.len() / 4, "gzip: {}", gzip.len());
    assert!(
        brotli.len() < original.len() / 4,
        "brotli: {}",
        brotli.len()
    );
}

/// The stream gives the same bytes as compressing in one go would decode to, in more than one
/// piece for a file larger than one read, and reads nothing before it is asked.
#[test]
fn stream_compresses_a_file_in_pieces() {
    let original = text(3 * STREAM_READ + 123);
    let dir = std::env::temp_dir().join(format!("compress-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("text.txt");
    std::fs::write(&path, &original).expect("writing");
    let file = Arc::new(File::open(&path).expect("opening"));
    for encoding in [Encoding::Gzip, Encoding::Brotli] {
        let stream = CompressedStream::new(
            file.clone(),
            0,
            original.len() as u64,
            encoding,
            &CompressOptions::default(),
        );
        let pieces: Vec<Bytes> = stream.map(|piece| piece.expect("a piece")).collect();
        assert!(pieces.len() >= 2, "{encoding}: {} pieces", pieces.len());
        let joined: Vec<u8> = pieces.concat();
        let decoded = match encoding {
            Encoding::Gzip => gunzip(&joined),
            _ => unbrotli(&joined),
        };
        assert!(decoded == original, "{encoding} stream decodes to the file");
    }
    // A file that shrinks under the stream ends it with an error, not with wrong bytes.
    let mut stream = CompressedStream::new(
        file,
        0,
        original.len() as u64 + 10,
        Encoding::Gzip,
        &CompressOptions::default(),
    );
    assert!(stream.any(|piece| piece.is_err()));
    std::fs::remove_dir_all(&dir).expect("cleaning up");
}

fn text_response(len: usize) -> Response {
    Response::with_body(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        String::from_utf8(text(len)).expect("ascii"),
    )
    .header("etag", "\"v1\"")
}

fn accepting(value: &str) -> Request {
    let mut request = Request::new(protocol::Method::Get, "/x");
    request.headers.append("accept-encoding", value);
    request
}

#[test]
fn compress_response_encodes_generated_text() {
    let options = CompressOptions::default();
    let response = compress_response(&accepting("gzip"), text_response(4096), &options);
    assert_eq!(response.headers.get_str("content-encoding"), Some("gzip"));
    assert_eq!(response.headers.get_str("vary"), Some("accept-encoding"));
    assert_eq!(response.headers.get_str("etag"), Some("W/\"v1-gzip\""));
    let Body::Bytes(body) = &response.body else {
        panic!("still in memory")
    };
    assert_eq!(gunzip(body), text(4096));
}

#[test]
fn compress_response_leaves_what_does_not_pay() {
    let options = CompressOptions::default();
    // Too small: no coding, and no Vary either, as the representation never depends on it.
    let small = compress_response(&accepting("gzip"), text_response(100), &options);
    assert!(small.headers.get("content-encoding").is_none());
    assert!(small.headers.get("vary").is_none());
    // Not asked for: identity, but Vary, since another client would get gzip.
    let plain = compress_response(
        &Request::new(protocol::Method::Get, "/"),
        text_response(4096),
        &options,
    );
    assert!(plain.headers.get("content-encoding").is_none());
    assert_eq!(plain.headers.get_str("vary"), Some("accept-encoding"));
    // Nothing acceptable: the page goes out as it is, not as a 406.
    let refused = compress_response(&accepting("*;q=0"), text_response(4096), &options);
    assert_eq!(refused.status, StatusCode::OK);
    assert!(refused.headers.get("content-encoding").is_none());
    // A type that does not compress.
    let png = Response::with_body(StatusCode::OK, "image/png", vec![0u8; 4096]);
    let png = compress_response(&accepting("gzip"), png, &options);
    assert!(png.headers.get("content-encoding").is_none());
    assert!(png.headers.get("vary").is_none());
    // Already encoded.
    let encoded = text_response(4096).header("content-encoding", "br");
    let encoded = compress_response(&accepting("gzip"), encoded, &options);
    assert_eq!(encoded.headers.get_all("content-encoding").count(), 1);
    // Turned off.
    let off = CompressOptions {
        on_the_fly: false,
        ..CompressOptions::default()
    };
    let off = compress_response(&accepting("gzip"), text_response(4096), &off);
    assert!(off.headers.get("content-encoding").is_none());
}

#[test]
fn vary_is_added_once() {
    let mut response = text_response(10).header("vary", "Origin, Accept-Encoding");
    add_vary(&mut response);
    assert_eq!(response.headers.get_all("vary").count(), 1);
    let mut response = text_response(10).header("vary", "origin");
    add_vary(&mut response);
    assert_eq!(response.headers.get_all("vary").count(), 2);
}

#[test]
fn etags_differ_per_encoding() {
    assert_eq!(encoded_etag("\"a-1\"", Encoding::Identity, true), "\"a-1\"");
    assert_eq!(
        encoded_etag("\"a-1\"", Encoding::Gzip, false),
        "\"a-1-gzip\""
    );
    assert_eq!(
        encoded_etag("\"a-1\"", Encoding::Brotli, true),
        "W/\"a-1-br\""
    );
    assert_eq!(
        encoded_etag("W/\"a\"", Encoding::Gzip, false),
        "W/\"a-gzip\""
    );
}
