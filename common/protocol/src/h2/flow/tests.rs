//! Each rule of sections 5.2, 6.9 and 6.1 on its own, then a property over any sequence of
//! operations: no window passes 2^31-1 and the receive accounting always adds up.

use proptest::prelude::*;

use super::*;

fn is_stream_error(result: Result<(), Error>, id: u32, reason: Reason) -> bool {
    matches!(result, Err(Error::Stream { stream, reason: r, .. }) if stream == id && r == reason)
}

fn is_connection_error(result: Result<(), Error>, reason: Reason) -> bool {
    matches!(result, Err(Error::Connection { reason: r, .. }) if r == reason)
}

#[test]
fn windows_start_at_65535() {
    let flow = ConnectionFlow::new();
    let stream = flow.new_stream();
    assert_eq!(flow.send_window().size(), 65_535);
    assert_eq!(flow.recv_window().window().size(), 65_535);
    assert_eq!(stream.send_window().size(), 65_535);
    assert_eq!(stream.recv_window().target(), 65_535);
}

#[test]
fn a_window_update_past_the_maximum_is_an_error_of_its_own_scope() {
    let mut flow = ConnectionFlow::new();
    let mut stream = flow.new_stream();
    let room = MAX_WINDOW_SIZE - DEFAULT_WINDOW_SIZE;
    assert!(stream.handle_window_update(1, room).is_ok());
    assert_eq!(stream.send_window().size(), i64::from(MAX_WINDOW_SIZE));
    assert!(is_stream_error(
        stream.handle_window_update(1, 1),
        1,
        Reason::FLOW_CONTROL_ERROR
    ));
    // The refused increment changed nothing.
    assert_eq!(stream.send_window().size(), i64::from(MAX_WINDOW_SIZE));
    assert!(flow.handle_connection_window_update(room).is_ok());
    assert!(is_connection_error(
        flow.handle_connection_window_update(1),
        Reason::FLOW_CONTROL_ERROR
    ));
}

#[test]
fn a_zero_increment_is_a_protocol_error_of_its_own_scope() {
    let mut flow = ConnectionFlow::new();
    let mut stream = flow.new_stream();
    assert!(is_stream_error(
        stream.handle_window_update(7, 0),
        7,
        Reason::PROTOCOL_ERROR
    ));
    assert!(is_connection_error(
        flow.handle_connection_window_update(0),
        Reason::PROTOCOL_ERROR
    ));
}

#[test]
fn data_past_the_stream_window_costs_the_stream_and_still_counts_for_the_connection() {
    let mut flow = ConnectionFlow::new();
    flow.grow_connection_window(1 << 20);
    assert_eq!(flow.take_connection_update(), Some((1 << 20) - 65_535));
    let mut stream = flow.new_stream();
    assert!(flow.receive_data(1, &mut stream, 65_535, 65_535).is_ok());
    assert!(is_stream_error(
        flow.receive_data(1, &mut stream, 1, 1),
        1,
        Reason::FLOW_CONTROL_ERROR
    ));
    // The refused octet was spent on the connection and is already released for an update.
    let connection = flow.recv_window();
    assert_eq!(connection.window().size(), (1 << 20) - 65_536);
    assert_eq!(connection.pending(), 1);
}

#[test]
fn data_past_the_connection_window_costs_the_connection() {
    let mut flow = ConnectionFlow::new();
    let mut first = flow.new_stream();
    let mut second = flow.new_stream();
    assert!(flow.receive_data(1, &mut first, 40_000, 40_000).is_ok());
    assert!(is_connection_error(
        flow.receive_data(3, &mut second, 30_000, 30_000),
        Reason::FLOW_CONTROL_ERROR
    ));
    // Dropped DATA counts too, and runs out the same window.
    assert!(flow.receive_discarded(25_535).is_ok());
    assert!(is_connection_error(
        flow.receive_discarded(1),
        Reason::FLOW_CONTROL_ERROR
    ));
}

#[test]
fn padding_counts_against_the_windows_and_is_given_back_at_once() {
    let mut flow = ConnectionFlow::new();
    let mut stream = flow.new_stream();
    // 10 octets of data, a Pad Length octet and 20 octets of padding.
    assert!(flow.receive_data(1, &mut stream, 31, 10).is_ok());
    assert_eq!(stream.recv_window().window().size(), 65_535 - 31);
    assert_eq!(stream.recv_window().unreleased(), 10);
    assert_eq!(stream.recv_window().pending(), 21);
    assert_eq!(flow.recv_window().unreleased(), 10);
}

