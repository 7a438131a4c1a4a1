//! The state table checked against a second table, written separately from RFC 9113 section
//! 5.1 (every state by every event), the identifier rules of section 5.1.1, and a property:
//! no sequence of events panics or leaves the closed state.

use proptest::prelude::*;

use super::*;

/// What the RFC says should happen, in as few letters as a table cell allows.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// Allowed; the stream moves to (or stays in) this state.
    Go(State),
    /// Allowed, processed minimally and dropped.
    Drop,
    /// A stream error with this code.
    Strm(Reason),
    /// A connection error with this code.
    Conn(Reason),
    /// This endpoint must not send it.
    Bug,
}

use Want::*;

const IDLE: State = State::Idle;
const RL: State = State::ReservedLocal;
const RR: State = State::ReservedRemote;
const OPEN: State = State::Open;
const HCL: State = State::HalfClosedLocal;
const HCR: State = State::HalfClosedRemote;
const C_US: State = State::Closed(Closure::ResetByUs);
const C_PEER: State = State::Closed(Closure::ResetByPeer);
const C_FIN: State = State::Closed(Closure::Finished);
const C_GONE: State = State::Closed(Closure::Forgotten);

const P: Reason = Reason::PROTOCOL_ERROR;
const SC: Reason = Reason::STREAM_CLOSED;

/// Rows in the order of `State::ALL`; columns in the order of `Event::ALL`:
///
/// recv: HEADERS, DATA, END_STREAM, RST_STREAM, PRIORITY, WINDOW_UPDATE, PUSH_PROMISE;
/// send: HEADERS, DATA, END_STREAM, RST_STREAM, PRIORITY, WINDOW_UPDATE, PUSH_PROMISE.
#[rustfmt::skip]
const RFC_TABLE: [(State, [Want; 14]); 10] = [
    // idle: only HEADERS and PRIORITY may arrive; a server only promises it.
    (IDLE, [Go(OPEN), Conn(P), Conn(P), Conn(P), Go(IDLE), Conn(P), Conn(P),
            Bug, Bug, Bug, Bug, Go(IDLE), Bug, Go(RL)]),
    // reserved (local): RST_STREAM, PRIORITY, WINDOW_UPDATE may arrive; we send HEADERS,
    // RST_STREAM or PRIORITY.
    (RL, [Conn(P), Conn(P), Conn(P), Go(C_PEER), Go(RL), Go(RL), Conn(P),
          Go(HCR), Bug, Bug, Go(C_FIN), Go(RL), Bug, Bug]),
    // reserved (remote): HEADERS, RST_STREAM, PRIORITY may arrive; we send RST_STREAM,
    // WINDOW_UPDATE or PRIORITY.
    (RR, [Go(HCL), Conn(P), Conn(P), Go(C_PEER), Go(RR), Conn(P), Conn(P),
          Bug, Bug, Bug, Go(C_US), Go(RR), Go(RR), Bug]),
    // open: anything, END_STREAM half-closes, RST_STREAM closes.
    (OPEN, [Go(OPEN), Go(OPEN), Go(HCR), Go(C_PEER), Go(OPEN), Go(OPEN), Conn(P),
            Go(OPEN), Go(OPEN), Go(HCL), Go(C_US), Go(OPEN), Go(OPEN), Bug]),
    // half-closed (local): anything may arrive (WINDOW_UPDATE can be ignored); we send only
    // WINDOW_UPDATE, PRIORITY, RST_STREAM.
    (HCL, [Go(HCL), Go(HCL), Go(C_FIN), Go(C_PEER), Go(HCL), Drop, Conn(P),
           Bug, Bug, Bug, Go(C_US), Go(HCL), Go(HCL), Bug]),
    // half-closed (remote): only WINDOW_UPDATE, PRIORITY, RST_STREAM may arrive (else stream
    // error STREAM_CLOSED); we send anything.
    (HCR, [Strm(SC), Strm(SC), Strm(SC), Go(C_PEER), Go(HCR), Go(HCR), Conn(P),
           Go(HCR), Go(HCR), Go(C_FIN), Go(C_FIN), Go(HCR), Go(HCR), Bug]),
    // closed by our reset: everything is processed minimally and dropped.
    (C_US, [Drop, Drop, Drop, Drop, Go(C_US), Drop, Conn(P),
            Bug, Bug, Bug, Bug, Go(C_US), Bug, Bug]),
    // closed by the peer's reset: only stragglers, else connection error STREAM_CLOSED.
    (C_PEER, [Conn(SC), Conn(SC), Conn(SC), Drop, Go(C_PEER), Drop, Conn(P),
              Bug, Bug, Bug, Bug, Go(C_PEER), Bug, Bug]),
    // closed after both sides ended it: the same.
    (C_FIN, [Conn(SC), Conn(SC), Conn(SC), Drop, Go(C_FIN), Drop, Conn(P),
             Bug, Bug, Bug, Bug, Go(C_FIN), Bug, Bug]),
    // closed and forgotten (or skipped): HEADERS would reuse an id; the rest is dropped.
    (C_GONE, [Conn(P), Drop, Drop, Drop, Go(C_GONE), Drop, Conn(P),
              Bug, Bug, Bug, Bug, Go(C_GONE), Bug, Bug]),
];

