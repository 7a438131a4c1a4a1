//! The attacks, each written as the units of frames its client sends, with the limit that
//! should end it and where, and for most a contrast: the same client with the limit's trigger
//! just not reached, which must be served.
//!
//! Where an attack must end is computed from the named limits in
//! `protocol::h2::machine::guard` (and the machine's constants), never written down by hand:
//! a limit changed in the protocol crate moves the expectation with it, and an attack that is
//! no longer stopped where its limit says fails `Row::check`.

use std::time::Duration;

use protocol::h2::frame::{self, flags, Kind, SettingId};
use protocol::h2::machine::guard::{
    DATA_FRAMES_SLACK, MAX_BLOCK_FACTOR, MAX_CONTINUATIONS, MAX_EARLY_RESETS, MAX_EMPTY_FRAMES,
    MAX_OWED_CONTROL_FRAMES, MAX_PROVOKED_RESETS, MIN_AVERAGE_DATA_BYTES,
};
use protocol::h2::machine::MAX_BUFFERED_OUTPUT;
use protocol::h2::Reason;
use protocol::{Request, Response, StatusCode};

use crate::client::{raw, stage07_limits, Client, End, Peer};
use crate::rows::{Expect, Outcome, Row};
use crate::units::{bomb_block, bomb_or_get, data_unit, open_block, reason, stream, BOMB_VALUE};

/// The response `/big` gets: what the slow reader asks for and never takes.
const BIG: usize = 1 << 20;

/// How often the slow reader sends a PING to look alive.
const SLOW_PING: Duration = Duration::from_secs(10);