#[test]
fn updates_wait_until_half_the_window_is_consumed() {
    let mut flow = ConnectionFlow::new();
    let mut stream = flow.new_stream();
    assert!(flow.receive_data(1, &mut stream, 40_000, 40_000).is_ok());
    // Received but not consumed: nothing is owed yet, which is the back-pressure.
    assert_eq!(stream.take_update(), None);
    assert_eq!(flow.take_connection_update(), None);
    flow.release(&mut stream, 30_000);
    assert_eq!(
        stream.take_update(),
        None,
        "30000 is less than half of 65535"
    );
    flow.release(&mut stream, 10_000);
    assert_eq!(stream.take_update(), Some(40_000));
    assert_eq!(flow.take_connection_update(), Some(40_000));
    assert_eq!(stream.take_update(), None);
    assert_eq!(stream.recv_window().window().size(), 65_535);
    // Releasing more than was received releases what was received.
    flow.release(&mut stream, 1_000_000);
    assert_eq!(stream.recv_window().pending(), 0);
}

#[test]
fn sending_takes_credit_from_both_windows() {
    let mut flow = ConnectionFlow::new();
    let mut first = flow.new_stream();
    let mut second = flow.new_stream();
    assert_eq!(flow.take_send_credit(&mut first, 50_000), 50_000);
    assert_eq!(
        flow.sendable(&second),
        15_535,
        "the connection window is shared"
    );
    assert_eq!(flow.take_send_credit(&mut second, 50_000), 15_535);
    assert_eq!(flow.take_send_credit(&mut second, 1), 0);
    assert!(flow.handle_connection_window_update(100_000).is_ok());
    assert_eq!(
        flow.sendable(&first),
        15_535,
        "now the stream window is the smaller"
    );
}

#[test]
fn an_initial_window_change_moves_every_stream_and_may_make_it_negative() {
    let mut flow = ConnectionFlow::new();
    let mut streams = [flow.new_stream(), flow.new_stream()];
    assert_eq!(flow.take_send_credit(&mut streams[0], 60_000), 60_000);
    // The RFC's example: 60 KB sent, then the peer lowers the initial size to 16 KB.
    assert!(flow
        .apply_peer_initial_window_size(16_384, streams.iter_mut())
        .is_ok());
    assert_eq!(streams[0].send_window().size(), 16_384 - 60_000);
    assert_eq!(streams[1].send_window().size(), 16_384);
    assert_eq!(flow.sendable(&streams[0]), 0);
    // The connection window is not moved by SETTINGS.
    assert_eq!(flow.send_window().size(), 65_535 - 60_000);
    // New streams start at the new size.
    assert_eq!(flow.new_stream().send_window().size(), 16_384);
}

#[test]
fn an_initial_window_change_past_the_maximum_is_a_connection_error() {
    let mut flow = ConnectionFlow::new();
    let mut streams = [flow.new_stream()];
    assert!(streams[0].handle_window_update(1, 1_000_000).is_ok());
    assert!(is_connection_error(
        flow.apply_peer_initial_window_size(MAX_WINDOW_SIZE, streams.iter_mut()),
        Reason::FLOW_CONTROL_ERROR
    ));
    assert!(is_connection_error(
        flow.apply_peer_initial_window_size(MAX_WINDOW_SIZE + 1, std::iter::empty()),
        Reason::FLOW_CONTROL_ERROR
    ));
}

#[test]
fn our_own_initial_window_change_moves_every_receive_window() {
    let mut flow = ConnectionFlow::new();
    let mut streams = [flow.new_stream()];
    assert!(flow
        .receive_data(1, &mut streams[0], 30_000, 30_000)
        .is_ok());
    flow.apply_local_initial_window_size(16_384, streams.iter_mut());
    let recv = streams[0].recv_window();
    assert_eq!(recv.target(), 16_384);
    assert_eq!(recv.window().size(), 16_384 - 30_000);
    assert!(is_stream_error(
        flow.receive_data(1, &mut streams[0], 1, 1),
        1,
        Reason::FLOW_CONTROL_ERROR
    ));
    assert_eq!(flow.new_stream().recv_window().target(), 16_384);
}

#[test]
fn a_window_reports_its_errors_plainly() {
    let mut window = Window::new(10);
    assert_eq!(window.consume(11), Err(WindowError::Exhausted));
    assert_eq!(window.increase(MAX_WINDOW_SIZE), Err(WindowError::Overflow));
    assert_eq!(Window::new(u32::MAX).size(), i64::from(MAX_WINDOW_SIZE));
    assert!(WindowError::Overflow.to_string().contains("2^31-1"));
}

