//! Tests of the meaning of SETTINGS: the initial values, applying a frame in order, the rules
//! of section 6.5.2, and the frame a server announces.

use proptest::prelude::*;

use super::*;
use crate::h2::error::Reason;

fn frame_of(parameters: &[(SettingId, u32)]) -> frame::Settings {
    frame::Settings {
        ack: false,
        parameters: parameters.to_vec(),
    }
}

#[test]
fn the_initial_values_are_those_of_section_6_5_2() {
    let settings = Settings::default();
    assert_eq!(settings.header_table_size, 4_096);
    assert!(settings.enable_push);
    assert_eq!(settings.max_concurrent_streams, None);
    assert_eq!(settings.initial_window_size, 65_535);
    assert_eq!(settings.max_frame_size, 16_384);
    assert_eq!(settings.max_header_list_size, None);
    assert!(!settings.enable_connect_protocol);
}

#[test]
fn every_known_setting_is_applied() {
    let mut settings = Settings::default();
    let applied = settings
        .apply(&frame_of(&[
            (SettingId::HEADER_TABLE_SIZE, 8_192),
            (SettingId::ENABLE_PUSH, 0),
            (SettingId::MAX_CONCURRENT_STREAMS, 100),
            (SettingId::INITIAL_WINDOW_SIZE, 1 << 20),
            (SettingId::MAX_FRAME_SIZE, 1 << 20),
            (SettingId::MAX_HEADER_LIST_SIZE, 16_384),
            (SettingId::ENABLE_CONNECT_PROTOCOL, 1),
        ]))
        .expect("valid values");
    assert_eq!(
        settings,
        Settings {
            header_table_size: 8_192,
            enable_push: false,
            max_concurrent_streams: Some(100),
            initial_window_size: 1 << 20,
            max_frame_size: 1 << 20,
            max_header_list_size: Some(16_384),
            enable_connect_protocol: true,
        }
    );
    assert_eq!(
        applied,
        Applied {
            smallest_header_table_size: Some(8_192),
            initial_window_size_delta: (1 << 20) - 65_535,
        }
    );
}

#[test]
fn values_are_processed_in_order_so_the_last_one_wins() {
    let mut settings = Settings::default();
    let applied = settings
        .apply(&frame_of(&[
            (SettingId::INITIAL_WINDOW_SIZE, 100),
            (SettingId::HEADER_TABLE_SIZE, 0),
            (SettingId::INITIAL_WINDOW_SIZE, 70_000),
            (SettingId::HEADER_TABLE_SIZE, 1_024),
        ]))
        .expect("valid values");
    assert_eq!(settings.initial_window_size, 70_000);
    assert_eq!(settings.header_table_size, 1_024);
    // The table went down to 0 on the way: the HPACK encoder must say so before it says 1,024.
    assert_eq!(applied.smallest_header_table_size, Some(0));
    // Windows move by the difference between the final and the old value.
    assert_eq!(applied.initial_window_size_delta, 70_000 - 65_535);
    // A smaller window makes a negative difference.
    let applied = settings
        .apply(&frame_of(&[(SettingId::INITIAL_WINDOW_SIZE, 0)]))
        .expect("valid value");
    assert_eq!(applied.initial_window_size_delta, -70_000);
    assert_eq!(applied.smallest_header_table_size, None);
}

#[test]
fn unknown_settings_and_acknowledgements_change_nothing() {
    let mut settings = Settings::default();
    let applied = settings
        .apply(&frame_of(&[(SettingId(0x7), 1), (SettingId(0xff00), 12)]))
        .expect("unknown settings are ignored");
    assert_eq!(
        (settings, applied),
        (Settings::default(), Applied::default())
    );
    let applied = settings
        .apply(&frame::Settings::acknowledgement())
        .expect("an acknowledgement");
    assert_eq!(
        (settings, applied),
        (Settings::default(), Applied::default())
    );
}

