//! What does the HTTP/2 frame layer cost, apart from any I/O?
//!
//! - `split/mixed`: splitting a buffer of 1,000 frames as a connection reads them: HEADERS with a
//!   100-octet field block, DATA of 1 KiB, WINDOW_UPDATE and PING, in turn. Every check of
//!   section 6 runs; payloads are views into the buffer, so the time should depend on the
//!   number of frames far more than on the size of the DATA.
//! - `split/data_16k`: the same number of octets as 16 KiB DATA frames, the largest a peer may
//!   send by default: the cost per frame, not per octet.
//! - `encode/<type>`: appending one frame of each of those types to a reused buffer, and
//!   `encode/data_header_for`, the 9 octets written before a body sent from where it is.
//!
//! `cargo bench -p protocol --bench frames` takes about a minute;
//! `cargo bench -p protocol --bench frames -- --test` runs each benchmark once as a smoke test.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use protocol::h2::frame::{
    split_frame, Data, Frame, Headers, Ping, WindowUpdate, DEFAULT_MAX_FRAME_SIZE,
};

/// 250 rounds of a request's worth of frames: HEADERS, DATA, and the two control frames a busy
/// connection sees most.
fn mixed_frames() -> Vec<Frame> {
    let block = Bytes::from(vec![0x82; 100]);
    let body = Bytes::from(vec![b'x'; 1024]);
    (0..250u32)
        .flat_map(|round| {
            let stream = 2 * round + 1;
            [
                Frame::Headers(Headers::new(stream, block.clone())),
                Frame::Data(Data::new(stream, body.clone())),
                Frame::WindowUpdate(WindowUpdate::new(0, 1024)),
                Frame::Ping(Ping::new(u64::from(round).to_be_bytes())),
            ]
        })
        .collect()
}

fn wire_of(frames: &[Frame]) -> Bytes {
    let mut wire = BytesMut::new();
    for frame in frames {
        frame.encode(&mut wire);
    }
    wire.freeze()
}

/// Splits every frame off a fresh copy of `wire`; returns how many there were.
fn split_all(mut input: BytesMut) -> usize {
    let mut frames = 0;
    while let Ok(Some(frame)) = split_frame(&mut input, DEFAULT_MAX_FRAME_SIZE) {
        black_box(&frame);
        frames += 1;
    }
    frames
}

fn split(c: &mut Criterion) {
    let mixed = mixed_frames();
    let mixed_wire = wire_of(&mixed);
    let large: Vec<Frame> = (0..mixed_wire.len() / (16 * 1024))
        .map(|_| Frame::Data(Data::new(1, Bytes::from(vec![b'x'; 16 * 1024]))))
        .collect();
    let large_wire = wire_of(&large);
    // The benchmarks measure reading, so first make sure everything is read.
    assert_eq!(split_all(BytesMut::from(&mixed_wire[..])), mixed.len());
    assert_eq!(split_all(BytesMut::from(&large_wire[..])), large.len());

    let mut group = c.benchmark_group("split");
    for (name, wire) in [("mixed", &mixed_wire), ("data_16k", &large_wire)] {
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_function(name, |b| {
            // The copy of the input is set-up, outside the measured time.
            b.iter_batched(
                || BytesMut::from(&wire[..]),
                split_all,
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let examples = [
        (
            "headers",
            Frame::Headers(Headers::new(1, Bytes::from(vec![0x82; 100]))),
        ),
        (
            "data_1k",
            Frame::Data(Data::new(1, Bytes::from(vec![b'x'; 1024]))),
        ),
        (
            "window_update",
            Frame::WindowUpdate(WindowUpdate::new(0, 1024)),
        ),
        ("ping", Frame::Ping(Ping::new(*b"stagecrf"))),
    ];
    let mut group = c.benchmark_group("encode");
    let mut out = BytesMut::with_capacity(4096);
    for (name, frame) in &examples {
        group.bench_function(*name, |b| {
            b.iter(|| {
                out.clear();
                black_box(frame).encode(&mut out);
                black_box(out.len())
            })
        });
    }
    group.bench_function("data_header_for", |b| {
        b.iter(|| Data::header_for(black_box(1), black_box(16 * 1024), false).to_bytes())
    });
    group.finish();
}

criterion_group!(benches, split, encode);
criterion_main!(benches);
