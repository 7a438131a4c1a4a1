//! The reader's unit tests, on small ClientHellos made by hand; `tests/client_hello.rs` runs
//! them, with its own tests on real captures.

use super::names::is_grease;
use super::records::HANDSHAKE;
use super::*;

/// A small ClientHello built by hand: TLS 1.3 only, one suite, SNI `a`, ALPN `h2`, an
/// X25519 key share (of the right length, made of zeros).
fn small_hello() -> Vec<u8> {
    let mut extensions = Vec::new();
    let mut add = |kind: u16, data: &[u8]| {
        extensions.extend_from_slice(&kind.to_be_bytes());
        extensions.extend_from_slice(&(data.len() as u16).to_be_bytes());
        extensions.extend_from_slice(data);
    };
    add(0x0000, &[0, 4, 0, 0, 1, b'a']);
    add(0x0010, &[0, 3, 2, b'h', b'2']);
    add(0x002b, &[2, 0x03, 0x04]);
    let mut share = vec![0, 36, 0x00, 0x1d, 0, 32];
    share.extend_from_slice(&[0; 32]);
    add(0x0033, &share);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[7; 32]);
    body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut message = vec![CLIENT_HELLO, 0, 0, body.len() as u8];
    message.extend_from_slice(&body);
    let mut record = vec![HANDSHAKE, 0x03, 0x01, 0, message.len() as u8];
    record.extend_from_slice(&message);
    record
}

#[test]
fn a_hand_made_hello_is_read_field_by_field() {
    let bytes = small_hello();
    let hello = parse(&bytes).expect("a well-formed hello");
    assert_eq!(hello.total, bytes.len());
    assert_eq!(hello.server_name.as_deref(), Some("a"));
    assert_eq!(hello.alpn, ["h2"]);
    assert_eq!(hello.key_shares, [(0x001d, 32)]);
    assert_eq!(hello.versions, [0x0304]);
    assert_eq!(hello.cipher_suites, [0x1301]);
    let random = hello.rows.iter().find(|row| row.field == "random").unwrap();
    assert_eq!((random.at, random.len), (11, 32));
    assert_eq!(complete_length(&bytes), Ok(Some(bytes.len())));
}

#[test]
fn a_hello_split_over_two_records_is_put_back_together() {
    let one = small_hello();
    let message = &one[5..];
    let (first, second) = message.split_at(10);
    let mut two = Vec::new();
    for part in [first, second] {
        two.extend_from_slice(&[HANDSHAKE, 0x03, 0x01, 0, part.len() as u8]);
        two.extend_from_slice(part);
    }
    let hello = parse(&two).expect("two records");
    assert_eq!(hello.records, 2);
    assert_eq!(hello.server_name.as_deref(), Some("a"));
    // The random starts in the first record and its offset counts one record header.
    let random = hello.rows.iter().find(|row| row.field == "random").unwrap();
    assert_eq!(random.at, 11);
    // The first field of the second record is past two headers.
    let alpn = hello
        .rows
        .iter()
        .find(|row| row.field.contains("application"))
        .unwrap();
    let one_hello = parse(&one).unwrap();
    let alpn_one = one_hello
        .rows
        .iter()
        .find(|row| row.field.contains("application"))
        .unwrap();
    assert_eq!(alpn.at, alpn_one.at + 5);
}

#[test]
fn every_prefix_is_incomplete_and_never_a_panic() {
    let bytes = small_hello();
    for end in 0..bytes.len() {
        assert!(
            matches!(parse(&bytes[..end]), Err(Error::Truncated { .. })),
            "prefix of {end} bytes"
        );
        assert_eq!(
            complete_length(&bytes[..end]),
            Ok(None),
            "prefix of {end} bytes"
        );
    }
}

#[test]
fn wrong_lengths_are_errors_that_say_where() {
    let good = small_hello();
    // The SNI list's length one too long: it runs into the next field.
    let mut bad = good.clone();
    let sni_list = 5 + 4 + 2 + 32 + 1 + 2 + 2 + 2 + 2 + 4;
    assert_eq!(bad[sni_list + 1], 4);
    bad[sni_list + 1] = 5;
    let error = parse(&bad).unwrap_err();
    assert!(matches!(error, Error::BadLength { .. }), "{error}");
    assert!(error.to_string().contains("does not fit"), "{error}");
    // An odd-length cipher suite list.
    let mut odd = good.clone();
    odd[5 + 4 + 2 + 32 + 1 + 1] = 1;
    assert!(parse(&odd).is_err());
    // The handshake length shorter than its contents: bytes left over in the extensions.
    let mut short = good.clone();
    short[8] -= 1;
    assert!(parse(&short).is_err());
}

#[test]
fn other_records_and_messages_are_refused_clearly() {
    let plain_http = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let error = parse(plain_http).unwrap_err();
    assert_eq!(
        error,
        Error::NotHandshake {
            content_type: b'G',
            at: 0
        }
    );
    assert!(
        error.to_string().contains("not a TLS ClientHello"),
        "{error}"
    );
    let mut server_hello = small_hello();
    server_hello[5] = 2;
    assert_eq!(
        parse(&server_hello).unwrap_err(),
        Error::NotClientHello { msg_type: 2 }
    );
    let huge = [HANDSHAKE, 3, 1, 0xff, 0xff];
    assert!(matches!(parse(&huge), Err(Error::RecordTooLong { .. })));
    assert!(complete_length(&huge).is_err());
}

#[test]
fn grease_is_recognised() {
    assert!(is_grease(0x0a0a) && is_grease(0xfafa) && is_grease(0x3a3a));
    assert!(!is_grease(0x0a1a) && !is_grease(0x1301));
}