/// Every row, in the order of the table.
pub fn all() -> Result<Vec<Row>, String> {
    let limits = stage07_limits();
    let mut rows = Vec::new();

    // Rapid reset: a request and its cancellation in one write, so that the server sees the
    // RST_STREAM before it could answer.
    let resets = u64::from(MAX_EARLY_RESETS) + 1;
    rows.push(Row {
        attack: "rapid reset: GET then RST_STREAM, on new streams".into(),
        limit: limit("MAX_EARLY_RESETS", MAX_EARLY_RESETS),
        expect: Expect::Calm { frames: 2 * resets },
        outcome: drive(Client::open(Peer::Reads, &[], app)?, 10 * resets, |c, i| {
            let mut unit = c.request(stream(i), "GET", "/", true);
            unit.extend(raw(Kind::RST_STREAM, 0, stream(i), &reason(Reason::CANCEL)));
            (unit, 2)
        })?,
    });
    rows.push(Row {
        attack: format!("↳ {resets} GETs, none reset"),
        limit: String::new(),
        expect: served(resets),
        outcome: drive(Client::open(Peer::Reads, &[], app)?, resets, |c, i| {
            (c.request(stream(i), "GET", "/", true), 1)
        })?,
    });

    // MadeYouReset: the server resets, so the client never sends RST_STREAM itself.
    let provoked = u64::from(MAX_PROVOKED_RESETS) + 1;
    rows.push(Row {
        attack: "MadeYouReset: POST then WINDOW_UPDATE of 0".into(),
        limit: limit("MAX_PROVOKED_RESETS", MAX_PROVOKED_RESETS),
        expect: Expect::Calm {
            frames: 2 * provoked,
        },
        outcome: drive(
            Client::open(Peer::Reads, &[], app)?,
            10 * provoked,
            |c, i| {
                let mut unit = c.request(stream(i), "POST", "/echo", false);
                unit.extend(raw(Kind::WINDOW_UPDATE, 0, stream(i), &[0; 4]));
                (unit, 2)
            },
        )?,
    });
    rows.push(Row {
        attack: format!("↳ {provoked} POSTs with a WINDOW_UPDATE of 1"),
        limit: String::new(),
        expect: served(provoked),
        outcome: drive(Client::open(Peer::Reads, &[], app)?, provoked, |c, i| {
            let mut unit = c.request(stream(i), "POST", "/echo", false);
            unit.extend(raw(Kind::WINDOW_UPDATE, 0, stream(i), &1u32.to_be_bytes()));
            unit.extend(raw(Kind::DATA, flags::END_STREAM, stream(i), b"x"));
            (unit, 3)
        })?,
    });

    // CONTINUATION floods: a field block that never ends, in empty frames and in full ones.
    let continuations = MAX_CONTINUATIONS as u64;
    rows.push(Row {
        attack: "CONTINUATION flood: empty CONTINUATION frames".into(),
        limit: limit("MAX_CONTINUATIONS", MAX_CONTINUATIONS),
        expect: Expect::Calm {
            frames: 1 + continuations + 1,
        },
        outcome: drive(
            Client::open(Peer::Reads, &[], app)?,
            10 * continuations,
            |c, i| match i {
                0 => (open_block(c), 1),
                _ => (raw(Kind::CONTINUATION, 0, 1, &[]), 1),
            },
        )?,
    });
    rows.push(Row {
        attack: format!("↳ a request in HEADERS and {continuations} CONTINUATIONs"),
        limit: String::new(),
        expect: served(1),
        outcome: drive(
            Client::open(Peer::Reads, &[], app)?,
            1 + continuations,
            |c, i| match i {
                0 => (open_block(c), 1),
                i if i == continuations => (raw(Kind::CONTINUATION, flags::END_HEADERS, 1, &[]), 1),
                _ => (raw(Kind::CONTINUATION, 0, 1, &[]), 1),
            },
        )?,
    });
    let full = vec![0u8; frame::DEFAULT_MAX_FRAME_SIZE as usize];
    let most_block = limits.max_head_bytes * MAX_BLOCK_FACTOR;
    let first_block = Client::open(Peer::Reads, &[], app)?
        .request_block("GET", "/")
        .len();
    rows.push(Row {
        attack: "CONTINUATION flood: full (16,384-octet) CONTINUATION frames".into(),
        limit: format!(
            "`MAX_BLOCK_FACTOR` ({MAX_BLOCK_FACTOR}) × `max_head_bytes` ({})",
            limits.max_head_bytes
        ),
        expect: Expect::Calm {
            // The first CONTINUATION that takes the block past the cap.
            frames: 1 + ((most_block - first_block) / full.len() + 1) as u64,
        },
        outcome: drive(Client::open(Peer::Reads, &[], app)?, 100, |c, i| match i {
            0 => (open_block(c), 1),
            _ => (raw(Kind::CONTINUATION, 0, 1, &full), 1),
        })?,
    });

    // The HPACK bomb, then a plain GET to show the connection goes on. Both blocks are built
    // by hand, so that the client's encoder never has to agree with a table it did not fill.
    let frame_size = frame::DEFAULT_MAX_FRAME_SIZE as usize;
    let bomb = bomb_block(frame_size - bomb_block(0).len());
    let references = frame_size - bomb_block(0).len();
    rows.push(Row {
        attack: format!(
            "HPACK bomb: one {BOMB_VALUE}-octet field, then {references} one-octet references to it"
        ),
        limit: format!("`max_head_bytes` ({})", limits.max_head_bytes),
        expect: Expect::Refused {
            answers: vec![(1, 431), (3, 200)],
        },
        outcome: drive(Client::open(Peer::Reads, &[], app)?, 2, |_, i| {
            bomb_or_get(i, &bomb)
        })?,
    });
    let small = bomb_block(2);
    rows.push(Row {
        attack: "↳ the same field three times".into(),
        limit: String::new(),
        expect: served(2),
        outcome: drive(Client::open(Peer::Reads, &[], app)?, 2, |_, i| {
            bomb_or_get(i, &small)
        })?,
    });

    // Floods of frames that each oblige an answer, from a client that reads none of them.
    let pong = (frame::HEADER_LEN + 8) as u64;
    let pings = (MAX_BUFFERED_OUTPUT as u64).div_ceil(pong);
    let ping = |_: &mut Client, i: u64| (raw(Kind::PING, 0, 0, &i.to_be_bytes()), 1);
    rows.push(Row {
        attack: "PING flood, the client never reads".into(),
        limit: format!(
            "`MAX_BUFFERED_OUTPUT` ({MAX_BUFFERED_OUTPUT}), then the idle timeout ({} s)",
            limits.idle_timeout.as_secs()
        ),
        expect: Expect::Cut {
            frames: pings,
            after: limits.idle_timeout,
        },
        outcome: drive(Client::open(Peer::NeverReads, &[], app)?, 100 * pings, ping)?,
    });
    rows.push(Row {
        attack: "PING flood, never read, by a driver that ignores `wants_read`".into(),
        limit: limit("MAX_OWED_CONTROL_FRAMES", MAX_OWED_CONTROL_FRAMES),
        expect: Expect::Calm {
            frames: MAX_OWED_CONTROL_FRAMES as u64 + 1,
        },
        outcome: drive(
            Client::open(Peer::NeverReadsFedAnyway, &[], app)?,
            10 * MAX_OWED_CONTROL_FRAMES as u64,
            ping,
        )?,
    });
    rows.push(Row {
        attack: format!("↳ {pings} PINGs from a client that reads"),
        limit: String::new(),
        expect: served(0),
        outcome: drive(Client::open(Peer::Reads, &[], app)?, pings, ping)?,
    });
    let ack = frame::HEADER_LEN as u64;
    let settings_frames = (MAX_BUFFERED_OUTPUT as u64).div_ceil(ack);
    let settings = |_: &mut Client, _: u64| (raw(Kind::SETTINGS, 0, 0, &[]), 1);
    rows.push(Row {
        attack: "SETTINGS flood, the client never reads".into(),
        limit: format!(
            "`MAX_BUFFERED_OUTPUT` ({MAX_BUFFERED_OUTPUT}), then the idle timeout ({} s)",
            limits.idle_timeout.as_secs()
        ),
        expect: Expect::Cut {
            frames: settings_frames,
            after: limits.idle_timeout,
        },
        outcome: drive(
            Client::open(Peer::NeverReads, &[], app)?,
            100 * settings_frames,
            settings,
        )?,
    });
    rows.push(Row {
        attack: format!("↳ {settings_frames} SETTINGS from a client that reads"),
        limit: String::new(),
        expect: served(0),
        outcome: drive(
            Client::open(Peer::Reads, &[], app)?,
            settings_frames,
            settings,
        )?,
    });

    // Bodies in frames that carry nothing, or next to nothing.
    let empties = u64::from(MAX_EMPTY_FRAMES);
    rows.push(Row {
        attack: "empty DATA frames on an open POST".into(),
        limit: limit("MAX_EMPTY_FRAMES", MAX_EMPTY_FRAMES),
        expect: Expect::Calm {
            frames: 1 + empties + 1,
        },
        outcome: drive(
            Client::open(Peer::Reads, &[], app)?,
            10 * empties,
            |c, i| data_unit(c, i, u64::MAX, &[]),
        )?,
    });
    rows.push(Row {
        attack: format!("↳ {empties} empty DATA frames, then the body"),
        limit: String::new(),
        expect: served(1),
        outcome: drive(
            Client::open(Peer::Reads, &[], app)?,
            2 + empties,
            |c, i| match i {
                i if i == 1 + empties => (raw(Kind::DATA, flags::END_STREAM, 1, b"x"), 1),
                i => data_unit(c, i, u64::MAX, &[]),
            },
        )?,
    });
    let tiny = one_octet_trip();
    let average = vec![b'm'; MIN_AVERAGE_DATA_BYTES as usize];
    rows.push(Row {
        attack: "a body in one-octet DATA frames".into(),
        limit: format!(
            "`MIN_AVERAGE_DATA_BYTES` ({MIN_AVERAGE_DATA_BYTES}) after `DATA_FRAMES_SLACK` \
             ({DATA_FRAMES_SLACK})"
        ),
        expect: Expect::Calm { frames: 1 + tiny },
        outcome: drive(Client::open(Peer::Reads, &[], app)?, 10 * tiny, |c, i| {
            data_unit(c, i, u64::MAX, b"x")
        })?,
    });
    rows.push(Row {
        attack: format!("↳ {tiny} DATA frames of {MIN_AVERAGE_DATA_BYTES} octets"),
        limit: String::new(),
        expect: served(1),
        outcome: drive(Client::open(Peer::Reads, &[], app)?, 1 + tiny, |c, i| {
            data_unit(c, i, tiny, &average)
        })?,
    });

    // The slow reader: asks for a large response with a window of 0, and keeps the connection
    // looking alive with PINGs it reads the answers to.
    let shut = [(SettingId::INITIAL_WINDOW_SIZE, 0)];
    let pings_before_cut = limits.idle_timeout.as_secs() / SLOW_PING.as_secs() - 1;
    rows.push(Row {
        attack: format!("a window never opened: GET of {BIG} octets, a PING every 10 s"),
        limit: format!("the idle timeout ({} s)", limits.idle_timeout.as_secs()),
        expect: Expect::Cut {
            frames: 1 + pings_before_cut,
            after: limits.idle_timeout,
        },
        outcome: drive_paced(
            Client::open(Peer::Reads, &shut, app)?,
            100,
            |c, i| match i {
                0 => (c.request(1, "GET", "/big", true), 1),
                i => ping(c, i),
            },
        )?,
    });
    let grant = u32::try_from(BIG).map_err(|_| "the big response must fit a window")?;
    rows.push(Row {
        attack: "↳ the same client opening its windows after 10 s".into(),
        limit: String::new(),
        expect: Expect::Served {
            requests: 1,
            data: Some(BIG as u64),
        },
        outcome: drive_paced(Client::open(Peer::Reads, &shut, app)?, 2, |c, i| match i {
            0 => (c.request(1, "GET", "/big", true), 1),
            _ => {
                let mut unit = raw(Kind::WINDOW_UPDATE, 0, 1, &grant.to_be_bytes());
                unit.extend(raw(Kind::WINDOW_UPDATE, 0, 0, &grant.to_be_bytes()));
                (unit, 2)
            }
        })?,
    });
    Ok(rows)
}

