//! One line of the table: the attack, the limit that must stop it, how it must end, and what
//! happened; [`Row::check`] says whether the two agree.

use std::time::Duration;

use protocol::h2::Reason;

use crate::client::{End, Tally};

/// One line of the table: what the client did, what should stop it, and what happened.
#[derive(Debug)]
pub struct Row {
    /// What the client sends, in a few words.
    pub attack: String,
    /// The limit that should end it, as the table names it; empty for a contrast row.
    pub limit: String,
    pub expect: Expect,
    pub outcome: Outcome,
}

/// How a row must end for its limit to have done its work.
#[derive(Debug, PartialEq, Eq)]
pub enum Expect {
    /// GOAWAY ENHANCE_YOUR_CALM once the server has read exactly `frames` frames.
    Calm { frames: u64 },
    /// Reading stops after `frames` frames, and the connection is dropped `after` that.
    Cut { frames: u64, after: Duration },
    /// These answers (stream, status), a refusal among them, and the connection goes on.
    Refused { answers: Vec<(u32, u16)> },
    /// Not ended: `requests` requests, each answered 200, and `data` octets of DATA read
    /// when it says.
    Served { requests: usize, data: Option<u64> },
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    pub tally: Tally,
    pub end: End,
    /// Virtual time from the end of the opening to the end of the run.
    pub after: Duration,
}

impl Row {
    /// Whether the run ended the way its limit says; the message names what differs.
    pub fn check(&self) -> Result<(), String> {
        let (tally, end) = (&self.outcome.tally, &self.outcome.end);
        let fail = |wanted: String| {
            Err(format!(
                "{}: {wanted}, but it ended {end:?} after {} frames and {:?} ({:?})",
                self.attack, tally.frames, self.outcome.after, tally.answers
            ))
        };
        match &self.expect {
            Expect::Calm { frames } => {
                let calm = matches!(end, End::GoAway { reason, .. } if *reason == Reason::ENHANCE_YOUR_CALM);
                // A client that reads must also have been told.
                let told =
                    tally.goaway == Some(Reason::ENHANCE_YOUR_CALM) || tally.goaway.is_none();
                if !calm || !told || tally.frames != *frames {
                    return fail(format!("wanted GOAWAY ENHANCE_YOUR_CALM at frame {frames}"));
                }
            }
            Expect::Cut { frames, after } => {
                if *end != End::Cut || tally.frames != *frames || self.outcome.after != *after {
                    return fail(format!(
                        "wanted the socket dropped after {frames} frames and {after:?}"
                    ));
                }
            }
            Expect::Refused { answers } => {
                if *end != End::Refused(431) || tally.answers != *answers {
                    return fail(format!(
                        "wanted the answers {answers:?}, the connection open"
                    ));
                }
            }
            Expect::Served { requests, data } => {
                let all_ok = tally.answers.len() == *requests
                    && tally.answers.iter().all(|&(_, status)| status == 200);
                let data_ok = data.is_none_or(|octets| tally.data_read == octets);
                if *end != End::Served || !all_ok || !data_ok || tally.goaway.is_some() {
                    return fail(format!(
                        "wanted {requests} requests served, the connection open"
                    ));
                }
            }
        }
        Ok(())
    }
}