/// One thing that can happen to the flow-control state of a connection with three streams.
#[derive(Clone, Debug)]
enum Op {
    Receive {
        stream: usize,
        flow_len: u32,
        padding: u32,
    },
    Discard(u32),
    Release {
        stream: usize,
        len: u32,
    },
    TakeUpdates,
    Send {
        stream: usize,
        wanted: u32,
    },
    StreamUpdate {
        stream: usize,
        increment: u32,
    },
    ConnectionUpdate(u32),
    PeerInitial(u32),
    LocalInitial(u32),
    Grow(u32),
}

fn any_len() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..100_000, Just(MAX_WINDOW_SIZE), any::<u32>()]
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, any_len(), 0u32..256).prop_map(|(stream, flow_len, padding)| Op::Receive {
            stream,
            flow_len,
            padding
        }),
        any_len().prop_map(Op::Discard),
        (0..3usize, any_len()).prop_map(|(stream, len)| Op::Release { stream, len }),
        Just(Op::TakeUpdates),
        (0..3usize, any_len()).prop_map(|(stream, wanted)| Op::Send { stream, wanted }),
        (0..3usize, any_len())
            .prop_map(|(stream, increment)| Op::StreamUpdate { stream, increment }),
        any_len().prop_map(Op::ConnectionUpdate),
        any_len().prop_map(Op::PeerInitial),
        any_len().prop_map(Op::LocalInitial),
        any_len().prop_map(Op::Grow),
    ]
}

fn adds_up(recv: &RecvWindow) -> bool {
    recv.window().size() + i64::from(recv.unreleased()) + i64::from(recv.pending())
        == i64::from(recv.target())
}

proptest! {
    #[test]
    fn windows_stay_bounded_and_accounting_adds_up(ops in prop::collection::vec(any_op(), 0..80)) {
        let mut flow = ConnectionFlow::new();
        let mut streams = [flow.new_stream(), flow.new_stream(), flow.new_stream()];
        // What the connection-level send window should be: its start, plus the increments
        // accepted, minus the credit granted.
        let mut expected_send = i64::from(DEFAULT_WINDOW_SIZE);
        for op in ops {
            match op {
                Op::Receive { stream, flow_len, padding } => {
                    let data_len = flow_len.saturating_sub(padding);
                    let _ = flow.receive_data(1, &mut streams[stream], flow_len, data_len);
                }
                Op::Discard(len) => { let _ = flow.receive_discarded(len); }
                Op::Release { stream, len } => flow.release(&mut streams[stream], len),
                Op::TakeUpdates => {
                    if let Some(increment) = flow.take_connection_update() {
                        prop_assert!(increment > 0);
                    }
                    for stream in &mut streams {
                        let _ = stream.take_update();
                    }
                }
                Op::Send { stream, wanted } => {
                    let available = flow.sendable(&streams[stream]);
                    let granted = flow.take_send_credit(&mut streams[stream], wanted);
                    prop_assert!(granted <= wanted && granted <= available);
                    expected_send -= i64::from(granted);
                }
                Op::StreamUpdate { stream, increment } => {
                    let _ = streams[stream].handle_window_update(1, increment);
                }
                Op::ConnectionUpdate(increment) => {
                    if flow.handle_connection_window_update(increment).is_ok() {
                        expected_send += i64::from(increment);
                    }
                }
                Op::PeerInitial(size) => {
                    // A connection error: the connection is over, and so is the sequence.
                    if flow.apply_peer_initial_window_size(size, streams.iter_mut()).is_err() {
                        break;
                    }
                }
                Op::LocalInitial(size) => {
                    flow.apply_local_initial_window_size(size, streams.iter_mut());
                }
                Op::Grow(target) => flow.grow_connection_window(target),
            }
            let max = i64::from(MAX_WINDOW_SIZE);
            prop_assert_eq!(flow.send_window().size(), expected_send);
            prop_assert!(flow.send_window().size() <= max);
            prop_assert!(adds_up(flow.recv_window()), "{:?}", flow.recv_window());
            // The connection holds at least what the streams hold unreleased.
            let held: i64 = streams.iter().map(|s| i64::from(s.recv_window().unreleased())).sum();
            prop_assert!(i64::from(flow.recv_window().unreleased()) >= held);
            for stream in &streams {
                prop_assert!(stream.send_window().size() <= max);
                prop_assert!(stream.send_window().size() >= -max);
                prop_assert!(stream.recv_window().window().size() <= max);
                prop_assert!(adds_up(stream.recv_window()), "{:?}", stream.recv_window());
            }
        }
    }
}
