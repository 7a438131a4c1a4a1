//! The file a capture is kept in: two comment lines that say which client sent the bytes and
//! which command captured them, then the bytes in hex, 32 to a line. Used by the examples that
//! capture what a real client sends (`client_hello` for TLS, `h2_opening` for HTTP/2) and by
//! their tests, which read the committed captures back.

use std::fmt::Write as _;

/// A capture as a text file: `# client: ...` and `# command: ...`, then the bytes in hex, 32 to
/// a line.
pub fn to_hex_file(capture: &[u8], client: &str, command: &str) -> String {
    let mut out = format!("# client: {client}\n# command: {command}\n");
    for line in capture.chunks(32) {
        for byte in line {
            let _ = write!(out, "{byte:02x}");
        }
        out.push('\n');
    }
    out
}

/// The capture, client and command of a file [`to_hex_file`] wrote.
pub fn from_hex_file(text: &str) -> Result<(Vec<u8>, String, String), String> {
    let (mut client, mut command, mut bytes) = (None, None, Vec::new());
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("# client: ") {
            client = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("# command: ") {
            command = Some(value.to_owned());
        } else {
            let line = line.trim();
            if line.len() % 2 != 0 {
                return Err(format!("an odd number of hex digits: {line}"));
            }
            for pair in line.as_bytes().chunks(2) {
                let pair = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
                bytes.push(u8::from_str_radix(pair, 16).map_err(|_| format!("not hex: {pair}"))?);
            }
        }
    }
    match (client, command) {
        (Some(client), Some(command)) => Ok((bytes, client, command)),
        _ => Err("no `# client:` or `# command:` line".into()),
    }
}
