//! Character classes that both protocols check request fields against, written once.
//!
//! HTTP/1.1 gets most of its syntax checked by httparse, but not the `Host` value; HTTP/2 gets
//! none checked (HPACK delivers any bytes), so its `:authority` and field names are checked
//! here too. Each class is a 256-entry table built at compile time: one load per byte instead
//! of a chain of comparisons, for checks that run on every request.

/// Whether `authority` is `host [ ":" port ]` as characters (RFC 3986 section 3.2.2): reg-name
/// characters, or an IP literal in brackets, then an optional port. No `@`, so no userinfo.
/// An empty value passes; callers that require a host check for it.
pub(crate) fn is_authority(authority: &[u8]) -> bool {
    authority.iter().all(|&b| AUTHORITY[usize::from(b)])
}

/// Whether `bytes` is a `token` (RFC 9110 section 5.6.2): one or more `tchar`.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// Whether `byte` is a `tchar` (RFC 9110 section 5.6.2).
pub(crate) fn is_tchar(byte: u8) -> bool {
    TCHAR[usize::from(byte)]
}

/// The characters of an authority without userinfo (RFC 3986: unreserved, pct-encoded,
/// sub-delims, `:` and the brackets of an IP literal).
static AUTHORITY: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.' | b'_' | b'~' | b'%' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')'
            )
            || matches!(byte, b'*' | b'+' | b',' | b';' | b'=' | b':' | b'[' | b']');
        b += 1;
    }
    table
};

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
/// "~" / DIGIT / ALPHA` (RFC 9110 section 5.6.2).
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^'
            )
            || matches!(byte, b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_and_tokens() {
        assert!(is_authority(b"example.com:8080"));
        assert!(is_authority(b"[::1]:443"));
        assert!(!is_authority(b"user@example.com"));
        assert!(!is_authority(b"exa mple"));
        assert!(is_token(b"x-custom-field"));
        assert!(!is_token(b""));
        assert!(!is_token(b"with space"));
        assert!(!is_token(b"colon:"));
    }
}
