//! What do HPACK decoding and encoding cost?
//!
//! The input is the hpack-test-case corpus (shared/testdata/hpack-test-case, found by `tests/support/testdata.rs`): 5 encoders'
//! renderings of 31 or 32 stories of real requests and responses, about 3,400 header blocks
//! per encoder. Each story is a connection, so each iteration gives each story a fresh
//! decoder (or encoder) and runs its blocks through it in order, as a connection would:
//!
//! - `decode/<implementation>`: [`Decoder::decode`] over every block that implementation's
//!   encoder produced (its choices of indexing and Huffman coding differ, and so does the cost);
//! - `encode`: [`Encoder::encode`] over every header list of the raw stories, with the default
//!   choices (Huffman when shorter);
//! - `huffman_decode`: [`huffman::decode`] alone, over every header value of the raw stories
//!   Huffman-coded beforehand: the inner loop of string decoding, by itself.
//!
//! The decode and encode groups report throughput in fields, the Huffman group in coded octets.
//! `cargo bench -p protocol --bench hpack -- --test` runs each once as a smoke test.

// The unit tests' reader of the shared test data; the bench does not read every field.
#[path = "../tests/support/testdata.rs"]
#[allow(dead_code)]
mod testdata;

use testdata::{dir, load_story, story_files, StoryCase};

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol::h2::hpack::{huffman, Decoder, Encoder, DEFAULT_TABLE_SIZE};

/// Every story of one directory, in name order.
fn stories(name: &str) -> Vec<Vec<StoryCase>> {
    story_files(&dir("hpack-test-case").join(name))
        .iter()
        .map(|path| load_story(path))
        .collect()
}

fn field_count(stories: &[Vec<StoryCase>]) -> u64 {
    stories
        .iter()
        .flatten()
        .map(|block| block.headers.len() as u64)
        .sum()
}

/// Decodes every story, each with a fresh decoder; returns the fields decoded.
fn decode_all(stories: &[Vec<StoryCase>]) -> usize {
    let mut decoded = 0;
    let mut fields = Vec::new();
    for story in stories {
        let mut decoder = Decoder::new(DEFAULT_TABLE_SIZE);
        for block in story {
            if let Some(size) = block.header_table_size {
                decoder.set_max_table_size(size);
            }
            fields.clear();
            decoder
                .decode(
                    block.wire.as_deref().unwrap_or_default(),
                    usize::MAX,
                    &mut fields,
                )
                .expect("the corpus decodes");
            decoded += fields.len();
        }
    }
    decoded
}

/// Encodes every story, each with a fresh encoder; returns the octets written.
fn encode_all(stories: &[Vec<StoryCase>]) -> usize {
    let mut written = 0;
    let mut out = Vec::new();
    for story in stories {
        let mut encoder = Encoder::new();
        for block in story {
            if let Some(size) = block.header_table_size {
                encoder.set_peer_max_table_size(size);
            }
            out.clear();
            encoder.encode(
                block
                    .headers
                    .iter()
                    .map(|(name, value)| (name.as_slice(), value.as_slice())),
                &mut out,
            );
            written += out.len();
        }
    }
    written
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for implementation in [
        "go-hpack",
        "nghttp2",
        "nghttp2-change-table-size",
        "python-hpack",
        "swift-nio-hpack-huffman",
    ] {
        let stories = stories(implementation);
        group.throughput(Throughput::Elements(field_count(&stories)));
        group.bench_function(implementation, |b| {
            b.iter(|| decode_all(black_box(&stories)))
        });
    }
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let stories = stories("raw-data");
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(field_count(&stories)));
    group.bench_function("raw-data", |b| b.iter(|| encode_all(black_box(&stories))));
    group.finish();
}

fn bench_huffman(c: &mut Criterion) {
    let coded: Vec<Vec<u8>> = stories("raw-data")
        .iter()
        .flatten()
        .flat_map(|block| &block.headers)
        .map(|(_, value)| {
            let mut out = Vec::new();
            huffman::encode(value, &mut out);
            out
        })
        .collect();
    let octets: usize = coded.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("huffman_decode");
    group.throughput(Throughput::Bytes(octets as u64));
    group.bench_function("raw-data values", |b| {
        let mut out = Vec::with_capacity(4096);
        b.iter(|| {
            for string in black_box(&coded) {
                out.clear();
                huffman::decode(string, &mut out).expect("our own coding decodes");
            }
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode, bench_encode, bench_huffman);
criterion_main!(benches);