#[test]
fn every_transition_is_the_one_the_rfc_names() {
    let mut checked = 0;
    for (row, (state, wants)) in RFC_TABLE.iter().enumerate() {
        assert_eq!(
            *state,
            State::ALL[row],
            "the test table's rows follow State::ALL"
        );
        for (event, want) in Event::ALL.iter().zip(wants) {
            let got = transition(*state, *event);
            let matches = match (want, got) {
                (Go(next), Ok(Outcome::Next(actual))) => *next == actual,
                (Drop, Ok(Outcome::Discard)) => true,
                (Strm(reason), Err(Refusal::Stream { reason: actual, .. })) => *reason == actual,
                (Conn(reason), Err(Refusal::Connection { reason: actual, .. })) => {
                    *reason == actual
                }
                (Bug, Err(Refusal::MustNotSend { .. })) => true,
                _ => false,
            };
            assert!(
                matches,
                "{state:?} x {event:?}: the RFC says {want:?}, the table says {got:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, State::ALL.len() * Event::ALL.len());
}

#[test]
fn a_request_and_its_response_walk_the_figure() {
    // HEADERS + END_STREAM (a GET), then the response's HEADERS and DATA + END_STREAM.
    let mut state = State::Idle;
    for event in [
        Event::RecvHeaders,
        Event::RecvEndStream,
        Event::SendHeaders,
        Event::SendData,
        Event::SendEndStream,
    ] {
        match transition(state, event) {
            Ok(Outcome::Next(next)) => state = next,
            other => panic!("{event:?} in {state:?}: {other:?}"),
        }
    }
    assert_eq!(state, State::Closed(Closure::Finished));
}

#[test]
fn refusals_become_the_right_class_of_error() {
    let refusal = transition(State::HalfClosedRemote, Event::RecvData).unwrap_err();
    assert!(matches!(
        refusal.on(3),
        Error::Stream {
            stream: 3,
            reason: Reason::STREAM_CLOSED,
            ..
        }
    ));
    let refusal = transition(State::Idle, Event::RecvData).unwrap_err();
    assert!(matches!(
        refusal.on(3),
        Error::Connection {
            reason: Reason::PROTOCOL_ERROR,
            ..
        }
    ));
    let refusal = transition(State::Closed(Closure::Finished), Event::SendData).unwrap_err();
    assert_eq!(refusal.on(5).reason(), Reason::INTERNAL_ERROR);
    assert!(refusal
        .to_string()
        .starts_with("this endpoint must not send"));
}

#[test]
fn which_states_count_toward_the_concurrency_limit() {
    let active: Vec<State> = State::ALL.into_iter().filter(|s| s.is_active()).collect();
    assert_eq!(
        active,
        [State::Open, State::HalfClosedLocal, State::HalfClosedRemote]
    );
    let pushable: Vec<State> = State::ALL
        .into_iter()
        .filter(|s| s.may_carry_push_promise())
        .collect();
    assert_eq!(pushable, [State::Open, State::HalfClosedRemote]);
}

#[test]
fn client_streams_are_odd_and_increasing() {
    let mut ids = StreamIds::new();
    assert_eq!(ids.untracked(1), State::Idle);
    assert!(ids.open_client_stream(1).is_ok());
    // Skipping 3 closes it (section 5.1.1): "the skipped stream is immediately closed".
    assert!(ids.open_client_stream(5).is_ok());
    assert_eq!(ids.untracked(3), State::Closed(Closure::Forgotten));
    assert_eq!(ids.untracked(7), State::Idle);
    assert_eq!(ids.last_client_stream(), 5);
    for (id, rule) in [
        (0, "stream 0"),
        (3, "greater"),
        (5, "greater"),
        (8, "odd"),
        (MAX_STREAM_ID + 1, "31 bits"),
    ] {
        match ids.open_client_stream(id) {
            Err(Error::Connection { reason, why }) => {
                assert_eq!(reason, Reason::PROTOCOL_ERROR, "stream {id}");
                assert!(why.contains(rule), "stream {id}: {why}");
            }
            other => panic!("stream {id}: {other:?}"),
        }
    }
    // A refused id takes nothing: the next good one still opens.
    assert!(ids.open_client_stream(MAX_STREAM_ID).is_ok());
}

#[test]
fn pushed_streams_are_even_until_the_space_runs_out() {
    let mut ids = StreamIds::new();
    assert_eq!(ids.untracked(2), State::Idle);
    assert_eq!(ids.reserve_push_stream(), Some(2));
    assert_eq!(ids.reserve_push_stream(), Some(4));
    assert_eq!(ids.untracked(2), State::Closed(Closure::Forgotten));
    assert_eq!(ids.last_pushed_stream(), 4);
    assert_eq!(ids.untracked(0), State::Closed(Closure::Forgotten));
    let mut full = StreamIds {
        last_client: 0,
        last_pushed: MAX_STREAM_ID - 1,
    };
    assert_eq!(full.reserve_push_stream(), None);
}

fn any_event() -> impl Strategy<Value = Event> {
    (0..Event::ALL.len()).prop_map(|i| Event::ALL[i])
}

proptest! {
    /// Whatever the peer and a buggy caller do, the table answers, a closed stream stays
    /// closed, and no stream returns to idle or becomes reserved once it has left idle.
    #[test]
    fn no_event_sequence_panics_or_reopens(events in prop::collection::vec(any_event(), 0..64)) {
        let mut state = State::Idle;
        let mut left_idle = false;
        for event in events {
            let before = state;
            if let Ok(Outcome::Next(next)) = transition(state, event) {
                state = next;
            }
            if before.is_closed() {
                prop_assert!(state.is_closed(), "{before:?} x {event:?} left closed: {state:?}");
            }
            if left_idle {
                prop_assert!(
                    !matches!(state, State::Idle | State::ReservedLocal | State::ReservedRemote)
                        || state == before,
                    "{before:?} x {event:?} went back to {state:?}"
                );
            }
            left_idle |= state != State::Idle;
        }
    }
}
