//! Bodies of HTML forms: `application/x-www-form-urlencoded`, as the URL Standard's
//! "application/x-www-form-urlencoded parsing" (section 5.1) reads them.
//!
//! The body is `name=value` pairs joined by `&`; `+` stands for a space and `%XX` for any
//! octet. A pair without `=` is a name with an empty value, and empty pairs are skipped. The
//! decoded octets are read as UTF-8, a bad sequence becoming U+FFFD, as the standard says.

use std::borrow::Cow;

use percent_encoding::percent_decode;

/// The media type browsers send a form's fields with by default.
pub const URLENCODED: &str = "application/x-www-form-urlencoded";

/// The name and value pairs of a urlencoded body, in their order.
pub fn parse_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            (decode(name), decode(value))
        })
        .collect()
}

/// Whether a `Content-Type` value names the urlencoded type (parameters such as `charset`
/// allowed; media types are case-insensitive, RFC 9110 section 8.3.1).
pub fn is_urlencoded(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(URLENCODED.as_bytes())
}

/// `+` as a space, then percent-decoding, then UTF-8 with replacement.
fn decode(raw: &[u8]) -> String {
    let spaced: Cow<[u8]> = if raw.contains(&b'+') {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let decoded: Cow<[u8]> = percent_decode(&spaced).into();
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(body: &str) -> Vec<(String, String)> {
        parse_urlencoded(body.as_bytes())
    }

    #[test]
    fn pairs_are_split_and_decoded() {
        assert_eq!(
            pairs("name=Ada+Lovelace&note=1%2B1%3D2"),
            [
                ("name".to_string(), "Ada Lovelace".to_string()),
                ("note".to_string(), "1+1=2".to_string())
            ]
        );
    }

    #[test]
    fn odd_pairs_follow_the_standard() {
        assert_eq!(pairs(""), []);
        assert_eq!(pairs("&&"), []);
        assert_eq!(pairs("flag"), [("flag".to_string(), String::new())]);
        assert_eq!(pairs("a=b=c"), [("a".to_string(), "b=c".to_string())]);
        // A bad escape stays as it was; bad UTF-8 becomes U+FFFD.
        assert_eq!(
            pairs("x=%zz%ff"),
            [("x".to_string(), "%zz\u{fffd}".to_string())]
        );
    }

    #[test]
    fn the_content_type_is_matched_without_case_or_parameters() {
        assert!(is_urlencoded(b"application/x-www-form-urlencoded"));
        assert!(is_urlencoded(
            b"Application/X-WWW-Form-URLEncoded; charset=UTF-8"
        ));
        assert!(!is_urlencoded(b"multipart/form-data; boundary=x"));
        assert!(!is_urlencoded(b"application/json"));
    }
}