#[test]
fn out_of_range_values_are_connection_errors_and_nothing_is_applied() {
    let cases = [
        (SettingId::ENABLE_PUSH, 2, Reason::PROTOCOL_ERROR),
        (
            SettingId::INITIAL_WINDOW_SIZE,
            0x8000_0000,
            Reason::FLOW_CONTROL_ERROR,
        ),
        (SettingId::MAX_FRAME_SIZE, 16_383, Reason::PROTOCOL_ERROR),
        (
            SettingId::MAX_FRAME_SIZE,
            16_777_216,
            Reason::PROTOCOL_ERROR,
        ),
        (
            SettingId::ENABLE_CONNECT_PROTOCOL,
            2,
            Reason::PROTOCOL_ERROR,
        ),
    ];
    for (id, value, reason) in cases {
        let mut settings = Settings::default();
        // A valid value first: it must not be applied either.
        let error = settings
            .apply(&frame_of(&[(SettingId::HEADER_TABLE_SIZE, 0), (id, value)]))
            .expect_err("out of range");
        assert!(
            matches!(error, Error::Connection { reason: got, .. } if got == reason),
            "{id} = {value}: {error}"
        );
        assert_eq!(settings, Settings::default(), "{id} = {value}");
    }
}

#[test]
fn the_announced_frame_has_only_the_values_that_differ() {
    assert_eq!(Settings::default().to_frame(), frame_of(&[]));
    let server = Settings {
        enable_push: false,
        max_concurrent_streams: Some(100),
        max_header_list_size: Some(16_384),
        ..Settings::default()
    };
    assert_eq!(
        server.to_frame(),
        frame_of(&[
            (SettingId::ENABLE_PUSH, 0),
            (SettingId::MAX_CONCURRENT_STREAMS, 100),
            (SettingId::MAX_HEADER_LIST_SIZE, 16_384),
        ])
    );
    // SETTINGS_ENABLE_PUSH is never sent as 1: "A server MUST NOT explicitly set this value to
    // 1."
    let everything = Settings {
        header_table_size: 0,
        initial_window_size: 1,
        max_frame_size: 0xff_ffff,
        enable_connect_protocol: true,
        ..server
    };
    let sent = everything.to_frame();
    assert!(!sent.parameters.contains(&(SettingId::ENABLE_PUSH, 1)));
    assert_eq!(sent.parameters.len(), 7);
}

fn any_settings() -> impl Strategy<Value = Settings> {
    (
        any::<u32>(),
        any::<bool>(),
        proptest::option::of(any::<u32>()),
        0..=0x7fff_ffffu32,
        0x4000..=0xff_ffffu32,
        proptest::option::of(any::<u32>()),
        any::<bool>(),
    )
        .prop_map(
            |(
                header_table_size,
                enable_push,
                max_concurrent_streams,
                initial_window_size,
                max_frame_size,
                max_header_list_size,
                enable_connect_protocol,
            )| Settings {
                header_table_size,
                enable_push,
                max_concurrent_streams,
                initial_window_size,
                max_frame_size,
                max_header_list_size,
                enable_connect_protocol,
            },
        )
}

proptest! {
    /// What one end announces is what the other end ends up with, starting from the initial
    /// values, also after a trip over the wire.
    #[test]
    fn announcing_and_applying_round_trip(settings in any_settings()) {
        let announced = settings.to_frame();
        let mut wire = bytes::BytesMut::new();
        announced.encode(&mut wire);
        let received = match frame::split_frame(&mut wire, frame::DEFAULT_MAX_FRAME_SIZE) {
            Ok(Some(frame::Frame::Settings(received))) => received,
            other => return Err(TestCaseError::fail(format!("expected SETTINGS, got {other:?}"))),
        };
        prop_assert_eq!(&received, &announced);
        let mut peer_view = Settings::default();
        peer_view.apply(&received).map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(peer_view, settings);
    }
}