/// The application: `/big` is [`BIG`] octets, anything else the echo every test uses.
fn app(request: &Request) -> Response {
    match request.path() {
        "/big" => Response::with_body(StatusCode::OK, "application/octet-stream", vec![b'b'; BIG]),
        _ => protocol::pump::echo(request),
    }
}

/// Sends `unit(client, i)` for `i` from 0, up to `most` units, until the connection ends or
/// the server stops reading (then time passes until it has dealt with the client).
fn drive(
    client: Client,
    most: u64,
    unit: impl FnMut(&mut Client, u64) -> (Vec<u8>, u64),
) -> Result<Outcome, String> {
    run(client, most, Duration::ZERO, unit)
}

/// [`drive`] with [`SLOW_PING`] of virtual time between units.
fn drive_paced(
    client: Client,
    most: u64,
    unit: impl FnMut(&mut Client, u64) -> (Vec<u8>, u64),
) -> Result<Outcome, String> {
    run(client, most, SLOW_PING, unit)
}

fn run(
    mut client: Client,
    most: u64,
    pause: Duration,
    mut unit: impl FnMut(&mut Client, u64) -> (Vec<u8>, u64),
) -> Result<Outcome, String> {
    for i in 0..most {
        if i > 0 && !pause.is_zero() {
            client.sleep(pause)?;
        }
        if client.ended().is_some() {
            break;
        }
        let (bytes, frames) = unit(&mut client, i);
        if !client.write(&bytes, frames)? {
            // The server stopped reading: the client is stuck in TCP until the server acts.
            client.wait_out()?;
            break;
        }
    }
    let refusal = client
        .tally
        .answers
        .iter()
        .find(|&&(_, status)| status >= 400)
        .map(|&(_, status)| End::Refused(status));
    let end = client.ended().or(refusal).unwrap_or(End::Served);
    Ok(Outcome {
        after: client.elapsed(),
        tally: client.tally,
        end,
    })
}

fn limit(name: &str, value: impl std::fmt::Display) -> String {
    format!("`{name}` ({value})")
}

fn served(requests: u64) -> Expect {
    Expect::Served {
        requests: requests as usize,
        data: None,
    }
}

/// How many one-octet DATA frames the small-data limit lets through, plus one: the frame at
/// which it must trip, by `Guard::data_frame`'s rule (more frames than the slack plus the
/// octets over the least average).
fn one_octet_trip() -> u64 {
    (1..)
        .find(|&frames| frames > DATA_FRAMES_SLACK + frames / MIN_AVERAGE_DATA_BYTES)
        .unwrap_or(u64::MAX)
}
