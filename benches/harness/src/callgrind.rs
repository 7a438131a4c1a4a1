//! Instructions per TLS handshake, counted with the server under `valgrind --tool=callgrind`:
//! the same count on a busy machine as on a quiet one, beside the handshake loads' wall-clock
//! rates, which move with the machine.
//!
//! The method is `scripts/parse-instructions.sh`'s: the server runs twice under callgrind, once
//! making [`FEW`] full handshakes and once making [`FEW`] + `extra` more, one after the other,
//! each with one small request; the difference of the two runs' totals, divided by `extra`, is
//! the instructions of one handshake and its request, with start-up, the first connection's
//! one-time work and shutdown cancelled out. The count covers the server's every thread (its
//! runtime's too), not the client's.
//!
//! Two counts per server: the client offering X25519 alone, and offering X25519MLKEM768 first
//! (then X25519), for the servers that have the hybrid. valgrind's simulated CPU has no
//! AVX-512, so a library that would use it natively takes its AVX2 path here.

use serde_json::{json, Value};

/// Handshakes in the shorter run: the first connection's one-time work (a lazily built table,
/// a first allocation of buffers) is in both runs and cancels out.
pub const FEW: u64 = 5;

/// Handshakes the longer run adds, in a full run and in a quick one.
pub const EXTRA: u64 = 200;
pub const EXTRA_QUICK: u64 = 20;

/// What one row measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HandshakeInstructions {
    /// The handshakes the difference is divided by.
    pub handshakes: u64,
    /// Instructions per full TLS 1.3 handshake with X25519.
    pub x25519: Option<f64>,
    /// The same with the client offering X25519MLKEM768 first, for servers that have it.
    pub hybrid: Option<f64>,
}

impl HandshakeInstructions {
    pub fn to_json(&self) -> Value {
        json!({
            "handshakes": self.handshakes,
            "x25519": self.x25519,
            "x25519mlkem768": self.hybrid,
        })
    }

    pub fn from_json(value: &Value) -> Option<HandshakeInstructions> {
        let object = value.as_object()?;
        Some(HandshakeInstructions {
            handshakes: object
                .get("handshakes")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            x25519: object.get("x25519").and_then(Value::as_f64),
            hybrid: object.get("x25519mlkem768").and_then(Value::as_f64),
        })
    }
}

/// The total instructions (`Ir`) of a callgrind output file: its `summary:` line, or its
/// `totals:` line in versions that write only that.
pub fn total_instructions(text: &str) -> Option<u64> {
    ["summary:", "totals:"].iter().find_map(|prefix| {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|count| count.parse().ok())
    })
}

/// Instructions per handshake from the two runs' totals, or why there is no figure.
pub fn per_handshake(few: u64, many: u64, extra: u64) -> Result<f64, String> {
    if extra == 0 {
        return Err("no handshakes were added".into());
    }
    if many <= few {
        return Err(format!(
            "the longer run counted no more instructions ({many}) than the shorter ({few})"
        ));
    }
    Ok((many - few) as f64 / extra as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_the_summary_line() {
        let text = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\n\
                    events: Ir\nsummary: 123456789\n\nfl=(1) x.c\n";
        assert_eq!(total_instructions(text), Some(123_456_789));
        assert_eq!(total_instructions("events: Ir\ntotals: 42\n"), Some(42));
        assert_eq!(total_instructions("events: Ir\n"), None);
    }

    #[test]
    fn per_handshake_is_the_difference_over_the_extra_handshakes() {
        assert_eq!(per_handshake(1_000, 201_000, 200), Ok(1_000.0));
        assert!(per_handshake(1_000, 900, 200).is_err());
        assert!(per_handshake(1_000, 2_000, 0).is_err());
        let counts = HandshakeInstructions {
            handshakes: 200,
            x25519: Some(1_234_567.0),
            hybrid: None,
        };
        assert_eq!(
            HandshakeInstructions::from_json(&counts.to_json()),
            Some(counts)
        );
        assert_eq!(HandshakeInstructions::from_json(&Value::Null), None);
    }
}
